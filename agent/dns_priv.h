/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter family's private header: the state every part shares
 * (struct kh_dns, the pending table, upstreams, TCP connections, the cache)
 * and the functions one part offers the others. Only agent/dns*.c include
 * it; everyone else uses agent/dns.h. Who owns what:
 *
 *   dns.c          engine core: index generations, the policy decision for a
 *                  query and for an upstream answer, lifecycle
 *   dns_cache.c    the answer cache
 *   dns_upstream.c upstream health, the socket pool, the pending table with
 *                  its deadline list and timer, the TCP fallback fetch
 *   dns_serve.c    client side: UDP and TCP listeners, rate limit, replies
 *   dns_ctl.c      the control-socket view (status, check, events JSON) and
 *                  the ring of recent events that `khienctl events` reads
 *   dns_profile.c  home profiles: each client's profile (cached), the
 *                  per-index category masks, the active windows, safe
 *                  search (query rewrite and CNAME answer), resolver.arpa
 */
#ifndef KHIEN_AGENT_DNS_PRIV_H
#define KHIEN_AGENT_DNS_PRIV_H

#include <errno.h>
#include <stdint.h>

#include "agent/category.h"
#include "agent/dns.h"
#include "agent/dns_wire.h"
#include "crypto/crypto.h"
#include "lib/compiler.h"
#include "lib/list.h"
#include "agent/profile.h"
#include "platform/fs.h"
#include "platform/lan.h"
#include "platform/loop.h"
#include "platform/net.h"
#include "policy/index.h"

/*
 * Linkage of the functions below: external across the family's files. The
 * engine's fuzz harness and unit test compile the whole family into one
 * file with small tables; they define DNS_PRIV as static so that copy
 * links beside the real one.
 */
#ifndef DNS_PRIV
#define DNS_PRIV extern
#endif

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
	/* What each category id of this index means (agent/category.c), resolved at load. */
	struct kh_category cat[256];
	uint16_t counter[256];	    /* its slot in kh_dns.counters */
	struct kh_prof_mask *pmask; /* per profile of the table in force (NULL without profiles) */
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
	/* On the deadline list while used, on the free list while not. */
	struct kh_list link;
	/*
	 * By (socket, id). Singly linked on purpose: a bucket head is one
	 * pointer (the table has ID_HASH of them) and chains are a slot or two.
	 */
	struct pending *hash_next;
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
	uint8_t safe;	      /* safe search: pkt asks for the forced-safe name (dns_profile.c) */
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

/*
 * What the web pages show (CONFIG_WEB, else never allocated): blocked
 * queries per category by hour for 7 days, a ring of monotonic hours, and
 * the LAN clients the resolver has seen, direct-mapped by client bucket
 * (a collision replaces the older client: a table, not a log). Counter
 * slots past DNS_HOUR_CATS - 1 share the last row ("other").
 */
#define DNS_HOURS 168
#define DNS_HOUR_CATS 16
#define DNS_SEEN 32
struct dns_seen {
	struct kh_addr ip; /* port 0; family 0 when the slot is empty */
	uint64_t last_ms;
	uint32_t queries, blocked;
};
struct dns_recent {
	uint32_t hour[DNS_HOURS]; /* the monotonic hour each row counts */
	uint32_t n[DNS_HOURS][DNS_HOUR_CATS];
	struct dns_seen seen[DNS_SEEN];
};

/* The engine's counters: the control view (dns_ctl.c) reads them as they are. */
struct kh_dns_stats {
	uint64_t queries, blocked, forwarded, cached, canary, servfail, formerr, notimp, dropped,
		refused_full, answered_local, cname_blocked, tcp_queries, spoofed, reloads,
		tcp_evicted, tcp_timeouts, client_share, truncated, not_allowed, rate_limited,
		profile_blocked, safe_search, resolver_arpa;
};

/* A client's profile, cached by client bucket: valid while gen is kh_dns.prof_gen. */
struct prof_slot {
	struct kh_addr ip;
	int16_t prof;
	uint32_t gen;
};

/* The original question of a safe-search query (wire name, type, class), per pending slot. */
struct ss_question {
	uint16_t len;
	uint8_t q[KH_NAME_MAX + 2 + 4];
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

	struct pending *pend;	  /* CONFIG_DNS_MAX_INFLIGHT */
	struct kh_list free_list; /* unused slots, most recently freed first */
	struct kh_list deadline;  /* used slots by deadline: all share one timeout, so FIFO */
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

	kh_dns_event_fn ev_fn;
	void *ev_arg;

	struct kh_dns_stats st;
	struct dns_recent *recent; /* CONFIG_WEB: the pages' figures; NULL without */

	/* home profiles (dns_profile.c); prof_cache is NULL when there are none */
	const struct kh_profiles
		*prof;		      /* in force: the configuration's, or merged with the ISP's */
	struct kh_profiles *prof_own; /* the merged copy, when the ISP's bundle has profiles */
	struct kh_profiles *prof_isp; /* the ISP's (the bundle's component), NULL */
	struct kh_profiles *prof_local; /* the owner's layer over the configuration's, NULL */
	struct prof_slot *prof_cache;	/* CLIENT_BUCKETS */
	uint32_t prof_gen;
	int prof_mac;			   /* a profile names a MAC: the neighbour table is read */
	int64_t prof_minute;		   /* the local minute prof_active is for */
	unsigned prof_active[KH_PROF_MAX]; /* each profile's active windows */
	struct kh_neigh *neigh;		   /* the neighbour table, when a profile names a MAC */
	unsigned nneigh;
	uint64_t neigh_at;
	struct ss_question *ssq; /* CONFIG_DNS_MAX_INFLIGHT */
	unsigned prof_counter;	 /* kh_dns.counters slot of blocks no category explains */

	/* UDP answers built during one receive batch */
	struct kh_dgram out[BATCH];
	uint8_t outbuf[BATCH][SMALL_MAX];
	unsigned nout;
};

/* What became of an upstream answer. */
enum answer_fate {
	ANSWER_IGNORED = 0, /* not an answer to this query: keep waiting */
	ANSWER_DONE,	    /* the client was answered: free the pending query */
	ANSWER_TO_TCP,	    /* truncated: the upstream TCP fetch now owns the query */
};

/* What a client's profile makes of a query (dns_handle_query, dns_explain). */
struct prof_query {
	int prof; /* -1: no profile */
	struct kh_prof_verdict v;
	const char *safe_target; /* safe search: the forced-safe name to answer with, or NULL */
};

/* The engine's verdict on one name, as the control view explains it. */
enum dns_explain_kind {
	DNS_X_CANARY,	   /* an encrypted-DNS bypass canary */
	DNS_X_NO_INDEX,	   /* no blocklist loaded */
	DNS_X_INVALID,	   /* not a domain name */
	DNS_X_UNLISTED,	   /* on no list */
	DNS_X_ALLOWLISTED, /* on an allow list */
	DNS_X_BLOCKED,
	DNS_X_HOUSEHOLD, /* listed in a household category no profile of the client blocks */
};
struct dns_explain {
	enum dns_explain_kind kind;
	struct kh_match m;	       /* DNS_X_ALLOWLISTED and DNS_X_BLOCKED */
	char rule[KH_NAME_MAX + 4];    /* the rule that matched, as text */
	const char *source, *category; /* names in the current index */
	int action;		       /* enum kh_dns_action, with an RPZ rule's own */
	uint16_t ede;
	int event;
	int household;	      /* the category is one the household chooses */
	struct prof_query pq; /* the client's profile (pq.prof -1: none asked, or none) */
};

#define BROKEN(msg)             \
	do {                    \
		*why = (msg);   \
		return -EFAULT; \
	} while (0)

/* ---- dns.c: engine core */
DNS_PRIV int dns_rnd_bytes(struct kh_dns *d, void *p, size_t n);
DNS_PRIV uint32_t dns_rnd32(struct kh_dns *d);
/* The rule of m as text ("name" or "*.suffix"). */
DNS_PRIV void dns_rule_text(const struct kh_match *m, char *out, size_t cap);
/* How events name a client: its address, or a keyed hash of it (client_id_hash). */
DNS_PRIV void dns_client_id(struct kh_dns *d, const struct kh_addr *a, char *out, size_t cap);
/*
 * One client query: the length of an immediate answer in out, 0 for none
 * (dropped, or forwarded: the answer comes later). listener: the UDP
 * listener's index, or -1 for TCP connection conn.
 */
DNS_PRIV int dns_handle_query(struct kh_dns *d, const uint8_t *pkt, size_t len,
			      const struct kh_addr *client, int listener, int conn, uint8_t *out,
			      size_t cap);
/* Check an upstream answer for p and answer the client if it is the one. */
DNS_PRIV enum answer_fate dns_handle_answer(struct kh_dns *d, struct pending *p, uint8_t *pkt,
					    size_t len, int tcp);
/*
 * Forward q (the packet pkt) through a new pending slot: 0 when the answer
 * comes later (*pp the slot) or the client was told SERVFAIL, else the
 * length of an immediate SERVFAIL in out (no slot free).
 */
DNS_PRIV int dns_forward_query(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *pkt,
			       size_t len, const struct kh_addr *client, int listener, int conn,
			       uint8_t *out, size_t cap, struct pending **pp);
DNS_PRIV void dns_explain(struct kh_dns *d, const char *name, const struct kh_addr *client,
			  struct dns_explain *x);

/* ---- dns_cache.c */
DNS_PRIV int dns_cache_init(struct kh_dns *d);
DNS_PRIV void dns_cache_free(struct kh_dns *d);
DNS_PRIV int dns_cache_get(struct kh_dns *d, const uint8_t *pkt, const struct kh_dns_query *q,
			   uint8_t *out, size_t cap);
DNS_PRIV void dns_cache_put(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *ans,
			    size_t len, const uint16_t *ttl_off, unsigned nttl, uint32_t min_ttl);
DNS_PRIV void dns_cache_flush(struct kh_dns *d);

/* ---- dns_upstream.c */
/* The pending table and fetch slots; the upstream sockets (dns_upstream_open). */
DNS_PRIV int dns_upstream_init(struct kh_dns *d);
DNS_PRIV int dns_upstream_open(struct kh_dns *d);
DNS_PRIV void dns_upstream_free(struct kh_dns *d);
DNS_PRIV int dns_upstream_check(const struct kh_dns *d, const char **why);
DNS_PRIV void dns_upstream_ok(struct upstream *u, uint64_t rtt);
/*
 * A pending slot for q from client, or NULL (counted) when there is no
 * upstream, the table is full or the client has its share pending.
 */
DNS_PRIV struct pending *dns_pending_new(struct kh_dns *d, const struct kh_dns_query *q,
					 const uint8_t *pkt, size_t len,
					 const struct kh_addr *client, int listener, int conn);
DNS_PRIV void dns_pending_free(struct kh_dns *d, struct pending *p);
/* Send (or resend) p over UDP to an upstream other than avoid, if one is up. */
DNS_PRIV int dns_forward(struct kh_dns *d, struct pending *p, int avoid);
DNS_PRIV void dns_arm_timeout(struct kh_dns *d);
/* Fetch p's whole answer over TCP after a truncated one (the fetch owns p). */
DNS_PRIV int dns_up_tcp_start(struct kh_dns *d, struct pending *p);

/* ---- dns_serve.c */
DNS_PRIV int dns_serve_init(struct kh_dns *d);
DNS_PRIV int dns_serve_listen(struct kh_dns *d, const char **why);
DNS_PRIV void dns_serve_free(struct kh_dns *d);
DNS_PRIV int dns_serve_check(const struct kh_dns *d, const char **why);
/* The client's bucket: a hash of its address (not its port), salted per start. */
DNS_PRIV unsigned dns_client_bucket(const struct kh_dns *d, const struct kh_addr *a);
DNS_PRIV void dns_reply_client(struct kh_dns *d, struct pending *p, uint8_t *msg, size_t len);
DNS_PRIV void dns_reply_error(struct kh_dns *d, struct pending *p, int rcode);

/* ---- dns.c: the pages' figures (no-ops when d->recent is NULL) */
DNS_PRIV void dns_recent_query(struct kh_dns *d, const struct kh_addr *client);
DNS_PRIV void dns_recent_blocked(struct kh_dns *d, unsigned counter, const struct kh_addr *client);

/* ---- dns_profile.c */
DNS_PRIV int dns_prof_init(struct kh_dns *d);
DNS_PRIV void dns_prof_free(struct kh_dns *d);
/* The masks of index generation g for the table in force. */
DNS_PRIV int dns_prof_masks(struct kh_dns *d, struct idx_gen *g);
DNS_PRIV int dns_client_profile(struct kh_dns *d, const struct kh_addr *client);
/* Decide for client and name n; cat: the index's household category id, or -1. */
DNS_PRIV void dns_prof_query(struct kh_dns *d, const struct kh_addr *client, const char *name,
			     size_t len, int cat, struct prof_query *pq);
/* 1 if client's profile blocks household category cat now (answer inspection). */
DNS_PRIV int dns_prof_blocks_cat(struct kh_dns *d, const struct kh_addr *client, unsigned cat);
/* Forward q as a query for target (safe search); the answer is built by dns_ss_answer. */
DNS_PRIV int dns_ss_forward(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *pkt,
			    const struct kh_addr *client, int listener, int conn,
			    const char *target, uint8_t *out, size_t cap);
/* The client's answer for safe-search query p from the upstream's answer for the target. */
DNS_PRIV int dns_ss_answer(struct kh_dns *d, struct pending *p, const uint8_t *pkt, size_t len,
			   const struct kh_dns_answer *a, uint8_t *out, size_t cap);
/* An error answer to safe-search query p with the client's own question. */
DNS_PRIV int dns_ss_error(struct kh_dns *d, struct pending *p, int rcode, uint8_t *out, size_t cap);
/* 1 if n is resolver.arpa or under it (RFC 9462): answered here, never forwarded. */
DNS_PRIV int dns_is_resolver_arpa(const struct kh_dns_name *n);

/* ---- dns_ctl.c */
/* A blocked hit in a category that makes events: to the hook. */
DNS_PRIV void dns_event_record(struct kh_dns *d, struct idx_gen *g, const struct kh_match *m,
			       const char *qname, uint16_t qtype, const struct kh_addr *client);

#endif
