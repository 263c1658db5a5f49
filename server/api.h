/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API of khien-server (docs/PROTOCOL.md), independent of the
 * network: given a parsed request head, its body and who is asking (the
 * device serial from a verified client certificate, if any), produce a
 * response. Device endpoints (/v1/checkin, /v1/events, /v1/policy/N) need
 * a registered, active device whose certificate is the one issued to it;
 * operator endpoints (/v1/admin/...) need the operator token and nothing
 * a device holds opens them. Bodies are JSON (cJSON) with limits on size,
 * count and every field.
 */
#ifndef KHIEN_SERVER_API_H
#define KHIEN_SERVER_API_H

#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"
#include "server/server.h"

/* Who is on the other end of the connection. */
struct kh_api_peer {
	const char *serial;	    /* CN of the verified client certificate, or NULL */
	const uint8_t *cert_sha256; /* its fingerprint (32 bytes), or NULL */
	char addr[64];		    /* for logs */
	struct kh_device dev;	    /* filled by kh_api_admit for device requests */
	int have_dev;
	int operator; /* kh_api_admit saw the operator token or a dashboard session */
};

struct kh_api_resp {
	int status;
	const char *content_type;
	uint8_t *body; /* heap, freed by kh_api_resp_free (unless borrowed) */
	const uint8_t *data;
	size_t len;	 /* data[0..len) is the body to send */
	char extra[640]; /* extra header lines, "Name: value\r\n"... (a page's policy, a cookie) */
	int close;	 /* close the connection after this response */
	struct kh_api_ref *ref; /* a cached bundle the body points into */
};

/*
 * Is the peer's certificate that of a registered, active device, the one
 * issued to it and not expired? 0 (peer->dev filled, have_dev set), 401
 * without a certificate, 403 if not, 503 if the store cannot say.
 */
int kh_api_device_admitted(struct kh_srv *s, struct kh_api_peer *peer);

/*
 * After the head arrives: may this peer send this request, and how long
 * may its body be? Returns 0 and *max_body, or an HTTP status (401, 403,
 * 404, 405, 411, 413) to answer without reading the body.
 */
int kh_api_admit(struct kh_srv *s, const struct kh_http_req *req, struct kh_api_peer *peer,
		 size_t *max_body);

/* Handle a complete request. Always fills resp (errors as JSON {"error": "..."}). */
/* peer: as kh_api_admit left it (its device record is used). */
void kh_api_handle(struct kh_srv *s, const struct kh_http_req *req, const uint8_t *body, size_t len,
		   struct kh_api_peer *peer, int64_t now, struct kh_api_resp *resp);
void kh_api_resp_free(struct kh_api_resp *resp);

/* Fill resp with a JSON error body {"error": msg} and status. */
void kh_api_error(struct kh_api_resp *resp, int status, const char *msg);

/*
 * A mirror base URL an operator gives (kh_http_parse_mirror's form, an IP
 * literal host, short enough that "/VERSION.bundle" still fits). 0, or
 * -EINVAL with why.
 */
int kh_api_mirror_check(const char *url, char *why, size_t whylen);

/* Drop s's cached bundle maps (at shutdown; responses in flight keep theirs). */
void kh_api_cache_clear(struct kh_srv *s);

#endif
