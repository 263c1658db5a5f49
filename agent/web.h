/* SPDX-License-Identifier: MIT */
/*
 * The agent's web pages (docs/WEB.md): the block page, for any request
 * whose Host is a name the client's policy blocks, and the status page
 * (protection, policy, blocked queries per category, LAN devices,
 * warnings), Vietnamese by default, English by Accept-Language or
 * ?lang=en. Served over HTTP from khiend's event loop with hard limits
 * (head size, connections in all and per client, requests per second per
 * client, deadlines for the head and for the answer) and bounded work per
 * event, so a flood of slow clients never slows DNS.
 *
 * web_page.c turns one request head into one answer (no I/O: the fuzz
 * harness drives it); web.c owns the sockets, connections and limits.
 */
#ifndef KHIEN_AGENT_WEB_H
#define KHIEN_AGENT_WEB_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/owner.h"
#include "agent/web_auth.h"
#include "agent/dns.h"
#include "agent/profile.h"
#include "platform/loop.h"
#include "platform/net.h"

/* Sizes when CONFIG_WEB is off: the module still compiles (IS_ENABLED), nothing links it. */
#if !IS_ENABLED(CONFIG_WEB)
#define CONFIG_WEB_MAX_LISTENERS 1
#define CONFIG_WEB_MAX_CLIENTS 1
#define CONFIG_WEB_HEAD_MAX 512
#endif

#define KH_WEB_CATS 16
#define KH_WEB_CLIENTS 32
#define KH_WEB_WARNINGS 4
#define KH_WEB_PAGE_MAX 16384 /* a rendered page, head included */
#define KH_WEB_THREATS 8
#define KH_WEB_NAME_MAX 32   /* a device's display name, bytes */
#define KH_WEB_HOUSEHOLD 8   /* household categories the page offers */
#define KH_WEB_PROF_NAMES 16 /* names in one owner list (allow_names, block_names) */

/* A LAN device that asked for a name of a security category (an infected device). */
struct kh_web_threat {
	struct kh_addr addr;
	char category[32], name[96]; /* the last one it asked for */
	int64_t first, last;	     /* wall seconds */
	uint32_t count;
};

/* What the status page shows, gathered when it is asked for. */
struct kh_web_facts {
	int protecting;		 /* a blocklist is in force */
	uint64_t policy_version; /* the signed policy's, 0 without */
	int64_t lists_age_s;	 /* since the lists in force were loaded, -1 unknown */
	uint64_t index_entries;
	unsigned ncats;
	struct kh_dns_recent_cat cats[KH_WEB_CATS];
	unsigned nclients;
	struct kh_dns_client clients[KH_WEB_CLIENTS];
	unsigned nwarnings; /* other warnings, as text */
	const char *warnings[KH_WEB_WARNINGS];
	char names[KH_WEB_CLIENTS][KH_WEB_NAME_MAX + 1]; /* clients[i]'s display name, "" */
	unsigned nthreats;
	struct kh_web_threat threats[KH_WEB_THREATS];
	char threat_names[KH_WEB_THREATS][KH_WEB_NAME_MAX + 1];
	const char *notice; /* the ISP's notice (operator command), NULL */
	/* profiles (docs/PROFILES.md): the household's (configuration and owner), the ISP's */
	const struct kh_profiles *profiles, *isp_profiles; /* NULL: none */
	uint64_t owner_edited; /* profiles[i] has owner settings: bit i */
	unsigned nhousehold;   /* the categories the owner may choose (action "allow", bypass) */
	char household[KH_WEB_HOUSEHOLD][KH_CAT_NAME_MAX + 1];
};

/* A profile as the owner sets it (/profile): names are validated, one space between. */
struct kh_web_prof_edit {
	char name[KH_PROF_NAME_MAX + 1];
	int safe_search, child;
	unsigned ncats;
	char cats[KH_WEB_HOUSEHOLD][KH_CAT_NAME_MAX + 1];
	int has_allow, has_block; /* 0: the box was not on the form: the list stays as it is */
	char allow[KH_WEB_FORM_MAX], block[KH_WEB_FORM_MAX];
};

/*
 * What the pages ask their owner (khiend; a fuzz harness fakes it).
 * verdict: the policy's verdict on name for client. facts: the status
 * page's figures. allowed: 1 if peer may use the pages (the DNS filter's
 * client networks), NULL for everyone.
 */
struct kh_web_hooks {
	void *arg;
	void (*verdict)(void *arg, const char *name, const struct kh_addr *client,
			struct kh_dns_verdict *v);
	void (*facts)(void *arg, struct kh_web_facts *f);
	int (*allowed)(void *arg, const struct kh_addr *peer);
	/* threat: 1 and *t when client is an infected device, else 0. May be NULL. */
	int (*threat)(void *arg, const struct kh_addr *client, struct kh_web_threat *t);
	/* set_name: a logged-in owner names a device ("" clears). 0 or negative errno. */
	int (*set_name)(void *arg, const struct kh_addr *device, const char *name);
	/*
	 * profile_of: the profile a device is in, when the engine's own
	 * mapping (kh_dns_client.profile) has none. NULL, or NULL returned: none.
	 */
	const char *(*profile_of)(void *arg, const struct kh_addr *device);
	/*
	 * set_profile: a logged-in owner puts a device in a profile ("": none);
	 * edit_profile: sets a profile's safe search, categories and names.
	 * Both apply at once and persist; 0, or negative errno with why. May be NULL.
	 */
	int (*set_profile)(void *arg, const struct kh_addr *device, const char *profile, char *why,
			   size_t whylen);
	int (*edit_profile)(void *arg, const struct kh_web_prof_edit *e, char *why, size_t whylen);
	/* the owner's sessions; NULL: no owner login (no password helper) */
	struct kh_web_auth *auth;
};

/* A request the password helper must answer first (agent/owner.h). */
#define KH_WEB_ASK (-EINPROGRESS)
struct kh_web_ask {
	uint32_t type; /* KH_OWNER_LOGIN, KH_OWNER_SET */
	size_t len;
	char body[KH_OWNER_BODY_MAX];
};

/*
 * The answer to a request whose head is buf[0..len) so far: > 0 its length
 * in out (always a whole response with Connection: close), 0 when more
 * bytes are needed (only while !full: with full set, an incomplete head is
 * answered 431). Malformed heads get the parser's status (400, 414, 431,
 * 501, 505), other methods than GET and HEAD 405. cap must be at least
 * KH_WEB_PAGE_MAX. Never fails otherwise.
 */
int kh_web_answer(const struct kh_agent_config *cfg, const struct kh_web_hooks *h, const char *buf,
		  size_t len, int full, const struct kh_addr *peer, char *out, size_t cap);
/*
 * The same, for requests that may need the password helper (POST /login,
 * /setup): with told NULL, such a request fills *ask and returns
 * KH_WEB_ASK; the caller sends it and calls again with the same bytes and
 * the helper's reply in told. ask NULL: such requests get 503. POST bodies
 * (at most KH_WEB_FORM_MAX bytes, urlencoded) are read whole before the
 * answer: 0 while they are incomplete.
 */
int kh_web_answer_owner(const struct kh_agent_config *cfg, const struct kh_web_hooks *h,
			const char *buf, size_t len, int full, const struct kh_addr *peer,
			const struct kh_owner_reply *told, struct kh_web_ask *ask, char *out,
			size_t cap);

/* ---- web_state.c: what the status page keeps across a restart (no I/O) */
#define KH_WEB_NOTICE_MAX 256	 /* bytes of the ISP's notice */
#define KH_WEB_INFECTED_MAX 2048 /* STATE/spool/infected, at most */
/*
 * A LAN device at addr asked for name, of security category category, at
 * wall second now: its row of t[KH_WEB_THREATS] counts it (a new device
 * takes a free row, else the least recently seen one's). 2 when a row is
 * new or its threat changed (worth keeping at once), 1 when only its
 * count, name and last seen moved.
 */
int kh_web_threat_seen(struct kh_web_threat *t, const struct kh_addr *addr, const char *category,
		       const char *name, int64_t now);
/* The rows in use as the text of STATE/spool/infected: its length, or -E2BIG. */
int kh_web_threats_format(const struct kh_web_threat *t, char *out, size_t cap);
/*
 * That text back into t[KH_WEB_THREATS]: 0, or -EBADMSG with why ("line 3:
 * bad count") and t all free. Only what kh_web_threats_format() writes
 * passes: at most KH_WEB_THREATS devices, each once, counts from 1, first
 * seen no later than last, plain category and name characters.
 */
int kh_web_threats_parse(const char *text, struct kh_web_threat *t, char *why, size_t whylen);
/* 0 if text[0..len) may be the kept notice (at most KH_WEB_NOTICE_MAX bytes, no control byte). */
int kh_web_notice_check(const char *text, size_t len);

/* ---- web.c: the server */
struct kh_web;

/*
 * Listen on cfg->web_listen (which must outlive the server) and serve on
 * loop. -ENOENT when no address is configured; other negative errno when
 * a listener cannot be opened, with *why saying which.
 */
int kh_web_new(struct kh_loop *loop, const struct kh_agent_config *cfg,
	       const struct kh_web_hooks *h, struct kh_web **out, const char **why);
/* Accepts NULL; closes every connection. */
void kh_web_free(struct kh_web *w);

/* Owner logins go to the password helper's client o (agent/owner.h); NULL: none. */
void kh_web_set_owner(struct kh_web *w, struct kh_owner *o);

/* The address listener i is bound to (an ephemeral port learnt). 0, or -ENOENT. */
int kh_web_local_addr(const struct kh_web *w, unsigned i, struct kh_addr *out);

/* Counters: served, refused (full, per client, not allowed, rate), timed out, evicted. */
struct kh_web_stats {
	uint64_t accepted, served, refused_full, refused_client, not_allowed, rate_limited,
		timed_out, bad_request, evicted;
	unsigned open;
};
void kh_web_stats(const struct kh_web *w, struct kh_web_stats *out);

#endif
