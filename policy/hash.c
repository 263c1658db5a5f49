/* SPDX-License-Identifier: MIT */
/*
 * Suffix hasher and checksum (see hash.h). The 64x64->128 multiply has a
 * portable fallback for 32-bit targets without __int128 (MIPS/ARM routers).
 */
#include <string.h>

#include "lib/endian.h"
#include "policy/hash.h"
#include "policy/name.h"

#define K0 0xa0761d6478bd642full
#define K1 0xe7037ed1a0b428dbull
#define K2 0x8ebc6af09c88c6e3ull
#define K3 0x589965cc75374cc3ull

static inline uint64_t mum(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
	uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
	uint64_t t = rl + (rm0 << 32), c = t < rl;
	uint64_t lo = t + (rm1 << 32);
	c += lo < t;
	uint64_t hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
	return lo ^ hi;
#endif
}

void kh_suffix_hasher_init(struct kh_suffix_hasher *h, const uint64_t seed[2])
{
	h->seed_a = seed[0] ^ K0;
	h->seed_b = seed[1] ^ K3;
	h->a = h->seed_a;
	h->b = h->seed_b;
}

static inline void absorb(struct kh_suffix_hasher *h, uint64_t w)
{
	h->a = mum(h->a ^ w, K1 ^ h->seed_b);
	h->b = mum(h->b ^ w, K2 ^ h->seed_a);
}

/*
 * A label is absorbed as its 8-byte words; the last word carries 0x80 | len
 * in its top byte (an extra word when len is a multiple of 8). Canonical
 * label bytes are below 0x80, so the marked word ends the label without
 * ambiguity ("ab.c" and "abc" hash differently) and costs no extra mix for
 * 7 labels in 8.
 */
void kh_suffix_hasher_push_padded(struct kh_suffix_hasher *h, const char *label, size_t len)
{
	const uint8_t *p = (const uint8_t *)label;
	uint64_t mark = (uint64_t)(0x80u | len) << 56;
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		absorb(h, kh_le64(p + i));
	if (i < len)
		absorb(h, (kh_le64(p + i) & (~0ull >> (64 - 8 * (len - i)))) | mark);
	else
		absorb(h, mark);
}

void kh_suffix_hasher_push(struct kh_suffix_hasher *h, const char *label, size_t len)
{
	uint8_t buf[KH_LABEL_MAX + 8] = {0};

	memcpy(buf, label, len <= KH_LABEL_MAX ? len : KH_LABEL_MAX);
	kh_suffix_hasher_push_padded(h, (const char *)buf,
				     len <= KH_LABEL_MAX ? len : KH_LABEL_MAX);
}

struct kh_hash128 kh_suffix_hasher_value(const struct kh_suffix_hasher *h)
{
	struct kh_hash128 r;

	r.hi = mum(h->a ^ K3, h->b ^ K0);
	r.lo = mum(h->b ^ K1, h->a ^ K2);
	return r;
}

struct kh_hash128 kh_name_hash(const uint64_t seed[2], const char *name, size_t len)
{
	struct kh_suffix_hasher h;
	size_t end = len;

	kh_suffix_hasher_init(&h, seed);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		kh_suffix_hasher_push(&h, name + start, end - start);
		end = start ? start - 1 : 0;
	}
	return kh_suffix_hasher_value(&h);
}

uint64_t kh_csum64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t s[4] = {seed ^ K0, seed ^ K1, seed ^ K2, seed ^ K3};
	size_t i = 0;

	for (; i + 32 <= len; i += 32)
		for (int k = 0; k < 4; k++)
			s[k] = mum(s[k] ^ kh_le64(p + i + 8 * k), K1 ^ (uint64_t)k);
	for (; i + 8 <= len; i += 8)
		s[0] = mum(s[0] ^ kh_le64(p + i), K2);
	if (i < len) {
		uint8_t tail[8] = {0};
		memcpy(tail, p + i, len - i);
		s[1] = mum(s[1] ^ kh_le64(tail), K3);
	}
	return mum(s[0] ^ s[2] ^ len, s[1] ^ s[3] ^ K0);
}
