/* SPDX-License-Identifier: MIT */
/*
 * khien-server's HTTP API in process (server/api.c): kh_api_admit and
 * kh_api_handle over a temporary SQLite store with registered devices and
 * an assigned policy, no network. Covers the route table (404, 405, body
 * limits, 411), who may call what (device certificate vs operator token),
 * check-in, and event upload with sequence numbers (a repeated batch is
 * acknowledged again but stored once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "lib/proto.h"
#include "server/api.h"
#include "tests/fuzz/server_fixture.h"
#include "tests/unit/kt.h"

#define TOKEN "unit-operator-token-0123456789abcdef"
#define NOW 5000

static struct kh_srv srv;
static uint8_t fpr[32], other_fpr[32];
static char db[512];

/* One request as srv_net.c makes it: admit the head, then handle the body. */
struct ask {
	const char *method, *path, *query, *body;
	const char *serial;	/* device certificate CN, or NULL */
	const uint8_t *cert;	/* its fingerprint */
	int token;		/* send the operator token */
	int64_t content_length; /* -1: none; -2: strlen(body) */
};

static int admitted; /* kh_api_admit's answer for the last ask */
static size_t admitted_max;
static char answer[8192];

/* Returns the status: kh_api_admit's refusal, or the handler's. answer: the body. */
static int ask(const struct ask *a)
{
	struct kh_http_req req;
	struct kh_api_peer peer;
	struct kh_api_resp resp;
	size_t len = a->body ? strlen(a->body) : 0;
	int st;

	memset(&req, 0, sizeof(req));
	memset(&peer, 0, sizeof(peer));
	snprintf(req.method, sizeof(req.method), "%s", a->method);
	snprintf(req.path, sizeof(req.path), "%s", a->path);
	snprintf(req.query, sizeof(req.query), "%s", a->query ? a->query : "");
	req.minor = 1;
	req.content_length = a->content_length == -2 ? (int64_t)len : a->content_length;
	if (a->token)
		snprintf(req.authorization, sizeof(req.authorization), "Bearer %s", TOKEN);
	peer.serial = a->serial;
	peer.cert_sha256 = a->cert;
	answer[0] = 0;
	admitted_max = 0;
	admitted = st = kh_api_admit(&srv, &req, &peer, &admitted_max);
	if (st)
		return st;
	kh_api_handle(&srv, &req, (const uint8_t *)a->body, len, &peer, NOW, &resp);
	snprintf(answer, sizeof(answer), "%.*s", (int)resp.len,
		 resp.data ? (const char *)resp.data : "");
	st = resp.status;
	kh_api_resp_free(&resp);
	kh_store_flush(srv.store);
	return st;
}

#define DEV(m, p, b)                     \
	(&(struct ask){.method = m,      \
		       .path = p,        \
		       .body = b,        \
		       .serial = "SN-1", \
		       .cert = fpr,      \
		       .content_length = -2})
#define OPER(m, p, b) \
	(&(struct ask){.method = m, .path = p, .body = b, .token = 1, .content_length = -2})

/* A number from the last answer's JSON, by top-level key; -1 if absent. */
static double answer_num(const char *key)
{
	cJSON *o = cJSON_Parse(answer);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	cJSON_Delete(o);
	return d;
}

static int count_event(void *arg, const struct kh_event_rec *e)
{
	(void)e;
	++*(unsigned *)arg;
	return 0;
}

static unsigned stored_events(void)
{
	unsigned n = 0;

	KT_EQ(kh_store_events(srv.store, 0, "SN-1", 1000, count_event, &n), 0);
	return n;
}

static int setup(void)
{
	char why[256];

	/* KHIEN_TEST_STORE: an empty PostgreSQL database (tests/integration/server_pg.sh) */
	const char *url = getenv("KHIEN_TEST_STORE");

	if (url && *url)
		snprintf(db, sizeof(db), "%s", url);
	else
		snprintf(db, sizeof(db), "/tmp/khien-test-api-%d.db", (int)getpid());
	if (kh_test_srv_open(&srv, db, TOKEN, 1000, why, sizeof(why)) < 0) {
		printf("# setup: %s\n", why);
		return -1;
	}
	memset(fpr, 0x5a, sizeof(fpr));
	memset(other_fpr, 0xa5, sizeof(other_fpr));
	kh_store_device_add(srv.store, "SN-1", "home", fpr, 0, 1000);
	kh_store_device_add(srv.store, "SN-GONE", "home", fpr, 0, 1000);
	kh_store_device_set_status(srv.store, "SN-GONE", KH_DEV_REVOKED);
	kh_store_flush(srv.store);
	return 0;
}

static void teardown(void)
{
	char p[sizeof(db) + 8];

	kh_api_cache_clear(&srv);
	kh_store_close(srv.store);
	if (kh_store_is_pg(db))
		return; /* the caller drops its database */
	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

static void test_routes(void)
{
	KT_EQ(ask(DEV("POST", "/v1/nothing", "{}")), 404);
	KT_EQ(ask(OPER("GET", "/v1/admin/devices/SN-1/explode", NULL)), 404);
	KT_EQ(ask(DEV("GET", "/v1/checkin", NULL)), 405);
	KT_EQ(ask(OPER("PUT", "/v1/admin/devices", "{}")), 405);
	KT_EQ(ask(OPER("DELETE", "/v1/admin/policies", NULL)), 405);
	/* HEAD answers where GET does */
	KT_EQ(ask(OPER("HEAD", "/v1/admin/devices", NULL)), 200);
	/* a serial longer than any device's is no path at all */
	char path[200];
	snprintf(path, sizeof(path), "/v1/admin/devices/%0100d/revoke", 0);
	KT_EQ(ask(OPER("POST", path, NULL)), 404);
}

static void test_body_limits(void)
{
	struct ask a = *DEV("POST", "/v1/checkin", "{}");

	a.content_length = KH_SRV_CHECKIN_BODY_MAX + 1;
	KT_EQ(ask(&a), 413);
	a.content_length = -1;
	KT_EQ(ask(&a), 411);
	a.path = "/v1/events";
	a.content_length = KH_SRV_DEVICE_BODY_MAX + 1;
	KT_EQ(ask(&a), 413);
	a.content_length = KH_SRV_DEVICE_BODY_MAX;
	a.body = NULL; /* admitted: kh_api_admit says how much to read */
	kh_api_admit(
		&srv,
		&(struct kh_http_req){.method = "POST", .path = "/v1/events", .content_length = 10},
		&(struct kh_api_peer){.serial = "SN-1", .cert_sha256 = fpr}, &admitted_max);
	KT_EQ(admitted_max, KH_SRV_DEVICE_BODY_MAX);
	/* a download has no body */
	a = *DEV("GET", "/v1/policy/7", NULL);
	a.content_length = 1;
	KT_EQ(ask(&a), 413);
	/* operators: 64 KiB of JSON, a bundle up to KH_SRV_ADMIN_BODY_MAX */
	a = *OPER("POST", "/v1/admin/devices", "{}");
	a.content_length = 64 * 1024 + 1;
	KT_EQ(ask(&a), 413);
	a.path = "/v1/admin/policies";
	a.content_length = (int64_t)KH_SRV_ADMIN_BODY_MAX + 1;
	KT_EQ(ask(&a), 413);
	a.content_length = 0;
	KT_EQ(ask(&a), 422); /* admitted; an empty bundle does not verify */
	KT_EQ(admitted_max, KH_SRV_ADMIN_BODY_MAX);
}

static void test_auth(void)
{
	struct ask a = *DEV("POST", "/v1/checkin", "{}");

	a.serial = NULL, a.cert = NULL;
	KT_EQ(ask(&a), 401); /* no certificate */
	a.serial = "SN-NOBODY", a.cert = fpr;
	KT_EQ(ask(&a), 403); /* not registered */
	a.serial = "SN-1", a.cert = other_fpr;
	KT_EQ(ask(&a), 403); /* not the certificate issued to it */
	a.serial = "SN-GONE", a.cert = fpr;
	KT_EQ(ask(&a), 403); /* revoked */
	/* a device certificate never opens an operator endpoint */
	a = *DEV("GET", "/v1/admin/devices", NULL);
	KT_EQ(ask(&a), 401);
	a.token = 1;
	KT_EQ(ask(&a), 200);
	KT_CHECK(strstr(answer, "\"SN-1\"") != NULL);
	/* nor does a token that is not the operator's */
	a = *OPER("GET", "/v1/admin/events", NULL);
	a.token = 0;
	KT_EQ(ask(&a), 401);
	/* and the operator token opens no device endpoint */
	KT_EQ(ask(OPER("POST", "/v1/checkin", "{}")), 401);
}

static void test_checkin(void)
{
	struct kh_device d;

	KT_EQ(ask(DEV("POST", "/v1/checkin",
		      "{\"firmware\":\"fw "
		      "1.0\",\"hardware_id\":\"hw-a\",\"policy\":{\"version\":0},"
		      "\"status\":{\"uptime\":5}}")),
	      200);
	KT_EQ(answer_num("interval_s"), 300);
	KT_EQ(answer_num("server_time"), NOW);
	KT_EQ(answer_num("events_acked"), 0);
	KT_CHECK(strstr(answer, "\"url\":\"/v1/policy/7\"") != NULL);
	KT_EQ(kh_store_device_get(srv.store, "SN-1", &d), 0);
	KT_STREQ(d.firmware, "fw 1.0");
	KT_STREQ(d.hardware_id, "hw-a");
	KT_EQ(d.checkins, 1);
	KT_EQ(d.last_seen, NOW);
	/* refusals name the field */
	KT_EQ(ask(DEV("POST", "/v1/checkin", "{\"firmware\":5}")), 400);
	KT_STREQ(answer, "{\"error\":\"firmware: expected a string of at most 64 bytes\"}");
	KT_EQ(ask(DEV("POST", "/v1/checkin",
		      "{\"firmware\":\"f\",\"hardware_id\":\"h\",\"policy\":{\"version\":-1}}")),
	      400);
	KT_STREQ(answer, "{\"error\":\"policy.version: expected a whole number from 0 to "
			 "9007199254740991\"}");
	KT_EQ(ask(DEV("POST", "/v1/checkin", "not json")), 400);
	KT_STREQ(answer, "{\"error\":\"body: expected a JSON object\"}");
	KT_EQ(kh_store_device_get(srv.store, "SN-1", &d), 0);
	KT_EQ(d.checkins, 1); /* refused check-ins change nothing */
}

static void test_events_exactly_once(void)
{
	const char *batch =
		"{\"events\":["
		"{\"seq\":1,\"time\":100,\"type\":\"dns_blocked\",\"severity\":\"high\","
		"\"data\":{\"domain\":\"a.example\"}},"
		"{\"seq\":2,\"time\":101,\"type\":\"dns_blocked\",\"severity\":\"low\"}]}";
	const char *next =
		"{\"events\":["
		"{\"seq\":2,\"time\":101,\"type\":\"dns_blocked\",\"severity\":\"low\"},"
		"{\"seq\":3,\"time\":102,\"type\":\"audit_fail\",\"severity\":\"critical\"}]}";
	unsigned before = stored_events();
	struct kh_device d;

	KT_EQ(ask(DEV("POST", "/v1/events", batch)), 200);
	KT_EQ(answer_num("acked"), 2);
	KT_EQ(answer_num("stored"), 2);
	KT_EQ(stored_events(), before + 2);
	/* the answer was lost: the agent sends the same batch again */
	KT_EQ(ask(DEV("POST", "/v1/events", batch)), 200);
	KT_EQ(answer_num("acked"), 2);
	KT_EQ(answer_num("stored"), 0);
	KT_EQ(stored_events(), before + 2);
	/* overlapping: only the new one is stored */
	KT_EQ(ask(DEV("POST", "/v1/events", next)), 200);
	KT_EQ(answer_num("acked"), 3);
	KT_EQ(answer_num("stored"), 1);
	KT_EQ(stored_events(), before + 3);
	KT_EQ(kh_store_device_get(srv.store, "SN-1", &d), 0);
	KT_EQ(d.last_seq, 3);
	/* and a check-in now tells the device what is acknowledged */
	KT_EQ(ask(DEV("POST", "/v1/checkin",
		      "{\"firmware\":\"f\",\"hardware_id\":\"h\",\"policy\":{\"version\":7}}")),
	      200);
	KT_EQ(answer_num("events_acked"), 3);
}

static void test_events_refused(void)
{
	unsigned before = stored_events();
	char *big;
	size_t n;

	KT_EQ(ask(DEV("POST", "/v1/events",
		      "{\"events\":[{\"seq\":9,\"time\":1,\"type\":\"Bad "
		      "Type!\",\"severity\":\"low\"}]}")),
	      400);
	KT_CHECK(strncmp(answer, "{\"error\":\"events[0]:", 20) == 0);
	KT_EQ(ask(DEV("POST", "/v1/events",
		      "{\"events\":[{\"seq\":9,\"type\":\"x\",\"severity\":\"low\"}]}")),
	      400);
	KT_STREQ(answer, "{\"error\":\"events[0].time: required\"}");
	KT_EQ(ask(DEV("POST", "/v1/events",
		      "{\"events\":[{\"seq\":0,\"time\":1,\"type\":\"x\",\"severity\":\"low\"}]}")),
	      400);
	KT_EQ(ask(DEV("POST", "/v1/events",
		      "{\"events\":[{\"seq\":9,\"time\":1,\"type\":\"x\",\"severity\":\"dire\"}]"
		      "}")),
	      400);
	/* 2^53 + 1 cannot be held exactly: refused, never rounded */
	KT_EQ(ask(DEV("POST", "/v1/events",
		      "{\"events\":[{\"seq\":9007199254740993,\"time\":1,\"type\":\"x\","
		      "\"severity\":\"low\"}]}")),
	      400);
	/* data over the protocol's limit */
	n = KH_PROTO_EVENT_DATA_MAX + 64;
	big = malloc(n + 200);
	KT_CHECK(big != NULL);
	if (big) {
		int k = snprintf(big, n + 200,
				 "{\"events\":[{\"seq\":9,\"time\":1,\"type\":\"x\",\"severity\":"
				 "\"low\",\"data\":{\"v\":\"");
		memset(big + k, 'a', KH_PROTO_EVENT_DATA_MAX);
		snprintf(big + k + KH_PROTO_EVENT_DATA_MAX, 200, "\"}}]}");
		KT_EQ(ask(DEV("POST", "/v1/events", big)), 400);
		KT_CHECK(strstr(answer, "events[0].data: over") != NULL);
		free(big);
	}
	KT_EQ(stored_events(), before); /* nothing of a refused batch is stored */
}

struct collect {
	unsigned n;
	int64_t last_id;
	int ordered; /* every id below the one before */
	char keys[8][KH_SERIAL_MAX + 1];
	uint64_t sum, recent[8], counts[8];
};

static int take_id(void *arg, const struct kh_event_rec *e)
{
	struct collect *c = arg;

	if (c->n && e->id >= c->last_id)
		c->ordered = 0;
	c->last_id = e->id;
	c->n++;
	return 0;
}

static int take_dev(void *arg, const struct kh_device *d)
{
	struct collect *c = arg;

	if (c->n < 8)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", d->serial);
	c->n++;
	return 0;
}

static int take_count(void *arg, const struct kh_count *k)
{
	struct collect *c = arg;

	if (c->n < 8) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", k->key);
		c->counts[c->n] = k->n;
		c->recent[c->n] = k->recent;
	}
	c->sum += k->n;
	c->n++;
	return 0;
}

/* The dashboard's store calls (keyset pages, counts) and its pages' doors. */
static void test_dashboard(void)
{
	unsigned total = stored_events();
	struct collect c = {.ordered = 1};
	int64_t before = 0;

	KT_CHECK(total >= 3);
	/* events newest first, two at a time, each page below the last: all of them, once */
	do {
		unsigned got = c.n;
		KT_EQ(kh_store_events_before(srv.store, before, "SN-1", 2, take_id, &c), 0);
		if (c.n == got)
			break;
		before = c.last_id;
	} while (c.n < 1000);
	KT_EQ(c.n, total);
	KT_CHECK(c.ordered);
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_devices_after(srv.store, "", 1, take_dev, &c), 0);
	KT_EQ(c.n, 1);
	KT_STREQ(c.keys[0], "SN-1");
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_devices_after(srv.store, "SN-1", 10, take_dev, &c), 0);
	KT_EQ(c.n, 1);
	KT_STREQ(c.keys[0], "SN-GONE");
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_DEV_STATUS, NOW, 1, 8, take_count, &c), 0);
	KT_EQ(c.n, 2);
	KT_STREQ(c.keys[0], "active");
	KT_EQ(c.counts[0], 1);
	KT_EQ(c.recent[0], 1); /* SN-1 checked in at NOW */
	KT_STREQ(c.keys[1], "revoked");
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_DEV_FIRMWARE, 0, 1, 8, take_count, &c), 0);
	KT_EQ(c.n, 1); /* the revoked one is not counted */
	KT_STREQ(c.keys[0], "f");
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_EV_TIME, 0, 3600, 100, take_count, &c), 0);
	KT_EQ(c.sum, total);
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_EV_DEVICE, 0, 1, 8, take_count, &c), 0);
	KT_EQ(c.n, 1);
	KT_STREQ(c.keys[0], "SN-1");
	KT_EQ(c.counts[0], total);
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_EV_CATEGORY, 0, 1, 8, take_count, &c), 0);
	KT_EQ(c.sum, total);
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_EV_THREAT, 0, 1, 8, take_count, &c), 0);
	memset(&c, 0, sizeof(c));
	KT_EQ(kh_store_counts(srv.store, KH_COUNT_EV_DEVICE, NOW + 10, 1, 8, take_count, &c), 0);
	KT_EQ(c.n, 0); /* nothing received after now */
	/* the pages: nobody is sent to the login form, the operator token opens them */
	KT_EQ(ask(&(struct ask){.method = "GET", .path = "/dashboard/", .content_length = -1}),
	      303);
	KT_EQ(ask(&(struct ask){.method = "GET",
				.path = "/dashboard/incidents",
				.serial = "SN-1",
				.cert = fpr,
				.content_length = -1}),
	      303); /* a device certificate is nobody here */
	KT_EQ(ask(OPER("GET", "/dashboard/incidents", NULL)), 200);
	KT_CHECK(strstr(answer, "<html lang=\"vi\"") != NULL);
	KT_EQ(ask(OPER("GET", "/dashboard/device/SN-NOBODY", NULL)), 404);
	KT_EQ(ask(&(struct ask){.method = "POST",
				.path = "/dashboard/device/SN-1/revoke",
				.body = "",
				.content_length = 0}),
	      403); /* no session, no token */
	KT_EQ(ask(&(struct ask){.method = "POST",
				.path = "/dashboard/login",
				.body = "password=not-the-operator-token",
				.content_length = -2}),
	      401);
	KT_EQ(ask(&(struct ask){.method = "POST",
				.path = "/dashboard/login",
				.body = "password=" TOKEN,
				.content_length = -2}),
	      303);
}

static void test_operator(void)
{
	KT_EQ(ask(OPER("POST", "/v1/admin/devices/SN-1/commands", "{\"type\":\"sync\"}")), 201);
	KT_CHECK(answer_num("id") >= 1);
	KT_EQ(ask(OPER("POST", "/v1/admin/devices/SN-1/commands", "{\"type\":\"reboot\"}")), 400);
	KT_EQ(ask(OPER("POST", "/v1/admin/devices/SN-NOBODY/commands", "{\"type\":\"sync\"}")),
	      404);
	KT_EQ(ask(OPER("GET", "/v1/admin/events", NULL)), 200);
	KT_CHECK(strstr(answer, "\"dns_blocked\"") != NULL);
	KT_EQ(ask(&(struct ask){.method = "GET",
				.path = "/v1/admin/events",
				.query = "limit=0",
				.token = 1,
				.content_length = -1}),
	      400);
	/* a revoke needs no body; afterwards the device is refused */
	KT_EQ(ask(OPER("POST", "/v1/admin/devices/SN-1/revoke", NULL)), 200);
	KT_STREQ(answer, "{\"serial\":\"SN-1\",\"status\":\"revoked\"}");
	KT_EQ(ask(DEV("POST", "/v1/checkin", "{}")), 403);
	KT_EQ(ask(OPER("POST", "/v1/admin/devices/SN-NOBODY/revoke", NULL)), 404);
}

int main(void)
{
	if (setup() < 0)
		return 1;
	KT_RUN(test_routes);
	KT_RUN(test_body_limits);
	KT_RUN(test_auth);
	KT_RUN(test_checkin);
	KT_RUN(test_events_exactly_once);
	KT_RUN(test_events_refused);
	KT_RUN(test_dashboard);
	KT_RUN(test_operator);
	teardown();
	return KT_DONE();
}
