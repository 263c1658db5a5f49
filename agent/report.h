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
 * outage. Events (agent/event.h) wait in the persistent queue
 * (agent/queue.h) meanwhile; a high-severity event brings the next sync
 * forward. Everything runs on the
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
struct kh_events;
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
	/* The event owner: it queues into the report queue once reporting starts. */
	struct kh_events *events;
	/*
	 * Audit results (agent/audit.h; all NULL without an audit): the digest
	 * the server last acknowledged holding, for the check-in (NULL: none), the
	 * changes to upload (all of them if full; NULL: nothing to send) with
	 * the generation to acknowledge, and the acknowledgement, with the
	 * digest the server now holds: 0 in step, 1 if its copy differs (the
	 * next upload is then the whole set).
	 */
	const char *(*audit_digest)(void *arg);
	struct cJSON *(*audit_changes)(void *arg, int full, uint64_t *gen);
	int (*audit_stored)(void *arg, uint64_t gen, const char *sent_digest, const char *digest);
	/* The ISP's notice for the status page (server command "notice"; "" clears). May be NULL. */
	void (*notice)(void *arg, const char *text);
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

/* Sync now (khienctl sync). Returns the number of the sync that will answer. */
uint64_t kh_report_sync_now(struct kh_report *r);

/* "report" status: server, last sync and its result, queue, backoff. */
void kh_report_status(struct kh_report *r, struct cJSON *out);

#endif
