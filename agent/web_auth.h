/* SPDX-License-Identifier: MIT */
/*
 * The owner's login on the status page (docs/WEB.md "Owner login"), the
 * parts that need no I/O: form and cookie parsing (input from any LAN
 * device: bounded, fuzzed through tests/fuzz/web_request), the password
 * rule, the engine's session table and the lockout the password helper
 * (agent/owner.c) keeps. Times are monotonic milliseconds passed in, so
 * tests drive them.
 */
#ifndef KHIEN_AGENT_WEB_AUTH_H
#define KHIEN_AGENT_WEB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define KH_WEB_FORM_MAX 1024	/* a POST body, at most */
#define KH_WEB_PASSWORD_MAX 128 /* bytes */
#define KH_WEB_PASSWORD_MIN 8
#define KH_WEB_SESSIONS 4
#define KH_WEB_SESSION_IDLE_MS (15u * 60 * 1000)	 /* idle expiry */
#define KH_WEB_SESSION_ABSOLUTE_MS (8u * 60 * 60 * 1000) /* absolute expiry */
#define KH_WEB_TOKEN_HEX 32				 /* 128 random bits */
#define KH_WEB_COOKIE "khien_sid"

/* 724/QĐ-BTTTT: 5 failures within 30 s lock logins for 5 minutes. */
#define KH_LOCK_FAILS 5
#define KH_LOCK_WINDOW_MS 30000u
#define KH_LOCK_MS (5u * 60 * 1000)

/*
 * The value of field key in an application/x-www-form-urlencoded body
 * (body[0..len), len <= KH_WEB_FORM_MAX, at most 16 fields), decoded ('+'
 * is a space, %XX a byte) into out (NUL-terminated). Its length, -ENOENT
 * when absent, -E2BIG when it does not fit in cap or the body is over the
 * limits, -EINVAL for a bad escape or a decoded NUL. A repeated key is
 * -EINVAL (which of two values a proxy or the browser meant is ambiguous).
 */
int kh_web_form_get(const char *body, size_t len, const char *key, char *out, size_t cap);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"). Its length,
 * -ENOENT, -E2BIG (does not fit in cap), -EINVAL when name appears twice
 * (a cookie planted by a sibling site must not win by order).
 */
int kh_web_cookie_get(const char *header, const char *name, char *out, size_t cap);

/* Why a password is refused, as bits (0: accepted). */
#define KH_PW_SHORT 1u
#define KH_PW_NO_UPPER 2u
#define KH_PW_NO_LOWER 4u
#define KH_PW_NO_DIGIT 8u
#define KH_PW_NO_SYMBOL 16u
#define KH_PW_LONG 32u
/*
 * At least KH_WEB_PASSWORD_MIN characters (UTF-8 counted as characters)
 * with an upper-case and a lower-case ASCII letter, a digit and a symbol
 * (any other printable character; a non-ASCII letter counts as a symbol),
 * at most KH_WEB_PASSWORD_MAX bytes, no control characters.
 */
unsigned kh_web_password_weak(const char *pw);

/* The lockout: the last failures' times and the end of a lock. */
struct kh_lockout {
	uint64_t fail[KH_LOCK_FAILS]; /* ring, oldest at next */
	unsigned next, nfail;
	uint64_t until; /* locked while now < until */
};
/* Milliseconds until logins open again at now; 0 when open. */
uint64_t kh_lockout_wait(const struct kh_lockout *l, uint64_t now);
/* A failed login at now; returns 1 when it starts a lock. */
int kh_lockout_fail(struct kh_lockout *l, uint64_t now);
/* A successful login: the failures so far are forgotten. */
void kh_lockout_ok(struct kh_lockout *l);
/*
 * The lockout as a line for a file, so a restart (or a crash) does not
 * reset it: "khien-lock 1 WALL LOCK_MS AGE_MS..." with the wall time it
 * was written at, what is left of a lock and the ages of the failures
 * still within the window, all at now. Its length (< cap), or -E2BIG.
 */
#define KH_LOCK_TEXT_MAX 128
int kh_lockout_save(const struct kh_lockout *l, uint64_t now, int64_t wall, char *out, size_t cap);
/*
 * The inverse at (now, wall): the wall time since it was written is taken
 * off (none when the clock went back: a lock never gets shorter by a clock
 * set back). 0, or -EBADMSG for anything but a line kh_lockout_save()
 * writes (values out of range included), with *l untouched.
 */
int kh_lockout_load(struct kh_lockout *l, const char *text, uint64_t now, int64_t wall);

/* The engine's sessions: an id in a cookie, a CSRF token in each form. */
struct kh_web_session {
	char id[KH_WEB_TOKEN_HEX + 1]; /* "" when free */
	char csrf[KH_WEB_TOKEN_HEX + 1];
	uint64_t created, last;
};
struct kh_web_auth {
	struct kh_web_session s[KH_WEB_SESSIONS];
	int owner_set; /* a password exists (as the helper last said); -1 unknown */
};
/* A new session at now (the oldest is replaced when all are taken). NULL if no randomness. */
struct kh_web_session *kh_web_session_new(struct kh_web_auth *a, uint64_t now);
/*
 * The live session whose id is the value of cookie header's KH_WEB_COOKIE,
 * touched at now; expired ones are ended on the way. NULL if none.
 * Compared in constant time.
 */
struct kh_web_session *kh_web_session_find(struct kh_web_auth *a, const char *cookie, uint64_t now);
void kh_web_session_end(struct kh_web_session *s);
/* 1 if token is the session's CSRF token (constant time). */
int kh_web_csrf_ok(const struct kh_web_session *s, const char *token);

#endif
