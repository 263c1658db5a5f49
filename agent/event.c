/* SPDX-License-Identifier: MIT */
/*
 * The event owner (see event.h): the recent list, the flood gate, the one
 * serialisation and the hand-over to the report queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/event.h"
#include "agent/queue.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fnv.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/net.h"
#include "platform/time.h"
#include "policy/name.h"

/* the gate exists with reporting only; the recent list needs no rate */
#ifndef CONFIG_REPORT_CLIENT_EVENTS
#define CONFIG_REPORT_CLIENT_EVENTS 1
#endif

#define DEDUP_SLOTS 256
#define DEDUP_WINDOW_S 60
#define CLIENT_SLOTS 64
#define FIELD_CUT 128 /* a payload over the limit is sent with its strings cut to this */

struct dedup {
	uint64_t key;
	int64_t last;
	uint32_t repeats;
};

/* A client's event budget: a token bucket refilled at CONFIG_REPORT_CLIENT_EVENTS a minute. */
struct budget {
	uint64_t key;
	int64_t at_ms;	/* wall ms of the last refill */
	uint32_t milli; /* tokens x 1000 */
	uint32_t suppressed;
};

/* A recent event, as `khienctl events` shows it. */
struct recent {
	uint64_t seq;
	int64_t time;
	char type[KH_QUEUE_TYPE_MAX + 1];
	char name[KH_NAME_MAX + 1];
	char category[KH_CAT_NAME_MAX + 1];
	char rule[KH_NAME_MAX + 4];
	char source[64];
	char qtype[16];
	char client[KH_ADDR_STRLEN];
	enum kh_severity severity;
};

struct kh_events {
	struct kh_queue *queue;
	void (*queued)(void *arg, enum kh_severity sev);
	void *arg;

	struct recent *recent;
	unsigned cap, head, count;
	uint64_t seq, dropped;

	struct dedup dd[DEDUP_SLOTS];
	struct budget bud[CLIENT_SLOTS];
	uint64_t suppressed, over_budget;
};

int kh_events_new(unsigned recent, struct kh_events **out)
{
	struct kh_events *ev = calloc(1, sizeof(*ev));

	if (!ev || !(ev->recent = calloc(recent ? recent : 1, sizeof(*ev->recent)))) {
		free(ev);
		return -ENOMEM;
	}
	ev->cap = recent ? recent : 1;
	*out = ev;
	return 0;
}

void kh_events_free(struct kh_events *ev)
{
	if (!ev)
		return;
	free(ev->recent);
	free(ev);
}

void kh_events_attach(struct kh_events *ev, struct kh_queue *q,
		      void (*queued)(void *arg, enum kh_severity sev), void *arg)
{
	ev->queue = q;
	ev->queued = queued;
	ev->arg = arg;
}

static void keep_recent(struct kh_events *ev, const struct kh_event *e, int64_t now)
{
	struct recent *r;

	if (ev->count == ev->cap) {
		ev->head = (ev->head + 1) % ev->cap; /* drop the oldest */
		ev->count--;
		ev->dropped++;
	}
	r = &ev->recent[(ev->head + ev->count++) % ev->cap];
	memset(r, 0, sizeof(*r));
	r->seq = ++ev->seq;
	r->time = now;
	kh_strlcpy(r->type, e->type, sizeof(r->type));
	r->severity = e->severity;
	kh_strlcpy(r->name, e->name ? e->name : "", sizeof(r->name));
	kh_strlcpy(r->category, e->category ? e->category : "", sizeof(r->category));
	/* an audit event's check stands where a DNS event's rule does */
	kh_strlcpy(r->rule, e->rule ? e->rule : e->check ? e->check : "", sizeof(r->rule));
	kh_strlcpy(r->source, e->source ? e->source : "", sizeof(r->source));
	kh_strlcpy(r->qtype, e->qtype ? e->qtype : "", sizeof(r->qtype));
	kh_strlcpy(r->client, e->client ? e->client : "", sizeof(r->client));
}

/* Take one token from client's bucket; 0 if it had one, -1 if it is over its rate. */
static int budget_take(struct kh_events *ev, uint64_t client, int64_t now_ms)
{
	const uint32_t full = CONFIG_REPORT_CLIENT_EVENTS * 1000u;
	struct budget *b = &ev->bud[client % CLIENT_SLOTS];
	int64_t dt;

	/* a slot idle for a minute is refilled anyway: it can change hands */
	if (b->key != client && (now_ms - b->at_ms >= 60000 || now_ms < b->at_ms || !b->key)) {
		b->key = client;
		b->at_ms = now_ms;
		b->milli = full;
		b->suppressed = 0;
	}
	dt = now_ms - b->at_ms;
	if (dt < 0)
		dt = 0;
	if (dt > 0) {
		uint64_t add = (uint64_t)dt * CONFIG_REPORT_CLIENT_EVENTS / 60;
		b->milli = add >= full - b->milli ? full : b->milli + (uint32_t)add;
		b->at_ms = now_ms;
	}
	if (b->milli < 1000) {
		b->suppressed++;
		return -1;
	}
	b->milli -= 1000;
	return 0;
}

/*
 * The gate in front of the queue, for events that may flood. -1: do not
 * queue it, only count it: an event of the same client and key was queued
 * less than a minute ago, or the client is over its rate
 * (CONFIG_REPORT_CLIENT_EVENTS a minute). 0: queue it, with *repeats (of
 * this client and key since the last one queued) and *suppressed (this
 * client's events over its rate since its last one) to carry. So the first
 * event of each (client, rule) goes through and one client cannot crowd
 * out the others' first alerts.
 */
static int admit(struct kh_events *ev, const char *client, const char *key, int64_t now,
		 long *repeats, long *suppressed)
{
	/* nonzero (a zeroed slot matches nothing), hashed in place, client then key: this runs for every blocked query of a flood */
	uint32_t hc = kh_fnv1a32(KH_FNV32_BASIS, client);
	uint64_t c = hc | (uint64_t)1 << 32;
	uint64_t k = kh_fnv1a32(kh_fnv1a32(hc, "|"), key) | (uint64_t)1 << 32;
	struct dedup *d = &ev->dd[k % DEDUP_SLOTS];
	struct budget *b;

	if (d->key == k && now - d->last < DEDUP_WINDOW_S && now >= d->last) {
		d->repeats++;
		ev->suppressed++;
		return -1;
	}
	if (budget_take(ev, c, now * 1000) < 0) {
		ev->over_budget++;
		return -1;
	}
	b = &ev->bud[c % CLIENT_SLOTS];
	*suppressed = (long)b->suppressed;
	b->suppressed = 0;
	*repeats = d->key == k ? (long)d->repeats : 0;
	d->key = k;
	d->last = now;
	d->repeats = 0;
	return 0;
}

static void add_str(cJSON *o, const char *k, const char *v, size_t cut)
{
	char b[FIELD_CUT + 1];

	if (!v)
		return;
	if (cut && strlen(v) > cut) {
		kh_strlcpy(b, v, cut + 1);
		v = b;
	}
	cJSON_AddStringToObject(o, k, v);
}

/* The payload, as it is queued and uploaded; NULL when it cannot be built. */
static char *serialise(const struct kh_event *e, long repeats, long suppressed, size_t cut)
{
	cJSON *o = cJSON_CreateObject();
	char *t;

	if (!o)
		return NULL;
	add_str(o, "name", e->name, cut);
	add_str(o, "qtype", e->qtype, cut);
	add_str(o, "category", e->category, cut);
	add_str(o, "rule", e->rule, cut);
	add_str(o, "source", e->source, cut);
	add_str(o, "client", e->client, cut);
	if (e->version)
		kh_json_add_uint(o, "version", e->version);
	add_str(o, "sha256", e->sha256, 0);
	add_str(o, "reason", e->reason, cut);
	add_str(o, "check", e->check, cut);
	add_str(o, "evidence", e->evidence, cut);
	if (repeats > 0)
		cJSON_AddNumberToObject(o, "repeats", (double)repeats);
	if (suppressed > 0)
		cJSON_AddNumberToObject(o, "suppressed", (double)suppressed);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

int kh_event_emit(struct kh_events *ev, const struct kh_event *e)
{
	int64_t now = e->time ? e->time : kh_time_wall();
	enum kh_severity sev = e->severity; /* the module's: dns takes it from the category table */
	long repeats = 0, suppressed = 0;
	uint64_t seq = 0;
	char *text;
	int err;

	keep_recent(ev, e, now);
	if (!IS_ENABLED(CONFIG_REPORT) || !ev->queue)
		return 1;
	/* a flooding client repeats itself: count those before building anything */
	if (e->client && admit(ev, e->client, e->rule && e->rule[0] ? e->rule : e->name, now,
			       &repeats, &suppressed) < 0)
		return 1;
	text = serialise(e, repeats, suppressed, 0);
	if (text && strlen(text) > KH_QUEUE_PAYLOAD_MAX) {
		free(text);
		text = serialise(e, repeats, suppressed, FIELD_CUT);
	}
	if (!text)
		return -ENOMEM;
	err = kh_queue_push(ev->queue, sev, now, e->type, text, &seq);
	free(text);
	if (err < 0 && seq)
		log_warn_err(err, "event %s queued in memory only for now (journal)", e->type);
	else if (err < 0)
		log_warn_err(err, "event %s not queued", e->type);
	if (err == 0 && ev->queued)
		ev->queued(ev->arg, sev);
	return err;
}

void kh_events_recent(const struct kh_events *ev, uint64_t since, cJSON *out)
{
	for (unsigned i = 0; i < ev->count; i++) {
		const struct recent *r = &ev->recent[(ev->head + i) % ev->cap];
		cJSON *o;
		if (r->seq <= since)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "seq", (double)r->seq);
		cJSON_AddNumberToObject(o, "time", (double)r->time);
		cJSON_AddStringToObject(o, "type", r->type);
		cJSON_AddStringToObject(o, "severity", kh_severity_name(r->severity));
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "category", r->category);
		cJSON_AddStringToObject(o, "rule", r->rule);
		cJSON_AddStringToObject(o, "source", r->source);
		cJSON_AddStringToObject(o, "qtype", r->qtype);
		cJSON_AddStringToObject(o, "client", r->client);
		cJSON_AddItemToArray(out, o);
	}
}

void kh_events_counts(const struct kh_events *ev, uint64_t *repeats, uint64_t *over_rate)
{
	*repeats = ev->suppressed;
	*over_rate = ev->over_budget;
}

void kh_events_status(const struct kh_events *ev, cJSON *out)
{
	cJSON_AddNumberToObject(out, "events_queued", ev->count);
	cJSON_AddNumberToObject(out, "events_dropped", (double)ev->dropped);
}
