/* SPDX-License-Identifier: MIT */
/*
 * Table-driven reading of JSON fields (see jsonfield.h): one place for the
 * type, range and length checks every parser of JSON input repeats, and
 * for the error text that names the field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/jsonfield.h"
#include "lib/jsonnum.h"

static int refuse(const struct kh_json_field *f, const char *path, char *why, size_t whylen,
		  const char *what)
{
	snprintf(why, whylen, "%s: %s", path ? path : f->name, what);
	return -EINVAL;
}

static void put_uint(void *p, size_t size, uint64_t u)
{
	switch (size) {
	case 1: {
		uint8_t v = (uint8_t)u;
		memcpy(p, &v, 1);
		break;
	}
	case 2: {
		uint16_t v = (uint16_t)u;
		memcpy(p, &v, 2);
		break;
	}
	case 4: {
		uint32_t v = (uint32_t)u;
		memcpy(p, &v, 4);
		break;
	}
	default:
		memcpy(p, &u, 8);
	}
}

int kh_json_field_get(const struct kh_json_field *f, const cJSON *v, void *out, const char *path,
		      char *why, size_t whylen)
{
	char what[96];
	char *p = (char *)out + f->off;
	uint64_t u, hi;
	size_t n;

	if (!v)
		return f->required ? refuse(f, path, why, whylen, "required") : 0;
	switch (f->type) {
	case KH_JSON_UINT:
		/* never more than the destination holds */
		hi = f->max;
		if (f->size < 8 && hi > (UINT64_C(1) << (8 * f->size)) - 1)
			hi = (UINT64_C(1) << (8 * f->size)) - 1;
		if (kh_json_uint(v, f->min, hi, &u) < 0) {
			snprintf(what, sizeof(what),
				 "expected a whole number from %" PRIu64 " to %" PRIu64, f->min,
				 hi > KH_JSON_INT_MAX ? (uint64_t)KH_JSON_INT_MAX : hi);
			return refuse(f, path, why, whylen, what);
		}
		put_uint(p, f->size, u);
		return 0;
	case KH_JSON_STRING:
		n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
		if (!cJSON_IsString(v) || n < f->min || (f->max && n > f->max)) {
			if (!f->max)
				snprintf(what, sizeof(what), "expected a string");
			else if (f->min)
				snprintf(what, sizeof(what),
					 "expected a string of %" PRIu64 " to %" PRIu64 " bytes",
					 f->min, f->max);
			else
				snprintf(what, sizeof(what),
					 "expected a string of at most %" PRIu64 " bytes", f->max);
			return refuse(f, path, why, whylen, what);
		}
		if (f->size) {
			memcpy(p, v->valuestring, n + 1); /* n <= max < size */
		} else {
			const char *s = v->valuestring;
			memcpy(p, &s, sizeof(s));
		}
		return 0;
	case KH_JSON_BOOL:
		if (!cJSON_IsBool(v))
			return refuse(f, path, why, whylen, "expected true or false");
		*(int *)(void *)p = cJSON_IsTrue(v);
		return 0;
	case KH_JSON_OBJECT:
		if (!cJSON_IsObject(v))
			return refuse(f, path, why, whylen, "expected an object");
		memcpy(p, &v, sizeof(v));
		return 0;
	case KH_JSON_ARRAY:
		n = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
		if (!cJSON_IsArray(v) || n < f->min || (f->max && n > f->max)) {
			if (f->max && !f->min)
				snprintf(what, sizeof(what),
					 "expected an array of at most %" PRIu64, f->max);
			else if (f->max)
				snprintf(what, sizeof(what),
					 "expected an array of %" PRIu64 " to %" PRIu64 " elements",
					 f->min, f->max);
			else if (f->min)
				snprintf(what, sizeof(what),
					 "expected an array of at least %" PRIu64, f->min);
			else
				snprintf(what, sizeof(what), "expected an array");
			return refuse(f, path, why, whylen, what);
		}
		memcpy(p, &v, sizeof(v));
		return 0;
	}
	return refuse(f, path, why, whylen, "unknown field type");
}

int kh_json_parse_fields(const cJSON *obj, const struct kh_json_field *table, size_t n, void *out,
			 const char *prefix, char *why, size_t whylen)
{
	char path[160];
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct kh_json_field *f = &table[i];
		snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
			 f->name);
		rc = kh_json_field_get(f, cJSON_GetObjectItemCaseSensitive(obj, f->name), out, path,
				       why, whylen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const struct kh_json_field *kh_json_field_find(const struct kh_json_field *table, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const char *kh_json_unknown_key(const cJSON *o, const char *const *allowed)
{
	const cJSON *c;

	cJSON_ArrayForEach (c, o) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(c->string, *a) == 0;
		if (!ok)
			return c->string;
	}
	return NULL;
}
