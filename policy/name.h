/* SPDX-License-Identifier: MIT */
/*
 * Domain names in canonical text form: lowercase ASCII (A-labels for IDN),
 * no trailing dot, labels of 1..63 octets of [a-z0-9_-], at most 253 octets
 * in all. This is the form the compiler hashes and the agent looks up, so
 * both sides must agree byte for byte. The device side only ever sees ASCII
 * (DNS wire names); UTF-8 input is converted on the ISP side
 * (tools/khien-policy/punycode.h).
 */
#ifndef KHIEN_POLICY_NAME_H
#define KHIEN_POLICY_NAME_H

#include <stddef.h>
#include <stdint.h>

#define KH_NAME_MAX 253 /* text form, without trailing dot */
#define KH_LABEL_MAX 63
#define KH_LABELS_MAX 127

enum kh_name_err {
	KH_NAME_OK = 0,
	KH_NAME_EMPTY,
	KH_NAME_EMPTY_LABEL,
	KH_NAME_LABEL_TOO_LONG,
	KH_NAME_TOO_LONG,
	KH_NAME_BAD_CHAR,
	KH_NAME_NUMERIC_TLD,
	KH_NAME_BAD_UTF8,
	KH_NAME_BAD_IDN,
};

/*
 * Canonical form of one byte: lowercase letter, digit, '-', '_' or '.', and
 * 0 for a byte that cannot appear in a canonical name.
 */
extern const char kh_name_canon_map[256];

/* Human-readable reason for a kh_name_err. */
const char *kh_name_strerror(enum kh_name_err e);

/*
 * Canonicalise an ASCII name of len bytes into out (KH_NAME_MAX + 1 bytes,
 * NUL-terminated): lowercase, drop one trailing dot, validate. *out_len
 * gets the length. On error returns the reason and, if bad_char is not
 * NULL, the offending byte. A name whose last label is all digits is
 * refused (it is an IP address or a typo, never a real TLD).
 */
enum kh_name_err kh_name_canon(const char *in, size_t len, char *out, size_t *out_len,
			       char *bad_char);

/*
 * kh_name_canon() that also returns where each label starts, left to right:
 * starts[0] = 0, starts[i] = offset of label i; *nlabels gets the count,
 * and starts[*nlabels] = len + 1 (as if a dot followed the name).
 * starts must hold KH_NAME_MAX + 2 entries. This is the DNS hot path:
 * branch-free per byte, branches only per label.
 */
enum kh_name_err kh_name_canon_split(const char *in, size_t len, char *out, size_t *out_len,
				     uint8_t *starts, unsigned *nlabels, char *bad_char);

/* Number of labels of a canonical name (0 for ""). */
unsigned kh_name_labels(const char *name, size_t len);

#endif
