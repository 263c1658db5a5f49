/* SPDX-License-Identifier: MIT */
/*
 * Minimal unit-test harness. Each test binary runs its cases with KT_RUN and
 * prints TAP-style lines ("ok - name", "not ok - name", "ok - name # SKIP
 * why") that tests/run.sh sums into the final "N passed, N failed" line.
 * Checks report file:line and the failed expression; a case fails if any
 * check in it failed.
 */
#ifndef KHIEN_TESTS_KT_H
#define KHIEN_TESTS_KT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kt_case_failed, kt_passed, kt_failed, kt_skipped;
static const char *kt_skip_reason;

static inline void kt_fail_at(const char *file, int line, const char *what)
{
	printf("#   %s:%d: check failed: %s\n", file, line, what);
	kt_case_failed = 1;
}

#define KT_CHECK(cond)                                         \
	do {                                                   \
		if (!(cond))                                   \
			kt_fail_at(__FILE__, __LINE__, #cond); \
	} while (0)

#define KT_EQ(a, b)                                                                              \
	do {                                                                                     \
		long long kt_a = (long long)(a), kt_b = (long long)(b);                          \
		if (kt_a != kt_b) {                                                              \
			printf("#   %s:%d: %s == %s: got %lld, want %lld\n", __FILE__, __LINE__, \
			       #a, #b, kt_a, kt_b);                                              \
			kt_case_failed = 1;                                                      \
		}                                                                                \
	} while (0)

#define KT_STREQ(a, b)                                                                             \
	do {                                                                                       \
		const char *kt_a = (a), *kt_b = (b);                                               \
		if (!kt_a || !kt_b || strcmp(kt_a, kt_b) != 0) {                                   \
			printf("#   %s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a, \
			       kt_a ? kt_a : "(null)", kt_b ? kt_b : "(null)");                    \
			kt_case_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define KT_MEMEQ(a, b, n) KT_CHECK(memcmp((a), (b), (n)) == 0)

/* Mark the running case skipped (e.g. a missing kernel feature). */
#define KT_SKIP(why)                    \
	do {                            \
		kt_skip_reason = (why); \
		return;                 \
	} while (0)

#define KT_RUN(fn)                                                          \
	do {                                                                \
		kt_case_failed = 0;                                         \
		kt_skip_reason = NULL;                                      \
		fn();                                                       \
		if (kt_skip_reason) {                                       \
			printf("ok - %s # SKIP %s\n", #fn, kt_skip_reason); \
			kt_skipped++;                                       \
		} else if (kt_case_failed) {                                \
			printf("not ok - %s\n", #fn);                       \
			kt_failed++;                                        \
		} else {                                                    \
			printf("ok - %s\n", #fn);                           \
			kt_passed++;                                        \
		}                                                           \
		fflush(stdout);                                             \
	} while (0)

#define KT_DONE()                                                                          \
	(printf("# %d passed, %d failed, %d skipped\n", kt_passed, kt_failed, kt_skipped), \
	 kt_failed ? 1 : 0)

/* Hex string to bytes; returns length. Test vectors are written in hex. */
static inline size_t kt_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	while (hex[0] && hex[1] && n < max) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

#endif
