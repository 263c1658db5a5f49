/* SPDX-License-Identifier: MIT */
/*
 * Event loop contract, built twice: against the Linux backend (real clock,
 * real sleeping) and the test backend (fake clock, no sleeping). Both must
 * deliver fd readiness, run timers in deadline order with ties in arming
 * order, honour cancel and re-arm, and turn signals into callbacks; and a
 * loop sized at run time must hold thousands of fds and timers, never
 * deliver events of an fd deleted by an earlier callback, and report when
 * it is full.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

/* ---- sized loops ---- */

/* Soft RLIMIT_NOFILE raised to the hard limit; returns the soft limit now in force. */
static rlim_t nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

struct pair {
	int sv[2];
	int calls;
	int bad; /* callback saw the wrong fd or events */
};

static void on_pair(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	struct pair *p = arg;
	char c;

	(void)l;
	p->calls++;
	if (fd != p->sv[0] || ev != KH_EV_READ || read(fd, &c, 1) != 1 || c != 'x')
		p->bad++;
}

static void test_sized_many_fds(void)
{
	enum {
		MAX_PAIRS = 5000
	};
	static struct pair pairs[MAX_PAIRS];
	struct kh_loop *l;
	rlim_t lim = nofile_raise();
	int n, i, opened = 0, fired = 0, iters = 0, extra[2];

	/* Two fds per pair plus stdio, the self-pipe and a spare pair. */
	if (lim != RLIM_INFINITY && lim < 2 * 3000 + 32)
		KT_SKIP("RLIMIT_NOFILE below 6032");
	n = lim == RLIM_INFINITY || lim >= 2 * MAX_PAIRS + 32 ? MAX_PAIRS : 3000;
	KT_EQ(kh_loop_new_sized(&l, (unsigned)n, 16), 0);
	for (i = 0; i < n; i++) {
		pairs[i] = (struct pair){.calls = 0};
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i].sv) < 0)
			break;
		opened++;
		KT_EQ(kh_loop_fd_add(l, pairs[i].sv[0], KH_EV_READ, on_pair, &pairs[i]), 0);
	}
	KT_EQ(opened, n);
	/* Full: one more is refused, the earlier ones keep working. */
	KT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, extra), 0);
	KT_EQ(kh_loop_fd_add(l, extra[0], KH_EV_READ, on_pair, NULL), -ENOSPC);
	KT_EQ(kh_loop_run_once(l, 0), 0); /* nothing written yet */
	/* Write in a scrambled order (7919 is prime, so every pair once). */
	for (i = 0; i < opened; i++)
		KT_EQ(write(pairs[(i * 7919) % opened].sv[1], "x", 1), 1);
	while (fired < opened && iters++ < 100) {
		int r = kh_loop_run_once(l, 1000);
		KT_CHECK(r > 0);
		if (r <= 0)
			break;
		fired += r;
	}
	KT_EQ(fired, opened);
	KT_EQ(kh_loop_run_once(l, 0), 0); /* all drained: level-triggered, no repeats */
	for (i = 0; i < opened; i++) {
		KT_EQ(pairs[i].calls, 1);
		KT_EQ(pairs[i].bad, 0);
	}
	/* Delete half, write to all: only the still-watched half fires. */
	for (i = 0; i < opened; i += 2)
		KT_EQ(kh_loop_fd_del(l, pairs[i].sv[0]), 0);
	for (i = 0; i < opened; i++)
		KT_EQ(write(pairs[i].sv[1], "x", 1), 1);
	fired = 0;
	iters = 0;
	while (fired < opened / 2 && iters++ < 100) {
		int r = kh_loop_run_once(l, 1000);
		if (r <= 0)
			break;
		fired += r;
	}
	KT_EQ(fired, opened / 2);
	KT_EQ(kh_loop_run_once(l, 0), 0);
	for (i = 0; i < opened; i++)
		KT_EQ(pairs[i].calls, i % 2 ? 2 : 1);
	/* Watch the deleted half again (slots reused): their pending byte arrives. */
	for (i = 0; i < opened; i += 2)
		KT_EQ(kh_loop_fd_add(l, pairs[i].sv[0], KH_EV_READ, on_pair, &pairs[i]), 0);
	KT_EQ(kh_loop_run_once(l, 1000), (opened + 1) / 2);
	/* Once more, all of them: each fd must still find its own slot. */
	for (i = 0; i < opened; i++)
		KT_EQ(write(pairs[i].sv[1], "x", 1), 1);
	KT_EQ(kh_loop_run_once(l, 1000), opened);
	for (i = 0; i < opened; i++) {
		KT_EQ(pairs[i].calls, 3);
		KT_EQ(pairs[i].bad, 0);
	}
	for (i = 0; i < opened; i++)
		KT_EQ(kh_loop_fd_del(l, pairs[(i * 7919) % opened].sv[0]), 0);
	KT_EQ(kh_loop_fd_del(l, pairs[0].sv[0]), -ENOENT);
	KT_EQ(kh_loop_fd_add(l, extra[0], KH_EV_READ, on_pair, NULL), 0); /* room again */
	kh_loop_free(l);
	for (i = 0; i < opened; i++) {
		close(pairs[i].sv[0]);
		close(pairs[i].sv[1]);
	}
	close(extra[0]);
	close(extra[1]);
}

enum {
	NDEL = 8
};

struct del_ctx {
	int rd[NDEL], wr[NDEL];
	int calls[NDEL];
	int first;	/* index whose callback ran first, -1 before */
	int late_calls; /* callback of the fd re-watched during dispatch */
};

static void on_late(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	struct del_ctx *c = arg;
	char b;

	(void)l;
	if ((ev & KH_EV_READ) && read(fd, &b, 1) == 1)
		c->late_calls++;
}

/*
 * The first callback to run deletes every other watch, pauses one of them
 * with fd_mod instead, and re-watches one deleted fd number with another
 * callback: none of the events collected for the others may be delivered.
 */
static void on_del_others(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	struct del_ctx *c = arg;
	int me = -1, paused, rewatched, j;
	char b;

	for (j = 0; j < NDEL; j++)
		if (c->rd[j] == fd)
			me = j;
	if (me < 0)
		return;
	c->calls[me]++;
	if ((ev & KH_EV_READ) && read(fd, &b, 1) != 1)
		return;
	if (c->first >= 0)
		return;
	c->first = me;
	paused = (me + 1) % NDEL;
	rewatched = (me + 2) % NDEL;
	for (j = 0; j < NDEL; j++)
		if (j != me && j != paused)
			kh_loop_fd_del(l, c->rd[j]);
	kh_loop_fd_mod(l, c->rd[paused], 0);
	kh_loop_fd_add(l, c->rd[rewatched], KH_EV_READ, on_late, c);
}

static void test_del_others_from_callback(void)
{
	struct kh_loop *l;
	struct del_ctx c = {.first = -1};
	int j, fds[2], total = 0;

	KT_EQ(kh_loop_new_sized(&l, NDEL, 4), 0);
	for (j = 0; j < NDEL; j++) {
		KT_EQ(pipe(fds), 0);
		c.rd[j] = fds[0];
		c.wr[j] = fds[1];
		KT_EQ(kh_loop_fd_add(l, c.rd[j], KH_EV_READ, on_del_others, &c), 0);
		KT_EQ(write(c.wr[j], "y", 1), 1);
	}
	KT_EQ(kh_loop_run_once(l, 1000), 1); /* all were ready; only the first ran */
	KT_CHECK(c.first >= 0);
	for (j = 0; j < NDEL; j++)
		total += c.calls[j];
	KT_EQ(total, 1);
	KT_EQ(c.late_calls, 0);
	/* Next iteration: only the re-watched fd (still readable) fires. */
	KT_EQ(kh_loop_run_once(l, 1000), 1);
	KT_EQ(c.late_calls, 1);
	KT_EQ(kh_loop_run_once(l, 0), 0);
	/* The paused fd resumes when asked to. */
	if (c.first >= 0) {
		int paused = (c.first + 1) % NDEL;
		KT_EQ(kh_loop_fd_mod(l, c.rd[paused], KH_EV_READ), 0);
		KT_EQ(kh_loop_run_once(l, 1000), 1);
		KT_EQ(c.calls[paused], 1);
	}
	kh_loop_free(l);
	for (j = 0; j < NDEL; j++) {
		close(c.rd[j]);
		close(c.wr[j]);
	}
}

enum {
	NTIMERS = 10000
};

static struct kh_timer g_big[NTIMERS];
static int g_fired[NTIMERS], g_nfired;

static void on_big(struct kh_loop *l, void *arg)
{
	(void)l;
	if (g_nfired < NTIMERS)
		g_fired[g_nfired++] = (int)(intptr_t)arg;
}

static void test_sized_timers_in_order(void)
{
	static int armed_ms[NTIMERS];
	static char seen[NTIMERS];
	struct kh_loop *l;
	struct kh_timer extra;
	int i, k, want = 0;

	KT_EQ(kh_loop_new_sized(&l, 4, NTIMERS), 0);
	g_nfired = 0;
	/* 0..199 ms in a scrambled order: 50 timers per deadline, so many ties. */
	for (i = 0; i < NTIMERS; i++) {
		armed_ms[i] = (int)(((unsigned)i * 7919u) % 200u);
		kh_timer_init(&g_big[i], on_big, (void *)(intptr_t)i);
		KT_EQ(kh_timer_arm(l, &g_big[i], (uint64_t)armed_ms[i]), 0);
	}
	kh_timer_init(&extra, on_big, NULL);
	KT_EQ(kh_timer_arm(l, &extra, 1), -ENOSPC);
	for (i = 0; i < NTIMERS; i += 5)
		kh_timer_cancel(l, &g_big[i]);
	/* Re-arm a cancelled one: it now ties with the latest, armed last. */
	KT_EQ(kh_timer_arm(l, &g_big[0], 199), 0);
	KT_EQ(kh_loop_run(l), 0);
	for (i = 0; i < NTIMERS; i++)
		want += i == 0 || i % 5 != 0;
	KT_EQ(g_nfired, want);
	/*
	 * Deadline order, ties in arming order. The clock may tick while arming,
	 * so compare the deadlines the loop recorded (reading private fields is
	 * fair in the loop's own test).
	 */
	for (k = 1; k < g_nfired; k++) {
		const struct kh_timer *a = &g_big[g_fired[k - 1]], *b = &g_big[g_fired[k]];
		KT_CHECK(a->deadline < b->deadline ||
			 (a->deadline == b->deadline && a->seq < b->seq));
		if (kt_case_failed)
			break;
	}
	KT_EQ(g_fired[g_nfired - 1], 0); /* largest deadline, armed last */
	for (k = 0; k < g_nfired; k++) {
		int x = g_fired[k];
		KT_CHECK(x == 0 || x % 5 != 0); /* cancelled ones never fire */
		KT_CHECK(!seen[x]);		/* nor does any fire twice */
		seen[x] = 1;
	}
	kh_loop_free(l);
}

static void on_nop(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	(void)l;
	(void)fd;
	(void)ev;
	(void)arg;
}

static void test_sized_capacity(void)
{
	struct kh_loop *l;
	struct kh_timer t[4];
	struct rlimit saved, low;
	int a[2], b[2], c[2], high, i;

	KT_EQ(kh_loop_new_sized(&l, 0, 4), -EINVAL);
	KT_CHECK(l == NULL);
	KT_EQ(kh_loop_new_sized(&l, 4, 0), -EINVAL);
	KT_EQ(kh_loop_new_sized(&l, 1u << 30, 4), -EINVAL);

	/* Make the loop under a low fd limit, then watch an fd number above it. */
	KT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 64;
	KT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	KT_EQ(kh_loop_new_sized(&l, 2, 3), 0);
	KT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
	KT_EQ(pipe(a), 0);
	KT_EQ(pipe(b), 0);
	KT_EQ(pipe(c), 0);
	KT_EQ(kh_loop_fd_add(l, -1, KH_EV_READ, on_nop, NULL), -EINVAL);
	KT_EQ(kh_loop_fd_add(l, a[0], KH_EV_READ, on_nop, NULL), 0);
	KT_EQ(kh_loop_fd_add(l, b[0], KH_EV_READ, on_nop, NULL), 0);
	KT_EQ(kh_loop_fd_add(l, c[0], KH_EV_READ, on_nop, NULL), -ENOSPC);
	KT_EQ(kh_loop_fd_del(l, a[0]), 0);
	KT_EQ(kh_loop_fd_del(l, a[0]), -ENOENT);
	KT_EQ(kh_loop_fd_add(l, c[0], KH_EV_READ, on_nop, NULL), 0);
	KT_EQ(kh_loop_fd_mod(l, c[0], KH_EV_READ | KH_EV_WRITE), 0);
	high = dup2(a[0], 200);
	KT_EQ(high, 200);
	KT_EQ(kh_loop_fd_del(l, b[0]), 0);
	KT_EQ(kh_loop_fd_add(l, high, KH_EV_READ, on_nop, NULL), -EMFILE);
	close(high);

	for (i = 0; i < 4; i++)
		kh_timer_init(&t[i], on_timer, NULL);
	for (i = 0; i < 3; i++)
		KT_EQ(kh_timer_arm(l, &t[i], 1000), 0);
	KT_EQ(kh_timer_arm(l, &t[3], 1000), -ENOSPC);
	KT_CHECK(!kh_timer_armed(&t[3]));
	KT_EQ(kh_timer_arm(l, &t[1], 500), 0); /* re-arming an armed timer fits */
	kh_timer_cancel(l, &t[0]);
	KT_EQ(kh_timer_arm(l, &t[3], 1000), 0);
	kh_loop_free(l);
	for (i = 0; i < 4; i++)
		KT_CHECK(!kh_timer_armed(&t[i]));
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(c[0]);
	close(c[1]);
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
	KT_RUN(test_sized_many_fds);
	KT_RUN(test_del_others_from_callback);
	KT_RUN(test_sized_timers_in_order);
	KT_RUN(test_sized_capacity);
	return KT_DONE();
}
