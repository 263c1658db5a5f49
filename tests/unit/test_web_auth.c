/* SPDX-License-Identifier: MIT */
/*
 * The owner login's parsing and rules (agent/web_auth.c): form fields
 * (decoding, limits, repeated keys), the Cookie header, the password rule,
 * the lockout's window and length, session expiry (idle and absolute) and
 * CSRF tokens; and kh_web_answer_owner's POST paths with a fake password
 * helper.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/web.h"
#include "agent/web_auth.h"
#include "platform/time.h"
#include "tests/unit/kt.h"

static void test_form(void)
{
	char v[16];
	const char *b = "a=1&password=P%40ss+w%C3%B4rd&empty=&flag&x=%41%4a";

	KT_EQ(kh_web_form_get(b, strlen(b), "a", v, sizeof(v)), 1);
	KT_STREQ(v, "1");
	KT_EQ(kh_web_form_get(b, strlen(b), "password", v, sizeof(v)), 10);
	KT_STREQ(v, "P@ss wôrd");
	KT_EQ(kh_web_form_get(b, strlen(b), "empty", v, sizeof(v)), 0);
	KT_EQ(kh_web_form_get(b, strlen(b), "flag", v, sizeof(v)), 0);
	KT_EQ(kh_web_form_get(b, strlen(b), "x", v, sizeof(v)), 2);
	KT_STREQ(v, "AJ");
	KT_EQ(kh_web_form_get(b, strlen(b), "nope", v, sizeof(v)), -ENOENT);
	KT_EQ(kh_web_form_get(b, strlen(b), "pass", v, sizeof(v)), -ENOENT); /* no prefixes */
	KT_EQ(kh_web_form_get("a=1&a=2", 7, "a", v, sizeof(v)), -EINVAL);    /* repeated */
	KT_EQ(kh_web_form_get("a=%4", 4, "a", v, sizeof(v)), -EINVAL);	     /* cut escape */
	KT_EQ(kh_web_form_get("a=%zz", 5, "a", v, sizeof(v)), -EINVAL);
	KT_EQ(kh_web_form_get("a=x%00y", 7, "a", v, sizeof(v)), -EINVAL); /* no NUL inside */
	KT_EQ(kh_web_form_get("a=0123456789abcdef", 18, "a", v, sizeof(v)), -E2BIG);
	/* only len bytes are read: the field ends at the length */
	KT_EQ(kh_web_form_get("a=12&b=3", 3, "a", v, sizeof(v)), 1);
	KT_EQ(kh_web_form_get("a=1", KH_WEB_FORM_MAX + 1, "a", v, sizeof(v)), -E2BIG);
	{
		char many[256] = "";
		for (int i = 0; i < 17; i++)
			strcat(many, "k=1&");
		KT_EQ(kh_web_form_get(many, strlen(many), "z", v, sizeof(v)), -E2BIG);
	}
}

static void test_cookie(void)
{
	char v[40];

	KT_EQ(kh_web_cookie_get("a=1; khien_sid=abc; b=2", "khien_sid", v, sizeof(v)), 3);
	KT_STREQ(v, "abc");
	KT_EQ(kh_web_cookie_get("khien_sid=abc", "khien_sid", v, sizeof(v)), 3);
	KT_EQ(kh_web_cookie_get("xkhien_sid=abc", "khien_sid", v, sizeof(v)), -ENOENT);
	KT_EQ(kh_web_cookie_get("khien_sid=a; khien_sid=b", "khien_sid", v, sizeof(v)), -EINVAL);
	KT_EQ(kh_web_cookie_get("", "khien_sid", v, sizeof(v)), -ENOENT);
	KT_EQ(kh_web_cookie_get("khien_sid=0123456789", "khien_sid", v, 4), -E2BIG);
	KT_EQ(kh_web_cookie_get(";;khien_sid=x ;", "khien_sid", v, sizeof(v)), 1);
}

static void test_password_rule(void)
{
	KT_EQ(kh_web_password_weak("Abcdef1!"), 0);
	KT_EQ(kh_web_password_weak("Bảo-Vệ#2026x"), 0);
	KT_EQ(kh_web_password_weak("Abcde1!"), KH_PW_SHORT);
	KT_EQ(kh_web_password_weak("Ab1!ảbô"), KH_PW_SHORT);	 /* 7 characters, more bytes */
	KT_EQ(kh_web_password_weak("Ảb1!ảbôx"), KH_PW_NO_UPPER); /* ASCII letters count */
	KT_EQ(kh_web_password_weak("abcdef1!"), KH_PW_NO_UPPER);
	KT_EQ(kh_web_password_weak("ABCDEF1!"), KH_PW_NO_LOWER);
	KT_EQ(kh_web_password_weak("Abcdefg!"), KH_PW_NO_DIGIT);
	KT_EQ(kh_web_password_weak("Abcdefg1"), KH_PW_NO_SYMBOL);
	KT_CHECK(kh_web_password_weak("Abcdef1!\n") != 0);
	KT_CHECK(kh_web_password_weak("") & KH_PW_SHORT);
	{
		char lng[KH_WEB_PASSWORD_MAX + 2];
		memset(lng, 'a', sizeof(lng) - 1);
		lng[sizeof(lng) - 1] = 0;
		memcpy(lng, "A1!", 3);
		KT_EQ(kh_web_password_weak(lng), KH_PW_LONG);
	}
}

static void test_lockout(void)
{
	struct kh_lockout l = {0};
	uint64_t t = 1000000;

	for (int i = 0; i < 4; i++)
		KT_EQ(kh_lockout_fail(&l, t + (uint64_t)i * 7000), 0);
	KT_EQ(kh_lockout_wait(&l, t + 28000), 0);
	KT_EQ(kh_lockout_fail(&l, t + 29999), 1); /* the 5th within 30 s */
	KT_EQ(kh_lockout_wait(&l, t + 29999), KH_LOCK_MS);
	KT_EQ(kh_lockout_wait(&l, t + 29999 + KH_LOCK_MS - 1), 1);
	KT_EQ(kh_lockout_wait(&l, t + 29999 + KH_LOCK_MS), 0);
	/* five spread over 30 s or more: no lock */
	t += 10 * 60 * 1000;
	for (int i = 0; i < 5; i++)
		KT_EQ(kh_lockout_fail(&l, t + (uint64_t)i * 7500), 0);
	/* but a sixth makes five within 30 s again */
	KT_EQ(kh_lockout_fail(&l, t + 4 * 7500 + 1), 1);
	/* a success forgets the failures */
	t += 10 * 60 * 1000;
	for (int i = 0; i < 4; i++)
		kh_lockout_fail(&l, t + (uint64_t)i);
	kh_lockout_ok(&l);
	KT_EQ(kh_lockout_fail(&l, t + 5), 0);
}

/* The lockout over a restart: saved at one monotonic clock, loaded at another. */
static void test_lockout_file(void)
{
	struct kh_lockout l = {0}, m;
	char line[KH_LOCK_TEXT_MAX];
	uint64_t t = 1000000, u = 50000; /* the new process's clock starts elsewhere */
	const int64_t wall = 1800000000;

	/* three failures: the next two within the window lock, after the restart too */
	for (int i = 0; i < 3; i++)
		kh_lockout_fail(&l, t + (uint64_t)i * 1000);
	KT_CHECK(kh_lockout_save(&l, t + 2000, wall, line, sizeof(line)) > 0);
	KT_STREQ(line, "khien-lock 1 1800000000 0 2000 1000 0\n");
	memset(&m, 0xff, sizeof(m));
	KT_EQ(kh_lockout_load(&m, line, u, wall + 1), 0);
	KT_EQ(kh_lockout_wait(&m, u), 0);
	KT_EQ(kh_lockout_fail(&m, u + 1000), 0);
	KT_EQ(kh_lockout_fail(&m, u + 2000), 1); /* 5 within 30 s, across the restart */
	/* an active lock keeps what is left of it, less the wall time since */
	KT_CHECK(kh_lockout_save(&m, u + 62000, wall + 63, line, sizeof(line)) > 0);
	KT_STREQ(line, "khien-lock 1 1800000063 240000\n");
	KT_EQ(kh_lockout_load(&l, line, t, wall + 73), 0);
	KT_EQ(kh_lockout_wait(&l, t), 231000); /* 10 s less (1 s of which is kept) */
	/* a clock set back does not shorten it; one past the end opens */
	KT_EQ(kh_lockout_load(&l, line, t, wall - 1000), 0);
	KT_EQ(kh_lockout_wait(&l, t), 240000);
	KT_EQ(kh_lockout_load(&l, line, t, wall + 63 + 240), 0);
	KT_EQ(kh_lockout_wait(&l, t), 1000);
	KT_EQ(kh_lockout_load(&l, line, t, wall + 63 + 241), 0);
	KT_EQ(kh_lockout_wait(&l, t), 0);
	/* anything else is refused, and *l stays */
	static const char *const bad[] = {
		"",
		"khien-lock 1 1800000063 240000",
		"khien-lock 2 1800000063 240000\n",
		"khien-lock 1 1800000063 300001\n",
		"khien-lock 1 1800000063 0 30000\n",
		"khien-lock 1 1800000063 0 1 2\n",
		"khien-lock 1 1800000063 0 5 4 3 2 1 0\n",
		"khien-lock 1 -5 0\n",
		"khien-lock 1 1800000063 0x10\n",
		"khien-lock 1 1800000063  0\n",
		"khien-lock 1 99999999999999999999 0\n",
		"khien-lock 1 1800000063 0\nextra",
	};
	l.until = 77;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		KT_EQ(kh_lockout_load(&l, bad[i], t, wall), -EBADMSG);
		KT_EQ(l.until, 77);
	}
}

static void test_sessions(void)
{
	static struct kh_web_auth a;
	struct kh_web_session *s, *s2;
	char cookie[80];
	const uint64_t t0 = 5000000;

	KT_CHECK((s = kh_web_session_new(&a, t0)) != NULL);
	KT_EQ(strlen(s->id), KH_WEB_TOKEN_HEX);
	KT_CHECK(strcmp(s->id, s->csrf) != 0);
	snprintf(cookie, sizeof(cookie), "other=1; khien_sid=%s", s->id);
	KT_CHECK(kh_web_session_find(&a, cookie, t0 + 1000) == s);
	KT_CHECK(kh_web_csrf_ok(s, s->csrf));
	KT_CHECK(!kh_web_csrf_ok(s, ""));
	KT_CHECK(!kh_web_csrf_ok(s, s->id));
	KT_CHECK(kh_web_session_find(&a, "khien_sid=00000000000000000000000000000000", t0) == NULL);
	/* idle: touched at +1 s, so alive until +1 s + idle */
	KT_CHECK(kh_web_session_find(&a, cookie, t0 + 1000 + KH_WEB_SESSION_IDLE_MS - 1) == s);
	KT_CHECK(kh_web_session_find(&a, cookie, t0 + 1000 + 3 * KH_WEB_SESSION_IDLE_MS) == NULL);
	KT_EQ(a.s[0].id[0], 0); /* ended on the way */
	/* absolute: kept busy, it still ends */
	KT_CHECK((s2 = kh_web_session_new(&a, t0)) != NULL);
	snprintf(cookie, sizeof(cookie), "khien_sid=%s", s2->id);
	for (uint64_t t = t0; t < t0 + KH_WEB_SESSION_ABSOLUTE_MS; t += KH_WEB_SESSION_IDLE_MS / 2)
		KT_CHECK(kh_web_session_find(&a, cookie, t) == s2);
	KT_CHECK(kh_web_session_find(&a, cookie, t0 + KH_WEB_SESSION_ABSOLUTE_MS) == NULL);
	/* a full table replaces the least recently used */
	for (int i = 0; i < KH_WEB_SESSIONS + 1; i++)
		KT_CHECK(kh_web_session_new(&a, t0 + (uint64_t)i) != NULL);
}

/* ---- kh_web_answer_owner's POST paths, with a fake helper */

static struct kh_web_auth auth;

static int answer(const char *req, const struct kh_owner_reply *told, struct kh_web_ask *ask,
		  char *out)
{
	static struct kh_agent_config cfg;
	const struct kh_web_hooks h = {.auth = &auth};
	struct kh_addr peer;

	kh_addr_parse("192.168.1.20:40000", 0, &peer);
	return kh_web_answer_owner(&cfg, &h, req, strlen(req), 0, &peer, told, ask, out,
				   KH_WEB_PAGE_MAX);
}

#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"
#define STATUS(n, code) ((n) > 0 && strncmp(out, "HTTP/1.1 " code, 12) == 0)

static void test_post_paths(void)
{
	static char out[KH_WEB_PAGE_MAX + 1];
	struct kh_web_ask ask;
	const struct kh_owner_reply good = {.rc = 0, .set = 1}, locked = {.rc = -EBUSY, .set = 1};
	const char login[] = "POST /login HTTP/1.1\r\nHost: r\r\nOrigin: http://r\r\n" FORM
			     "Content-Length: 17\r\n\r\npassword=Abcd%231";

	auth.owner_set = 1;
	/* an incomplete body: more bytes needed */
	KT_EQ(answer("POST /login HTTP/1.1\r\nHost: r\r\n" FORM "Content-Length: 17\r\n\r\npass",
		     NULL, &ask, out),
	      0);
	KT_EQ(answer(login, NULL, &ask, out), KH_WEB_ASK);
	KT_EQ(ask.type, KH_OWNER_LOGIN);
	KT_EQ(ask.len, 6);
	KT_MEMEQ(ask.body, "Abcd#1", 6);
	KT_CHECK(STATUS(answer(login, NULL, NULL, out), "503"));
	KT_CHECK(STATUS(answer(login, &locked, NULL, out), "429"));
	KT_CHECK(STATUS(answer(login, &good, NULL, out), "303"));
	KT_CHECK(strstr(out, "Set-Cookie: khien_sid=") != NULL);
	KT_CHECK(strstr(out, "; HttpOnly; SameSite=Strict; Path=/") != NULL);
	/* Content-Length missing, too big, or not a form */
	KT_CHECK(STATUS(answer("POST /login HTTP/1.1\r\nHost: r\r\n\r\n", NULL, &ask, out), "411"));
	KT_CHECK(STATUS(answer("POST /login HTTP/1.1\r\nHost: r\r\nContent-Length: 1025\r\n\r\n",
			       NULL, &ask, out),
			"413"));
	KT_CHECK(STATUS(answer("POST /login HTTP/1.1\r\nHost: r\r\nContent-Length: 0\r\n\r\n", NULL,
			       &ask, out),
			"415"));
	/* a weak first password never reaches the helper */
	auth.owner_set = 0;
	KT_CHECK(STATUS(answer("POST /setup HTTP/1.1\r\nHost: r\r\nOrigin: http://r\r\n" FORM
			       "Content-Length: 34\r\n\r\npassword=abcdefgh&confirm=abcdefgh",
			       NULL, &ask, out),
			"400"));
	KT_CHECK(strstr(out, "Mật khẩu quá yếu") != NULL);
	/* neither Origin nor Referer: refused before the helper is asked */
	KT_CHECK(STATUS(answer("POST /setup HTTP/1.1\r\nHost: r\r\n" FORM
			       "Content-Length: 36\r\n\r\npassword=Abcdefg1!&confirm=Abcdefg1!",
			       NULL, &ask, out),
			"403"));
	/* without the setup code: refused before the helper is asked */
	KT_CHECK(STATUS(answer("POST /setup HTTP/1.1\r\nHost: r\r\nOrigin: http://r\r\n" FORM
			       "Content-Length: 36\r\n\r\npassword=Abcdefg1!&confirm=Abcdefg1!",
			       NULL, &ask, out),
			"400"));
	KT_CHECK(strstr(out, "Thiếu mã cài đặt") != NULL);
	KT_EQ(answer("POST /setup HTTP/1.1\r\nHost: r\r\nOrigin: http://r\r\n" FORM
		     "Content-Length: "
		     "51\r\n\r\npassword=Abcdefg1!&confirm=Abcdefg1!&code=abcd-2345",
		     NULL, &ask, out),
	      KH_WEB_ASK);
	KT_EQ(ask.type, KH_OWNER_SETUP);
	KT_EQ(ask.len, 9 + 1 + 9);
	KT_MEMEQ(ask.body, "abcd-2345\0Abcdefg1!", 19); /* the code as typed, NUL, the password */
	/* a session POST without a session: 403 */
	KT_CHECK(STATUS(answer("POST /device HTTP/1.1\r\nHost: r\r\n" FORM
			       "Content-Length: 8\r\n\r\nip=1.2.3",
			       NULL, &ask, out),
			"403"));
	/* Origin of another site, or "null": 403 before anything else */
	KT_CHECK(STATUS(answer("POST /login HTTP/1.1\r\nHost: r\r\nOrigin: http://evil\r\n" FORM
			       "Content-Length: 17\r\n\r\npassword=Abcd%231",
			       NULL, &ask, out),
			"403"));
	KT_CHECK(STATUS(answer("POST /login HTTP/1.1\r\nHost: r\r\nOrigin: null\r\n" FORM
			       "Content-Length: 17\r\n\r\npassword=Abcd%231",
			       NULL, &ask, out),
			"403"));
	KT_EQ(answer("POST /login HTTP/1.1\r\nHost: r\r\nOrigin: http://R\r\n" FORM
		     "Content-Length: 17\r\n\r\npassword=Abcd%231",
		     NULL, &ask, out),
	      KH_WEB_ASK);
	KT_EQ(answer("POST /login HTTP/1.1\r\nHost: r\r\nReferer: http://r/?lang=en\r\n" FORM
		     "Content-Length: 17\r\n\r\npassword=Abcd%231",
		     NULL, &ask, out),
	      KH_WEB_ASK);
	/* DNS rebinding: Origin and Host both the attacker's name: 421, the helper is not asked */
	KT_CHECK(STATUS(answer("POST /setup HTTP/1.1\r\nHost: evil.example\r\n"
			       "Origin: http://evil.example\r\n" FORM
			       "Content-Length: 17\r\n\r\npassword=Abcd%231",
			       NULL, &ask, out),
			"421"));
	KT_CHECK(STATUS(
		answer("GET / HTTP/1.1\r\nHost: Evil.Example.:8080\r\n\r\n", NULL, &ask, out),
		"421"));
	KT_EQ(answer("POST /login HTTP/1.1\r\nHost: router.home.arpa\r\n"
		     "Origin: http://router.home.arpa\r\n" FORM
		     "Content-Length: 17\r\n\r\npassword=Abcd%231",
		     NULL, &ask, out),
	      KH_WEB_ASK);
	KT_EQ(answer("POST /login HTTP/1.1\r\nHost: 192.168.1.1:80\r\n"
		     "Origin: http://192.168.1.1:80\r\n" FORM
		     "Content-Length: 17\r\n\r\npassword=Abcd%231",
		     NULL, &ask, out),
	      KH_WEB_ASK);
}

int main(void)
{
	KT_RUN(test_form);
	KT_RUN(test_cookie);
	KT_RUN(test_password_rule);
	KT_RUN(test_lockout);
	KT_RUN(test_lockout_file);
	KT_RUN(test_sessions);
	KT_RUN(test_post_paths);
	return KT_DONE();
}
