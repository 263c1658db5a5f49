/* SPDX-License-Identifier: MIT */
/*
 * khien-server's request handlers (see api.h, docs/PROTOCOL.md). Every
 * JSON body is parsed with a byte limit already enforced by the caller, and
 * every field is checked for type, range and length before it reaches the
 * store; anything else is a 400 with the field's name. Published bundles are
 * served from a small cache of read-only maps shared by all downloads.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/severity.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "server/api.h"

#define JSON "application/json"
#define MAX_COMMANDS 8
#define ADMIN_BODY_MAX (64 * 1024)
#define STATUS_JSON_MAX 1000
#define EVENT_DATA_MAX 2048
#define EVENTS_PAGE_MAX 1000

/* ---------------------------------------------------------------- bundle cache */

struct kh_api_ref {
	uint64_t version;
	struct kh_fs_map map;
	unsigned refs; /* responses in flight + 1 while cached */
	uint64_t used;
};

#define CACHE_SLOTS 4
static struct kh_api_ref *cache[CACHE_SLOTS];
static uint64_t cache_tick;

static void ref_put(struct kh_api_ref *r)
{
	if (r && --r->refs == 0) {
		kh_fs_unmap(&r->map);
		free(r);
	}
}

static struct kh_api_ref *bundle_get(struct kh_srv *s, const struct kh_policy_rec *p)
{
	char path[KH_SRV_PATH_MAX + 300];
	struct kh_api_ref *r;
	int i, victim = 0;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache[i] && cache[i]->version == p->version) {
			cache[i]->refs++;
			cache[i]->used = ++cache_tick;
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
	for (i = 0; i < CACHE_SLOTS; i++) {
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
	r->used = ++cache_tick;
	return r;
}

void kh_api_cache_clear(void)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		ref_put(cache[i]);
		cache[i] = NULL;
	}
}

/* ---------------------------------------------------------------- responses */

static void set_json(struct kh_api_resp *resp, int status, cJSON *o)
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
	set_json(resp, status, o);
}

void kh_api_resp_free(struct kh_api_resp *resp)
{
	free(resp->body);
	ref_put(resp->ref);
	memset(resp, 0, sizeof(*resp));
}

/* ---------------------------------------------------------------- helpers */

static int name_ok(const char *s, size_t max, int dots)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || (dots && c == '.')))
			return 0;
	}
	return n >= 1 && n <= max;
}

int kh_srv_serial_ok(const char *serial)
{
	return name_ok(serial, KH_SERIAL_MAX, 1);
}

int kh_srv_group_ok(const char *group)
{
	return strcmp(group, "*") == 0 || name_ok(group, KH_GROUP_MAX, 1);
}

static int type_ok(const char *t)
{
	size_t n = 0;

	for (; t[n]; n++)
		if (!((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= '0' && t[n] <= '9') || t[n] == '_'))
			return 0;
	return n >= 1 && n <= 31;
}

/* A JSON number that is a whole value in [0, 2^53 - 1] (lib/jsonnum.h). */
static int get_uint(const cJSON *o, const char *key, uint64_t *out, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return required ? -1 : 0;
	return kh_json_uint(v, 0, KH_JSON_INT_MAX, out);
}

static const char *get_str(const cJSON *o, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return NULL;
	return v->valuestring;
}

/* Value of key in a query string "a=1&b=2" (no escapes: values are plain). */
static int query_get(const char *q, const char *key, char *out, size_t cap)
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

cJSON *kh_api_device_json(const struct kh_device *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *st = cJSON_Parse(d->status_json), *q;
	char fp[65];

	kh_hex_encode(d->cert_sha256, 32, fp);
	cJSON_AddStringToObject(o, "serial", d->serial);
	cJSON_AddStringToObject(o, "group", d->group);
	cJSON_AddStringToObject(o, "status", d->status == KH_DEV_REVOKED ? "revoked" : "active");
	cJSON_AddNumberToObject(o, "created", (double)d->created);
	cJSON_AddNumberToObject(o, "last_seen", (double)d->last_seen);
	cJSON_AddNumberToObject(o, "checkins", (double)d->checkins);
	cJSON_AddStringToObject(o, "firmware", d->firmware);
	cJSON_AddStringToObject(o, "hardware_id", d->hardware_id);
	cJSON_AddNumberToObject(o, "policy_version", (double)d->policy_version);
	kh_json_add_uint(o, "last_seq", d->last_seq);
	cJSON_AddNumberToObject(o, "events_dropped", (double)d->events_dropped);
	cJSON_AddNumberToObject(o, "events_refused", (double)d->events_refused);
	q = cJSON_AddObjectToObject(o, "event_quota"); /* the current window */
	cJSON_AddNumberToObject(q, "window_start", (double)d->quota_start);
	cJSON_AddNumberToObject(q, "window_end", (double)d->quota_end);
	cJSON_AddNumberToObject(q, "events", (double)d->quota_events);
	cJSON_AddNumberToObject(q, "bytes", (double)d->quota_bytes);
	cJSON_AddNumberToObject(q, "refused", (double)d->quota_refused);
	cJSON_AddStringToObject(o, "cert_sha256", fp);
	cJSON_AddNumberToObject(o, "cert_not_after", (double)d->cert_not_after);
	cJSON_AddItemToObject(o, "health", st ? st : cJSON_CreateObject());
	return o;
}

cJSON *kh_api_event_json(const struct kh_event_rec *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *p = cJSON_Parse(e->payload);

	cJSON_AddNumberToObject(o, "id", (double)e->id);
	cJSON_AddStringToObject(o, "device", e->serial);
	kh_json_add_uint(o, "seq", e->seq);
	cJSON_AddNumberToObject(o, "time", (double)e->time);
	cJSON_AddNumberToObject(o, "received", (double)e->received);
	cJSON_AddStringToObject(o, "type", e->type);
	cJSON_AddStringToObject(o, "severity", kh_severity_name(e->severity));
	cJSON_AddItemToObject(o, "payload", p ? p : cJSON_CreateObject());
	return o;
}

/* ---------------------------------------------------------------- admission */

enum route {
	R_NONE,
	R_CHECKIN,
	R_EVENTS,
	R_POLICY,
	R_ADM_DEVICES,
	R_ADM_DEVICE_REVOKE,
	R_ADM_DEVICE_CMD,
	R_ADM_EVENTS,
	R_ADM_POLICIES,
};

struct match {
	enum route r;
	const char *method;
	char arg[KH_SERIAL_MAX + 1]; /* serial or version from the path */
	int admin;
};

static int route(const char *path, const char *method, struct match *m)
{
	const char *rest;

	memset(m, 0, sizeof(*m));
	if (strcmp(path, "/v1/checkin") == 0)
		m->r = R_CHECKIN, m->method = "POST";
	else if (strcmp(path, "/v1/events") == 0)
		m->r = R_EVENTS, m->method = "POST";
	else if (strncmp(path, "/v1/policy/", 11) == 0 && strlen(path + 11) <= 18)
		m->r = R_POLICY, m->method = "GET", kh_strlcpy(m->arg, path + 11, sizeof(m->arg));
	else if (strcmp(path, "/v1/admin/devices") == 0)
		m->r = R_ADM_DEVICES, m->method = strcmp(method, "POST") ? "GET" : "POST";
	else if (strcmp(path, "/v1/admin/events") == 0)
		m->r = R_ADM_EVENTS, m->method = "GET";
	else if (strcmp(path, "/v1/admin/policies") == 0)
		m->r = R_ADM_POLICIES, m->method = strcmp(method, "POST") ? "GET" : "POST";
	else if (strncmp(path, "/v1/admin/devices/", 18) == 0) {
		const char *slash = strchr(path + 18, '/');
		size_t n = slash ? (size_t)(slash - (path + 18)) : 0;
		if (!slash || n == 0 || n > KH_SERIAL_MAX)
			return -ENOENT;
		memcpy(m->arg, path + 18, n);
		m->arg[n] = 0;
		rest = slash + 1;
		if (strcmp(rest, "revoke") == 0)
			m->r = R_ADM_DEVICE_REVOKE, m->method = "POST";
		else if (strcmp(rest, "commands") == 0)
			m->r = R_ADM_DEVICE_CMD, m->method = "POST";
		else
			return -ENOENT;
	} else
		return -ENOENT;
	m->admin = m->r >= R_ADM_DEVICES;
	return 0;
}

static int operator_ok(struct kh_srv *s, const char *auth)
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

int kh_api_admit(struct kh_srv *s, const struct kh_http_req *req, struct kh_api_peer *peer,
		 size_t *max_body)
{
	struct match m;
	int err;

	peer->have_dev = 0;
	if (route(req->path, req->method, &m) < 0)
		return 404;
	if (strcmp(req->method, m.method) != 0 &&
	    !(strcmp(m.method, "GET") == 0 && strcmp(req->method, "HEAD") == 0))
		return 405;
	if (m.admin) {
		/* A device certificate never opens these: only the operator token. */
		if (!operator_ok(s, req->authorization))
			return 401;
		*max_body = m.r == R_ADM_POLICIES ? KH_SRV_ADMIN_BODY_MAX : ADMIN_BODY_MAX;
	} else {
		if ((err = kh_api_device_admitted(s, peer)) != 0)
			return err;
		*max_body = m.r == R_CHECKIN  ? KH_SRV_CHECKIN_BODY_MAX
			    : m.r == R_EVENTS ? KH_SRV_DEVICE_BODY_MAX
					      : 0;
	}
	if (strcmp(m.method, "POST") == 0 && req->content_length < 0)
		return 411;
	if (req->content_length > (int64_t)*max_body)
		return 413;
	return 0;
}

/* ---------------------------------------------------------------- device endpoints */

static void policy_json(cJSON *o, const struct kh_policy_rec *p)
{
	char url[64];

	snprintf(url, sizeof(url), "/v1/policy/%llu", (unsigned long long)p->version);
	cJSON_AddNumberToObject(o, "version", (double)p->version);
	cJSON_AddStringToObject(o, "sha256", p->sha256_hex);
	cJSON_AddNumberToObject(o, "size", (double)p->size);
	cJSON_AddStringToObject(o, "url", url);
}

static void do_checkin(struct kh_srv *s, struct kh_api_peer *peer, const cJSON *in, int64_t now,
		       struct kh_api_resp *resp)
{
	struct kh_checkin c = {0};
	struct kh_policy_rec p;
	struct kh_command cmds[MAX_COMMANDS];
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(in, "policy");
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(in, "events");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(in, "status");
	const cJSON *done = cJSON_GetObjectItemCaseSensitive(in, "commands_done");
	char *status = NULL;
	cJSON *o, *arr;
	int n, err;

	c.firmware = get_str(in, "firmware", KH_FIRMWARE_MAX);
	c.hardware_id = get_str(in, "hardware_id", KH_FIRMWARE_MAX);
	if (!c.firmware || !c.hardware_id)
		return kh_api_error(resp, 400, "firmware and hardware_id: strings of <= 64 bytes");
	if (!cJSON_IsObject(pol) || get_uint(pol, "version", &c.policy_version, 1) < 0)
		return kh_api_error(resp, 400, "policy.version: expected a whole number");
	if (ev && (!cJSON_IsObject(ev) || get_uint(ev, "dropped", &c.events_dropped, 0) < 0))
		return kh_api_error(resp, 400, "events.dropped: expected a whole number");
	if (st) {
		if (!cJSON_IsObject(st))
			return kh_api_error(resp, 400, "status: expected an object");
		status = cJSON_PrintUnformatted(st);
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
	if (kh_store_assigned(s->store, peer->dev.group, &p) == 0)
		policy_json(cJSON_AddObjectToObject(o, "policy"), &p);
	else
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
	set_json(resp, 200, o);
}

static void do_events(struct kh_srv *s, struct kh_api_peer *peer, const cJSON *in, int64_t now,
		      struct kh_api_resp *resp)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(in, "events"), *e;
	struct kh_event_rec *ev;
	struct kh_event_quota q = {s->cfg.quota.window_s, s->cfg.quota.events, s->cfg.quota.bytes};
	struct kh_events_result res;
	char **texts, msg[200];
	uint64_t dropped = 0;
	unsigned n = 0, i;
	int count, err = 0;
	cJSON *o;

	if (!cJSON_IsArray(arr) || (count = cJSON_GetArraySize(arr)) > KH_SRV_EVENTS_MAX)
		return kh_api_error(resp, 400, "events: expected an array of at most 500");
	if (get_uint(in, "dropped", &dropped, 0) < 0)
		return kh_api_error(resp, 400, "dropped: expected a whole number");
	ev = calloc((size_t)count + 1, sizeof(*ev));
	texts = calloc((size_t)count + 1, sizeof(*texts));
	if (!ev || !texts) {
		kh_api_error(resp, 503, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach (e, arr) {
		uint64_t t = 0;
		const char *type, *sev;
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
		int k;
		if (!cJSON_IsObject(e) || get_uint(e, "seq", &ev[n].seq, 1) < 0 || ev[n].seq == 0 ||
		    get_uint(e, "time", &t, 1) < 0) {
			snprintf(msg, sizeof(msg), "events[%u]: seq (>= 1) and time required", n);
			goto bad;
		}
		type = get_str(e, "type", 31);
		sev = get_str(e, "severity", 16);
		if (!type || !type_ok(type) || !sev) {
			snprintf(msg, sizeof(msg), "events[%u]: type ([a-z0-9_]) and severity", n);
			goto bad;
		}
		k = kh_severity_parse(sev);
		if (k < 0 || (data && !cJSON_IsObject(data))) {
			snprintf(msg, sizeof(msg),
				 "events[%u]: unknown severity or data not object", n);
			goto bad;
		}
		texts[n] = data ? cJSON_PrintUnformatted(data) : strdup("{}");
		if (!texts[n] || strlen(texts[n]) > EVENT_DATA_MAX) {
			snprintf(msg, sizeof(msg), "events[%u].data: over %d bytes", n,
				 EVENT_DATA_MAX);
			n++;
			goto bad;
		}
		ev[n].time = (int64_t)t;
		ev[n].severity = k;
		kh_strlcpy(ev[n].type, type, sizeof(ev[n].type));
		ev[n].payload = texts[n];
		n++;
	}
	err = kh_store_events_add(s->store, peer->serial, ev, n, dropped, &q, now, &res);
	if (err < 0) {
		kh_api_error(resp, 503, "store unavailable: retry later");
		goto out;
	}
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
		set_json(resp, 429, o);
		snprintf(resp->extra, sizeof(resp->extra), "Retry-After: %lld\r\n",
			 (long long)wait);
		goto out;
	}
	set_json(resp, 200, o);
	goto out;
bad:
	kh_api_error(resp, 400, msg);
out:
	for (i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(ev);
}

static void do_policy(struct kh_srv *s, struct kh_api_peer *peer, const struct kh_http_req *req,
		      const char *arg, struct kh_api_resp *resp)
{
	struct kh_policy_rec p;
	uint64_t v, first, last;
	char etag[80];
	int err;

	if (parse_u64(arg, &v) < 0)
		return kh_api_error(resp, 404, "no such policy version");
	/* A device gets only what is assigned to it, not other groups' policy. */
	if (kh_store_assigned(s->store, peer->dev.group, &p) < 0 || p.version != v)
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

static int add_device(void *arg, const struct kh_device *d)
{
	cJSON_AddItemToArray(arg, kh_api_device_json(d));
	return 0;
}

static int add_event(void *arg, const struct kh_event_rec *e)
{
	cJSON_AddItemToArray(arg, kh_api_event_json(e));
	return 0;
}

cJSON *kh_api_policy_json(const struct kh_policy_rec *p)
{
	cJSON *o = cJSON_CreateObject();

	policy_json(o, p);
	cJSON_AddNumberToObject(o, "created", (double)p->created);
	cJSON_AddNumberToObject(o, "expires", (double)p->expires);
	cJSON_AddNumberToObject(o, "published", (double)p->published);
	return o;
}

static int add_policy(void *arg, const struct kh_policy_rec *p)
{
	cJSON_AddItemToArray(arg, kh_api_policy_json(p));
	return 0;
}

static void adm_events(struct kh_srv *s, const struct kh_http_req *req, struct kh_api_resp *resp)
{
	char v[KH_SERIAL_MAX + 2], dev[KH_SERIAL_MAX + 1] = "";
	uint64_t since = 0, limit = 100;
	cJSON *o, *arr, *last;
	int err;

	if (query_get(req->query, "since", v, sizeof(v)) == 0 && parse_u64(v, &since) < 0)
		return kh_api_error(resp, 400, "since: expected an event id");
	if (query_get(req->query, "limit", v, sizeof(v)) == 0 &&
	    (parse_u64(v, &limit) < 0 || limit == 0 || limit > EVENTS_PAGE_MAX))
		return kh_api_error(resp, 400, "limit: 1..1000");
	err = query_get(req->query, "device", dev, sizeof(dev));
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
	set_json(resp, 200, o);
}

static void adm_provision(struct kh_srv *s, const cJSON *in, struct kh_api_resp *resp)
{
	const char *serial = get_str(in, "serial", KH_SERIAL_MAX);
	const char *group = get_str(in, "group", KH_GROUP_MAX);
	struct kh_provisioned p = {0};
	char why[256];
	cJSON *o;
	int err;

	if (!serial || !kh_srv_serial_ok(serial))
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
	set_json(resp, 201, o);
	log_notice("operator provisioned device %s (group %s)", serial, group);
}

static void adm_command(struct kh_srv *s, const char *serial, const cJSON *in, int64_t now,
			struct kh_api_resp *resp)
{
	const char *type = get_str(in, "type", 31);
	const char *arg = get_str(in, "arg", 127);
	struct kh_device d;
	int64_t id;
	cJSON *o;

	if (!type || (strcmp(type, "sync") && strcmp(type, "set_interval")))
		return kh_api_error(resp, 400, "type: sync or set_interval");
	if (strcmp(type, "set_interval") == 0) {
		uint64_t v;
		if (!arg || parse_u64(arg, &v) < 0 || v < 10 || v > 86400)
			return kh_api_error(resp, 400, "arg: seconds, 10..86400");
	}
	if (kh_store_device_get(s->store, serial, &d) < 0)
		return kh_api_error(resp, 404, "no such device");
	if (kh_store_command_add(s->store, serial, type, arg, now, &id) < 0)
		return kh_api_error(resp, 503, "store unavailable");
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	set_json(resp, 201, o);
}

static void adm_publish(struct kh_srv *s, const struct kh_http_req *req, const uint8_t *body,
			size_t len, struct kh_api_resp *resp)
{
	char group[KH_GROUP_MAX + 1] = "*", why[512];
	struct kh_policy_rec rec;
	cJSON *o;
	int err = query_get(req->query, "group", group, sizeof(group));

	if (err == -E2BIG || !kh_srv_group_ok(group))
		return kh_api_error(resp, 400, "group: [A-Za-z0-9._-] or *");
	err = kh_srv_publish(s, body, len, group, &rec, why, sizeof(why));
	if (err < 0)
		return kh_api_error(resp, err == -EEXIST ? 409 : err == -EIO ? 503 : 422, why);
	o = cJSON_CreateObject();
	policy_json(o, &rec);
	cJSON_AddStringToObject(o, "group", group);
	set_json(resp, 201, o);
}

/* ---------------------------------------------------------------- dispatch */

void kh_api_handle(struct kh_srv *s, const struct kh_http_req *req, const uint8_t *body, size_t len,
		   struct kh_api_peer *peer, int64_t now, struct kh_api_resp *resp)
{
	cJSON *in = NULL;
	struct match m;
	cJSON *o;

	memset(resp, 0, sizeof(*resp));
	if (route(req->path, req->method, &m) < 0)
		return kh_api_error(resp, 404, "no such endpoint");
	if (!m.admin && !peer->have_dev)
		return kh_api_error(resp, 403, "device not admitted");
	if (strcmp(m.method, "POST") == 0 && m.r != R_ADM_POLICIES) {
		/* a revoke says all in its path: no body, or {} */
		in = len == 0 && m.r == R_ADM_DEVICE_REVOKE
			     ? cJSON_CreateObject()
			     : cJSON_ParseWithLength((const char *)body, len);
		if (!cJSON_IsObject(in)) {
			cJSON_Delete(in);
			return kh_api_error(resp, 400, "body: expected a JSON object");
		}
	}
	switch (m.r) {
	case R_CHECKIN:
		do_checkin(s, peer, in, now, resp);
		break;
	case R_EVENTS:
		do_events(s, peer, in, now, resp);
		break;
	case R_POLICY:
		do_policy(s, peer, req, m.arg, resp);
		break;
	case R_ADM_DEVICES:
		if (strcmp(req->method, "POST") == 0) {
			adm_provision(s, in, resp);
			break;
		}
		o = cJSON_CreateObject();
		if (kh_store_devices(s->store, add_device, cJSON_AddArrayToObject(o, "devices")) <
		    0) {
			cJSON_Delete(o);
			kh_api_error(resp, 503, "store unavailable");
		} else
			set_json(resp, 200, o);
		break;
	case R_ADM_EVENTS:
		adm_events(s, req, resp);
		break;
	case R_ADM_POLICIES:
		if (strcmp(req->method, "POST") == 0) {
			adm_publish(s, req, body, len, resp);
			break;
		}
		o = cJSON_CreateObject();
		kh_store_policies(s->store, add_policy, cJSON_AddArrayToObject(o, "policies"));
		set_json(resp, 200, o);
		break;
	case R_ADM_DEVICE_REVOKE:
		if (!kh_srv_serial_ok(m.arg) ||
		    kh_store_device_set_status(s->store, m.arg, KH_DEV_REVOKED) < 0) {
			kh_api_error(resp, 404, "no such device");
			break;
		}
		log_notice("operator revoked device %s", m.arg);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "serial", m.arg);
		cJSON_AddStringToObject(o, "status", "revoked");
		set_json(resp, 200, o);
		break;
	case R_ADM_DEVICE_CMD:
		if (!kh_srv_serial_ok(m.arg))
			kh_api_error(resp, 404, "no such device");
		else
			adm_command(s, m.arg, in, now, resp);
		break;
	case R_NONE:
		kh_api_error(resp, 404, "no such endpoint");
		break;
	}
	cJSON_Delete(in);
}
