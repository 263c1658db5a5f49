/* SPDX-License-Identifier: MIT */
/*
 * lib/jsonfield: fields read by table land in their struct members with
 * their types and bounds, absent optional ones leave defaults, and every
 * refusal names the field by its JSON path.
 */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/compiler.h"
#include "lib/jsonfield.h"
#include "tests/unit/kt.h"

struct rec {
	uint8_t small;
	uint32_t mid;
	uint64_t big;
	const char *name;
	char buf[8];
	int flag;
	const cJSON *obj, *list;
};

static const struct kh_json_field fields[] = {
	KH_JSON_F_UINT("small", 0, 0, 1000, struct rec, small), /* the uint8_t caps it at 255 */
	KH_JSON_F_UINT("mid", 1, 5, 10, struct rec, mid),
	KH_JSON_F_UINT("big", 0, 0, UINT64_MAX, struct rec, big),
	KH_JSON_F_STR("name", 1, 1, 4, struct rec, name),
	KH_JSON_F_STRBUF("buf", 0, struct rec, buf),
	KH_JSON_F_BOOL("flag", 0, struct rec, flag),
	KH_JSON_F_OBJ("obj", 0, struct rec, obj),
	KH_JSON_F_ARR("list", 0, 0, 2, struct rec, list),
};

static char err[200];

static int parse(const char *json, struct rec *r, const char *prefix)
{
	cJSON *o = cJSON_Parse(json);
	int rc;

	err[0] = 0;
	rc = kh_json_parse_fields(o, fields, KH_ARRAY_SIZE(fields), r, prefix, err, sizeof(err));
	cJSON_Delete(o);
	return rc;
}

static void test_fields_read(void)
{
	struct rec r = {.small = 7, .flag = 0};
	cJSON *o = cJSON_Parse("{\"mid\":6,\"name\":\"abcd\",\"big\":9007199254740991,"
			       "\"buf\":\"1234567\",\"flag\":true,\"obj\":{},\"list\":[1,2]}");

	KT_EQ(kh_json_parse_fields(o, fields, KH_ARRAY_SIZE(fields), &r, NULL, err, sizeof(err)),
	      0);
	KT_EQ(r.small, 7); /* absent: the default stays */
	KT_EQ(r.mid, 6);
	KT_CHECK(r.big == 9007199254740991ull);
	KT_STREQ(r.name, "abcd");
	KT_STREQ(r.buf, "1234567");
	KT_EQ(r.flag, 1);
	KT_CHECK(cJSON_IsObject(r.obj));
	KT_EQ(cJSON_GetArraySize(r.list), 2);
	cJSON_Delete(o);
	KT_CHECK(kh_json_field_find(fields, KH_ARRAY_SIZE(fields), "flag") == &fields[5]);
	KT_CHECK(kh_json_field_find(fields, KH_ARRAY_SIZE(fields), "nope") == NULL);
}

static void test_fields_refused(void)
{
	struct rec r = {0};

	KT_EQ(parse("{\"name\":\"a\"}", &r, NULL), -EINVAL);
	KT_STREQ(err, "mid: required");
	KT_EQ(parse("{\"mid\":11,\"name\":\"a\"}", &r, "events[3]"), -EINVAL);
	KT_STREQ(err, "events[3].mid: expected a whole number from 5 to 10");
	KT_EQ(parse("{\"mid\":5.5,\"name\":\"a\"}", &r, NULL), -EINVAL);
	KT_EQ(parse("{\"mid\":5,\"name\":\"abcde\"}", &r, "x"), -EINVAL);
	KT_STREQ(err, "x.name: expected a string of 1 to 4 bytes");
	KT_EQ(parse("{\"mid\":5,\"name\":\"\"}", &r, NULL), -EINVAL);
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"small\":256}", &r, NULL), -EINVAL);
	KT_STREQ(err, "small: expected a whole number from 0 to 255");
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"big\":9007199254740992}", &r, NULL), -EINVAL);
	KT_STREQ(err, "big: expected a whole number from 0 to 9007199254740991");
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"buf\":\"12345678\"}", &r, NULL), -EINVAL);
	KT_STREQ(err, "buf: expected a string of at most 7 bytes");
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"flag\":1}", &r, NULL), -EINVAL);
	KT_STREQ(err, "flag: expected true or false");
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"obj\":[]}", &r, NULL), -EINVAL);
	KT_STREQ(err, "obj: expected an object");
	KT_EQ(parse("{\"mid\":5,\"name\":\"a\",\"list\":[1,2,3]}", &r, NULL), -EINVAL);
	KT_STREQ(err, "list: expected an array of at most 2");
	/* a refusal leaves what it refused unwritten */
	KT_EQ(r.small, 0);
	KT_STREQ(r.buf, "");
}

int main(void)
{
	KT_RUN(test_fields_read);
	KT_RUN(test_fields_refused);
	return KT_DONE();
}
