/* SPDX-License-Identifier: MIT */
/*
 * Integers in JSON, exactly. cJSON keeps numbers as doubles: a value is
 * read only when it is integral and within range, checked on the double
 * before any conversion (a cast of 1e52 to an integer is undefined), and
 * never above 2^53 - 1, the last integer a double holds with its
 * neighbours distinct (2^53 + 1 would silently read as 2^53). Integers are
 * written as integers: cJSON's "%1.15g" turns 2^53 - 1 into
 * 9.00719925474099e+15.
 */
#ifndef KHIEN_LIB_JSONNUM_H
#define KHIEN_LIB_JSONNUM_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "lib/proto.h" /* KH_JSON_INT_MAX, 2^53 - 1 */

/* 0 and *out if v is an integer in [lo, hi] (hi at most KH_JSON_INT_MAX), else -1. */
static inline int kh_json_uint(const cJSON *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (hi > KH_JSON_INT_MAX)
		hi = KH_JSON_INT_MAX;
	if (!(d >= (double)lo && d <= (double)hi) || d != (double)(uint64_t)d)
		return -1;
	*out = (uint64_t)d;
	return 0;
}

/* Add key: u as an integer literal (u at most KH_JSON_INT_MAX; larger ones are clamped). */
static inline cJSON *kh_json_add_uint(cJSON *obj, const char *key, uint64_t u)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, u > KH_JSON_INT_MAX ? (uint64_t)KH_JSON_INT_MAX : u);
	return cJSON_AddRawToObject(obj, key, t);
}

#endif
