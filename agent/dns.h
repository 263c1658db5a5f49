/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter: khiend's forwarding resolver that enforces the blocklist
 * index. It answers blocked names itself (per-category action, RFC 8914
 * Extended DNS Error saying why), answers bypass canaries, serves allowed
 * names from a small TTL cache or forwards them to upstream resolvers with
 * failover, and inspects every forwarded answer (CNAME chains, owner names,
 * RPZ IP triggers) against the same index. Runs on the event loop; memory
 * is allocated once at start and stays bounded under any load.
 */
#ifndef KHIEN_AGENT_DNS_H
#define KHIEN_AGENT_DNS_H

#include <stdint.h>

#include "agent/config.h"
#include "policy/name.h"
#include "platform/loop.h"

struct kh_dns;
struct cJSON;

/*
 * Open the listeners and upstream sockets named in cfg (which must outlive
 * the filter) and start serving on loop. key: 32 bytes for the keyed hash
 * that identifies clients in events. Returns 0 or negative errno; *why gets
 * a static description of what failed.
 */
int kh_dns_new(struct kh_loop *loop, const struct kh_agent_config *cfg, const uint8_t key[32],
	       struct kh_dns **out, const char **why);
void kh_dns_free(struct kh_dns *d);

/*
 * Map and validate the index at path and make it current; the old one is
 * unmapped at once. Answers to queries already being forwarded are
 * inspected with the new index (their query names too), so nothing the
 * new lists block is served or cached. On failure the current index stays
 * and *why says what was wrong.
 */
int kh_dns_load_index(struct kh_dns *d, const char *path, const char **why);

/*
 * The ISP's profiles (the bundle's `profiles` component, parsed with
 * kh_profiles_parse isp=1) over the configuration's; NULL: the
 * configuration's alone. The filter keeps its own copy. On error (the
 * two together exceed the limits) the table in force stays and why says so.
 */
struct kh_profiles;
int kh_dns_set_isp_profiles(struct kh_dns *d, const struct kh_profiles *isp, char *why,
			    size_t whylen);
/*
 * The household's base table: the owner's settings from the status page
 * laid over the configuration's (NULL: the configuration's alone), with
 * the ISP's merged over it as above (the ISP's part is checked first, so
 * the owner never loosens it). Copied; on error the table in force stays.
 */
int kh_dns_set_local_profiles(struct kh_dns *d, const struct kh_profiles *local, char *why,
			      size_t whylen);
/* The ISP's profiles in force (NULL: none); the household's (configuration and owner). */
const struct kh_profiles *kh_dns_isp_profiles(const struct kh_dns *d);
const struct kh_profiles *kh_dns_profiles(const struct kh_dns *d);

/* 1 if an index is loaded. */
int kh_dns_has_index(const struct kh_dns *d);

/* Status (counters, upstream health, index) into a JSON object. */
void kh_dns_status(struct kh_dns *d, struct cJSON *out);
/* A few counters for check-ins: queries, blocked, forwarded, servfail, cached. */
void kh_dns_health(struct kh_dns *d, struct cJSON *out);
/*
 * The live verdict for name, with the rule and action, into a JSON object;
 * client (NULL: none) adds its profile's part: which profile, why, which
 * window, and safe search.
 */
void kh_dns_check(struct kh_dns *d, const char *name, const struct kh_addr *client,
		  struct cJSON *out);
/*
 * A blocked hit in a category that produces events, as it happens: for
 * the event owner (agent/event.h), which keeps the recent ones and
 * reports them. Strings are valid during the call only.
 */
struct kh_dns_event {
	int64_t time;
	const char *name, *qtype, *category, *rule, *source, *client;
	const struct kh_addr *addr; /* the client's address: for the status page, never sent */
	int severity; /* enum kh_severity, from the category's meaning (agent/category.h) */
};
typedef void (*kh_dns_event_fn)(void *arg, const struct kh_dns_event *e);
void kh_dns_set_event_hook(struct kh_dns *d, kh_dns_event_fn fn, void *arg);

/*
 * For the web pages (agent/web.h). kh_dns_verdict: the live verdict for
 * name (the one `khienctl check` explains): blocked 1 with its category,
 * rule and list, else 0. kh_dns_recent_blocked: blocked queries per
 * category over the last 24 hours and 7 days (by the monotonic clock),
 * at most max rows, the number filled; names are valid until the next
 * index load. kh_dns_recent_clients: the LAN clients seen, most recent
 * first. Both fill nothing without CONFIG_WEB.
 */
struct kh_dns_verdict {
	int blocked;
	char category[KH_CAT_NAME_MAX + 1];
	char rule[KH_NAME_MAX + 4];
	char source[96];
};
void kh_dns_verdict(struct kh_dns *d, const char *name, struct kh_dns_verdict *v);
struct kh_dns_recent_cat {
	const char *name;
	uint64_t day, week;
};
unsigned kh_dns_recent_blocked(struct kh_dns *d, struct kh_dns_recent_cat *out, unsigned max);
struct kh_dns_client {
	struct kh_addr addr;
	uint64_t idle_ms; /* since its last query */
	uint32_t queries, blocked;
	char profile[33]; /* its home profile (docs/PROFILES.md), "" for none */
};
unsigned kh_dns_recent_clients(struct kh_dns *d, struct kh_dns_client *out, unsigned max);
/* 1 if peer is on a client network served (dns.allow_clients): the pages answer the same. */
int kh_dns_client_allowed(const struct kh_dns *d, const struct kh_addr *peer);
/* The index in force: 1 and its load time (wall seconds) and entries, or 0. */
int kh_dns_index_info(struct kh_dns *d, int64_t *loaded_at, uint64_t *entries);

/*
 * Check the pending table's invariants (inflight equals the used slots, each
 * used slot on the deadline list once and in deadline order, the free list
 * holds the rest, socket and TCP-fetch links agree). Returns 0, or -EFAULT
 * with *why saying which one broke. O(slots); for tests and fuzzing.
 */
int kh_dns_check_invariants(const struct kh_dns *d, const char **why);

#endif
