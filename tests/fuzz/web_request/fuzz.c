/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the agent's web request path (agent/web_page.c, kh_web_answer) as
 * web.c runs it on bytes from a LAN client: the input is a connection's
 * bytes so far. The policy it asks is hostile too: names containing
 * "block" are blocked with markup in the category, rule and list, and the
 * status page's warnings, ISP name and contact carry markup. Oracles: no
 * crash or over-read (exact-size copies); a full buffer is always
 * answered; every answer is one whole HTTP/1.1 response whose
 * Content-Length is its body; no "<script" (case-insensitive) ever reaches
 * a body, since nothing the pages write has one and all else is escaped;
 * every 200 is not cacheable; and a prefix of the input answers 0 or the
 * same as the whole (but for a login's random session id). POST bodies
 * (login, setup, device names and profiles, the profile form, logout)
 * reach the form parser, with a session the input can name (cookie
 * khien_sid=5...5, csrf=c...c); the owner's profile edits reach the hooks
 * only for known profiles, with valid names within the limits; a request
 * for the password helper is answered with one of its replies, chosen by
 * the input, and must then be answered whole.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "agent/web.h"
#include "lib/str.h"
#include "platform/time.h"
#include "policy/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char hostile[] = "<script>alert(1)</script>\"'&";

static void verdict(void *arg, const char *name, const struct kh_addr *client,
		    struct kh_dns_verdict *v)
{
	(void)arg;
	(void)client;
	if (!strstr(name, "block"))
		return;
	v->blocked = 1;
	kh_strlcpy(v->category, strstr(name, "malware") ? "malware" : "<SCRIPT>x",
		   sizeof(v->category));
	snprintf(v->rule, sizeof(v->rule), "*.%s%s", name, hostile);
	kh_strlcpy(v->source, hostile, sizeof(v->source));
}

static struct kh_profiles profs, isp;

static void profiles_once(void)
{
	static int done;
	char why[256];
	cJSON *j;

	if (done++)
		return;
	j = cJSON_Parse("{\"child\": {\"clients\": [\"192.168.1.20\"], \"block\": [\"adult\"], "
			"\"safe_search\": true, \"allow_names\": [\"school.example\"], "
			"\"block_names\": [\"game.example\"]}, \"guest\": {}}");
	if (!j || kh_profiles_parse(&profs, j, "profiles", 0, why, sizeof(why)) < 0)
		abort();
	cJSON_Delete(j);
	j = cJSON_Parse("{\"child\": {\"block\": [\"malware\"], "
			"\"block_names\": [\"isp.example\"]}}");
	if (!j || kh_profiles_parse(&isp, j, "profiles", 1, why, sizeof(why)) < 0)
		abort();
	cJSON_Delete(j);
}

static void facts(void *arg, struct kh_web_facts *f)
{
	(void)arg;
	f->protecting = 1;
	f->policy_version = 7;
	f->lists_age_s = 3600;
	f->ncats = 2;
	f->cats[0] = (struct kh_dns_recent_cat){"adult", 3, 9};
	f->cats[1] = (struct kh_dns_recent_cat){hostile, 1, 1};
	f->nclients = 1;
	kh_addr_parse_ip("192.168.1.20", &f->clients[0].addr);
	f->nwarnings = 1;
	f->warnings[0] = hostile;
	f->nthreats = 1;
	f->threats[0].addr = f->clients[0].addr;
	kh_strlcpy(f->threats[0].category, hostile, sizeof(f->threats[0].category));
	kh_strlcpy(f->threats[0].name, hostile, sizeof(f->threats[0].name));
	f->threats[0].count = 3;
	kh_strlcpy(f->threat_names[0], hostile, sizeof(f->threat_names[0]));
	kh_strlcpy(f->names[0], hostile, sizeof(f->names[0]));
	f->notice = hostile;
	f->profiles = &profs;
	f->isp_profiles = &isp;
	f->owner_edited = 1;
	f->nhousehold = 2;
	kh_strlcpy(f->household[0], "adult", sizeof(f->household[0]));
	kh_strlcpy(f->household[1], "bypass", sizeof(f->household[1]));
	kh_strlcpy(f->clients[0].profile, "child", sizeof(f->clients[0].profile));
}

static int known_profile(const char *name)
{
	return strcmp(name, "child") == 0 || strcmp(name, "guest") == 0;
}

static int set_profile(void *arg, const struct kh_addr *device, const char *profile, char *why,
		       size_t whylen)
{
	(void)arg;
	(void)device;
	if (profile[0] && !known_profile(profile))
		abort();
	snprintf(why, whylen, "%s", hostile);
	return profile[0] == 'g' ? -EPERM : profile[0] ? 0 : -EINVAL;
}

/* names the page passes on: canonical DNS names, one space between, at most 16 */
static void check_names(const char *s)
{
	unsigned n = 0;

	while (*s) {
		const char *e = strchr(s, ' ');
		size_t len = e ? (size_t)(e - s) : strlen(s), out;
		char canon[KH_NAME_MAX + 1];
		if (!len || ++n > KH_WEB_PROF_NAMES ||
		    kh_name_canon(s, len, canon, &out, NULL) != KH_NAME_OK || out != len ||
		    memcmp(canon, s, len) != 0)
			abort();
		s += len + (e != NULL);
	}
}

static int edit_profile(void *arg, const struct kh_web_prof_edit *e, char *why, size_t whylen)
{
	(void)arg;
	if (!known_profile(e->name) || e->ncats > KH_WEB_HOUSEHOLD)
		abort();
	for (unsigned i = 0; i < e->ncats; i++)
		if (strcmp(e->cats[i], "adult") != 0)
			abort();
	check_names(e->allow);
	check_names(e->block);
	snprintf(why, whylen, "%s", hostile); /* the engine's reason: escaped on the page */
	return e->name[0] == 'g' ? -EINVAL : 0;
}

static int threat(void *arg, const struct kh_addr *client, struct kh_web_threat *t)
{
	(void)arg;
	(void)client;
	memset(t, 0, sizeof(*t));
	kh_strlcpy(t->category, hostile, sizeof(t->category));
	kh_strlcpy(t->name, hostile, sizeof(t->name));
	t->count = 1;
	return 1;
}

static int set_name(void *arg, const struct kh_addr *device, const char *name)
{
	(void)arg;
	(void)device;
	return strlen(name) > KH_WEB_NAME_MAX ? (abort(), -1) : 0;
}

static const char *profile_of(void *arg, const struct kh_addr *device)
{
	(void)arg;
	(void)device;
	return hostile;
}

/* The password helper's answer: chosen by the input's second byte (the same in any prefix). */
static const struct kh_owner_reply told[] = {
	{.rc = 0, .set = 1},
	{.rc = -EACCES, .set = 1},
	{.rc = -EBUSY, .wait_s = 300, .set = 1},
	{.rc = -ENOENT, .set = 0},
	{.rc = -EEXIST, .set = 1},
	{.rc = -EINVAL, .set = 0},
	{.rc = -EPIPE, .set = 0},
};

static int has_script(const char *p, size_t n)
{
	for (size_t i = 0; i + 7 <= n; i++)
		if (strncasecmp(p + i, "<script", 7) == 0)
			return 1;
	return 0;
}

static int answer(const struct kh_agent_config *cfg, const char *buf, size_t len, int full,
		  char *out)
{
	static struct kh_web_auth auth;
	static const struct kh_web_hooks h = {.verdict = verdict,
					      .facts = facts,
					      .threat = threat,
					      .set_name = set_name,
					      .profile_of = profile_of,
					      .set_profile = set_profile,
					      .edit_profile = edit_profile,
					      .auth = &auth};
	static const char sid[] = KH_WEB_COOKIE "=55555555555555555555555555555555";
	struct kh_web_session *fs;
	struct kh_web_ask ask;
	struct kh_addr peer;
	char *copy = malloc(len ? len : 1);
	int n;

	memcpy(copy, buf, len);
	profiles_once();
	/* a session the input can name, the same for every call */
	if (!(fs = kh_web_session_find(&auth, sid, kh_time_mono_ms())) &&
	    (fs = kh_web_session_new(&auth, kh_time_mono_ms()))) {
		kh_strlcpy(fs->id, sid + sizeof(KH_WEB_COOKIE), sizeof(fs->id));
		memset(fs->csrf, 'c', KH_WEB_TOKEN_HEX);
		fs->csrf[KH_WEB_TOKEN_HEX] = 0;
	}
	kh_addr_parse("192.168.1.20:40000", 0, &peer);
	auth.owner_set = len ? (unsigned char)copy[0] % 3 - 1 : 0; /* a prefix sees the same */
	memset(&ask, 0xa5, sizeof(ask));
	n = kh_web_answer_owner(cfg, &h, copy, len, full, &peer, NULL, &ask, out, KH_WEB_PAGE_MAX);
	if (n == KH_WEB_ASK) {
		/* a whole password for the helper, then the answer to what it says */
		if ((ask.type != KH_OWNER_LOGIN && ask.type != KH_OWNER_SET &&
		     ask.type != KH_OWNER_SETUP) ||
		    ask.len > KH_OWNER_BODY_MAX || ask.len > len)
			abort();
		n = kh_web_answer_owner(cfg, &h, copy, len, full, &peer,
					&told[(unsigned char)copy[1] % KH_ARRAY_SIZE(told)], NULL,
					out, KH_WEB_PAGE_MAX);
		if (n == 0 || n == KH_WEB_ASK)
			abort();
	}
	free(copy);
	if (n < 0 || n > KH_WEB_PAGE_MAX || (full && n == 0))
		abort();
	if (n > 0) {
		const char *end = memmem(out, (size_t)n, "\r\n\r\n", 4), *cl;
		long want;
		if (strncmp(out, "HTTP/1.1 ", 9) != 0 || !end)
			abort();
		cl = memmem(out, (size_t)(end - out), "Content-Length: ", 16);
		if (!cl)
			abort();
		want = strtol(cl + 16, NULL, 10);
		if (strncmp(out + 9, "200", 3) == 0 &&
		    !memmem(out, (size_t)(end - out), "Cache-Control: no-store", 23))
			abort();
		/* HEAD announces the body it does not send */
		if (end + 4 - out + want != n && end + 4 - out != n)
			abort();
		if (has_script(end, (size_t)(out + n - end)))
			abort();
	}
	return n;
}

/* a and b the same answer but for the random session id a login sets */
static int same(const char *a, const char *b, size_t n)
{
	const char *c = memmem(a, n, "khien_sid=", 10);

	if (!c || c[10] == ';')
		return memcmp(a, b, n) == 0;
	c += 10;
	return memcmp(a, b, (size_t)(c - a)) == 0 &&
	       memcmp(c + KH_WEB_TOKEN_HEX, b + (c - a) + KH_WEB_TOKEN_HEX,
		      n - (size_t)(c - a) - KH_WEB_TOKEN_HEX) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_agent_config cfg;
	static char whole[KH_WEB_PAGE_MAX], part[KH_WEB_PAGE_MAX];
	size_t split;
	int nw, nf, np;

	if (size > CONFIG_WEB_HEAD_MAX)
		size = CONFIG_WEB_HEAD_MAX; /* web.c never holds more than its head buffer */
	split = size ? data[0] % (size + 1) : 0;
	kh_config_defaults(&cfg);
	kh_strlcpy(cfg.web_isp_name, hostile, sizeof(cfg.web_isp_name));
	kh_strlcpy(cfg.web_isp_contact, hostile, sizeof(cfg.web_isp_contact));
	nw = answer(&cfg, (const char *)data, size, 0, whole);
	/* a full buffer: the same answer for a complete head, an answer (431 or the parser's) else */
	nf = answer(&cfg, (const char *)data, size, 1, part);
	if (nw > 0 && (nf != nw || !same(part, whole, (size_t)nw)))
		abort();
	np = answer(&cfg, (const char *)data, split, 0, part);
	/* a prefix is incomplete or already the same answer (the page has no clock in it) */
	if (np != 0 && (np != nw || !same(part, whole, (size_t)np)))
		abort();
	return 0;
}
