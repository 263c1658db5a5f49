/* SPDX-License-Identifier: MIT */
/* Bounded string copy (OpenBSD strlcpy semantics; not in every libc). */
#ifndef KHIEN_LIB_STR_H
#define KHIEN_LIB_STR_H

#include <stddef.h>
#include <string.h>

/* Copy src into dst (cap bytes, always NUL-terminated when cap > 0); returns strlen(src). */
static inline size_t kh_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (cap) {
		size_t k = n < cap - 1 ? n : cap - 1;
		memcpy(dst, src, k);
		dst[k] = 0;
	}
	return n;
}

#endif
