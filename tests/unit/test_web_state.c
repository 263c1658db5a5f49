/* SPDX-License-Identifier: MIT */
/*
 * What the status page keeps across a restart (agent/web_state.c): the
 * infected-device table (a new device or threat is "keep at once", a
 * repeat only a count; the least recently seen makes room), its text
 * round trip, the refusal of every line it would not write, and the
 * notice check.
 */
#include <string.h>

#include "agent/web.h"
#include "tests/unit/kt.h"

static struct kh_addr ip(const char *s)
{
	struct kh_addr a;

	kh_addr_parse_ip(s, &a);
	return a;
}

static void test_seen(void)
{
	struct kh_web_threat t[KH_WEB_THREATS] = {0};
	struct kh_addr a = ip("192.168.1.20"), b = ip("fd00::7");
	char s[KH_ADDR_STRLEN];

	a.port = 5353;
	KT_EQ(kh_web_threat_seen(t, &a, "malware", "x.example", 100), 2);
	KT_EQ(kh_web_threat_seen(t, &a, "malware", "y.example", 110), 1);
	KT_EQ(t[0].count, 2);
	KT_EQ(t[0].first, 100);
	KT_EQ(t[0].last, 110);
	KT_EQ(t[0].addr.port, 0);
	KT_STREQ(t[0].name, "y.example");
	KT_EQ(kh_web_threat_seen(t, &a, "phishing", "z.example", 120), 2); /* a new threat */
	KT_EQ(kh_web_threat_seen(t, &b, "botnet", "c2.example", 130), 2);
	/* full: the least recently seen device makes room */
	for (unsigned i = 2; i < KH_WEB_THREATS; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.0.%u", i);
		struct kh_addr c = ip(addr);
		KT_EQ(kh_web_threat_seen(t, &c, "malware", "x.example", 200 + i), 2);
	}
	struct kh_addr n = ip("10.9.9.9");
	KT_EQ(kh_web_threat_seen(t, &n, "malware", "x.example", 300), 2);
	kh_addr_format(&t[0].addr, s, sizeof(s));
	KT_STREQ(s, "10.9.9.9:0"); /* 192.168.1.20, last seen at 120, gave way */
	KT_EQ(t[0].count, 1);
}

static void test_text(void)
{
	struct kh_web_threat t[KH_WEB_THREATS] = {0}, u[KH_WEB_THREATS];
	struct kh_addr a = ip("192.168.1.20"), b = ip("fd00::7");
	char buf[KH_WEB_INFECTED_MAX], why[96];

	kh_web_threat_seen(t, &a, "malware", "x.example", 100);
	kh_web_threat_seen(t, &a, "malware", "x.example", 160);
	kh_web_threat_seen(t, &b, "c2", "cc-1.bad-example.net", 170);
	KT_CHECK(kh_web_threats_format(t, buf, sizeof(buf)) > 0);
	KT_STREQ(buf, "khien-infected 1\n192.168.1.20:0 100 160 2 malware x.example\n"
		      "[fd00::7]:0 170 170 1 c2 cc-1.bad-example.net\n");
	KT_EQ(kh_web_threats_parse(buf, u, why, sizeof(why)), 0);
	KT_EQ(memcmp(t, u, sizeof(t)), 0);
	KT_EQ(kh_web_threats_format(t, buf, 40), -E2BIG);
	KT_EQ(kh_web_threats_parse("khien-infected 1\n", u, why, sizeof(why)), 0);
	KT_EQ(u[0].count, 0);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "line 1: not \"khien-infected 1\""},
		{"khien-infected 2\n", "line 1: not \"khien-infected 1\""},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 malware x.example", "line 2: no newline"},
		{"khien-infected 1\n1.2.3.4:0 1 2 0 malware x.example\n", "line 2: bad count"},
		{"khien-infected 1\n1.2.3.4:0 1 2 4294967296 malware x.example\n",
		 "line 2: bad count"},
		{"khien-infected 1\n1.2.3.4:0 3 2 1 malware x.example\n",
		 "line 2: bad first or last seen"},
		{"khien-infected 1\n1.2.3.4:0 -1 2 1 malware x.example\n",
		 "line 2: bad first or last seen"},
		{"khien-infected 1\n1.2.3.4:53 1 2 1 malware x.example\n",
		 "line 2: not an address"},
		{"khien-infected 1\nrouter 1 2 1 malware x.example\n", "line 2: not an address"},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 Malware x.example\n", "line 2: bad category"},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 malware <b>.example\n", "line 2: bad name"},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 malware x.example extra\n",
		 "line 2: not 6 fields"},
		{"khien-infected 1\n1.2.3.4:0  1 2 1 malware x.example\n", "line 2: not 6 fields"},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 malware x.example \n", "line 2: not 6 fields"},
		{"khien-infected 1\n1.2.3.4:0 1 2 1 malware x.example\n1.2.3.4:0 1 2 1 c2 "
		 "y.example\n",
		 "line 3: a device listed twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(u, t, sizeof(u));
		KT_EQ(kh_web_threats_parse(bad[i].text, u, why, sizeof(why)), -EBADMSG);
		KT_STREQ(why, bad[i].why);
		KT_EQ(u[0].count, 0); /* all free: nothing half-read reaches the page */
	}
	/* a ninth device */
	size_t n = (size_t)snprintf(buf, sizeof(buf), "khien-infected 1\n");
	for (int i = 0; i < KH_WEB_THREATS + 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "10.0.0.%d:0 1 2 1 malware x.example\n", i);
	KT_EQ(kh_web_threats_parse(buf, u, why, sizeof(why)), -EBADMSG);
	KT_STREQ(why, "line 10: more than 8 devices");
}

static void test_notice(void)
{
	char big[KH_WEB_NOTICE_MAX + 1];

	KT_EQ(kh_web_notice_check("Gọi 1800 1091 & <b>hỗ trợ</b>",
				  strlen("Gọi 1800 1091 & <b>hỗ trợ</b>")),
	      0);
	KT_EQ(kh_web_notice_check("bad\abell", 8), -EBADMSG);
	KT_EQ(kh_web_notice_check("two\nlines", 9), -EBADMSG);
	memset(big, 'a', sizeof(big));
	KT_EQ(kh_web_notice_check(big, KH_WEB_NOTICE_MAX), 0);
	KT_EQ(kh_web_notice_check(big, KH_WEB_NOTICE_MAX + 1), -EBADMSG);
}

int main(void)
{
	KT_RUN(test_seen);
	KT_RUN(test_text);
	KT_RUN(test_notice);
	return KT_DONE();
}
