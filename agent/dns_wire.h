/* SPDX-License-Identifier: MIT */
/*
 * DNS messages on the wire (RFC 1035, EDNS(0) RFC 6891, Extended DNS Errors
 * RFC 8914): parsing queries from clients and answers from upstreams with
 * hard limits, and building the answers khiend gives itself. Everything
 * here works on caller buffers; nothing allocates.
 *
 * Limits: names <= 255 wire octets, labels <= 63, at most 32 compression
 * pointers per name and each must point backwards, at most KH_DNS_MAX_RRS
 * records walked per section.
 */
#ifndef KHIEN_AGENT_DNS_WIRE_H
#define KHIEN_AGENT_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/name.h"

#define KH_DNS_HDR_LEN 12
#define KH_DNS_MAX_RRS 512
#define KH_DNS_UDP_MIN 512
#define KH_DNS_EDNS_UDP 1232 /* what khiend advertises and forwards with */

enum {
	KH_DNS_T_A = 1,
	KH_DNS_T_NS = 2,
	KH_DNS_T_CNAME = 5,
	KH_DNS_T_SOA = 6,
	KH_DNS_T_PTR = 12,
	KH_DNS_T_MX = 15,
	KH_DNS_T_TXT = 16,
	KH_DNS_T_AAAA = 28,
	KH_DNS_T_OPT = 41,
	KH_DNS_T_SVCB = 64,
	KH_DNS_T_HTTPS = 65,
	KH_DNS_T_ANY = 255,
};

enum {
	KH_DNS_RC_NOERROR = 0,
	KH_DNS_RC_FORMERR = 1,
	KH_DNS_RC_SERVFAIL = 2,
	KH_DNS_RC_NXDOMAIN = 3,
	KH_DNS_RC_NOTIMP = 4,
	KH_DNS_RC_REFUSED = 5,
};

/* RFC 8914 info codes used for blocked answers. */
enum {
	KH_EDE_BLOCKED = 15,
	KH_EDE_CENSORED = 16,
	KH_EDE_FILTERED = 17,
};

#define KH_DNS_F_QR 0x8000
#define KH_DNS_F_AA 0x0400
#define KH_DNS_F_TC 0x0200
#define KH_DNS_F_RD 0x0100
#define KH_DNS_F_RA 0x0080
#define KH_DNS_F_CD 0x0010

/* A name read from a message: canonical text when every label is canonical. */
struct kh_dns_name {
	char text[KH_NAME_MAX + 1 + 8]; /* lowercase, dot-separated, no trailing dot; "" = root */
	size_t len;
	unsigned labels;
	/*
	 * Labels are counted from the right; labels 1..canon_labels are all
	 * canonical ([a-z0-9_-] after lowercasing). If canon_labels < labels,
	 * text holds only that canonical suffix (the rest cannot be on a list).
	 */
	unsigned canon_labels;
};

struct kh_dns_query {
	uint16_t id, flags, qtype, qclass;
	struct kh_dns_name qname;
	size_t question_end; /* offset just past the question */
	int edns;	     /* 1 if an OPT record was present */
	uint16_t edns_udp;   /* requester's UDP payload size (>= 512) */
	uint8_t edns_version;
	int do_bit;
};

/* Outcome of parsing a client message. */
enum kh_dns_parse {
	KH_DNS_PARSE_OK = 0,
	KH_DNS_PARSE_DROP = -1,	   /* not answerable at all: shorter than a header, or a response */
	KH_DNS_PARSE_FORMERR = -2, /* malformed: answer FORMERR */
	KH_DNS_PARSE_NOTIMP = -3,  /* valid but unsupported opcode: answer NOTIMP */
	KH_DNS_PARSE_BADVERS = -4, /* EDNS version > 0 */
};

/* Parse a client query. Fills q as far as it got even on errors (id, flags). */
enum kh_dns_parse kh_dns_parse_query(const uint8_t *pkt, size_t len, struct kh_dns_query *q);

/*
 * Read the (possibly compressed) name at *off; advance *off past it.
 * Returns 0 or -EBADMSG. out may be NULL to only skip.
 */
int kh_dns_read_name(const uint8_t *pkt, size_t len, size_t *off, struct kh_dns_name *out);

struct kh_dns_rr {
	struct kh_dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t ttl_off; /* offset of the TTL field, to age cached answers */
	size_t rdata_off;
	uint16_t rdlen;
	struct kh_dns_name target; /* CNAME/DNAME target (len 0 otherwise) */
};

/* An upstream answer, checked against the question it must answer. */
struct kh_dns_answer {
	uint16_t id, flags, rcode;
	uint16_t counts[4]; /* QD, AN, NS, AR */
	size_t an_off;	    /* first answer record */
};

/*
 * Parse the header and question of an upstream answer and check that it
 * answers the query qpkt (whose question ends at qend): QR set, exactly the
 * same question (names compared case-insensitively). Returns 0, -EBADMSG if
 * malformed, -ENOENT if it is well formed but answers another question.
 */
int kh_dns_parse_answer(const uint8_t *pkt, size_t len, const uint8_t *qpkt, size_t qend,
			struct kh_dns_answer *a);

/*
 * Walk the next record from *off (within the answer sections). Returns 0,
 * -EBADMSG if malformed. The caller counts records with the header counts.
 */
int kh_dns_next_rr(const uint8_t *pkt, size_t len, size_t *off, struct kh_dns_rr *rr);

/* What a blocked or locally answered query gets. */
enum kh_dns_action {
	KH_DNS_ACT_NXDOMAIN = 0,
	KH_DNS_ACT_NODATA,
	KH_DNS_ACT_NULL,      /* 0.0.0.0 / :: for A / AAAA, NODATA otherwise */
	KH_DNS_ACT_BLOCKPAGE, /* the configured block-page address for A / AAAA */
	KH_DNS_ACT_REFUSED,
	KH_DNS_ACT_DROP, /* no answer at all */
	KH_DNS_ACT_ALLOW, /* configuration only: a household category (agent/profile.h), never built */
};

struct kh_dns_block {
	enum kh_dns_action action;
	uint32_t ttl;
	uint16_t ede;	      /* 0: no Extended DNS Error */
	const char *ede_text; /* may be NULL */
	const uint8_t *page4; /* 4 bytes or NULL */
	const uint8_t *page6; /* 16 bytes or NULL */
};

/*
 * Build the answer to query (the client's packet pkt) into out. Returns the
 * length, 0 for DROP, or -ENOSPC. The answer never exceeds the client's
 * UDP limit when udp is set (it is cut and TC set instead).
 */
int kh_dns_build_block(uint8_t *out, size_t cap, const uint8_t *pkt, const struct kh_dns_query *q,
		       const struct kh_dns_block *b, int udp);

/* Header-and-question answer with an RCODE (FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS). */
int kh_dns_build_error(uint8_t *out, size_t cap, const uint8_t *pkt, size_t pkt_len,
		       const struct kh_dns_query *q, int rcode);

/*
 * Write a dotted name ("www.example.com", "" for the root) in wire form,
 * uncompressed, into out (at least 256 bytes). Returns the length, or
 * -EINVAL for an empty label or one over 63 octets, or a name over 255.
 */
int kh_dns_put_name(uint8_t *out, const char *name);

/* Name of a query type for logs and events ("A", "HTTPS", "TYPE123"). */
const char *kh_dns_type_name(uint16_t type, char *buf, size_t cap);

#endif
