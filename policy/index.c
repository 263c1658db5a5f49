/* SPDX-License-Identifier: MIT */
/*
 * Blocklist index reader (see index.h and docs/INDEX-FORMAT.md). Portable C
 * with no OS calls: the same file runs on the router (over an mmap) and on an
 * RTOS (over a flash region). kh_index_open() is the only place that trusts
 * nothing; after it succeeds every position a lookup can compute is inside
 * the buffer.
 */
#include <string.h>

#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "policy/hash.h"
#include "policy/index.h"
#include "policy/name.h"

static inline unsigned popcount64(uint64_t x)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_popcountll(x);
#else
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

static inline unsigned ctz64(uint64_t x) /* x != 0 */
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned n = 0;
	while (!(x & 1)) {
		x >>= 1;
		n++;
	}
	return n;
#endif
}

/* 64 bits of a little-endian bitstream starting at bit pos (needs 8 bytes of slack). */
static inline uint64_t bits64(const uint8_t *p, uint64_t pos)
{
	const uint8_t *b = p + (pos >> 3);
	unsigned s = (unsigned)(pos & 7);
	uint64_t v = kh_le64(b);

	if (s)
		v = (v >> s) | ((uint64_t)b[8] << (64 - s));
	return v;
}

/* Index (0-based) of the z-th (1-based) set bit of x; x has at least z set bits. */
static inline unsigned select64(uint64_t x, unsigned z)
{
	unsigned base = 0;

	for (;;) {
		unsigned c = popcount64(x & 0xff);
		if (c >= z)
			break;
		z -= c;
		x >>= 8;
		base += 8;
	}
	while (--z)
		x &= x - 1;
	return base + ctz64(x);
}

static int str_ok(const struct kh_index *idx, uint32_t off)
{
	return off < idx->strings_len;
}

static const char *str_at(const struct kh_index *idx, uint32_t off)
{
	return str_ok(idx, off) ? (const char *)idx->strings + off : "?";
}

/* Walk the unary bitvector once: N ones, B zeros, samples where they must be. */
static int check_unary(const struct kh_index *idx, const char **why)
{
	uint64_t B = 1ull << idx->bucket_bits, zeros = 0, ones = 0, pos = 0;
	uint64_t total = idx->unary_bits;
	uint32_t next_sample = 1;

	if (kh_le32(idx->samples) != 0) {
		*why = "first bucket sample is not 0";
		return -EBADMSG;
	}
	while (pos < total) {
		uint64_t w = bits64(idx->unary, pos);
		unsigned nbits = total - pos >= 64 ? 64 : (unsigned)(total - pos);
		uint64_t mask = nbits == 64 ? ~0ull : ((1ull << nbits) - 1);
		uint64_t z = ~w & mask;
		unsigned zc = popcount64(z);

		/* Samples falling inside this word: bucket k*128 starts after zero k*128. */
		while (next_sample < idx->n_samples &&
		       (uint64_t)next_sample * KH_IDX_SAMPLE_EVERY <= zeros + zc) {
			uint64_t need = (uint64_t)next_sample * KH_IDX_SAMPLE_EVERY - zeros;
			uint64_t at = pos + select64(z, (unsigned)need) + 1;
			if (kh_le32(idx->samples + 4 * next_sample) != at) {
				*why = "bucket sample does not match the bucket bitvector";
				return -EBADMSG;
			}
			next_sample++;
		}
		zeros += zc;
		ones += nbits - zc;
		pos += nbits;
	}
	if (zeros != B || ones != idx->n_entries || next_sample != idx->n_samples) {
		*why = "bucket bitvector does not hold one terminator per bucket and one bit per "
		       "entry";
		return -EBADMSG;
	}
	if ((bits64(idx->unary, total) & 0xff) != 0 || (~bits64(idx->unary, total - 1) & 1) == 0) {
		*why = "bucket bitvector padding is not zero or last bucket is unterminated";
		return -EBADMSG;
	}
	return 0;
}

int kh_index_open(struct kh_index *idx, const void *data, size_t len, const char **why)
{
	const uint8_t *p = data;
	uint8_t hdr[KH_IDX_HEADER_LEN];
	uint32_t nsect, seen = 0;
	uint64_t B, w_bits;
	const char *dummy;

	if (!why)
		why = &dummy;
	memset(idx, 0, sizeof(*idx));
	*why = "ok";
	if (len > (size_t)CONFIG_INDEX_MAX_MB << 20) {
		*why = "index larger than CONFIG_INDEX_MAX_MB";
		return -E2BIG;
	}
	if (len < KH_IDX_HEADER_LEN || memcmp(p, KH_IDX_MAGIC, 8) != 0) {
		*why = "not a Khien index (bad magic)";
		return -EBADMSG;
	}
	if (kh_le16(p + KH_IDX_OFF_VERSION) != KH_IDX_VERSION) {
		*why = "unsupported index format version";
		return -ENOTSUP;
	}
	if (kh_le16(p + KH_IDX_OFF_HDRLEN) != KH_IDX_HEADER_LEN ||
	    kh_le64(p + KH_IDX_OFF_FILELEN) != len || kh_le32(p + KH_IDX_OFF_FLAGS) != 0) {
		*why = "header length, file length or flags do not match (truncated?)";
		return -EBADMSG;
	}
	memcpy(hdr, p, sizeof(hdr));
	memset(hdr + KH_IDX_OFF_CSUM, 0, 8);
	{
		uint64_t c = kh_csum64(hdr, sizeof(hdr), 0);
		c = kh_csum64(p + KH_IDX_HEADER_LEN, len - KH_IDX_HEADER_LEN, c);
		if (c != kh_le64(p + KH_IDX_OFF_CSUM)) {
			*why = "checksum mismatch (corrupt index)";
			return -EBADMSG;
		}
	}
	idx->base = p;
	idx->len = len;
	idx->seed[0] = kh_le64(p + KH_IDX_OFF_SEED);
	idx->seed[1] = kh_le64(p + KH_IDX_OFF_SEED + 8);
	idx->n_entries = kh_le32(p + KH_IDX_OFF_NENTRIES);
	idx->n_domains = kh_le32(p + KH_IDX_OFF_NDOMAINS);
	idx->bucket_bits = p[KH_IDX_OFF_BUCKET_BITS];
	idx->rem_bits = p[KH_IDX_OFF_REM_BITS];
	idx->meta_bits = p[KH_IDX_OFF_META_BITS];
	for (int i = 0; i < 2; i++) {
		idx->depths_block[i] = kh_le64(p + KH_IDX_OFF_DEPTHS_BLOCK + 8 * i);
		idx->depths_allow[i] = kh_le64(p + KH_IDX_OFF_DEPTHS_ALLOW + 8 * i);
	}
	memcpy(idx->build_id, p + KH_IDX_OFF_BUILDID, 16);
	idx->created = kh_le64(p + KH_IDX_OFF_CREATED);
	if (idx->bucket_bits > 31 || idx->rem_bits < 1 || idx->meta_bits > 7 ||
	    idx->rem_bits + idx->meta_bits > 64 || idx->n_domains > idx->n_entries ||
	    (idx->depths_block[1] | idx->depths_allow[1]) >> 63) {
		*why = "header parameters out of range";
		return -EBADMSG;
	}

	nsect = kh_le32(p + KH_IDX_OFF_NSECT);
	if (nsect > 32 || KH_IDX_HEADER_LEN + (uint64_t)nsect * KH_IDX_SECTION_LEN > len) {
		*why = "section table out of bounds";
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < nsect; i++) {
		const uint8_t *s = p + KH_IDX_HEADER_LEN + i * KH_IDX_SECTION_LEN;
		uint32_t type = kh_le32(s), off = kh_le32(s + 4), slen = kh_le32(s + 8);
		uint32_t count = kh_le32(s + 12);
		const uint8_t *at = p + off;

		if (type < 1 || type > KH_SECT_MAX || (seen & (1u << type))) {
			*why = "unknown or duplicate section";
			return -EBADMSG;
		}
		seen |= 1u << type;
		if (off % 8 || off < KH_IDX_HEADER_LEN + nsect * KH_IDX_SECTION_LEN ||
		    (uint64_t)off + slen > len) {
			*why = "section out of bounds";
			return -EBADMSG;
		}
		switch (type) {
		case KH_SECT_STRINGS:
			if (slen == 0 || at[slen - 1] != 0) {
				*why = "string table not NUL-terminated";
				return -EBADMSG;
			}
			idx->strings = at;
			idx->strings_len = slen;
			break;
		case KH_SECT_CATEGORIES:
			idx->categories = at;
			idx->n_categories = count;
			if ((uint64_t)count * 4 != slen || count > CONFIG_INDEX_MAX_CATEGORIES)
				goto bad_count;
			break;
		case KH_SECT_SOURCES:
			idx->sources = at;
			idx->n_sources = count;
			if ((uint64_t)count * KH_IDX_SOURCE_LEN != slen || count > 255)
				goto bad_count;
			break;
		case KH_SECT_CLASSES:
			idx->classes = at;
			idx->n_classes = count;
			if ((uint64_t)count * KH_IDX_CLASS_LEN != slen || count > 128)
				goto bad_count;
			break;
		case KH_SECT_SAMPLES:
			idx->samples = at;
			idx->n_samples = count;
			if ((uint64_t)count * 4 != slen)
				goto bad_count;
			break;
		case KH_SECT_UNARY:
			idx->unary = at;
			idx->unary_bits = count; /* re-checked below */
			if (slen % 8 || (uint64_t)slen * 8 < (uint64_t)count + 64)
				goto bad_count;
			break;
		case KH_SECT_ENTRIES:
			idx->entries = at;
			w_bits = (uint64_t)idx->n_entries * (idx->rem_bits + idx->meta_bits);
			if (count != idx->n_entries || slen % 8 || (uint64_t)slen * 8 < w_bits + 64)
				goto bad_count;
			break;
		case KH_SECT_ALLOW:
			idx->allow = at;
			idx->n_allow = count;
			if ((uint64_t)count * KH_IDX_ALLOW_LEN != slen)
				goto bad_count;
			break;
		case KH_SECT_IPTRIG:
			idx->iptrig = at;
			idx->n_iptrig = count;
			if ((uint64_t)count * KH_IDX_IPTRIG_LEN != slen)
				goto bad_count;
			break;
		}
	}
	if (seen != 0x3fe) {
		*why = "a required section is missing";
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < idx->n_categories; i++)
		if (!str_ok(idx, kh_le32(idx->categories + 4 * i)))
			goto bad_ref;
	for (uint32_t i = 0; i < idx->n_sources; i++) {
		const uint8_t *s = idx->sources + i * KH_IDX_SOURCE_LEN;
		uint32_t cat = kh_le32(s + 4);
		if (!str_ok(idx, kh_le32(s)) ||
		    (cat >= idx->n_categories && cat != KH_IDX_ALLOW_CATEGORY))
			goto bad_ref;
	}
	if (idx->n_classes > (1u << idx->meta_bits))
		goto bad_ref;
	for (uint32_t i = 0; i < idx->n_classes; i++) {
		const uint8_t *c = idx->classes + i * KH_IDX_CLASS_LEN;
		if (c[0] >= idx->n_categories || c[1] >= idx->n_sources || c[2] == 0 || c[2] > 3 ||
		    c[3] > KH_ACT_DROP)
			goto bad_ref;
	}
	for (uint32_t i = 0; i < idx->n_allow; i++) {
		const uint8_t *a = idx->allow + i * KH_IDX_ALLOW_LEN;
		if (!str_ok(idx, kh_le32(a + 8)) || a[12] == 0 || a[12] > 3 ||
		    a[13] >= idx->n_sources)
			goto bad_ref;
	}
	for (uint32_t i = 0; i < idx->n_iptrig; i++) {
		const uint8_t *t = idx->iptrig + i * KH_IDX_IPTRIG_LEN;
		if (!((t[0] == 4 && t[1] <= 32) || (t[0] == 6 && t[1] <= 128)) ||
		    t[2] >= idx->n_classes)
			goto bad_ref;
	}
	B = 1ull << idx->bucket_bits;
	if (idx->n_samples != (B / KH_IDX_SAMPLE_EVERY) + 1 ||
	    idx->unary_bits != (uint64_t)idx->n_entries + B) {
		*why = "bucket directory sizes do not match the header";
		return -EBADMSG;
	}
	return check_unary(idx, why);

bad_count:
	*why = "section length does not match its entry count";
	return -EBADMSG;
bad_ref:
	*why = "table entry refers outside its table";
	return -EBADMSG;
}

static inline int depth_in(const uint64_t mask[2], unsigned d)
{
	return (int)((mask[(d - 1) >> 6] >> ((d - 1) & 63)) & 1);
}

/* Block entry matching hash h with a scope in need; -1 if none. */
static int64_t probe_block(const struct kh_index *idx, struct kh_hash128 h, unsigned need,
			   uint8_t *cls_out)
{
	unsigned bb = idx->bucket_bits, rb = idx->rem_bits, mb = idx->meta_bits;
	unsigned w = rb + mb;
	uint64_t j = bb ? h.hi >> (64 - bb) : 0;
	uint64_t x = bb ? (h.hi << bb) | (h.lo >> (64 - bb)) : h.hi;
	uint64_t rem = x >> (64 - rb), pos, start;
	unsigned z = (unsigned)(j % KH_IDX_SAMPLE_EVERY);

	pos = kh_le32(idx->samples + 4 * (j / KH_IDX_SAMPLE_EVERY));
	while (z) {
		uint64_t zw = ~bits64(idx->unary, pos);
		unsigned c = popcount64(zw);
		if (c < z) {
			z -= c;
			pos += 64;
		} else {
			pos += select64(zw, z) + 1;
			z = 0;
		}
	}
	start = pos - j;
	for (;;) {
		uint64_t ones = ~bits64(idx->unary, pos);
		unsigned run = ones ? ctz64(ones) : 64;
		for (unsigned k = 0; k < run; k++) {
			uint64_t e = bits64(idx->entries, (start + k) * w);
			uint64_t erem, cls;
			if (w < 64)
				e &= (1ull << w) - 1;
			erem = e >> mb;
			if (erem > rem)
				return -1;
			cls = e & ((1u << mb) - 1);
			if (erem == rem && cls < idx->n_classes &&
			    (idx->classes[cls * KH_IDX_CLASS_LEN + 2] & need)) {
				*cls_out = (uint8_t)cls;
				return (int64_t)(start + k);
			}
		}
		if (run < 64)
			return -1;
		pos += 64;
		start += 64;
	}
}

/* Allow entry for this exact suffix text and scope; -1 if none. */
static int64_t probe_allow(const struct kh_index *idx, struct kh_hash128 h, const char *suffix,
			   unsigned need)
{
	uint32_t lo = 0, hi = idx->n_allow;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (kh_le64(idx->allow + mid * KH_IDX_ALLOW_LEN) < h.hi)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < idx->n_allow; lo++) {
		const uint8_t *a = idx->allow + lo * KH_IDX_ALLOW_LEN;
		if (kh_le64(a) != h.hi)
			break;
		/* Exact text comparison: a hash collision can never allow a name. */
		if ((a[12] & need) && strcmp(str_at(idx, kh_le32(a + 8)), suffix) == 0)
			return lo;
	}
	return -1;
}

int kh_index_lookup(const struct kh_index *idx, const char *name, size_t len, struct kh_match *m)
{
	struct kh_hash128 hv[KH_LABELS_MAX + 1];
	uint16_t off[KH_LABELS_MAX + 1];
	struct kh_suffix_hasher hs;
	size_t n, end;
	unsigned d = 0, L;

	memset(m, 0, offsetof(struct kh_match, name));
	if (len > KH_NAME_MAX + 1 || kh_name_canon(name, len, m->name, &n, NULL) != KH_NAME_OK)
		return -EINVAL;
	kh_suffix_hasher_init(&hs, idx->seed);
	end = n;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && m->name[start - 1] != '.')
			start--;
		kh_suffix_hasher_push(&hs, m->name + start, end - start);
		d++;
		off[d] = (uint16_t)start;
		if (depth_in(idx->depths_block, d) || depth_in(idx->depths_allow, d))
			hv[d] = kh_suffix_hasher_value(&hs);
		end = start ? start - 1 : 0;
	}
	L = d;
	for (d = L; d >= 1; d--) {
		unsigned need = d == L ? KH_SCOPE_SELF : KH_SCOPE_SUBS;
		int64_t r;
		uint8_t cls;

		if (depth_in(idx->depths_allow, d) &&
		    (r = probe_allow(idx, hv[d], m->name + off[d], need)) >= 0) {
			const uint8_t *a = idx->allow + r * KH_IDX_ALLOW_LEN;
			m->verdict = KH_ALLOWLISTED;
			m->scope = a[12];
			m->source = a[13];
			m->rule = (uint32_t)r;
			goto found;
		}
		if (depth_in(idx->depths_block, d) &&
		    (r = probe_block(idx, hv[d], need, &cls)) >= 0) {
			const uint8_t *c = idx->classes + cls * KH_IDX_CLASS_LEN;
			m->verdict = KH_BLOCKED;
			m->category = c[0];
			m->source = c[1];
			m->scope = c[2];
			m->action = c[3];
			m->rule = (uint32_t)r;
			goto found;
		}
	}
	m->verdict = KH_ALLOWED;
	return 0;
found:
	m->exact = d == L;
	m->suffix_off = off[d];
	return 0;
}

int kh_index_lookup_ip(const struct kh_index *idx, int family, const uint8_t *ip,
		       struct kh_match *m)
{
	int best = -1, best_len = -1;

	memset(m, 0, sizeof(*m));
	for (uint32_t i = 0; i < idx->n_iptrig; i++) {
		const uint8_t *t = idx->iptrig + i * KH_IDX_IPTRIG_LEN;
		unsigned plen = t[1], full = plen / 8, rest = plen % 8;
		if (t[0] != family || (int)plen <= best_len)
			continue;
		if (memcmp(t + 4, ip, full) != 0)
			continue;
		if (rest && ((t[4 + full] ^ ip[full]) & (0xff00u >> rest) & 0xff))
			continue;
		best = (int)i;
		best_len = (int)plen;
	}
	if (best < 0)
		return 0;
	{
		const uint8_t *t = idx->iptrig + (uint32_t)best * KH_IDX_IPTRIG_LEN;
		const uint8_t *c = idx->classes + t[2] * KH_IDX_CLASS_LEN;
		m->verdict = KH_BLOCKED;
		m->category = c[0];
		m->source = c[1];
		m->action = c[3];
		m->scope = (uint8_t)best_len; /* prefix length for IP triggers */
		m->rule = (uint32_t)best;
	}
	return 1;
}

const char *kh_index_category_name(const struct kh_index *idx, unsigned id)
{
	if (id >= idx->n_categories)
		return "?";
	return str_at(idx, kh_le32(idx->categories + 4 * id));
}

const char *kh_index_source_name(const struct kh_index *idx, unsigned id)
{
	if (id >= idx->n_sources)
		return "?";
	return str_at(idx, kh_le32(idx->sources + id * KH_IDX_SOURCE_LEN));
}

int kh_index_source_info(const struct kh_index *idx, unsigned id, unsigned *category,
			 uint32_t *entries, uint32_t *format)
{
	const uint8_t *s;

	if (id >= idx->n_sources)
		return -ENOENT;
	s = idx->sources + id * KH_IDX_SOURCE_LEN;
	*category = kh_le32(s + 4);
	*entries = kh_le32(s + 8);
	*format = kh_le32(s + 12);
	return 0;
}

void kh_index_class(const struct kh_index *idx, unsigned cls, uint8_t *category, uint8_t *source,
		    uint8_t *scope, uint8_t *action)
{
	const uint8_t *c = idx->classes + (cls % (idx->n_classes ? idx->n_classes : 1)) * 4;

	*category = c[0];
	*source = c[1];
	*scope = c[2];
	*action = c[3];
}
