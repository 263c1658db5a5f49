/* SPDX-License-Identifier: MIT */
/* Canonical domain names: validation and lowercasing (see name.h). */
#include "lib/compiler.h"
#include "policy/name.h"

const char *kh_name_strerror(enum kh_name_err e)
{
	switch (e) {
	case KH_NAME_OK:
		return "ok";
	case KH_NAME_EMPTY:
		return "empty name";
	case KH_NAME_EMPTY_LABEL:
		return "empty label";
	case KH_NAME_LABEL_TOO_LONG:
		return "label longer than 63 octets";
	case KH_NAME_TOO_LONG:
		return "name longer than 253 octets";
	case KH_NAME_BAD_CHAR:
		return "bad character";
	case KH_NAME_NUMERIC_TLD:
		return "numeric top-level label (an IP address, not a domain name)";
	case KH_NAME_BAD_UTF8:
		return "invalid UTF-8";
	case KH_NAME_BAD_IDN:
		return "cannot convert internationalised label to an A-label";
	}
	return "invalid name";
}

/*
 * Byte classes for the hot path (every DNS query goes through here): the
 * canonical byte for letters, digits, '-' and '_', '.' for dots, 0 for
 * anything else.
 */
const char kh_name_canon_map[256] = {
	['-'] = '-', ['.'] = '.', ['_'] = '_', ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3',
	['4'] = '4', ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
#define L(c) [c] = c, [c - 32] = c
	L('a'),	     L('b'),	  L('c'),      L('d'),	    L('e'),	 L('f'),      L('g'),
	L('h'),	     L('i'),	  L('j'),      L('k'),	    L('l'),	 L('m'),      L('n'),
	L('o'),	     L('p'),	  L('q'),      L('r'),	    L('s'),	 L('t'),      L('u'),
	L('v'),	     L('w'),	  L('x'),      L('y'),	    L('z'),
#undef L
};

enum kh_name_err kh_name_canon_split(const char *in, size_t len, char *out, size_t *out_len,
				     uint8_t *starts, unsigned *nlabels, char *bad_char)
{
	unsigned k = 1, zero = 0, badlen = 0;
	size_t i;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return KH_NAME_EMPTY;
	if (len > KH_NAME_MAX)
		return KH_NAME_TOO_LONG;
	starts[0] = 0;
	/* Per byte: map, store, note a dot. No branch depends on the bytes. */
	for (i = 0; i < len; i++) {
		char c = kh_name_canon_map[(unsigned char)in[i]];
		out[i] = c;
		zero |= c == 0;
		starts[k] = (uint8_t)(i + 1);
		k += c == '.';
	}
	out[len] = 0;
	starts[k] = (uint8_t)(len + 1); /* sentinel: label j ends at starts[j + 1] - 1 */
	/* Per label: 1..63 octets (an empty label wraps around to a huge length). */
	for (unsigned j = 0; j < k; j++)
		badlen |= (unsigned)(starts[j + 1] - starts[j] - 2) > KH_LABEL_MAX - 1;
	if (KH_UNLIKELY(zero | badlen)) {
		if (zero) {
			for (i = 0; out[i]; i++)
				;
			if (bad_char)
				*bad_char = in[i];
			return KH_NAME_BAD_CHAR;
		}
		for (unsigned j = 0; j < k; j++)
			if (starts[j + 1] - starts[j] == 1)
				return KH_NAME_EMPTY_LABEL;
		return KH_NAME_LABEL_TOO_LONG;
	}
	for (i = starts[k - 1]; i < len; i++)
		if (out[i] < '0' || out[i] > '9')
			break;
	if (i == len)
		return KH_NAME_NUMERIC_TLD;
	*out_len = len;
	*nlabels = k;
	return KH_NAME_OK;
}

enum kh_name_err kh_name_canon(const char *in, size_t len, char *out, size_t *out_len,
			       char *bad_char)
{
	uint8_t starts[KH_NAME_MAX + 2];
	unsigned k;

	return kh_name_canon_split(in, len, out, out_len, starts, &k, bad_char);
}

unsigned kh_name_labels(const char *name, size_t len)
{
	unsigned n = len ? 1 : 0;

	for (size_t i = 0; i < len; i++)
		n += name[i] == '.';
	return n;
}
