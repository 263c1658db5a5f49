/* SPDX-License-Identifier: MIT */
/*
 * The consistency oracle shared by the HTTP fuzz harnesses, for a request
 * or a response parser alike: parse the input whole, parse a prefix cut at
 * a point derived from the data (it must answer 0 or the whole input's
 * answer, and the same fields), and parse the complete head from its own
 * bytes alone (exact-size copies, so any over-read is caught). The
 * harness provides check() for the documented invariants and same() to
 * compare two results. Evaluates to the whole input's result.
 */
#ifndef KHIEN_TESTS_FUZZ_HTTP_FUZZ_H
#define KHIEN_TESTS_FUZZ_HTTP_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KH_HTTP_FUZZ_CONSISTENT(TYPE, PARSE, data, size)                             \
	({                                                                           \
		static TYPE whole_, part_, head_;                                    \
		const char *buf_ = (const char *)(data);                             \
		uint32_t h_ = 2166136261u;                                           \
		size_t split_;                                                       \
		char *copy_;                                                         \
		int rw_, rp_, rh_;                                                   \
		for (size_t i_ = 0; i_ < (size); i_++)                               \
			h_ = (h_ ^ (data)[i_]) * 16777619u;                          \
		split_ = (size) ? h_ % ((size) + 1) : 0;                             \
		rw_ = PARSE(buf_, (size), &whole_);                                  \
		check(&whole_, rw_, buf_, (size));                                   \
		copy_ = malloc(split_ ? split_ : 1);                                 \
		memcpy(copy_, (data), split_);                                       \
		rp_ = PARSE(copy_, split_, &part_);                                  \
		check(&part_, rp_, copy_, split_);                                   \
		free(copy_);                                                         \
		if ((rp_ != 0 && rp_ != rw_) || (rp_ > 0 && !same(&part_, &whole_))) \
			abort();                                                     \
		if (rw_ > 0) {                                                       \
			copy_ = malloc((size_t)rw_);                                 \
			memcpy(copy_, (data), (size_t)rw_);                          \
			rh_ = PARSE(copy_, (size_t)rw_, &head_);                     \
			free(copy_);                                                 \
			if (rh_ != rw_ || !same(&head_, &whole_))                    \
				abort();                                             \
			round_trip(&whole_);                                         \
		}                                                                    \
		rw_;                                                                 \
	})

#endif
