/* SPDX-License-Identifier: MIT */
/*
 * Blocklist index reader: answers "is this name blocked, by which rule" from
 * a compiled index held in memory (an mmap on Linux, a flash region on an
 * RTOS). kh_index_open() validates every offset, size and count once and
 * checks the checksum, so lookups afterwards need no bounds surprises and
 * never allocate. The struct kh_index only points into the caller's bytes:
 * keep them alive and unchanged while the index is in use.
 *
 * Semantics (docs/BLOCKLISTS.md): the most specific matching suffix wins;
 * at equal specificity an allow entry beats a block entry.
 */
#ifndef KHIEN_POLICY_INDEX_H
#define KHIEN_POLICY_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "policy/index_format.h"
#include "policy/name.h"

struct kh_index {
	const uint8_t *base;
	size_t len;
	uint64_t seed[2];
	uint32_t n_entries, n_domains;
	uint8_t bucket_bits, rem_bits, meta_bits;
	uint64_t depths_block[2], depths_allow[2];
	uint8_t depth_min, depth_max; /* suffix depths that can match (from the masks) */
	const uint8_t *strings;
	uint32_t strings_len;
	const uint8_t *categories, *sources, *classes, *samples, *unary, *entries, *allow, *iptrig;
	uint32_t n_categories, n_sources, n_classes, n_samples, n_allow, n_iptrig;
	uint64_t unary_bits;
	uint8_t build_id[16];
	uint64_t created;
};

enum kh_verdict {
	KH_ALLOWED = 0,	   /* no entry matched */
	KH_BLOCKED = 1,	   /* a block entry matched */
	KH_ALLOWLISTED = 2 /* an allow entry matched (and beat any block entry) */
};

struct kh_match {
	enum kh_verdict verdict;
	uint8_t category;    /* category id (BLOCKED) */
	uint8_t source;	     /* source list id */
	uint8_t action;	     /* enum kh_idx_action */
	uint8_t scope;	     /* the entry's scope bits */
	uint8_t exact;	     /* 1 if the matched suffix is the whole name */
	uint16_t suffix_off; /* matched suffix starts here in the canonical name */
	uint32_t rule;	     /* entry number: block entry index or allow entry index */
	char name[254];	     /* canonical form of the queried name */
};

/*
 * Validate and open an index over data[0..len). Returns 0, -EBADMSG with a
 * reason in *why (static string) if anything is inconsistent or the checksum
 * fails, -ENOTSUP for another format version, -E2BIG over CONFIG_INDEX_MAX_MB.
 */
int kh_index_open(struct kh_index *idx, const void *data, size_t len, const char **why);

/*
 * Look up a name (text, any case, optional trailing dot). Returns 0 with *m
 * filled, or -EINVAL if the name is not a valid domain name.
 */
int kh_index_lookup(const struct kh_index *idx, const char *name, size_t len, struct kh_match *m);

/*
 * The name given is only the canonical suffix of a longer query name (whose
 * leading labels hold bytes no list can contain): match it as a subdomain,
 * so entries that cover only the name itself do not apply.
 */
#define KH_LOOKUP_SUBDOMAIN 0x1
int kh_index_lookup_ex(const struct kh_index *idx, const char *name, size_t len, unsigned flags,
		       struct kh_match *m);

/* Check an IP address (4 or 16 bytes) against RPZ IP triggers: 1 and *m if hit. */
int kh_index_lookup_ip(const struct kh_index *idx, int family, const uint8_t *ip,
		       struct kh_match *m);

/* Names from the string table (never NULL; "?" when out of range). */
const char *kh_index_category_name(const struct kh_index *idx, unsigned id);
const char *kh_index_source_name(const struct kh_index *idx, unsigned id);
/* Source details: category id, entry count, format id. 0 or -ENOENT. */
int kh_index_source_info(const struct kh_index *idx, unsigned id, unsigned *category,
			 uint32_t *entries, uint32_t *format);
/* Class of block entry i: its category, source, scope and action. */
void kh_index_class(const struct kh_index *idx, unsigned cls, uint8_t *category, uint8_t *source,
		    uint8_t *scope, uint8_t *action);

#endif
