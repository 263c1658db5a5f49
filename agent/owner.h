/* SPDX-License-Identifier: MIT */
/*
 * The owner's password (docs/WEB.md "Owner login"): a helper process that
 * root forks before the engine splits off, the only one that reads or
 * writes STATE/owner.pw (root's, 0600: the engine's user cannot read the
 * hash) and the only one that counts failed logins. The engine hands it a
 * password over a private channel and gets a verdict back on its event
 * loop, so the slow hash (yescrypt) never holds DNS up; a compromised
 * engine can ask no faster than the lockout allows either.
 *
 * Channel (privsep_wire.h framing): a request KH_OWNER_* with a body of at
 * most KH_OWNER_BODY_MAX bytes, one at a time; the reply (type |
 * KH_PRIV_REPLY) is the text "RC WAIT SET": RC 0 or -errno (-EACCES wrong
 * password or setup code, -EBUSY locked, -ENOENT no password yet, -EEXIST a password is
 * already set, -EINVAL weak), WAIT the seconds until logins open again, SET
 * 1 when a password exists. A malformed request ends the helper.
 */
#ifndef KHIEN_AGENT_OWNER_H
#define KHIEN_AGENT_OWNER_H

#include <stddef.h>
#include <stdint.h>

struct kh_loop;

#define KH_OWNER_STATE 1u /* body empty */
#define KH_OWNER_LOGIN 2u /* body: the password */
#define KH_OWNER_SET 3u	  /* body: old password, NUL, new password */
#define KH_OWNER_SETUP 4u /* first use, body: the setup code, NUL, the first password */
#define KH_OWNER_BODY_MAX 260u
#define KH_OWNER_COST 4u /* yescrypt, log2: 8 MiB and ~11 ms here (docs/WEB.md) */
/* The one-time setup code (STATE/setup.code): 10 made, 8 to 16 provisioned */
#define KH_OWNER_CODE_LEN 10u
#define KH_OWNER_CODE_MIN 8
#define KH_OWNER_CODE_MAX 16

/*
 * Root, before the split: fork the helper for state_dir. 0 with the
 * engine's end in *chan, or negative errno. The helper honours a test
 * clock only when KHIEN_TEST_CLOCK names a file at spawn (see owner.c).
 */
int kh_owner_spawn(const char *state_dir, int *chan, long *pid);

/* The helper's answer. */
struct kh_owner_reply {
	int rc;
	unsigned wait_s;
	int set;
};

/* The engine's side: asks on chan, answers arrive on loop. */
struct kh_owner;
typedef void (*kh_owner_done_fn)(void *ctx, const struct kh_owner_reply *r);
int kh_owner_new(struct kh_loop *loop, int chan, struct kh_owner **out);
void kh_owner_free(struct kh_owner *o);
/*
 * Send one request; done(ctx, reply) runs from the loop when it is
 * answered (rc -EPIPE if the helper is gone). -EBUSY while one is out,
 * -EPIPE without a helper.
 */
int kh_owner_ask(struct kh_owner *o, uint32_t type, const void *body, size_t len,
		 kh_owner_done_fn done, void *ctx);
/* Forget the callback of the request in flight (its connection is gone). */
void kh_owner_cancel(struct kh_owner *o, void *ctx);
/* idle(arg) runs each time a request is over (answered, cancelled or not): the next may go. */
void kh_owner_on_idle(struct kh_owner *o, void (*idle)(void *arg), void *arg);

/* The helper's loop on chan with state_dir (exposed for tests). Returns its exit status. */
int kh_owner_serve(int chan, const char *state_dir);

#endif
