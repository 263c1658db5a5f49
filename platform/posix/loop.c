/* SPDX-License-Identifier: MIT */
/*
 * Event loop shared by the Linux and test backends: a dense fd table with an
 * index by fd number for O(1) lookup, a binary min-heap of timers ordered by
 * (deadline, arming order), and signals delivered through a self-pipe so
 * handlers stay async-signal-safe. Readiness comes from epoll on Linux
 * (CONFIG_LOOP_EPOLL: an iteration costs O(ready fds), which a server with
 * thousands of idle connections needs) or from poll(), which maps one-to-one
 * onto lwip_poll and is as fast for an agent's tens of fds. Everything is
 * allocated in kh_loop_new_sized(), never afterwards.
 *
 * The lwIP backend (CONFIG_PLATFORM_LWIP) builds this same file with
 * lwip_poll for readiness (platform/lwip/loop_poll.h) and without process
 * signals, which an RTOS does not have (kh_loop_signal_add: -ENOTSUP).
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "generated/autoconf.h"

#ifdef CONFIG_PLATFORM_LWIP
#include "platform/lwip/loop_poll.h"
#define KH_LOOP_SIGNALS 0
#define KH_POLL kh_lwip_poll
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#define KH_LOOP_SIGNALS 1
#define KH_POLL poll
#endif

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/loop.h"
#include "platform/loop_priv.h"
#include "platform/time.h"

#ifdef CONFIG_LOOP_EPOLL
#include <sys/epoll.h>
#elif !defined(CONFIG_PLATFORM_LWIP)
#include <poll.h>
#endif

/* Bound on run-time sizes: keeps every size computation far from overflow. */
#define LOOP_SIZED_MAX (1u << 24)
/* fd index entries when RLIMIT_NOFILE is unlimited or huge (4 MiB of address space). */
#define FD_INDEX_CAP (1u << 20)

struct fd_slot {
	int fd;
	unsigned events;
	uint32_t tag; /* tells this watch from an earlier one on the same fd number */
	kh_io_fn fn;
	void *arg;
};

struct sig_slot {
	int signo;
	kh_signal_fn fn;
	void *arg;
};

struct kh_loop {
	struct fd_slot *fds; /* dense: [0, nfds) */
	uint32_t *index;     /* by fd number: slot + 1, 0 = not watched */
	unsigned nindex;
	int nfds, max_fds;
	uint32_t next_tag;
#ifdef CONFIG_LOOP_EPOLL
	int epfd;
	int sig_watched;
	struct epoll_event *evs; /* max_fds + 1 results: every fd plus the self-pipe */
#else
	struct pollfd *pfd; /* max_fds + 1: rebuilt each iteration */
	uint32_t *ptag;	    /* tag of each pfd entry when it was built */
	int np, psig;	    /* entries of the last poll; self-pipe appended? */
#endif
	struct kh_timer **heap;
	int ntimers, max_timers;
	uint64_t seq;
	struct sig_slot sigs[CONFIG_LOOP_MAX_SIGNALS];
	int nsigs;
	int stop;
};

#if KH_LOOP_SIGNALS
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
#else
static const int g_sigpipe[2] = {-1, -1};
#endif

static int dispatch_signals(struct kh_loop *l);

static struct fd_slot *fd_slot_find(const struct kh_loop *l, int fd)
{
	if (fd < 0 || (unsigned)fd >= l->nindex || !l->index[fd])
		return NULL;
	return &l->fds[l->index[fd] - 1];
}

/*
 * Run fd's callback for readiness seen by the last wait, unless a callback
 * has since deleted that watch: a tag mismatch also catches a new watch on a
 * reused fd number. Interest dropped by fd_mod meanwhile is masked off.
 */
static int fd_deliver(struct kh_loop *l, int fd, uint32_t tag, unsigned ev)
{
	struct fd_slot *s = fd_slot_find(l, fd);

	if (!s || s->tag != tag)
		return 0;
	if (!(ev & KH_EV_ERROR))
		ev &= s->events;
	if (!ev)
		return 0;
	s->fn(l, fd, ev, s->arg);
	return 1;
}

/*
 * ---- readiness: epoll or poll ----
 * poller_init allocates the result buffers; add/mod/del keep the kernel's
 * interest set in step with the table (nothing to do for poll, which reads
 * the table every iteration); wait returns the ready count or -errno;
 * dispatch runs the callbacks.
 */
#ifdef CONFIG_LOOP_EPOLL

/* epoll data: tag << 32 | fd. fd is never 0xffffffff, so this marks the self-pipe. */
#define SIGPIPE_KEY UINT64_MAX

static uint64_t epoll_key(const struct fd_slot *s)
{
	return (uint64_t)s->tag << 32 | (uint32_t)s->fd;
}

static int poller_init(struct kh_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->evs = calloc((size_t)l->max_fds + 1, sizeof(*l->evs));
	return l->evs ? 0 : -ENOMEM;
}

static void poller_free(struct kh_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->evs);
}

static int poller_ctl(struct kh_loop *l, int op, const struct fd_slot *s, unsigned events)
{
	struct epoll_event ev = {.data.u64 = epoll_key(s)};

	if (events & KH_EV_READ)
		ev.events |= EPOLLIN;
	if (events & KH_EV_WRITE)
		ev.events |= EPOLLOUT;
	return epoll_ctl(l->epfd, op, s->fd, &ev) < 0 ? -errno : 0;
}

static int poller_add(struct kh_loop *l, const struct fd_slot *s)
{
	return poller_ctl(l, EPOLL_CTL_ADD, s, s->events);
}

static int poller_mod(struct kh_loop *l, const struct fd_slot *s, unsigned events)
{
	return poller_ctl(l, EPOLL_CTL_MOD, s, events);
}

static void poller_del(struct kh_loop *l, const struct fd_slot *s)
{
	/* Fails harmlessly when fd was closed first: the kernel dropped it then. */
	(void)poller_ctl(l, EPOLL_CTL_DEL, s, 0);
}

static int poller_watch_sigpipe(struct kh_loop *l)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SIGPIPE_KEY};

	if (l->sig_watched)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, g_sigpipe[0], &ev) < 0)
		return -errno;
	l->sig_watched = 1;
	return 0;
}

static int poller_wait(struct kh_loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->evs, l->max_fds + 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

static int poller_dispatch(struct kh_loop *l, int n)
{
	int i, ran = 0;

	/* Signals first, as with poll: their callbacks may stop the loop. */
	for (i = 0; i < n; i++)
		if (l->evs[i].data.u64 == SIGPIPE_KEY)
			ran += dispatch_signals(l);
	for (i = 0; i < n && !l->stop; i++) {
		uint64_t key = l->evs[i].data.u64;
		uint32_t e = l->evs[i].events;
		unsigned ev = 0;

		if (key == SIGPIPE_KEY)
			continue;
		if (e & EPOLLIN)
			ev |= KH_EV_READ;
		if (e & EPOLLOUT)
			ev |= KH_EV_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			ev |= KH_EV_ERROR | KH_EV_READ;
		ran += fd_deliver(l, (int)(uint32_t)key, (uint32_t)(key >> 32), ev);
	}
	return ran;
}

#else /* poll(): also the lwip_poll path */

static int poller_init(struct kh_loop *l)
{
	l->pfd = calloc((size_t)l->max_fds + 1, sizeof(*l->pfd));
	l->ptag = calloc((size_t)l->max_fds, sizeof(*l->ptag));
	return l->pfd && l->ptag ? 0 : -ENOMEM;
}

static void poller_free(struct kh_loop *l)
{
	free(l->pfd);
	free(l->ptag);
}

static int poller_add(struct kh_loop *l, const struct fd_slot *s)
{
	(void)l;
	(void)s;
	return 0;
}

static int poller_mod(struct kh_loop *l, const struct fd_slot *s, unsigned events)
{
	(void)l;
	(void)s;
	(void)events;
	return 0;
}

static void poller_del(struct kh_loop *l, const struct fd_slot *s)
{
	(void)l;
	(void)s;
}

#if KH_LOOP_SIGNALS
static int poller_watch_sigpipe(struct kh_loop *l)
{
	(void)l;
	return 0;
}
#endif

static int poller_wait(struct kh_loop *l, int timeout_ms)
{
	int i, n;

	for (i = 0; i < l->nfds; i++) {
		const struct fd_slot *s = &l->fds[i];
		short ev = 0;

		if (s->events & KH_EV_READ)
			ev |= POLLIN;
		if (s->events & KH_EV_WRITE)
			ev |= POLLOUT;
		l->pfd[i] = (struct pollfd){.fd = s->fd, .events = ev};
		l->ptag[i] = s->tag;
	}
	l->np = l->nfds;
	l->psig = l->nsigs > 0;
	if (l->psig)
		l->pfd[l->np] = (struct pollfd){.fd = g_sigpipe[0], .events = POLLIN};
	n = KH_POLL(l->pfd, (nfds_t)(l->np + l->psig), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

static int poller_dispatch(struct kh_loop *l, int n)
{
	int i, ran = 0;

	if (n == 0)
		return 0;
	if (l->psig && l->pfd[l->np].revents)
		ran += dispatch_signals(l);
	for (i = 0; i < l->np && !l->stop; i++) {
		short r = l->pfd[i].revents;
		unsigned ev = 0;

		if (!r)
			continue;
		if (r & POLLIN)
			ev |= KH_EV_READ;
		if (r & POLLOUT)
			ev |= KH_EV_WRITE;
		if (r & (POLLERR | POLLHUP | POLLNVAL))
			ev |= KH_EV_ERROR | KH_EV_READ;
		ran += fd_deliver(l, l->pfd[i].fd, l->ptag[i], ev);
	}
	return ran;
}

#endif

/* ---- creation ---- */

/*
 * fd numbers stay below the RLIMIT_NOFILE soft limit, which therefore sizes
 * the index. It is calloc'ed (0 = not watched), so index pages that no fd
 * number reaches are never touched. An lwIP port sizes it from its socket
 * range instead.
 */
static unsigned fd_index_size(unsigned max_fds)
{
#ifdef CONFIG_PLATFORM_LWIP
	/* lwIP numbers its sockets from a small range (LWIP_SOCKET_OFFSET up) */
	return KH_MAX(max_fds, kh_lwip_fd_limit());
#else
	struct rlimit rl;
	unsigned n = FD_INDEX_CAP;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < FD_INDEX_CAP)
		n = (unsigned)rl.rlim_cur;
	return KH_MAX(n, max_fds);
#endif
}

int kh_loop_new_sized(struct kh_loop **out, unsigned max_fds, unsigned max_timers)
{
	struct kh_loop *l;
	int err;

	*out = NULL;
	if (!max_fds || !max_timers || max_fds > LOOP_SIZED_MAX || max_timers > LOOP_SIZED_MAX)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->max_fds = (int)max_fds;
	l->max_timers = (int)max_timers;
	err = poller_init(l); /* first: kh_loop_free needs its state set */
	if (err)
		goto out;
	err = -ENOMEM;
	l->nindex = fd_index_size(max_fds);
	l->index = calloc(l->nindex, sizeof(*l->index));
	l->fds = calloc(max_fds, sizeof(*l->fds));
	l->heap = calloc(max_timers, sizeof(*l->heap));
	if (!l->index || !l->fds || !l->heap)
		goto out;
	err = 0;
	*out = l;
out:
	if (err)
		kh_loop_free(l);
	return err;
}

int kh_loop_new(struct kh_loop **out)
{
	return kh_loop_new_sized(out, CONFIG_LOOP_MAX_FDS, CONFIG_LOOP_MAX_TIMERS);
}

void kh_loop_free(struct kh_loop *loop)
{
	int i;

	if (!loop)
		return;
#if KH_LOOP_SIGNALS
	for (i = 0; i < loop->nsigs; i++)
		signal(loop->sigs[i].signo, SIG_DFL);
#endif
	for (i = 0; i < loop->ntimers; i++)
		loop->heap[i]->slot = -1;
	poller_free(loop);
	free(loop->index);
	free(loop->fds);
	free(loop->heap);
	free(loop);
}

/* ---- fds ---- */

int kh_loop_fd_add(struct kh_loop *loop, int fd, unsigned events, kh_io_fn fn, void *arg)
{
	struct fd_slot *s;
	int err;

	if (fd < 0 || !fn)
		return -EINVAL;
	if ((unsigned)fd >= loop->nindex)
		return -EMFILE;
	if (loop->index[fd])
		return -EEXIST;
	if (loop->nfds >= loop->max_fds)
		return -ENOSPC;
	s = &loop->fds[loop->nfds];
	*s = (struct fd_slot){
		.fd = fd, .events = events, .tag = loop->next_tag++, .fn = fn, .arg = arg};
	err = poller_add(loop, s);
	if (err)
		return err;
	loop->index[fd] = (uint32_t)++loop->nfds;
	return 0;
}

int kh_loop_fd_mod(struct kh_loop *loop, int fd, unsigned events)
{
	struct fd_slot *s = fd_slot_find(loop, fd);
	int err;

	if (!s)
		return -ENOENT;
	if (s->events == events)
		return 0; /* spares epoll a system call */
	err = poller_mod(loop, s, events);
	if (err)
		return err;
	s->events = events;
	return 0;
}

int kh_loop_fd_del(struct kh_loop *loop, int fd)
{
	struct fd_slot *s = fd_slot_find(loop, fd), *last;

	if (!s)
		return -ENOENT;
	poller_del(loop, s);
	loop->index[fd] = 0;
	last = &loop->fds[--loop->nfds];
	if (s != last) {
		*s = *last;
		loop->index[s->fd] = (uint32_t)(s - loop->fds) + 1;
	}
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
	if (loop->ntimers >= loop->max_timers)
		return -ENOSPC;
	t->deadline = kh_time_mono_ms() + ms;
	t->seq = loop->seq++;
	heap_set(loop, loop->ntimers++, t);
	heap_up(loop, t->slot);
	return 0;
}

/* ---- signals ---- */

#if KH_LOOP_SIGNALS

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
	if (!err)
		err = poller_watch_sigpipe(loop);
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

#else
int kh_loop_signal_add(struct kh_loop *loop, int signo, kh_signal_fn fn, void *arg)
{
	(void)loop;
	(void)signo;
	(void)fn;
	(void)arg;
	return -ENOTSUP;
}

static int dispatch_signals(struct kh_loop *l)
{
	(void)l;
	return 0;
}
#endif

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
	int n, ran, want = next_timeout(loop, timeout_ms);

	n = poller_wait(loop, kh_loop_backend_timeout(want));
	if (n < 0)
		return n;
	if (n == 0 && want != 0)
		kh_loop_backend_idle(want);
	ran = poller_dispatch(loop, n);
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
