/* SPDX-License-Identifier: MIT */
/*
 * What the request handlers share (server/api.c and the handlers kept in
 * their own files, server/api_audit.c): who may call a route, one request
 * as a handler sees it, and the helpers that build answers.
 */
#ifndef KHIEN_SERVER_API_PRIV_H
#define KHIEN_SERVER_API_PRIV_H

#include <cjson/cJSON.h>

#include "server/api.h"
#include "server/store.h"

enum auth {
	AUTH_DEVICE,	/* a registered, active device's own certificate */
	AUTH_OPERATOR,	/* the operator token; no device credential opens these */
	AUTH_PUBLIC,	/* anyone: the dashboard's login form */
	AUTH_DASHBOARD, /* the operator token or a dashboard session; the handler checks */
};

#define ARG_MAX KH_SERIAL_MAX /* the longest path argument (a serial) */

/* One request as a handler sees it. */
struct call {
	const struct kh_http_req *req;
	const uint8_t *body;
	size_t len;
	struct kh_api_peer *peer; /* its device record, for AUTH_DEVICE routes */
	int64_t now;
	const cJSON *in;       /* the body as a JSON object, for BODY_JSON routes */
	char arg[ARG_MAX + 1]; /* the path's argument (serial or version) */
};

/* A JSON answer (o is consumed). */
void kh_api_set_json(struct kh_api_resp *resp, int status, cJSON *o);
/* The value of key in a query string into out; -ENOENT if absent, -E2BIG if longer than cap. */
int kh_api_query(const char *q, const char *key, char *out, size_t cap);

/* 1 if the Authorization header value is "Bearer " and the operator token. */
int kh_api_operator_ok(struct kh_srv *s, const char *authorization);

/* server/dashboard.c: the operator's pages (docs/SERVER.md "Dashboard") */
typedef void kh_api_handler(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp);
kh_api_handler kh_dash_login_form, kh_dash_login, kh_dash_logout, kh_dash_overview,
	kh_dash_incidents, kh_dash_compliance, kh_dash_warnings, kh_dash_devices, kh_dash_events,
	kh_dash_device, kh_dash_revoke;
/* 1 if the request carries a live dashboard session (its cookie). */
int kh_dash_session_ok(struct kh_srv *s, const struct kh_http_req *req);

/* server/api_audit.c */
void kh_api_audit_upload(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp);
void kh_api_audit_list(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp);
void kh_api_compliance(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp);
/* Whether the device's reported audit digest differs from what the server holds. */
int kh_api_audit_differs(struct kh_srv *s, const char *serial, const char *digest);

#endif
