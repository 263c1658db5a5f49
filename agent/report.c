/* SPDX-License-Identifier: MIT */
/*
 * Reporting (see report.h, docs/PROTOCOL.md). One sync is a sequence of
 * HTTP/1.1 requests over one TLS connection:
 *
 *   POST /v1/checkin          -> assigned policy, commands, events_acked
 *   POST /v1/events  (k times) -> acked: the queue forgets up to it
 *   GET  /v1/policy/N (Range)  -> bundle bytes into STATE/policy.download
 *   POST /v1/checkin          (again, after a new policy was applied)
 *
 * The connection is a state machine on the event loop (connect, handshake,
 * send, receive head, receive body) with a deadline on the whole sync.
 * Response bodies are bounded: JSON answers to 64 KiB, bundles to
 * CONFIG_POLICY_MAX_BUNDLE_MB and streamed to the state directory, so a
 * partial download resumes on the next sync (Range + If-Range on the
 * bundle's SHA-256).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/download.h"
#include "agent/event.h"
#include "agent/https_conn.h"
#include "agent/report.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "lib/err.h"
#include "lib/jsonfield.h"
#include "lib/jsonnum.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/rand.h"
#include "platform/time.h"

#define JSON_MAX (64 * 1024)
#define REQ_MAX (256 * 1024) /* largest request body: one batch of events */
#define BATCH_EVENTS 200
#define BATCHES_PER_SYNC 50
#define SYNC_DEADLINE_S 60
#define BACKOFF_BASE_S 10
#define BACKOFF_CAP_S 3600
#define URGENT_DELAY_MS 2000	 /* a high-severity event is sent this soon */
#define SERVER_SYNC_MIN_MS 30000 /* server-requested syncs: at most one per 30 s */

enum step {
	S_CHECKIN,
	S_EVENTS,
	S_AUDIT,
	S_POLICY,
	S_CHECKIN_AGAIN,
	S_DONE
};

struct kh_report {
	struct kh_loop *loop;
	const struct kh_agent_config *cfg;
	struct kh_report_hooks hooks;
	struct kh_queue *queue;
	struct kh_tls_conf *tls_conf;
	struct kh_https *conn;
	char host[256];
	struct kh_addr server;
	struct kh_drbg rng;
	struct kh_download dl;

	/* scheduling */
	struct kh_timer next, deadline, flush;
	uint64_t next_at;      /* monotonic ms of the next sync */
	int64_t retry_after_s; /* from the last failed answer, or 0 */
	uint32_t interval_s;
	unsigned failures;
	uint64_t syncs_done, syncs_ok;
	int64_t last_ok;
	char last_result[200];
	int again; /* a sync was asked for while one ran */

	/* the running sync */
	enum step step;
	unsigned batches;
	uint64_t sent_upto;

	/* what the server told us */
	uint64_t assigned_version, assigned_size;
	char assigned_sha[65];
	char rejected_sha[65]; /* a bundle that failed verification: not again */
	unsigned policy_failures;
	int64_t cmd_done[8]; /* server commands carried out, to report */
	unsigned ncmd_done, cmd_done_sent;
	uint64_t policy_retry_at; /* monotonic ms; downloads wait until then */
	uint64_t acked;

	/* audit results: the server asked for all of them; the upload in flight */
	int audit_full, audit_tries;
	uint64_t audit_gen;
	char audit_sent[65];

	int server_again;	 /* the server asked for another sync */
	uint64_t server_sync_ms; /* monotonic ms of the last one it got */
};

static void sync_end(struct kh_report *r, int ok, const char *fmt, ...) KH_PRINTF(3, 4);
static void step_next(struct kh_report *r);
static void next_request(struct kh_report *r, int keep_alive);
static void conn_open(struct kh_report *r);

/* ---------------------------------------------------------------- scheduling */

static uint64_t rnd_below(struct kh_report *r, uint64_t n)
{
	uint64_t v = 0;

	if (n == 0)
		return 0;
	kh_drbg_generate(&r->rng, &v, sizeof(v));
	return v % n;
}

static void schedule(struct kh_report *r, uint64_t ms)
{
	r->next_at = kh_time_mono_ms() + ms;
	kh_timer_arm(r->loop, &r->next, ms);
}

/* Exponential backoff: base doubled per failure in a row, capped at an hour. */
static uint64_t backoff_ms(unsigned failures, uint64_t base_ms)
{
	unsigned n = failures < 20 ? failures : 20;
	uint64_t w = base_ms << n;

	return w < (uint64_t)BACKOFF_CAP_S * 1000 ? w : (uint64_t)BACKOFF_CAP_S * 1000;
}

/*
 * After a sync: the interval with +-10% jitter when it worked; otherwise
 * full jitter over an exponentially growing, capped window.
 */
static void schedule_after(struct kh_report *r, int ok)
{
	uint64_t ms;

	if (ok) {
		uint64_t base = (uint64_t)r->interval_s * 1000;
		ms = base - base / 10 + rnd_below(r, base / 5 + 1);
	} else {
		ms = 1000 + rnd_below(r, backoff_ms(r->failures, BACKOFF_BASE_S * 1000));
		/* A busy server may say when to come back (503 + Retry-After). */
		if (r->retry_after_s > 0 && (uint64_t)r->retry_after_s * 1000 > ms)
			ms = (uint64_t)(r->retry_after_s < BACKOFF_CAP_S ? r->retry_after_s
									 : BACKOFF_CAP_S) *
			     1000;
	}
	r->retry_after_s = 0;
	if (r->server_again) {
		/* the server may ask for another sync, but not make the device spin */
		uint64_t now = kh_time_mono_ms(), at = r->server_sync_ms + SERVER_SYNC_MIN_MS;
		uint64_t wait = r->server_sync_ms && at > now ? at - now : 0;
		r->server_again = 0;
		if (wait < ms) {
			ms = wait;
			r->server_sync_ms = now + wait;
		}
	}
	if (r->again) {
		r->again = 0;
		ms = 0;
	}
	schedule(r, ms);
}

static void close_conn(struct kh_report *r)
{
	if (r->conn)
		kh_https_close(r->conn);
	kh_download_close(&r->dl);
	kh_timer_cancel(r->loop, &r->deadline);
}

static void sync_end(struct kh_report *r, int ok, const char *fmt, ...)
{
	va_list ap;

	/* the message may quote the response body: format it before it is freed */
	va_start(ap, fmt);
	vsnprintf(r->last_result, sizeof(r->last_result), fmt, ap);
	va_end(ap);
	close_conn(r);
	r->syncs_done++;
	if (ok) {
		r->syncs_ok++;
		r->failures = 0;
		r->last_ok = kh_time_wall();
		log_info("sync: %s", r->last_result);
	} else {
		r->failures++;
		log_warn("sync failed: %s", r->last_result);
	}
	kh_queue_sync(r->queue);
	schedule_after(r, ok);
}

/* ---------------------------------------------------------------- requests */

static int send_json(struct kh_report *r, const char *target, cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	int err;

	cJSON_Delete(o);
	if (!t)
		return -ENOMEM;
	err = kh_https_request(r->conn, "POST", target, t, strlen(t), NULL);
	free(t);
	return err;
}

static int req_checkin(struct kh_report *r)
{
	cJSON *o = cJSON_CreateObject(), *p, *e, *h;
	struct kh_queue_stats qs;
	uint64_t dropped = 0, repeats, over_rate;

	kh_queue_stats(r->queue, &qs);
	for (int i = 0; i < KH_SEV_COUNT; i++)
		dropped += qs.dropped[i];
	cJSON_AddStringToObject(o, "firmware", r->cfg->firmware);
	cJSON_AddStringToObject(o, "hardware_id", r->cfg->hardware_id);
	p = cJSON_AddObjectToObject(o, "policy");
	cJSON_AddNumberToObject(p, "version", (double)r->hooks.policy_version(r->hooks.arg));
	cJSON_AddNumberToObject(p, "root_version", (double)r->hooks.root_version(r->hooks.arg));
	e = cJSON_AddObjectToObject(o, "events");
	cJSON_AddNumberToObject(e, "pending", qs.count);
	kh_json_add_uint(e, "next_seq", qs.next_seq);
	cJSON_AddNumberToObject(e, "dropped", (double)dropped);
	h = cJSON_AddObjectToObject(o, "status");
	if (r->hooks.health)
		r->hooks.health(r->hooks.arg, h);
	kh_events_counts(r->hooks.events, &repeats, &over_rate);
	cJSON_AddNumberToObject(h, "events_suppressed", (double)repeats);
	cJSON_AddNumberToObject(h, "events_over_rate", (double)over_rate);
	if (r->hooks.audit_digest && r->hooks.audit_digest(r->hooks.arg))
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "audit"), "digest",
					r->hooks.audit_digest(r->hooks.arg));
	if (r->ncmd_done) {
		cJSON *d = cJSON_AddArrayToObject(o, "commands_done");
		for (unsigned i = 0; i < r->ncmd_done; i++)
			cJSON_AddItemToArray(d, cJSON_CreateNumber((double)r->cmd_done[i]));
		r->cmd_done_sent = r->ncmd_done;
	}
	return send_json(r, "/v1/checkin", o);
}

/*
 * One batch of queued events after what the server acknowledged. Each
 * payload goes as it was serialised when the event was queued: the type is
 * [a-z0-9_] and the severity a fixed name, so nothing needs escaping.
 */
static int req_events(struct kh_report *r)
{
	struct kh_queue_event ev[BATCH_EVENTS];
	struct kh_queue_stats qs;
	unsigned n = kh_queue_peek(r->queue, r->acked, ev, BATCH_EVENTS), i;
	uint64_t dropped = 0;
	size_t len;
	char *b;
	int err;

	if (n == 0)
		return -ENOENT;
	/*
	 * What the server may acknowledge must be on flash first: an event sent,
	 * then lost in a power cut, would see its number issued again.
	 */
	if (kh_queue_sync(r->queue) < 0)
		return -EIO;
	kh_queue_stats(r->queue, &qs);
	for (i = 0; i < KH_SEV_COUNT; i++)
		dropped += qs.dropped[i];
	/* stops at half of REQ_MAX: one more event (< 1.2 KiB) always fits */
	if (!(b = malloc(REQ_MAX)))
		return -ENOMEM;
	len = (size_t)snprintf(b, REQ_MAX, "{\"events\":[");
	for (i = 0; i < n && len < REQ_MAX / 2; i++) {
		len += (size_t)snprintf(
			b + len, REQ_MAX - len,
			"%s{\"seq\":%llu,\"time\":%lld,\"type\":\"%s\",\"severity\":\"%s\","
			"\"data\":%s}",
			i ? "," : "", (unsigned long long)ev[i].seq,
			(long long)(ev[i].time > 0 ? ev[i].time : 0), ev[i].type,
			kh_severity_name(ev[i].severity), ev[i].payload);
		r->sent_upto = ev[i].seq;
	}
	len += (size_t)snprintf(b + len, REQ_MAX - len, "],\"dropped\":%llu}",
				(unsigned long long)dropped);
	r->batches++;
	err = len < REQ_MAX ? kh_https_request(r->conn, "POST", "/v1/events", b, len, NULL)
			    : -E2BIG;
	free(b);
	return err;
}

/* The audit results that changed (or all, when the server's copy differs); -ENOENT: none. */
static int req_audit(struct kh_report *r)
{
	cJSON *o;
	const char *d;

	if (!r->hooks.audit_changes || r->audit_tries >= 2)
		return -ENOENT;
	o = r->hooks.audit_changes(r->hooks.arg, r->audit_full, &r->audit_gen);
	if (!o)
		return -ENOENT;
	r->audit_tries++;
	d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "digest"));
	kh_strlcpy(r->audit_sent, d ? d : "", sizeof(r->audit_sent));
	return send_json(r, "/v1/audit", o);
}

static int req_policy(struct kh_report *r)
{
	char target[64], extra[200];
	int err;

	snprintf(target, sizeof(target), "/v1/policy/%llu",
		 (unsigned long long)r->assigned_version);
	err = kh_download_begin(&r->dl, r->assigned_sha, r->assigned_size, extra, sizeof(extra));
	if (err < 0)
		return err;
	log_notice("downloading policy %llu (%llu bytes)%s",
		   (unsigned long long)r->assigned_version, (unsigned long long)r->assigned_size,
		   r->dl.have ? ", resuming" : "");
	return kh_https_request(r->conn, "GET", target, NULL, 0, extra[0] ? extra : NULL);
}

/* ---------------------------------------------------------------- responses */

/*
 * The server's stored maximum: everything up to it arrived. One above the
 * numbers this journal issued means the device's state was wiped since the
 * server last heard from it: the queue renumbers what it holds.
 */
static void server_acked(struct kh_report *r, uint64_t ack)
{
	struct kh_queue_stats qs;
	int err;

	kh_queue_stats(r->queue, &qs);
	if (ack >= qs.next_seq)
		log_warn("server holds events up to %llu, this device numbers from %llu (state "
			 "reset?): renumbering %u queued event(s)",
			 (unsigned long long)ack, (unsigned long long)qs.next_seq, qs.count);
	err = kh_queue_ack(r->queue, ack);
	if (err < 0) {
		log_warn_err(err, "acknowledgement %llu not taken", (unsigned long long)ack);
		return;
	}
	kh_queue_stats(r->queue, &qs);
	r->acked = qs.acked;
	if (ack >= r->sent_upto)
		r->sent_upto = 0;
}

/* A check-in answer (docs/PROTOCOL.md), read by table: a refusal names the field. */
struct checkin_ans {
	uint64_t interval_s, events_acked;
	int audit_full;
	const cJSON *policy, *commands;
};
static const struct kh_json_field checkin_ans_fields[] = {
	KH_JSON_F_UINT("interval_s", 0, 10, 86400, struct checkin_ans, interval_s),
	KH_JSON_F_UINT("events_acked", 0, 0, KH_JSON_INT_MAX, struct checkin_ans, events_acked),
	KH_JSON_F_BOOL("audit_full", 0, struct checkin_ans, audit_full),
	KH_JSON_F_ARR("commands", 0, 0, 64, struct checkin_ans, commands),
};
struct policy_ans {
	uint64_t version, size;
	const char *sha256;
};
static const struct kh_json_field policy_ans_fields[] = {
	KH_JSON_F_UINT("version", 1, 1, KH_JSON_INT_MAX, struct policy_ans, version),
	KH_JSON_F_UINT("size", 1, 1, (uint64_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20, struct policy_ans,
		       size),
	KH_JSON_F_STR("sha256", 1, 64, 64, struct policy_ans, sha256),
};
struct command_ans {
	uint64_t id;
	const char *type, *arg;
};
static const struct kh_json_field command_ans_fields[] = {
	KH_JSON_F_UINT("id", 1, 1, KH_JSON_INT_MAX, struct command_ans, id),
	KH_JSON_F_STR("type", 1, 1, 32, struct command_ans, type),
	KH_JSON_F_STR("arg", 0, 0, 256, struct command_ans, arg),
};

/* Take a check-in answer; -EINVAL with why (nothing of it taken) if a field is wrong. */
static int on_checkin(struct kh_report *r, const cJSON *o, char *why, size_t whylen)
{
	struct checkin_ans ca = {.interval_s = 0};
	struct policy_ans pa = {0};
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "policy"), *c;
	uint8_t raw[32];
	char path[24];
	int i = 0;

	if (kh_json_parse_fields(o, checkin_ans_fields, KH_ARRAY_SIZE(checkin_ans_fields), &ca,
				 NULL, why, whylen) < 0)
		return -EINVAL;
	if (p && !cJSON_IsNull(p) &&
	    (!cJSON_IsObject(p) ||
	     kh_json_parse_fields(p, policy_ans_fields, KH_ARRAY_SIZE(policy_ans_fields), &pa,
				  "policy", why, whylen) < 0)) {
		if (!cJSON_IsObject(p))
			snprintf(why, whylen, "policy: expected an object or null");
		return -EINVAL;
	}
	if (pa.sha256 && kh_hex_decode(pa.sha256, raw, 32) < 0) {
		snprintf(why, whylen, "policy.sha256: expected 64 hex digits");
		return -EINVAL;
	}
	cJSON_ArrayForEach (c, ca.commands) {
		struct command_ans cm = {0};
		snprintf(path, sizeof(path), "commands[%d]", i++);
		if (kh_json_parse_fields(c, command_ans_fields, KH_ARRAY_SIZE(command_ans_fields),
					 &cm, path, why, whylen) < 0)
			return -EINVAL;
	}
	/* all of it is well formed: take it */
	if (ca.audit_full) /* the server's copy of our audit results is not ours: send all */
		r->audit_full = 1;
	if (ca.interval_s)
		r->interval_s = (uint32_t)ca.interval_s;
	if (cJSON_GetObjectItemCaseSensitive(o, "events_acked"))
		server_acked(r, ca.events_acked);
	r->assigned_version = 0;
	if (pa.sha256) {
		if (strcmp(r->assigned_sha, pa.sha256) != 0)
			r->policy_retry_at = 0, r->policy_failures = 0; /* a new bundle */
		r->assigned_version = pa.version;
		r->assigned_size = pa.size;
		kh_strlcpy(r->assigned_sha, pa.sha256, sizeof(r->assigned_sha));
	}
	/* the server has our report of what was done: forget it */
	memmove(r->cmd_done, r->cmd_done + r->cmd_done_sent,
		(r->ncmd_done - r->cmd_done_sent) * sizeof(r->cmd_done[0]));
	r->ncmd_done -= r->cmd_done_sent;
	r->cmd_done_sent = 0;
	cJSON_ArrayForEach (c, ca.commands) {
		struct command_ans cm = {0};
		kh_json_parse_fields(c, command_ans_fields, KH_ARRAY_SIZE(command_ans_fields), &cm,
				     NULL, why, whylen); /* checked above */
		/* carried out (or refused) either way: reported done at the next check-in */
		if (r->ncmd_done < KH_ARRAY_SIZE(r->cmd_done))
			r->cmd_done[r->ncmd_done++] = (int64_t)cm.id;
		if (strcmp(cm.type, "sync") == 0) {
			r->server_again = 1;
		} else if (strcmp(cm.type, "set_interval") == 0 && cm.arg) {
			long sec = strtol(cm.arg, NULL, 10);
			if (sec >= 10 && sec <= 86400)
				r->interval_s = (uint32_t)sec;
		} else if (strcmp(cm.type, "notice") == 0 && r->hooks.notice) {
			r->hooks.notice(r->hooks.arg, cm.arg ? cm.arg : "");
		} else {
			log_warn("server command %s not understood", cm.type);
		}
	}
	return 0;
}

/*
 * The policy step failed after check-in and events went through: the sync
 * still counts as working (the fleet keeps its interval), and the download
 * is retried on its own backoff.
 */
static void policy_failed(struct kh_report *r, const char *fmt, ...) KH_PRINTF(2, 3);
static void policy_failed(struct kh_report *r, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->policy_retry_at = kh_time_mono_ms() + backoff_ms(r->policy_failures++, 30000);
	sync_end(r, 1, "ok, but policy %llu: %s (retry in %llu s)",
		 (unsigned long long)r->assigned_version, msg,
		 (unsigned long long)(r->policy_retry_at - kh_time_mono_ms()) / 1000);
}

/* The whole bundle is in the download file: check and apply it, from the mapped file. */
static void bundle_done(struct kh_report *r, int keep_alive)
{
	struct kh_fs_map map;
	char why[512];
	int err;

	if (kh_download_finish(&r->dl, &map, why, sizeof(why)) < 0) {
		policy_failed(r, "%s", why);
		return;
	}
	err = r->hooks.apply(r->hooks.arg, map.data, map.len, why, sizeof(why));
	kh_fs_unmap(&map);
	/* applied or refused, it is not downloaded again */
	kh_download_discard(&r->dl);
	if (err < 0) {
		const struct kh_event e = {
			.type = "policy_rejected",
			.severity = KH_SEV_HIGH,
			.version = r->assigned_version,
			.sha256 = r->assigned_sha,
			.reason = why,
		};
		kh_strlcpy(r->rejected_sha, r->assigned_sha, sizeof(r->rejected_sha));
		/* A bundle the server offers but the device refuses is an incident. */
		kh_event_emit(r->hooks.events, &e);
		log_error("policy %llu from the server refused: %s",
			  (unsigned long long)r->assigned_version, why);
		r->step = S_EVENTS; /* report the refusal now */
		r->batches = 0;
		next_request(r, keep_alive);
		return;
	}
	r->policy_failures = 0;
	r->policy_retry_at = 0;
	r->step = S_CHECKIN_AGAIN;
	next_request(r, keep_alive);
}

/*
 * The connection failed mid-step. While the answer to the download came,
 * that is the download's failure (retried on its own backoff, the partial
 * kept for a resume unless the server sent what cannot be resumed);
 * otherwise the sync's.
 */
static void on_failed(void *arg, int err, int answering, const char *msg)
{
	struct kh_report *r = arg;

	if (r->step != S_POLICY || !answering) {
		sync_end(r, 0, "%s", msg);
		return;
	}
	if (err == -E2BIG || err == -ENOSPC || err == -EBADMSG)
		kh_download_discard(&r->dl);
	policy_failed(r, "%s", msg);
}

/* A response head: the bundle streams to its file, everything else is a JSON answer. */
static int on_head(void *arg, const struct kh_http_resp *resp, int *stream)
{
	struct kh_report *r = arg;

	if (r->step == S_POLICY && (resp->status == 200 || resp->status == 206)) {
		*stream = 1;
		return kh_download_head(&r->dl, resp->status, resp->content_range,
					resp->content_length);
	}
	kh_download_close(&r->dl);
	return 0;
}

static int on_body(void *arg, const uint8_t *p, size_t n)
{
	struct kh_report *r = arg;
	return kh_download_write(&r->dl, p, n);
}

/* A complete response (body NULL when it was streamed to the download). */
static void on_done(void *arg, const struct kh_http_resp *resp, const char *body, size_t len)
{
	struct kh_report *r = arg;
	cJSON *o = NULL;
	int st = resp->status;

	if (r->step == S_POLICY) {
		if (st == 200 || st == 206) {
			bundle_done(r, resp->keep_alive);
			return;
		}
		kh_download_discard(&r->dl);
		policy_failed(r, "download: HTTP %d", st);
		return;
	}
	if (st != 200) {
		r->retry_after_s = resp->retry_after > 0 ? resp->retry_after : 0;
		sync_end(r, 0, "%s: HTTP %d %.100s",
			 r->step == S_EVENTS  ? "events"
			 : r->step == S_AUDIT ? "audit"
					      : "check-in",
			 st, body ? body : "");
		return;
	}
	o = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		sync_end(r, 0, "server answered with malformed JSON");
		return;
	}
	if (r->step == S_CHECKIN || r->step == S_CHECKIN_AGAIN) {
		char why[160];
		if (on_checkin(r, o, why, sizeof(why)) < 0) {
			cJSON_Delete(o);
			sync_end(r, 0, "check-in answer refused: %s", why);
			return;
		}
		r->step = r->step == S_CHECKIN ? S_EVENTS : S_DONE;
	} else if (r->step == S_EVENTS) {
		uint64_t acked;
		if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(o, "acked"), 0, KH_JSON_INT_MAX,
				 &acked) < 0) {
			cJSON_Delete(o);
			sync_end(r, 0, "events: answer without \"acked\" (an integer below 2^53)");
			return;
		}
		server_acked(r, acked);
		if (r->acked < r->sent_upto) {
			cJSON_Delete(o);
			sync_end(r, 0, "events: server stored up to %llu of %llu",
				 (unsigned long long)r->acked, (unsigned long long)r->sent_upto);
			return;
		}
	} else if (r->step == S_AUDIT) {
		const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "digest"));
		if (!d || strlen(d) != 64) {
			cJSON_Delete(o);
			sync_end(r, 0, "audit: answer without \"digest\"");
			return;
		}
		/* a copy that differs: the whole set, once more in this sync */
		r->audit_full = r->hooks.audit_stored(r->hooks.arg, r->audit_gen, r->audit_sent, d);
	}
	cJSON_Delete(o);
	next_request(r, resp->keep_alive);
}

/*
 * After a response: the next request, on this connection, or on a new one
 * when the server said it closes this one (Connection: close).
 */
static void next_request(struct kh_report *r, int keep_alive)
{
	if (keep_alive || r->step == S_DONE) {
		step_next(r);
		return;
	}
	conn_open(r); /* its handshake continues with r->step */
}

/* Decide and send the next request of this sync, or finish it. */
static void step_next(struct kh_report *r)
{
	int err = 0;

	for (;;) {
		switch (r->step) {
		case S_CHECKIN:
			err = req_checkin(r);
			break;
		case S_EVENTS:
			if (r->batches >= BATCHES_PER_SYNC) {
				r->again = 1; /* more to send: continue right away */
				r->step = S_AUDIT;
				continue;
			}
			err = req_events(r);
			if (err == -ENOENT) {
				r->step = S_AUDIT;
				continue;
			}
			break;
		case S_AUDIT:
			err = req_audit(r);
			if (err == -ENOENT) {
				r->step = S_POLICY;
				continue;
			}
			break;
		case S_POLICY:
			if (r->assigned_version <= r->hooks.policy_version(r->hooks.arg) ||
			    strcmp(r->assigned_sha, r->rejected_sha) == 0 ||
			    kh_time_mono_ms() < r->policy_retry_at) {
				r->step = S_DONE;
				continue;
			}
			err = req_policy(r);
			break;
		case S_CHECKIN_AGAIN:
			err = req_checkin(r);
			break;
		case S_DONE: {
			struct kh_queue_stats qs;
			kh_queue_stats(r->queue, &qs);
			sync_end(r, 1, "ok (policy %llu, %u event(s) pending, acked %llu%s)",
				 (unsigned long long)r->hooks.policy_version(r->hooks.arg),
				 qs.count, (unsigned long long)r->acked,
				 kh_https_resumed(r->conn) ? ", resumed session" : "");
			return;
		}
		}
		break;
	}
	if (err < 0) {
		sync_end(r, 0, "cannot build request: %s", kh_strerror(err));
		return;
	}
}

/* ---------------------------------------------------------------- connection */

static void on_ready(void *arg)
{
	step_next(arg);
}

static const struct kh_https_ops conn_ops = {
	.ready = on_ready,
	.head = on_head,
	.body = on_body,
	.done = on_done,
	.failed = on_failed,
};

static void on_deadline(struct kh_loop *loop, void *arg)
{
	struct kh_report *r = arg;
	char msg[40];

	(void)loop;
	snprintf(msg, sizeof(msg), "timed out (%d s)", SYNC_DEADLINE_S);
	on_failed(r, 0, 1, msg);
}

/* Connect and start the TLS handshake; the sync goes on from on_ready(). */
static void conn_open(struct kh_report *r)
{
	char why[160];

	if (kh_https_open(r->conn, why, sizeof(why)) < 0)
		sync_end(r, 0, "%s", why);
}

static void sync_start(struct kh_loop *loop, void *arg)
{
	struct kh_report *r = arg;

	(void)loop;
	if (kh_https_busy(r->conn))
		return;
	r->step = S_CHECKIN;
	r->batches = 0;
	r->sent_upto = 0;
	r->audit_tries = 0;
	conn_open(r);
	if (kh_https_busy(r->conn))
		kh_timer_arm(r->loop, &r->deadline, SYNC_DEADLINE_S * 1000);
}

static void on_flush(struct kh_loop *loop, void *arg)
{
	struct kh_report *r = arg;

	kh_queue_sync(r->queue);
	kh_timer_arm(loop, &r->flush, 5000);
}

/* ---------------------------------------------------------------- public */

/* "https://HOST:PORT" → host (for TLS) and the address to dial. */
static int parse_url(struct kh_report *r, char *why, size_t whylen)
{
	uint16_t port;

	if (kh_http_parse_url(r->cfg->report_url, r->host, sizeof(r->host), &port) < 0) {
		snprintf(why, whylen, "report.url %s: expected https://HOST:PORT",
			 r->cfg->report_url);
		return -EINVAL;
	}
	if (r->cfg->report_connect[0])
		return kh_addr_parse(r->cfg->report_connect, 0, &r->server) < 0 ? -EINVAL : 0;
	if (kh_addr_parse_ip(r->host, &r->server) == 0) {
		r->server.port = port;
		return 0;
	}
	snprintf(why, whylen, "report.url %s: the host is a name; give report.connect (IP:PORT)",
		 r->cfg->report_url);
	return -EINVAL;
}

int kh_report_new(struct kh_loop *loop, const struct kh_agent_config *cfg,
		  const struct kh_report_hooks *hooks, struct kh_report **out, char *why,
		  size_t whylen)
{
	const char *const files[3] = {cfg->report_ca, cfg->report_cert, cfg->report_key};
	const char *const what[3] = {"report.server_ca", "report.cert", "report.key"};
	const struct kh_tls_conf_opts o = {.role = KH_TLS_CLIENT, .require_peer_cert = 1};
	struct kh_report *r;
	int err = 0, i;

	why[0] = 0;
	if (!cfg->report_url[0])
		return -ENOENT;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->cfg = cfg;
	r->hooks = *hooks;
	r->interval_s = cfg->report_interval_s;
	kh_download_init(&r->dl, cfg->state_dir);
	kh_timer_init(&r->next, sync_start, r);
	kh_timer_init(&r->deadline, on_deadline, r);
	kh_timer_init(&r->flush, on_flush, r);
	if ((err = parse_url(r, why, whylen)) < 0)
		goto fail;
	if ((err = kh_drbg_init(&r->rng, "khien-report")) < 0) {
		snprintf(why, whylen, "no entropy");
		goto fail;
	}
	for (i = 0; i < 3; i++)
		if (!files[i][0]) {
			snprintf(why, whylen, "%s is required for reporting", what[i]);
			err = -EINVAL;
			goto fail;
		}
	if ((err = kh_tls_conf_load(&o, files, what, &r->tls_conf, why, whylen)) < 0)
		goto fail;
	if ((err = kh_https_new(loop, r->tls_conf, r->host, &r->server, JSON_MAX, &conn_ops, r,
				&r->conn)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	kh_report_free(r);
	return err < 0 ? err : -EINVAL;
}

/* An event was queued: a serious one goes out soon, unless the server is known to be away. */
static void on_queued(void *arg, enum kh_severity sev)
{
	struct kh_report *r = arg;

	if (sev >= KH_SEV_HIGH && !kh_https_busy(r->conn) && r->failures == 0 &&
	    r->syncs_done > 0 && r->next_at > kh_time_mono_ms() + URGENT_DELAY_MS)
		schedule(r, URGENT_DELAY_MS);
}

int kh_report_start(struct kh_report *r, char *why, size_t whylen)
{
	char qpath[KH_CFG_PATH_MAX + 32];
	int err;

	why[0] = 0;
	snprintf(qpath, sizeof(qpath), "%s/spool/events.journal", r->cfg->state_dir);
	if ((err = kh_queue_open(qpath, r->cfg->report_queue_events,
				 (size_t)r->cfg->report_queue_kb << 10, &r->queue, why, whylen)) <
	    0)
		return err;
	if (why[0])
		log_error("report queue: %s", why);
	why[0] = 0;
	/*
	 * First sync within the interval (5 minutes at most), at random: a
	 * city whose power comes back does not check in all in one second.
	 */
	schedule(r,
		 1000 + rnd_below(r, (uint64_t)(r->interval_s < 300 ? r->interval_s : 300) * 1000));
	kh_timer_arm(r->loop, &r->flush, 5000);
	kh_events_attach(r->hooks.events, r->queue, on_queued, r);
	return 0;
}

void kh_report_free(struct kh_report *r)
{
	if (!r)
		return;
	close_conn(r);
	if (r->queue)
		kh_events_attach(r->hooks.events, NULL, NULL, NULL);
	kh_timer_cancel(r->loop, &r->next);
	kh_timer_cancel(r->loop, &r->flush);
	kh_queue_free(r->queue);
	kh_https_free(r->conn);
	kh_tls_conf_free(r->tls_conf);
	kh_drbg_free(&r->rng);
	free(r);
}

uint64_t kh_report_sync_now(struct kh_report *r)
{
	if (kh_https_busy(r->conn)) {
		r->again = 1;
		return r->syncs_done + 2;
	}
	schedule(r, 0);
	return r->syncs_done + 1;
}

void kh_report_status(struct kh_report *r, cJSON *out)
{
	struct kh_queue_stats qs;
	cJSON *q, *d;
	uint64_t next = 0, repeats, over_rate;

	kh_queue_stats(r->queue, &qs);
	cJSON_AddStringToObject(out, "server", r->cfg->report_url);
	cJSON_AddStringToObject(out, "state", kh_https_busy(r->conn) ? "syncing" : "idle");
	cJSON_AddNumberToObject(out, "syncs", (double)r->syncs_done);
	cJSON_AddNumberToObject(out, "syncs_ok", (double)r->syncs_ok);
	cJSON_AddNumberToObject(out, "failures_in_a_row", r->failures);
	cJSON_AddNumberToObject(out, "last_ok", (double)r->last_ok);
	cJSON_AddStringToObject(out, "last_result", r->last_result);
	cJSON_AddNumberToObject(out, "interval_s", r->interval_s);
	if (kh_timer_armed(&r->next)) {
		uint64_t now = kh_time_mono_ms();
		next = r->next_at > now ? (r->next_at - now + 999) / 1000 : 0;
	}
	cJSON_AddNumberToObject(out, "next_sync_s", (double)next);
	cJSON_AddNumberToObject(out, "assigned_policy", (double)r->assigned_version);
	q = cJSON_AddObjectToObject(out, "queue");
	cJSON_AddNumberToObject(q, "pending", qs.count);
	cJSON_AddNumberToObject(q, "bytes", (double)qs.bytes);
	cJSON_AddNumberToObject(q, "next_seq", (double)qs.next_seq);
	cJSON_AddNumberToObject(q, "acked", (double)qs.acked);
	kh_events_counts(r->hooks.events, &repeats, &over_rate);
	cJSON_AddNumberToObject(q, "suppressed_repeats", (double)repeats);
	cJSON_AddNumberToObject(q, "suppressed_over_rate", (double)over_rate);
	d = cJSON_AddObjectToObject(q, "dropped");
	for (int i = 0; i < KH_SEV_COUNT; i++)
		cJSON_AddNumberToObject(d, kh_severity_name((enum kh_severity)i),
					(double)qs.dropped[i]);
}
