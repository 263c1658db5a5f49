/* SPDX-License-Identifier: MIT */
/*
 * The owner-password helper and the engine's client of it (see owner.h).
 * The helper reads nothing but framed requests of at most
 * KH_OWNER_BODY_MAX bytes; it keeps the hash file and the lockout
 * (agent/web_auth.h: 5 failures in 30 s lock logins for 5 minutes) for
 * every client together, so more LAN addresses buy no more guesses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "agent/owner.h"
#include "agent/privsep_wire.h"
#include "agent/web_auth.h"
#include "lib/err.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "platform/loop.h"
#include "platform/proc.h"
#include "platform/time.h"

#define HASH_MAX 256

/* ---------------------------------------------------------------- helper */

struct helper {
	char path[512];
	char hash[HASH_MAX]; /* "" when no password is set */
	struct kh_lockout lock;
	const char *test_clock; /* a file holding seconds to add to the clock, or NULL */
};

/*
 * The helper's clock: monotonic, plus the seconds in the test clock's file
 * when khiend was started with KHIEN_TEST_CLOCK (tests lift a 5-minute
 * lock without waiting 5 minutes). The variable is read once, by root, at
 * spawn: whoever sets it already runs khiend.
 */
static uint64_t now_ms(const struct helper *h)
{
	uint64_t t = kh_time_mono_ms();
	uint8_t *buf;
	size_t len;

	uint32_t uid;
	unsigned mode;

	/* only a file the helper's own user alone may write: nobody else moves the lock */
	if (h->test_clock && kh_fs_file_owner(h->test_clock, &uid, &mode) == 0 &&
	    (uid == 0 || !kh_proc_is_root()) && !(mode & 022) &&
	    kh_fs_read(h->test_clock, 32, &buf, &len) == 0) {
		t += strtoull((const char *)buf, NULL, 10) * 1000;
		free(buf);
	}
	return t;
}

static void load(struct helper *h)
{
	uint8_t *buf;
	size_t len;

	h->hash[0] = 0;
	if (kh_fs_read(h->path, HASH_MAX - 1, &buf, &len) < 0)
		return;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == 0))
		len--;
	if (len && len < HASH_MAX && buf[0] == '$' && memchr(buf, 0, len) == NULL) {
		memcpy(h->hash, buf, len);
		h->hash[len] = 0;
	}
	free(buf);
}

/* Check pw against the hash under the lockout: 0, -EBUSY, -ENOENT, -EACCES. */
static int check(struct helper *h, const char *pw, uint64_t now)
{
	if (kh_lockout_wait(&h->lock, now))
		return -EBUSY;
	if (!h->hash[0])
		return -ENOENT;
	if (kh_crypt_matches(pw, h->hash) == 1) {
		kh_lockout_ok(&h->lock);
		return 0;
	}
	if (kh_lockout_fail(&h->lock, now))
		log_warn("owner login: %d failures within %u s: logins locked for %u minutes",
			 KH_LOCK_FAILS, KH_LOCK_WINDOW_MS / 1000, KH_LOCK_MS / 60000);
	return -EACCES;
}

static int set(struct helper *h, const char *body, size_t len, uint64_t now)
{
	const char *old = body, *pw = memchr(body, 0, len);
	char hash[HASH_MAX];
	int err;

	if (!pw)
		return -EPROTO;
	pw++;
	if (h->hash[0]) {
		if ((err = check(h, old, now)) < 0)
			return err == -EACCES && !old[0] ? -EEXIST : err;
	} else if (kh_lockout_wait(&h->lock, now)) {
		return -EBUSY;
	}
	if (kh_web_password_weak(pw))
		return -EINVAL;
	if ((err = kh_crypt_hash(pw, KH_OWNER_COST, hash, sizeof(hash))) < 0)
		return err;
	if ((err = kh_fs_write_atomic(h->path, hash, strlen(hash), 0600)) < 0) {
		log_error_err(err, "owner password: cannot write %s", h->path);
		return err;
	}
	memcpy(h->hash, hash, sizeof(hash));
	log_notice("owner password %s", old[0] ? "changed" : "set");
	return 0;
}

int kh_owner_serve(int chan, const char *state_dir)
{
	static struct helper h; /* the hash buffer is not for the stack of a long loop */
	int err;

	snprintf(h.path, sizeof(h.path), "%s/owner.pw", state_dir);
	h.test_clock = getenv("KHIEN_TEST_CLOCK");
	if (h.test_clock)
		log_warn("owner login: test clock from %s (KHIEN_TEST_CLOCK): tests only",
			 h.test_clock);
	load(&h);
	for (;;) {
		uint8_t *body;
		uint32_t type;
		size_t len;
		uint64_t now, wait;
		char out[48];
		int rc = 0;

		if ((err = kh_chan_recv(chan, KH_OWNER_BODY_MAX, &type, &body, &len)) < 0)
			break;
		now = now_ms(&h);
		if (type == KH_OWNER_LOGIN)
			rc = memchr(body, 0, len) ? -EPROTO : check(&h, (const char *)body, now);
		else if (type == KH_OWNER_SET)
			rc = set(&h, (const char *)body, len, now);
		else if (type != KH_OWNER_STATE)
			rc = -EPROTO;
		kh_memzero(body, len);
		free(body);
		if (rc == -EPROTO) {
			err = rc;
			break;
		}
		wait = kh_lockout_wait(&h.lock, now);
		snprintf(out, sizeof(out), "%d %llu %d", rc,
			 (unsigned long long)((wait + 999) / 1000), h.hash[0] != 0);
		if ((err = kh_chan_send(chan, type | KH_PRIV_REPLY, out, strlen(out))) < 0)
			break;
	}
	return err == -EPIPE ? 0 : 3;
}

int kh_owner_spawn(const char *state_dir, int *chan, long *pid)
{
	int rc = kh_proc_fork_helper(chan, pid);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	kh_proc_close_fds_except(*chan);
	if (kh_proc_forbid_fork() < 0)
		_Exit(3);
	_Exit(kh_owner_serve(*chan, state_dir));
}

/* ---------------------------------------------------------------- engine */

struct kh_owner {
	struct kh_loop *loop;
	int chan;
	uint32_t type; /* in flight, 0 when none */
	kh_owner_done_fn done;
	void *ctx;
};

static void finish(struct kh_owner *o, const struct kh_owner_reply *r)
{
	kh_owner_done_fn done = o->done;
	void *ctx = o->ctx;

	o->type = 0;
	o->done = NULL;
	o->ctx = NULL;
	if (done)
		done(ctx, r);
}

static void gone(struct kh_owner *o)
{
	const struct kh_owner_reply r = {.rc = -EPIPE};

	log_error("owner-password helper gone: owner logins unavailable until restart");
	kh_loop_fd_del(o->loop, o->chan);
	kh_fs_close_fd(o->chan);
	o->chan = -1;
	finish(o, &r);
}

static void on_reply(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct kh_owner *o = arg;
	struct kh_owner_reply r = {0};
	uint8_t *body;
	uint32_t type;
	size_t len;
	long long rc, wait;
	int set;

	(void)loop, (void)fd, (void)events;
	/* the helper writes a reply in one go: reading it whole blocks for no longer than that */
	if (kh_chan_recv(o->chan, 64, &type, &body, &len) < 0)
		return gone(o);
	if (type != (o->type | KH_PRIV_REPLY) || !o->type ||
	    sscanf((const char *)body, "%lld %lld %d", &rc, &wait, &set) != 3 || rc > 0 ||
	    rc < -4095 || wait < 0 || wait > 86400) {
		free(body);
		return gone(o);
	}
	free(body);
	r.rc = (int)rc;
	r.wait_s = (unsigned)wait;
	r.set = set != 0;
	finish(o, &r);
}

int kh_owner_new(struct kh_loop *loop, int chan, struct kh_owner **out)
{
	struct kh_owner *o = calloc(1, sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	o->loop = loop;
	o->chan = chan;
	if ((err = kh_loop_fd_add(loop, chan, KH_EV_READ, on_reply, o)) < 0) {
		free(o);
		return err;
	}
	*out = o;
	return 0;
}

void kh_owner_free(struct kh_owner *o)
{
	if (!o)
		return;
	if (o->chan >= 0) {
		kh_loop_fd_del(o->loop, o->chan);
		kh_fs_close_fd(o->chan);
	}
	free(o);
}

int kh_owner_ask(struct kh_owner *o, uint32_t type, const void *body, size_t len,
		 kh_owner_done_fn done, void *ctx)
{
	int err;

	if (!o || o->chan < 0)
		return -EPIPE;
	if (o->type)
		return -EBUSY;
	if (len > KH_OWNER_BODY_MAX)
		return -E2BIG;
	if ((err = kh_chan_send(o->chan, type, body, len)) < 0) {
		gone(o);
		return -EPIPE;
	}
	o->type = type;
	o->done = done;
	o->ctx = ctx;
	return 0;
}

void kh_owner_cancel(struct kh_owner *o, void *ctx)
{
	if (o && o->ctx == ctx) {
		o->done = NULL;
		o->ctx = NULL;
	}
}
