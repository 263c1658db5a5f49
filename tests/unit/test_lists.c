/* SPDX-License-Identifier: MIT */
/*
 * Every list format and every rule of docs/BLOCKLISTS.md: what each line
 * becomes (name, scope, action, allow) and which lines are rejected or
 * skipped as unsupported, with their line numbers.
 */
#include "kt.h"
#include "lib/err.h"
#include "policy/index_format.h"
#include "tools/khien-policy/lists.h"

/* Captured output: one line per event, e.g. "B example.com 3 0" or "P 4 u reason". */
static char got[8192];

static int cap_entry(void *arg, const struct kh_list_entry *e, unsigned line)
{
	(void)arg;
	snprintf(got + strlen(got), sizeof(got) - strlen(got), "%c%u %s %u %u%s\n",
		 e->badfilter ? 'X'
		 : e->allow   ? 'A'
			      : 'B',
		 line, e->name, e->scope, e->action, e->important ? " !" : "");
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

/* A later $ORIGIN only expands relative names; the apex stays the zone's (RFC 1035). */
static void test_rpz_origin_and_apex(void)
{
	EXPECT("$ORIGIN rpz.zone.\n"
	       "@ SOA ns.rpz.zone. admin.rpz.zone. 1 3600 600 86400 300\n"
	       "top CNAME .\n"
	       "$ORIGIN sub.rpz.zone.\n"
	       "bad CNAME .\n"
	       "*.wild CNAME .\n"
	       "abs.example.rpz.zone. CNAME .\n"
	       "@ CNAME .\n"
	       "\tCNAME .\n"
	       "$ORIGIN deeper\n"
	       "x CNAME rpz-drop.\n"
	       "$ORIGIN elsewhere.example.\n"
	       "y CNAME .\n"
	       "rpz.zone. CNAME .\n"
	       "$ORIGIN rpz.zone.\n"
	       "32.4.3.2.1.rpz-ip CNAME .\n"
	       "$ORIGIN bad..origin.\n",
	       KH_FMT_RPZ,
	       "B3 top 1 1\n"
	       "B5 bad.sub 1 1\n"
	       "B6 wild.sub 2 1\n"
	       "B7 abs.example 1 1\n"
	       "B8 sub 1 1\n"
	       "B9 sub 1 1\n"
	       "B11 x.deeper.sub 1 3\n"
	       "R13 y CNAME .\n"
	       "R14 rpz.zone. CNAME .\n"
	       "I16 4/32 01020304..00 1\n"
	       "R17 $ORIGIN bad..origin.\n");
	/* The SOA owner is the apex even when the first $ORIGIN is its parent. */
	EXPECT("$ORIGIN zone.\n"
	       "rpz 300 IN SOA ns admin 1 2 3 4 5\n"
	       "a.rpz CNAME .\n"
	       "b CNAME .\n"
	       "other. SOA ns admin 1 2 3 4 5\n",
	       KH_FMT_RPZ, "B3 a 1 1\nR4 b CNAME .\nR5 other. SOA ns admin 1 2 3 4 5\n");
	/* Without $ORIGIN names are used as written (the server knows the zone). */
	EXPECT("@ SOA ns admin 1 2 3 4 5\n"
	       "@ NS ns\n"
	       "a.example CNAME .\n"
	       "b.example. CNAME .\n"
	       "@ CNAME .\n"
	       "\tNS ns2\n",
	       KH_FMT_RPZ, "B3 a.example 1 1\nB4 b.example 1 1\nR5 @ CNAME .\n");
	KT_EQ(st.rejected, 1);
}

/* Records split over lines with ( ... ) are joined; what cannot be is rejected, at its first line. */
static void test_rpz_parentheses(void)
{
	static char many[64 * 8 + 128];
	size_t n = 0;

	EXPECT("$ORIGIN rpz.zone.\n"
	       "@ IN SOA ns.rpz.zone. admin.rpz.zone. (\n"
	       "        2026112101 ; serial\n"
	       "        3600 600 86400 300 )\n"
	       "split (\n"
	       "    CNAME\n"
	       "    . )\n"
	       "one ( CNAME rpz-drop. )\n"
	       "txt TXT \"a ( b\"\n"
	       "stray CNAME . )\n"
	       "nest ( ( CNAME . ) )\n"
	       "after CNAME .\n"
	       "open (\n"
	       "  CNAME .\n",
	       KH_FMT_RPZ,
	       "B5 split 1 1\n"
	       "B8 one 1 3\n"
	       "U9 txt TXT \"a ( b\"\n"
	       "R10 stray CNAME .  \n"
	       "R11 nest     CNAME .    \n"
	       "B12 after 1 1\n"
	       "R13 open     CNAME .\n");
	KT_EQ(st.rejected, 3);
	/*
	 * A '(' never closed swallows at most 64 lines, then parsing starts
	 * afresh (here with a continuation line that has no owner: rejected too).
	 */
	n += (size_t)snprintf(many + n, sizeof(many) - n, "a (\n");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, " x\n");
	snprintf(many + n, sizeof(many) - n, "b.example CNAME .\n");
	parse(many, KH_FMT_RPZ);
	KT_EQ(st.rejected, 2);
	KT_EQ(st.entries, 1);
	KT_CHECK(strstr(got, "R1 a ") != NULL);
	KT_CHECK(strstr(got, "B66 b.example 1 1\n") != NULL);
}

/* IP triggers shorter than the minimum prefixes are refused (a /0 would block every answer). */
static void test_ip_minimum_prefix(void)
{
	EXPECT("8.0.0.0.10.rpz-ip CNAME .\n"
	       "7.0.0.0.10.rpz-ip CNAME .\n"
	       "0.0.0.0.0.rpz-ip CNAME .\n"
	       "8.zz.fd00.rpz-ip CNAME .\n"
	       "7.zz.fc00.rpz-ip CNAME .\n"
	       "0.zz.rpz-ip CNAME .\n"
	       "32.1.0.0.10.rpz-ip CNAME rpz-passthru.\n",
	       KH_FMT_RPZ,
	       "I1 4/8 0a000000..00 1\n"
	       "R2 7.0.0.0.10.rpz-ip CNAME .\n"
	       "R3 0.0.0.0.0.rpz-ip CNAME .\n"
	       "I4 6/8 fd000000..00 1\n"
	       "R5 7.zz.fc00.rpz-ip CNAME .\n"
	       "R6 0.zz.rpz-ip CNAME .\n"
	       "U7 32.1.0.0.10.rpz-ip CNAME rpz-passthru.\n");
	EXPECT("10.0.0.0/8\n9.0.0.0/7\n0.0.0.0/0\nfd00::/8\n::/0\n", KH_FMT_IP,
	       "I1 4/8 0a000000..00 0\n"
	       "R2 9.0.0.0/7\n"
	       "R3 0.0.0.0/0\n"
	       "I4 6/8 fd000000..00 0\n"
	       "R5 ::/0\n");
	KT_EQ(KH_LIST_IP4_MIN_PREFIX, 8);
	KT_EQ(KH_LIST_IP6_MIN_PREFIX, 8);
}

static void test_ip_list(void)
{
	EXPECT("# threat IPs\n"
	       "198.51.100.7\n"
	       "  203.0.113.0/24   # a network\n"
	       "2001:db8::/32\n"
	       "2001:DB8:1::7\r\n"
	       "; comment\n"
	       "! comment\n"
	       "10.1.2.3/8\n"
	       "1.2.3.4/33\n"
	       "::/129\n"
	       "1.2.3.4/\n"
	       "1.2.3.4/x\n"
	       "0.0.0.0 example.com\n"
	       "example.com\n"
	       "1.2.3\n"
	       "1.2.3.4-1.2.3.9\n",
	       KH_FMT_IP,
	       "I2 4/32 c6336407..00 0\n"
	       "I3 4/24 cb007100..00 0\n"
	       "I4 6/32 20010db8..00 0\n"
	       "I5 6/128 20010db8..07 0\n"
	       "R8 10.1.2.3/8\n"
	       "R9 1.2.3.4/33\n"
	       "R10 ::/129\n"
	       "R11 1.2.3.4/\n"
	       "R12 1.2.3.4/x\n"
	       "R13 0.0.0.0 example.com\n"
	       "R14 example.com\n"
	       "R15 1.2.3\n"
	       "R16 1.2.3.4-1.2.3.9\n");
	KT_EQ(st.ips, 4);
	KT_EQ(st.rejected, 9);
	KT_EQ(kh_list_format_parse("ip"), KH_FMT_IP);
	KT_STREQ(kh_list_format_name(KH_FMT_IP), "ip");
}

static void test_adblock_modifiers(void)
{
	EXPECT("||imp.example^$important\n"
	       "@@||ex.example^$important\n"
	       "||bad.example^$badfilter\n"
	       "@@||good.example^$badfilter\n"
	       "||both.example^$important,badfilter\n"
	       "||both2.example^$BadFilter,Important\n"
	       "||*.sub.example^$important\n"
	       "||x.example^|$important\n"
	       "||tp.example^$important,third-party\n"
	       "||empty.example^$\n"
	       "||comma.example^$important,\n",
	       KH_FMT_ADBLOCK,
	       "B1 imp.example 3 0 !\n"
	       "A2 ex.example 3 0 !\n"
	       "X3 bad.example 3 0\n"
	       "X4 good.example 3 0\n"
	       "X5 both.example 3 0 !\n"
	       "X6 both2.example 3 0 !\n"
	       "B7 sub.example 2 0 !\n"
	       "B8 x.example 3 0 !\n"
	       "U9 ||tp.example^$important,third-party\n"
	       "U10 ||empty.example^$\n"
	       "U11 ||comma.example^$important,\n");
	KT_EQ(st.badfilters, 4);
	KT_EQ(st.entries, 3);
	KT_EQ(st.allows, 1);
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
	KT_EQ(kh_list_detect("# ips\n1.2.3.4\n10.0.0.0/8\n", 26), KH_FMT_IP);
	/* One stray hosts line or name does not turn an IP list into something else. */
	KT_EQ(kh_list_detect("1.2.3.4\n5.6.7.8\n0.0.0.0 a.example\n", 34), KH_FMT_IP);
	KT_EQ(kh_list_detect("1.2.3.4\na.example\nb.example\n", 28), KH_FMT_DOMAINS);
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
	KT_RUN(test_rpz_origin_and_apex);
	KT_RUN(test_rpz_parentheses);
	KT_RUN(test_ip_minimum_prefix);
	KT_RUN(test_ip_list);
	KT_RUN(test_adblock_modifiers);
	KT_RUN(test_detect);
	KT_RUN(test_limits_and_oddities);
	return KT_DONE();
}
