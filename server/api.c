/* SPDX-License-Identifier: MIT */
/*
 * khien-server's request handlers (see api.h, docs/PROTOCOL.md). Every
 * JSON body is parsed with a byte limit already enforced by the caller, and
 * every field is checked for type, range and length before it reaches the
 * store; anything else is a 400 with the field's name. One table says, for
 * every route, its method, body limit, who may call it and its handler:
 * admission (before the body is read) and dispatch read the same row.
 * Published bundles are served from a small cache of read-only maps in
 * struct kh_srv, shared by all downloads.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "lib/jsonfield.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/proto.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/time.h"
#include "server/api.h"
#include "server/api_priv.h"
#include "server/render.h"
#include "server/rollout.h"

#define JSON "application/json"
#define MAX_COMMANDS 8
#define ADMIN_BODY_MAX (64 * 1024)
#define STATUS_JSON_MAX 1000
#define EVENTS_PAGE_MAX 1000
#define DASH_FORM_MAX 1024 /* KH_WEB_FORM_MAX: what the form parser takes */

/* ---------------------------------------------------------------- bundle cache */

struct kh_api_ref {
	uint64_t version;
	struct kh_fs_map map;
	unsigned refs; /* responses in flight + 1 while cached */
	uint64_t used;
};

static void ref_put(struct kh_api_ref *r)
{
	if (r && --r->refs == 0) {
		kh_fs_unmap(&r->map);
		free(r);
	}
}

static struct kh_api_ref *bundle_get(struct kh_srv *s, const struct kh_policy_rec *p)
{
	struct kh_api_ref **cache = s->cache.slot;
	char path[KH_SRV_PATH_MAX + 300];
	struct kh_api_ref *r;
	int i, victim = 0;

	for (i = 0; i < KH_SRV_CACHE_SLOTS; i++)
		if (cache[i] && cache[i]->version == p->version) {
			cache[i]->refs++;
			cache[i]->used = ++s->cache.tick;
			return cache[i];
		}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", s->dir, p->path);
	if (kh_fs_map(path, KH_SRV_ADMIN_BODY_MAX, &r->map) < 0 || r->map.len != p->size) {
		log_error("bundle %s is missing or not the published size", path);
		kh_fs_unmap(&r->map);
		free(r);
		return NULL;
	}
	r->version = p->version;
	for (i = 0; i < KH_SRV_CACHE_SLOTS; i++) {
		if (!cache[i]) {
			victim = i;
			break;
		}
		if (cache[i]->used < cache[victim]->used)
			victim = i;
	}
	ref_put(cache[victim]);
	cache[victim] = r;
	r->refs = 2; /* the cache and this response */
	r->used = ++s->cache.tick;
	return r;
}

void kh_api_cache_clear(struct kh_srv *s)
{
	for (int i = 0; i < KH_SRV_CACHE_SLOTS; i++) {
		ref_put(s->cache.slot[i]);
		s->cache.slot[i] = NULL;
	}
}

/* ---------------------------------------------------------------- responses */

void kh_api_set_json(struct kh_api_resp *resp, int status, cJSON *o)
{
	char *t = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!t) {
		resp->status = 500;
		t = strdup("{\"error\":\"out of memory\"}");
		if (!t)
			return;
	} else {
		resp->status = status;
	}
	resp->content_type = JSON;
	resp->body = (uint8_t *)t;
	resp->data = resp->body;
	resp->len = strlen(t);
}

void kh_api_error(struct kh_api_resp *resp, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	kh_api_set_json(resp, status, o);
}

void kh_api_resp_free(struct kh_api_resp *resp)
{
	free(resp->body);
	ref_put(resp->ref);
	memset(resp, 0, sizeof(*resp));
}

/* ---------------------------------------------------------------- helpers */

/* Value of key in a query string "a=1&b=2" (no escapes: values are plain). */
int kh_api_query(const char *q, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	while (*q) {
		const char *end = strchr(q, '&');
		size_t len = end ? (size_t)(end - q) : strlen(q);
		if (len > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			size_t vl = len - kl - 1;
			if (vl >= cap)
				return -E2BIG;
			memcpy(out, q + kl + 1, vl);
			out[vl] = 0;
			return 0;
		}
		q += len + (end ? 1 : 0);
	}
	return -ENOENT;
}

static int parse_u64(const char *t, uint64_t *out)
{
	uint64_t v = 0;

	if (!*t || strlen(t) > 18)
		return -EINVAL;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*t - '0');
	}
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- admission */

struct route {
	const char *method, *path;
	size_t arg_max, body_max;
	enum auth auth;
	unsigned flags;
	void (*handler)(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp);
};

int kh_api_operator_ok(struct kh_srv *s, const char *auth)
{
	uint8_t h[32];
	size_t n;

	if (strncmp(auth, "Bearer ", 7) != 0)
		return 0;
	n = strlen(auth + 7);
	if (n < 16)
		return 0;
	kh_sha256(auth + 7, n, h);
	return kh_ct_memeq(h, s->cfg.operator_token_sha256, 32);
}

int kh_api_device_admitted(struct kh_srv *s, struct kh_api_peer *peer)
{
	int err;

	peer->have_dev = 0;
	if (!peer->serial || !peer->cert_sha256)
		return 401;
	err = kh_store_device_get(s->store, peer->serial, &peer->dev);
	if (err < 0)
		return err == -ENOENT ? 403 : 503;
	if (peer->dev.status != KH_DEV_ACTIVE ||
	    !kh_ct_memeq(peer->dev.cert_sha256, peer->cert_sha256, 32))
		return 403;
	/* A resumed TLS session skips certificate checks: expiry is ours. */
	if (peer->dev.cert_not_after && kh_time_wall() > peer->dev.cert_not_after)
		return 403;
	peer->have_dev = 1;
	return 0;
}

/* ---------------------------------------------------------------- device endpoints */

/* What a check-in says (docs/PROTOCOL.md); commands_done is read leniently. */
struct checkin_in {
	const char *firmware, *hardware_id;
	const cJSON *policy, *events, *status, *audit;
};
static const struct kh_json_field checkin_fields[] = {
	KH_JSON_F_STR("firmware", 1, 0, KH_FIRMWARE_MAX, struct checkin_in, firmware),
	KH_JSON_F_STR("hardware_id", 1, 0, KH_FIRMWARE_MAX, struct checkin_in, hardware_id),
	KH_JSON_F_OBJ("policy", 1, struct checkin_in, policy),
	KH_JSON_F_OBJ("events", 0, struct checkin_in, events),
	KH_JSON_F_OBJ("status", 0, struct checkin_in, status),
	KH_JSON_F_OBJ("audit", 0, struct checkin_in, audit),
};
struct checkin_audit {
	const char *digest;
};
static const struct kh_json_field checkin_audit[] = {
	KH_JSON_F_STR("digest", 1, 64, 64, struct checkin_audit, digest),
};
static const struct kh_json_field checkin_policy[] = {
	KH_JSON_F_UINT("version", 1, 0, KH_JSON_INT_MAX, struct kh_checkin, policy_version),
};
static const struct kh_json_field checkin_events[] = {
	KH_JSON_F_UINT("dropped", 0, 0, KH_JSON_INT_MAX, struct kh_checkin, events_dropped),
};

int kh_api_mirror_check(const char *url, char *why, size_t whylen)
{
	char host[64];
	const char *path;
	struct kh_addr a;
	uint16_t port;
	int tls;

	/* room for "/" VERSION ".bundle" within the device's limit */
	if (strlen(url) > KH_HTTP_MIRROR_URL_MAX - 30 || strlen(url) > KH_MIRROR_URL_MAX) {
		snprintf(why, whylen, "longer than %d bytes", KH_HTTP_MIRROR_URL_MAX - 30);
		return -EINVAL;
	}
	if (kh_http_parse_mirror(url, &tls, host, sizeof(host), &port, &path) < 0 ||
	    kh_addr_parse_ip(host, &a) < 0) {
		snprintf(why, whylen,
			 "expected http:// or https://, an IP address (devices resolve no names), "
			 "[:PORT] and a path without query, spaces or \"..\"");
		return -EINVAL;
	}
	return 0;
}

/* Where the bundle may also be fetched: each of the group's mirrors + "/VERSION.bundle". */
static void add_mirrors(struct kh_srv *s, const char *group, const struct kh_policy_rec *p,
			cJSON *po)
{
	char urls[KH_MIRRORS_MAX][KH_MIRROR_URL_MAX + 1], u[KH_MIRROR_URL_MAX + 32];
	cJSON *arr;
	int n = kh_store_mirrors(s->store, group, 1, urls, KH_MIRRORS_MAX);

	if (n <= 0 || !(arr = cJSON_AddArrayToObject(po, "mirrors")))
		return;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(urls[i]);
		snprintf(u, sizeof(u), "%.*s/%llu.bundle",
			 (int)(l && urls[i][l - 1] == '/' ? l - 1 : l), urls[i],
			 (unsigned long long)p->version);
		cJSON_AddItemToArray(arr, cJSON_CreateString(u));
	}
}

static void do_checkin(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct kh_api_peer *peer = rq->peer;
	const cJSON *in = rq->in;
	int64_t now = rq->now;
	struct checkin_in f = {0};
	struct checkin_audit ca = {0};
	struct kh_checkin c = {0};
	struct kh_policy_rec p;
	struct kh_command cmds[MAX_COMMANDS];
	const cJSON *done = cJSON_GetObjectItemCaseSensitive(in, "commands_done");
	char *status = NULL, why[160];
	cJSON *o, *arr;
	int n, err;

	if (kh_json_parse_fields(in, checkin_fields, KH_ARRAY_SIZE(checkin_fields), &f, NULL, why,
				 sizeof(why)) < 0 ||
	    kh_json_parse_fields(f.policy, checkin_policy, 1, &c, "policy", why, sizeof(why)) < 0 ||
	    (f.events && kh_json_parse_fields(f.events, checkin_events, 1, &c, "events", why,
					      sizeof(why)) < 0) ||
	    (f.audit &&
	     kh_json_parse_fields(f.audit, checkin_audit, 1, &ca, "audit", why, sizeof(why)) < 0))
		return kh_api_error(resp, 400, why);
	c.firmware = f.firmware;
	c.hardware_id = f.hardware_id;
	if (f.status) {
		status = cJSON_PrintUnformatted(f.status);
		if (status && strlen(status) > STATUS_JSON_MAX)
			return free(status), kh_api_error(resp, 400, "status: over 1000 bytes");
		c.status_json = status;
	}
	err = kh_store_checkin(s->store, peer->serial, &c, now);
	free(status);
	if (err < 0)
		return kh_api_error(resp, 503, "store unavailable");
	/* commands the device carried out: done (a lost answer resends, never loses) */
	if (cJSON_IsArray(done) && cJSON_GetArraySize(done) <= MAX_COMMANDS) {
		const cJSON *id;
		cJSON_ArrayForEach (id, done) {
			uint64_t u;
			if (kh_json_uint(id, 1, KH_JSON_INT_MAX, &u) == 0)
				kh_store_command_done(s->store, peer->serial, (int64_t)u, now);
		}
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "server_time", (double)now);
	cJSON_AddNumberToObject(o, "interval_s", s->cfg.interval_s);
	kh_json_add_uint(o, "events_acked", peer->dev.last_seq);
	/* our copy of its audit results is not the device's: ask for all of them */
	if (ca.digest && kh_api_audit_differs(s, peer->serial, ca.digest))
		cJSON_AddBoolToObject(o, "audit_full", 1);
	if (kh_srv_assigned(s, &peer->dev, &p) == 0) {
		cJSON *po = cJSON_AddObjectToObject(o, "policy");
		kh_render_policy_ref(po, &p);
		/* only a device that needs the bundle costs the mirror lookup */
		if (c.policy_version < p.version)
			add_mirrors(s, peer->dev.group, &p, po);
	} else
		cJSON_AddNullToObject(o, "policy");
	arr = cJSON_AddArrayToObject(o, "commands");
	n = kh_store_commands_pending(s->store, peer->serial, cmds, MAX_COMMANDS);
	for (int i = 0; i < n; i++) {
		cJSON *c1 = cJSON_CreateObject();
		cJSON_AddNumberToObject(c1, "id", (double)cmds[i].id);
		cJSON_AddStringToObject(c1, "type", cmds[i].type);
		if (cmds[i].arg[0])
			cJSON_AddStringToObject(c1, "arg", cmds[i].arg);
		cJSON_AddItemToArray(arr, c1);
	}
	kh_api_set_json(resp, 200, o);
}

/* An upload: at most KH_PROTO_EVENTS_MAX events, each with these fields. */
struct events_in {
	const cJSON *events;
	uint64_t dropped;
};
static const struct kh_json_field events_fields[] = {
	KH_JSON_F_ARR("events", 1, 0, KH_PROTO_EVENTS_MAX, struct events_in, events),
	KH_JSON_F_UINT("dropped", 0, 0, KH_JSON_INT_MAX, struct events_in, dropped),
};
struct event_in {
	uint64_t seq, time;
	const char *type, *severity;
	const cJSON *data;
};
static const struct kh_json_field event_fields[] = {
	KH_JSON_F_UINT("seq", 1, 1, KH_JSON_INT_MAX, struct event_in, seq),
	KH_JSON_F_UINT("time", 1, 0, KH_JSON_INT_MAX, struct event_in, time),
	KH_JSON_F_STR("type", 1, 1, KH_PROTO_EVENT_TYPE_MAX, struct event_in, type),
	KH_JSON_F_STR("severity", 1, 1, 16, struct event_in, severity),
	KH_JSON_F_OBJ("data", 0, struct event_in, data),
};

static void do_events(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct kh_api_peer *peer = rq->peer;
	const cJSON *in = rq->in;
	int64_t now = rq->now;
	struct events_in top = {0};
	const cJSON *arr, *e;
	struct kh_event_rec *ev;
	struct kh_event_quota q = {.window_s = s->cfg.quota.window_s,
				   .events = s->cfg.quota.events,
				   .bytes = s->cfg.quota.bytes};
	struct kh_events_result res;
	char **texts, msg[200];
	unsigned n = 0, i;
	int count, err = 0;
	uint64_t rejected = 0, rejected_seq = 0;
	cJSON *o;

	if (kh_json_parse_fields(in, events_fields, KH_ARRAY_SIZE(events_fields), &top, NULL, msg,
				 sizeof(msg)) < 0)
		return kh_api_error(resp, 400, msg);
	arr = top.events;
	count = cJSON_GetArraySize(arr);
	ev = calloc((size_t)count + 1, sizeof(*ev));
	texts = calloc((size_t)count + 1, sizeof(*texts));
	if (!ev || !texts) {
		kh_api_error(resp, 503, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach (e, arr) {
		struct event_in f = {0};
		char at[24];
		int k;
		snprintf(at, sizeof(at), "events[%u]", n);
		if (!cJSON_IsObject(e)) {
			snprintf(msg, sizeof(msg), "%s: expected an object", at);
			goto bad;
		}
		if (kh_json_parse_fields(e, event_fields, KH_ARRAY_SIZE(event_fields), &f, at, msg,
					 sizeof(msg)) < 0)
			goto bad;
		if (!kh_proto_event_type_ok(f.type, strlen(f.type))) {
			snprintf(msg, sizeof(msg), "%s: type ([a-z0-9_]) and severity", at);
			goto bad;
		}
		if ((k = kh_severity_parse(f.severity)) < 0) {
			snprintf(msg, sizeof(msg), "%s: unknown severity or data not object", at);
			goto bad;
		}
		ev[n].seq = f.seq;
		texts[n] = f.data ? cJSON_PrintUnformatted(f.data) : strdup("{}");
		if (!texts[n] || strlen(texts[n]) > KH_PROTO_EVENT_DATA_MAX) {
			snprintf(msg, sizeof(msg), "events[%u].data: over %d bytes", n,
				 KH_PROTO_EVENT_DATA_MAX);
			n++;
			goto bad;
		}
		if (!strcmp(f.type, "policy_rejected") && f.data &&
		    !cJSON_GetObjectItemCaseSensitive(f.data, "source") &&
		    kh_json_uint(cJSON_GetObjectItemCaseSensitive(f.data, "version"), 1,
				 KH_JSON_INT_MAX, &rejected) == 0)
			rejected_seq = f.seq; /* from the server itself, not a mirror's bytes */
		ev[n].time = (int64_t)f.time;
		ev[n].severity = k;
		kh_strlcpy(ev[n].type, f.type, sizeof(ev[n].type));
		ev[n].payload = texts[n];
		n++;
	}
	err = kh_store_events_add(s->store, peer->serial, ev, n, top.dropped, &q, now, &res);
	if (err < 0) {
		kh_api_error(resp, 503, "store unavailable: retry later");
		goto out;
	}
	/* stored (or stored before): the staged rollouts' halt rule counts it */
	if (rejected_seq && rejected_seq <= res.acked)
		kh_store_device_rejected(s->store, peer->serial, rejected);
	if (res.stored)
		log_info("%s: %u event(s) stored, acked up to %llu", peer->serial, res.stored,
			 (unsigned long long)res.acked);
	o = cJSON_CreateObject();
	kh_json_add_uint(o, "acked", res.acked);
	cJSON_AddNumberToObject(o, "stored", res.stored);
	if (res.refused) {
		/* Not stored, not acknowledged: a 429 with Retry-After, so the agent
		 * keeps its queue and comes back when the window has room. */
		int64_t wait = res.retry_at > now ? res.retry_at - now : 1;
		snprintf(msg, sizeof(msg),
			 "over quota: at most %u events and %u bytes per %u s for one device; "
			 "%u refused, retry after %lld s",
			 (unsigned)q.events, (unsigned)q.bytes, q.window_s, res.refused,
			 (long long)wait);
		cJSON_AddStringToObject(o, "error", msg);
		cJSON_AddNumberToObject(o, "refused", res.refused);
		cJSON_AddNumberToObject(o, "retry_after_s", (double)wait);
		kh_api_set_json(resp, 429, o);
		snprintf(resp->extra, sizeof(resp->extra), "Retry-After: %lld\r\n",
			 (long long)wait);
		goto out;
	}
	kh_api_set_json(resp, 200, o);
	goto out;
bad:
	kh_api_error(resp, 400, msg);
out:
	for (i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(ev);
}

static void do_policy(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	const struct kh_http_req *req = rq->req;
	struct kh_policy_rec p;
	uint64_t v, first, last;
	char etag[80];
	int err;

	if (parse_u64(rq->arg, &v) < 0)
		return kh_api_error(resp, 404, "no such policy version");
	/* A device gets only what is assigned to it, not other groups' policy. */
	if (kh_srv_assigned(s, &rq->peer->dev, &p) < 0 || p.version != v)
		return kh_api_error(resp, 404, "that version is not assigned to this device");
	snprintf(etag, sizeof(etag), "\"%s\"", p.sha256_hex);
	if (req->if_none_match[0] && strcmp(req->if_none_match, etag) == 0) {
		resp->status = 304;
		snprintf(resp->extra, sizeof(resp->extra), "ETag: %s\r\n", etag);
		return;
	}
	resp->ref = bundle_get(s, &p);
	if (!resp->ref)
		return kh_api_error(resp, 503, "bundle unavailable");
	resp->status = 200;
	resp->content_type = "application/octet-stream";
	resp->data = resp->ref->map.data;
	resp->len = resp->ref->map.len;
	if (req->range[0] && (!req->if_range[0] || strcmp(req->if_range, etag) == 0)) {
		err = kh_http_parse_range(req->range, resp->len, &first, &last);
		if (err == -ERANGE) {
			ref_put(resp->ref);
			resp->ref = NULL;
			kh_api_error(resp, 416, "range not satisfiable");
			snprintf(resp->extra, sizeof(resp->extra),
				 "Content-Range: bytes */%llu\r\n", (unsigned long long)p.size);
			return;
		}
		if (err == 0) {
			resp->status = 206;
			resp->data += first;
			resp->len = (size_t)(last - first + 1);
			snprintf(resp->extra, sizeof(resp->extra),
				 "ETag: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n", etag,
				 (unsigned long long)first, (unsigned long long)last,
				 (unsigned long long)p.size);
			return;
		}
	}
	snprintf(resp->extra, sizeof(resp->extra), "ETag: %s\r\nAccept-Ranges: bytes\r\n", etag);
}

/* ---------------------------------------------------------------- operator endpoints */

struct device_list {
	struct kh_srv *s;
	cJSON *arr;
};

static int add_device(void *arg, const struct kh_device *d)
{
	struct device_list *l = arg;
	struct kh_audit_head h;
	cJSON *o = kh_render_device(d);

	if (kh_store_audit_head(l->s->store, d->serial, &h) == 0)
		kh_render_audit_head(o, &h);
	cJSON_AddItemToArray(l->arr, o);
	return 0;
}

static int add_event(void *arg, const struct kh_event_rec *e)
{
	cJSON_AddItemToArray(arg, kh_render_event(e));
	return 0;
}

static int add_policy(void *arg, const struct kh_policy_rec *p)
{
	cJSON_AddItemToArray(arg, kh_render_policy(p));
	return 0;
}

static void adm_events(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	const struct kh_http_req *req = rq->req;
	char v[KH_SERIAL_MAX + 2], dev[KH_SERIAL_MAX + 1] = "";
	uint64_t since = 0, limit = 100;
	cJSON *o, *arr, *last;
	int err;

	if (kh_api_query(req->query, "since", v, sizeof(v)) == 0 && parse_u64(v, &since) < 0)
		return kh_api_error(resp, 400, "since: expected an event id");
	if (kh_api_query(req->query, "limit", v, sizeof(v)) == 0 &&
	    (parse_u64(v, &limit) < 0 || limit == 0 || limit > EVENTS_PAGE_MAX))
		return kh_api_error(resp, 400, "limit: 1..1000");
	err = kh_api_query(req->query, "device", dev, sizeof(dev));
	if (err == -E2BIG || (err == 0 && !kh_srv_serial_ok(dev)))
		return kh_api_error(resp, 400, "device: not a serial");
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "events");
	if (kh_store_events(s->store, (int64_t)since, dev[0] ? dev : NULL, (unsigned)limit,
			    add_event, arr) < 0)
		return cJSON_Delete(o), kh_api_error(resp, 503, "store unavailable");
	last = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
	cJSON_AddNumberToObject(o, "next_since",
				last ? cJSON_GetObjectItem(last, "id")->valuedouble
				     : (double)since);
	kh_api_set_json(resp, 200, o);
}

static void adm_rollouts(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	char g[KH_GROUP_MAX + 2];
	int err = kh_api_query(rq->req->query, "group", g, sizeof(g));
	cJSON *o, *arr;

	if (err == -E2BIG || (err == 0 && !kh_srv_group_ok(g)))
		return kh_api_error(resp, 400, "group: [A-Za-z0-9._-]");
	if (!(arr = kh_srv_rollouts_json(s, err == 0 ? g : NULL, rq->now)))
		return kh_api_error(resp, 503, "store unavailable");
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "rollouts", arr);
	kh_api_set_json(resp, 200, o);
}

struct provision_in {
	const char *serial, *group;
};
static const struct kh_json_field provision_fields[] = {
	KH_JSON_F_STR("serial", 1, 1, KH_SERIAL_MAX, struct provision_in, serial),
	KH_JSON_F_STR("group", 0, 1, KH_GROUP_MAX, struct provision_in, group),
};

static void adm_provision(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct provision_in f = {0};
	struct kh_provisioned p = {0};
	const char *serial, *group;
	char why[256];
	cJSON *o;
	int err;

	if (kh_json_parse_fields(rq->in, provision_fields, KH_ARRAY_SIZE(provision_fields), &f,
				 NULL, why, sizeof(why)) < 0)
		return kh_api_error(resp, 400, why);
	serial = f.serial;
	group = f.group;
	if (!kh_srv_serial_ok(serial))
		return kh_api_error(resp, 400, "serial: [A-Za-z0-9._-], 1-64 characters");
	if (!group)
		group = "default";
	if (!kh_srv_group_ok(group) || strcmp(group, "*") == 0)
		return kh_api_error(resp, 400, "group: [A-Za-z0-9._-], 1-64 characters");
	err = kh_srv_provision(s, serial, group, 0, 0, NULL, &p, why, sizeof(why));
	if (err < 0)
		return kh_api_error(resp, err == -EEXIST ? 409 : 500, why);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "serial", serial);
	cJSON_AddStringToObject(o, "group", group);
	cJSON_AddStringToObject(o, "device_key", p.key_pem);
	cJSON_AddStringToObject(o, "device_cert", p.cert_pem);
	cJSON_AddStringToObject(o, "server_ca", p.ca_pem);
	cJSON_AddStringToObject(o, "trust_root", p.root_json);
	cJSON_AddStringToObject(o, "khiend_json", p.config_json);
	kh_srv_provisioned_free(&p);
	kh_api_set_json(resp, 201, o);
	log_notice("operator provisioned device %s (group %s)", serial, group);
}

struct command_in {
	const char *type, *arg;
};
static const struct kh_json_field command_fields[] = {
	KH_JSON_F_STR("type", 1, 1, 31, struct command_in, type),
	KH_JSON_F_STR("arg", 0, 0, 256, struct command_in, arg),
};

/* A notice for the device's status page: text, UTF-8, no control characters ("" clears). */
static int notice_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (!t || n > 256)
		return 0;
	for (size_t i = 0; i < n;) {
		const unsigned char c = (unsigned char)t[i];
		size_t len = c < 0x80		  ? 1
			     : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4
						  : 0;
		if (!len || c < 0x20 || c == 0x7f || i + len > n || (len == 2 && c < 0xc2))
			return 0;
		for (size_t k = 1; k < len; k++)
			if (((unsigned char)t[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

static void adm_command(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	const char *serial = rq->arg, *type, *arg;
	struct command_in f = {0};
	struct kh_device d;
	char why[160];
	int64_t id;
	cJSON *o;

	if (!kh_srv_serial_ok(serial))
		return kh_api_error(resp, 404, "no such device");
	if (kh_json_parse_fields(rq->in, command_fields, KH_ARRAY_SIZE(command_fields), &f, NULL,
				 why, sizeof(why)) < 0)
		return kh_api_error(resp, 400, why);
	type = f.type;
	arg = f.arg;
	if (strcmp(type, "sync") && strcmp(type, "set_interval") && strcmp(type, "notice"))
		return kh_api_error(resp, 400, "type: sync, set_interval or notice");
	if (strcmp(type, "notice") == 0 && !notice_ok(arg))
		return kh_api_error(resp, 400,
				    "arg: the notice text, UTF-8 without control characters, "
				    "at most 256 bytes");
	if (strcmp(type, "set_interval") == 0) {
		uint64_t v;
		if (!arg || parse_u64(arg, &v) < 0 || v < 10 || v > 86400)
			return kh_api_error(resp, 400, "arg: seconds, 10..86400");
	}
	if (kh_store_device_get(s->store, serial, &d) < 0)
		return kh_api_error(resp, 404, "no such device");
	if (kh_store_command_add(s->store, serial, type, arg, rq->now, &id) < 0)
		return kh_api_error(resp, 503, "store unavailable");
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	kh_api_set_json(resp, 201, o);
}

static void adm_publish(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	char group[KH_GROUP_MAX + 1] = "*", why[512];
	struct kh_policy_rec rec;
	cJSON *o;
	int err = kh_api_query(rq->req->query, "group", group, sizeof(group));

	if (err == -E2BIG || !kh_srv_group_ok(group))
		return kh_api_error(resp, 400, "group: [A-Za-z0-9._-] or *");
	err = kh_srv_publish(s, rq->body, rq->len, group, &rec, why, sizeof(why));
	if (err < 0)
		return kh_api_error(resp, err == -EEXIST ? 409 : err == -EIO ? 503 : 422, why);
	o = cJSON_CreateObject();
	kh_render_policy_ref(o, &rec);
	cJSON_AddStringToObject(o, "group", group);
	kh_api_set_json(resp, 201, o);
}

static void adm_devices(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	cJSON *o = cJSON_CreateObject();

	struct device_list l = {s, cJSON_AddArrayToObject(o, "devices")};

	(void)rq;
	if (kh_store_devices(s->store, add_device, &l) < 0) {
		cJSON_Delete(o);
		kh_api_error(resp, 503, "store unavailable");
	} else
		kh_api_set_json(resp, 200, o);
}

static void adm_policies(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	cJSON *o = cJSON_CreateObject();

	(void)rq;
	kh_store_policies(s->store, add_policy, cJSON_AddArrayToObject(o, "policies"));
	kh_api_set_json(resp, 200, o);
}

static void adm_revoke(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	cJSON *o;

	if (!kh_srv_serial_ok(rq->arg) ||
	    kh_store_device_set_status(s->store, rq->arg, KH_DEV_REVOKED) < 0)
		return kh_api_error(resp, 404, "no such device");
	log_notice("operator revoked device %s", rq->arg);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "serial", rq->arg);
	cJSON_AddStringToObject(o, "status", "revoked");
	kh_api_set_json(resp, 200, o);
}

/* ---------------------------------------------------------------- routes */

/*
 * Every endpoint, one row each (docs/PROTOCOL.md). A '*' in a path is its
 * argument: at the end, the rest of the path (up to arg_max bytes); inside,
 * one segment of 1..arg_max bytes. A GET route also answers HEAD. Bodies
 * beyond body_max are refused before they are read (413); BODY_JSON routes
 * get their body parsed as a JSON object before the handler runs.
 */
#define BODY_JSON 1u  /* the body must be a JSON object */
#define BODY_EMPTY 2u /* ... or empty (a revoke says all in its path) */

/* method, path, arg_max, body_max, who, body, handler: one row per endpoint */
#define ROUTE(m, p, amax, bmax, who, body, fn)                                          \
	{                                                                               \
		.method = m, .path = p, .arg_max = amax, .body_max = bmax, .auth = who, \
		.flags = body, .handler = fn                                            \
	}
static const struct route routes[] = {
	ROUTE("POST", "/v1/checkin", 0, KH_SRV_CHECKIN_BODY_MAX, AUTH_DEVICE, BODY_JSON,
	      do_checkin),
	ROUTE("POST", "/v1/events", 0, KH_SRV_DEVICE_BODY_MAX, AUTH_DEVICE, BODY_JSON, do_events),
	ROUTE("GET", "/v1/policy/*", 18, 0, AUTH_DEVICE, 0, do_policy),
	ROUTE("POST", "/v1/audit", 0, KH_SRV_AUDIT_BODY_MAX, AUTH_DEVICE, BODY_JSON,
	      kh_api_audit_upload),
	ROUTE("GET", "/v1/audit", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, 0, kh_api_audit_list),
	ROUTE("GET", "/v1/compliance", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, 0, kh_api_compliance),
	ROUTE("GET", "/v1/admin/devices", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, 0, adm_devices),
	ROUTE("POST", "/v1/admin/devices", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, BODY_JSON,
	      adm_provision),
	ROUTE("POST", "/v1/admin/devices/*/revoke", KH_SERIAL_MAX, ADMIN_BODY_MAX, AUTH_OPERATOR,
	      BODY_JSON | BODY_EMPTY, adm_revoke),
	ROUTE("POST", "/v1/admin/devices/*/commands", KH_SERIAL_MAX, ADMIN_BODY_MAX, AUTH_OPERATOR,
	      BODY_JSON, adm_command),
	ROUTE("GET", "/v1/admin/events", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, 0, adm_events),
	ROUTE("GET", "/v1/admin/rollouts", 0, ADMIN_BODY_MAX, AUTH_OPERATOR, 0, adm_rollouts),
	ROUTE("GET", "/v1/admin/policies", 0, KH_SRV_ADMIN_BODY_MAX, AUTH_OPERATOR, 0,
	      adm_policies),
	ROUTE("POST", "/v1/admin/policies", 0, KH_SRV_ADMIN_BODY_MAX, AUTH_OPERATOR, 0,
	      adm_publish),
	/* the dashboard's pages (server/dashboard.c): HTML, forms of at most 1 KiB */
	ROUTE("GET", "/dashboard/login", 0, 0, AUTH_PUBLIC, 0, kh_dash_login_form),
	ROUTE("POST", "/dashboard/login", 0, DASH_FORM_MAX, AUTH_PUBLIC, 0, kh_dash_login),
	ROUTE("POST", "/dashboard/logout", 0, DASH_FORM_MAX, AUTH_DASHBOARD, 0, kh_dash_logout),
	ROUTE("GET", "/dashboard", 0, 0, AUTH_DASHBOARD, 0, kh_dash_overview),
	ROUTE("GET", "/dashboard/", 0, 0, AUTH_DASHBOARD, 0, kh_dash_overview),
	ROUTE("GET", "/dashboard/incidents", 0, 0, AUTH_DASHBOARD, 0, kh_dash_incidents),
	ROUTE("GET", "/dashboard/compliance", 0, 0, AUTH_DASHBOARD, 0, kh_dash_compliance),
	ROUTE("GET", "/dashboard/warnings", 0, 0, AUTH_DASHBOARD, 0, kh_dash_warnings),
	ROUTE("GET", "/dashboard/devices", 0, 0, AUTH_DASHBOARD, 0, kh_dash_devices),
	ROUTE("GET", "/dashboard/events", 0, 0, AUTH_DASHBOARD, 0, kh_dash_events),
	ROUTE("GET", "/dashboard/device/*", KH_SERIAL_MAX, 0, AUTH_DASHBOARD, 0, kh_dash_device),
	ROUTE("POST", "/dashboard/device/*/revoke", KH_SERIAL_MAX, DASH_FORM_MAX, AUTH_DASHBOARD, 0,
	      kh_dash_revoke),
};

/* Does path match pat? The argument goes to arg (arg_max + 1 bytes). */
static int path_match(const struct route *r, const char *path, char *arg)
{
	const char *star = strchr(r->path, '*'), *end;
	size_t pre, n;

	if (!star)
		return strcmp(r->path, path) == 0;
	pre = (size_t)(star - r->path);
	if (strncmp(r->path, path, pre) != 0)
		return 0;
	path += pre;
	if (!star[1]) {
		n = strlen(path);
	} else {
		end = strchr(path, '/');
		if (!end || end == path || strcmp(end, star + 1) != 0)
			return 0;
		n = (size_t)(end - path);
	}
	if (n > r->arg_max || n > ARG_MAX)
		return 0;
	memcpy(arg, path, n);
	arg[n] = 0;
	return 1;
}

/* The route for this request, or NULL and *status 404 (no such path) or 405. */
static const struct route *route_find(const struct kh_http_req *req, char *arg, int *status)
{
	int path_known = 0;

	for (size_t i = 0; i < KH_ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];
		if (!path_match(r, req->path, arg))
			continue;
		path_known = 1;
		if (strcmp(req->method, r->method) == 0 ||
		    (strcmp(r->method, "GET") == 0 && strcmp(req->method, "HEAD") == 0))
			return r;
	}
	*status = path_known ? 405 : 404;
	return NULL;
}

int kh_api_admit(struct kh_srv *s, const struct kh_http_req *req, struct kh_api_peer *peer,
		 size_t *max_body)
{
	char arg[ARG_MAX + 1];
	const struct route *r;
	int st;

	peer->have_dev = 0;
	peer->operator= 0;
	if (!(r = route_find(req, arg, &st)))
		return st;
	if (r->auth == AUTH_OPERATOR) {
		/* A device certificate never opens these: only the operator token. */
		if (!kh_api_operator_ok(s, req->authorization))
			return 401;
		peer->operator= 1;
	} else if (r->auth == AUTH_DASHBOARD || r->auth == AUTH_PUBLIC) {
		/* pages: the handler sends a browser without a session to the login form */
		peer->operator= kh_api_operator_ok(s, req->authorization) ||
			kh_dash_session_ok(s, req);
	} else if ((st = kh_api_device_admitted(s, peer)) != 0) {
		return st;
	}
	*max_body = r->body_max;
	if (strcmp(r->method, "POST") == 0 && req->content_length < 0)
		return 411;
	if (req->content_length > (int64_t)*max_body)
		return 413;
	return 0;
}

void kh_api_handle(struct kh_srv *s, const struct kh_http_req *req, const uint8_t *body, size_t len,
		   struct kh_api_peer *peer, int64_t now, struct kh_api_resp *resp)
{
	struct call rq = {.req = req, .body = body, .len = len, .peer = peer, .now = now};
	const struct route *r;
	cJSON *in = NULL;
	int st;

	memset(resp, 0, sizeof(*resp));
	if (!(r = route_find(req, rq.arg, &st)))
		return kh_api_error(resp, st,
				    st == 404 ? "no such endpoint" : "method not allowed");
	if (r->auth == AUTH_DEVICE && !peer->have_dev)
		return kh_api_error(resp, 403, "device not admitted");
	if (r->flags & BODY_JSON) {
		in = len == 0 && (r->flags & BODY_EMPTY)
			     ? cJSON_CreateObject()
			     : cJSON_ParseWithLength((const char *)body, len);
		if (!cJSON_IsObject(in)) {
			cJSON_Delete(in);
			return kh_api_error(resp, 400, "body: expected a JSON object");
		}
	}
	rq.in = in;
	r->handler(s, &rq, resp);
	cJSON_Delete(in);
}
