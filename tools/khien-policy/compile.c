/* SPDX-License-Identifier: MIT */
/*
 * Blocklist compiler (see compile.h): collects the parsed lists, merges
 * them and writes the index (AdBlock modifiers: compile_modifiers.c). Entries are hashed as lists are
 * parsed (24 bytes each), sorted once, merged, and laid out as an
 * Elias-Fano style bucket directory plus bit-packed remainders. The
 * remainder width is chosen so that a name on no list is reported blocked
 * with probability at most 2^-50 per lookup (docs/INDEX-FORMAT.md).
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "platform/rand.h"
#include "tools/khien-policy/compile_priv.h"
#include "policy/hash.h"
#include "policy/index_format.h"
#include "policy/name.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 1024;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int kh_compiler_new(struct kh_compiler **out, const uint64_t *seed)
{
	struct kh_compiler *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->force_bucket_bits = -1;
	if (seed) {
		c->seed[0] = seed[0];
		c->seed[1] = seed[1];
	} else if (kh_rand_bytes(c->seed, sizeof(c->seed)) < 0) {
		free(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

void kh_compiler_free(struct kh_compiler *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->ncats; i++)
		free(c->cats[i]);
	for (unsigned i = 0; i < c->nsrc; i++)
		free(c->src[i].label);
	free(c->recs);
	free(c->allows);
	free(c->pool);
	free(c->ips);
	free(c->bads);
	free(c);
}

int kh_compiler_add_source(struct kh_compiler *c, const char *category, const char *label,
			   enum kh_list_format fmt)
{
	uint32_t cat = KH_ALLOW_SOURCE_CATEGORY;
	struct source *s;

	if (c->nsrc >= 255)
		return -E2BIG;
	if (category) {
		for (cat = 0; cat < c->ncats; cat++)
			if (strcmp(c->cats[cat], category) == 0)
				break;
		if (cat == c->ncats) {
			if (c->ncats >= CONFIG_INDEX_MAX_CATEGORIES)
				return -E2BIG;
			c->cats[c->ncats] = strdup(category);
			if (!c->cats[c->ncats])
				return -ENOMEM;
			c->ncats++;
		}
	}
	s = &c->src[c->nsrc];
	s->label = strdup(label);
	if (!s->label)
		return -ENOMEM;
	s->category = cat;
	s->fmt = fmt;
	s->entries = 0;
	return (int)c->nsrc++;
}

enum kh_list_format kh_compiler_source_format(const struct kh_compiler *c, int src)
{
	return src >= 0 && (unsigned)src < c->nsrc ? c->src[src].fmt : KH_FMT_AUTO;
}

static int add_allow(struct kh_compiler *c, const struct kh_list_entry *e)
{
	struct kh_hash128 h = kh_name_hash(c->seed, e->name, e->len);
	struct allow_rec *a;
	int err;

	if ((err = grow((void **)&c->allows, &c->capallows, c->nallows + 1, sizeof(*a))) ||
	    (err = grow((void **)&c->pool, &c->cappool, c->npool + e->len + 1, 1)))
		return err;
	a = &c->allows[c->nallows++];
	a->hi = h.hi;
	a->name = (uint32_t)c->npool;
	a->order = c->order++;
	a->scope = e->scope;
	a->source = (uint8_t)c->cur_src;
	a->important = e->important;
	memcpy(c->pool + c->npool, e->name, e->len + 1);
	c->npool += e->len + 1;
	c->src[c->cur_src].entries++;
	return 0;
}

static int add_badfilter(struct kh_compiler *c, const struct kh_list_entry *e)
{
	struct kh_hash128 h = kh_name_hash(c->seed, e->name, e->len);
	struct badfilter_rec *b;
	int err;

	if ((err = grow((void **)&c->bads, &c->capbads, c->nbads + 1, sizeof(*b))))
		return err;
	b = &c->bads[c->nbads++];
	memset(b, 0, sizeof(*b));
	b->hi = h.hi;
	b->lo = h.lo;
	b->scope = e->scope;
	b->allow = e->allow;
	b->important = e->important;
	return 0;
}

static int on_entry(void *arg, const struct kh_list_entry *e, unsigned line)
{
	struct kh_compiler *c = arg;
	struct kh_hash128 h;
	struct rec *r;
	int err;

	(void)line;
	if (e->badfilter)
		return add_badfilter(c, e);
	/* Everything in an allow list, and every exception rule, is an allow entry. */
	if (e->allow || c->src[c->cur_src].category == KH_ALLOW_SOURCE_CATEGORY)
		return add_allow(c, e);
	if (c->nrecs >= KH_COMPILE_MAX_ENTRIES)
		return -E2BIG;
	if ((err = grow((void **)&c->recs, &c->caprecs, c->nrecs + 1, sizeof(*r))))
		return err;
	h = kh_name_hash(c->seed, e->name, e->len);
	r = &c->recs[c->nrecs++];
	r->hi = h.hi;
	r->lo = h.lo;
	r->order = c->order++;
	r->scope = (uint8_t)(e->scope | (e->important ? REC_IMPORTANT : 0));
	r->action = e->action;
	r->source = (uint8_t)c->cur_src;
	r->depth = (uint8_t)kh_name_labels(e->name, e->len);
	c->src[c->cur_src].entries++;
	return 0;
}

static int on_ip(void *arg, const struct kh_list_ip *t, unsigned line)
{
	struct kh_compiler *c = arg;
	struct ip_rec *r;
	int err;

	if (t->allow || c->src[c->cur_src].category == KH_ALLOW_SOURCE_CATEGORY) {
		/* The index holds no IP exceptions: say so rather than drop the line. */
		c->cur_st->ips--;
		c->cur_st->unsupported++;
		char text[64];
		if (t->family == 4)
			snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", t->ip[0], t->ip[1], t->ip[2],
				 t->ip[3], t->prefix);
		else
			snprintf(text, sizeof(text), "%x:%x:%x:%x:%x:%x:%x:%x/%u", kh_be16(t->ip),
				 kh_be16(t->ip + 2), kh_be16(t->ip + 4), kh_be16(t->ip + 6),
				 kh_be16(t->ip + 8), kh_be16(t->ip + 10), kh_be16(t->ip + 12),
				 kh_be16(t->ip + 14), t->prefix);
		if (c->report)
			c->report(c->report_arg, c->cur_label, line, 1,
				  "IP exception not applied (only block lists hold IP triggers)",
				  text);
		return 0;
	}
	if ((err = grow((void **)&c->ips, &c->capips, c->nips + 1, sizeof(*r))))
		return err;
	r = &c->ips[c->nips++];
	memset(r, 0, sizeof(*r));
	r->family = t->family;
	r->prefix = t->prefix;
	r->action = t->action;
	r->source = (uint8_t)c->cur_src;
	memcpy(r->ip, t->ip, 16);
	return 0;
}

static void on_problem(void *arg, unsigned line, int unsupported, const char *reason,
		       const char *text)
{
	struct kh_compiler *c = arg;

	if (c->report)
		c->report(c->report_arg, c->cur_label, line, unsupported, reason, text);
}

int kh_compiler_parse(struct kh_compiler *c, int src, const char *buf, size_t len,
		      enum kh_list_format fmt, kh_compile_report_fn report, void *arg,
		      struct kh_list_stats *st)
{
	struct kh_list_sink sink = {c, on_entry, on_ip, on_problem};

	if (src < 0 || (unsigned)src >= c->nsrc)
		return -EINVAL;
	if (fmt == KH_FMT_AUTO)
		fmt = kh_list_detect(buf, len);
	c->src[src].fmt = fmt;
	c->cur_src = src;
	c->cur_label = c->src[src].label;
	c->report = report;
	c->report_arg = arg;
	c->cur_st = st;
	memset(st, 0, sizeof(*st));
	return kh_list_parse(buf, len, fmt, &sink, st);
}

void kh_compiler_force_bucket_bits(struct kh_compiler *c, int bits)
{
	c->force_bucket_bits = bits >= 0 && bits <= 31 ? bits : -1;
}

const uint32_t *kh_compiler_category_counts(const struct kh_compiler *c, unsigned *n)
{
	*n = c->ncats;
	return c->cat_counts;
}

/* ---- build ---- */

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* LSD radix sort on (hi, lo) for the large arrays: stable, so input order is kept. */
static int rec_sort(struct rec *r, size_t n)
{
	struct rec *tmp;
	size_t count[256];

	if (n < 2)
		return 0;
	if (n < 4096) {
		qsort(r, n, sizeof(*r), rec_cmp);
		return 0;
	}
	tmp = malloc(n * sizeof(*r));
	if (!tmp)
		return -ENOMEM;
	for (int pass = 0; pass < 16; pass++) {
		uint64_t key_of;
		int shift = (pass & 7) * 8;
		int use_hi = pass >= 8;
		struct rec *src = (pass & 1) ? tmp : r, *dst = (pass & 1) ? r : tmp;
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++) {
			key_of = use_hi ? src[i].hi : src[i].lo;
			count[(key_of >> shift) & 0xff]++;
		}
		for (int k = 0; k < 256; k++) {
			size_t t = count[k];
			count[k] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++) {
			key_of = use_hi ? src[i].hi : src[i].lo;
			dst[count[(key_of >> shift) & 0xff]++] = src[i];
		}
	}
	free(tmp); /* 16 passes: the result is back in r */
	return 0;
}

static int allow_cmp(const void *a, const void *b, void *pool)
{
	const struct allow_rec *x = a, *y = b;
	int d;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	d = strcmp((char *)pool + x->name, (char *)pool + y->name);
	if (d)
		return d;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* qsort_r is not portable: a small merge-free insertion + shell sort is enough for allow lists. */
static void allow_sort(struct allow_rec *a, size_t n, char *pool)
{
	static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};

	for (size_t g = 0; g < KH_ARRAY_SIZE(gaps); g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < n; i++) {
			struct allow_rec t = a[i];
			size_t j = i;
			while (j >= gap && allow_cmp(&a[j - gap], &t, pool) > 0) {
				a[j] = a[j - gap];
				j -= gap;
			}
			a[j] = t;
		}
	}
}

struct entry_out {
	uint64_t hi, lo;
	uint8_t cls;
};

struct bitw {
	uint8_t *buf;
	uint64_t pos;
};

static void bit_put(struct bitw *w, uint64_t v, unsigned nbits)
{
	for (unsigned i = 0; i < nbits; i++, w->pos++)
		if ((v >> i) & 1)
			w->buf[w->pos >> 3] |= (uint8_t)(1u << (w->pos & 7));
}

/* String table builder: NUL-terminated strings appended, offset returned. */
struct strtab {
	char *buf;
	size_t len, cap;
};

static int64_t str_add(struct strtab *t, const char *s)
{
	size_t n = strlen(s) + 1;
	int err = grow((void **)&t->buf, &t->cap, t->len + n, 1);

	if (err)
		return err;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	return (int64_t)(t->len - n);
}

static int class_id(uint8_t (*classes)[4], unsigned *ncls, uint8_t cat, uint8_t src, uint8_t scope,
		    uint8_t action)
{
	for (unsigned i = 0; i < *ncls; i++)
		if (classes[i][0] == cat && classes[i][1] == src && classes[i][2] == scope &&
		    classes[i][3] == action)
			return (int)i;
	if (*ncls >= 128)
		return -E2BIG;
	classes[*ncls][0] = cat;
	classes[*ncls][1] = src;
	classes[*ncls][2] = scope;
	classes[*ncls][3] = action;
	return (int)(*ncls)++;
}

static uint64_t align8(uint64_t x)
{
	return (x + 7) & ~7ull;
}

int kh_compiler_build(struct kh_compiler *c, int64_t created, uint8_t **out, size_t *out_len,
		      struct kh_compile_result *res)
{
	struct entry_out *ents = NULL;
	uint8_t classes[128][4];
	unsigned ncls = 0;
	size_t nent = 0, ndom = 0, nallow = 0;
	uint64_t depth_block[2] = {0, 0}, depth_allow[2] = {0, 0};
	struct strtab st = {0};
	uint8_t *file = NULL;
	int err = 0;

	memset(res, 0, sizeof(*res));
	memset(c->cat_counts, 0, sizeof(c->cat_counts));
	if ((err = kh_compile_apply_modifiers(c, res)))
		return err;
	if (c->nrecs == 0 && c->nallows == 0 && c->nips == 0)
		return -ENODATA;

	/* 1. Merge duplicates: per name, the first list (in command-line order) wins each scope. */
	if ((err = rec_sort(c->recs, c->nrecs)))
		return err;
	ents = malloc((2 * c->nrecs + 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (size_t i = 0; i < c->nrecs;) {
		size_t j = i;
		const struct rec *self = NULL, *subs = NULL;
		while (j < c->nrecs && c->recs[j].hi == c->recs[i].hi &&
		       c->recs[j].lo == c->recs[i].lo) {
			if (!self && (c->recs[j].scope & KH_SCOPE_SELF))
				self = &c->recs[j];
			if (!subs && (c->recs[j].scope & KH_SCOPE_SUBS))
				subs = &c->recs[j];
			j++;
		}
		const struct rec *r0 = self ? self : subs;
		uint8_t cat = (uint8_t)c->src[r0->source].category;
		c->cat_counts[cat]++;
		depth_block[(r0->depth - 1) >> 6] |= 1ull << ((r0->depth - 1) & 63);
		ndom++;
		if (self && subs && self->source == subs->source && self->action == subs->action) {
			err = class_id(classes, &ncls, cat, self->source,
				       KH_SCOPE_SELF | KH_SCOPE_SUBS, self->action);
			if (err < 0)
				goto out;
			ents[nent++] = (struct entry_out){r0->hi, r0->lo, (uint8_t)err};
		} else {
			const struct rec *both[2] = {self, subs};
			for (int k = 0; k < 2; k++) {
				const struct rec *r = both[k];
				if (!r)
					continue;
				err = class_id(classes, &ncls, (uint8_t)c->src[r->source].category,
					       r->source, k == 0 ? KH_SCOPE_SELF : KH_SCOPE_SUBS,
					       r->action);
				if (err < 0)
					goto out;
				ents[nent++] = (struct entry_out){r->hi, r->lo, (uint8_t)err};
			}
		}
		i = j;
	}
	err = 0;
	res->duplicates = (uint32_t)(c->nrecs - ndom);
	for (size_t i = 0; i < c->nips; i++) {
		err = class_id(classes, &ncls, (uint8_t)c->src[c->ips[i].source].category,
			       c->ips[i].source, KH_SCOPE_SELF, c->ips[i].action);
		if (err < 0)
			goto out;
		c->ips[i].allow = (uint8_t)err; /* reuse the field for the class id */
	}
	err = 0;

	/* 2. Allow entries: sorted by hash, exact duplicates merged. */
	allow_sort(c->allows, c->nallows, c->pool);
	for (size_t i = 0; i < c->nallows; i++) {
		if (nallow > 0 && c->allows[nallow - 1].hi == c->allows[i].hi &&
		    strcmp(c->pool + c->allows[nallow - 1].name, c->pool + c->allows[i].name) ==
			    0) {
			c->allows[nallow - 1].scope |= c->allows[i].scope;
			continue;
		}
		c->allows[nallow++] = c->allows[i];
		{
			const char *nm = c->pool + c->allows[i].name;
			unsigned d = kh_name_labels(nm, strlen(nm));
			depth_allow[(d - 1) >> 6] |= 1ull << ((d - 1) & 63);
		}
	}

	/* 3. Parameters: bucket bits and remainder width for the 2^-50 bound. */
	{
		unsigned probes = (unsigned)(__builtin_popcountll(depth_block[0]) +
					     __builtin_popcountll(depth_block[1]));
		unsigned mb = 0, best_b = 0, best_r = 64;
		uint64_t best_bits = UINT64_MAX;
		while ((1u << mb) < ncls)
			mb++;
		if (probes == 0)
			probes = 1;
		for (unsigned b = 0; b <= 31; b++) {
			double load = (double)nent / (double)(1ull << b);
			double need = 50.0 + log2((double)probes * (load > 0 ? load : 1e-9));
			unsigned r = need < 1 ? 1 : (unsigned)ceil(need);
			uint64_t bits;
			if ((1ull << b) > 2 * (uint64_t)nent + 2 && c->force_bucket_bits < 0)
				break;
			if (c->force_bucket_bits >= 0 && (int)b != c->force_bucket_bits)
				continue;
			if (r + mb > 64)
				r = 64 - mb;
			bits = (uint64_t)nent * (r + mb) + nent + (1ull << b) +
			       32 * ((1ull << b) / 128 + 1);
			if (bits < best_bits) {
				best_bits = bits;
				best_b = b;
				best_r = r;
			}
		}
		res->bucket_bits = (uint8_t)best_b;
		res->rem_bits = (uint8_t)best_r;
		res->meta_bits = (uint8_t)mb;
		res->fp_log2 = log2((double)probes * (double)nent / (double)(1ull << best_b)) -
			       (double)best_r;
		if (nent == 0)
			res->fp_log2 = -INFINITY;
	}

	/* 4. Strings, tables, directory and entries into one file image. */
	{
		unsigned bb = res->bucket_bits, rb = res->rem_bits, mb = res->meta_bits,
			 w = rb + mb;
		uint64_t B = 1ull << bb, nsamples = B / KH_IDX_SAMPLE_EVERY + 1;
		uint64_t unary_bits = nent + B;
		uint64_t sz[KH_SECT_MAX + 1], off[KH_SECT_MAX + 1], total;
		uint32_t cnt[KH_SECT_MAX + 1];
		uint32_t cat_off[256], src_off[256], *allow_off = NULL;
		int64_t o;

		for (unsigned i = 0; i < c->ncats; i++) {
			if ((o = str_add(&st, c->cats[i])) < 0) {
				err = (int)o;
				goto out;
			}
			cat_off[i] = (uint32_t)o;
		}
		for (unsigned i = 0; i < c->nsrc; i++) {
			if ((o = str_add(&st, c->src[i].label)) < 0) {
				err = (int)o;
				goto out;
			}
			src_off[i] = (uint32_t)o;
		}
		allow_off = malloc((nallow + 1) * sizeof(*allow_off));
		if (!allow_off) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nallow; i++) {
			if ((o = str_add(&st, c->pool + c->allows[i].name)) < 0) {
				err = (int)o;
				free(allow_off);
				goto out;
			}
			allow_off[i] = (uint32_t)o;
		}
		if (st.len == 0 && (o = str_add(&st, "")) < 0) {
			err = (int)o;
			free(allow_off);
			goto out;
		}
		if (st.len > UINT32_MAX) {
			err = -E2BIG;
			free(allow_off);
			goto out;
		}

		memset(sz, 0, sizeof(sz));
		memset(cnt, 0, sizeof(cnt));
		sz[KH_SECT_STRINGS] = st.len;
		cnt[KH_SECT_STRINGS] = (uint32_t)st.len;
		sz[KH_SECT_CATEGORIES] = 4ull * c->ncats;
		cnt[KH_SECT_CATEGORIES] = c->ncats;
		sz[KH_SECT_SOURCES] = (uint64_t)KH_IDX_SOURCE_LEN * c->nsrc;
		cnt[KH_SECT_SOURCES] = c->nsrc;
		sz[KH_SECT_CLASSES] = (uint64_t)KH_IDX_CLASS_LEN * ncls;
		cnt[KH_SECT_CLASSES] = ncls;
		sz[KH_SECT_SAMPLES] = 4 * nsamples;
		cnt[KH_SECT_SAMPLES] = (uint32_t)nsamples;
		sz[KH_SECT_UNARY] = align8((unary_bits + 7) / 8 + 8);
		cnt[KH_SECT_UNARY] = (uint32_t)unary_bits;
		sz[KH_SECT_ENTRIES] = align8((((uint64_t)nent + 2) * w + 7) / 8 + 8);
		cnt[KH_SECT_ENTRIES] = (uint32_t)nent;
		sz[KH_SECT_ALLOW] = (uint64_t)KH_IDX_ALLOW_LEN * nallow;
		cnt[KH_SECT_ALLOW] = (uint32_t)nallow;
		sz[KH_SECT_IPTRIG] = (uint64_t)KH_IDX_IPTRIG_LEN * c->nips;
		cnt[KH_SECT_IPTRIG] = (uint32_t)c->nips;

		total = align8(KH_IDX_HEADER_LEN + KH_IDX_SECTION_LEN * KH_SECT_MAX);
		for (unsigned s = 1; s <= KH_SECT_MAX; s++) {
			off[s] = total;
			total = align8(total + sz[s]);
		}
		if (total > UINT32_MAX) {
			err = -E2BIG;
			free(allow_off);
			goto out;
		}
		file = calloc(1, total);
		if (!file) {
			err = -ENOMEM;
			free(allow_off);
			goto out;
		}
		memcpy(file, KH_IDX_MAGIC, 8);
		kh_put_le16(file + KH_IDX_OFF_VERSION, KH_IDX_VERSION);
		kh_put_le16(file + KH_IDX_OFF_HDRLEN, KH_IDX_HEADER_LEN);
		kh_put_le32(file + KH_IDX_OFF_NSECT, KH_SECT_MAX);
		kh_put_le64(file + KH_IDX_OFF_FILELEN, total);
		kh_put_le64(file + KH_IDX_OFF_SEED, c->seed[0]);
		kh_put_le64(file + KH_IDX_OFF_SEED + 8, c->seed[1]);
		kh_put_le32(file + KH_IDX_OFF_NENTRIES, (uint32_t)nent);
		kh_put_le32(file + KH_IDX_OFF_NDOMAINS, (uint32_t)ndom);
		file[KH_IDX_OFF_BUCKET_BITS] = (uint8_t)bb;
		file[KH_IDX_OFF_REM_BITS] = (uint8_t)rb;
		file[KH_IDX_OFF_META_BITS] = (uint8_t)mb;
		for (int i = 0; i < 2; i++) {
			kh_put_le64(file + KH_IDX_OFF_DEPTHS_BLOCK + 8 * i, depth_block[i]);
			kh_put_le64(file + KH_IDX_OFF_DEPTHS_ALLOW + 8 * i, depth_allow[i]);
		}
		kh_put_le64(file + KH_IDX_OFF_CREATED, (uint64_t)created);
		for (unsigned s = 1; s <= KH_SECT_MAX; s++) {
			uint8_t *e = file + KH_IDX_HEADER_LEN + (s - 1) * KH_IDX_SECTION_LEN;
			kh_put_le32(e, s);
			kh_put_le32(e + 4, (uint32_t)off[s]);
			kh_put_le32(e + 8, (uint32_t)sz[s]);
			kh_put_le32(e + 12, cnt[s]);
		}
		memcpy(file + off[KH_SECT_STRINGS], st.buf, st.len);
		for (unsigned i = 0; i < c->ncats; i++)
			kh_put_le32(file + off[KH_SECT_CATEGORIES] + 4 * i, cat_off[i]);
		for (unsigned i = 0; i < c->nsrc; i++) {
			uint8_t *e = file + off[KH_SECT_SOURCES] + KH_IDX_SOURCE_LEN * i;
			kh_put_le32(e, src_off[i]);
			kh_put_le32(e + 4, c->src[i].category);
			kh_put_le32(e + 8, c->src[i].entries);
			kh_put_le32(e + 12, (uint32_t)c->src[i].fmt);
		}
		memcpy(file + off[KH_SECT_CLASSES], classes, (size_t)ncls * KH_IDX_CLASS_LEN);
		{
			struct bitw uw = {file + off[KH_SECT_UNARY], 0};
			struct bitw ew = {file + off[KH_SECT_ENTRIES], 0};
			uint8_t *samples = file + off[KH_SECT_SAMPLES];
			size_t k = 0;
			for (uint64_t j = 0; j < B; j++) {
				if (j % KH_IDX_SAMPLE_EVERY == 0)
					kh_put_le32(samples + 4 * (j / KH_IDX_SAMPLE_EVERY),
						    (uint32_t)uw.pos);
				while (k < nent && (bb ? ents[k].hi >> (64 - bb) : 0) == j) {
					uint64_t x =
						bb ? (ents[k].hi << bb) | (ents[k].lo >> (64 - bb))
						   : ents[k].hi;
					uint64_t v = ((x >> (64 - rb)) << mb) | ents[k].cls;
					bit_put(&ew, v, w);
					uw.pos++; /* a one: bytes were zeroed, so set it */
					uw.buf[(uw.pos - 1) >> 3] |=
						(uint8_t)(1u << ((uw.pos - 1) & 7));
					k++;
				}
				uw.pos++; /* the bucket's terminating zero */
			}
			if (B % KH_IDX_SAMPLE_EVERY == 0)
				kh_put_le32(samples + 4 * (B / KH_IDX_SAMPLE_EVERY),
					    (uint32_t)uw.pos);
		}
		for (size_t i = 0; i < nallow; i++) {
			uint8_t *e = file + off[KH_SECT_ALLOW] + KH_IDX_ALLOW_LEN * i;
			kh_put_le64(e, c->allows[i].hi);
			kh_put_le32(e + 8, allow_off[i]);
			e[12] = c->allows[i].scope;
			e[13] = c->allows[i].source;
		}
		free(allow_off);
		for (size_t i = 0; i < c->nips; i++) {
			uint8_t *e = file + off[KH_SECT_IPTRIG] + KH_IDX_IPTRIG_LEN * i;
			e[0] = c->ips[i].family;
			e[1] = c->ips[i].prefix;
			e[2] = c->ips[i].allow; /* class id, see above */
			memcpy(e + 4, c->ips[i].ip, 16);
		}
		/* Build id: content hash (so equal inputs and seed give equal ids). */
		{
			uint8_t digest[KH_SHA256_LEN];
			kh_sha256(file, total, digest);
			memcpy(file + KH_IDX_OFF_BUILDID, digest, 16);
			kh_put_le64(file + KH_IDX_OFF_CSUM,
				    kh_csum64(file + KH_IDX_HEADER_LEN, total - KH_IDX_HEADER_LEN,
					      kh_csum64(file, KH_IDX_HEADER_LEN, 0)));
		}
		res->entries = (uint32_t)nent;
		res->domains = (uint32_t)ndom;
		res->allows = (uint32_t)nallow;
		res->ip_triggers = (uint32_t)c->nips;
		res->classes = ncls;
		res->bytes = total;
		memcpy(res->build_id, file + KH_IDX_OFF_BUILDID, 16);
		*out = file;
		*out_len = total;
		file = NULL;
	}
out:
	free(file);
	free(st.buf);
	free(ents);
	return err;
}
