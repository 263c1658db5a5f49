/* SPDX-License-Identifier: MIT */
/*
 * FNV-1a over a string, for hash tables whose keys nobody chooses against
 * us or where a collision only costs a shared slot (caches, dedup, buckets).
 * Not for anything an attacker controls and could aim at.
 */
#ifndef KHIEN_LIB_FNV_H
#define KHIEN_LIB_FNV_H

#include <stdint.h>

#define KH_FNV32_BASIS 2166136261u

/* Continue a hash h (start with KH_FNV32_BASIS) over the string s. */
static inline uint32_t kh_fnv1a32(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

#endif
