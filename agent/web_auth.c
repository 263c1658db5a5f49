/* SPDX-License-Identifier: MIT */
/*
 * Form and cookie parsing, the password rule, sessions and the lockout of
 * the owner's login (see web_auth.h). No I/O but the platform's random
 * bytes for session ids and CSRF tokens.
 */
#include <stdio.h>
#include <string.h>

#include "agent/web_auth.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "platform/rand.h"

#define FORM_FIELDS_MAX 16

/* A hex digit of a percent escape, either case (browsers write upper case). */
static int xdigit(char c)
{
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : kh_hex_digit(c);
}

/* Decode s[0..n) (form encoding) into out; its length or negative errno. */
static int form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = xdigit(s[i + 1])) < 0 ||
			    (lo = xdigit(s[i + 2])) < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0)
			return -EINVAL;
		if (o + 1 >= cap)
			return -E2BIG;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return (int)o;
}

int kh_web_form_get(const char *body, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), i = 0;
	unsigned fields = 0;
	int found = -ENOENT;

	if (len > KH_WEB_FORM_MAX)
		return -E2BIG;
	if (cap)
		out[0] = 0;
	while (i < len) {
		size_t s = i, eq, e;
		while (i < len && body[i] != '&')
			i++;
		e = i++;
		if (e == s)
			continue;
		if (++fields > FORM_FIELDS_MAX)
			return -E2BIG;
		for (eq = s; eq < e && body[eq] != '='; eq++)
			;
		if (eq - s != klen || memcmp(body + s, key, klen) != 0)
			continue;
		if (found != -ENOENT)
			return -EINVAL;
		found = form_decode(body + eq + (eq < e), e - eq - (eq < e), out, cap);
		if (found < 0)
			return found;
	}
	return found;
}

int kh_web_cookie_get(const char *h, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	int found = -ENOENT;

	if (cap)
		out[0] = 0;
	while (*h) {
		const char *s, *v;
		size_t n;
		h += strspn(h, " \t;");
		s = h;
		h += strcspn(h, ";");
		v = memchr(s, '=', (size_t)(h - s));
		if (!v || (size_t)(v - s) != nlen || memcmp(s, name, nlen) != 0)
			continue;
		if (found != -ENOENT)
			return -EINVAL;
		v++;
		n = (size_t)(h - v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n >= cap)
			return -E2BIG;
		memcpy(out, v, n);
		out[n] = 0;
		found = (int)n;
	}
	return found;
}

unsigned kh_web_password_weak(const char *pw)
{
	unsigned have = 0, chars = 0, why = 0;
	size_t n = strlen(pw);

	if (n > KH_WEB_PASSWORD_MAX)
		why |= KH_PW_LONG;
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return why | KH_PW_SHORT |
			       KH_PW_NO_SYMBOL; /* control characters: refused */
		if ((*p & 0xc0) != 0x80)
			chars++; /* not a UTF-8 continuation byte: a character starts */
		if (*p >= 'A' && *p <= 'Z')
			have |= KH_PW_NO_UPPER;
		else if (*p >= 'a' && *p <= 'z')
			have |= KH_PW_NO_LOWER;
		else if (*p >= '0' && *p <= '9')
			have |= KH_PW_NO_DIGIT;
		else
			have |= KH_PW_NO_SYMBOL;
	}
	if (chars < KH_WEB_PASSWORD_MIN)
		why |= KH_PW_SHORT;
	return why | (~have & (KH_PW_NO_UPPER | KH_PW_NO_LOWER | KH_PW_NO_DIGIT | KH_PW_NO_SYMBOL));
}

uint64_t kh_lockout_wait(const struct kh_lockout *l, uint64_t now)
{
	return now < l->until ? l->until - now : 0;
}

int kh_lockout_fail(struct kh_lockout *l, uint64_t now)
{
	uint64_t oldest;

	l->fail[l->next] = now;
	l->next = (l->next + 1) % KH_LOCK_FAILS;
	if (l->nfail < KH_LOCK_FAILS)
		l->nfail++;
	oldest = l->fail[l->next]; /* with a full ring: the failure 4 before this one */
	if (l->nfail == KH_LOCK_FAILS && now - oldest < KH_LOCK_WINDOW_MS) {
		l->until = now + KH_LOCK_MS;
		l->nfail = 0; /* after the lock, a new count */
		return 1;
	}
	return 0;
}

void kh_lockout_ok(struct kh_lockout *l)
{
	l->nfail = 0;
}

int kh_lockout_save(const struct kh_lockout *l, uint64_t now, int64_t wall, char *out, size_t cap)
{
	size_t n;
	int w = snprintf(out, cap, "khien-lock 1 %lld %llu", (long long)wall,
			 (unsigned long long)kh_lockout_wait(l, now));

	if (w < 0 || (size_t)w >= cap)
		return -E2BIG;
	n = (size_t)w;
	/* oldest first; a failure older than the window can no longer be part of a lock */
	for (unsigned k = l->nfail; k > 0; k--) {
		uint64_t t = l->fail[(l->next + KH_LOCK_FAILS - k) % KH_LOCK_FAILS];
		if (t > now || now - t >= KH_LOCK_WINDOW_MS)
			continue;
		w = snprintf(out + n, cap - n, " %llu", (unsigned long long)(now - t));
		if (w < 0 || (size_t)w >= cap - n)
			return -E2BIG;
		n += (size_t)w;
	}
	if (n + 2 > cap)
		return -E2BIG;
	out[n++] = '\n';
	out[n] = 0;
	return (int)n;
}

/* A decimal number up to max at *p, followed by a space, a newline or the end. */
static int number(const char **p, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s && *s != ' ' && *s != '\n')
		return -EBADMSG;
	*p = s;
	*out = v;
	return 0;
}

int kh_lockout_load(struct kh_lockout *l, const char *text, uint64_t now, int64_t wall)
{
	struct kh_lockout n = {0};
	uint64_t saved, left, age[KH_LOCK_FAILS], since;
	unsigned k = 0;
	const char *p = text;

	if (strncmp(p, "khien-lock 1 ", 13) != 0)
		return -EBADMSG;
	p += 13;
	if (number(&p, INT64_MAX, &saved) < 0 || *p++ != ' ' || number(&p, KH_LOCK_MS, &left) < 0)
		return -EBADMSG;
	while (*p == ' ') {
		p++;
		if (k == KH_LOCK_FAILS || number(&p, KH_LOCK_WINDOW_MS - 1, &age[k]) < 0 ||
		    (k && age[k] > age[k - 1]))
			return -EBADMSG;
		k++;
	}
	if (strcmp(p, "\n") != 0)
		return -EBADMSG;
	/* whole seconds, one less: a lock may outlast a restart by a second, never fall short */
	since = wall > 0 && (uint64_t)wall > saved + 1 ? ((uint64_t)wall - saved - 1) * 1000 : 0;
	n.until = left > since ? now + (left - since) : 0;
	for (unsigned i = 0; i < k; i++) {
		uint64_t a = age[i] + since;
		if (a >= KH_LOCK_WINDOW_MS)
			continue;
		n.fail[n.nfail++] = now > a ? now - a : 0;
	}
	n.next = n.nfail % KH_LOCK_FAILS;
	*l = n;
	return 0;
}

static int token(char out[KH_WEB_TOKEN_HEX + 1])
{
	uint8_t r[KH_WEB_TOKEN_HEX / 2];

	if (kh_rand_bytes(r, sizeof(r)) < 0)
		return -EIO;
	kh_hex_encode(r, sizeof(r), out);
	out[KH_WEB_TOKEN_HEX] = 0;
	return 0;
}

static int same_token(const char *a, const char *b)
{
	unsigned diff = 0;

	if (strlen(a) != KH_WEB_TOKEN_HEX || strlen(b) != KH_WEB_TOKEN_HEX)
		return 0;
	for (int i = 0; i < KH_WEB_TOKEN_HEX; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}

static int expired(const struct kh_web_session *s, uint64_t now)
{
	return (now > s->last && now - s->last >= KH_WEB_SESSION_IDLE_MS) ||
	       (now > s->created && now - s->created >= KH_WEB_SESSION_ABSOLUTE_MS);
}

struct kh_web_session *kh_web_session_new(struct kh_web_auth *a, uint64_t now)
{
	struct kh_web_session *s = &a->s[0];

	for (unsigned i = 0; i < KH_WEB_SESSIONS; i++) {
		if (!a->s[i].id[0] || expired(&a->s[i], now)) {
			s = &a->s[i];
			break;
		}
		if (a->s[i].last < s->last)
			s = &a->s[i];
	}
	if (token(s->id) < 0 || token(s->csrf) < 0) {
		kh_web_session_end(s);
		return NULL;
	}
	s->created = s->last = now;
	return s;
}

struct kh_web_session *kh_web_session_find(struct kh_web_auth *a, const char *cookie, uint64_t now)
{
	char id[KH_WEB_TOKEN_HEX + 2];
	struct kh_web_session *found = NULL;

	if (kh_web_cookie_get(cookie, KH_WEB_COOKIE, id, sizeof(id)) != KH_WEB_TOKEN_HEX)
		return NULL;
	for (unsigned i = 0; i < KH_WEB_SESSIONS; i++) {
		struct kh_web_session *s = &a->s[i];
		if (!s->id[0])
			continue;
		if (expired(s, now)) {
			kh_web_session_end(s);
			continue;
		}
		if (same_token(s->id, id))
			found = s;
	}
	if (found && now > found->last)
		found->last = now;
	return found;
}

void kh_web_session_end(struct kh_web_session *s)
{
	memset(s, 0, sizeof(*s));
}

int kh_web_csrf_ok(const struct kh_web_session *s, const char *tok)
{
	return s && s->csrf[0] && same_token(s->csrf, tok);
}
