/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter's home profiles (see dns_priv.h for the family, profile.h
 * for the rules): which profile a client has (MAC through the neighbour
 * table, else IP/CIDR; cached per client bucket and refreshed when the
 * table or the neighbours change), the category masks of each index, the
 * windows active this local minute, safe search and resolver.arpa.
 *
 * Safe search rewrites the query: the upstream is asked for the forced-safe
 * name (forcesafesearch.google.com, ...) and the client gets its own
 * question, a CNAME to that name, and the upstream's records for it, as
 * Google, YouTube, Bing and DuckDuckGo document for network operators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dns_priv.h"
#include "lib/endian.h"
#include "lib/log.h"
#include "platform/time.h"

#define NEIGH_MAX 256
#define NEIGH_REFRESH_MS 15000

static int has_mac_clients(const struct kh_profiles *t)
{
	for (unsigned i = 0; i < t->nclient; i++)
		if (t->client[i].kind == KH_PROF_BY_MAC)
			return 1;
	return 0;
}

int dns_prof_init(struct kh_dns *d)
{
	const struct kh_agent_config *cfg = d->cfg;

	d->prof = &cfg->profiles;
	d->prof_minute = -1;
	if (!IS_ENABLED(CONFIG_PROFILES) || (!cfg->profiles.nprof && !cfg->safe_search))
		return 0;
	d->prof_cache = calloc(CLIENT_BUCKETS, sizeof(*d->prof_cache));
	d->ssq = calloc(CONFIG_DNS_MAX_INFLIGHT, sizeof(*d->ssq));
	d->neigh = calloc(NEIGH_MAX, sizeof(*d->neigh));
	if (!d->prof_cache || !d->ssq || !d->neigh)
		return -ENOMEM;
	d->prof_gen = 1;
	d->prof_mac = has_mac_clients(d->prof);
	return 0;
}

void dns_prof_free(struct kh_dns *d)
{
	free(d->prof_cache);
	free(d->ssq);
	free(d->neigh);
	free(d->prof_own);
	free(d->prof_isp);
	free(d->prof_local);
}

static const char *gen_cat_name(void *arg, unsigned id)
{
	struct idx_gen *g = arg;
	return id < g->idx.n_categories ? kh_index_category_name(&g->idx, id) : NULL;
}

int dns_prof_masks(struct kh_dns *d, struct idx_gen *g)
{
	if (!g || !d->prof_cache)
		return 0;
	if (!g->pmask && !(g->pmask = calloc(KH_PROF_MAX, sizeof(*g->pmask))))
		return -ENOMEM;
	kh_profile_masks(d->prof, gen_cat_name, g, g->idx.n_categories, g->pmask);
	return 0;
}

static int prof_alloc(struct kh_dns *d, char *why, size_t whylen)
{
	if (d->prof_cache)
		return 0;
	d->prof_cache = calloc(CLIENT_BUCKETS, sizeof(*d->prof_cache));
	d->ssq = calloc(CONFIG_DNS_MAX_INFLIGHT, sizeof(*d->ssq));
	d->neigh = calloc(NEIGH_MAX, sizeof(*d->neigh));
	if (!d->prof_cache || !d->ssq || !d->neigh) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static struct kh_profiles *prof_copy(const struct kh_profiles *src, char *why, size_t whylen)
{
	struct kh_profiles *t = malloc(sizeof(*t));

	if (t)
		*t = *src;
	else
		snprintf(why, whylen, "out of memory");
	return t;
}

/*
 * The table in force from the base (the configuration's, or the owner's
 * layer over it) and the ISP's: a new merged copy, swapped in whole.
 */
static int prof_apply(struct kh_dns *d, const struct kh_profiles *base,
		      const struct kh_profiles *isp, char *why, size_t whylen)
{
	struct kh_profiles *own = NULL;
	int err;

	if (isp && isp->nprof) {
		if (!(own = prof_copy(base, why, whylen)))
			return -ENOMEM;
		if ((err = kh_profiles_merge(own, isp, why, whylen)) < 0) {
			free(own);
			return err;
		}
	}
	if ((own || base->nprof) && (err = prof_alloc(d, why, whylen)) < 0) {
		free(own);
		return err;
	}
	free(d->prof_own);
	d->prof_own = own;
	d->prof = own ? own : base;
	d->prof_mac = has_mac_clients(d->prof);
	d->prof_gen++;
	d->prof_minute = -1;
	snprintf(why, whylen, "ok");
	return dns_prof_masks(d, d->cur);
}

static const struct kh_profiles *prof_base(const struct kh_dns *d)
{
	return d->prof_local ? d->prof_local : &d->cfg->profiles;
}

int kh_dns_set_isp_profiles(struct kh_dns *d, const struct kh_profiles *isp, char *why,
			    size_t whylen)
{
	struct kh_profiles *copy = NULL;
	int err;

	if (isp && isp->nprof && !(copy = prof_copy(isp, why, whylen)))
		return -ENOMEM;
	if ((err = prof_apply(d, prof_base(d), copy, why, whylen)) < 0) {
		free(copy);
		return err; /* the table in force stays */
	}
	free(d->prof_isp);
	d->prof_isp = copy;
	return 0;
}

int kh_dns_set_local_profiles(struct kh_dns *d, const struct kh_profiles *local, char *why,
			      size_t whylen)
{
	struct kh_profiles *copy = NULL;
	int err;

	if (local && !(copy = prof_copy(local, why, whylen)))
		return -ENOMEM;
	if ((err = prof_apply(d, copy ? copy : &d->cfg->profiles, d->prof_isp, why, whylen)) < 0) {
		free(copy);
		return err;
	}
	free(d->prof_local);
	d->prof_local = copy;
	return 0;
}

const struct kh_profiles *kh_dns_isp_profiles(const struct kh_dns *d)
{
	return d->prof_isp;
}

const struct kh_profiles *kh_dns_profiles(const struct kh_dns *d)
{
	return prof_base(d);
}

/* The neighbour table, re-read when older than NEIGH_REFRESH_MS (only if a profile names a MAC). */
static void neigh_refresh(struct kh_dns *d)
{
	uint64_t now = kh_time_mono_ms();
	int n;

	if (d->neigh_at && now - d->neigh_at < NEIGH_REFRESH_MS)
		return;
	d->neigh_at = now ? now : 1;
	n = kh_neigh_read(d->cfg->neighbours[0] ? d->cfg->neighbours : NULL, d->neigh, NEIGH_MAX);
	d->nneigh = n > 0 ? (unsigned)n : 0;
	d->prof_gen++; /* a device may have a new address */
}

static int same_ip(const struct kh_addr *a, const struct kh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == KH_AF_INET6 ? 16 : 4) == 0;
}

int dns_client_profile(struct kh_dns *d, const struct kh_addr *client)
{
	struct prof_slot *s;
	const uint8_t *mac = NULL;

	if (!d->prof_cache || !d->prof->nprof)
		return -1;
	if (d->prof_mac)
		neigh_refresh(d);
	s = &d->prof_cache[dns_client_bucket(d, client)];
	if (s->gen == d->prof_gen && same_ip(&s->ip, client))
		return s->prof;
	for (unsigned i = 0; i < d->nneigh; i++)
		if (same_ip(&d->neigh[i].ip, client)) {
			mac = d->neigh[i].mac;
			break;
		}
	s->ip = *client;
	s->gen = d->prof_gen;
	s->prof = (int16_t)kh_profile_find(d->prof, client, mac);
	return s->prof;
}

/* The windows of profile prof active now (recomputed once per local minute). */
static unsigned active_now(struct kh_dns *d, int prof)
{
	int64_t now = kh_time_wall();
	int64_t minute = now / 60;

	if (minute != d->prof_minute) {
		unsigned wday, min;
		kh_tz_local(&d->cfg->tz, now, &wday, &min);
		for (unsigned i = 0; i < d->prof->nprof; i++)
			d->prof_active[i] = kh_profile_active(&d->prof->prof[i], wday, min);
		d->prof_minute = minute;
	}
	return d->prof_active[prof];
}

void dns_prof_query(struct kh_dns *d, const struct kh_addr *client, const char *name, size_t len,
		    int cat, struct prof_query *pq)
{
	int safe;

	memset(pq, 0, sizeof(*pq));
	pq->v.sched = -1;
	pq->prof = client ? dns_client_profile(d, client) : -1;
	safe = d->cfg->safe_search;
	if (pq->prof >= 0) {
		static const struct kh_prof_mask none;
		const struct kh_prof_mask *m =
			d->cur && d->cur->pmask ? &d->cur->pmask[pq->prof] : &none;
		kh_profile_decide(d->prof, (unsigned)pq->prof, m, active_now(d, pq->prof), name,
				  len, cat, &pq->v);
		safe = d->prof->prof[pq->prof].safe_search;
	}
	if (safe && !pq->v.blocked)
		pq->safe_target = kh_safe_search_target(name, len);
}

int dns_prof_blocks_cat(struct kh_dns *d, const struct kh_addr *client, unsigned cat)
{
	int prof = dns_client_profile(d, client);
	const struct kh_prof_mask *m;
	unsigned act;

	if (prof < 0 || !d->cur || !d->cur->pmask || cat >= 64 * KH_PROF_MASK_WORDS)
		return 0;
	m = &d->cur->pmask[prof];
	if ((m->isp[cat / 64] | m->local[cat / 64]) >> (cat % 64) & 1)
		return 1;
	act = active_now(d, prof);
	for (unsigned i = 0; i < KH_PROF_MAX_SCHED; i++)
		if ((act >> i & 1) && (m->sched[i][cat / 64] >> (cat % 64) & 1))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- safe search */

int dns_ss_forward(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *pkt,
		   const struct kh_addr *client, int listener, int conn, const char *target,
		   uint8_t *out, size_t cap)
{
	uint8_t msg[KH_DNS_HDR_LEN + 256 + 4 + 11];
	struct kh_dns_query q2;
	struct pending *p;
	size_t off = KH_DNS_HDR_LEN, qlen = q->question_end - KH_DNS_HDR_LEN;
	int n;

	if (!d->ssq || qlen > sizeof(d->ssq[0].q))
		return 0;
	/* header: the client's ID and flags, one question, an OPT when the client sent one */
	memset(msg, 0, KH_DNS_HDR_LEN);
	memcpy(msg, pkt, 4);
	kh_put_be16(msg + 4, 1);
	kh_put_be16(msg + 10, q->edns ? 1 : 0);
	if ((n = kh_dns_put_name(msg + off, target)) < 0)
		return 0;
	off += (size_t)n;
	kh_put_be16(msg + off, q->qtype);
	kh_put_be16(msg + off + 2, q->qclass);
	off += 4;
	if (q->edns) {
		static const uint8_t opt[11] = {0, 0, 41, KH_DNS_EDNS_UDP >> 8,
						KH_DNS_EDNS_UDP & 0xff};
		memcpy(msg + off, opt, sizeof(opt));
		if (q->do_bit)
			msg[off + 7] = 0x80;
		off += sizeof(opt);
	}
	if (kh_dns_parse_query(msg, off, &q2) != KH_DNS_PARSE_OK)
		return 0;
	q2.edns_udp = q->edns_udp; /* the client's limit, for the answer's size */
	n = dns_forward_query(d, &q2, msg, off, client, listener, conn, out, cap, &p);
	if (n > 0) /* the SERVFAIL for the client's own question */
		return kh_dns_build_error(out, cap, pkt, q->question_end, q, KH_DNS_RC_SERVFAIL);
	if (p) { /* sent: the answer comes later, through dns_ss_answer */
		p->safe = 1;
		d->ssq[p - d->pend].len = (uint16_t)qlen;
		memcpy(d->ssq[p - d->pend].q, pkt + KH_DNS_HDR_LEN, qlen);
		d->st.safe_search++;
	}
	return 0;
}

/* Append a record (owner as text, uncompressed); 0 or -1 when out is full. */
static int ss_put_rr(uint8_t *out, size_t cap, size_t *off, const char *owner, uint16_t type,
		     uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	uint8_t name[256];
	int n = kh_dns_put_name(name, owner);

	if (n < 0 || *off + (size_t)n + 10 + rdlen > cap)
		return -1;
	memcpy(out + *off, name, (size_t)n);
	*off += (size_t)n;
	kh_put_be16(out + *off, type);
	kh_put_be16(out + *off + 2, 1);
	kh_put_be32(out + *off + 4, ttl);
	kh_put_be16(out + *off + 8, (uint16_t)rdlen);
	memcpy(out + *off + 10, rdata, rdlen);
	*off += 10 + rdlen;
	return 0;
}

int dns_ss_answer(struct kh_dns *d, struct pending *p, const uint8_t *pkt, size_t len,
		  const struct kh_dns_answer *a, uint8_t *out, size_t cap)
{
	const struct ss_question *sq = &d->ssq[p - d->pend];
	struct kh_dns_rr rr;
	uint8_t target[256];
	size_t off = KH_DNS_HDR_LEN, roff = a->an_off;
	unsigned an = 1;
	uint32_t ttl = 300;
	int tn = kh_dns_put_name(target, p->q.qname.text);

	if (tn < 0 || cap < KH_DNS_HDR_LEN + sq->len + 12 + (size_t)tn)
		return -1;
	memset(out, 0, KH_DNS_HDR_LEN);
	kh_put_be16(out, p->q.id);
	kh_put_be16(out + 2, (uint16_t)((a->flags & ~(KH_DNS_F_AA | KH_DNS_F_TC)) | KH_DNS_F_QR));
	kh_put_be16(out + 4, 1);
	memcpy(out + off, sq->q, sq->len);
	off += sq->len;
	/* the CNAME: owner is the question's name (pointer to offset 12) */
	kh_put_be16(out + off, 0xc00c);
	kh_put_be16(out + off + 2, KH_DNS_T_CNAME);
	kh_put_be16(out + off + 4, 1);
	kh_put_be32(out + off + 6, ttl);
	kh_put_be16(out + off + 10, (uint16_t)tn);
	memcpy(out + off + 12, target, (size_t)tn);
	off += 12 + (size_t)tn;
	/* the upstream's answer records for the target, names written out in full */
	for (unsigned i = 0; i < a->counts[1]; i++) {
		uint8_t rd[256];
		const uint8_t *data = pkt + 0;
		size_t rdlen;
		if (kh_dns_next_rr(pkt, len, &roff, &rr) < 0)
			return -1;
		if (rr.owner.canon_labels < rr.owner.labels || rr.rclass != 1)
			continue;
		if (rr.type == KH_DNS_T_CNAME) {
			int n = kh_dns_put_name(rd, rr.target.text);
			if (n < 0 || rr.target.canon_labels < rr.target.labels)
				continue;
			data = rd;
			rdlen = (size_t)n;
		} else if (rr.type == KH_DNS_T_A || rr.type == KH_DNS_T_AAAA ||
			   rr.type == KH_DNS_T_HTTPS || rr.type == KH_DNS_T_SVCB ||
			   rr.type == KH_DNS_T_TXT) {
			data = pkt + rr.rdata_off; /* no compressed names inside (RFC 9460 2.2) */
			rdlen = rr.rdlen;
		} else {
			continue;
		}
		if (ss_put_rr(out, cap, &off, rr.owner.text, rr.type, rr.ttl, data, rdlen) < 0)
			break;
		an++;
	}
	kh_put_be16(out + 6, (uint16_t)an);
	return (int)off;
}

int dns_ss_error(struct kh_dns *d, struct pending *p, int rcode, uint8_t *out, size_t cap)
{
	const struct ss_question *sq = &d->ssq[p - d->pend];
	uint8_t msg[KH_DNS_HDR_LEN + sizeof(sq->q)];
	struct kh_dns_query q;

	/* the client's query as it came (header and question; its OPT is not needed here) */
	memcpy(msg, p->pkt, KH_DNS_HDR_LEN);
	kh_put_be16(msg + 10, 0);
	memcpy(msg + KH_DNS_HDR_LEN, sq->q, sq->len);
	if (kh_dns_parse_query(msg, KH_DNS_HDR_LEN + sq->len, &q) != KH_DNS_PARSE_OK)
		return -1;
	return kh_dns_build_error(out, cap, msg, KH_DNS_HDR_LEN + sq->len, &q, rcode);
}

int dns_is_resolver_arpa(const struct kh_dns_name *n)
{
	return n->canon_labels == n->labels && n->len >= 13 &&
	       memcmp(n->text + n->len - 13, "resolver.arpa", 13) == 0 &&
	       (n->len == 13 || n->text[n->len - 14] == '.');
}
