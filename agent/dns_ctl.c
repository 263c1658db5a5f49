/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter's control-socket view (see dns_priv.h for the family):
 * `khienctl status` (counters, upstream health, the index), the check-in
 * health figures and `khienctl check NAME` (the engine's verdict,
 * explained), all formatted here as JSON from the engine's state; the
 * engine formats nothing. Also the hook that hands each blocked hit to
 * khiend, which gives it to the event owner (agent/event.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/dns_priv.h"
#include "lib/str.h"
#include "platform/time.h"

/* ---------------------------------------------------------------- events */

/* A blocked hit in an event category: to the hook (khiend hands it to agent/event.c). */
void dns_event_record(struct kh_dns *d, struct idx_gen *g, const struct kh_match *m,
		      const char *qname, uint16_t qtype, const struct kh_addr *client)
{
	char rule[KH_NAME_MAX + 4], cl[KH_ADDR_STRLEN], tb[16];
	struct kh_dns_event x;

	if (!d->ev_fn)
		return;
	dns_rule_text(m, rule, sizeof(rule));
	dns_client_id(d, client, cl, sizeof(cl));
	x = (struct kh_dns_event){
		.time = kh_time_wall(),
		.name = qname,
		.qtype = kh_dns_type_name(qtype, tb, sizeof(tb)),
		.category = kh_index_category_name(&g->idx, m->category),
		.rule = rule,
		.source = kh_index_source_name(&g->idx, m->source),
		.client = cl,
		.addr = client,
		.severity = g->cat[m->category].severity,
	};
	d->ev_fn(d->ev_arg, &x);
}

void kh_dns_set_event_hook(struct kh_dns *d, kh_dns_event_fn fn, void *arg)
{
	d->ev_fn = fn;
	d->ev_arg = arg;
}

/* ---------------------------------------------------------------- views */

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

/* The client's profile part of a check: which profile, why, which window, safe search. */
static void check_profile(struct kh_dns *d, const struct dns_explain *x,
			  const struct kh_addr *client, cJSON *out)
{
	const struct prof_query *pq = &x->pq;
	cJSON *o;
	char ip[KH_ADDR_STRLEN];
	struct kh_addr a = *client;

	a.port = 0;
	kh_addr_format(&a, ip, sizeof(ip));
	if (a.family == KH_AF_INET)
		ip[strcspn(ip, ":")] = 0;
	cJSON_AddStringToObject(out, "client", ip);
	if (pq->prof < 0) {
		cJSON_AddNullToObject(out, "profile");
		if (pq->safe_target)
			cJSON_AddStringToObject(out, "safe_search", pq->safe_target);
		return;
	}
	o = cJSON_AddObjectToObject(out, "profile");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "name", d->prof->prof[pq->prof].name);
	cJSON_AddBoolToObject(o, "blocked", pq->v.blocked);
	cJSON_AddStringToObject(o, "reason", kh_profile_reason(pq->v.reason));
	if (pq->v.rule) {
		char rule[256];
		snprintf(rule, sizeof(rule), "%.*s", (int)pq->v.rule_len, pq->v.rule);
		cJSON_AddStringToObject(o, "rule", rule);
	}
	if (pq->v.sched >= 0) {
		const struct kh_prof_sched *s = &d->prof->prof[pq->prof].sched[pq->v.sched];
		char w[32];
		cJSON_AddNumberToObject(o, "schedule", pq->v.sched);
		snprintf(w, sizeof(w), "%02u:%02u-%02u:%02u", s->from / 60, s->from % 60,
			 s->to / 60, s->to % 60);
		cJSON_AddStringToObject(o, "window", w);
	}
	if (x->household && x->category)
		cJSON_AddStringToObject(o, "category", x->category);
	if (pq->safe_target)
		cJSON_AddStringToObject(o, "safe_search", pq->safe_target);
	cJSON_AddStringToObject(o, "time_zone", d->cfg->time_zone);
}

void kh_dns_check(struct kh_dns *d, const char *name, const struct kh_addr *client, cJSON *out)
{
	static const char *const reason[] = {
		[DNS_X_CANARY] = "encrypted-DNS bypass canary",
		[DNS_X_NO_INDEX] = "no blocklist loaded",
		[DNS_X_INVALID] = "not a valid domain name",
		[DNS_X_UNLISTED] = "on no list",
		[DNS_X_ALLOWLISTED] = "allow list",
		[DNS_X_HOUSEHOLD] = "a household category (action allow) no profile of this "
				    "client blocks",
	};
	struct dns_explain x;

	dns_explain(d, name, client, &x);
	if (client && x.pq.v.blocked)
		x.kind = DNS_X_BLOCKED; /* the profile's block */
	cJSON_AddStringToObject(out, "name", name);
	if (client)
		check_profile(d, &x, client, out);
	cJSON_AddStringToObject(out, "verdict",
				x.kind == DNS_X_CANARY || x.kind == DNS_X_BLOCKED ? "blocked"
				: x.kind == DNS_X_INVALID			  ? "invalid"
										  : "allowed");
	if (x.kind == DNS_X_HOUSEHOLD)
		cJSON_AddStringToObject(out, "category", x.category);
	if (client && x.pq.v.blocked && !x.category) {
		cJSON_AddStringToObject(out, "action",
					kh_config_action_name(d->cfg->default_action));
		cJSON_AddNumberToObject(out, "ede", KH_EDE_FILTERED);
		return;
	}
	if (x.kind == DNS_X_ALLOWLISTED || x.kind == DNS_X_BLOCKED || x.kind == DNS_X_HOUSEHOLD) {
		cJSON_AddStringToObject(out, "rule", x.rule);
		cJSON_AddStringToObject(out, "source", x.source);
	}
	if (x.kind != DNS_X_BLOCKED)
		cJSON_AddStringToObject(out, "reason", reason[x.kind]);
	if (x.kind == DNS_X_CANARY)
		cJSON_AddStringToObject(out, "action", kh_config_action_name(x.action));
	if (x.kind != DNS_X_BLOCKED)
		return;
	cJSON_AddStringToObject(out, "category", x.category);
	cJSON_AddStringToObject(out, "action", kh_config_action_name(x.action));
	cJSON_AddNumberToObject(out, "ede", x.ede);
	cJSON_AddBoolToObject(out, "event", x.event);
}

/* ---------------------------------------------------------------- web pages */

void kh_dns_verdict(struct kh_dns *d, const char *name, struct kh_dns_verdict *v)
{
	struct dns_explain x;

	memset(v, 0, sizeof(*v));
	if (!IS_ENABLED(CONFIG_WEB))
		return; /* the pages' only: not in a build without them */
	dns_explain(d, name, NULL, &x);
	if (x.kind != DNS_X_BLOCKED)
		return;
	v->blocked = 1;
	kh_strlcpy(v->category, x.category ? x.category : "", sizeof(v->category));
	kh_strlcpy(v->rule, x.rule, sizeof(v->rule));
	kh_strlcpy(v->source, x.source ? x.source : "", sizeof(v->source));
}

unsigned kh_dns_recent_blocked(struct kh_dns *d, struct kh_dns_recent_cat *out, unsigned max)
{
	struct dns_recent *r = d->recent;
	uint32_t now = (uint32_t)(kh_time_mono_ms() / 3600000u);
	unsigned n = 0;

	if (!IS_ENABLED(CONFIG_WEB) || !r)
		return 0;
	for (unsigned c = 0; c < d->ncounters && c < DNS_HOUR_CATS && n < max; c++) {
		uint64_t day = 0, week = 0;
		for (unsigned h = 0; h < DNS_HOURS; h++) {
			uint32_t age = now - r->hour[h];
			if (age >= DNS_HOURS || r->hour[h] > now)
				continue;
			week += r->n[h][c];
			if (age < 24)
				day += r->n[h][c];
		}
		out[n++] = (struct kh_dns_recent_cat){c == DNS_HOUR_CATS - 1 &&
								      d->ncounters > DNS_HOUR_CATS
							      ? "other"
							      : d->counters[c].name,
						      day, week};
	}
	return n;
}

unsigned kh_dns_recent_clients(struct kh_dns *d, struct kh_dns_client *out, unsigned max)
{
	uint64_t now = kh_time_mono_ms();
	unsigned n = 0;

	if (!IS_ENABLED(CONFIG_WEB) || !d->recent)
		return 0;
	for (unsigned i = 0; i < DNS_SEEN; i++) {
		const struct dns_seen *s = &d->recent->seen[i];
		unsigned at;
		if (!s->ip.family)
			continue;
		/* insertion by idle time: 32 slots at most */
		struct kh_dns_client c = {s->ip, now - s->last_ms, s->queries, s->blocked, ""};
		int prof = dns_client_profile(d, &s->ip);
		if (prof >= 0)
			kh_strlcpy(c.profile, d->prof->prof[prof].name, sizeof(c.profile));
		for (at = n; at > 0 && out[at - 1].idle_ms > c.idle_ms; at--)
			if (at < max)
				out[at] = out[at - 1];
		if (at < max) {
			out[at] = c;
			n += n < max;
		}
	}
	return n;
}

int kh_dns_index_info(struct kh_dns *d, int64_t *loaded_at, uint64_t *entries)
{
	if (!IS_ENABLED(CONFIG_WEB) || !d->cur)
		return 0;
	*loaded_at = (int64_t)d->cur->loaded_at;
	*entries = d->cur->idx.n_domains;
	return 1;
}
