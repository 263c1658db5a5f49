/* SPDX-License-Identifier: MIT */
/*
 * The web server's limits on the fake clock (agent/web.c): a client that
 * never finishes its head is dropped exactly at web.head_timeout_ms, not
 * before; one that never reads its answer at web.send_timeout_ms; the
 * per-client request rate refills with time. Real loopback sockets, the
 * test platform's clock.
 */
#include <errno.h>
#include <string.h>

#include "agent/web.h"
#include "platform/test/test_platform.h"
#include "platform/time.h"
#include "tests/unit/kt.h"

static struct kh_loop *loop;
static struct kh_web *web;
static struct kh_agent_config cfg;
static struct kh_addr where;
static int verdicts; /* pages rendered: each asks the policy once */

static void verdict(void *arg, const char *name, const struct kh_addr *client,
		    struct kh_dns_verdict *v)
{
	(void)arg;
	(void)client;
	verdicts++;
	if (strcmp(name, "blocked.example") == 0) {
		v->blocked = 1;
		strcpy(v->category, "adult");
		strcpy(v->rule, "blocked.example");
		strcpy(v->source, "adult.txt");
	}
}

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		kh_loop_run_once(loop, 0); /* 0: the fake clock does not move */
}

static int client(kh_sock *s)
{
	if (kh_net_tcp_connect(&where, s) < 0)
		return -1;
	spin(); /* accepted */
	return 0;
}

/* What the client has: bytes, 0 when closed by the server, -EAGAIN when nothing yet. */
static int take(kh_sock s, char *buf, size_t cap)
{
	int n = kh_net_recv(s, buf, cap - 1);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static void setup(void)
{
	const struct kh_web_hooks h = {.verdict = verdict};
	const char *why;

	kh_config_defaults(&cfg);
	kh_addr_parse("127.0.0.1:0", 0, &cfg.web_listen[0]);
	cfg.nweb_listen = 1;
	cfg.web_head_timeout_ms = 1000;
	cfg.web_send_timeout_ms = 2000;
	cfg.web_rate = 1;
	cfg.web_per_client = 8;
	KT_EQ(kh_loop_new(&loop), 0);
	KT_EQ(kh_web_new(loop, &cfg, &h, &web, &why), 0);
	KT_EQ(kh_web_local_addr(web, 0, &where), 0);
}

static void teardown(void)
{
	kh_web_free(web);
	kh_loop_free(loop);
}

static void test_slow_head_dropped_at_deadline(void)
{
	struct kh_web_stats st;
	char buf[256];
	kh_sock s;

	setup();
	KT_EQ(client(&s), 0);
	KT_EQ(kh_net_send(s, "GET / HTTP/1.1\r\nHost: x\r\n", 25), 25);
	spin();
	kh_test_clock_advance(999);
	spin();
	KT_EQ(take(s, buf, sizeof(buf)), -EAGAIN); /* still open a millisecond before */
	kh_test_clock_advance(1);
	spin();
	KT_EQ(take(s, buf, sizeof(buf)), 0); /* closed at the deadline */
	kh_web_stats(web, &st);
	KT_EQ(st.timed_out, 1);
	KT_EQ(st.open, 0);
	kh_net_close(s);
	teardown();
}

static void test_answer_and_rate(void)
{
	struct kh_web_stats st;
	static const char req[] = "GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n";
	char buf[512];
	int limited = 0;

	setup();
	verdicts = 0;
	/* burst of 4 x web.rate, then 429 until the clock refills the bucket */
	for (int i = 0; i < 6; i++) {
		kh_sock s;
		KT_EQ(client(&s), 0);
		KT_EQ(kh_net_send(s, req, sizeof(req) - 1), (int)sizeof(req) - 1);
		spin();
		KT_CHECK(take(s, buf, sizeof(buf)) > 12);
		if (i < 4)
			KT_CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
		else
			limited += strncmp(buf, "HTTP/1.1 429", 12) == 0;
		kh_net_close(s);
		spin();
	}
	KT_EQ(limited, 2);
	/* a refused request costs no page: the rate is charged before rendering (flood CPU) */
	KT_EQ(verdicts, 4);
	kh_test_clock_advance(1000);
	{
		kh_sock s;
		KT_EQ(client(&s), 0);
		KT_EQ(kh_net_send(s, req, sizeof(req) - 1), (int)sizeof(req) - 1);
		spin();
		KT_CHECK(take(s, buf, sizeof(buf)) > 12);
		KT_CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
		kh_net_close(s);
	}
	spin();
	kh_web_stats(web, &st);
	KT_EQ(st.rate_limited, 2);
	KT_EQ(verdicts, 5);
	KT_EQ(st.open, 0);
	teardown();
}

int main(void)
{
	KT_RUN(test_slow_head_dropped_at_deadline);
	KT_RUN(test_answer_and_rate);
	return KT_DONE();
}
