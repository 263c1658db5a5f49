/* SPDX-License-Identifier: MIT */
/*
 * The sync state machine (agent/report.c over https_conn.c and
 * download.c), in one process on the fake clock: a scripted server speaks
 * mutual TLS and HTTP/1.1 on 127.0.0.1 from the same event loop. Covers
 * check-in, an event batch acknowledged, a bundle download cut off and
 * resumed with Range/If-Range, an outage that keeps queued events, and the
 * backoff after failures. The loop is stepped without waiting (the clock
 * moves only when a test advances it), so no timer fires behind a test.
 */
#define _DEFAULT_SOURCE
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test_tls.h"
#include "agent/category.h"
#include "agent/event.h"
#include "agent/report.h"
#include "crypto/crypto.h"
#include "lib/compiler.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/test/test_platform.h"

#define BUNDLE_LEN 50000
#define CUT_AT 12345
#define CUT_AT_TEXT "12345"

/* ---- the scripted server ---- */

struct sconn {
	kh_sock fd;
	struct kh_tls *tls;
	int hs_done;
	char in[64 * 1024];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	int close_after; /* cut the connection once out is written */
};

static struct {
	struct kh_loop *loop;
	struct kh_tls_conf *conf;
	kh_sock lfd;
	uint16_t port;
	int down; /* accept and drop at once: an outage */
	struct sconn c[4];
	/* what the server holds and answers */
	uint64_t acked;
	uint64_t assign_version;
	int cut_next_download; /* send only CUT_AT bytes of the next full bundle */
	/* what it saw */
	unsigned checkins, batches, downloads, ranged;
	char last_range[64], last_if_range[96];
	cJSON *events; /* every event received, in order */
} S;

static uint8_t bundle[BUNDLE_LEN];
static char bundle_sha[65];

static void sconn_close(struct sconn *k)
{
	if (k->tls)
		kh_tls_free(k->tls);
	if (k->fd >= 0) {
		kh_loop_fd_del(S.loop, k->fd);
		kh_net_close(k->fd);
	}
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

static void respond(struct sconn *k, int status, const char *extra, const void *body, size_t len,
		    size_t send_len)
{
	char head[512];
	int n = kh_http_format_response(head, sizeof(head), status,
					status == 200 && !extra ? "application/json"
								: "application/octet-stream",
					len, 1, extra);

	KT_CHECK(n > 0);
	k->out = malloc((size_t)n + len);
	memcpy(k->out, head, (size_t)n);
	memcpy(k->out + n, body, len);
	k->out_len = (size_t)n + send_len;
	k->out_off = 0;
}

static void json_respond(struct sconn *k, cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);

	respond(k, 200, NULL, t, strlen(t), strlen(t));
	free(t);
	cJSON_Delete(o);
}

static void serve(struct sconn *k, const struct kh_http_req *rq, const char *body, size_t blen)
{
	cJSON *o = cJSON_CreateObject();

	if (strcmp(rq->path, "/v1/checkin") == 0) {
		S.checkins++;
		cJSON_AddNumberToObject(o, "interval_s", 600);
		cJSON_AddNumberToObject(o, "events_acked", (double)S.acked);
		if (S.assign_version) {
			cJSON *p = cJSON_AddObjectToObject(o, "policy");
			cJSON_AddNumberToObject(p, "version", (double)S.assign_version);
			cJSON_AddNumberToObject(p, "size", BUNDLE_LEN);
			cJSON_AddStringToObject(p, "sha256", bundle_sha);
		}
		json_respond(k, o);
	} else if (strcmp(rq->path, "/v1/events") == 0) {
		cJSON *req = cJSON_ParseWithLength(body, blen), *e;
		S.batches++;
		KT_CHECK(cJSON_IsArray(cJSON_GetObjectItem(req, "events")));
		cJSON_ArrayForEach (e, cJSON_GetObjectItem(req, "events")) {
			uint64_t seq =
				(uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "seq"));
			if (seq > S.acked)
				S.acked = seq;
			cJSON_AddItemToArray(S.events, cJSON_Duplicate(e, 1));
		}
		cJSON_Delete(req);
		cJSON_AddNumberToObject(o, "acked", (double)S.acked);
		json_respond(k, o);
	} else if (strncmp(rq->path, "/v1/policy/", 11) == 0) {
		char extra[160];
		uint64_t a, b;
		cJSON_Delete(o);
		S.downloads++;
		snprintf(S.last_range, sizeof(S.last_range), "%s", rq->range);
		snprintf(S.last_if_range, sizeof(S.last_if_range), "%s", rq->if_range);
		if (rq->range[0] && kh_http_parse_range(rq->range, BUNDLE_LEN, &a, &b) == 0) {
			S.ranged++;
			snprintf(extra, sizeof(extra), "Content-Range: bytes %llu-%llu/%d\r\n",
				 (unsigned long long)a, (unsigned long long)b, BUNDLE_LEN);
			respond(k, 206, extra, bundle + a, b - a + 1, b - a + 1);
			return;
		}
		/* the whole bundle, or its first CUT_AT bytes and then the line goes dead */
		respond(k, 200, "", bundle, BUNDLE_LEN, S.cut_next_download ? CUT_AT : BUNDLE_LEN);
		k->close_after = S.cut_next_download;
		S.cut_next_download = 0;
	} else {
		cJSON_Delete(o);
		respond(k, 404, NULL, "", 0, 0);
	}
}

static void sconn_io(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct sconn *k = arg;
	struct kh_http_req rq;
	int n;

	(void)loop;
	(void)fd;
	(void)ev;
	if (!k->hs_done) {
		n = kh_tls_handshake(k->tls);
		if (n == -EAGAIN) {
			kh_loop_fd_mod(S.loop, k->fd,
				       kh_tls_want(k->tls) == KH_TLS_WANT_WRITE ? KH_EV_WRITE
										: KH_EV_READ);
			return;
		}
		if (n < 0) {
			printf("#   server handshake: %s\n", kh_tls_error(k->tls));
			sconn_close(k);
			return;
		}
		k->hs_done = 1;
	}
	for (;;) {
		if (k->out) {
			n = kh_tls_write(k->tls, k->out + k->out_off, k->out_len - k->out_off);
			if (n == -EAGAIN) {
				kh_loop_fd_mod(S.loop, k->fd, KH_EV_WRITE | KH_EV_READ);
				return;
			}
			if (n < 0) {
				sconn_close(k);
				return;
			}
			k->out_off += (size_t)n;
			if (k->out_off < k->out_len)
				continue;
			free(k->out);
			k->out = NULL;
			if (k->close_after) {
				sconn_close(k); /* no close_notify: the line was cut */
				return;
			}
			kh_loop_fd_mod(S.loop, k->fd, KH_EV_READ);
		}
		memset(&rq, 0, sizeof(rq));
		n = kh_http_parse_request(k->in, k->in_len, &rq);
		if (n > 0 && k->in_len - (size_t)n >=
				     (size_t)(rq.content_length > 0 ? rq.content_length : 0)) {
			size_t bl = rq.content_length > 0 ? (size_t)rq.content_length : 0;
			serve(k, &rq, k->in + n, bl);
			memmove(k->in, k->in + n + bl, k->in_len - (size_t)n - bl);
			k->in_len -= (size_t)n + bl;
			continue;
		}
		KT_CHECK(n >= 0);
		n = kh_tls_read(k->tls, k->in + k->in_len, sizeof(k->in) - k->in_len);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			sconn_close(k);
			return;
		}
		k->in_len += (size_t)n;
	}
}

static void on_accept(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	kh_sock s;
	struct sconn *k = NULL;

	(void)loop;
	(void)fd;
	(void)ev;
	(void)arg;
	if (kh_net_tcp_accept(S.lfd, &s, NULL) < 0)
		return;
	for (unsigned i = 0; i < KH_ARRAY_SIZE(S.c); i++)
		if (S.c[i].fd < 0) {
			k = &S.c[i];
			break;
		}
	if (S.down || !k) {
		kh_net_close(s); /* the server is away */
		return;
	}
	k->fd = s;
	KT_EQ(kh_tls_new(S.conf, s, NULL, &k->tls), 0);
	KT_EQ(kh_loop_fd_add(S.loop, s, KH_EV_READ, sconn_io, k), 0);
}

static int server_start(struct kh_loop *loop)
{
	struct kh_addr a;

	S.loop = loop;
	for (unsigned i = 0; i < KH_ARRAY_SIZE(S.c); i++)
		S.c[i].fd = -1;
	S.events = cJSON_CreateArray();
	if (!(S.conf = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0)))
		return -1;
	if (kh_addr_parse("127.0.0.1:0", 0, &a) < 0 || kh_net_tcp_listen(&a, 8, &S.lfd) < 0 ||
	    kh_net_local_addr(S.lfd, &a) < 0)
		return -1;
	S.port = a.port;
	return kh_loop_fd_add(loop, S.lfd, KH_EV_READ, on_accept, NULL);
}

static void server_stop(void)
{
	for (unsigned i = 0; i < KH_ARRAY_SIZE(S.c); i++)
		if (S.c[i].fd >= 0)
			sconn_close(&S.c[i]);
	kh_loop_fd_del(S.loop, S.lfd);
	kh_net_close(S.lfd);
	kh_tls_conf_free(S.conf);
	cJSON_Delete(S.events);
}

/* ---- the agent side ---- */

static char dir[] = "/tmp/kh-sync-XXXXXX";
static struct kh_agent_config cfg;
static struct kh_events *events;
static struct kh_report *rep;
static uint64_t policy_version;
static unsigned applied;
static int apply_ok;

static uint64_t h_version(void *arg)
{
	(void)arg;
	return policy_version;
}

static uint64_t h_root(void *arg)
{
	(void)arg;
	return 1;
}

static int h_apply(void *arg, const uint8_t *b, size_t len, char *why, size_t whylen)
{
	(void)arg;
	applied++;
	/* the verify path gets the downloaded bytes, whole and in order */
	KT_EQ(len, BUNDLE_LEN);
	KT_CHECK(len == BUNDLE_LEN && memcmp(b, bundle, len) == 0);
	if (!apply_ok) {
		snprintf(why, whylen, "test says no");
		return -EINVAL;
	}
	snprintf(why, whylen, "applied");
	policy_version = S.assign_version;
	return 0;
}

static cJSON *status_last;

static cJSON *status(void)
{
	cJSON *o;

	cJSON_Delete(status_last);
	status_last = o = cJSON_CreateObject();
	kh_report_status(rep, o);
	return o;
}

static double st_num(const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(status(), k));
}

static double queue_num(const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(status(), "queue"), k));
}

static const char *last_result(void)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(status(), "last_result"));
}

/* Step the loop without letting the clock jump, until the sync in flight is over. */
static void pump(void)
{
	for (int i = 0; i < 20000; i++) {
		int ran = kh_loop_run_once(S.loop, 0);
		if (ran == 0) {
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(status(), "state")),
				   "idle") == 0 &&
			    st_num("next_sync_s") > 0)
				return;
			poll(NULL, 0, 1); /* let the kernel move loopback bytes */
		}
	}
	printf("#   the sync did not finish\n");
	KT_CHECK(0);
}

/* A sync now; returns once it is over. */
static void sync_now(void)
{
	kh_report_sync_now(rep);
	pump();
}

/* kh_event_emit's answer: 0 queued, 1 held back by the gate. */
static int emit(const char *name, const char *category, const char *client)
{
	struct kh_category c;

	kh_category_resolve(&cfg, category, &c); /* as the DNS filter does */
	const struct kh_event e = {
		.type = "dns_blocked",
		.severity = (enum kh_severity)c.severity,
		.client = client,
		.rule = name,
		.name = name,
		.category = category,
		.qtype = "A",
		.source = "test.txt",
	};
	return kh_event_emit(events, &e);
}

static int agent_start(void)
{
	const struct kh_report_hooks h = {
		.policy_version = h_version,
		.root_version = h_root,
		.apply = h_apply,
		.events = events,
	};
	const char *text[3] = {P.ca_crt, P.cli_crt, P.cli_key};
	char *paths[3] = {cfg.report_ca, cfg.report_cert, cfg.report_key};
	char why[256], spool[300];

	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	if (mkdir(spool, 0700) < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], KH_CFG_PATH_MAX, "%s/%d.pem", dir, i);
		if (kh_fs_write_atomic(paths[i], text[i], strlen(text[i]), 0600) < 0)
			return -1;
	}
	snprintf(cfg.report_urls[0], sizeof(cfg.report_urls[0]), "https://%s:%u", SERVER_HOST,
		 S.port);
	cfg.nreport_urls = 1;
	snprintf(cfg.firmware, sizeof(cfg.firmware), "test-1");
	snprintf(cfg.hardware_id, sizeof(cfg.hardware_id), "hw-test");
	cfg.report_interval_s = 600;
	cfg.report_queue_events = 100;
	cfg.report_queue_kb = 64;
	if (kh_report_new(S.loop, &cfg, &h, &rep, why, sizeof(why)) < 0 ||
	    kh_report_start(rep, why, sizeof(why)) < 0) {
		printf("#   report: %s\n", why);
		return -1;
	}
	return 0;
}

/* ---- the tests ---- */

static void test_checkin_and_events(void)
{
	unsigned before = S.checkins;
	cJSON *e;

	sync_now();
	KT_EQ(S.checkins, before + 1);
	KT_EQ(S.batches, 0); /* nothing queued: no batch */
	KT_CHECK(strncmp(last_result(), "ok (policy 0, 0 event(s) pending", 32) == 0);
	KT_EQ(st_num("interval_s"), 600); /* the server's interval is taken */

	KT_EQ(emit("c2.example", "malware", "client-a"), 0);
	KT_EQ(emit("phish.example", "phishing", "client-a"), 0);
	/* a repeat within the minute: gated */
	KT_EQ(emit("c2.example", "malware", "client-a"), 1);
	KT_EQ(queue_num("pending"), 2);
	KT_EQ(queue_num("suppressed_repeats"), 1);
	sync_now();
	KT_EQ(S.batches, 1);
	KT_EQ(cJSON_GetArraySize(S.events), 2);
	KT_EQ(queue_num("pending"), 0);
	KT_EQ(queue_num("acked"), 2);
	e = cJSON_GetArrayItem(S.events, 0);
	/* the payload arrives as it was serialised when queued */
	KT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), "dns_blocked");
	KT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(e, "severity")), "high");
	KT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "name")),
		 "c2.example");
	KT_STREQ(cJSON_GetStringValue(
			 cJSON_GetObjectItem(cJSON_GetArrayItem(S.events, 1), "severity")),
		 "medium");
	KT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(S.events, 1), "seq")), 2);
}

static void test_download_resumed_after_cut(void)
{
	char partial[300];
	struct stat st;

	S.assign_version = 7;
	S.cut_next_download = 1;
	apply_ok = 1;
	sync_now();
	KT_EQ(S.downloads, 1);
	KT_EQ(applied, 0);
	KT_EQ(policy_version, 0);
	/* the sync itself worked; the download waits on its own backoff */
	KT_EQ(st_num("failures_in_a_row"), 0);
	KT_CHECK(strstr(last_result(), "ok, but policy 7: connection lost after") != NULL);
	snprintf(partial, sizeof(partial), "%s/spool/policy.download", dir);
	KT_EQ(stat(partial, &st), 0);
	KT_EQ(st.st_size, CUT_AT);

	/* within the download's backoff, a sync does not try again */
	sync_now();
	KT_EQ(S.downloads, 1);

	kh_test_clock_advance(31000);
	sync_now();
	KT_EQ(S.downloads, 2);
	KT_EQ(S.ranged, 1);
	KT_STREQ(S.last_range, "bytes=" CUT_AT_TEXT "-");
	KT_CHECK(strstr(S.last_if_range, bundle_sha) != NULL);
	KT_EQ(applied, 1);
	KT_EQ(policy_version, 7);
	KT_CHECK(strncmp(last_result(), "ok (policy 7", 12) == 0);
	/* applied: the partial and its sidecar are gone */
	KT_CHECK(stat(partial, &st) < 0);
	sync_now();
	KT_EQ(S.downloads, 2); /* nothing more to fetch */
}

static void test_outage_keeps_events_and_backs_off(void)
{
	uint64_t n0 = (uint64_t)st_num("syncs");
	double next1, next2;
	int have = cJSON_GetArraySize(S.events);

	S.down = 1;
	KT_EQ(emit("bot1.example", "botnet", "client-b"), 0);
	KT_EQ(emit("bot2.example", "botnet", "client-b"), 0);
	sync_now();
	KT_EQ(st_num("failures_in_a_row"), 1);
	KT_EQ(queue_num("pending"), 2);
	/* backoff: full jitter over 20 s after one failure (plus the 1 s floor) */
	next1 = st_num("next_sync_s");
	KT_CHECK(next1 >= 1 && next1 <= 21);
	/* the retry comes by itself when its time is due */
	kh_test_clock_advance((uint64_t)next1 * 1000);
	pump();
	KT_EQ(st_num("syncs"), n0 + 2);
	KT_EQ(st_num("failures_in_a_row"), 2);
	next2 = st_num("next_sync_s");
	KT_CHECK(next2 >= 1 && next2 <= 41);
	KT_EQ(queue_num("pending"), 2);
	KT_EQ(cJSON_GetArraySize(S.events), have);

	/* back: the events kept through the outage arrive, once */
	S.down = 0;
	kh_test_clock_advance((uint64_t)next2 * 1000);
	pump();
	KT_EQ(st_num("failures_in_a_row"), 0);
	KT_EQ(queue_num("pending"), 0);
	KT_EQ(cJSON_GetArraySize(S.events), have + 2);
	KT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(
			 cJSON_GetObjectItem(cJSON_GetArrayItem(S.events, have + 1), "data"),
			 "name")),
		 "bot2.example");
	/* a working sync goes back to the interval, +-10% */
	KT_CHECK(st_num("next_sync_s") >= 540 && st_num("next_sync_s") <= 660);
}

static void remove_tree(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	KT_EQ(system(cmd), 0);
}

int main(void)
{
	struct kh_loop *loop = NULL;
	uint8_t h[32];

	/* certificates are checked against the real clock: the fake one starts there */
	kh_test_clock_set_wall((int64_t)time(NULL));
	for (size_t i = 0; i < sizeof(bundle); i++)
		bundle[i] = (uint8_t)(i * 131 + (i >> 8));
	kh_sha256(bundle, sizeof(bundle), h);
	kh_hex_encode(h, 32, bundle_sha);
	if (!mkdtemp(dir) || pki_setup() || kh_loop_new(&loop) < 0 || server_start(loop) < 0 ||
	    kh_events_new(16, &events) < 0 || agent_start() < 0) {
		printf("not ok - setup\n");
		return 1;
	}
	KT_RUN(test_checkin_and_events);
	KT_RUN(test_download_resumed_after_cut);
	KT_RUN(test_outage_keeps_events_and_backs_off);
	cJSON_Delete(status_last);
	kh_report_free(rep);
	kh_events_free(events);
	server_stop();
	kh_loop_free(loop);
	pki_teardown();
	remove_tree();
	return KT_DONE();
}
