/* SPDX-License-Identifier: MIT */
/*
 * Canonical JSON for signed documents (root and bundle manifests): objects
 * with keys sorted bytewise, no whitespace, integers only (no fractions or
 * exponents, |n| < 2^53), strings with only '"' and '\' escaped plus
 * \u00XX for control characters. One document has exactly one canonical
 * form, so the bytes that are signed are the bytes that are checked:
 * verifiers refuse any document that is not already canonical.
 */
#ifndef KHIEN_POLICY_CANON_H
#define KHIEN_POLICY_CANON_H

#include <stddef.h>

struct cJSON;

/*
 * Serialise item canonically into a new heap buffer (NUL-terminated; *len
 * excludes the NUL). -EINVAL for values with no canonical form (floats,
 * huge numbers), -ENOMEM.
 */
int kh_canon_json(const struct cJSON *item, char **out, size_t *len);

/*
 * Parse text (len bytes, at most max_depth nesting) and check it is in
 * canonical form. Returns the tree (caller frees with cJSON_Delete) or NULL
 * with *why set.
 */
struct cJSON *kh_canon_parse(const char *text, size_t len, const char **why);

#endif
