/* SPDX-License-Identifier: MIT */
/*
 * The server's side of the configuration audit (docs/AUDIT.md,
 * docs/PROTOCOL.md): devices upload what changed in their results
 * (POST /v1/audit), the server keeps one row per device and check and
 * answers with the digest of what it holds; operators list results
 * (GET /v1/audit) and compliance per check across the fleet
 * (GET /v1/compliance).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonfield.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "policy/audit.h"
#include "server/api_priv.h"
#include "server/render.h"

/* An upload, and one check of it (docs/PROTOCOL.md, POST /v1/audit). */
struct audit_in {
	const cJSON *policy, *checks;
	const char *digest;
	int full;
};
static const struct kh_json_field audit_fields[] = {
	KH_JSON_F_OBJ("policy", 1, struct audit_in, policy),
	KH_JSON_F_STR("digest", 1, 64, 64, struct audit_in, digest),
	KH_JSON_F_BOOL("full", 1, struct audit_in, full),
	KH_JSON_F_ARR("checks", 1, 0, KH_AUDIT_MAX_CHECKS, struct audit_in, checks),
};
struct audit_policy_in {
	const char *id, *title;
	uint64_t version;
};
static const struct kh_json_field audit_policy_fields[] = {
	KH_JSON_F_STR("id", 1, 1, KH_AUDIT_CHECK_MAX, struct audit_policy_in, id),
	KH_JSON_F_UINT("version", 1, 1, UINT32_MAX, struct audit_policy_in, version),
	KH_JSON_F_STR("title", 0, 0, 256, struct audit_policy_in, title),
};
struct check_in {
	const char *id, *result, *severity, *evidence;
	uint64_t changed_at;
};
static const struct kh_json_field check_fields[] = {
	KH_JSON_F_STR("id", 1, 1, KH_AUDIT_CHECK_MAX, struct check_in, id),
	KH_JSON_F_STR("result", 1, 2, 5, struct check_in, result),
	KH_JSON_F_STR("severity", 1, 3, 8, struct check_in, severity),
	KH_JSON_F_STR("evidence", 1, 0, KH_AUDIT_EVIDENCE_MAX - 1, struct check_in, evidence),
	KH_JSON_F_UINT("changed_at", 1, 0, KH_JSON_INT_MAX, struct check_in, changed_at),
};

void kh_api_audit_upload(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct audit_in in = {0};
	struct audit_policy_in pol = {0};
	struct kh_audit_head h = {0};
	struct kh_audit_rec *rows = NULL;
	char why[160], digest[65], path[32];
	const cJSON *e;
	unsigned n = 0;
	cJSON *o;
	int err;

	if (kh_json_parse_fields(rq->in, audit_fields, KH_ARRAY_SIZE(audit_fields), &in, NULL, why,
				 sizeof(why)) < 0 ||
	    kh_json_parse_fields(in.policy, audit_policy_fields, KH_ARRAY_SIZE(audit_policy_fields),
				 &pol, "policy", why, sizeof(why)) < 0)
		return kh_api_error(resp, 400, why);
	if (!kh_audit_id_ok(pol.id))
		return kh_api_error(resp, 400, "policy.id: expected [a-z0-9._-]");
	rows = calloc((size_t)cJSON_GetArraySize(in.checks) + 1, sizeof(*rows));
	if (!rows)
		return kh_api_error(resp, 503, "out of memory");
	cJSON_ArrayForEach (e, in.checks) {
		struct check_in c = {0};
		snprintf(path, sizeof(path), "checks[%u]", n);
		if (kh_json_parse_fields(e, check_fields, KH_ARRAY_SIZE(check_fields), &c, path,
					 why, sizeof(why)) < 0)
			goto bad;
		if (!kh_audit_id_ok(c.id) || kh_audit_result_parse(c.result) < 0 ||
		    kh_severity_parse(c.severity) < 0) {
			snprintf(why, sizeof(why),
				 "%s: expected an id, a result (pass, fail, na, error) "
				 "and a severity",
				 path);
			goto bad;
		}
		kh_strlcpy(rows[n].check, c.id, sizeof(rows[n].check));
		kh_strlcpy(rows[n].result, c.result, sizeof(rows[n].result));
		kh_strlcpy(rows[n].severity, c.severity, sizeof(rows[n].severity));
		kh_strlcpy(rows[n].evidence, c.evidence, sizeof(rows[n].evidence));
		rows[n].changed_at = (int64_t)c.changed_at;
		n++;
	}
	kh_strlcpy(h.policy, pol.id, sizeof(h.policy));
	h.version = pol.version;
	kh_strlcpy(h.digest, in.digest, sizeof(h.digest));
	err = kh_store_audit_put(s->store, rq->peer->serial, &h, in.full, rows, n, rq->now, digest);
	free(rows);
	if (err == -E2BIG)
		return kh_api_error(resp, 413, "more than 512 audit checks for this device");
	if (err < 0)
		return kh_api_error(resp, 503, "store unavailable");
	o = cJSON_CreateObject();
	kh_json_add_uint(o, "stored", n);
	cJSON_AddStringToObject(o, "digest", digest);
	kh_api_set_json(resp, 200, o);
	return;
bad:
	free(rows);
	kh_api_error(resp, 400, why);
}

int kh_api_audit_differs(struct kh_srv *s, const char *serial, const char *digest)
{
	struct kh_audit_head h;

	if (kh_store_audit_head(s->store, serial, &h) < 0)
		return 1; /* nothing stored yet: all of it */
	return strcmp(h.digest, digest) != 0;
}

static int add_row(void *arg, const struct kh_audit_rec *r)
{
	cJSON_AddItemToArray(arg, kh_render_audit(r));
	return 0;
}

void kh_api_audit_list(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	char dev[KH_SERIAL_MAX + 1] = "", chk[KH_AUDIT_CHECK_MAX + 1] = "", f[4] = "";
	cJSON *o;
	int err;

	err = kh_api_query(rq->req->query, "device", dev, sizeof(dev));
	if (err == -E2BIG || (err == 0 && !kh_srv_serial_ok(dev)))
		return kh_api_error(resp, 400, "device: not a serial");
	err = kh_api_query(rq->req->query, "check", chk, sizeof(chk));
	if (err == -E2BIG || (err == 0 && (!chk[0] || !kh_audit_id_ok(chk))))
		return kh_api_error(resp, 400, "check: not a check id");
	err = kh_api_query(rq->req->query, "failing", f, sizeof(f));
	if (err == -E2BIG || (err == 0 && strcmp(f, "0") && strcmp(f, "1")))
		return kh_api_error(resp, 400, "failing: 0 or 1");
	o = cJSON_CreateObject();
	if (kh_store_audits(s->store, dev[0] ? dev : NULL, chk[0] ? chk : NULL, f[0] == '1',
			    add_row, cJSON_AddArrayToObject(o, "audit")) < 0)
		return cJSON_Delete(o), kh_api_error(resp, 503, "store unavailable");
	kh_api_set_json(resp, 200, o);
}

static int add_compliance(void *arg, const struct kh_compliance *c)
{
	cJSON_AddItemToArray(arg, kh_render_compliance(c));
	return 0;
}

void kh_api_compliance(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	cJSON *o = cJSON_CreateObject();

	(void)rq;
	if (kh_store_compliance(s->store, add_compliance, cJSON_AddArrayToObject(o, "checks")) < 0)
		return cJSON_Delete(o), kh_api_error(resp, 503, "store unavailable");
	kh_api_set_json(resp, 200, o);
}
