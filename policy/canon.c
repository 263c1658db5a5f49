/* SPDX-License-Identifier: MIT */
/* Canonical JSON writer and checker (see canon.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/proto.h"
#include "policy/canon.h"

#define MAX_DEPTH 16

struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void put_string(struct sb *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			sb_put(b, e, 2);
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", c);
			sb_put(b, e, 6);
		} else {
			sb_put(b, (const char *)&c, 1);
		}
	}
	sb_put(b, "\"", 1);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void put_item(struct sb *b, const cJSON *it, int depth)
{
	if (depth > MAX_DEPTH) {
		b->err = -EINVAL;
		return;
	}
	if (cJSON_IsNull(it))
		sb_put(b, "null", 4);
	else if (cJSON_IsTrue(it))
		sb_put(b, "true", 4);
	else if (cJSON_IsFalse(it))
		sb_put(b, "false", 5);
	else if (cJSON_IsNumber(it)) {
		char n[32];
		double v = it->valuedouble;
		if (v != floor(v) || fabs(v) > (double)KH_JSON_INT_MAX) { /* exact in a double */
			b->err = -EINVAL;
			return;
		}
		snprintf(n, sizeof(n), "%lld", (long long)v);
		sb_put(b, n, strlen(n));
	} else if (cJSON_IsString(it))
		put_string(b, it->valuestring);
	else if (cJSON_IsArray(it)) {
		int first = 1;
		const cJSON *c;
		sb_put(b, "[", 1);
		cJSON_ArrayForEach (c, it) {
			if (!first)
				sb_put(b, ",", 1);
			first = 0;
			put_item(b, c, depth + 1);
		}
		sb_put(b, "]", 1);
	} else if (cJSON_IsObject(it)) {
		int n = cJSON_GetArraySize(it), i = 0;
		const cJSON **keys = n ? malloc((size_t)n * sizeof(*keys)) : NULL;
		const cJSON *c;
		if (n && !keys) {
			b->err = -ENOMEM;
			return;
		}
		cJSON_ArrayForEach (c, it)
			keys[i++] = c;
		if (n > 1) /* qsort(NULL, 0, ...) is undefined */
			qsort(keys, (size_t)n, sizeof(*keys), key_cmp);
		sb_put(b, "{", 1);
		for (i = 0; i < n; i++) {
			if (i)
				sb_put(b, ",", 1);
			/* Duplicate keys have no canonical form. */
			if (i && strcmp(keys[i]->string, keys[i - 1]->string) == 0)
				b->err = -EINVAL;
			put_string(b, keys[i]->string);
			sb_put(b, ":", 1);
			put_item(b, keys[i], depth + 1);
		}
		sb_put(b, "}", 1);
		free(keys);
	} else {
		b->err = -EINVAL;
	}
}

int kh_canon_json(const cJSON *item, char **out, size_t *len)
{
	struct sb b = {0};

	put_item(&b, item, 0);
	if (!b.err && !b.p)
		b.err = -ENOMEM;
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

cJSON *kh_canon_parse(const char *text, size_t len, const char **why)
{
	cJSON *j;
	char *again;
	size_t alen;

	/* Refuse deep nesting before cJSON recurses into it. */
	int depth = 0, maxd = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '{' || text[i] == '[')
			maxd = ++depth > maxd ? depth : maxd;
		else if (text[i] == '}' || text[i] == ']')
			depth--;
	}
	if (maxd > MAX_DEPTH) {
		*why = "nested too deeply";
		return NULL;
	}
	j = cJSON_ParseWithLength(text, len);
	if (!j) {
		*why = "not valid JSON";
		return NULL;
	}
	if (kh_canon_json(j, &again, &alen) < 0) {
		*why = "a value has no canonical form (fraction, huge number, duplicate key)";
		cJSON_Delete(j);
		return NULL;
	}
	if (alen != len || memcmp(again, text, len) != 0) {
		*why = "not in canonical form (sorted keys, no spaces)";
		free(again);
		cJSON_Delete(j);
		return NULL;
	}
	free(again);
	return j;
}
