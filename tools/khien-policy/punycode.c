/* SPDX-License-Identifier: MIT */
/* RFC 3492 Punycode encoder and the UTF-8 -> A-label path (see punycode.h). */
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "tools/khien-policy/punycode.h"

enum {
	BASE = 36,
	TMIN = 1,
	TMAX = 26,
	SKEW = 38,
	DAMP = 700,
	INITIAL_BIAS = 72,
	INITIAL_N = 128
};

static char digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

static uint32_t adapt(uint32_t delta, uint32_t numpoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

int kh_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
	uint32_t cur = INITIAL_N, delta = 0, bias = INITIAL_BIAS, h, b = 0;
	size_t o = 0, j;

	for (j = 0; j < n; j++) {
		if (cp[j] < 0x80) {
			if (o + 1 >= cap)
				return -E2BIG;
			out[o++] = (char)cp[j];
			b++;
		}
	}
	h = b;
	if (b > 0) {
		if (o + 1 >= cap)
			return -E2BIG;
		out[o++] = '-';
	}
	while (h < n) {
		uint32_t m = 0xffffffffu;
		for (j = 0; j < n; j++)
			if (cp[j] >= cur && cp[j] < m)
				m = cp[j];
		if ((uint64_t)(m - cur) * (h + 1) + delta > 0xffffffffu)
			return -EINVAL;
		delta += (m - cur) * (h + 1);
		cur = m;
		for (j = 0; j < n; j++) {
			if (cp[j] < cur && ++delta == 0)
				return -EINVAL;
			if (cp[j] != cur)
				continue;
			uint32_t q = delta;
			for (uint32_t k = BASE;; k += BASE) {
				uint32_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
				if (q < t)
					break;
				if (o + 1 >= cap)
					return -E2BIG;
				out[o++] = digit(t + (q - t) % (BASE - t));
				q = (q - t) / (BASE - t);
			}
			if (o + 1 >= cap)
				return -E2BIG;
			out[o++] = digit(q);
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		cur++;
	}
	out[o] = 0;
	return (int)o;
}

uint32_t kh_unicode_lower(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	/* Latin-1 Supplement: A-grave..Thorn except the multiplication sign. */
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	/* Latin Extended-A: pairs (even upper, odd lower), with two odd-based runs. */
	if (c >= 0x100 && c <= 0x17F) {
		if (c == 0x130)
			return 'i';
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
			return (c & 1) ? c + 1 : c;
		if (c == 0x178)
			return 0xFF;
		if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F)
			return c;
		return (c & 1) ? c : c + 1;
	}
	/* O-horn and U-horn (Vietnamese). */
	if (c == 0x1A0 || c == 0x1AF)
		return c + 1;
	/* Latin Extended Additional: Vietnamese letters with tone marks, paired. */
	if (c >= 0x1E00 && c <= 0x1EFF && !(c >= 0x1E96 && c <= 0x1E9F))
		return (c & 1) ? c : c + 1;
	/* Greek capitals (skip the unassigned U+03A2). */
	if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
		return c + 32;
	/* Cyrillic. */
	if (c >= 0x410 && c <= 0x42F)
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)
		return c + 80;
	return c;
}

/* Decode one UTF-8 sequence; 0 on error. Rejects overlongs and surrogates. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, c = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, c = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

enum kh_name_err kh_name_from_text(const char *in, size_t len, char *out, size_t *out_len,
				   char *bad_char)
{
	char tmp[4 * (KH_NAME_MAX + 1)];
	size_t i, o = 0, start = 0;
	int ascii = 1;

	for (i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			ascii = 0;
	if (ascii)
		return kh_name_canon(in, len, out, out_len, bad_char);
	if (len > 4 * KH_NAME_MAX)
		return KH_NAME_TOO_LONG;
	while (start <= len) {
		size_t end = start;
		uint32_t cp[KH_NAME_MAX + 1];
		size_t n = 0, k = start;
		int label_ascii = 1;

		while (end < len && in[end] != '.')
			end++;
		while (k < end) {
			size_t step = utf8_next((const unsigned char *)in + k, end - k, &cp[n]);
			if (step == 0)
				return KH_NAME_BAD_UTF8;
			if (cp[n] >= 0x80)
				label_ascii = 0;
			cp[n] = kh_unicode_lower(cp[n]);
			if (++n > KH_NAME_MAX)
				return KH_NAME_TOO_LONG;
			k += step;
		}
		if (label_ascii) {
			if (o + (end - start) + 1 >= sizeof(tmp))
				return KH_NAME_TOO_LONG;
			memcpy(tmp + o, in + start, end - start);
			o += end - start;
		} else {
			int r;
			if (o + 5 >= sizeof(tmp))
				return KH_NAME_TOO_LONG;
			memcpy(tmp + o, "xn--", 4);
			o += 4;
			r = kh_punycode_encode(cp, n, tmp + o, sizeof(tmp) - o);
			if (r < 0)
				return KH_NAME_BAD_IDN;
			o += (size_t)r;
		}
		if (end >= len)
			break;
		tmp[o++] = '.';
		start = end + 1;
	}
	return kh_name_canon(tmp, o, out, out_len, bad_char);
}

void kh_name_explain(enum kh_name_err e, char bad_char, char *buf, size_t n)
{
	unsigned char b = (unsigned char)bad_char;

	if (e == KH_NAME_BAD_CHAR && b >= 0x20 && b < 0x7f)
		snprintf(buf, n, "bad character '%c' in name", b);
	else if (e == KH_NAME_BAD_CHAR)
		snprintf(buf, n, "bad character 0x%02x in name", b);
	else
		snprintf(buf, n, "%s", kh_name_strerror(e));
}
