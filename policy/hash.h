/* SPDX-License-Identifier: MIT */
/*
 * Suffix hashing for the blocklist index. A canonical name is hashed label
 * by label from the right ("com", then "example", then "www"), so one pass
 * yields the 128-bit hash of every suffix: the compiler hashes each listed
 * name, the agent hashes each suffix of a query. Two 64-bit lanes with
 * independent secrets mixed by 64x64->128 multiplication (as in wyhash),
 * keyed by the per-index seed. Not a MAC: a crafted collision can only make
 * an unlisted name look listed (over-blocking), never unblock a listed one.
 */
#ifndef KHIEN_POLICY_HASH_H
#define KHIEN_POLICY_HASH_H

#include <stddef.h>
#include <stdint.h>

struct kh_hash128 {
	uint64_t hi, lo;
};

struct kh_suffix_hasher {
	uint64_t a, b; /* lane states */
	uint64_t seed_a, seed_b;
};

void kh_suffix_hasher_init(struct kh_suffix_hasher *h, const uint64_t seed[2]);
/* Absorb the next label to the left (1..63 bytes, canonical: every byte < 0x80). */
void kh_suffix_hasher_push(struct kh_suffix_hasher *h, const char *label, size_t len);
/*
 * Same result as kh_suffix_hasher_push(), for a label followed by at least
 * 8 readable bytes (the lookup's padded name buffer): reads whole words and
 * masks the tail instead of copying it.
 */
void kh_suffix_hasher_push_padded(struct kh_suffix_hasher *h, const char *label, size_t len);
/* Hash of the suffix absorbed so far; the hasher can keep going. */
struct kh_hash128 kh_suffix_hasher_value(const struct kh_suffix_hasher *h);

/* Convenience: hash of a whole canonical name. */
struct kh_hash128 kh_name_hash(const uint64_t seed[2], const char *name, size_t len);

/* Fast 64-bit checksum of a buffer (corruption detection, not authenticity). */
uint64_t kh_csum64(const void *data, size_t len, uint64_t seed);

#endif
