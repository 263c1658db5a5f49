/* SPDX-License-Identifier: MIT */
/*
 * The one owner of security events. Every module (dns now; audit and
 * integrity next) hands its events here as typed structs; this module
 * keeps the recent ones for `khienctl events`,
 * applies the flood gate (repeats of one client and rule, a client over
 * its rate), serialises each admitted event once (a JSON object within
 * KH_QUEUE_PAYLOAD_MAX) and hands it to the report queue (agent/queue.h),
 * the only store of what is to be uploaded. The upload sends that text as
 * it was stored.
 */
#ifndef KHIEN_AGENT_EVENT_H
#define KHIEN_AGENT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/severity.h"

struct kh_events;
struct kh_queue;
struct cJSON;

/*
 * An event as a module reports it. Strings are valid during the call only;
 * a NULL field does not apply and is left out of the payload.
 */
struct kh_event {
	const char *type;	   /* [a-z0-9_], e.g. "dns_blocked" */
	enum kh_severity severity; /* the module decides (dns: agent/category.c) */
	int64_t time;		   /* wall clock, Unix seconds; 0 = now */
	/*
	 * client: the keyed-hash client id. An event with one may flood (every
	 * blocked query of an infected client) and goes through the gate, keyed
	 * by rule (by name when the rule is empty).
	 */
	const char *client, *rule, *name;
	const char *category, *qtype, *source;
	const char *sha256, *reason;
	const char *check, *evidence; /* audit: the failing check and what it saw */
	uint64_t version;	      /* 0 = none */
};

/* An owner keeping the last `recent` events for `khienctl events`. 0 or -ENOMEM. */
int kh_events_new(unsigned recent, struct kh_events **out);
void kh_events_free(struct kh_events *ev);

/*
 * Admitted events go to q from now on (NULL: none are queued, only kept
 * as recent); queued(arg, severity) is called after each one is queued
 * (reporting brings the next sync forward for a serious one).
 */
void kh_events_attach(struct kh_events *ev, struct kh_queue *q,
		      void (*queued)(void *arg, enum kh_severity sev), void *arg);

/*
 * Take an event: recent list, gate, serialise, queue. 0 when queued, 1
 * when kept as recent only (gated, or nothing attached), negative errno
 * when the queue refused it.
 */
int kh_event_emit(struct kh_events *ev, const struct kh_event *e);

/* Recent events with sequence number > since, oldest first, into a JSON array. */
void kh_events_recent(const struct kh_events *ev, uint64_t since, struct cJSON *out);

/* Counters: events held back as repeats, as a client over its rate. */
void kh_events_counts(const struct kh_events *ev, uint64_t *repeats, uint64_t *over_rate);
/* "events_queued", "events_dropped" (of the recent list) into out. */
void kh_events_status(const struct kh_events *ev, struct cJSON *out);

#endif
