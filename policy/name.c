/* SPDX-License-Identifier: MIT */
/* Canonical domain names: validation and lowercasing (see name.h). */
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

enum kh_name_err kh_name_canon(const char *in, size_t len, char *out, size_t *out_len,
			       char *bad_char)
{
	size_t i, label = 0, last_label_start = 0;
	int last_all_digits = 1;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return KH_NAME_EMPTY;
	if (len > KH_NAME_MAX)
		return KH_NAME_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '.') {
			if (label == 0)
				return KH_NAME_EMPTY_LABEL;
			label = 0;
			last_label_start = i + 1;
			last_all_digits = 1;
			out[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			if (bad_char)
				*bad_char = (char)c;
			return KH_NAME_BAD_CHAR;
		}
		if (c < '0' || c > '9')
			last_all_digits = 0;
		if (++label > KH_LABEL_MAX)
			return KH_NAME_LABEL_TOO_LONG;
		out[i] = (char)c;
	}
	if (label == 0)
		return KH_NAME_EMPTY_LABEL;
	if (last_all_digits && last_label_start < len)
		return KH_NAME_NUMERIC_TLD;
	out[len] = 0;
	*out_len = len;
	return KH_NAME_OK;
}

unsigned kh_name_labels(const char *name, size_t len)
{
	unsigned n = len ? 1 : 0;

	for (size_t i = 0; i < len; i++)
		n += name[i] == '.';
	return n;
}
