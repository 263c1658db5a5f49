/* SPDX-License-Identifier: MIT */
/*
 * Internationalised names on the ISP side: UTF-8 labels become A-labels
 * ("xn--" + RFC 3492 Punycode) before hashing, so a list may hold "bóng.vn"
 * and the device still matches the ASCII form it sees on the wire. Case is
 * folded for Latin (including Vietnamese), Greek and Cyrillic letters; input
 * is expected in NFC, as lists are published.
 */
#ifndef KHIEN_POLICY_PUNYCODE_H
#define KHIEN_POLICY_PUNYCODE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/name.h"

/*
 * Punycode-encode n code points into out (cap bytes, NUL-terminated),
 * without the "xn--" prefix. Returns the length, or -E2BIG / -EINVAL.
 */
int kh_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap);

/* Lowercase one code point (the subset above; others unchanged). */
uint32_t kh_unicode_lower(uint32_t c);

/*
 * Like kh_name_canon() but accepts UTF-8: each label with non-ASCII
 * characters is case-folded and converted to its A-label first.
 */
enum kh_name_err kh_name_from_text(const char *in, size_t len, char *out, size_t *out_len,
				   char *bad_char);

/*
 * Why a name was refused, for people: kh_name_strerror(e), or for a bad
 * character the character itself ("bad character '!' in name", 0xNN when
 * it is not printable). buf gets at most n bytes.
 */
void kh_name_explain(enum kh_name_err e, char bad_char, char *buf, size_t n);

#endif
