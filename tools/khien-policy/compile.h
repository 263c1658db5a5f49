/* SPDX-License-Identifier: MIT */
/*
 * ISP-side blocklist compiler: collects entries from many lists, merges
 * duplicates, and writes the compact index that devices map (format in
 * policy/index_format.h). Host-only; the device links policy/index.c alone.
 */
#ifndef KHIEN_POLICY_COMPILE_H
#define KHIEN_POLICY_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/index_format.h"
#include "tools/khien-policy/lists.h"

#define KH_COMPILE_MAX_ENTRIES (1u << 26) /* 67M names: far beyond any router */
#define KH_ALLOW_SOURCE_CATEGORY KH_IDX_ALLOW_CATEGORY

struct kh_compiler;

/* Called for every problem line: file label, line, unsupported?, reason, text. */
typedef void (*kh_compile_report_fn)(void *arg, const char *file, unsigned line, int unsupported,
				     const char *reason, const char *text);

struct kh_compile_result {
	uint32_t entries;    /* block entries stored */
	uint32_t domains;    /* distinct block names */
	uint32_t duplicates; /* block entries merged into an earlier one */
	uint32_t allows;     /* distinct allow entries */
	uint32_t ip_triggers;
	uint32_t badfiltered;	      /* AdBlock rules disabled by a $badfilter */
	uint32_t important_overrides; /* @@ exceptions overridden by an $important block */
	uint32_t classes;
	uint8_t bucket_bits, rem_bits, meta_bits;
	double fp_log2; /* log2 of the false-positive bound per lookup */
	size_t bytes;
	uint8_t build_id[16];
};

/*
 * seed: the index's 128-bit hash key, or NULL for a random one (pass a
 * fixed seed for reproducible builds). Names are hashed as they are parsed.
 */
int kh_compiler_new(struct kh_compiler **out, const uint64_t *seed);
void kh_compiler_free(struct kh_compiler *c);

/*
 * Register a list: category name (NULL for an allow list) and a label used in
 * reports and kept in the index (the file's base name). Returns the source
 * id (>= 0), -E2BIG beyond 255 sources or CONFIG categories.
 */
int kh_compiler_add_source(struct kh_compiler *c, const char *category, const char *label,
			   enum kh_list_format fmt);

/*
 * Parse a list's text into source src. Every problem line goes to report.
 * *st receives this list's statistics. Returns 0 or negative errno (-E2BIG
 * over KH_COMPILE_MAX_ENTRIES, -ENOMEM). The format actually used is stored
 * with the source.
 */
int kh_compiler_parse(struct kh_compiler *c, int src, const char *buf, size_t len,
		      enum kh_list_format fmt, kh_compile_report_fn report, void *arg,
		      struct kh_list_stats *st);

/* The format used for source src (after auto-detection). */
enum kh_list_format kh_compiler_source_format(const struct kh_compiler *c, int src);

/*
 * Force the number of bucket bits instead of choosing the smallest layout
 * (tests use it to build huge buckets). -1 restores the automatic choice.
 */
void kh_compiler_force_bucket_bits(struct kh_compiler *c, int bits);

/*
 * Build the index; created is the timestamp recorded in it. On success *out
 * is a malloc'd buffer of *out_len bytes owned by the caller. -ENODATA if no
 * list contributed a single entry.
 */
int kh_compiler_build(struct kh_compiler *c, int64_t created, uint8_t **out, size_t *out_len,
		      struct kh_compile_result *res);

/* Distinct block names per category id after the last build; n categories. */
const uint32_t *kh_compiler_category_counts(const struct kh_compiler *c, unsigned *n);

#endif
