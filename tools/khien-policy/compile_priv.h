/* SPDX-License-Identifier: MIT */
/*
 * Inside the blocklist compiler: the records it collects while lists are
 * parsed (compile.c) and rewrites for AdBlock modifiers before the merge
 * (compile_modifiers.c). Callers use compile.h.
 */
#ifndef KHIEN_POLICY_COMPILE_PRIV_H
#define KHIEN_POLICY_COMPILE_PRIV_H

#include "tools/khien-policy/compile.h"

/* A block entry; the scope byte also carries REC_IMPORTANT (AdBlock $important). */
struct rec {
	uint64_t hi, lo;
	uint32_t order;
	uint8_t scope, action, source, depth;
};
#define REC_IMPORTANT 0x80
#define REC_SCOPE(r) ((uint8_t)((r)->scope & (KH_SCOPE_SELF | KH_SCOPE_SUBS)))

struct allow_rec {
	uint64_t hi;
	uint32_t name; /* offset in the allow name pool */
	uint32_t order;
	uint8_t scope, source, important;
};

/* An AdBlock $badfilter rule: the rule it disables, by name hash and flags. */
struct badfilter_rec {
	uint64_t hi, lo;
	uint8_t scope, allow, important;
};

/* An AdBlock $important block entry, looked up by the allow entries under it. */
struct important_rec {
	uint64_t hi, lo;
	uint8_t scope;
};

struct ip_rec {
	uint8_t family, prefix, action, source, allow;
	uint8_t ip[16];
};

struct source {
	char *label;
	uint32_t category; /* KH_ALLOW_SOURCE_CATEGORY for allow lists */
	uint32_t entries;
	enum kh_list_format fmt;
};

struct kh_compiler {
	uint64_t seed[2];
	char *cats[256];
	unsigned ncats;
	struct source src[256];
	unsigned nsrc;
	struct rec *recs;
	size_t nrecs, caprecs;
	struct allow_rec *allows;
	size_t nallows, capallows;
	char *pool;
	size_t npool, cappool;
	struct ip_rec *ips;
	size_t nips, capips;
	struct badfilter_rec *bads;
	size_t nbads, capbads;
	uint32_t order;
	int force_bucket_bits;
	uint32_t cat_counts[256];
	/* during parse */
	int cur_src;
	const char *cur_label;
	kh_compile_report_fn report;
	void *report_arg;
	struct kh_list_stats *cur_st;
};

/*
 * AdBlock modifiers, before anything is merged: drop what a $badfilter
 * names, then trim @@ exceptions under an $important block; counted in res.
 * 0 or -ENOMEM.
 */
int kh_compile_apply_modifiers(struct kh_compiler *c, struct kh_compile_result *res);

#endif
