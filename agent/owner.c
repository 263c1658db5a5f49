/* SPDX-License-Identifier: MIT */
/*
 * The owner-password helper and the engine's client of it (see owner.h).
 * The helper reads nothing but framed requests of at most
 * KH_OWNER_BODY_MAX bytes; it keeps the hash file, the lockout
 * (agent/web_auth.h: 5 failures in 30 s lock logins for 5 minutes) for
 * every client together, so more LAN addresses buy no more guesses, in
 * STATE/owner.lock so a restart does not reset it, and the one-time setup
 * code that the first password needs (STATE/setup.code).
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
#include "platform/rand.h"
#include "platform/time.h"

#define HASH_MAX 256

/* ---------------------------------------------------------------- helper */

struct helper {
	char path[512], lock_path[512], code_path[512];
	char hash[HASH_MAX];		  /* "" when no password is set */
	char code[KH_OWNER_CODE_MAX + 1]; /* the setup code while no password is set, "" */
	struct kh_lockout lock;
	uint32_t uid;		/* the state directory's owner: the only one its files may have */
	const char *test_clock; /* a file holding seconds to add to the clock, or NULL */
};

/*
 * The seconds in the test clock's file when khiend was started with
 * KHIEN_TEST_CLOCK (tests lift a 5-minute lock without waiting 5 minutes),
 * else 0. The variable is read once, by root, at spawn: whoever sets it
 * already runs khiend.
 */
static uint64_t test_offset_s(const struct helper *h)
{
	uint64_t s = 0;
	uint8_t *buf;
	size_t len;
	uint32_t uid;
	unsigned mode;

	/* only a file the helper's own user alone may write: nobody else moves the lock */
	if (h->test_clock && kh_fs_file_owner(h->test_clock, &uid, &mode) == 0 &&
	    (uid == 0 || !kh_proc_is_root()) && !(mode & 022) &&
	    kh_fs_read(h->test_clock, 32, &buf, &len) == 0) {
		s = strtoull((const char *)buf, NULL, 10);
		free(buf);
	}
	return s;
}

/* The helper's clocks: monotonic for the lockout, wall to carry it over a restart. */
static uint64_t now_ms(const struct helper *h, int64_t *wall)
{
	uint64_t off = test_offset_s(h);

	if (wall)
		*wall = kh_time_wall() + (int64_t)off;
	return kh_time_mono_ms() + off * 1000;
}

/*
 * A state file of the helper's: the state directory's owner's (root's on a
 * router) that nobody else may read or write. 0, or negative errno with
 * why set.
 */
static int read_own(const struct helper *h, const char *path, size_t max, uint8_t **buf,
		    size_t *len, const char **why)
{
	int err = kh_fs_read_private(path, h->uid, max, buf, len);

	*why = kh_fs_private_why(err) ? kh_fs_private_why(err) : kh_strerror(err);
	return err;
}

/* The lockout, kept whenever it changes: a failure, a lock, a reset. */
static void lock_save(struct helper *h, uint64_t now, int64_t wall)
{
	char line[KH_LOCK_TEXT_MAX];
	int n = kh_lockout_save(&h->lock, now, wall, line, sizeof(line));
	int err = n < 0 ? n : kh_fs_write_atomic(h->lock_path, line, (size_t)n, 0600);

	if (err < 0)
		log_error_err(err, "owner login: cannot keep the lockout in %s", h->lock_path);
}

/*
 * At start: the lockout as it was. A file that is damaged or not the
 * helper's own is refused and counts as a lock just begun (a file that
 * cannot be trusted must not open logins); a missing one is no failures.
 */
static void lock_load(struct helper *h)
{
	int64_t wall;
	uint64_t now = now_ms(h, &wall);
	const char *why;
	uint8_t *buf = NULL;
	size_t len;
	int err = read_own(h, h->lock_path, KH_LOCK_TEXT_MAX, &buf, &len, &why);

	if (err == -ENOENT)
		return;
	if (err == 0 &&
	    (memchr(buf, 0, len) || kh_lockout_load(&h->lock, (const char *)buf, now, wall) < 0)) {
		why = "damaged";
		err = -EBADMSG;
	}
	free(buf);
	if (err == 0) {
		if (kh_lockout_wait(&h->lock, now))
			log_warn("owner login: still locked for %llu s (from %s)",
				 (unsigned long long)(kh_lockout_wait(&h->lock, now) + 999) / 1000,
				 h->lock_path);
		return;
	}
	log_error("%s: %s: refused; owner logins locked for %u minutes", h->lock_path, why,
		  KH_LOCK_MS / 60000);
	memset(&h->lock, 0, sizeof(h->lock));
	h->lock.until = now + KH_LOCK_MS;
	lock_save(h, now, wall);
}

/* Letters and digits that cannot be mistaken for one another (no 0 O 1 I). */
static const char code_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/* A code as typed: upper case, without spaces and dashes; its length, or -EINVAL. */
static int code_norm(const char *in, char out[KH_OWNER_CODE_MAX + 1])
{
	size_t n = 0;

	for (; *in; in++) {
		char c = *in >= 'a' && *in <= 'z' ? (char)(*in - 'a' + 'A') : *in;
		if (c == ' ' || c == '-')
			continue;
		if (!c || !strchr(code_alphabet, c) || n == KH_OWNER_CODE_MAX)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = 0;
	return (int)n;
}

/*
 * While no password is set: the setup code, kept in STATE/setup.code (a
 * vendor may provision it there to match a sticker), else a new random
 * one. A file that is not root's alone or not a code is refused and
 * replaced.
 */
static void code_ready(struct helper *h)
{
	uint8_t *buf = NULL, r[KH_OWNER_CODE_LEN];
	const char *why;
	size_t len;
	int err = read_own(h, h->code_path, 64, &buf, &len, &why);

	if (err == 0) {
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		if (memchr(buf, 0, len) ||
		    code_norm((const char *)buf, h->code) < KH_OWNER_CODE_MIN) {
			why = "not a setup code";
			err = -EBADMSG;
			h->code[0] = 0;
		}
		kh_memzero(buf, len);
		free(buf);
	}
	if (err == 0)
		return;
	if (err != -ENOENT)
		log_error("%s: %s: refused; a new setup code is made", h->code_path, why);
	if (kh_rand_bytes(r, sizeof(r)) < 0) {
		log_error("owner setup: no random bytes: no setup code, no first password");
		h->code[0] = 0;
		return;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		h->code[i] = code_alphabet[r[i] % (sizeof(code_alphabet) - 1)]; /* 256 = 8 x 32 */
	h->code[sizeof(r)] = 0;
	kh_memzero(r, sizeof(r));
	if ((err = kh_fs_write_atomic(h->code_path, h->code, strlen(h->code), 0600)) < 0)
		log_error_err(err, "owner setup: cannot write %s", h->code_path);
	log_notice("owner setup code: %s (in %s; khienctl web setup-code): the first password "
		   "needs it",
		   h->code, h->code_path);
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

/* A failed login or setup code at now: counted, and kept. */
static void failed(struct helper *h, uint64_t now, int64_t wall)
{
	if (kh_lockout_fail(&h->lock, now))
		log_warn("owner login: %d failures within %u s: logins locked for %u minutes",
			 KH_LOCK_FAILS, KH_LOCK_WINDOW_MS / 1000, KH_LOCK_MS / 60000);
	lock_save(h, now, wall);
}

/* Check pw against the hash under the lockout: 0, -EBUSY, -ENOENT, -EACCES. */
static int check(struct helper *h, const char *pw, uint64_t now, int64_t wall)
{
	if (kh_lockout_wait(&h->lock, now))
		return -EBUSY;
	if (!h->hash[0])
		return -ENOENT;
	if (kh_crypt_matches(pw, h->hash) == 1) {
		if (h->lock.nfail) {
			kh_lockout_ok(&h->lock);
			lock_save(h, now, wall);
		}
		return 0;
	}
	failed(h, now, wall);
	return -EACCES;
}

/* The setup code typed at first use, in constant time; a wrong one is a failed login. */
static int code_check(struct helper *h, const char *typed, uint64_t now, int64_t wall)
{
	char c[KH_OWNER_CODE_MAX + 1];
	size_t n = strlen(h->code);
	unsigned diff = 0;

	if (!n)
		return -EACCES;
	if (code_norm(typed, c) != (int)n)
		diff = 1;
	else
		for (size_t i = 0; i < n; i++)
			diff |= (unsigned)(c[i] ^ h->code[i]);
	kh_memzero(c, sizeof(c));
	if (diff) {
		failed(h, now, wall);
		return -EACCES;
	}
	return 0;
}

/* KH_OWNER_SET (old NUL new) or, at first use, KH_OWNER_SETUP (code NUL new). */
static int set(struct helper *h, int first, const char *body, size_t len, uint64_t now,
	       int64_t wall)
{
	const char *old = body, *pw = memchr(body, 0, len);
	char hash[HASH_MAX];
	int err;

	if (!pw)
		return -EPROTO;
	pw++;
	if (kh_lockout_wait(&h->lock, now))
		return -EBUSY;
	if (first && h->hash[0])
		return -EEXIST; /* first use is over: no code left to guess */
	if (!first && (err = check(h, old, now, wall)) < 0)
		return err;
	if (first && kh_web_password_weak(pw))
		return -EINVAL; /* before the code: a mistyped password costs no guess */
	if (first && (err = code_check(h, old, now, wall)) < 0)
		return err;
	if (kh_web_password_weak(pw))
		return -EINVAL;
	if ((err = kh_crypt_hash(pw, KH_OWNER_COST, hash, sizeof(hash))) < 0)
		return err;
	if ((err = kh_fs_write_atomic(h->path, hash, strlen(hash), 0600)) < 0) {
		log_error_err(err, "owner password: cannot write %s", h->path);
		return err;
	}
	memcpy(h->hash, hash, sizeof(hash));
	log_notice("owner password %s", first ? "set" : "changed");
	if (first) {
		if (h->lock.nfail) {
			kh_lockout_ok(&h->lock); /* a success, as a login is */
			lock_save(h, now, wall);
		}
		/* used once: gone from memory and from the state directory */
		kh_memzero(h->code, sizeof(h->code));
		if ((err = kh_fs_remove(h->code_path)) < 0)
			log_error_err(err, "owner setup: cannot remove %s", h->code_path);
	}
	return 0;
}

int kh_owner_serve(int chan, const char *state_dir)
{
	static struct helper h; /* the hash buffer is not for the stack of a long loop */
	unsigned mode;
	int err;

	memset(&h, 0, sizeof(h)); /* a test runs the helper again in the same process */
	snprintf(h.path, sizeof(h.path), "%s/owner.pw", state_dir);
	snprintf(h.lock_path, sizeof(h.lock_path), "%s/owner.lock", state_dir);
	snprintf(h.code_path, sizeof(h.code_path), "%s/setup.code", state_dir);
	h.test_clock = getenv("KHIEN_TEST_CLOCK");
	if (h.test_clock)
		log_warn("owner login: test clock from %s (KHIEN_TEST_CLOCK): tests only",
			 h.test_clock);
	if (kh_fs_dir_owner(state_dir, &h.uid, &mode) < 0)
		h.uid = 0;
	load(&h);
	lock_load(&h);
	if (!h.hash[0])
		code_ready(&h);
	else
		kh_fs_remove(h.code_path); /* a code left over from before the password */
	for (;;) {
		uint8_t *body;
		uint32_t type;
		size_t len;
		uint64_t now, wait;
		int64_t wall;
		char out[48];
		int rc = 0;

		if ((err = kh_chan_recv(chan, KH_OWNER_BODY_MAX, &type, &body, &len)) < 0)
			break;
		now = now_ms(&h, &wall);
		if (type == KH_OWNER_LOGIN)
			rc = memchr(body, 0, len) ? -EPROTO
						  : check(&h, (const char *)body, now, wall);
		else if (type == KH_OWNER_SET || type == KH_OWNER_SETUP)
			rc = set(&h, type == KH_OWNER_SETUP, (const char *)body, len, now, wall);
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
	void (*idle)(void *arg);
	void *idle_arg;
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
	if (o->idle && !o->type)
		o->idle(o->idle_arg);
}

void kh_owner_on_idle(struct kh_owner *o, void (*idle)(void *arg), void *arg)
{
	if (o) {
		o->idle = idle;
		o->idle_arg = arg;
	}
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
