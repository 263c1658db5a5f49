/* SPDX-License-Identifier: MIT */
/*
 * DNS filter engine core (see dns.h; dns_priv.h lists the family): the
 * index generations and what each category of the current one means, the
 * policy decision for a client query (canary, blocked, cached, forwarded)
 * and for an upstream answer (every owner, CNAME target and address checked
 * against the lists in force), and the filter's lifecycle. Serving clients,
 * the upstream side, the cache and the control view are the other files'.
 *
 * Query path: UDP queries are read and answered in batches (dns_serve.c);
 * each is parsed (dns_wire.c limits), checked against the canaries and the
 * index, served from the cache, or forwarded through the pending table
 * (dns_upstream.c).
 *
 * Cache-poisoning defences: every upstream query gets a fresh random ID and
 * leaves from a socket picked at random from a pool, each bound to a random
 * port by the stack and replaced after a few hundred uses; an answer is
 * accepted only on the socket the query left from, from the upstream it went
 * to, with the ID given and exactly the question asked.
 *
 * Index swaps: an answer is inspected with the index in force when it
 * arrives, not the one its query was checked on, so a name blocked by a
 * reload is never served or cached from an answer that was in flight. A
 * query whose generation changed has its own name checked again too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/category.h"
#include "agent/dns_priv.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/str.h"
#include "platform/time.h"

/* ---------------------------------------------------------------- random */

int dns_rnd_bytes(struct kh_dns *d, void *p, size_t n)
{
	if (d->rnd_left < n) {
		if (kh_drbg_generate(&d->rng, d->rnd, sizeof(d->rnd)) < 0)
			return -EIO;
		d->rnd_left = sizeof(d->rnd);
	}
	memcpy(p, d->rnd + sizeof(d->rnd) - d->rnd_left, n);
	d->rnd_left -= (unsigned)n;
	return 0;
}

uint32_t dns_rnd32(struct kh_dns *d)
{
	uint32_t v = 0;
	dns_rnd_bytes(d, &v, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------- index */

static void gen_free(struct idx_gen *g)
{
	if (g) {
		free(g->pmask);
		kh_fs_unmap(&g->map);
		free(g);
	}
}

static unsigned counter_slot(struct kh_dns *d, const char *name)
{
	for (unsigned i = 0; i < d->ncounters; i++)
		if (strcmp(d->counters[i].name, name) == 0)
			return i;
	if (d->ncounters >= KH_ARRAY_SIZE(d->counters))
		return KH_ARRAY_SIZE(d->counters) - 1; /* shared overflow slot */
	kh_strlcpy(d->counters[d->ncounters].name, name, sizeof(d->counters[0].name));
	return d->ncounters++;
}

int kh_dns_load_index(struct kh_dns *d, const char *path, const char **why)
{
	struct idx_gen *g = calloc(1, sizeof(*g));
	int err;

	if (!g) {
		*why = "out of memory";
		return -ENOMEM;
	}
	err = kh_fs_map(path, (size_t)CONFIG_INDEX_MAX_MB << 20, &g->map);
	if (err < 0) {
		*why = kh_strerror(err);
		free(g);
		return err;
	}
	err = kh_index_open(&g->idx, g->map.data, g->map.len, why);
	if (err < 0) {
		kh_fs_unmap(&g->map);
		free(g);
		return err;
	}
	for (unsigned c = 0; c < g->idx.n_categories; c++) {
		const char *name = kh_index_category_name(&g->idx, c);

		kh_category_resolve(d->cfg, name, &g->cat[c]);
		g->counter[c] = (uint16_t)counter_slot(d, name);
	}
	if (dns_prof_masks(d, g) < 0) {
		*why = "out of memory";
		gen_free(g);
		return -ENOMEM;
	}
	kh_strlcpy(g->path, path, sizeof(g->path));
	g->loaded_at = (uint64_t)kh_time_wall();
	gen_free(d->cur); /* answers in flight are inspected with the new one */
	d->cur = g;
	/* Answers cached under the old lists must not outlive them. */
	dns_cache_flush(d);
	d->st.reloads++;
	*why = "ok";
	return 0;
}

static int lookup_name(const struct kh_index *idx, const struct kh_dns_name *n, struct kh_match *m)
{
	if (n->canon_labels == 0)
		return 0;
	if (kh_index_lookup_ex(idx, n->text, n->len,
			       n->canon_labels < n->labels ? KH_LOOKUP_SUBDOMAIN : 0, m) < 0)
		return 0;
	return m->verdict == KH_BLOCKED;
}

void dns_client_id(struct kh_dns *d, const struct kh_addr *a, char *out, size_t cap)
{
	if (!d->cfg->client_id_hash) {
		struct kh_addr ip = *a;
		ip.port = 0;
		kh_addr_format(&ip, out, cap);
		out[strcspn(out, "]")] = 0;
		if (out[0] == '[')
			memmove(out, out + 1, strlen(out));
		else
			out[strcspn(out, ":")] = 0;
		return;
	}
	uint8_t mac[KH_SHA256_LEN];
	kh_hmac_sha256(d->key, sizeof(d->key), a->ip, a->family == KH_AF_INET6 ? 16 : 4, mac);
	for (int i = 0; i < 8 && (size_t)(2 * i + 2) < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void dns_rule_text(const struct kh_match *m, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", m->exact ? "" : "*.", m->name + m->suffix_off);
}

/* Build the blocked answer for verdict v; counts and records the event. */
/* The action for a blocked match: an RPZ rule that names its own overrides the category's. */
static enum kh_dns_action block_action(const struct idx_gen *g, const struct kh_match *m)
{
	if (m->action == KH_ACT_NXDOMAIN)
		return KH_DNS_ACT_NXDOMAIN;
	if (m->action == KH_ACT_NODATA)
		return KH_DNS_ACT_NODATA;
	if (m->action == KH_ACT_DROP)
		return KH_DNS_ACT_DROP;
	return (enum kh_dns_action)g->cat[m->category].action;
}

/* Build the blocked answer for match m; counts and records the event. */
static int answer_blocked(struct kh_dns *d, struct idx_gen *g, const struct kh_match *m,
			  const uint8_t *pkt, const struct kh_dns_query *q,
			  const struct kh_addr *client, int udp, uint8_t *out, size_t cap)
{
	char text[160], rule[KH_NAME_MAX + 4];
	unsigned c = m->category;
	struct kh_dns_block b = {
		.action = block_action(g, m),
		.ttl = d->cfg->blocked_ttl,
		.ede = g->cat[c].ede,
		.ede_text = text,
		.page4 = d->cfg->has_page4 ? d->cfg->page4 : NULL,
		.page6 = d->cfg->has_page6 ? d->cfg->page6 : NULL,
	};

	dns_rule_text(m, rule, sizeof(rule));
	snprintf(text, sizeof(text), "khien: %.32s (rule %.100s)",
		 kh_index_category_name(&g->idx, c), rule);
	d->st.blocked++;
	d->counters[g->counter[c]].blocked++;
	dns_recent_blocked(d, g->counter[c], client);
	if (g->cat[c].event)
		dns_event_record(d, g, m, q->qname.text, q->qtype, client);
	return kh_dns_build_block(out, cap, pkt, q, &b, udp);
}

/*
 * A block a client's profile decided (no ISP rule): the category's answer
 * if a category decided, else the default, with EDE Filtered and the
 * profile's reason in its text. Counted under the category, or "profile".
 */
static int answer_profile_blocked(struct kh_dns *d, const struct prof_query *pq, int cat,
				  const uint8_t *pkt, const struct kh_dns_query *q,
				  const struct kh_addr *client, int udp, uint8_t *out, size_t cap)
{
	struct idx_gen *g = d->cur;
	char text[160];
	unsigned counter = cat >= 0 && g ? g->counter[cat] : d->prof_counter;
	struct kh_dns_block b = {
		.action = cat >= 0 && g ? (enum kh_dns_action)g->cat[cat].action
					: (enum kh_dns_action)d->cfg->default_action,
		.ttl = d->cfg->blocked_ttl,
		.ede = KH_EDE_FILTERED,
		.ede_text = text,
		.page4 = d->cfg->has_page4 ? d->cfg->page4 : NULL,
		.page6 = d->cfg->has_page6 ? d->cfg->page6 : NULL,
	};

	snprintf(text, sizeof(text), "khien: profile %.32s: %s%s%.*s%s%.32s",
		 d->prof->prof[pq->prof].name, kh_profile_reason(pq->v.reason),
		 pq->v.rule ? " " : "", (int)(pq->v.rule ? KH_MIN(pq->v.rule_len, (size_t)64) : 0),
		 pq->v.rule ? pq->v.rule : "", cat >= 0 && g ? " " : "",
		 cat >= 0 && g ? kh_index_category_name(&g->idx, (unsigned)cat) : "");
	d->st.blocked++;
	d->st.profile_blocked++;
	d->counters[counter].blocked++;
	dns_recent_blocked(d, counter, client);
	return kh_dns_build_block(out, cap, pkt, q, &b, udp);
}

/*
 * 1 if name n blocks an answer for p's client: a block entry outside the
 * household categories, or one in a household category the client's
 * profile blocks now. Answers that touched a household category are never
 * cached: another client may see them differently.
 */
static int answer_hit(struct kh_dns *d, struct idx_gen *g, const struct pending *p,
		      const struct kh_dns_name *n, struct kh_match *m, int *cacheable)
{
	if (!lookup_name(&g->idx, n, m))
		return 0;
	if (!g->cat[m->category].household)
		return 1;
	*cacheable = 0;
	return dns_prof_blocks_cat(d, &p->client, m->category);
}

/* ---------------------------------------------------------------- answers */

enum answer_fate dns_handle_answer(struct kh_dns *d, struct pending *p, uint8_t *pkt, size_t len,
				   int tcp)
{
	struct idx_gen *g = d->cur; /* the lists in force now */
	struct kh_dns_answer a;
	struct kh_dns_rr rr;
	struct kh_match m;
	uint16_t ttl_off[24];
	unsigned nttl = 0, nrr;
	uint32_t min_ttl = UINT32_MAX;
	size_t off;
	int cacheable = 1;

	if (kh_dns_parse_answer(pkt, len, p->pkt, p->q.question_end, &a) < 0) {
		d->st.spoofed++;
		d->up[p->up].bad++;
		return ANSWER_IGNORED;
	}
	dns_upstream_ok(&d->up[p->up], kh_time_mono_ms() - p->sent_at);
	if ((a.flags & KH_DNS_F_TC) && !tcp && p->listener < 0 && dns_up_tcp_start(d, p) == 0)
		return ANSWER_TO_TCP; /* a TCP client gets the whole answer: fetch it over TCP */

	/* Lists reloaded since the query was checked: its name may be blocked now. */
	if (g && p->gen_seq != d->st.reloads && answer_hit(d, g, p, &p->q.qname, &m, &cacheable))
		goto blocked;
	/* Inspect every record: a blocked owner, CNAME target or address blocks the answer. */
	off = a.an_off;
	nrr = (unsigned)a.counts[1] + a.counts[2] + a.counts[3];
	if (nrr > KH_DNS_MAX_RRS)
		goto servfail;
	for (unsigned i = 0; i < nrr; i++) {
		int answer_section = i < a.counts[1];
		if (kh_dns_next_rr(pkt, len, &off, &rr) < 0)
			goto servfail;
		if (rr.type != KH_DNS_T_OPT) {
			if (nttl < KH_ARRAY_SIZE(ttl_off))
				ttl_off[nttl++] = (uint16_t)rr.ttl_off;
			else
				cacheable = 0;
			min_ttl = KH_MIN(min_ttl, rr.ttl);
		}
		if (!answer_section || !g)
			continue;
		if (answer_hit(d, g, p, &rr.owner, &m, &cacheable) ||
		    (rr.target.len && answer_hit(d, g, p, &rr.target, &m, &cacheable)))
			goto blocked;
		if (g->idx.n_iptrig && ((rr.type == KH_DNS_T_A && rr.rdlen == 4 &&
					 kh_index_lookup_ip(&g->idx, 4, pkt + rr.rdata_off, &m)) ||
					(rr.type == KH_DNS_T_AAAA && rr.rdlen == 16 &&
					 kh_index_lookup_ip(&g->idx, 6, pkt + rr.rdata_off, &m)))) {
			/* An IP trigger has no name: explain it with the query name. */
			kh_strlcpy(m.name, p->q.qname.text, sizeof(m.name));
			m.exact = 1;
			m.suffix_off = 0;
			goto blocked;
		}
	}
	if (p->safe) { /* safe search: the client's own question, a CNAME, the target's records */
		uint8_t ss[KH_DNS_EDNS_UDP];
		int n = dns_ss_answer(d, p, pkt, len, &a, ss, sizeof(ss));
		if (n < 0)
			goto servfail;
		dns_reply_client(d, p, ss, (size_t)n);
		return ANSWER_DONE;
	}
	if (!(a.flags & KH_DNS_F_TC) && cacheable &&
	    (a.rcode == KH_DNS_RC_NOERROR || a.rcode == KH_DNS_RC_NXDOMAIN) && nrr > 0)
		dns_cache_put(d, &p->q, pkt, len, ttl_off, nttl,
			      min_ttl == UINT32_MAX ? 0 : min_ttl);
	dns_reply_client(d, p, pkt, len);
	return ANSWER_DONE;

blocked : {
	uint8_t out[SMALL_MAX];
	int n;
	d->st.cname_blocked++;
	n = answer_blocked(d, g, &m, p->pkt, &p->q, &p->client, p->listener >= 0, out, sizeof(out));
	if (n > 0) {
		kh_put_be16(out, p->q.id);
		dns_reply_client(d, p, out, (size_t)n);
	}
	return ANSWER_DONE;
}
servfail:
	dns_reply_error(d, p, KH_DNS_RC_SERVFAIL);
	return ANSWER_DONE;
}

/* ---------------------------------------------------------------- queries */

static int is_canary(const char *name)
{
	return strcmp(name, "use-application-dns.net") == 0 ||
	       strcmp(name, "mask.icloud.com") == 0 || strcmp(name, "mask-h2.icloud.com") == 0;
}

int dns_handle_query(struct kh_dns *d, const uint8_t *pkt, size_t len, const struct kh_addr *client,
		     int listener, int conn, uint8_t *out, size_t cap)
{
	struct kh_dns_query q;
	struct kh_match m;
	struct pending *p;
	int udp = listener >= 0, n, listed;

	d->st.queries++;
	switch (kh_dns_parse_query(pkt, len, &q)) {
	case KH_DNS_PARSE_OK:
		break;
	case KH_DNS_PARSE_DROP:
		d->st.dropped++;
		return 0;
	case KH_DNS_PARSE_NOTIMP:
		d->st.notimp++;
		return kh_dns_build_error(out, cap, pkt, len, &q, KH_DNS_RC_NOTIMP);
	case KH_DNS_PARSE_BADVERS:
		return kh_dns_build_error(out, cap, pkt, len, &q, 16);
	default:
		d->st.formerr++;
		return kh_dns_build_error(out, cap, pkt, len, &q, KH_DNS_RC_FORMERR);
	}
	dns_recent_query(d, client);
	if (len > CONFIG_DNS_QUERY_MAX) {
		d->st.formerr++;
		return kh_dns_build_error(out, cap, pkt, len, &q, KH_DNS_RC_FORMERR);
	}
	if (d->cfg->canaries && q.qname.canon_labels == q.qname.labels && is_canary(q.qname.text)) {
		struct kh_dns_block b = {
			KH_DNS_ACT_NXDOMAIN, d->cfg->blocked_ttl, 0, NULL, NULL, NULL};
		d->st.canary++;
		return kh_dns_build_block(out, cap, pkt, &q, &b, udp);
	}
	if (dns_is_resolver_arpa(&q.qname)) {
		/*
		 * RFC 9462 designated-resolver discovery: never forwarded (6.2), and
		 * no SVCB here, so clients keep this filtering resolver rather than
		 * upgrading to an encrypted one behind it.
		 */
		struct kh_dns_block b = {strcmp(q.qname.text, "_dns.resolver.arpa") == 0 ||
							 strcmp(q.qname.text, "resolver.arpa") == 0
						 ? KH_DNS_ACT_NODATA
						 : KH_DNS_ACT_NXDOMAIN,
					 d->cfg->blocked_ttl,
					 0,
					 NULL,
					 NULL,
					 NULL};
		d->st.resolver_arpa++;
		return kh_dns_build_block(out, cap, pkt, &q, &b, udp);
	}
	listed = d->cur && lookup_name(&d->cur->idx, &q.qname, &m);
	/* the ISP's policy first: what it blocks, no profile lifts */
	if (listed && !d->cur->cat[m.category].household)
		return answer_blocked(d, d->cur, &m, pkt, &q, client, udp, out, cap);
	if (d->prof_cache) {
		struct prof_query pq;
		int cat = listed ? m.category : -1;
		dns_prof_query(d, client, q.qname.text, q.qname.len, cat, &pq);
		if (pq.v.blocked)
			return answer_profile_blocked(d, &pq, cat, pkt, &q, client, udp, out, cap);
		if (pq.safe_target)
			return dns_ss_forward(d, &q, pkt, client, listener, conn, pq.safe_target,
					      out, cap);
	}
	if ((n = dns_cache_get(d, pkt, &q, out, cap)) > 0)
		return n;
	return dns_forward_query(d, &q, pkt, len, client, listener, conn, out, cap, &p);
}

int dns_forward_query(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *pkt,
		      size_t len, const struct kh_addr *client, int listener, int conn,
		      uint8_t *out, size_t cap, struct pending **pp)
{
	struct pending *p = dns_pending_new(d, q, pkt, len, client, listener, conn);

	*pp = NULL;
	if (!p) {
		d->st.servfail++;
		return kh_dns_build_error(out, cap, pkt, len, q, KH_DNS_RC_SERVFAIL);
	}
	if (dns_forward(d, p, -1) < 0) {
		dns_reply_error(d, p, KH_DNS_RC_SERVFAIL);
		dns_pending_free(d, p);
		return 0;
	}
	d->st.forwarded++;
	if (!kh_timer_armed(&d->timeout))
		dns_arm_timeout(d);
	*pp = p;
	return 0;
}

/* What the engine would do with name now, for `khienctl check` (dns_ctl.c formats it). */
void dns_explain(struct kh_dns *d, const char *name, const struct kh_addr *client,
		 struct dns_explain *x)
{
	struct kh_match *m = &x->m;

	memset(x, 0, sizeof(*x));
	x->pq.prof = -1;
	x->pq.v.sched = -1;
	if (client && d->prof_cache) {
		char canon[KH_NAME_MAX + 1];
		size_t n;
		int cat = -1;
		if (d->cur && kh_index_lookup(&d->cur->idx, name, strlen(name), m) == 0 &&
		    m->verdict == KH_BLOCKED) {
			if (!d->cur->cat[m->category].household)
				goto isp; /* the ISP's block: the profile does not get a say */
			cat = m->category;
		}
		if (kh_name_canon(name, strlen(name), canon, &n, NULL) == KH_NAME_OK)
			dns_prof_query(d, client, canon, n, cat, &x->pq);
		memset(m, 0, sizeof(*m));
	}
isp:
	if (d->cfg->canaries && is_canary(name)) {
		x->kind = DNS_X_CANARY;
		x->action = KH_DNS_ACT_NXDOMAIN;
		return;
	}
	if (!d->cur) {
		x->kind = DNS_X_NO_INDEX;
		return;
	}
	if (kh_index_lookup(&d->cur->idx, name, strlen(name), m) < 0) {
		x->kind = DNS_X_INVALID;
		return;
	}
	if (m->verdict == KH_ALLOWED) {
		x->kind = DNS_X_UNLISTED;
		return;
	}
	dns_rule_text(m, x->rule, sizeof(x->rule));
	x->source = kh_index_source_name(&d->cur->idx, m->source);
	if (m->verdict != KH_BLOCKED) {
		x->kind = DNS_X_ALLOWLISTED;
		return;
	}
	x->category = kh_index_category_name(&d->cur->idx, m->category);
	x->household = d->cur->cat[m->category].household;
	if (x->household && !x->pq.v.blocked) {
		x->kind = DNS_X_HOUSEHOLD;
		return;
	}
	x->kind = DNS_X_BLOCKED;
	x->action = block_action(d->cur, m);
	x->ede = d->cur->cat[m->category].ede;
	x->event = d->cur->cat[m->category].event;
}

/* ---------------------------------------------------------------- recent */

static struct dns_seen *seen_slot(struct kh_dns *d, const struct kh_addr *client)
{
	struct dns_seen *s = &d->recent->seen[dns_client_bucket(d, client) % DNS_SEEN];
	size_t n = client->family == KH_AF_INET6 ? 16 : 4;

	if (s->ip.family != client->family || memcmp(s->ip.ip, client->ip, n) != 0) {
		memset(s, 0, sizeof(*s));
		s->ip.family = client->family;
		memcpy(s->ip.ip, client->ip, n);
	}
	return s;
}

void dns_recent_query(struct kh_dns *d, const struct kh_addr *client)
{
	struct dns_seen *s;

	if (!IS_ENABLED(CONFIG_WEB) || !d->recent || !client)
		return;
	s = seen_slot(d, client);
	s->queries++;
	s->last_ms = kh_time_mono_ms();
}

void dns_recent_blocked(struct kh_dns *d, unsigned counter, const struct kh_addr *client)
{
	struct dns_recent *r = d->recent;
	uint32_t h;
	unsigned row;

	if (!IS_ENABLED(CONFIG_WEB) || !r)
		return;
	h = (uint32_t)(kh_time_mono_ms() / 3600000u);
	row = h % DNS_HOURS;
	if (r->hour[row] != h) {
		memset(r->n[row], 0, sizeof(r->n[row]));
		r->hour[row] = h;
	}
	r->n[row][KH_MIN(counter, DNS_HOUR_CATS - 1u)]++;
	if (client)
		seen_slot(d, client)->blocked++;
}

/* ---------------------------------------------------------------- lifecycle */

int kh_dns_new(struct kh_loop *loop, const struct kh_agent_config *cfg, const uint8_t key[32],
	       struct kh_dns **out, const char **why)
{
	struct kh_dns *d = calloc(1, sizeof(*d));
	int err = -ENOMEM;

	*why = "out of memory";
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->cfg = cfg;
	d->started = kh_time_mono_ms();
	memcpy(d->key, key, sizeof(d->key));
	if (dns_upstream_init(d) < 0 || dns_serve_init(d) < 0 || dns_cache_init(d) < 0 ||
	    dns_prof_init(d) < 0)
		goto fail;
	d->prof_counter = counter_slot(d, "profile");
	if (IS_ENABLED(CONFIG_WEB) && !(d->recent = calloc(1, sizeof(*d->recent))))
		goto fail;
	err = kh_drbg_init(&d->rng, "khien-dns");
	if (err < 0) {
		*why = "no entropy for the random generator";
		goto fail;
	}
	d->client_salt = dns_rnd32(d);
	for (unsigned i = 0; i < cfg->nupstream; i++)
		d->up[d->nup++].addr = cfg->upstream[i];
	if ((err = dns_serve_listen(d, why)) < 0)
		goto fail;
	if (d->nup && (err = dns_upstream_open(d)) < 0) {
		*why = "cannot open upstream sockets";
		goto fail;
	}
	*out = d;
	*why = "ok";
	return 0;
fail:
	kh_dns_free(d);
	return err;
}

void kh_dns_free(struct kh_dns *d)
{
	if (!d)
		return;
	dns_serve_free(d);
	dns_upstream_free(d);
	dns_cache_free(d);
	dns_prof_free(d);
	gen_free(d->cur);
	free(d->recent);
	kh_drbg_free(&d->rng);
	kh_memzero(d->key, sizeof(d->key));
	free(d);
}

int kh_dns_has_index(const struct kh_dns *d)
{
	return d->cur != NULL;
}

int kh_dns_check_invariants(const struct kh_dns *d, const char **why)
{
	if (dns_upstream_check(d, why) < 0 || dns_serve_check(d, why) < 0)
		return -EFAULT;
	return 0;
}
