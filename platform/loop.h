/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one thread, no locks. It watches sockets/fds for
 * readiness, runs timers in deadline order (ties in arming order), and turns
 * asynchronous signals into ordinary callbacks run from the loop. Callbacks
 * may add or remove fds and arm or cancel timers, including their own.
 *
 * Capacity is fixed when the loop is made: by Kconfig (CONFIG_LOOP_MAX_FDS/
 * TIMERS) for kh_loop_new(), by the caller for kh_loop_new_sized(); signals
 * always CONFIG_LOOP_MAX_SIGNALS. The loop allocates once at creation and
 * never again. Finding a watched fd is O(1); an iteration costs O(ready fds)
 * with epoll (CONFIG_LOOP_EPOLL) and O(watched fds) with poll.
 */
#ifndef KHIEN_PLATFORM_LOOP_H
#define KHIEN_PLATFORM_LOOP_H

#include <stdint.h>

struct kh_loop;

#define KH_EV_READ 0x1u
#define KH_EV_WRITE 0x2u
#define KH_EV_ERROR 0x4u /* reported, never requested: error or hang-up */

typedef void (*kh_io_fn)(struct kh_loop *loop, int fd, unsigned events, void *arg);
typedef void (*kh_timer_fn)(struct kh_loop *loop, void *arg);
typedef void (*kh_signal_fn)(struct kh_loop *loop, int signo, void *arg);

/* A timer lives inside its owner's structure; the loop only links it. */
struct kh_timer {
	kh_timer_fn fn;
	void *arg;
	uint64_t deadline; /* private */
	uint64_t seq;	   /* private: arming order for ties */
	int slot;	   /* private: heap index, -1 when not armed */
};

/* A loop sized by Kconfig: kh_loop_new_sized(CONFIG_LOOP_MAX_FDS, CONFIG_LOOP_MAX_TIMERS). */
int kh_loop_new(struct kh_loop **out);
/*
 * A loop whose capacity a server chooses at run time: max_fds watched fds and
 * max_timers armed timers (each 1 .. 2^24, else -EINVAL). The fd lookup table
 * is sized from the RLIMIT_NOFILE soft limit at this call, so raise that limit
 * first. 0, -EINVAL, -ENOMEM, or -errno when the OS poller cannot be made.
 */
int kh_loop_new_sized(struct kh_loop **out, unsigned max_fds, unsigned max_timers);
/* Accepts NULL. Does not close watched fds. */
void kh_loop_free(struct kh_loop *loop);

/*
 * Watch fd for events (KH_EV_READ|KH_EV_WRITE), level-triggered. -ENOSPC when
 * full, -EEXIST, -EMFILE when fd is not below the RLIMIT_NOFILE soft limit the
 * loop was made under, or the poller's -errno (epoll: -EPERM for regular files).
 * Call kh_loop_fd_del() before closing fd: epoll drops a closed fd silently.
 */
int kh_loop_fd_add(struct kh_loop *loop, int fd, unsigned events, kh_io_fn fn, void *arg);
/* Change the events of a watched fd. -ENOENT if not watched. */
int kh_loop_fd_mod(struct kh_loop *loop, int fd, unsigned events);
/*
 * Stop watching fd; safe from inside any callback, its own included: events
 * already collected for fd in this iteration are then not delivered.
 */
int kh_loop_fd_del(struct kh_loop *loop, int fd);

void kh_timer_init(struct kh_timer *t, kh_timer_fn fn, void *arg);
/* (Re)arm t to fire once after ms milliseconds. -ENOSPC when the heap is full. */
int kh_timer_arm(struct kh_loop *loop, struct kh_timer *t, uint64_t ms);
/* Cancel if armed; always safe. */
void kh_timer_cancel(struct kh_loop *loop, struct kh_timer *t);
int kh_timer_armed(const struct kh_timer *t);

/*
 * Deliver signo through the loop: the handler only records it, fn runs from
 * the loop. -ENOSPC when full, -ENOTSUP where the platform has no signals.
 */
int kh_loop_signal_add(struct kh_loop *loop, int signo, kh_signal_fn fn, void *arg);

/*
 * One iteration: wait up to timeout_ms (-1 = until the next timer or event),
 * then dispatch. Returns the number of callbacks run, or negative errno.
 */
int kh_loop_run_once(struct kh_loop *loop, int timeout_ms);
/* Run until kh_loop_stop(). Returns 0 or negative errno. */
int kh_loop_run(struct kh_loop *loop);
void kh_loop_stop(struct kh_loop *loop);

#endif
