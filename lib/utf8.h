/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation for text that came from elsewhere and goes where a
 * reader expects well-formed UTF-8 (syslog messages, pages): the length of
 * the well-formed sequence at a position, so a caller can copy it or
 * replace a bad byte. Refuses overlong forms, surrogates and code points
 * above U+10FFFF (RFC 3629).
 */
#ifndef KHIEN_LIB_UTF8_H
#define KHIEN_LIB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Bytes in the well-formed sequence at s (1-4, at most n), or 0 if there is none. */
static inline size_t kh_utf8_seq(const uint8_t *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

#endif
