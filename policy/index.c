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
#include "policy/select_table.h"

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Builtin only with a hardware instruction: without one GCC calls a slow libgcc routine. */
static inline unsigned popcount64(uint64_t x)
{
#if defined(__POPCNT__) || defined(__ARM_NEON) || defined(__aarch64__)
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

/* 64 bits of a little-endian bitstream starting at bit pos (needs 9 bytes readable). */
static inline uint64_t bits64(const uint8_t *p, uint64_t pos)
{
	const uint8_t *b = p + (pos >> 3);
	unsigned s = (unsigned)(pos & 7);

	/* (x << 1) << (63 - s) is x << (64 - s) without the undefined shift by 64 when s == 0. */
	return (kh_le64(b) >> s) | (((uint64_t)b[8] << 1) << (63 - s));
}

/*
 * Position of the k-th (0-based) set bit of x, which has more than k set
 * bits. Broadword select (Vigna, "Broadword implementation of rank/select
 * queries"): byte-wise prefix popcounts find the byte without branches, a
 * table finishes inside it. Branch-free, because a lookup runs it once per
 * probe and mispredicted loop exits used to dominate the lookup time.
 */
static inline unsigned select64(uint64_t x, unsigned k)
{
	const uint64_t L8 = 0x0101010101010101ull, H8 = 0x8080808080808080ull;
	uint64_t s = x - ((x >> 1) & 0x5555555555555555ull), t;
	unsigned byte, before;

	s = (s & 0x3333333333333333ull) + ((s >> 2) & 0x3333333333333333ull);
	s = ((s + (s >> 4)) & 0x0f0f0f0f0f0f0f0full) * L8; /* byte i: bits in bytes 0..i */
	t = ((((uint64_t)k * L8) | H8) - s) & H8;	   /* bytes whose prefix is <= k */
	byte = (unsigned)(((t >> 7) * L8) >> 56);
	before = (unsigned)(((s << 8) >> (8 * byte)) & 0xff);
	return 8 * byte + kh_select_in_byte[(x >> (8 * byte)) & 0xff][k - before];
}

static inline int depth_in(const uint64_t mask[2], unsigned d)
{
	return (int)((mask[(d - 1) >> 6] >> ((d - 1) & 63)) & 1);
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
			uint64_t at = pos + select64(z, (unsigned)need - 1) + 1;
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
			/* Two spare entries: lookups read a bucket's first two unconditionally. */
			w_bits = ((uint64_t)idx->n_entries + 2) * (idx->rem_bits + idx->meta_bits);
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
	/* The range of suffix depths worth probing: outside it no entry can match. */
	idx->depth_min = 1;
	idx->depth_max = 0;
	for (unsigned d = KH_LABELS_MAX; d >= 1; d--)
		if (depth_in(idx->depths_block, d) || depth_in(idx->depths_allow, d)) {
			if (!idx->depth_max)
				idx->depth_max = (uint8_t)d;
			idx->depth_min = (uint8_t)d;
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

/*
 * A block probe in three steps, so that a lookup can start every probe's
 * memory accesses before it waits for any (the 2-6 probes of a name then
 * overlap their cache misses instead of paying them one after another).
 */
struct probe {
	uint64_t j, rem, pos;
};

static inline void probe_start(const struct kh_index *idx, struct kh_hash128 h, struct probe *p)
{
	unsigned bb = idx->bucket_bits;
	uint64_t x = bb ? (h.hi << bb) | (h.lo >> (64 - bb)) : h.hi;

	p->j = bb ? h.hi >> (64 - bb) : 0;
	p->rem = x >> (64 - idx->rem_bits);
	p->pos = kh_le32(idx->samples + 4 * (p->j / KH_IDX_SAMPLE_EVERY));
	PREFETCH(idx->unary + (p->pos >> 3));
}

/* Skip to the bucket's run of ones; prefetch its first entry. */
static inline void probe_locate(const struct kh_index *idx, struct probe *p)
{
	unsigned z = (unsigned)(p->j % KH_IDX_SAMPLE_EVERY);
	uint64_t pos = p->pos;

	while (z) {
		uint64_t zw = ~bits64(idx->unary, pos);
		unsigned c = popcount64(zw);
		if (c < z) {
			z -= c;
			pos += 64;
		} else {
			pos += select64(zw, z - 1) + 1;
			z = 0;
		}
	}
	p->pos = pos;
	PREFETCH(idx->entries + (((pos - p->j) * (idx->rem_bits + idx->meta_bits)) >> 3));
}

static inline uint64_t entry_at(const struct kh_index *idx, uint64_t i, unsigned w)
{
	uint64_t e = bits64(idx->entries, i * w);
	return w < 64 ? e & ((1ull << w) - 1) : e;
}

static inline int entry_ok(const struct kh_index *idx, uint64_t e, uint64_t rem, unsigned need)
{
	unsigned mb = idx->meta_bits, cls = (unsigned)(e & ((1u << mb) - 1));
	unsigned scope = cls < idx->n_classes ? idx->classes[cls * KH_IDX_CLASS_LEN + 2] : 0;

	return ((e >> mb) == rem) & ((scope & need) != 0);
}

/* Block entry matching the probe with a scope in need; -1 if none. */
static int64_t probe_finish(const struct kh_index *idx, const struct probe *p, unsigned need,
			    uint8_t *cls_out)
{
	unsigned mb = idx->meta_bits, w = idx->rem_bits + mb;
	uint64_t pos = p->pos, start = pos - p->j, ones = ~bits64(idx->unary, pos), e0, e1;
	uint64_t run = ones ? ctz64(ones) : 64;
	int m0, m1, full = ones == 0;

	/*
	 * Almost every bucket holds 0-2 entries: test the first two without
	 * branching on the run length (the file keeps two entries of padding,
	 * so reading them is always in bounds), and loop only for longer runs.
	 */
	e0 = entry_at(idx, start, w);
	e1 = entry_at(idx, start + 1, w);
	m0 = (run > 0) & entry_ok(idx, e0, p->rem, need);
	m1 = (run > 1) & entry_ok(idx, e1, p->rem, need);
	if (m0 | m1) {
		uint64_t e = m0 ? e0 : e1;
		*cls_out = (uint8_t)(e & ((1u << mb) - 1));
		return (int64_t)(start + (m0 ? 0 : 1));
	}
	for (uint64_t k = 2;; k++) {
		if (k >= run) {
			if (!full)
				return -1;
			/* The run filled its word: it goes on in the next one. */
			pos += 64;
			ones = ~bits64(idx->unary, pos);
			full = ones == 0;
			run += ones ? ctz64(ones) : 64;
			if (k >= run)
				return -1;
		}
		uint64_t e = entry_at(idx, start + k, w);
		if ((e >> mb) > p->rem)
			return -1;
		if (entry_ok(idx, e, p->rem, need)) {
			*cls_out = (uint8_t)(e & ((1u << mb) - 1));
			return (int64_t)(start + k);
		}
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
	return kh_index_lookup_ex(idx, name, len, 0, m);
}

int kh_index_lookup_ex(const struct kh_index *idx, const char *name, size_t len, unsigned flags,
		       struct kh_match *m)
{
	struct kh_hash128 hv[KH_LABELS_MAX + 1];
	struct probe pr[KH_LABELS_MAX + 1];
	uint8_t starts[KH_NAME_MAX + 2];
	uint16_t off[KH_LABELS_MAX + 1];
	struct kh_suffix_hasher hs;
	size_t n, end;
	unsigned d = 0, L, k, prev = 0;

	memset(m, 0, offsetof(struct kh_match, name));
	if (len > KH_NAME_MAX + 1 ||
	    kh_name_canon_split(name, len, m->name, &n, starts, &k, NULL) != KH_NAME_OK)
		return -EINVAL;
	kh_suffix_hasher_init(&hs, idx->seed);
	end = n;
	while (k > 0) {
		size_t start = starts[--k];
		kh_suffix_hasher_push_padded(&hs, m->name + start, end - start);
		d++;
		off[d] = (uint16_t)start;
		if (depth_in(idx->depths_block, d) || depth_in(idx->depths_allow, d))
			hv[d] = kh_suffix_hasher_value(&hs);
		if (depth_in(idx->depths_block, d)) {
			/* Pipelined: locate the previous probe while this one's line arrives. */
			probe_start(idx, hv[d], &pr[d]);
			if (prev)
				probe_locate(idx, &pr[prev]);
			prev = d;
		}
		end = start ? start - 1 : 0;
	}
	if (prev)
		probe_locate(idx, &pr[prev]);
	L = d;
	/* Most specific suffix first; at one suffix an allow entry beats a block entry. */
	for (d = KH_MIN(L, idx->depth_max); d >= idx->depth_min; d--) {
		unsigned need =
			d == L && !(flags & KH_LOOKUP_SUBDOMAIN) ? KH_SCOPE_SELF : KH_SCOPE_SUBS;
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
		    (r = probe_finish(idx, &pr[d], need, &cls)) >= 0) {
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
	m->exact = d == L && !(flags & KH_LOOKUP_SUBDOMAIN);
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
