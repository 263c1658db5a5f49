/* SPDX-License-Identifier: MIT */
/*
 * DNS filter engine (see dns.h).
 *
 * Query path: UDP queries are read and answered in batches; each is parsed
 * (dns_wire.c limits), checked against the canaries and the index, served
 * from the cache, or forwarded. Forwarded queries live in a fixed table of
 * pending slots; all of them share one timeout, so they sit in one FIFO
 * ordered by deadline and a single loop timer serves them all.
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

#include <cjson/cJSON.h>

#include "agent/dns.h"
#include "agent/dns_wire.h"
#include "crypto/crypto.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/fnv.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/time.h"
#include "policy/index.h"

#define BATCH CONFIG_DNS_RECV_BATCH /* datagrams per system call */
#define DRAIN_BATCHES 8		    /* batches read per wake-up before polling again */
#define UDP_ANSWER_MAX 4096	    /* largest answer read from an upstream over UDP */
#define SMALL_MAX 512		    /* answers built locally or served from the cache */
#define SOCKET_USES 256		    /* upstream socket replaced after this many queries */
#define MAX_ATTEMPTS 2		    /* tries per forwarded query (second on another upstream) */
#define DOWN_AFTER 3		    /* consecutive timeouts before an upstream is "down" */
#define DOWN_MS 5000		    /* first retry of a down upstream after this long */
#define ID_HASH 1024
#define CLIENT_BUCKETS 1024 /* pending queries counted per client, by salted hash of its address */

struct idx_gen {
	struct kh_fs_map map;
	struct kh_index idx;
	char path[KH_CFG_PATH_MAX];
	uint64_t loaded_at;
	/* Policy resolved per category id of this index. */
	struct {
		uint8_t action, event, counter;
		uint16_t ede;
	} cat[256];
};

struct counter {
	char name[KH_CAT_NAME_MAX + 1];
	uint64_t blocked;
};

struct upstream {
	struct kh_addr addr;
	uint64_t sent, answered, timeouts, bad;
	unsigned fails;
	uint64_t down_until;
	unsigned down_ms;
	double rtt_ms;
};

struct upsock {
	kh_sock fd;
	unsigned uses, pending;
};

struct pending {
	struct pending *fifo_prev, *fifo_next; /* by deadline */
	struct pending *hash_next;	       /* by (socket, id) */
	int used;
	uint16_t up_id;
	int sock;    /* upsock index, -1 when over TCP */
	unsigned up; /* upstream index */
	unsigned attempts;
	uint64_t deadline, sent_at;
	/* the client */
	struct kh_addr client;
	int listener; /* UDP listener index, or -1 for TCP */
	int conn;     /* TCP connection index */
	uint32_t conn_gen;
	uint64_t gen_seq;     /* index generation its name was checked on (st.reloads) */
	uint16_t cbucket;     /* its client's bucket in client_pending */
	struct up_tcp *fetch; /* the upstream TCP fetch working for it, if any */
	struct kh_dns_query q;
	uint16_t pkt_len;
	uint8_t pkt[CONFIG_DNS_QUERY_MAX];
};

struct tcp_conn {
	int fd;
	int used;
	uint32_t gen;
	struct kh_addr peer;
	uint64_t active;    /* accepted, or the last complete query */
	uint64_t msg_start; /* first byte of a query not yet complete, 0 if none */
	uint8_t *rx, *tx;
	size_t rx_len, tx_len, tx_off;
	struct kh_timer idle;
	struct kh_dns *d;
	int idx;
};

/* Upstream TCP fetch after a truncated UDP answer for a TCP client. */
struct up_tcp {
	int fd, used;
	struct pending *p;
	uint8_t *buf;
	size_t have, sent;
	uint8_t out[2 + CONFIG_DNS_QUERY_MAX];
	size_t out_len;
};

struct cache_entry {
	uint64_t expires, stored;
	uint32_t hash;
	uint16_t qtype, qclass, len;
	uint8_t do_bit, nttl, used;
	uint16_t ttl_off[24];
	char name[KH_NAME_MAX + 1];
	uint8_t data[CONFIG_DNS_CACHE_ENTRIES ? CONFIG_DNS_CACHE_ENTRY_MAX : 1];
};

struct listener {
	kh_sock udp, tcp;
	struct kh_dns *d;
	int idx;
};

struct kh_dns {
	struct kh_loop *loop;
	const struct kh_agent_config *cfg;
	uint8_t key[32];
	struct kh_drbg rng;
	uint8_t rnd[256];
	unsigned rnd_left;
	uint64_t started;

	struct listener lst[CONFIG_DNS_MAX_LISTENERS];
	unsigned nlst;
	struct upstream up[CONFIG_DNS_MAX_UPSTREAMS];
	unsigned nup;
	struct upsock socks[CONFIG_DNS_UPSTREAM_SOCKETS];

	struct pending *pend; /* CONFIG_DNS_MAX_INFLIGHT */
	struct pending *free_list;
	struct pending fifo; /* sentinel */
	struct pending *id_hash[ID_HASH];
	unsigned inflight;
	struct kh_timer timeout;
	/* Pending queries per client (a shared count when two addresses collide). */
	uint16_t client_pending[CLIENT_BUCKETS];
	uint32_t client_salt;
	/* UDP rate limit: a token bucket per client bucket (tokens, last refill). */
	uint16_t rrl_tokens[CLIENT_BUCKETS];
	uint64_t rrl_stamp[CLIENT_BUCKETS];

	struct tcp_conn *conns; /* CONFIG_DNS_TCP_MAX_CLIENTS */
	struct up_tcp *utcp;

	struct cache_entry *cache;
	unsigned cache_n;

	struct idx_gen *cur;
	struct counter counters[2 * CONFIG_INDEX_MAX_CATEGORIES];
	unsigned ncounters;

	kh_dns_event_fn ev_fn; /* the event owner (agent/event.h) keeps and reports them */
	void *ev_arg;

	struct {
		uint64_t queries, blocked, forwarded, cached, canary, servfail, formerr, notimp,
			dropped, refused_full, answered_local, cname_blocked, tcp_queries, spoofed,
			reloads, tcp_evicted, tcp_timeouts, client_share, truncated, not_allowed,
			rate_limited;
	} st;

	/* UDP answers built during one receive batch */
	struct kh_dgram out[BATCH];
	uint8_t outbuf[BATCH][SMALL_MAX];
	unsigned nout;
};

/* ---------------------------------------------------------------- random */

static int rnd_bytes(struct kh_dns *d, void *p, size_t n)
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

static uint32_t rnd32(struct kh_dns *d)
{
	uint32_t v = 0;
	rnd_bytes(d, &v, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------- index */

static void gen_free(struct idx_gen *g)
{
	if (g) {
		kh_fs_unmap(&g->map);
		free(g);
	}
}

static const struct kh_cat_policy *cat_policy(const struct kh_agent_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->ncats; i++)
		if (strcmp(cfg->cats[i].name, name) == 0)
			return &cfg->cats[i];
	return NULL;
}

static int is_security_category(const char *n)
{
	static const char *const sec[] = {
		"malware", "phishing",	 "botnet",	  "threat",   "c2",	 "scam",
		"fraud",   "ransomware", "cryptojacking", "security", "spyware", "exploit"};
	for (size_t i = 0; i < KH_ARRAY_SIZE(sec); i++)
		if (strcmp(n, sec[i]) == 0)
			return 1;
	return 0;
}

static int is_authority_category(const char *n)
{
	return strcmp(n, "authority") == 0 || strcmp(n, "government") == 0 ||
	       strcmp(n, "court") == 0 || strcmp(n, "legal") == 0;
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

static void cache_flush(struct kh_dns *d)
{
	for (unsigned i = 0; i < d->cache_n; i++)
		d->cache[i].used = 0;
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
		const struct kh_cat_policy *p = cat_policy(d->cfg, name);
		int sec = is_security_category(name), auth = is_authority_category(name);

		g->cat[c].action =
			(uint8_t)(p && p->action >= 0 ? p->action : d->cfg->default_action);
		g->cat[c].ede = (uint16_t)(p && p->ede >= 0 ? p->ede
					   : sec	    ? KH_EDE_BLOCKED
					   : auth	    ? KH_EDE_CENSORED
							    : KH_EDE_FILTERED);
		g->cat[c].event = (uint8_t)(p && p->event >= 0 ? p->event : sec);
		g->cat[c].counter = (uint8_t)counter_slot(d, name);
	}
	kh_strlcpy(g->path, path, sizeof(g->path));
	g->loaded_at = (uint64_t)kh_time_wall();
	gen_free(d->cur); /* answers in flight are inspected with the new one */
	d->cur = g;
	/* Answers cached under the old lists must not outlive them. */
	cache_flush(d);
	d->st.reloads++;
	*why = "ok";
	return 0;
}

/* ---------------------------------------------------------------- verdicts */

struct verdict {
	int blocked;
	struct kh_match m;
	const char *matched; /* the name that matched (query, CNAME target, owner) */
};

static int lookup_name(const struct kh_index *idx, const struct kh_dns_name *n, struct kh_match *m)
{
	if (n->canon_labels == 0)
		return 0;
	if (kh_index_lookup_ex(idx, n->text, n->len,
			       n->canon_labels < n->labels ? KH_LOOKUP_SUBDOMAIN : 0, m) < 0)
		return 0;
	return m->verdict == KH_BLOCKED;
}

static void client_id(struct kh_dns *d, const struct kh_addr *a, char *out, size_t cap)
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

static void rule_text(const struct kh_match *m, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", m->exact ? "" : "*.", m->name + m->suffix_off);
}

static void record_event(struct kh_dns *d, struct idx_gen *g, const struct kh_match *m,
			 const char *qname, uint16_t qtype, const struct kh_addr *client)
{
	char tb[16], rule[KH_NAME_MAX + 4], cid[KH_ADDR_STRLEN];
	struct kh_dns_event x;

	if (!d->ev_fn)
		return;
	rule_text(m, rule, sizeof(rule));
	client_id(d, client, cid, sizeof(cid));
	x = (struct kh_dns_event){
		.time = kh_time_wall(),
		.name = qname,
		.qtype = kh_dns_type_name(qtype, tb, sizeof(tb)),
		.category = kh_index_category_name(&g->idx, m->category),
		.rule = rule,
		.source = kh_index_source_name(&g->idx, m->source),
		.client = cid,
	};
	d->ev_fn(d->ev_arg, &x);
}

void kh_dns_set_event_hook(struct kh_dns *d, kh_dns_event_fn fn, void *arg)
{
	d->ev_fn = fn;
	d->ev_arg = arg;
}

/* Build the blocked answer for verdict v; counts and records the event. */
static int answer_blocked(struct kh_dns *d, struct idx_gen *g, const struct kh_match *m,
			  const uint8_t *pkt, const struct kh_dns_query *q,
			  const struct kh_addr *client, int udp, uint8_t *out, size_t cap)
{
	struct kh_dns_block b;
	char text[160], rule[KH_NAME_MAX + 4];
	unsigned c = m->category;

	rule_text(m, rule, sizeof(rule));
	snprintf(text, sizeof(text), "khien: %.32s (rule %.100s)",
		 kh_index_category_name(&g->idx, c), rule);
	b.action = (enum kh_dns_action)g->cat[c].action;
	/* An RPZ rule that names its own action overrides the category's. */
	if (m->action == KH_ACT_NXDOMAIN)
		b.action = KH_DNS_ACT_NXDOMAIN;
	else if (m->action == KH_ACT_NODATA)
		b.action = KH_DNS_ACT_NODATA;
	else if (m->action == KH_ACT_DROP)
		b.action = KH_DNS_ACT_DROP;
	b.ttl = d->cfg->blocked_ttl;
	b.ede = g->cat[c].ede;
	b.ede_text = text;
	b.page4 = d->cfg->has_page4 ? d->cfg->page4 : NULL;
	b.page6 = d->cfg->has_page6 ? d->cfg->page6 : NULL;
	d->st.blocked++;
	d->counters[g->cat[c].counter].blocked++;
	if (g->cat[c].event)
		record_event(d, g, m, q->qname.text, q->qtype, client);
	return kh_dns_build_block(out, cap, pkt, q, &b, udp);
}

/* ---------------------------------------------------------------- cache */

static uint32_t name_hash(const char *s, uint16_t qtype, uint16_t qclass, int do_bit)
{
	return kh_fnv1a32(
		KH_FNV32_BASIS ^ qtype ^ ((uint32_t)qclass << 16) ^ (uint32_t)do_bit << 31, s);
}

static struct cache_entry *cache_slot(struct kh_dns *d, uint32_t h)
{
	return d->cache_n ? &d->cache[h % d->cache_n] : NULL;
}

static int cache_get(struct kh_dns *d, const uint8_t *pkt, const struct kh_dns_query *q,
		     uint8_t *out, size_t cap)
{
	uint32_t h;
	struct cache_entry *e;
	uint64_t now;
	uint32_t age;

	if (!d->cfg->cache || !d->cache_n || q->qname.canon_labels != q->qname.labels)
		return 0;
	h = name_hash(q->qname.text, q->qtype, q->qclass, q->do_bit);
	e = cache_slot(d, h);
	now = kh_time_mono_ms();
	if (!e->used || e->hash != h || e->qtype != q->qtype || e->qclass != q->qclass ||
	    e->do_bit != q->do_bit || strcmp(e->name, q->qname.text) != 0)
		return 0;
	if (now >= e->expires) {
		e->used = 0;
		return 0;
	}
	if (e->len > cap || e->len < q->question_end)
		return 0;
	memcpy(out, e->data, e->len);
	kh_put_be16(out, q->id);
	/* The client's question, with its letter case; the RD and CD bits it sent. */
	memcpy(out + KH_DNS_HDR_LEN, pkt + KH_DNS_HDR_LEN, q->question_end - KH_DNS_HDR_LEN);
	age = (uint32_t)((now - e->stored) / 1000);
	for (unsigned i = 0; i < e->nttl; i++) {
		uint8_t *t = out + e->ttl_off[i];
		uint32_t ttl =
			(uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
		ttl = ttl > age ? ttl - age : 0;
		t[0] = (uint8_t)(ttl >> 24);
		t[1] = (uint8_t)(ttl >> 16);
		t[2] = (uint8_t)(ttl >> 8);
		t[3] = (uint8_t)ttl;
	}
	d->st.cached++;
	return (int)e->len;
}

static void cache_put(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *ans,
		      size_t len, const uint16_t *ttl_off, unsigned nttl, uint32_t min_ttl)
{
	struct cache_entry *e;
	uint32_t h;

	if (!d->cfg->cache || !d->cache_n || len > sizeof(e->data) ||
	    nttl > KH_ARRAY_SIZE(e->ttl_off) || min_ttl == 0 ||
	    q->qname.canon_labels != q->qname.labels)
		return;
	h = name_hash(q->qname.text, q->qtype, q->qclass, q->do_bit);
	e = cache_slot(d, h);
	e->used = 1;
	e->hash = h;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->do_bit = (uint8_t)q->do_bit;
	e->len = (uint16_t)len;
	e->nttl = (uint8_t)nttl;
	memcpy(e->ttl_off, ttl_off, nttl * sizeof(*ttl_off));
	memcpy(e->name, q->qname.text, q->qname.len + 1);
	memcpy(e->data, ans, len);
	e->stored = kh_time_mono_ms();
	e->expires = e->stored + (uint64_t)KH_MIN(min_ttl, 3600u) * 1000;
}

/* ---------------------------------------------------------------- upstreams */

static unsigned pick_upstream(struct kh_dns *d, int avoid)
{
	uint64_t now = kh_time_mono_ms();
	unsigned best = 0;

	for (unsigned i = 0; i < d->nup; i++)
		if ((int)i != avoid && d->up[i].down_until <= now)
			return i;
	/* Everything is down (or the only other choice is the one that failed). */
	for (unsigned i = 1; i < d->nup; i++)
		if (d->up[i].down_until < d->up[best].down_until)
			best = i;
	if ((int)best == avoid && d->nup > 1)
		best = (best + 1) % d->nup;
	return best;
}

static void upstream_ok(struct upstream *u, uint64_t rtt)
{
	u->answered++;
	u->fails = 0;
	u->down_until = 0;
	u->down_ms = 0;
	u->rtt_ms = u->rtt_ms ? 0.8 * u->rtt_ms + 0.2 * (double)rtt : (double)rtt;
}

static void upstream_failed(struct upstream *u)
{
	u->timeouts++;
	if (++u->fails >= DOWN_AFTER) {
		u->down_ms = u->down_ms ? KH_MIN(u->down_ms * 2, 60000u) : DOWN_MS;
		u->down_until = kh_time_mono_ms() + u->down_ms;
	}
}

static void upstream_sock_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg);

static int upsock_open(struct kh_dns *d, unsigned i)
{
	struct kh_addr any;
	int err;

	memset(&any, 0, sizeof(any));
	/* Family of the first upstream; mixed-family setups use the v4/v6 of each (below). */
	any.family = d->up[0].addr.family;
	err = kh_net_udp_open(&any, &d->socks[i].fd);
	if (err < 0)
		return err;
	d->socks[i].uses = 0;
	d->socks[i].pending = 0;
	err = kh_loop_fd_add(d->loop, d->socks[i].fd, KH_EV_READ, upstream_sock_cb, d);
	if (err < 0) {
		kh_net_close(d->socks[i].fd);
		d->socks[i].fd = -1;
	}
	return err;
}

static void upsock_maybe_rotate(struct kh_dns *d, int i)
{
	struct upsock *s = &d->socks[i];

	if (s->uses < SOCKET_USES || s->pending)
		return;
	kh_loop_fd_del(d->loop, s->fd);
	kh_net_close(s->fd);
	s->fd = -1;
	if (upsock_open(d, (unsigned)i) < 0)
		log_warn("dns: cannot reopen an upstream socket");
}

/* ---------------------------------------------------------------- pending */

static unsigned id_bucket(int sock, uint16_t id)
{
	return ((unsigned)sock * 2654435761u ^ id) % ID_HASH;
}

static void fifo_unlink(struct pending *p)
{
	p->fifo_prev->fifo_next = p->fifo_next;
	p->fifo_next->fifo_prev = p->fifo_prev;
	p->fifo_prev = p->fifo_next = p;
}

static void fifo_append(struct kh_dns *d, struct pending *p)
{
	p->fifo_prev = d->fifo.fifo_prev;
	p->fifo_next = &d->fifo;
	d->fifo.fifo_prev->fifo_next = p;
	d->fifo.fifo_prev = p;
}

static void hash_unlink(struct kh_dns *d, struct pending *p)
{
	struct pending **pp;

	if (p->sock < 0)
		return;
	for (pp = &d->id_hash[id_bucket(p->sock, p->up_id)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == p) {
			*pp = p->hash_next;
			break;
		}
	d->socks[p->sock].pending--;
	upsock_maybe_rotate(d, p->sock);
	p->sock = -1;
}

static struct pending *hash_find(struct kh_dns *d, int sock, uint16_t id)
{
	for (struct pending *p = d->id_hash[id_bucket(sock, id)]; p; p = p->hash_next)
		if (p->sock == sock && p->up_id == id)
			return p;
	return NULL;
}

static void arm_timeout(struct kh_dns *d)
{
	uint64_t now = kh_time_mono_ms();
	struct pending *head = d->fifo.fifo_next;

	if (head == &d->fifo) {
		kh_timer_cancel(d->loop, &d->timeout);
		return;
	}
	kh_timer_arm(d->loop, &d->timeout, head->deadline > now ? head->deadline - now : 0);
}

static void up_tcp_close(struct kh_dns *d, struct up_tcp *u);

/*
 * The one way a pending query ends, whoever ends it (answer, timeout, a
 * failed or finished TCP fetch): the slot owns its TCP fetch, so releasing
 * the slot closes the fetch and no late event can reach a reused slot.
 */
static void pending_free(struct kh_dns *d, struct pending *p)
{
	if (!p->used) {
		log_error("dns: bug: a pending query released twice (ignored)");
		return;
	}
	if (p->fetch)
		up_tcp_close(d, p->fetch);
	fifo_unlink(p);
	hash_unlink(d, p);
	p->used = 0;
	p->hash_next = d->free_list;
	d->free_list = p;
	d->inflight--;
	d->client_pending[p->cbucket]--;
}

static void tcp_send(struct kh_dns *d, int ci, uint32_t gen, const uint8_t *msg, size_t len);

/* The largest UDP answer the client of q takes: its EDNS size, else 512 (RFC 1035). */
static size_t udp_limit(const struct kh_dns_query *q)
{
	return q->edns ? KH_MAX((size_t)q->edns_udp, (size_t)KH_DNS_UDP_MIN) : KH_DNS_UDP_MIN;
}

/*
 * Deliver an answer to the client of p (UDP or TCP). A UDP answer larger
 * than the client takes becomes the question alone with TC set, so the
 * client retries over TCP (and a forged query cannot turn a small packet
 * into a large one sent to someone else).
 */
static void reply_client(struct kh_dns *d, struct pending *p, uint8_t *msg, size_t len)
{
	if (len < KH_DNS_HDR_LEN)
		return;
	kh_put_be16(msg, p->q.id);
	if (p->listener < 0) {
		tcp_send(d, p->conn, p->conn_gen, msg, len);
		return;
	}
	if (len > udp_limit(&p->q)) {
		uint8_t tc[SMALL_MAX];
		int n = kh_dns_build_error(tc, sizeof(tc), p->pkt, p->pkt_len, &p->q,
					   kh_be16(msg + 2) & 0xf);
		if (n < KH_DNS_HDR_LEN)
			return;
		kh_put_be16(tc, p->q.id);
		kh_put_be16(tc + 2, (uint16_t)(kh_be16(tc + 2) | KH_DNS_F_TC));
		d->st.truncated++;
		kh_net_sendto(d->lst[p->listener].udp, tc, (size_t)n, &p->client);
		return;
	}
	kh_net_sendto(d->lst[p->listener].udp, msg, len, &p->client);
}

static void reply_error(struct kh_dns *d, struct pending *p, int rcode)
{
	uint8_t buf[SMALL_MAX];
	int n = kh_dns_build_error(buf, sizeof(buf), p->pkt, p->pkt_len, &p->q, rcode);

	if (rcode == KH_DNS_RC_SERVFAIL)
		d->st.servfail++;
	if (n > 0)
		reply_client(d, p, buf, (size_t)n);
}

/* Send (or resend) p to an upstream over UDP. */
static int forward(struct kh_dns *d, struct pending *p, int avoid)
{
	unsigned up = pick_upstream(d, avoid);
	int si, tries = 0;
	uint16_t id;

	do {
		si = (int)(rnd32(d) % CONFIG_DNS_UPSTREAM_SOCKETS);
	} while (d->socks[si].fd < 0 && ++tries < 8);
	if (d->socks[si].fd < 0)
		return -EIO;
	do {
		rnd_bytes(d, &id, sizeof(id));
	} while (hash_find(d, si, id));
	hash_unlink(d, p);
	p->sock = si;
	p->up_id = id;
	p->up = up;
	p->hash_next = d->id_hash[id_bucket(si, id)];
	d->id_hash[id_bucket(si, id)] = p;
	d->socks[si].pending++;
	d->socks[si].uses++;
	kh_put_be16(p->pkt, id);
	p->attempts++;
	p->sent_at = kh_time_mono_ms();
	p->deadline = p->sent_at + d->cfg->timeout_ms;
	fifo_unlink(p);
	fifo_append(d, p);
	d->up[up].sent++;
	if (kh_net_sendto(d->socks[si].fd, p->pkt, p->pkt_len, &d->up[up].addr) < 0)
		d->up[up].bad++; /* counted; the timeout retries elsewhere */
	return 0;
}

static void on_timeout(struct kh_loop *loop, void *arg)
{
	struct kh_dns *d = arg;
	uint64_t now = kh_time_mono_ms();

	(void)loop;
	while (d->fifo.fifo_next != &d->fifo && d->fifo.fifo_next->deadline <= now) {
		struct pending *p = d->fifo.fifo_next;
		upstream_failed(&d->up[p->up]);
		if (p->attempts < MAX_ATTEMPTS && p->sock >= 0 && forward(d, p, (int)p->up) == 0)
			continue;
		reply_error(d, p, KH_DNS_RC_SERVFAIL);
		pending_free(d, p);
	}
	arm_timeout(d);
}

/* ---------------------------------------------------------------- answers */

static int up_tcp_start(struct kh_dns *d, struct pending *p);

/* What became of an upstream answer. */
enum answer_fate {
	ANSWER_IGNORED = 0, /* not an answer to this query: keep waiting */
	ANSWER_DONE,	    /* the client was answered: free the pending query */
	ANSWER_TO_TCP,	    /* truncated: the upstream TCP fetch now owns the query */
};

/* Check an upstream answer for p and answer the client if it is the one. */
static enum answer_fate handle_answer(struct kh_dns *d, struct pending *p, uint8_t *pkt, size_t len,
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
	upstream_ok(&d->up[p->up], kh_time_mono_ms() - p->sent_at);
	if ((a.flags & KH_DNS_F_TC) && !tcp && p->listener < 0 && up_tcp_start(d, p) == 0)
		return ANSWER_TO_TCP; /* a TCP client gets the whole answer: fetch it over TCP */

	/* Lists reloaded since the query was checked: its name may be blocked now. */
	if (g && p->gen_seq != d->st.reloads && lookup_name(&g->idx, &p->q.qname, &m))
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
		if (lookup_name(&g->idx, &rr.owner, &m) ||
		    (rr.target.len && lookup_name(&g->idx, &rr.target, &m)))
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
	if (!(a.flags & KH_DNS_F_TC) && cacheable &&
	    (a.rcode == KH_DNS_RC_NOERROR || a.rcode == KH_DNS_RC_NXDOMAIN) && nrr > 0)
		cache_put(d, &p->q, pkt, len, ttl_off, nttl, min_ttl == UINT32_MAX ? 0 : min_ttl);
	reply_client(d, p, pkt, len);
	return ANSWER_DONE;

blocked : {
	uint8_t out[SMALL_MAX];
	int n;
	d->st.cname_blocked++;
	n = answer_blocked(d, g, &m, p->pkt, &p->q, &p->client, p->listener >= 0, out, sizeof(out));
	if (n > 0) {
		kh_put_be16(out, p->q.id);
		reply_client(d, p, out, (size_t)n);
	}
	return ANSWER_DONE;
}
servfail:
	reply_error(d, p, KH_DNS_RC_SERVFAIL);
	return ANSWER_DONE;
}

static void upstream_sock_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct kh_dns *d = arg;
	static uint8_t bufs[BATCH][UDP_ANSWER_MAX];
	struct kh_dgram v[BATCH];
	int si = -1, n;

	(void)loop;
	(void)ev;
	for (int i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (d->socks[i].fd == fd)
			si = i;
	if (si < 0)
		return;
	for (int i = 0; i < BATCH; i++)
		v[i] = (struct kh_dgram){bufs[i], sizeof(bufs[i]), 0, {0}};
	for (int round = 0; round < DRAIN_BATCHES; round++) {
		n = kh_net_recv_batch(fd, v, BATCH);
		for (int i = 0; i < n; i++) {
			struct pending *p;
			if (v[i].len < KH_DNS_HDR_LEN) {
				d->st.spoofed++;
				continue;
			}
			p = hash_find(d, si, kh_be16(v[i].buf));
			/* Right socket and ID, but it must also come from where the query went. */
			if (!p || !kh_addr_equal(&v[i].peer, &d->up[p->up].addr)) {
				d->st.spoofed++;
				continue;
			}
			if (handle_answer(d, p, v[i].buf, v[i].len, 0) == ANSWER_DONE)
				pending_free(d, p);
			if (d->socks[si].fd != fd)
				goto out; /* the socket was rotated */
		}
		if (n < BATCH)
			break;
	}
out:
	arm_timeout(d);
}

/* ---------------------------------------------------------------- upstream TCP */

static void up_tcp_close(struct kh_dns *d, struct up_tcp *u)
{
	if (u->p)
		u->p->fetch = NULL;
	kh_loop_fd_del(d->loop, u->fd);
	kh_net_close(u->fd);
	u->used = 0;
	u->p = NULL;
}

static void up_tcp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct kh_dns *d = arg;
	struct up_tcp *u = NULL;
	int n;

	(void)loop;
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++)
		if (d->utcp[i].used && d->utcp[i].fd == fd)
			u = &d->utcp[i];
	if (!u)
		return;
	if ((ev & KH_EV_WRITE) && u->sent < u->out_len) {
		n = kh_net_send(fd, u->out + u->sent, u->out_len - u->sent);
		if (n < 0 && n != -EAGAIN)
			goto fail;
		if (n > 0)
			u->sent += (size_t)n;
		if (u->sent == u->out_len)
			kh_loop_fd_mod(d->loop, fd, KH_EV_READ);
		return;
	}
	if (!(ev & KH_EV_READ))
		return;
	n = kh_net_recv(fd, u->buf + u->have, CONFIG_DNS_TCP_MSG_MAX + 2 - u->have);
	if (n == -EAGAIN)
		return;
	if (n <= 0)
		goto fail;
	u->have += (size_t)n;
	if (u->have >= 2) {
		size_t want = kh_be16(u->buf);
		if (want + 2 > CONFIG_DNS_TCP_MSG_MAX + 2)
			goto fail;
		if (u->have >= want + 2) {
			struct pending *p = u->p;
			/* The connection is ours alone: its ID is the query's. */
			kh_put_be16(u->buf + 2, p->up_id);
			if (handle_answer(d, p, u->buf + 2, want, 1) == ANSWER_DONE) {
				pending_free(d, p); /* closes u */
				arm_timeout(d);
				return;
			}
			goto fail;
		}
	}
	return;
fail : {
	struct pending *p = u->p;
	reply_error(d, p, KH_DNS_RC_SERVFAIL);
	pending_free(d, p); /* closes u */
	arm_timeout(d);
}
}

static int up_tcp_start(struct kh_dns *d, struct pending *p)
{
	struct up_tcp *u = NULL;

	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++)
		if (!d->utcp[i].used)
			u = &d->utcp[i];
	if (!u || kh_net_tcp_connect(&d->up[p->up].addr, &u->fd) < 0)
		return -EAGAIN;
	if (kh_loop_fd_add(d->loop, u->fd, KH_EV_WRITE, up_tcp_cb, d) < 0) {
		kh_net_close(u->fd);
		return -EAGAIN;
	}
	u->used = 1;
	u->p = p;
	p->fetch = u;
	u->have = u->sent = 0;
	kh_put_be16(u->out, p->pkt_len);
	memcpy(u->out + 2, p->pkt, p->pkt_len);
	u->out_len = 2 + (size_t)p->pkt_len;
	/* Off the UDP socket's books: the answer now comes over this connection. */
	hash_unlink(d, p);
	p->deadline = kh_time_mono_ms() + d->cfg->timeout_ms;
	fifo_unlink(p);
	fifo_append(d, p);
	p->attempts = MAX_ATTEMPTS; /* the timeout answers SERVFAIL, no UDP retry */
	return 0;
}

/* ---------------------------------------------------------------- queries */

static int is_canary(const char *name)
{
	return strcmp(name, "use-application-dns.net") == 0 ||
	       strcmp(name, "mask.icloud.com") == 0 || strcmp(name, "mask-h2.icloud.com") == 0;
}

/* 1 if peer is on one of the client networks served (dns.allow_clients). */
static int client_allowed(const struct kh_dns *d, const struct kh_addr *peer)
{
	const struct kh_agent_config *cfg = d->cfg;

	for (unsigned i = 0; i < cfg->nallow; i++)
		if (kh_cidr_match(&cfg->allow[i], peer))
			return 1;
	/* By default, also the subnet a listen address sits in (its LAN, approximately). */
	for (unsigned i = 0; !cfg->allow_set && i < cfg->nlisten; i++) {
		struct kh_cidr lan = {cfg->listen[i],
				      cfg->listen[i].family == KH_AF_INET6 ? 64 : 24};
		if (kh_cidr_match(&lan, peer))
			return 1;
	}
	return 0;
}

/* The client's bucket: a hash of its address (not its port), salted per start. */
static unsigned client_bucket(const struct kh_dns *d, const struct kh_addr *a)
{
	uint32_t h = d->client_salt;

	for (int i = 0; i < (a->family == KH_AF_INET6 ? 16 : 4); i++)
		h = (h ^ a->ip[i]) * 16777619u;
	return (h ^ h >> 16) % CLIENT_BUCKETS;
}

/* 127.0.0.1 or ::1: the router's own processes (status probes, local tools). */
static int is_self(const struct kh_addr *a)
{
	static const uint8_t v6[16] = {[15] = 1};
	return a->family == KH_AF_INET6
		       ? memcmp(a->ip, v6, 16) == 0
		       : a->ip[0] == 127 && !a->ip[1] && !a->ip[2] && a->ip[3] == 1;
}

/*
 * One UDP query's token from its client's bucket: rate_limit a second, as
 * many in a burst. Over it, queries are dropped unanswered, so a forged
 * source address cannot aim khiend's answers at a victim at any rate. The
 * router's own address is not limited.
 */
static int rate_ok(struct kh_dns *d, const struct kh_addr *client)
{
	unsigned b = client_bucket(d, client), rate = d->cfg->rate_limit;
	uint64_t now = kh_time_mono_ms(), add;

	if (!rate || is_self(client))
		return 1;
	add = (now - d->rrl_stamp[b]) * rate / 1000;
	if (add) {
		d->rrl_tokens[b] = (uint16_t)KH_MIN(d->rrl_tokens[b] + add, (uint64_t)rate);
		d->rrl_stamp[b] = now;
	}
	if (!d->rrl_tokens[b])
		return 0;
	d->rrl_tokens[b]--;
	return 1;
}

/*
 * Handle one client query. Returns the length of an immediate answer in out,
 * 0 for no answer (dropped, or forwarded: the answer comes later).
 */
static int handle_query(struct kh_dns *d, const uint8_t *pkt, size_t len,
			const struct kh_addr *client, int listener, int conn, uint8_t *out,
			size_t cap)
{
	struct kh_dns_query q;
	struct kh_match m;
	struct pending *p;
	int udp = listener >= 0, n;
	unsigned cb;

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
	if (d->cur && lookup_name(&d->cur->idx, &q.qname, &m))
		return answer_blocked(d, d->cur, &m, pkt, &q, client, udp, out, cap);
	if ((n = cache_get(d, pkt, &q, out, cap)) > 0)
		return n;
	cb = client_bucket(d, client);
	if (d->nup == 0 || !d->free_list || d->client_pending[cb] >= d->cfg->inflight_per_client) {
		/*
		 * Nowhere to send it, every slot busy, or this client has its share
		 * pending already (one client's never-answered names cannot take
		 * the table from the others): fail fast, memory stays bounded.
		 */
		d->st.refused_full += d->nup != 0 && !d->free_list;
		d->st.client_share += d->nup != 0 && d->free_list != NULL;
		d->st.servfail++;
		return kh_dns_build_error(out, cap, pkt, len, &q, KH_DNS_RC_SERVFAIL);
	}
	p = d->free_list;
	d->free_list = p->hash_next;
	d->inflight++;
	p->used = 1;
	p->hash_next = NULL;
	p->fifo_prev = p->fifo_next = p;
	p->sock = -1;
	p->fetch = NULL;
	p->attempts = 0;
	p->client = *client;
	p->listener = listener;
	p->conn = conn;
	p->conn_gen = conn >= 0 ? d->conns[conn].gen : 0;
	p->gen_seq = d->st.reloads;
	p->cbucket = (uint16_t)cb;
	d->client_pending[cb]++;
	p->q = q;
	p->pkt_len = (uint16_t)len;
	memcpy(p->pkt, pkt, len);
	if (forward(d, p, -1) < 0) {
		reply_error(d, p, KH_DNS_RC_SERVFAIL);
		pending_free(d, p);
		return 0;
	}
	d->st.forwarded++;
	if (!kh_timer_armed(&d->timeout))
		arm_timeout(d);
	return 0;
}

static void udp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct listener *l = arg;
	struct kh_dns *d = l->d;
	static uint8_t in[BATCH][CONFIG_DNS_QUERY_MAX + 1];
	struct kh_dgram v[BATCH];
	int n;

	(void)loop;
	(void)ev;
	for (int i = 0; i < BATCH; i++)
		v[i] = (struct kh_dgram){in[i], sizeof(in[i]), 0, {0}};
	/*
	 * Drain the socket (a bounded number of batches) before returning to
	 * poll: under load this saves a wake-up per batch, which costs more
	 * than the queries themselves.
	 */
	for (int round = 0; round < DRAIN_BATCHES; round++) {
		n = kh_net_recv_batch(fd, v, BATCH);
		if (n <= 0)
			break;
		d->nout = 0;
		for (int i = 0; i < n; i++) {
			int r;
			if (!client_allowed(d, &v[i].peer)) {
				/* Dropped, not refused: a forged source gets nothing reflected. */
				d->st.not_allowed++;
				continue;
			}
			if (!rate_ok(d, &v[i].peer)) {
				d->st.rate_limited++;
				continue;
			}
			r = handle_query(d, v[i].buf, v[i].len, &v[i].peer, l->idx, -1,
					 d->outbuf[d->nout], SMALL_MAX);
			if (r > 0) {
				d->out[d->nout] = (struct kh_dgram){d->outbuf[d->nout], SMALL_MAX,
								    (size_t)r, v[i].peer};
				d->nout++;
			}
		}
		for (unsigned sent = 0; sent < d->nout;) {
			int r = kh_net_send_batch(fd, d->out + sent, d->nout - sent);
			if (r <= 0)
				break; /* a full socket buffer drops answers, as UDP may */
			sent += (unsigned)r;
		}
		if (n < BATCH)
			break;
	}
	arm_timeout(d);
}

/* ---------------------------------------------------------------- TCP clients */

static void tcp_close(struct kh_dns *d, struct tcp_conn *c)
{
	kh_timer_cancel(d->loop, &c->idle);
	kh_loop_fd_del(d->loop, c->fd);
	kh_net_close(c->fd);
	c->used = 0;
	c->gen++; /* answers still on their way for this connection are dropped */
}

static void tcp_flush(struct kh_dns *d, struct tcp_conn *c)
{
	while (c->tx_off < c->tx_len) {
		int n = kh_net_send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			tcp_close(d, c);
			return;
		}
		c->tx_off += (size_t)n;
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	kh_loop_fd_mod(d->loop, c->fd, KH_EV_READ | (c->tx_len ? KH_EV_WRITE : 0));
}

static void tcp_send(struct kh_dns *d, int ci, uint32_t gen, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = &d->conns[ci];
	size_t cap = CONFIG_DNS_TCP_MSG_MAX + 2;

	if (!c->used || c->gen != gen)
		return;
	if (c->tx_len + 2 + len > cap) {
		tcp_close(d, c); /* a client that does not read its answers */
		return;
	}
	kh_put_be16(c->tx + c->tx_len, (uint16_t)len);
	memcpy(c->tx + c->tx_len + 2, msg, len);
	c->tx_len += 2 + len;
	tcp_flush(d, c);
}

/*
 * A connection's deadline: a query begun must be complete within
 * tcp_message_ms of its first byte (a byte now and then does not keep a
 * slot), and a connection with no query in progress closes tcp_idle_ms
 * after its last complete one.
 */
static void tcp_arm(struct kh_dns *d, struct tcp_conn *c)
{
	uint64_t now = kh_time_mono_ms();
	uint64_t due = c->msg_start ? c->msg_start + d->cfg->tcp_message_ms
				    : c->active + d->cfg->tcp_idle_ms;

	kh_timer_arm(d->loop, &c->idle, due > now ? due - now : 0);
}

static void tcp_idle(struct kh_loop *loop, void *arg)
{
	struct tcp_conn *c = arg;

	(void)loop;
	c->d->st.tcp_timeouts++;
	tcp_close(c->d, c);
}

static int same_host(const struct kh_addr *a, const struct kh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == KH_AF_INET6 ? 16 : 4) == 0;
}

/*
 * A slot for a new connection from peer. A client at its tcp_per_client
 * share gives up its own idlest connection; when every slot is taken the
 * idlest of all goes. Either way the newcomer is served: holding slots open
 * cannot lock others (or the TC->TCP retry of a UDP client) out.
 */
static struct tcp_conn *tcp_slot(struct kh_dns *d, const struct kh_addr *peer)
{
	struct tcp_conn *free_c = NULL, *idlest = NULL, *own = NULL;
	unsigned mine = 0;

	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		struct tcp_conn *c = &d->conns[i];
		if (!c->used) {
			free_c = c;
			continue;
		}
		if (!idlest || c->active < idlest->active)
			idlest = c;
		if (same_host(&c->peer, peer)) {
			mine++;
			if (!own || c->active < own->active)
				own = c;
		}
	}
	if (mine >= d->cfg->tcp_per_client)
		idlest = own;
	else if (free_c)
		return free_c;
	if (idlest) {
		d->st.tcp_evicted++;
		tcp_close(d, idlest);
	}
	return idlest;
}

static void tcp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct tcp_conn *c = arg;
	struct kh_dns *d = c->d;
	size_t rx_cap = CONFIG_DNS_QUERY_MAX + 2;

	(void)loop;
	(void)fd;
	if (ev & KH_EV_WRITE) {
		tcp_flush(d, c);
		if (!c->used)
			return;
	}
	if (!(ev & KH_EV_READ))
		return;
	for (;;) {
		int n = kh_net_recv(c->fd, c->rx + c->rx_len, rx_cap - c->rx_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			tcp_close(d, c);
			return;
		}
		c->rx_len += (size_t)n;
		if (!c->msg_start)
			c->msg_start = kh_time_mono_ms();
		/* RFC 7766: several queries may follow each other; answer each. */
		while (c->rx_len >= 2) {
			size_t want = kh_be16(c->rx);
			uint8_t out[SMALL_MAX];
			int r;
			if (want == 0 || want > CONFIG_DNS_QUERY_MAX) {
				tcp_close(d, c);
				return;
			}
			if (c->rx_len < want + 2)
				break;
			d->st.tcp_queries++;
			r = handle_query(d, c->rx + 2, want, &c->peer, -1, c->idx, out,
					 sizeof(out));
			if (!c->used)
				return;
			memmove(c->rx, c->rx + 2 + want, c->rx_len - 2 - want);
			c->rx_len -= 2 + want;
			/* Complete: the connection is active; what follows is a new query. */
			c->active = kh_time_mono_ms();
			c->msg_start = c->rx_len ? c->active : 0;
			if (r > 0)
				tcp_send(d, c->idx, c->gen, out, (size_t)r);
			if (!c->used)
				return;
		}
	}
	tcp_arm(d, c);
	arm_timeout(d);
}

static void tcp_accept_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct listener *l = arg;
	struct kh_dns *d = l->d;
	struct kh_addr peer;
	kh_sock s;

	(void)ev;
	while (kh_net_tcp_accept(fd, &s, &peer) == 0) {
		struct tcp_conn *c;
		if (!client_allowed(d, &peer)) {
			d->st.not_allowed++;
			kh_net_close(s);
			continue;
		}
		c = tcp_slot(d, &peer);
		if (!c || kh_loop_fd_add(loop, s, KH_EV_READ, tcp_cb, c) < 0) {
			kh_net_close(s); /* the loop is full: the client retries */
			continue;
		}
		c->used = 1;
		c->fd = s;
		c->peer = peer;
		c->rx_len = c->tx_len = c->tx_off = 0;
		c->active = kh_time_mono_ms();
		c->msg_start = 0;
		tcp_arm(d, c);
	}
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
	d->fifo.fifo_next = d->fifo.fifo_prev = &d->fifo;
	kh_timer_init(&d->timeout, on_timeout, d);
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		d->socks[i].fd = -1;
	d->pend = calloc(CONFIG_DNS_MAX_INFLIGHT, sizeof(*d->pend));
	d->conns = calloc(CONFIG_DNS_TCP_MAX_CLIENTS, sizeof(*d->conns));
	d->utcp = calloc(CONFIG_DNS_TCP_MAX_CLIENTS, sizeof(*d->utcp));
	d->cache_n = cfg->cache ? CONFIG_DNS_CACHE_ENTRIES : 0;
	if (d->cache_n)
		d->cache = calloc(d->cache_n, sizeof(*d->cache));
	if (!d->pend || !d->conns || !d->utcp || (d->cache_n && !d->cache))
		goto fail;
	for (int i = CONFIG_DNS_MAX_INFLIGHT - 1; i >= 0; i--) {
		d->pend[i].hash_next = d->free_list;
		d->pend[i].sock = -1;
		d->free_list = &d->pend[i];
	}
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		struct tcp_conn *c = &d->conns[i];
		c->d = d;
		c->idx = i;
		c->fd = -1;
		c->rx = malloc(CONFIG_DNS_QUERY_MAX + 2);
		c->tx = malloc(CONFIG_DNS_TCP_MSG_MAX + 2);
		d->utcp[i].buf = malloc(CONFIG_DNS_TCP_MSG_MAX + 2);
		d->utcp[i].fd = -1;
		if (!c->rx || !c->tx || !d->utcp[i].buf)
			goto fail;
		kh_timer_init(&c->idle, tcp_idle, c);
	}
	err = kh_drbg_init(&d->rng, "khien-dns");
	if (err < 0) {
		*why = "no entropy for the random generator";
		goto fail;
	}
	d->client_salt = rnd32(d);
	for (unsigned i = 0; i < cfg->nupstream; i++)
		d->up[d->nup++].addr = cfg->upstream[i];
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &d->lst[d->nlst];
		l->d = d;
		l->idx = (int)d->nlst;
		l->udp = l->tcp = -1;
		if ((err = kh_net_udp_open(&cfg->listen[i], &l->udp)) < 0 ||
		    (err = kh_net_tcp_listen(&cfg->listen[i], 64, &l->tcp)) < 0) {
			static char bind_why[KH_ADDR_STRLEN + 48];
			char at[KH_ADDR_STRLEN];
			kh_addr_format(&cfg->listen[i], at, sizeof(at));
			snprintf(bind_why, sizeof(bind_why), "cannot bind %s (%s)", at,
				 l->udp < 0 ? "UDP" : "TCP");
			*why = bind_why;
			kh_net_close(l->udp);
			goto fail;
		}
		d->nlst++;
		kh_net_set_rcvbuf(l->udp, CONFIG_DNS_UDP_RCVBUF_KB * 1024);
		if ((err = kh_loop_fd_add(loop, l->udp, KH_EV_READ, udp_cb, l)) < 0 ||
		    (err = kh_loop_fd_add(loop, l->tcp, KH_EV_READ, tcp_accept_cb, l)) < 0) {
			*why = "event loop full (CONFIG_LOOP_MAX_FDS)";
			goto fail;
		}
	}
	if (d->nup) {
		for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
			if ((err = upsock_open(d, i)) < 0) {
				*why = "cannot open upstream sockets";
				goto fail;
			}
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
	kh_timer_cancel(d->loop, &d->timeout);
	for (unsigned i = 0; i < d->nlst; i++) {
		kh_loop_fd_del(d->loop, d->lst[i].udp);
		kh_loop_fd_del(d->loop, d->lst[i].tcp);
		kh_net_close(d->lst[i].udp);
		kh_net_close(d->lst[i].tcp);
	}
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (d->socks[i].fd >= 0) {
			kh_loop_fd_del(d->loop, d->socks[i].fd);
			kh_net_close(d->socks[i].fd);
		}
	if (d->conns)
		for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
			if (d->conns[i].used)
				tcp_close(d, &d->conns[i]);
			free(d->conns[i].rx);
			free(d->conns[i].tx);
		}
	if (d->utcp)
		for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
			if (d->utcp[i].used)
				up_tcp_close(d, &d->utcp[i]);
			free(d->utcp[i].buf);
		}
	gen_free(d->cur);
	kh_drbg_free(&d->rng);
	free(d->pend);
	free(d->conns);
	free(d->utcp);
	free(d->cache);
	kh_memzero(d->key, sizeof(d->key));
	free(d);
}

/* ---------------------------------------------------------------- introspection */

#define BROKEN(msg)             \
	do {                    \
		*why = (msg);   \
		return -EFAULT; \
	} while (0)

int kh_dns_check_invariants(const struct kh_dns *d, const char **why)
{
	uint8_t seen[CONFIG_DNS_MAX_INFLIGHT];
	unsigned used = 0, listed = 0, freed = 0, sock_pending[CONFIG_DNS_UPSTREAM_SOCKETS] = {0};
	uint64_t last = 0;

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++) {
		const struct pending *p = &d->pend[i];
		if (!p->used)
			continue;
		used++;
		if (p->sock >= CONFIG_DNS_UPSTREAM_SOCKETS)
			BROKEN("a pending query names a socket out of range");
		if (p->sock >= 0) {
			const struct pending *h = d->id_hash[id_bucket(p->sock, p->up_id)];
			sock_pending[p->sock]++;
			while (h && h != p)
				h = h->hash_next;
			if (!h)
				BROKEN("a pending query on a socket is not in the ID hash");
			if (p->fetch)
				BROKEN("a pending query is on a UDP socket and a TCP fetch at "
				       "once");
		}
		if (p->fetch && (!p->fetch->used || p->fetch->p != p))
			BROKEN("a pending query and its TCP fetch do not point at each other");
	}
	if (used != d->inflight)
		BROKEN("inflight differs from the number of used slots");
	for (unsigned b = 0; b < CLIENT_BUCKETS; b++) {
		unsigned n = 0;
		if (!d->client_pending[b])
			continue;
		for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++)
			n += d->pend[i].used && d->pend[i].cbucket == b;
		if (n != d->client_pending[b])
			BROKEN("a client's pending count differs from its used slots");
		if (n > d->cfg->inflight_per_client)
			BROKEN("a client has more pending queries than its share");
	}
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (sock_pending[i] != d->socks[i].pending)
			BROKEN("an upstream socket's pending count is wrong");
	for (const struct pending *p = d->fifo.fifo_next; p != &d->fifo; p = p->fifo_next) {
		size_t i = (size_t)(p - d->pend);
		if (i >= CONFIG_DNS_MAX_INFLIGHT || ++listed > used)
			BROKEN("the deadline list is longer than the used slots (a cycle?)");
		if (!p->used || seen[i]++)
			BROKEN("the deadline list holds a free slot or one slot twice");
		if (p->fifo_next->fifo_prev != p)
			BROKEN("the deadline list's links disagree");
		if (p->deadline < last)
			BROKEN("the deadline list is out of order");
		last = p->deadline;
	}
	if (listed != used)
		BROKEN("a used slot is missing from the deadline list");
	for (const struct pending *p = d->free_list; p; p = p->hash_next) {
		if (++freed > CONFIG_DNS_MAX_INFLIGHT - used)
			BROKEN("the free list is longer than the free slots (a cycle?)");
		if (p->used)
			BROKEN("a used slot is on the free list");
	}
	if (freed + used != CONFIG_DNS_MAX_INFLIGHT)
		BROKEN("free and used slots do not add up to the table");
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		const struct up_tcp *u = &d->utcp[i];
		if (u->used && (!u->p || !u->p->used || u->p->fetch != u))
			BROKEN("a TCP fetch works for a slot that does not own it");
		if (!u->used && u->p)
			BROKEN("a closed TCP fetch still names a slot");
	}
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		const struct tcp_conn *c = &d->conns[i];
		unsigned same = 0;
		if (!c->used)
			continue;
		if (!kh_timer_armed(&c->idle))
			BROKEN("a TCP client connection has no deadline");
		if (c->rx_len && !c->msg_start)
			BROKEN("a TCP query in progress has no start time");
		for (int j = 0; j < CONFIG_DNS_TCP_MAX_CLIENTS; j++)
			same += d->conns[j].used && same_host(&d->conns[j].peer, &c->peer);
		if (same > d->cfg->tcp_per_client)
			BROKEN("a client holds more TCP connections than its share");
	}
	*why = "ok";
	return 0;
}

int kh_dns_has_index(const struct kh_dns *d)
{
	return d->cur != NULL;
}

void kh_dns_health(struct kh_dns *d, cJSON *out)
{
	cJSON_AddNumberToObject(out, "queries", (double)d->st.queries);
	cJSON_AddNumberToObject(out, "blocked", (double)d->st.blocked);
	cJSON_AddNumberToObject(out, "forwarded", (double)d->st.forwarded);
	cJSON_AddNumberToObject(out, "cached", (double)d->st.cached);
	cJSON_AddNumberToObject(out, "servfail", (double)d->st.servfail);
	cJSON_AddNumberToObject(out, "index_entries", d->cur ? (double)d->cur->idx.n_domains : 0);
}

void kh_dns_status(struct kh_dns *d, cJSON *out)
{
	cJSON *q = cJSON_AddObjectToObject(out, "queries");
	cJSON *cats = cJSON_AddObjectToObject(out, "blocked_by_category");
	cJSON *ups = cJSON_AddArrayToObject(out, "upstreams");
	cJSON *ix = cJSON_AddObjectToObject(out, "index");
	uint64_t now = kh_time_mono_ms();

	cJSON_AddNumberToObject(q, "total", (double)d->st.queries);
	cJSON_AddNumberToObject(q, "blocked", (double)d->st.blocked);
	cJSON_AddNumberToObject(q, "forwarded", (double)d->st.forwarded);
	cJSON_AddNumberToObject(q, "cached", (double)d->st.cached);
	cJSON_AddNumberToObject(q, "canary", (double)d->st.canary);
	cJSON_AddNumberToObject(q, "blocked_by_answer", (double)d->st.cname_blocked);
	cJSON_AddNumberToObject(q, "servfail", (double)d->st.servfail);
	cJSON_AddNumberToObject(q, "formerr", (double)d->st.formerr);
	cJSON_AddNumberToObject(q, "notimp", (double)d->st.notimp);
	cJSON_AddNumberToObject(q, "dropped", (double)d->st.dropped);
	cJSON_AddNumberToObject(q, "tcp", (double)d->st.tcp_queries);
	cJSON_AddNumberToObject(q, "truncated", (double)d->st.truncated);
	cJSON_AddNumberToObject(q, "not_allowed", (double)d->st.not_allowed);
	cJSON_AddNumberToObject(q, "rate_limited", (double)d->st.rate_limited);
	cJSON_AddNumberToObject(q, "tcp_evicted", (double)d->st.tcp_evicted);
	cJSON_AddNumberToObject(q, "tcp_timed_out", (double)d->st.tcp_timeouts);
	cJSON_AddNumberToObject(q, "rejected_answers", (double)d->st.spoofed);
	cJSON_AddNumberToObject(q, "inflight", d->inflight);
	cJSON_AddNumberToObject(q, "overload_servfail", (double)d->st.refused_full);
	cJSON_AddNumberToObject(q, "client_share_servfail", (double)d->st.client_share);
	for (unsigned i = 0; i < d->ncounters; i++)
		cJSON_AddNumberToObject(cats, d->counters[i].name, (double)d->counters[i].blocked);
	for (unsigned i = 0; i < d->nup; i++) {
		struct upstream *u = &d->up[i];
		cJSON *o = cJSON_CreateObject();
		char a[KH_ADDR_STRLEN];
		kh_addr_format(&u->addr, a, sizeof(a));
		cJSON_AddStringToObject(o, "address", a);
		cJSON_AddStringToObject(o, "state", u->down_until > now ? "down" : "up");
		cJSON_AddNumberToObject(o, "sent", (double)u->sent);
		cJSON_AddNumberToObject(o, "answered", (double)u->answered);
		cJSON_AddNumberToObject(o, "timeouts", (double)u->timeouts);
		cJSON_AddNumberToObject(o, "rejected", (double)u->bad);
		cJSON_AddNumberToObject(o, "rtt_ms", u->rtt_ms);
		cJSON_AddItemToArray(ups, o);
	}
	if (d->cur) {
		char bid[33];
		for (int i = 0; i < 16; i++)
			snprintf(bid + 2 * i, 3, "%02x", d->cur->idx.build_id[i]);
		cJSON_AddStringToObject(ix, "path", d->cur->path);
		cJSON_AddStringToObject(ix, "build_id", bid);
		cJSON_AddNumberToObject(ix, "entries", d->cur->idx.n_domains);
		cJSON_AddNumberToObject(ix, "bytes", (double)d->cur->idx.len);
		cJSON_AddNumberToObject(ix, "loaded_at", (double)d->cur->loaded_at);
	}
	cJSON_AddNumberToObject(ix, "reloads", (double)d->st.reloads);
}

void kh_dns_check(struct kh_dns *d, const char *name, cJSON *out)
{
	struct kh_match m;
	char rule[KH_NAME_MAX + 4];

	cJSON_AddStringToObject(out, "name", name);
	if (d->cfg->canaries && is_canary(name)) {
		cJSON_AddStringToObject(out, "verdict", "blocked");
		cJSON_AddStringToObject(out, "reason", "encrypted-DNS bypass canary");
		cJSON_AddStringToObject(out, "action", "nxdomain");
		return;
	}
	if (!d->cur) {
		cJSON_AddStringToObject(out, "verdict", "allowed");
		cJSON_AddStringToObject(out, "reason", "no blocklist loaded");
		return;
	}
	if (kh_index_lookup(&d->cur->idx, name, strlen(name), &m) < 0) {
		cJSON_AddStringToObject(out, "verdict", "invalid");
		cJSON_AddStringToObject(out, "reason", "not a valid domain name");
		return;
	}
	if (m.verdict == KH_ALLOWED) {
		cJSON_AddStringToObject(out, "verdict", "allowed");
		cJSON_AddStringToObject(out, "reason", "on no list");
		return;
	}
	rule_text(&m, rule, sizeof(rule));
	cJSON_AddStringToObject(out, "verdict", m.verdict == KH_BLOCKED ? "blocked" : "allowed");
	cJSON_AddStringToObject(out, "rule", rule);
	cJSON_AddStringToObject(out, "source", kh_index_source_name(&d->cur->idx, m.source));
	if (m.verdict == KH_ALLOWLISTED) {
		cJSON_AddStringToObject(out, "reason", "allow list");
		return;
	}
	cJSON_AddStringToObject(out, "category", kh_index_category_name(&d->cur->idx, m.category));
	{
		int act = d->cur->cat[m.category].action;
		if (m.action == KH_ACT_NXDOMAIN)
			act = KH_DNS_ACT_NXDOMAIN;
		else if (m.action == KH_ACT_NODATA)
			act = KH_DNS_ACT_NODATA;
		else if (m.action == KH_ACT_DROP)
			act = KH_DNS_ACT_DROP;
		cJSON_AddStringToObject(out, "action", kh_config_action_name(act));
		cJSON_AddNumberToObject(out, "ede", d->cur->cat[m.category].ede);
		cJSON_AddBoolToObject(out, "event", d->cur->cat[m.category].event);
	}
}
