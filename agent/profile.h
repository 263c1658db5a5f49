/* SPDX-License-Identifier: MIT */
/*
 * Home-user profiles (docs/PROFILES.md): which LAN device gets which rules
 * on top of the ISP's policy. A profile picks extra categories to block
 * (those the ISP ships with dns.categories.NAME.action "allow", adult
 * typically), names of its own to allow and block, safe search, and weekly
 * schedules in local time during which everything but an allow list is
 * blocked or more categories apply. Clients are tied to a profile by MAC
 * address (the neighbour table), IP or CIDR.
 *
 * The same table comes from the configuration (`profiles`) and from the
 * ISP's signed bundle (component `profiles`, the same JSON); kh_profiles_merge
 * lays the ISP's over the local ones by profile name, and what the ISP's
 * part blocks (its categories, its block_names) no local allow_names can
 * lift. Everything is fixed-size (Kconfig limits) and checked with
 * path-precise errors ("profiles.child.clients[2]: not a MAC, IP or CIDR").
 *
 * Evaluation costs no second index lookup: the query's one lookup gives
 * the category, and kh_profile_decide answers from the profile's category
 * bitmasks (built per index, kh_profile_masks) and its small name lists.
 */
#ifndef KHIEN_AGENT_PROFILE_H
#define KHIEN_AGENT_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/tz.h"
#include "platform/net.h"

#if defined(CONFIG_PROFILES_MAX)
#define KH_PROF_MAX CONFIG_PROFILES_MAX
#define KH_PROF_MAX_CLIENTS CONFIG_PROFILES_MAX_CLIENTS
#define KH_PROF_MAX_NAMES CONFIG_PROFILES_MAX_NAMES
#define KH_PROF_POOL (CONFIG_PROFILES_NAME_POOL_KB * 1024)
#else /* CONFIG_PROFILES off: one slot of each, so the parser still compiles */
#define KH_PROF_MAX 1
#define KH_PROF_MAX_CLIENTS 1
#define KH_PROF_MAX_NAMES 1
#define KH_PROF_POOL 1
#endif
#define KH_PROF_NAME_MAX 32	/* profile name */
#define KH_PROF_LIST_MAX 64	/* names in one allow_names / block_names / block_all_except */
#define KH_PROF_MAX_SCHED 8	/* schedules per profile */
#define KH_PROF_MAX_CATS 16	/* categories in one block list */
#define KH_PROF_CATNAMES 32	/* distinct category names across all profiles */
#define KH_PROF_CAT_NAME_MAX 32 /* = KH_CAT_NAME_MAX */

/* A range of kh_profiles.name. */
struct kh_prof_names {
	uint16_t first, n;
};

struct kh_prof_sched {
	uint8_t days;	    /* bit 0 Sunday .. bit 6 Saturday: the days a window starts */
	uint16_t from, to;  /* minutes of the day; to <= from: the window ends the next day */
	uint8_t all_except; /* 1: everything but the except names (and allow_names) is blocked */
	uint8_t isp; /* the ISP's bundle set it: decided before allow_names (no local lift) */
	uint8_t ncats;
	uint8_t cats[KH_PROF_MAX_CATS]; /* kh_profiles.cat ids blocked during the window */
	struct kh_prof_names except;
};

/* A category a profile blocks; isp: the ISP's bundle chose it (no local allow lifts it). */
struct kh_prof_cat {
	uint8_t id, isp;
};

struct kh_prof {
	char name[KH_PROF_NAME_MAX + 1];
	uint8_t safe_search, child;
	uint8_t ncats;
	struct kh_prof_cat cats[KH_PROF_MAX_CATS * 2];
	struct kh_prof_names allow, block, isp_block;
	uint8_t nsched;
	struct kh_prof_sched sched[KH_PROF_MAX_SCHED];
};

enum {
	KH_PROF_BY_MAC = 1,
	KH_PROF_BY_NET, /* an IP is a /32 or /128 */
};

struct kh_prof_client {
	uint8_t kind, profile, bits;
	uint8_t mac[6];
	struct kh_addr net; /* port 0 */
};

struct kh_prof_name {
	uint16_t off;
	uint8_t len;
};

struct kh_profiles {
	unsigned nprof, nclient, nname, ncat;
	size_t pool_len;
	struct kh_prof prof[KH_PROF_MAX];
	struct kh_prof_client client[KH_PROF_MAX_CLIENTS];
	struct kh_prof_name name[KH_PROF_MAX_NAMES];
	char cat[KH_PROF_CATNAMES][KH_PROF_CAT_NAME_MAX + 1];
	char pool[KH_PROF_POOL];
};

struct cJSON;

/* An empty table. */
void kh_profiles_init(struct kh_profiles *t);

/*
 * Parse the `profiles` object v over t (profiles of an existing name are
 * updated key by key; schedules are added). path is where v sits
 * ("profiles"); isp marks what the ISP's bundle chose. On error returns
 * -EINVAL and writes "PATH: reason" into why.
 */
int kh_profiles_parse(struct kh_profiles *t, const struct cJSON *v, const char *path, int isp,
		      char *why, size_t whylen);

/*
 * The ISP's table (isp, parsed with isp set) laid over dst by profile
 * name: categories, block names and schedules are added, safe search and
 * child are or-ed, clients are added. -E2BIG with why if a limit is hit.
 */
int kh_profiles_merge(struct kh_profiles *dst, const struct kh_profiles *isp, char *why,
		      size_t whylen);

/* The table as the JSON object it was parsed from (for `khiend --print-config`). */
/*
 * The owner's layer (docs/WEB.md, STATE/spool/profiles.local) over t:
 * {"profiles": {NAME: {safe_search, child, block, allow_names,
 * block_names}}, "clients": {"MAC or IP": "NAME" or ""}}. Only profiles
 * t already has; the values replace t's own (never the ISP's part, which
 * kh_profiles_merge adds after). Parsed by kh_profiles_parse with every
 * limit; -EINVAL and "PATH: reason" in why.
 */
int kh_profiles_owner(struct kh_profiles *t, const struct cJSON *doc, char *why, size_t whylen);

void kh_profiles_print(const struct kh_profiles *t, struct cJSON *out);

/*
 * The profile of a client: MAC match first (mac NULL when the neighbour
 * table does not know the address), else the longest matching prefix (an
 * IP entry is a full-length prefix); ties go to the first written.
 * Returns the profile index, or -1 for none.
 */
int kh_profile_find(const struct kh_profiles *t, const struct kh_addr *ip, const uint8_t *mac);

/*
 * Category bitmasks for one index: for each profile, the index category
 * ids it blocks (isp and local) and those each schedule adds. cat_name
 * gives an index category's name (NULL past the last).
 */
#define KH_PROF_MASK_WORDS 4 /* 256 category ids */
struct kh_prof_mask {
	uint64_t isp[KH_PROF_MASK_WORDS], local[KH_PROF_MASK_WORDS];
	uint64_t sched[KH_PROF_MAX_SCHED][KH_PROF_MASK_WORDS];
};
void kh_profile_masks(const struct kh_profiles *t, const char *(*cat_name)(void *arg, unsigned id),
		      void *arg, unsigned ncat, struct kh_prof_mask *out);

/* The schedules of profile p active at local (wday, minute): a bitmask. */
unsigned kh_profile_active(const struct kh_prof *p, unsigned wday, unsigned minute);

/* Why a profile decided what it did. */
enum kh_prof_reason {
	KH_PROF_R_NONE = 0,	/* nothing in the profile applies */
	KH_PROF_R_ISP_NAME,	/* blocked: one of the ISP's block_names for the profile */
	KH_PROF_R_ISP_CATEGORY, /* blocked: a category the ISP's part of the profile blocks */
	KH_PROF_R_ALLOW_NAME,	/* allowed: one of the profile's allow_names */
	KH_PROF_R_BLOCK_NAME,	/* blocked: one of the profile's block_names */
	KH_PROF_R_CATEGORY,	/* blocked: a category the profile blocks */
	KH_PROF_R_SCHED_ALL,	/* blocked: a block_all_except window, name not excepted */
	KH_PROF_R_SCHED_CAT,	/* blocked: a category a window blocks */
};

struct kh_prof_verdict {
	int blocked;
	enum kh_prof_reason reason;
	int sched;	  /* the window that decided, or -1 */
	const char *rule; /* the name rule that decided (in the table's pool), or NULL */
	size_t rule_len;
};

/*
 * The profile's verdict for canonical name (len bytes) whose one index
 * lookup found category cat (-1: on no block list, or on an allow list),
 * with the profile's masks and the active windows. Only called for names
 * the ISP's policy itself lets through: a block it decides is final.
 */
void kh_profile_decide(const struct kh_profiles *t, unsigned prof, const struct kh_prof_mask *mask,
		       unsigned active, const char *name, size_t len, int cat,
		       struct kh_prof_verdict *v);

/* A reason in words ("allow_names", "schedule", ...). */
const char *kh_profile_reason(enum kh_prof_reason r);

/*
 * The forced-safe name that safe search answers name with (a CNAME):
 * forcesafesearch.google.com for Google's search domains, restrict.youtube.com
 * for YouTube's, strict.bing.com, safe.duckduckgo.com; NULL for any other.
 */
const char *kh_safe_search_target(const char *name, size_t len);

#endif
