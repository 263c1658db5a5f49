/* SPDX-License-Identifier: MIT */
/*
 * Reading JSON fields by table, with their limits (libubox's
 * blobmsg_policy is the model): each row names a field, its type, whether
 * it is required, its bounds (a number's range, a string's or an array's
 * length) and where its value goes in the caller's struct. A refusal says
 * which field and why, with its JSON path: "events[3].type: expected a
 * string of at most 31 bytes". Integers use lib/jsonnum.h (exact, at most
 * 2^53 - 1).
 */
#ifndef KHIEN_LIB_JSONFIELD_H
#define KHIEN_LIB_JSONFIELD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum kh_json_type {
	KH_JSON_UINT,	/* integer in [min, max] into a uint8/16/32/64_t of `size` bytes */
	KH_JSON_STRING, /* min..max bytes: const char * into the tree, or copied into char[size] */
	KH_JSON_BOOL,	/* into an int: 0 or 1 */
	KH_JSON_OBJECT, /* const cJSON * */
	KH_JSON_ARRAY,	/* const cJSON * with min..max elements */
};

struct kh_json_field {
	const char *name;
	enum kh_json_type type;
	int required;	   /* absent is a refusal; else absent leaves the output as it was */
	uint64_t min, max; /* bounds as the type says (max 0 for a string or array: no limit) */
	size_t off;	   /* where the value goes: offset in the output struct */
	size_t size;	   /* UINT: the integer's size; STRING: a buffer to copy into, or 0 */
};

/* Shorthands for table rows; s is the output struct type, m its member. */
#define KH_JSON_F_UINT(n, req, lo, hi, s, m)                                      \
	{                                                                         \
		n, KH_JSON_UINT, req, lo, hi, offsetof(s, m), sizeof(((s *)0)->m) \
	}
#define KH_JSON_F_STR(n, req, lo, hi, s, m)                       \
	{                                                         \
		n, KH_JSON_STRING, req, lo, hi, offsetof(s, m), 0 \
	}
#define KH_JSON_F_STRBUF(n, req, s, m)                                              \
	{                                                                           \
		n, KH_JSON_STRING, req, 0, sizeof(((s *)0)->m) - 1, offsetof(s, m), \
			sizeof(((s *)0)->m)                                         \
	}
#define KH_JSON_F_BOOL(n, req, s, m)                                    \
	{                                                               \
		n, KH_JSON_BOOL, req, 0, 1, offsetof(s, m), sizeof(int) \
	}
#define KH_JSON_F_OBJ(n, req, s, m)                             \
	{                                                       \
		n, KH_JSON_OBJECT, req, 0, 0, offsetof(s, m), 0 \
	}
#define KH_JSON_F_ARR(n, req, lo, hi, s, m)                      \
	{                                                        \
		n, KH_JSON_ARRAY, req, lo, hi, offsetof(s, m), 0 \
	}

/*
 * Read value v (NULL: absent) as field f into out. path names the field
 * for the error (NULL: f->name). 0, or -EINVAL with why "PATH: what was expected"
 * ("required", "expected a whole number from 1 to 16", ...).
 */
int kh_json_field_get(const struct kh_json_field *f, const cJSON *v, void *out, const char *path,
		      char *why, size_t whylen);

/*
 * Read every field of table[0..n) from object obj into out. prefix: the
 * path of obj ("events[3]"), or NULL at the top. Unknown keys are the
 * caller's business (kh_json_field_find). 0 or -EINVAL with why.
 */
int kh_json_parse_fields(const cJSON *obj, const struct kh_json_field *table, size_t n, void *out,
			 const char *prefix, char *why, size_t whylen);

/*
 * The first key of object o that is not in allowed (NULL-terminated), or
 * NULL: closed schemas refuse what they do not know.
 */
const char *kh_json_unknown_key(const cJSON *o, const char *const *allowed);

/* The row named name, or NULL. */
const struct kh_json_field *kh_json_field_find(const struct kh_json_field *table, size_t n,
					       const char *name);

#endif
