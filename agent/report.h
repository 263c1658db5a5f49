/* SPDX-License-Identifier: MIT */
/*
 * Reporting to the ISP's central server (docs/PROTOCOL.md): khiend's
 * client side of mutual TLS (crypto/tls.h) with HTTP/1.1 + JSON. A sync is
 * one TLS connection (resumed when possible) that checks in, uploads
 * queued events in batches until the server has acknowledged them all,
 * and, when the server assigns a newer policy version, downloads the bundle
 * (resuming a partial download with Range) and hands it to the same
 * verify-and-apply path as `khienctl policy apply`: the channel is never
 * trusted on its own.
 *
 * Syncs run on a jittered interval; failures back off exponentially with
 * full jitter, capped, so a fleet does not return all at once after an
 * outage. Events wait in the persistent queue (agent/queue.h) meanwhile; a
 * high-severity event brings the next sync forward. Everything runs on the
 * event loop without blocking it.
 */
#ifndef KHIEN_AGENT_REPORT_H
#define KHIEN_AGENT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/queue.h"
#include "platform/loop.h"

struct kh_report;
struct cJSON;

/* What reporting needs from the rest of the agent. */
struct kh_report_hooks {
	void *arg;
	/* The active policy version (0 = none) and trust-root version. */
	uint64_t (*policy_version)(void *arg);
	uint64_t (*root_version)(void *arg);
	/* Verify and apply a downloaded bundle; 0 or negative errno with why. */
	int (*apply)(void *arg, const uint8_t *bundle, size_t len, char *why, size_t whylen);
	/* A few health counters for the check-in (a small JSON object). */
	void (*health)(void *arg, struct cJSON *out);
};

/*
 * Set up reporting as cfg->report_* says (cfg must outlive r): reads the
 * certificates and key, while the process may still read them. Returns 0,
 * -ENOENT when reporting is not configured (no report.url), or negative
 * errno with why.
 */
int kh_report_new(struct kh_loop *loop, const struct kh_agent_config *cfg,
		  const struct kh_report_hooks *hooks, struct kh_report **out, char *why,
		  size_t whylen);
/*
 * Start: open the queue journal (STATE/spool/events.journal) and schedule
 * the first sync. Called as the daemon user, after privileges are dropped,
 * so the journal is only ever opened by the user who owns spool/.
 */
int kh_report_start(struct kh_report *r, char *why, size_t whylen);
/* Accepts NULL; syncs the queue journal. */
void kh_report_free(struct kh_report *r);

/*
 * The gate in front of the queue, for events that may flood (every blocked
 * query of an infected or hostile client). Call before building the event.
 * -1: do not queue it, only count it: an event of the same client and key
 * (the rule that decided) was queued less than a minute ago, or the client
 * is over its rate (CONFIG_REPORT_CLIENT_EVENTS a minute). 0: queue it,
 * with *repeats (of this client and key since the last one queued) and
 * *suppressed (this client's events over its rate since its last one) to
 * carry. So the first event of each (client, rule) goes through and one
 * client cannot crowd out the others' first alerts.
 */
int kh_report_admit(struct kh_report *r, const char *client, const char *key, long *repeats,
		    long *suppressed);

/* Queue an event. payload: a JSON object (serialised here). 0 or negative errno. */
int kh_report_event(struct kh_report *r, enum kh_severity sev, const char *type,
		    const struct cJSON *payload);

/* Sync now (khienctl sync). Returns the number of the sync that will answer. */
uint64_t kh_report_sync_now(struct kh_report *r);

/* "report" status: server, last sync and its result, queue, backoff. */
void kh_report_status(struct kh_report *r, struct cJSON *out);

#endif
