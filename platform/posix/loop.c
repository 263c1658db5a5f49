/* SPDX-License-Identifier: MIT */
/*
 * Event loop over poll(2), shared by the Linux and test backends: a fixed
 * fd table, a binary min-heap of timers ordered by (deadline, arming order),
 * and signals delivered through a self-pipe so handlers stay
 * async-signal-safe. poll() rather than epoll because a router agent
 * watches tens of fds, and poll maps one-to-one onto lwip_poll.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/loop.h"
#include "platform/loop_priv.h"
#include "platform/time.h"

struct fd_slot {
	int fd;
	unsigned events;
	kh_io_fn fn;
	void *arg;
};

struct sig_slot {
	int signo;
	kh_signal_fn fn;
	void *arg;
};

struct kh_loop {
	struct fd_slot fds[CONFIG_LOOP_MAX_FDS];
	struct pollfd pfd[CONFIG_LOOP_MAX_FDS + 1];
	int nfds;
	struct kh_timer *heap[CONFIG_LOOP_MAX_TIMERS];
	int ntimers;
	uint64_t seq;
	struct sig_slot sigs[CONFIG_LOOP_MAX_SIGNALS];
	int nsigs;
	int stop;
	int generation; /* bumped on fd_del so dispatch skips stale slots */
};

/* Self-pipe shared by all loops of the process: signals are process-wide. */
static int g_sigpipe[2] = {-1, -1};

static void sig_handler(int signo)
{
	unsigned char b = (unsigned char)signo;
	int saved = errno;
	ssize_t r = write(g_sigpipe[1], &b, 1);
	(void)r; /* a full pipe already holds a pending wake-up */
	errno = saved;
}

int kh_loop_new(struct kh_loop **out)
{
	struct kh_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	*out = l;
	return 0;
}

void kh_loop_free(struct kh_loop *loop)
{
	int i;

	if (!loop)
		return;
	for (i = 0; i < loop->nsigs; i++)
		signal(loop->sigs[i].signo, SIG_DFL);
	for (i = 0; i < loop->ntimers; i++)
		loop->heap[i]->slot = -1;
	free(loop);
}

static int fd_find(const struct kh_loop *l, int fd)
{
	int i;

	for (i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return i;
	return -1;
}

int kh_loop_fd_add(struct kh_loop *loop, int fd, unsigned events, kh_io_fn fn, void *arg)
{
	struct fd_slot *s;

	if (fd < 0 || !fn)
		return -EINVAL;
	if (fd_find(loop, fd) >= 0)
		return -EEXIST;
	if (loop->nfds >= CONFIG_LOOP_MAX_FDS)
		return -ENOSPC;
	s = &loop->fds[loop->nfds++];
	s->fd = fd;
	s->events = events;
	s->fn = fn;
	s->arg = arg;
	return 0;
}

int kh_loop_fd_mod(struct kh_loop *loop, int fd, unsigned events)
{
	int i = fd_find(loop, fd);

	if (i < 0)
		return -ENOENT;
	loop->fds[i].events = events;
	return 0;
}

int kh_loop_fd_del(struct kh_loop *loop, int fd)
{
	int i = fd_find(loop, fd);

	if (i < 0)
		return -ENOENT;
	loop->fds[i] = loop->fds[--loop->nfds];
	loop->generation++;
	return 0;
}

/* ---- timers: binary heap ---- */

static int timer_less(const struct kh_timer *a, const struct kh_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(struct kh_loop *l, int i, struct kh_timer *t)
{
	l->heap[i] = t;
	t->slot = i;
}

static void heap_up(struct kh_loop *l, int i)
{
	struct kh_timer *t = l->heap[i];

	while (i > 0) {
		int p = (i - 1) / 2;
		if (!timer_less(t, l->heap[p]))
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct kh_loop *l, int i)
{
	struct kh_timer *t = l->heap[i];

	for (;;) {
		int c = 2 * i + 1;
		if (c >= l->ntimers)
			break;
		if (c + 1 < l->ntimers && timer_less(l->heap[c + 1], l->heap[c]))
			c++;
		if (!timer_less(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void kh_timer_init(struct kh_timer *t, kh_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->slot = -1;
}

int kh_timer_armed(const struct kh_timer *t)
{
	return t->slot >= 0;
}

void kh_timer_cancel(struct kh_loop *loop, struct kh_timer *t)
{
	int i = t->slot;

	if (i < 0)
		return;
	t->slot = -1;
	if (--loop->ntimers == i)
		return;
	heap_set(loop, i, loop->heap[loop->ntimers]);
	heap_down(loop, i);
	heap_up(loop, loop->heap[i]->slot);
}

int kh_timer_arm(struct kh_loop *loop, struct kh_timer *t, uint64_t ms)
{
	kh_timer_cancel(loop, t);
	if (loop->ntimers >= CONFIG_LOOP_MAX_TIMERS)
		return -ENOSPC;
	t->deadline = kh_time_mono_ms() + ms;
	t->seq = loop->seq++;
	heap_set(loop, loop->ntimers++, t);
	heap_up(loop, t->slot);
	return 0;
}

/* ---- signals ---- */

static int sigpipe_open(void)
{
	int i;

	if (g_sigpipe[0] >= 0)
		return 0;
	if (pipe(g_sigpipe) < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		fcntl(g_sigpipe[i], F_SETFL, fcntl(g_sigpipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(g_sigpipe[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

int kh_loop_signal_add(struct kh_loop *loop, int signo, kh_signal_fn fn, void *arg)
{
	struct sigaction sa;
	int err;

	if (loop->nsigs >= CONFIG_LOOP_MAX_SIGNALS)
		return -ENOSPC;
	err = sigpipe_open();
	if (err)
		return err;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		return -errno;
	loop->sigs[loop->nsigs++] = (struct sig_slot){signo, fn, arg};
	return 0;
}

static int dispatch_signals(struct kh_loop *l)
{
	unsigned char buf[32];
	int ran = 0;
	ssize_t n;

	while ((n = read(g_sigpipe[0], buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++)
			for (int i = 0; i < l->nsigs; i++)
				if (l->sigs[i].signo == buf[k]) {
					l->sigs[i].fn(l, buf[k], l->sigs[i].arg);
					ran++;
				}
	}
	return ran;
}

/* ---- running ---- */

static int run_timers(struct kh_loop *l)
{
	uint64_t now = kh_time_mono_ms();
	int ran = 0;

	while (l->ntimers > 0 && l->heap[0]->deadline <= now && !l->stop) {
		struct kh_timer *t = l->heap[0];
		kh_timer_cancel(l, t);
		t->fn(l, t->arg);
		ran++;
	}
	return ran;
}

static int next_timeout(struct kh_loop *l, int timeout_ms)
{
	uint64_t now, d;

	if (l->ntimers == 0)
		return timeout_ms;
	now = kh_time_mono_ms();
	d = l->heap[0]->deadline > now ? l->heap[0]->deadline - now : 0;
	if (d > 0x7fffffff)
		d = 0x7fffffff;
	if (timeout_ms < 0 || (uint64_t)timeout_ms > d)
		return (int)d;
	return timeout_ms;
}

int kh_loop_run_once(struct kh_loop *loop, int timeout_ms)
{
	int n, i, np = 0, ran = 0, want, gen;
	int watched = loop->nfds;

	for (i = 0; i < watched; i++) {
		short ev = 0;
		if (loop->fds[i].events & KH_EV_READ)
			ev |= POLLIN;
		if (loop->fds[i].events & KH_EV_WRITE)
			ev |= POLLOUT;
		loop->pfd[np++] = (struct pollfd){.fd = loop->fds[i].fd, .events = ev};
	}
	if (loop->nsigs > 0)
		loop->pfd[np++] = (struct pollfd){.fd = g_sigpipe[0], .events = POLLIN};

	want = next_timeout(loop, timeout_ms);
	n = poll(loop->pfd, (nfds_t)np, kh_loop_backend_timeout(want));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	if (n == 0 && want != 0)
		kh_loop_backend_idle(want);

	if (loop->nsigs > 0 && loop->pfd[np - 1].revents)
		ran += dispatch_signals(loop);

	/* Slots may move when callbacks delete fds: look each fd up again. */
	gen = loop->generation;
	for (i = 0; i < watched && n > 0 && !loop->stop; i++) {
		struct pollfd *p = &loop->pfd[i];
		unsigned ev = 0;
		int slot;

		if (!p->revents)
			continue;
		if (p->revents & POLLIN)
			ev |= KH_EV_READ;
		if (p->revents & POLLOUT)
			ev |= KH_EV_WRITE;
		if (p->revents & (POLLERR | POLLHUP | POLLNVAL))
			ev |= KH_EV_ERROR | KH_EV_READ;
		slot = gen == loop->generation ? i : fd_find(loop, p->fd);
		if (slot < 0 || loop->fds[slot].fd != p->fd)
			continue;
		loop->fds[slot].fn(loop, p->fd, ev, loop->fds[slot].arg);
		ran++;
	}
	ran += run_timers(loop);
	return ran;
}

int kh_loop_run(struct kh_loop *loop)
{
	int err;

	loop->stop = 0;
	while (!loop->stop) {
		err = kh_loop_run_once(loop, -1);
		if (err < 0)
			return err;
		if (loop->nfds == 0 && loop->ntimers == 0 && loop->nsigs == 0)
			break; /* nothing could ever wake us */
	}
	return 0;
}

void kh_loop_stop(struct kh_loop *loop)
{
	loop->stop = 1;
}
