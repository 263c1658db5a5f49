/* SPDX-License-Identifier: MIT */
/* Lowercase hex encoding and strict decoding for keys, digests and signatures. */
#ifndef KHIEN_LIB_HEX_H
#define KHIEN_LIB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write 2n hex digits and a NUL into out (2n + 1 bytes). */
static inline void kh_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static inline int kh_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase is refused: one spelling per value */
}

/* Decode exactly n bytes from a string of exactly 2n lowercase hex digits. 0 or -1. */
static inline int kh_hex_decode(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = kh_hex_digit(s[2 * i]), lo;
		if (hi < 0)
			return -1;
		lo = kh_hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * n] == 0 ? 0 : -1;
}

#endif
