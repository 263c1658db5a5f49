/* SPDX-License-Identifier: MIT */
/*
 * DNS wire format: query parsing limits, name decompression, the canonical
 * suffix of odd names, answer/question matching, and every answer khiend
 * builds itself (actions, SOA TTL, EDE option, EDNS echo, UDP size limit).
 */
#include "agent/dns_wire.h"
#include "kt.h"
#include "lib/endian.h"
#include "lib/err.h"

static size_t mkq(uint8_t *p, const char *name, uint16_t type, int edns, int do_bit)
{
	size_t o = 12;
	memset(p, 0, 12);
	kh_put_be16(p, 0x1234);
	kh_put_be16(p + 2, 0x0100);
	kh_put_be16(p + 4, 1);
	kh_put_be16(p + 10, edns ? 1 : 0);
	o += (size_t)kh_dns_put_name(p + o, name);
	kh_put_be16(p + o, type);
	kh_put_be16(p + o + 2, 1);
	o += 4;
	if (edns) {
		p[o++] = 0;
		kh_put_be16(p + o, KH_DNS_T_OPT);
		kh_put_be16(p + o + 2, 4096);
		p[o + 4] = 0;
		p[o + 5] = 0;
		p[o + 6] = do_bit ? 0x80 : 0;
		p[o + 7] = 0;
		kh_put_be16(p + o + 8, 0);
		o += 10;
	}
	return o;
}

static void test_parse_query(void)
{
	uint8_t p[512];
	struct kh_dns_query q;
	size_t n = mkq(p, "WWW.Example.COM", KH_DNS_T_AAAA, 1, 1);

	KT_EQ(kh_dns_parse_query(p, n, &q), KH_DNS_PARSE_OK);
	KT_STREQ(q.qname.text, "www.example.com");
	KT_EQ(q.qname.labels, 3);
	KT_EQ(q.qname.canon_labels, 3);
	KT_EQ(q.qtype, KH_DNS_T_AAAA);
	KT_EQ(q.id, 0x1234);
	KT_CHECK(q.edns && q.do_bit);
	KT_EQ(q.edns_udp, 4096);
	KT_EQ(kh_dns_parse_query(p, 11, &q), KH_DNS_PARSE_DROP);
	KT_EQ(kh_dns_parse_query(p, n - 12, &q), KH_DNS_PARSE_FORMERR); /* cut in the OPT */
	p[2] |= 0x80;
	KT_EQ(kh_dns_parse_query(p, n, &q), KH_DNS_PARSE_DROP); /* a response */
}

static void test_odd_labels_keep_canonical_suffix(void)
{
	uint8_t p[512];
	struct kh_dns_query q;
	size_t n = mkq(p, "a b.x*y.evil.example", KH_DNS_T_A, 0, 0);

	KT_EQ(kh_dns_parse_query(p, n, &q), KH_DNS_PARSE_OK);
	KT_EQ(q.qname.labels, 4);
	KT_EQ(q.qname.canon_labels, 2);
	KT_STREQ(q.qname.text, "evil.example");
	n = mkq(p, "", KH_DNS_T_NS, 0, 0); /* the root */
	KT_EQ(kh_dns_parse_query(p, n, &q), KH_DNS_PARSE_OK);
	KT_EQ(q.qname.labels, 0);
	KT_STREQ(q.qname.text, "");
}

static void test_compression_rules(void)
{
	/* "www" + pointer to offset 20 ("example.com") placed after the name. */
	uint8_t m[64] = {0};
	struct kh_dns_name nm;
	size_t off = 40;
	memcpy(m + 20,
	       "\x07"
	       "example\x03"
	       "com\x00",
	       13);
	memcpy(m + 40, "\x03www\xc0\x14", 6);
	KT_EQ(kh_dns_read_name(m, sizeof(m), &off, &nm), 0);
	KT_STREQ(nm.text, "www.example.com");
	KT_EQ(off, 46);
	off = 20;
	m[20] = 0xc0; /* pointer to itself */
	m[21] = 20;
	KT_EQ(kh_dns_read_name(m, sizeof(m), &off, &nm), -EBADMSG);
	off = 20;
	m[21] = 30; /* forwards */
	KT_EQ(kh_dns_read_name(m, sizeof(m), &off, &nm), -EBADMSG);
	off = 20;
	m[21] = 1; /* into the header: its ID is rewritten before the client reads it */
	KT_EQ(kh_dns_read_name(m, sizeof(m), &off, &nm), -EBADMSG);
	off = 62;
	m[62] = 5; /* label runs off the end */
	KT_EQ(kh_dns_read_name(m, sizeof(m), &off, &nm), -EBADMSG);
	{
		uint8_t w[256];
		KT_EQ(kh_dns_put_name(w, "www.example.com"), 17);
		KT_MEMEQ(w,
			 "\x03www\x07"
			 "example\x03"
			 "com",
			 17);
		KT_EQ(kh_dns_put_name(w, ""), 1);
		KT_EQ(kh_dns_put_name(w, "a..b"), -EINVAL);
	}
}

static void test_answer_must_match_question(void)
{
	uint8_t q[512], a[512];
	struct kh_dns_answer ans;
	size_t qn = mkq(q, "www.example.com", KH_DNS_T_A, 0, 0), an;

	memcpy(a, q, qn);
	an = qn;
	a[2] |= 0x80;
	KT_EQ(kh_dns_parse_answer(a, an, q, qn, &ans), 0);
	a[13] = 'W'; /* case may differ */
	KT_EQ(kh_dns_parse_answer(a, an, q, qn, &ans), 0);
	a[13] = 'x';
	KT_EQ(kh_dns_parse_answer(a, an, q, qn, &ans), -ENOENT);
	a[13] = 'w';
	a[qn - 3] = KH_DNS_T_AAAA; /* another type */
	KT_EQ(kh_dns_parse_answer(a, an, q, qn, &ans), -ENOENT);
	a[qn - 3] = KH_DNS_T_A;
	a[2] &= 0x7f;
	KT_EQ(kh_dns_parse_answer(a, an, q, qn, &ans), -EBADMSG); /* not a response */
}

static int build(const char *name, uint16_t type, int edns, enum kh_dns_action act, uint8_t *out,
		 struct kh_dns_query *q)
{
	static const uint8_t p4[4] = {198, 18, 0, 80}, p6[16] = {0x20, 1, 0x0d, 0xb8};
	uint8_t pkt[512];
	size_t n = mkq(pkt, name, type, edns, 1);
	struct kh_dns_block b = {act, 42, KH_EDE_FILTERED, "khien: gambling", p4, p6};

	kh_dns_parse_query(pkt, n, q);
	return kh_dns_build_block(out, 512, pkt, q, &b, 1);
}

static void test_blocked_answers(void)
{
	uint8_t out[512];
	struct kh_dns_query q;
	int n;

	n = build("bad.example", KH_DNS_T_A, 1, KH_DNS_ACT_NXDOMAIN, out, &q);
	KT_CHECK(n > 0);
	KT_EQ(kh_be16(out), 0x1234);
	KT_EQ(kh_be16(out + 2) & 0xf, KH_DNS_RC_NXDOMAIN);
	KT_EQ(kh_be16(out + 6), 0);  /* no answers */
	KT_EQ(kh_be16(out + 8), 1);  /* SOA */
	KT_EQ(kh_be16(out + 10), 1); /* OPT */
	/* The OPT's last option is EDE 17 with our text. */
	KT_EQ(kh_be16(out + n - 2 - 15 - 4), 15);
	KT_EQ(kh_be16(out + n - 2 - 15), KH_EDE_FILTERED);
	KT_MEMEQ(out + n - 15, "khien: gambling", 15);
	n = build("bad.example", KH_DNS_T_A, 0, KH_DNS_ACT_BLOCKPAGE, out, &q);
	KT_EQ(kh_be16(out + 6), 1);
	KT_MEMEQ(out + n - 4, "\xc6\x12\x00\x50", 4);
	KT_EQ(kh_be16(out + 10), 0); /* no EDNS in the query: none in the answer */
	n = build("bad.example", KH_DNS_T_AAAA, 0, KH_DNS_ACT_NULL, out, &q);
	KT_EQ(kh_be16(out + 6), 1);
	KT_MEMEQ(out + n - 16, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	n = build("bad.example", KH_DNS_T_MX, 0, KH_DNS_ACT_NULL, out, &q);
	KT_EQ(kh_be16(out + 6), 0); /* NODATA for other types */
	KT_EQ(kh_be16(out + 8), 1);
	n = build("bad.example", KH_DNS_T_A, 0, KH_DNS_ACT_REFUSED, out, &q);
	KT_EQ(kh_be16(out + 2) & 0xf, KH_DNS_RC_REFUSED);
	KT_EQ(build("bad.example", KH_DNS_T_A, 0, KH_DNS_ACT_DROP, out, &q), 0);
}

static void test_udp_limit_drops_explanation_first(void)
{
	uint8_t pkt[512], out[600];
	char text[121];
	struct kh_dns_query q;
	/* A long name, no EDNS: 512 bytes at most. */
	char name[260];
	size_t n;
	struct kh_dns_block b = {KH_DNS_ACT_NXDOMAIN, 60, KH_EDE_BLOCKED, text, NULL, NULL};

	memset(text, 'x', 120);
	text[120] = 0;
	strcpy(name, "");
	for (int i = 0; i < 3; i++)
		strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(name, "example");
	n = mkq(pkt, name, KH_DNS_T_A, 1, 0);
	KT_EQ(kh_dns_parse_query(pkt, n, &q), KH_DNS_PARSE_OK);
	q.edns_udp = 512;
	int r = kh_dns_build_block(out, sizeof(out), pkt, &q, &b, 1);
	KT_CHECK(r > 0 && r <= 512);
}

int main(void)
{
	KT_RUN(test_parse_query);
	KT_RUN(test_odd_labels_keep_canonical_suffix);
	KT_RUN(test_compression_rules);
	KT_RUN(test_answer_must_match_question);
	KT_RUN(test_blocked_answers);
	KT_RUN(test_udp_limit_drops_explanation_first);
	return KT_DONE();
}
