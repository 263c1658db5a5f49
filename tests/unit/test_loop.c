/* SPDX-License-Identifier: MIT */
/*
 * Event loop contract, built twice: against the Linux backend (real clock,
 * real sleeping) and the test backend (fake clock, no sleeping). Both must
 * deliver fd readiness, run timers in deadline order with ties in arming
 * order, honour cancel and re-arm, and turn signals into callbacks.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <unistd.h>

#include "kt.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/loop.h"
#include "platform/time.h"

static int order[16], norder;

static void on_timer(struct kh_loop *l, void *arg)
{
	(void)l;
	if (norder < (int)(sizeof(order) / sizeof(order[0])))
		order[norder++] = (int)(intptr_t)arg;
}

static void test_timers_fire_in_order(void)
{
	struct kh_loop *l;
	struct kh_timer t[5];
	uint64_t start = kh_time_mono_ms();

	KT_EQ(kh_loop_new(&l), 0);
	norder = 0;
	for (int i = 0; i < 5; i++)
		kh_timer_init(&t[i], on_timer, (void *)(intptr_t)i);
	KT_EQ(kh_timer_arm(l, &t[0], 40), 0);
	KT_EQ(kh_timer_arm(l, &t[1], 10), 0);
	KT_EQ(kh_timer_arm(l, &t[2], 25), 0);
	KT_EQ(kh_timer_arm(l, &t[3], 10), 0); /* same deadline as t[1]: fires after it */
	KT_EQ(kh_timer_arm(l, &t[4], 5), 0);
	kh_timer_cancel(l, &t[4]);
	KT_CHECK(!kh_timer_armed(&t[4]));
	KT_EQ(kh_loop_run(l), 0); /* returns when nothing is left */
	KT_EQ(norder, 4);
	KT_EQ(order[0], 1);
	KT_EQ(order[1], 3);
	KT_EQ(order[2], 2);
	KT_EQ(order[3], 0);
	KT_CHECK(kh_time_mono_ms() - start >= 40);
	kh_loop_free(l);
}

struct rearm {
	struct kh_timer t;
	int count;
};

static void on_rearm(struct kh_loop *l, void *arg)
{
	struct rearm *r = arg;

	if (++r->count < 5)
		kh_timer_arm(l, &r->t, 2);
}

static void test_timer_rearm_from_callback(void)
{
	struct kh_loop *l;
	struct rearm r = {.count = 0};

	KT_EQ(kh_loop_new(&l), 0);
	kh_timer_init(&r.t, on_rearm, &r);
	KT_EQ(kh_timer_arm(l, &r.t, 1), 0);
	KT_EQ(kh_loop_run(l), 0);
	KT_EQ(r.count, 5);
	kh_loop_free(l);
}

static void test_timer_heap_many(void)
{
	static struct kh_timer t[100];
	struct kh_loop *l;
	int i;

	KT_EQ(kh_loop_new(&l), 0);
	norder = 0;
	/* Deadlines in a scrambled order; cancel every third; check monotone firing. */
	for (i = 0; i < 100; i++) {
		kh_timer_init(&t[i], on_timer, (void *)(intptr_t)0);
		KT_EQ(kh_timer_arm(l, &t[i], (uint64_t)((i * 37) % 100)), 0);
	}
	for (i = 0; i < 100; i += 3)
		kh_timer_cancel(l, &t[i]);
	uint64_t last = 0;
	int fired = 0;
	while (kh_loop_run_once(l, -1) > 0 || fired < 66) {
		uint64_t now = kh_time_mono_ms();
		KT_CHECK(now >= last);
		last = now;
		fired = 0;
		for (i = 0; i < 100; i++)
			fired += !kh_timer_armed(&t[i]) && i % 3 != 0;
		if (fired == 66)
			break;
	}
	KT_EQ(fired, 66);
	kh_loop_free(l);
}

struct pipe_ctx {
	int rd, got, closed_self;
	char buf[8];
};

static void on_readable(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	struct pipe_ctx *p = arg;

	if (ev & KH_EV_READ) {
		ssize_t n = read(fd, p->buf, sizeof(p->buf));
		if (n > 0)
			p->got += (int)n;
	}
	kh_loop_fd_del(l, fd); /* removing itself from inside the callback */
	p->closed_self = 1;
}

static void test_fd_readiness(void)
{
	struct kh_loop *l;
	struct pipe_ctx p = {0};
	int fds[2];

	KT_EQ(kh_loop_new(&l), 0);
	KT_EQ(pipe(fds), 0);
	p.rd = fds[0];
	KT_EQ(kh_loop_fd_add(l, fds[0], KH_EV_READ, on_readable, &p), 0);
	KT_EQ(kh_loop_fd_add(l, fds[0], KH_EV_READ, on_readable, &p), -EEXIST);
	KT_EQ(kh_loop_run_once(l, 0), 0); /* nothing written yet */
	KT_EQ(write(fds[1], "abc", 3), 3);
	KT_EQ(kh_loop_run_once(l, 1000), 1);
	KT_EQ(p.got, 3);
	KT_CHECK(p.closed_self);
	KT_EQ(kh_loop_fd_mod(l, fds[0], KH_EV_READ), -ENOENT);
	close(fds[0]);
	close(fds[1]);
	kh_loop_free(l);
}

static void on_writable(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	(void)fd;
	if (ev & KH_EV_WRITE)
		(*(int *)arg)++;
	kh_loop_stop(l);
}

static void test_fd_writable(void)
{
	struct kh_loop *l;
	int fds[2], n = 0;

	KT_EQ(kh_loop_new(&l), 0);
	KT_EQ(pipe(fds), 0);
	KT_EQ(kh_loop_fd_add(l, fds[1], KH_EV_WRITE, on_writable, &n), 0);
	KT_EQ(kh_loop_run(l), 0);
	KT_EQ(n, 1);
	close(fds[0]);
	close(fds[1]);
	kh_loop_free(l);
}

static int g_sig_seen;

static void on_signal(struct kh_loop *l, int signo, void *arg)
{
	(void)arg;
	g_sig_seen = signo;
	kh_loop_stop(l);
}

static void on_raise(struct kh_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	raise(SIGUSR1);
}

static void test_signal_delivery(void)
{
	struct kh_loop *l;
	struct kh_timer t;

	KT_EQ(kh_loop_new(&l), 0);
	KT_EQ(kh_loop_signal_add(l, SIGUSR1, on_signal, NULL), 0);
	kh_timer_init(&t, on_raise, NULL);
	KT_EQ(kh_timer_arm(l, &t, 5), 0);
	g_sig_seen = 0;
	for (int i = 0; i < 10 && !g_sig_seen; i++)
		KT_CHECK(kh_loop_run_once(l, 100) >= 0);
	KT_EQ(g_sig_seen, SIGUSR1);
	kh_loop_free(l);
}

static void test_capacity_limits(void)
{
	static struct kh_timer t[CONFIG_LOOP_MAX_TIMERS + 1];
	struct kh_loop *l;
	int i;

	KT_EQ(kh_loop_new(&l), 0);
	for (i = 0; i < CONFIG_LOOP_MAX_TIMERS; i++) {
		kh_timer_init(&t[i], on_timer, NULL);
		KT_EQ(kh_timer_arm(l, &t[i], 1000), 0);
	}
	kh_timer_init(&t[i], on_timer, NULL);
	KT_EQ(kh_timer_arm(l, &t[i], 1000), -ENOSPC);
	kh_loop_free(l); /* frees with timers still armed */
	KT_CHECK(!kh_timer_armed(&t[0]));
}

int main(void)
{
	KT_RUN(test_timers_fire_in_order);
	KT_RUN(test_timer_rearm_from_callback);
	KT_RUN(test_timer_heap_many);
	KT_RUN(test_fd_readiness);
	KT_RUN(test_fd_writable);
	KT_RUN(test_signal_delivery);
	KT_RUN(test_capacity_limits);
	return KT_DONE();
}
