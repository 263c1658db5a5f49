/* SPDX-License-Identifier: MIT */
/*
 * Name rules and operator-visible JSON for khien-server (see render.h):
 * one alphabet for serials and groups, one rendering per record type,
 * shared by the command line (server/khien_server.c), the instance code
 * (server/admin.c) and the HTTPS API (server/api.c).
 */
#include <stdio.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "lib/proto.h"
#include "server/render.h"

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

cJSON *kh_render_device(const struct kh_device *d)
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

cJSON *kh_render_event(const struct kh_event_rec *e)
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

void kh_render_policy_ref(cJSON *o, const struct kh_policy_rec *p)
{
	char url[64];

	snprintf(url, sizeof(url), "/v1/policy/%llu", (unsigned long long)p->version);
	cJSON_AddNumberToObject(o, "version", (double)p->version);
	cJSON_AddStringToObject(o, "sha256", p->sha256_hex);
	cJSON_AddNumberToObject(o, "size", (double)p->size);
	cJSON_AddStringToObject(o, "url", url);
}

cJSON *kh_render_policy(const struct kh_policy_rec *p)
{
	cJSON *o = cJSON_CreateObject();

	kh_render_policy_ref(o, p);
	cJSON_AddNumberToObject(o, "created", (double)p->created);
	cJSON_AddNumberToObject(o, "expires", (double)p->expires);
	cJSON_AddNumberToObject(o, "published", (double)p->published);
	return o;
}

cJSON *kh_render_audit(const struct kh_audit_rec *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "serial", r->serial);
	cJSON_AddStringToObject(o, "check", r->check);
	cJSON_AddStringToObject(o, "result", r->result);
	cJSON_AddStringToObject(o, "severity", r->severity);
	cJSON_AddStringToObject(o, "evidence", r->evidence);
	kh_json_add_uint(o, "changed_at", r->changed_at > 0 ? (uint64_t)r->changed_at : 0);
	kh_json_add_uint(o, "updated_at", r->updated_at > 0 ? (uint64_t)r->updated_at : 0);
	return o;
}

cJSON *kh_render_compliance(const struct kh_compliance *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "check", c->check);
	cJSON_AddStringToObject(o, "severity", c->severity);
	kh_json_add_uint(o, "pass", c->pass);
	kh_json_add_uint(o, "fail", c->fail);
	kh_json_add_uint(o, "na", c->na);
	kh_json_add_uint(o, "error", c->error);
	kh_json_add_uint(o, "devices", (uint64_t)c->pass + c->fail + c->na + c->error);
	return o;
}

void kh_render_audit_head(cJSON *o, const struct kh_audit_head *h)
{
	cJSON *a = cJSON_AddObjectToObject(o, "audit");

	cJSON_AddStringToObject(a, "policy", h->policy);
	kh_json_add_uint(a, "version", h->version);
	kh_json_add_uint(a, "pass", h->pass);
	kh_json_add_uint(a, "fail", h->fail);
	kh_json_add_uint(a, "na", h->na);
	kh_json_add_uint(a, "error", h->error);
	kh_json_add_uint(a, "at", h->at > 0 ? (uint64_t)h->at : 0);
}
