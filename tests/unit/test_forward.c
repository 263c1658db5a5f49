/* SPDX-License-Identifier: MIT */
/*
 * Events as syslog messages (server/forward.c): RFC 5424 header fields and
 * structured data, the CEF record, and a hostile device's payload and type
 * (quotes, brackets, pipes, equals signs, newlines, bad UTF-8) that must
 * not end a message, open a structured-data element or a CEF field of its
 * own, or reach the log as a control character. Messages cut to size end
 * on a character.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/utf8.h"
#include "server/forward.h"
#include "tests/unit/kt.h"

static const struct kh_fwd_cfg rfc = {
	.format = KH_FWD_RFC5424, .facility = 16, .host = "srv1", .pid = 42, .version = "0.2.0"};

static struct kh_event_rec ev(const char *type, int sev, const char *payload)
{
	struct kh_event_rec e = {.id = 7,
				 .seq = 3,
				 .time = 1764655200,
				 .received = 1764655201,
				 .severity = sev,
				 .payload = payload};
	snprintf(e.serial, sizeof(e.serial), "khien-0001");
	snprintf(e.type, sizeof(e.type), "%s", type);
	return e;
}

static int valid_utf8_no_controls(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t left = strlen(s);

	while (left) {
		size_t k = kh_utf8_seq(p, left);
		if (!k || (k == 1 && (*p < 0x20 || *p == 0x7f)))
			return 0;
		p += k, left -= k;
	}
	return 1;
}

static void test_rfc5424_fields(void)
{
	struct kh_event_rec e = ev("blocked_malware", 2, "{\"name\":\"evil.example\"}");
	char buf[2048];
	size_t n = kh_fwd_format(&rfc, &e, buf, sizeof(buf));

	KT_EQ(n, strlen(buf));
	/* local0 (16) * 8 + err (3, for high) */
	KT_CHECK(!strncmp(buf,
			  "<131>1 2025-12-02T06:00:01Z srv1 khien-server 42 blocked_malware "
			  "[khien@32473 id=\"7\" device=\"khien-0001\" seq=\"3\" severity=\"high\" "
			  "time=\"2025-12-02T06:00:00Z\"] {",
			  strlen("<131>1 2025-12-02T06:00:01Z srv1 khien-server 42 blocked_malware "
				 "[khien@32473 id=\"7\" device=\"khien-0001\" seq=\"3\" "
				 "severity=\"high\" time=\"2025-12-02T06:00:00Z\"] {")));
	KT_CHECK(strstr(buf, "\"name\":\"evil.example\""));
	e.severity = 3;
	kh_fwd_format(&rfc, &e, buf, sizeof(buf));
	KT_CHECK(!strncmp(buf, "<130>1 ", 7)); /* critical: crit (2) */
	e.severity = 0;
	kh_fwd_format(&rfc, &e, buf, sizeof(buf));
	KT_CHECK(!strncmp(buf, "<133>1 ", 7)); /* low: notice (5) */
}

static void test_hostile_device(void)
{
	/* cJSON keeps a payload string's bytes; the formatter is the last line of defence */
	struct kh_event_rec e =
		ev("x y\nz", 2,
		   "{\"name\":\"a\\\"] [fake@1 "
		   "x=\\\"1\\\"]\",\"reason\":\"l1\\nl2\",\"category\":\"a|b=c\\\\\","
		   "\"client\":\"t\xc3\xaan \xff\xfe ok\"}");
	struct kh_fwd_cfg cef = rfc;
	char buf[2048];

	kh_fwd_format(&rfc, &e, buf, sizeof(buf));
	KT_CHECK(valid_utf8_no_controls(buf));
	KT_CHECK(strstr(buf, " x_y_z [khien@32473 ") != NULL); /* MSGID: printable ASCII only */
	KT_CHECK(strstr(buf, "[fake@1") == NULL || strstr(buf, "] {") < strstr(buf, "[fake@1"));
	KT_CHECK(strstr(buf, "t\xc3\xaan ?? ok") != NULL); /* Vietnamese kept, bad bytes replaced */
	/* exactly one structured-data element: the first "] " closes ours */
	KT_CHECK(strstr(buf, "\"] {") != NULL);

	cef.format = KH_FWD_CEF;
	kh_fwd_format(&cef, &e, buf, sizeof(buf));
	KT_CHECK(valid_utf8_no_controls(buf));
	KT_CHECK(strstr(buf, "- CEF:0|Khien|khien-server|0.2.0|x y z|x y z|8|rt=1764655201000 ") !=
		 NULL);
	KT_CHECK(strstr(buf, " cat=a|b\\=c\\\\") != NULL); /* = and \ escaped in a value */
	KT_CHECK(strstr(buf, " reason=l1\\nl2") != NULL);  /* a newline as \n */
	KT_CHECK(strstr(buf, " deviceExternalId=khien-0001") != NULL);
	KT_CHECK(strstr(buf, " externalId=7") != NULL);
	KT_CHECK(strstr(buf, " cs2=t\xc3\xaan ?? ok cs2Label=client") != NULL);
	/* a device's "name" cannot add an extension key: its = is escaped */
	e = ev("t|\\", 1, "{\"name\":\"x fake=1\"}");
	kh_fwd_format(&cef, &e, buf, sizeof(buf));
	KT_CHECK(strstr(buf, "|t\\|\\\\|t\\|\\\\|5|") != NULL); /* header | and \ escaped */
	KT_CHECK(strstr(buf, " dhost=x fake\\=1") != NULL);
}

static void test_cut_to_size(void)
{
	char payload[4096], buf[600];
	size_t at = 0;
	struct kh_event_rec e;

	at += (size_t)snprintf(payload, sizeof(payload), "{\"reason\":\"");
	while (at < 3000)
		at += (size_t)snprintf(payload + at, sizeof(payload) - at, "Việt ");
	snprintf(payload + at, sizeof(payload) - at, "\"}");
	e = ev("t", 1, payload);
	for (size_t cap = 100; cap <= sizeof(buf); cap += 7) {
		size_t n = kh_fwd_format(&rfc, &e, buf, cap);
		KT_CHECK(n < cap);
		KT_EQ(n, strlen(buf));
		KT_CHECK(valid_utf8_no_controls(buf)); /* never half a character */
	}
	KT_EQ(kh_fwd_format(&rfc, &e, buf, 0), 0);
}

static void test_utf8_seq(void)
{
	KT_EQ(kh_utf8_seq((const uint8_t *)"a", 1), 1);
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xc3\xaa", 2), 2);
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xc3", 1), 0);	       /* cut */
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xc0\x80", 2), 0);	       /* overlong NUL */
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xed\xa0\x80", 3), 0);     /* surrogate */
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xf0\x9f\x9b\xa1", 4), 4); /* a shield */
	KT_EQ(kh_utf8_seq((const uint8_t *)"\xe1\xbb\x87", 3), 3);     /* ệ */
}

static void test_open_refuses(void)
{
	struct kh_fwd *f = NULL;
	char why[128];

	KT_EQ(kh_fwd_open("syslog://127.0.0.1", &f, why, sizeof(why)), -EINVAL);
	KT_CHECK(strstr(why, "udp://IP:PORT") != NULL);
	KT_EQ(kh_fwd_open("udp://collector.example:514", &f, why, sizeof(why)), -EINVAL);
	KT_EQ(kh_fwd_open("tcp://127.0.0.1:6514", &f, why, sizeof(why)), 0);
	kh_fwd_close(f);
}

int main(void)
{
	KT_RUN(test_rfc5424_fields);
	KT_RUN(test_hostile_device);
	KT_RUN(test_cut_to_size);
	KT_RUN(test_utf8_seq);
	KT_RUN(test_open_refuses);
	return KT_DONE();
}
