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
 * Start reporting as cfg->report_* says (cfg must outlive r). The queue
 * journal lives in cfg->state_dir. Returns 0, -ENOENT when reporting is
 * not configured (no report.url), or negative errno with why.
 */
int kh_report_new(struct kh_loop *loop, const struct kh_agent_config *cfg,
		  const struct kh_report_hooks *hooks, struct kh_report **out, char *why,
		  size_t whylen);
/* Accepts NULL; syncs the queue journal. */
void kh_report_free(struct kh_report *r);

/*
 * Repeats: call before building an event that may repeat (the same client
 * and name, say). -1: one with this key was queued less than a minute ago,
 * this one is only counted; else queue it, with the number of repeats
 * counted since the last (0 for none) as its "repeats". Cheap: it runs for
 * every blocked query of a flooding client.
 */
long kh_report_dedup(struct kh_report *r, const char *key);

/* Queue an event. payload: a JSON object (serialised here). 0 or negative errno. */
int kh_report_event(struct kh_report *r, enum kh_severity sev, const char *type,
		    const struct cJSON *payload);

/* Sync now (khienctl sync). Returns the number of the sync that will answer. */
uint64_t kh_report_sync_now(struct kh_report *r);

/* "report" status: server, last sync and its result, queue, backoff. */
void kh_report_status(struct kh_report *r, struct cJSON *out);

#endif
