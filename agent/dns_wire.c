/* SPDX-License-Identifier: MIT */
/*
 * DNS wire format (see dns_wire.h). Every read is bounds-checked against the
 * message length before it happens; compression pointers must point
 * strictly backwards, which rules out loops, and are capped per name.
 */
#include <stdio.h>
#include <string.h>

#include "agent/dns_wire.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"

#define MAX_PTRS 32

int kh_dns_read_name(const uint8_t *pkt, size_t len, size_t *off, struct kh_dns_name *out)
{
	const uint8_t *lab[128];
	uint8_t ll[128];
	size_t pos = *off, end = 0, wire = 1;
	unsigned n = 0, ptrs = 0;

	for (;;) {
		uint8_t c;
		if (pos >= len)
			return -EBADMSG;
		c = pkt[pos];
		if (c == 0) {
			pos++;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t target;
			if (pos + 1 >= len || ++ptrs > MAX_PTRS)
				return -EBADMSG;
			target = (size_t)(c & 0x3f) << 8 | pkt[pos + 1];
			/*
			 * Only backwards (no loops), and never into the header:
			 * no name lives there, and the ID changes on the way to
			 * the client, so such a name would read differently there.
			 */
			if (target >= pos || target < KH_DNS_HDR_LEN)
				return -EBADMSG;
			if (!end)
				end = pos + 2;
			pos = target;
			continue;
		}
		if (c & 0xc0) /* 0x40 and 0x80 label types are obsolete or unassigned */
			return -EBADMSG;
		wire += (size_t)c + 1;
		if (pos + 1 + c > len || wire > 255 || n >= KH_ARRAY_SIZE(lab))
			return -EBADMSG;
		lab[n] = pkt + pos + 1;
		ll[n++] = c;
		pos += 1 + (size_t)c;
	}
	*off = end ? end : pos;
	if (!out)
		return 0;

	/* Keep the canonical suffix: labels right of the last non-canonical one. */
	unsigned first = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned bad = 0;
		for (unsigned j = 0; j < ll[i]; j++) {
			char m = kh_name_canon_map[lab[i][j]];
			bad |= m == 0 || m == '.';
		}
		if (bad)
			first = i + 1;
	}
	out->labels = n;
	out->canon_labels = n - first;
	out->len = 0;
	for (unsigned i = first; i < n; i++) {
		if (i > first)
			out->text[out->len++] = '.';
		for (unsigned j = 0; j < ll[i]; j++)
			out->text[out->len++] = kh_name_canon_map[lab[i][j]];
	}
	out->text[out->len] = 0;
	return 0;
}

/* Skip one resource record; report OPT details when it is one. */
static int skip_rr(const uint8_t *pkt, size_t len, size_t *off, uint16_t *type,
		   const uint8_t **fixed)
{
	size_t pos = *off;
	uint16_t rdlen;

	if (kh_dns_read_name(pkt, len, &pos, NULL) < 0 || pos + 10 > len)
		return -EBADMSG;
	*type = kh_be16(pkt + pos);
	*fixed = pkt + pos;
	rdlen = kh_be16(pkt + pos + 8);
	pos += 10;
	if (pos + rdlen > len)
		return -EBADMSG;
	*off = pos + rdlen;
	return 0;
}

enum kh_dns_parse kh_dns_parse_query(const uint8_t *pkt, size_t len, struct kh_dns_query *q)
{
	uint16_t qd, an, ns, ar;
	size_t off = KH_DNS_HDR_LEN;
	unsigned opcode;

	memset(q, 0, offsetof(struct kh_dns_query, qname));
	q->qname.len = 0;
	q->qname.labels = q->qname.canon_labels = 0;
	q->qname.text[0] = 0;
	q->question_end = KH_DNS_HDR_LEN;
	q->edns = 0;
	q->edns_udp = KH_DNS_UDP_MIN;
	q->edns_version = 0;
	q->do_bit = 0;
	if (len < KH_DNS_HDR_LEN)
		return KH_DNS_PARSE_DROP;
	q->id = kh_be16(pkt);
	q->flags = kh_be16(pkt + 2);
	if (q->flags & KH_DNS_F_QR)
		return KH_DNS_PARSE_DROP; /* never answer a response: no loops */
	qd = kh_be16(pkt + 4);
	an = kh_be16(pkt + 6);
	ns = kh_be16(pkt + 8);
	ar = kh_be16(pkt + 10);
	opcode = (q->flags >> 11) & 0xf;
	if (qd != 1 || an != 0 || (unsigned)ns + ar > 16)
		return opcode ? KH_DNS_PARSE_NOTIMP : KH_DNS_PARSE_FORMERR;
	if (kh_dns_read_name(pkt, len, &off, &q->qname) < 0 || off + 4 > len)
		return KH_DNS_PARSE_FORMERR;
	q->qtype = kh_be16(pkt + off);
	q->qclass = kh_be16(pkt + off + 2);
	off += 4;
	q->question_end = off;
	if (opcode != 0)
		return KH_DNS_PARSE_NOTIMP;
	for (unsigned i = 0; i < (unsigned)ns + ar; i++) {
		const uint8_t *fx;
		uint16_t type;
		size_t start = off;
		if (skip_rr(pkt, len, &off, &type, &fx) < 0)
			return KH_DNS_PARSE_FORMERR;
		if (type != KH_DNS_T_OPT)
			continue;
		/* One OPT, in the additional section, owned by the root. */
		if (q->edns || i < ns || pkt[start] != 0)
			return KH_DNS_PARSE_FORMERR;
		q->edns = 1;
		q->edns_udp = KH_MAX(kh_be16(fx + 2), KH_DNS_UDP_MIN);
		q->edns_version = fx[5];
		q->do_bit = (fx[6] & 0x80) != 0;
	}
	if (q->edns && q->edns_version != 0)
		return KH_DNS_PARSE_BADVERS;
	/* Zone transfers and obsolete mailbox types are not a resolver's job. */
	if (q->qtype >= 251 && q->qtype <= 254)
		return KH_DNS_PARSE_NOTIMP;
	return KH_DNS_PARSE_OK;
}

int kh_dns_parse_answer(const uint8_t *pkt, size_t len, const uint8_t *qpkt, size_t qend,
			struct kh_dns_answer *a)
{
	size_t qlen = qend - KH_DNS_HDR_LEN;

	memset(a, 0, sizeof(*a));
	if (len < KH_DNS_HDR_LEN)
		return -EBADMSG;
	a->id = kh_be16(pkt);
	a->flags = kh_be16(pkt + 2);
	a->rcode = a->flags & 0xf;
	for (int i = 0; i < 4; i++)
		a->counts[i] = kh_be16(pkt + 4 + 2 * i);
	if (!(a->flags & KH_DNS_F_QR))
		return -EBADMSG;
	if (a->counts[0] != 1 || len < qend)
		return -ENOENT;
	/* Same question, byte for byte except letter case (upstreams may randomise it). */
	for (size_t i = 0; i < qlen; i++) {
		uint8_t x = pkt[KH_DNS_HDR_LEN + i], y = qpkt[KH_DNS_HDR_LEN + i];
		if (x != y && !((x | 0x20) == (y | 0x20) && (x | 0x20) >= 'a' && (x | 0x20) <= 'z'))
			return -ENOENT;
	}
	a->an_off = qend;
	return 0;
}

int kh_dns_next_rr(const uint8_t *pkt, size_t len, size_t *off, struct kh_dns_rr *rr)
{
	size_t pos = *off;

	if (kh_dns_read_name(pkt, len, &pos, &rr->owner) < 0 || pos + 10 > len)
		return -EBADMSG;
	rr->type = kh_be16(pkt + pos);
	rr->rclass = kh_be16(pkt + pos + 2);
	rr->ttl = kh_be32(pkt + pos + 4);
	rr->ttl_off = pos + 4;
	rr->rdlen = kh_be16(pkt + pos + 8);
	rr->rdata_off = pos + 10;
	if (rr->rdata_off + rr->rdlen > len)
		return -EBADMSG;
	rr->target.len = 0;
	rr->target.text[0] = 0;
	rr->target.labels = rr->target.canon_labels = 0;
	if (rr->type == KH_DNS_T_CNAME || rr->type == 39 /* DNAME */) {
		size_t t = rr->rdata_off;
		if (kh_dns_read_name(pkt, len, &t, &rr->target) < 0 ||
		    t > rr->rdata_off + rr->rdlen)
			return -EBADMSG;
	}
	*off = rr->rdata_off + rr->rdlen;
	return 0;
}

/* ---- building answers ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void put(struct wbuf *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];
	kh_put_be16(b, v);
	put(w, b, 2);
}

static void put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];
	kh_put_be32(b, v);
	put(w, b, 4);
}

static void put_header(struct wbuf *w, const struct kh_dns_query *q, int rcode, uint16_t qd,
		       uint16_t an, uint16_t ns, uint16_t ar)
{
	/* Echo the opcode (RFC 1035 4.1.1), RD and CD; we always offer recursion. */
	uint16_t flags = KH_DNS_F_QR | KH_DNS_F_RA |
			 (q->flags & (0x7800 | KH_DNS_F_RD | KH_DNS_F_CD)) |
			 (uint16_t)(rcode & 0xf);
	put16(w, q->id);
	put16(w, flags);
	put16(w, qd);
	put16(w, an);
	put16(w, ns);
	put16(w, ar);
}

/* OPT record, with an Extended DNS Error option when ede != 0. */
static void put_opt(struct wbuf *w, const struct kh_dns_query *q, int ext_rcode, uint16_t ede,
		    const char *text)
{
	size_t tl = text ? strlen(text) : 0;

	if (tl > 120)
		tl = 120;
	put(w, "", 1); /* root owner */
	put16(w, KH_DNS_T_OPT);
	put16(w, KH_DNS_EDNS_UDP);
	put32(w, (uint32_t)ext_rcode << 24 | (q->do_bit ? 0x8000u : 0));
	if (!ede) {
		put16(w, 0);
		return;
	}
	put16(w, (uint16_t)(4 + 2 + tl));
	put16(w, 15); /* EDE option code */
	put16(w, (uint16_t)(2 + tl));
	put16(w, ede);
	put(w, text, tl);
}

/* SOA in the authority section: its minimum field is the negative-caching TTL. */
static void put_soa(struct wbuf *w, uint32_t ttl)
{
	static const uint8_t mname[] = "\x05khien\x07invalid";
	static const uint8_t rname[] = "\x07"
				       "blocked\x05khien\x07invalid";

	put16(w, 0xc000 | KH_DNS_HDR_LEN); /* owner: the query name */
	put16(w, KH_DNS_T_SOA);
	put16(w, 1);
	put32(w, ttl);
	put16(w, (uint16_t)(sizeof(mname) + sizeof(rname) + 20));
	put(w, mname, sizeof(mname));
	put(w, rname, sizeof(rname));
	put32(w, 1);	 /* serial */
	put32(w, 3600);	 /* refresh */
	put32(w, 600);	 /* retry */
	put32(w, 86400); /* expire */
	put32(w, ttl);	 /* minimum */
}

int kh_dns_build_block(uint8_t *out, size_t cap, const uint8_t *pkt, const struct kh_dns_query *q,
		       const struct kh_dns_block *b, int udp)
{
	struct wbuf w = {out, 0, cap, 0};
	const uint8_t *addr = NULL;
	size_t alen = 0, limit;
	int rcode = KH_DNS_RC_NOERROR, soa = 0;
	const char *text = b->ede_text;

	switch (b->action) {
	case KH_DNS_ACT_DROP:
		return 0;
	case KH_DNS_ACT_NXDOMAIN:
		rcode = KH_DNS_RC_NXDOMAIN;
		soa = 1;
		break;
	case KH_DNS_ACT_REFUSED:
		rcode = KH_DNS_RC_REFUSED;
		break;
	case KH_DNS_ACT_NULL:
	case KH_DNS_ACT_BLOCKPAGE: {
		static const uint8_t zero[16];
		int null = b->action == KH_DNS_ACT_NULL;
		if (q->qtype == KH_DNS_T_A && (null || b->page4))
			addr = null ? zero : b->page4, alen = 4;
		else if (q->qtype == KH_DNS_T_AAAA && (null || b->page6))
			addr = null ? zero : b->page6, alen = 16;
		soa = addr == NULL;
		break;
	}
	case KH_DNS_ACT_NODATA:
	case KH_DNS_ACT_ALLOW: /* never asked for (category.c); NODATA if it were */
		soa = 1;
		break;
	}
	limit = udp ? (q->edns ? q->edns_udp : KH_DNS_UDP_MIN) : 65535;
	for (int attempt = 0; attempt < 2; attempt++) {
		w.len = 0;
		w.overflow = 0;
		put_header(&w, q, rcode, 1, addr ? 1 : 0, (uint16_t)soa, q->edns ? 1 : 0);
		put(&w, pkt + KH_DNS_HDR_LEN, q->question_end - KH_DNS_HDR_LEN);
		if (addr) {
			put16(&w, 0xc000 | KH_DNS_HDR_LEN);
			put16(&w, q->qtype);
			put16(&w, 1);
			put32(&w, b->ttl);
			put16(&w, (uint16_t)alen);
			put(&w, addr, alen);
		}
		if (soa)
			put_soa(&w, b->ttl);
		if (q->edns)
			put_opt(&w, q, 0, b->ede, text);
		if (!w.overflow && w.len <= limit)
			return (int)w.len;
		text = NULL; /* too long for the client: drop the explanation first */
	}
	return -ENOSPC;
}

int kh_dns_build_error(uint8_t *out, size_t cap, const uint8_t *pkt, size_t pkt_len,
		       const struct kh_dns_query *q, int rcode)
{
	struct wbuf w = {out, 0, cap, 0};
	int has_q = q->question_end > KH_DNS_HDR_LEN && q->question_end <= pkt_len;
	int badvers = rcode == 16;

	put_header(&w, q, badvers ? 0 : rcode, has_q ? 1 : 0, 0, 0, q->edns ? 1 : 0);
	if (has_q)
		put(&w, pkt + KH_DNS_HDR_LEN, q->question_end - KH_DNS_HDR_LEN);
	if (q->edns)
		put_opt(&w, q, badvers ? 1 : 0, 0, NULL);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int kh_dns_put_name(uint8_t *out, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		if (n == 0 || n > 63 || o + n + 2 > 255)
			return -EINVAL;
		out[o++] = (uint8_t)n;
		memcpy(out + o, name, n);
		o += n;
		name += n + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return (int)o;
}

const char *kh_dns_type_name(uint16_t type, char *buf, size_t cap)
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = {{1, "A"},	   {2, "NS"},	  {5, "CNAME"}, {6, "SOA"},  {12, "PTR"},
		     {15, "MX"},   {16, "TXT"},	  {28, "AAAA"}, {33, "SRV"}, {41, "OPT"},
		     {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"}, {257, "CAA"}};

	for (size_t i = 0; i < KH_ARRAY_SIZE(names); i++)
		if (names[i].t == type)
			return names[i].n;
	snprintf(buf, cap, "TYPE%u", type);
	return buf;
}
