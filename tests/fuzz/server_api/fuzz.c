/* SPDX-License-Identifier: MIT */
/*
 * Fuzz khien-server's JSON message handlers as a device and an operator
 * reach them: an in-memory store with one registered device and one
 * assigned policy; the first input byte picks the endpoint, the rest is the
 * query string (up to the first newline) and the body. Oracles: no crash,
 * leak or over-read; every answer has a status from 200 to 599; every JSON
 * answer parses; a device request never succeeds on an operator endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "server/api.h"
#include "tests/fuzz/server_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "fuzz-operator-token-0123456789abcdef"

static struct kh_srv srv;
static uint8_t fpr[32];
static unsigned calls;

static void setup(void)
{
	char why[256];

	/* a quota small enough that long runs reach its refusals too */
	if (kh_test_srv_open(&srv, ":memory:", TOKEN, 2000, why, sizeof(why)) < 0)
		abort();
	memset(fpr, 0x5a, sizeof(fpr));
	kh_store_device_add(srv.store, "SN-FUZZ", "home", fpr, 0, 1000);
	kh_store_device_add(srv.store, "SN-OTHER", "lab", fpr, 0, 1000);
}

struct route {
	const char *method, *path;
	int admin;
};

static const struct route routes[] = {
	{"POST", "/v1/checkin", 0},
	{"POST", "/v1/events", 0},
	{"GET", "/v1/policy/7", 0},
	{"GET", "/v1/policy/8", 0},
	{"GET", "/v1/admin/devices", 1},
	{"GET", "/v1/admin/events", 1},
	{"POST", "/v1/admin/devices/SN-FUZZ/commands", 1},
	{"POST", "/v1/admin/devices/SN-OTHER/revoke", 1},
	{"GET", "/v1/admin/policies", 1},
	{"POST", "/v1/admin/devices", 1},
	{"POST", "/v1/admin/policies", 1},
	{"GET", "/v1/admin/devices", 0}, /* a device on an operator endpoint */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *rt;
	struct kh_http_req req;
	struct kh_api_peer peer;
	struct kh_api_resp resp;
	const uint8_t *body, *nl;
	size_t max = 0, qlen;
	int st;

	if (!srv.store || ++calls % 2000 == 0) {
		kh_store_close(srv.store);
		setup();
	}
	if (size < 1 || size > 300000)
		return 0;
	rt = &routes[data[0] % (sizeof(routes) / sizeof(routes[0]))];
	data++, size--;
	nl = memchr(data, '\n', size < KH_HTTP_TARGET_MAX ? size : KH_HTTP_TARGET_MAX);
	qlen = nl ? (size_t)(nl - data) : 0;
	body = nl ? nl + 1 : data;
	size -= nl ? qlen + 1 : 0;

	memset(&req, 0, sizeof(req));
	snprintf(req.method, sizeof(req.method), "%s", rt->method);
	snprintf(req.path, sizeof(req.path), "%s", rt->path);
	memcpy(req.query, data, qlen);
	req.query[qlen] = 0;
	req.minor = 1;
	req.keep_alive = 1;
	req.content_length = strcmp(rt->method, "POST") == 0 ? (int64_t)size : -1;
	if (rt->admin)
		snprintf(req.authorization, sizeof(req.authorization), "Bearer %s", TOKEN);
	memset(&peer, 0, sizeof(peer));
	if (!rt->admin) {
		peer.serial = "SN-FUZZ";
		peer.cert_sha256 = fpr;
	}
	st = kh_api_admit(&srv, &req, &peer, &max);
	if (st) {
		if (st < 400 || st > 599)
			abort();
		if (!rt->admin && strstr(rt->path, "/admin/") && st != 401)
			abort(); /* a device certificate never opens operator endpoints */
		return 0;
	}
	if (!rt->admin && strstr(rt->path, "/admin/"))
		abort();
	if (size > max)
		return 0;
	kh_api_handle(&srv, &req, body, size, &peer, 2000, &resp);
	if (resp.status < 200 || resp.status > 599)
		abort();
	if (resp.content_type && strcmp(resp.content_type, "application/json") == 0) {
		cJSON *o = cJSON_ParseWithLength((const char *)resp.data, resp.len);
		if (!o)
			abort();
		cJSON_Delete(o);
	}
	kh_api_resp_free(&resp);
	kh_store_flush(srv.store);
	return 0;
}
