/* SPDX-License-Identifier: MIT */
/*
 * Every list format and every rule of docs/BLOCKLISTS.md: what each line
 * becomes (name, scope, action, allow) and which lines are rejected or
 * skipped as unsupported, with their line numbers.
 */
#include "kt.h"
#include "lib/err.h"
#include "policy/index_format.h"
#include "policy/lists.h"

/* Captured output: one line per event, e.g. "B example.com 3 0" or "P 4 u reason". */
static char got[8192];

static int cap_entry(void *arg, const struct kh_list_entry *e, unsigned line)
{
	(void)arg;
	snprintf(got + strlen(got), sizeof(got) - strlen(got), "%c%u %s %u %u\n",
		 e->allow ? 'A' : 'B', line, e->name, e->scope, e->action);
	return 0;
}

static int cap_ip(void *arg, const struct kh_list_ip *t, unsigned line)
{
	(void)arg;
	snprintf(got + strlen(got), sizeof(got) - strlen(got),
		 "I%u %u/%u %02x%02x%02x%02x..%02x %u\n", line, t->family, t->prefix, t->ip[0],
		 t->ip[1], t->ip[2], t->ip[3], t->ip[15], t->action);
	return 0;
}

static void cap_problem(void *arg, unsigned line, int unsupported, const char *reason,
			const char *text)
{
	(void)arg;
	(void)reason;
	snprintf(got + strlen(got), sizeof(got) - strlen(got), "%c%u %s\n", unsupported ? 'U' : 'R',
		 line, text);
}

static struct kh_list_stats st;

static const char *parse(const char *text, enum kh_list_format f)
{
	struct kh_list_sink sink = {NULL, cap_entry, cap_ip, cap_problem};

	got[0] = 0;
	memset(&st, 0, sizeof(st));
	KT_EQ(kh_list_parse(text, strlen(text), f, &sink, &st), 0);
	return got;
}

#define EXPECT(text, fmt, want) KT_STREQ(parse(text, fmt), want)

static void test_domains(void)
{
	EXPECT("# comment\n"
	       "Example.COM\n"
	       "bad..name\n"
	       "  spaced.example   # trailing comment\r\n"
	       "! adblock-style comment\n"
	       "; zone-style comment\n"
	       "*.wild.example\n"
	       "two words.example\n"
	       ".leading.example\n"
	       "1.2.3.4\n"
	       "b\xc3\xb3ng.vn\n",
	       KH_FMT_DOMAINS,
	       "B2 example.com 3 0\n"
	       "R3 bad..name\n"
	       "B4 spaced.example 3 0\n"
	       "B7 wild.example 2 0\n"
	       "R8 two words.example\n"
	       "B9 leading.example 3 0\n"
	       "R10 1.2.3.4\n"
	       "B11 xn--bng-gna.vn 3 0\n");
	KT_EQ(st.lines, 11);
	KT_EQ(st.entries, 5);
	KT_EQ(st.rejected, 3);
}

static void test_hosts(void)
{
	EXPECT("127.0.0.1 localhost\n"
	       "::1 ip6-localhost ip6-loopback\n"
	       "0.0.0.0 a.example b.example c.example # three names\n"
	       "127.0.0.1\tTabbed.Example\n"
	       "0.0.0.0 0.0.0.0\n"
	       "255.255.255.255 broadcasthost\n"
	       "notanip name.example\n"
	       "0.0.0.0\n"
	       ":: v6null.example\n",
	       KH_FMT_HOSTS,
	       "B3 a.example 3 0\n"
	       "B3 b.example 3 0\n"
	       "B3 c.example 3 0\n"
	       "B4 tabbed.example 3 0\n"
	       "R7 notanip name.example\n"
	       "R8 0.0.0.0\n"
	       "B9 v6null.example 3 0\n");
	KT_EQ(st.ignored, 5); /* localhost, ip6-localhost, ip6-loopback, 0.0.0.0, broadcasthost */
}

static void test_adblock(void)
{
	EXPECT("[Adblock Plus 2.0]\n"
	       "! Title: test\n"
	       "||ads.example^\n"
	       "@@||good.ads.example^\n"
	       "||tracker.example^$third-party\n"
	       "||pipe.example^|\n"
	       "example.org##.banner\n"
	       "/ads[0-9]+/\n"
	       "||noseparator.example\n"
	       "||path.example^/foo\n"
	       "||*.sub.example^\n"
	       "||mid*.example^\n"
	       "plain.example\n"
	       "||UPPER.Example^\r\n",
	       KH_FMT_ADBLOCK,
	       "B3 ads.example 3 0\n"
	       "A4 good.ads.example 3 0\n"
	       "U5 ||tracker.example^$third-party\n"
	       "B6 pipe.example 3 0\n"
	       "U7 example.org##.banner\n"
	       "U8 /ads[0-9]+/\n"
	       "U9 ||noseparator.example\n"
	       "U10 ||path.example^/foo\n"
	       "B11 sub.example 2 0\n"
	       "U12 mid*.example\n"
	       "U13 plain.example\n"
	       "B14 upper.example 3 0\n");
	KT_EQ(st.unsupported, 7);
	KT_EQ(st.allows, 1);
}

static void test_dnsmasq(void)
{
	EXPECT("# dnsmasq\n"
	       "address=/ads.example/#\n"
	       "address=/a.example/b.example/0.0.0.0\n"
	       "address=/nx.example/\n"
	       "server=/local-only.example/\n"
	       "local=/lan.example/\n"
	       "server=/fwd.example/1.1.1.1\n"
	       "server=/exception.example/#\n"
	       "address=/#/0.0.0.0\n"
	       "conf-file=/etc/other.conf\n"
	       "address=ads.example\n"
	       "address=/.dotted.example/#\n",
	       KH_FMT_DNSMASQ,
	       "B2 ads.example 3 0\n"
	       "B3 a.example 3 0\n"
	       "B3 b.example 3 0\n"
	       "B4 nx.example 3 0\n"
	       "B5 local-only.example 3 0\n"
	       "B6 lan.example 3 0\n"
	       "U7 server=/fwd.example/1.1.1.1\n"
	       "A8 exception.example 3 0\n"
	       "U9 address=/#/0.0.0.0\n"
	       "U10 conf-file=/etc/other.conf\n"
	       "R11 address=ads.example\n"
	       "B12 dotted.example 3 0\n");
}

static void test_unbound(void)
{
	EXPECT("server:\n"
	       "local-zone: \"bad.example.\" always_nxdomain\n"
	       "  local-zone: \"null.example.\" always_null # comment\n"
	       "local-zone: plain.example. static\n"
	       "local-zone: \"ok.bad.example.\" transparent\n"
	       "local-data: \"x.example. A 1.2.3.4\"\n"
	       "local-zone: \"weird.example.\" sometype\n"
	       "local-zone: \"unterminated.example always_nxdomain\n"
	       "verbosity: 1\n",
	       KH_FMT_UNBOUND,
	       "B2 bad.example 3 0\n"
	       "B3 null.example 3 0\n"
	       "B4 plain.example 3 0\n"
	       "A5 ok.bad.example 3 0\n"
	       "U6 local-data: \"x.example. A 1.2.3.4\"\n"
	       "R7 sometype\n"
	       "R8 local-zone: \"unterminated.example always_nxdomain\n"
	       "U9 verbosity: 1\n");
}

static void test_rpz(void)
{
	EXPECT("$TTL 300\n"
	       "$ORIGIN rpz.example.\n"
	       "@ SOA ns.rpz.example. admin.rpz.example. (\n"
	       "   1 3600 600 86400 300 )\n"
	       "@ NS ns.rpz.example.\n"
	       "exact.example CNAME .\n"
	       "*.wild.example CNAME .\n"
	       "nodata.example 300 IN CNAME *.\n"
	       "drop.example IN 300 CNAME rpz-drop.\n"
	       "pass.example CNAME rpz-passthru.\n"
	       "abs.example.rpz.example. CNAME .\n"
	       "outside.example.other. CNAME .\n"
	       "garden.example CNAME walled.garden.example.\n"
	       "local.example A 1.2.3.4\n"
	       "32.4.3.2.1.rpz-ip CNAME .\n"
	       "24.0.18.18.198.rpz-ip CNAME rpz-drop.\n"
	       "128.1.zz.db8.2001.rpz-ip CNAME .\n"
	       "ns.bad.rpz-nsdname CNAME .\n"
	       "tcp.example CNAME rpz-tcp-only.\n"
	       "\tIN CNAME .\n"
	       "33.4.3.2.1.rpz-ip CNAME .\n"
	       "; comment line\n",
	       KH_FMT_RPZ,
	       "B6 exact.example 1 1\n"
	       "B7 wild.example 2 1\n"
	       "B8 nodata.example 1 2\n"
	       "B9 drop.example 1 3\n"
	       "A10 pass.example 1 0\n"
	       "B11 abs.example 1 1\n"
	       "R12 outside.example.other. CNAME .\n"
	       "U13 garden.example CNAME walled.garden.example.\n"
	       "U14 local.example A 1.2.3.4\n"
	       "I15 4/32 01020304..00 1\n"
	       "I16 4/24 c6121200..00 3\n"
	       "I17 6/128 20010db8..01 1\n"
	       "U18 ns.bad.rpz-nsdname CNAME .\n"
	       "U19 tcp.example CNAME rpz-tcp-only.\n"
	       "B20 tcp.example 1 1\n"
	       "R21 33.4.3.2.1.rpz-ip CNAME .\n");
}

static void test_detect(void)
{
	KT_EQ(kh_list_detect("# c\nexample.com\n", 16), KH_FMT_DOMAINS);
	KT_EQ(kh_list_detect("# c\n0.0.0.0 example.com\n", 24), KH_FMT_HOSTS);
	KT_EQ(kh_list_detect("! x\n||a.example^\n", 17), KH_FMT_ADBLOCK);
	KT_EQ(kh_list_detect("address=/a/#\n", 13), KH_FMT_DNSMASQ);
	KT_EQ(kh_list_detect("server:\nlocal-zone: \"a.\" deny\n", 30), KH_FMT_UNBOUND);
	KT_EQ(kh_list_detect("$TTL 60\n", 8), KH_FMT_RPZ);
	KT_EQ(kh_list_detect("a.example CNAME .\n", 18), KH_FMT_RPZ);
	KT_EQ(kh_list_format_parse("rpz"), KH_FMT_RPZ);
	KT_EQ(kh_list_format_parse("csv"), -EINVAL);
	KT_STREQ(kh_list_format_name(KH_FMT_ADBLOCK), "adblock");
}

static void test_limits_and_oddities(void)
{
	static char big[KH_LIST_LINE_MAX + 100];
	char nul[] = "a.example\nb\0.example\nc.example\n";
	struct kh_list_sink sink = {NULL, cap_entry, cap_ip, cap_problem};

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	parse(big, KH_FMT_DOMAINS);
	KT_EQ(st.rejected, 1);
	got[0] = 0;
	memset(&st, 0, sizeof(st));
	KT_EQ(kh_list_parse(nul, sizeof(nul) - 1, KH_FMT_DOMAINS, &sink, &st), 0);
	KT_EQ(st.entries, 2);
	KT_EQ(st.rejected, 1);
	/* No final newline, BOM, CRLF everywhere. */
	EXPECT("\xef\xbb\xbfone.example\r\ntwo.example", KH_FMT_DOMAINS,
	       "B1 one.example 3 0\nB2 two.example 3 0\n");
	EXPECT("", KH_FMT_DOMAINS, "");
	KT_EQ(st.lines, 0);
}

int main(void)
{
	KT_RUN(test_domains);
	KT_RUN(test_hosts);
	KT_RUN(test_adblock);
	KT_RUN(test_dnsmasq);
	KT_RUN(test_unbound);
	KT_RUN(test_rpz);
	KT_RUN(test_detect);
	KT_RUN(test_limits_and_oddities);
	return KT_DONE();
}
