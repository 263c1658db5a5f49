/* SPDX-License-Identifier: MIT */
/*
 * Log-structured key-value store on NOR flash (format and power-loss rules
 * in kvlog.h): record writing through a write-unit buffer, replay at
 * mount, the RAM index of extents, and two-bank compaction.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/crc32.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "platform/lwip/kvlog.h"

#define KV_VERSION 1
#define KV_HDR 32      /* bank header bytes before padding */
#define KV_REC_HDR 8   /* kind, key length, zero, data length */
#define KV_REC_OVER 12 /* header + CRC trailer */
#define KV_SET 1
#define KV_APPEND 2
#define KV_DELETE 3
#define KV_COPY_CHUNK 4096 /* compaction copy buffer, heap, optional */

struct kv_ext {
	uint32_t off; /* from the start of the partition */
	uint32_t len;
};

struct kv_key {
	struct kv_ext *ext;
	uint32_t size, n_ext, cap_ext;
	uint8_t klen;
	char key[]; /* klen bytes and a NUL */
};

struct kh_kvlog {
	struct kh_flash *f;
	struct kh_kvlog_limits lim;
	struct kv_key **keys;
	unsigned nkeys, next; /* keys, extents in use */
	uint32_t bsize, hsize, wsize;
	unsigned bank;
	uint32_t gen, pos; /* pos: where the next record goes in the active bank */
	uint64_t live;	   /* sum of R(k, size) over the keys */
	unsigned pins[2];
	int broken; /* the active bank's tail may be programmed: compact first */
	unsigned compactions;
	int formatted, repaired;
	/* record writer: bytes not yet programmed, at w_off */
	uint32_t w_off, w_n, w_crc;
	uint8_t wbuf[KH_KVLOG_WRITE_MAX];
	uint8_t rbuf[KH_KVLOG_WRITE_MAX];
};

static uint32_t align_up(const struct kh_kvlog *kv, uint64_t n)
{
	return (uint32_t)((n + kv->wsize - 1) & ~(uint64_t)(kv->wsize - 1));
}

/* R(k, n): the flash a record takes; n <= bank size, so no overflow. */
static uint32_t rec_size(const struct kh_kvlog *kv, unsigned klen, uint32_t n)
{
	return align_up(kv, (uint64_t)KV_REC_OVER + klen + n);
}

static uint32_t bank_base(const struct kh_kvlog *kv, unsigned bank)
{
	return bank * kv->bsize;
}

/* --- record writer --- */

static int wr_flush(struct kh_kvlog *kv, uint32_t n)
{
	int err = kv->f->write(kv->f, kv->w_off, kv->wbuf, n);

	kv->w_off += n;
	kv->w_n = 0;
	return err;
}

static int wr_push(struct kh_kvlog *kv, const void *data, size_t n, int crc)
{
	const uint8_t *p = data;
	int err;

	if (crc)
		kv->w_crc = kh_crc32(kv->w_crc, p, n);
	while (n > 0) {
		size_t c;
		if (kv->w_n == 0 && n >= kv->wsize) {
			/* Whole write units straight from the caller's memory. */
			c = n & ~(size_t)(kv->wsize - 1);
			if ((err = kv->f->write(kv->f, kv->w_off, p, c)) < 0)
				return err;
			kv->w_off += (uint32_t)c;
		} else {
			c = sizeof(kv->wbuf) - kv->w_n;
			if (c > n)
				c = n;
			memcpy(kv->wbuf + kv->w_n, p, c);
			kv->w_n += (uint32_t)c;
			if (kv->w_n == sizeof(kv->wbuf) && (err = wr_flush(kv, kv->w_n)) < 0)
				return err;
		}
		p += c;
		n -= c;
	}
	return 0;
}

/* Pad the last write unit with erased bytes and program it. */
static int wr_end(struct kh_kvlog *kv)
{
	uint32_t n = align_up(kv, kv->w_n);

	if (n == 0)
		return 0;
	memset(kv->wbuf + kv->w_n, 0xFF, n - kv->w_n);
	return wr_flush(kv, n);
}

/*
 * Write one record at w_off: its data from mem, or (mem NULL) the value of
 * src copied out of flash through buf.
 */
static int wr_record(struct kh_kvlog *kv, int kind, const char *key, unsigned klen, const void *mem,
		     uint32_t n, const struct kv_key *src, uint8_t *buf, size_t bufsz)
{
	uint8_t h[KV_REC_HDR], c[4];
	int err;

	h[0] = (uint8_t)kind;
	h[1] = (uint8_t)klen;
	h[2] = h[3] = 0;
	kh_put_le32(h + 4, n);
	kv->w_n = 0;
	kv->w_crc = 0;
	if ((err = wr_push(kv, h, sizeof(h), 1)) < 0 || (err = wr_push(kv, key, klen, 1)) < 0)
		return err;
	if (mem) {
		if ((err = wr_push(kv, mem, n, 1)) < 0)
			return err;
	} else if (src) {
		for (uint32_t i = 0; i < src->n_ext; i++) {
			for (uint32_t o = 0; o < src->ext[i].len;) {
				size_t m = src->ext[i].len - o;
				if (m > bufsz)
					m = bufsz;
				if ((err = kv->f->read(kv->f, src->ext[i].off + o, buf, m)) < 0 ||
				    (err = wr_push(kv, buf, m, 1)) < 0)
					return err;
				o += (uint32_t)m;
			}
		}
	}
	kh_put_le32(c, kv->w_crc);
	if ((err = wr_push(kv, c, 4, 0)) < 0)
		return err;
	return wr_end(kv);
}

/* --- index --- */

static int key_find(const struct kh_kvlog *kv, const char *key, size_t klen)
{
	for (unsigned i = 0; i < kv->nkeys; i++) {
		const struct kv_key *k = kv->keys[i];
		if (k->klen == klen && memcmp(k->key, key, klen) == 0)
			return (int)i;
	}
	return -1;
}

static struct kv_key *key_new(const char *key, size_t klen)
{
	struct kv_key *k = calloc(1, sizeof(*k) + klen + 1);

	if (!k)
		return NULL;
	k->ext = malloc(sizeof(*k->ext));
	if (!k->ext) {
		free(k);
		return NULL;
	}
	k->cap_ext = 1;
	k->klen = (uint8_t)klen;
	memcpy(k->key, key, klen);
	return k;
}

static void key_free(struct kv_key *k)
{
	if (!k)
		return;
	free(k->ext);
	free(k);
}

/* Room for one more extent in k (allocation only; nothing changes). */
static int key_reserve(struct kv_key *k)
{
	struct kv_ext *e;
	uint32_t cap;

	if (k->n_ext < k->cap_ext)
		return 0;
	cap = k->cap_ext * 2;
	e = realloc(k->ext, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	k->ext = e;
	k->cap_ext = cap;
	return 0;
}

/* Make k's value the n bytes at off (k already counted in the index). */
static void key_assign(struct kh_kvlog *kv, struct kv_key *k, uint32_t off, uint32_t n)
{
	kv->live -= rec_size(kv, k->klen, k->size);
	kv->next -= k->n_ext;
	k->n_ext = 0;
	if (n > 0)
		k->ext[k->n_ext++] = (struct kv_ext){off, n};
	k->size = n;
	kv->next += k->n_ext;
	kv->live += rec_size(kv, k->klen, n);
}

static void key_add(struct kh_kvlog *kv, struct kv_key *k)
{
	kv->keys[kv->nkeys++] = k;
	kv->live += rec_size(kv, k->klen, 0);
}

static void key_remove(struct kh_kvlog *kv, unsigned i)
{
	struct kv_key *k = kv->keys[i];

	kv->live -= rec_size(kv, k->klen, k->size);
	kv->next -= k->n_ext;
	key_free(k);
	/* Keep the order: compaction writes and re-reads offsets in it. */
	memmove(&kv->keys[i], &kv->keys[i + 1], (kv->nkeys - i - 1) * sizeof(*kv->keys));
	kv->keys[--kv->nkeys] = NULL;
}

static void key_extend(struct kh_kvlog *kv, struct kv_key *k, uint32_t off, uint32_t n)
{
	kv->live -= rec_size(kv, k->klen, k->size);
	k->ext[k->n_ext++] = (struct kv_ext){off, n};
	k->size += n;
	kv->next++;
	kv->live += rec_size(kv, k->klen, k->size);
}

/* --- banks --- */

static void hdr_build(const struct kh_kvlog *kv, uint32_t gen, uint8_t *h)
{
	memset(h, 0, KV_HDR);
	memcpy(h, "KHKV", 4);
	kh_put_le16(h + 4, KV_VERSION);
	kh_put_le16(h + 6, KV_HDR);
	kh_put_le32(h + 8, gen);
	kh_put_le32(h + 12, kv->bsize);
	kh_put_le32(h + 16, kv->wsize);
	kh_put_le32(h + 28, kh_crc32(0, h, 28));
}

/*
 * The bank's generation if its header is valid here, else 0; -EIO in *err
 * when the flash could not be read (a read error is not an invalid bank:
 * treating it as one would mount older state, then erase the newer bank).
 */
static uint32_t hdr_check(struct kh_kvlog *kv, unsigned bank, int *err)
{
	uint8_t h[KV_HDR], want[KV_HDR];
	uint32_t gen;

	if (kv->f->read(kv->f, bank_base(kv, bank), h, sizeof(h)) < 0) {
		*err = -EIO;
		return 0;
	}
	gen = kh_le32(h + 8);
	if (gen == 0 || gen == 0xFFFFFFFFu)
		return 0;
	hdr_build(kv, gen, want);
	return memcmp(h, want, KV_HDR) == 0 ? gen : 0;
}

/* Generations count 1 .. 0xFFFFFFFE and wrap to 1. */
static uint32_t gen_next(uint32_t gen)
{
	return gen >= 0xFFFFFFFEu ? 1 : gen + 1;
}

/*
 * Copy every live value but skip's (-1: none) to the other bank, then
 * make it active. The index is untouched until the new header is on
 * flash, so a failure leaves the store as it was.
 */
static int compact(struct kh_kvlog *kv, int skip)
{
	unsigned tgt = kv->bank ^ 1;
	uint32_t base = bank_base(kv, tgt), off, ssz = kv->f->sector_size;
	uint8_t *buf = NULL;
	size_t bufsz = sizeof(kv->rbuf);
	int err = 0;

	if (kv->pins[tgt])
		return -EBUSY;
	/* Cannot happen (live data never exceeds what the log holds); be sure. */
	if ((uint64_t)kv->hsize + kv->live -
		    (skip >= 0 ? rec_size(kv, kv->keys[skip]->klen, kv->keys[skip]->size) : 0) >
	    kv->bsize)
		return -ENOSPC;
	/* Header sector first: from then on this bank cannot look valid. */
	for (off = 0; off < kv->bsize; off += ssz)
		if ((err = kv->f->erase(kv->f, base + off, ssz)) < 0)
			goto out;
	buf = malloc(KV_COPY_CHUNK);
	if (buf)
		bufsz = KV_COPY_CHUNK;
	kv->w_off = base + kv->hsize;
	for (unsigned i = 0; i < kv->nkeys; i++) {
		const struct kv_key *k = kv->keys[i];
		if ((int)i == skip)
			continue;
		err = wr_record(kv, KV_SET, k->key, k->klen, NULL, k->size, k, buf ? buf : kv->rbuf,
				bufsz);
		if (err < 0)
			goto out;
	}
	off = kv->w_off - base;
	hdr_build(kv, gen_next(kv->gen), kv->wbuf);
	memset(kv->wbuf + KV_HDR, 0xFF, kv->hsize - KV_HDR);
	if ((err = kv->f->write(kv->f, base, kv->wbuf, kv->hsize)) < 0)
		goto out;

	/* Committed: the new bank holds the same values, one extent each. */
	if (skip >= 0)
		key_remove(kv, (unsigned)skip);
	kv->bank = tgt;
	kv->gen = gen_next(kv->gen);
	kv->pos = off;
	kv->broken = 0;
	kv->compactions++;
	off = base + kv->hsize;
	for (unsigned i = 0; i < kv->nkeys; i++) {
		struct kv_key *k = kv->keys[i];
		uint32_t size = k->size;
		key_assign(kv, k, off + KV_REC_HDR + k->klen, size);
		off += rec_size(kv, k->klen, size);
		if (k->cap_ext > 1) {
			/* Give back what a run of appends grew. */
			struct kv_ext *e = realloc(k->ext, sizeof(*e));
			if (e) {
				k->ext = e;
				k->cap_ext = 1;
			}
		}
	}
out:
	free(buf);
	return err;
}

static int check_key(const char *key, size_t *klen)
{
	size_t n;

	if (!key)
		return -EINVAL;
	n = strlen(key);
	if (n == 0)
		return -EINVAL;
	if (n > KH_KVLOG_KEY_MAX)
		return -ENAMETOOLONG;
	*klen = n;
	return 0;
}

/* A valid key's index, -EINVAL for an invalid key, -ENOENT if absent. */
static int key_lookup(struct kh_kvlog *kv, const char *key, size_t *klen)
{
	int err = check_key(key, klen), i;

	if (err < 0)
		return err;
	i = key_find(kv, key, *klen);
	return i < 0 ? -ENOENT : i;
}

/*
 * Make room for a record of r bytes at pos: compact if the bank is full or
 * its tail unusable. -ENOSPC if even a compaction would not make room.
 */
static int make_room(struct kh_kvlog *kv, uint32_t r)
{
	if ((uint64_t)kv->hsize + kv->live + r > kv->bsize)
		return -ENOSPC;
	if (kv->broken || (uint64_t)kv->pos + r > kv->bsize)
		return compact(kv, -1);
	return 0;
}

/* Write a record at pos; a failure may leave part of it programmed. */
static int put_record(struct kh_kvlog *kv, int kind, const char *key, unsigned klen,
		      const void *data, uint32_t n)
{
	int err;

	kv->w_off = bank_base(kv, kv->bank) + kv->pos;
	err = wr_record(kv, kind, key, klen, data, n, NULL, NULL, 0);
	if (err < 0) {
		kv->broken = 1;
		return err;
	}
	kv->pos += rec_size(kv, klen, n);
	return 0;
}

int kh_kvlog_set(struct kh_kvlog *kv, const char *key, const void *data, size_t len)
{
	struct kv_key *k, *fresh = NULL;
	size_t klen;
	uint32_t r, at, had;
	int i, err;

	if ((err = check_key(key, &klen)) < 0)
		return err;
	if (len > kv->bsize ||
	    (uint64_t)kv->hsize + rec_size(kv, (unsigned)klen, (uint32_t)len) > kv->bsize)
		return -E2BIG;
	if (len > 0 && !data)
		return -EINVAL;
	r = rec_size(kv, (unsigned)klen, (uint32_t)len);
	i = key_find(kv, key, klen);
	if (i < 0 && kv->nkeys >= kv->lim.max_keys)
		return -ENOSPC;
	had = i < 0 ? 0 : kv->keys[i]->n_ext;
	if (kv->next - had + (len > 0) > kv->lim.max_extents) {
		/* Compaction leaves one extent per key: always enough after it. */
		if ((err = compact(kv, -1)) < 0)
			return err;
	}
	if ((err = make_room(kv, r)) < 0)
		return err;
	if (i < 0 && !(fresh = key_new(key, klen)))
		return -ENOMEM;
	at = bank_base(kv, kv->bank) + kv->pos + KV_REC_HDR + (uint32_t)klen;
	if ((err = put_record(kv, KV_SET, key, (unsigned)klen, data, (uint32_t)len)) < 0) {
		key_free(fresh);
		return err;
	}
	if (fresh) {
		key_add(kv, fresh);
		k = fresh;
	} else {
		k = kv->keys[i];
	}
	key_assign(kv, k, at, (uint32_t)len);
	return 0;
}

int kh_kvlog_append(struct kh_kvlog *kv, const char *key, const void *data, size_t len)
{
	struct kv_key *k;
	size_t klen;
	uint32_t r, at;
	int i, err;

	if ((i = key_lookup(kv, key, &klen)) < 0)
		return i;
	if (len == 0)
		return 0;
	if (!data)
		return -EINVAL;
	k = kv->keys[i];
	if (len > kv->bsize ||
	    (uint64_t)kv->hsize + rec_size(kv, (unsigned)klen, k->size + (uint32_t)len) > kv->bsize)
		return -E2BIG;
	r = rec_size(kv, (unsigned)klen, (uint32_t)len);
	if (kv->next + 1 > kv->lim.max_extents && (err = compact(kv, -1)) < 0)
		return err;
	if ((err = make_room(kv, r)) < 0)
		return err;
	/* After any compaction, which gives back extent arrays. */
	if ((err = key_reserve(k)) < 0)
		return err;
	at = bank_base(kv, kv->bank) + kv->pos + KV_REC_HDR + (uint32_t)klen;
	if ((err = put_record(kv, KV_APPEND, key, (unsigned)klen, data, (uint32_t)len)) < 0)
		return err;
	key_extend(kv, k, at, (uint32_t)len);
	return 0;
}

int kh_kvlog_delete(struct kh_kvlog *kv, const char *key)
{
	size_t klen;
	uint32_t r;
	int i, err;

	if ((i = key_lookup(kv, key, &klen)) < 0)
		return i == -ENOENT ? 0 : i; /* deleting what is not there: done */
	r = rec_size(kv, (unsigned)klen, 0);
	if (kv->broken || kv->pos + r > kv->bsize)
		return compact(kv, i); /* the new bank simply lacks the key */
	if ((err = put_record(kv, KV_DELETE, key, (unsigned)klen, NULL, 0)) < 0)
		return err;
	key_remove(kv, (unsigned)i);
	return 0;
}

int kh_kvlog_compact(struct kh_kvlog *kv)
{
	return compact(kv, -1);
}

int kh_kvlog_size(struct kh_kvlog *kv, const char *key, size_t *size)
{
	size_t klen;
	int i;

	if ((i = key_lookup(kv, key, &klen)) < 0)
		return i;
	*size = kv->keys[i]->size;
	return 0;
}

int kh_kvlog_read(struct kh_kvlog *kv, const char *key, size_t off, void *buf, size_t len)
{
	const struct kv_key *k;
	uint8_t *p = buf;
	size_t klen;
	int i, err;

	if ((i = key_lookup(kv, key, &klen)) < 0)
		return i;
	k = kv->keys[i];
	if (off > k->size || len > k->size - off)
		return -EINVAL;
	for (uint32_t e = 0; e < k->n_ext && len > 0; e++) {
		size_t m;
		if (off >= k->ext[e].len) {
			off -= k->ext[e].len;
			continue;
		}
		m = k->ext[e].len - off;
		if (m > len)
			m = len;
		if ((err = kv->f->read(kv->f, k->ext[e].off + (uint32_t)off, p, m)) < 0)
			return err;
		p += m;
		len -= m;
		off = 0;
	}
	return 0;
}

int kh_kvlog_pin(struct kh_kvlog *kv, const char *key, const uint8_t **data, size_t *len)
{
	const struct kv_key *k;
	size_t klen;
	int i;

	if ((i = key_lookup(kv, key, &klen)) < 0)
		return i;
	k = kv->keys[i];
	if (!kv->f->map || k->n_ext != 1)
		return -ENOTSUP;
	*data = kv->f->map + k->ext[0].off;
	*len = k->size;
	kv->pins[k->ext[0].off / kv->bsize]++;
	return 0;
}

void kh_kvlog_unpin(struct kh_kvlog *kv, const uint8_t *data)
{
	uintptr_t off;
	unsigned b;

	if (!kv || !data || !kv->f->map || data < kv->f->map)
		return;
	off = (uintptr_t)(data - kv->f->map);
	if (off >= 2 * (uintptr_t)kv->bsize)
		return;
	b = (unsigned)(off / kv->bsize);
	if (kv->pins[b])
		kv->pins[b]--;
}

unsigned kh_kvlog_count(const struct kh_kvlog *kv)
{
	return kv->nkeys;
}

const char *kh_kvlog_key_at(const struct kh_kvlog *kv, unsigned i)
{
	return i < kv->nkeys ? kv->keys[i]->key : NULL;
}

void kh_kvlog_stat(const struct kh_kvlog *kv, struct kh_kvlog_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->generation = kv->gen;
	st->bank = kv->bank;
	st->bank_size = kv->bsize;
	st->used = kv->pos;
	st->live = (uint32_t)(kv->hsize + kv->live);
	st->keys = kv->nkeys;
	st->extents = kv->next;
	st->compactions = kv->compactions;
	st->formatted = kv->formatted;
	st->repaired = kv->repaired;
}

/* --- mount --- */

/*
 * Apply one CRC-checked record from the log. 1 if it is not one the
 * writer could have made under these limits (ends the replay), 0, or
 * -ENOMEM.
 */
static int replay_apply(struct kh_kvlog *kv, int kind, const char *key, unsigned klen, uint32_t at,
			uint32_t n)
{
	int i = key_find(kv, key, klen);
	struct kv_key *k;

	if (memchr(key, 0, klen))
		return 1;
	if (kind == KV_DELETE) {
		if (i >= 0)
			key_remove(kv, (unsigned)i);
		return 0;
	}
	if (kind == KV_APPEND) {
		if (i < 0 || n == 0 || kv->next + 1 > kv->lim.max_extents)
			return 1;
		k = kv->keys[i];
		if (key_reserve(k) < 0)
			return -ENOMEM;
		key_extend(kv, k, at, n);
		return 0;
	}
	if (i < 0) {
		if (kv->nkeys >= kv->lim.max_keys || kv->next + (n > 0) > kv->lim.max_extents)
			return 1;
		if (!(k = key_new(key, klen)))
			return -ENOMEM;
		key_add(kv, k);
	} else {
		k = kv->keys[i];
		if (kv->next - k->n_ext + (n > 0) > kv->lim.max_extents)
			return 1;
	}
	key_assign(kv, k, at, n);
	return 0;
}

/* Check one record at pos (absolute); 1 if torn or corrupt. */
static int replay_one(struct kh_kvlog *kv, uint32_t end, uint32_t pos, uint32_t *next)
{
	uint8_t h[KV_REC_HDR], c[4];
	char key[KH_KVLOG_KEY_MAX + 1];
	uint32_t n, crc, o;
	unsigned kind, klen;
	int err;

	if ((err = kv->f->read(kv->f, pos, h, sizeof(h))) < 0)
		return err;
	kind = h[0];
	klen = h[1];
	n = kh_le32(h + 4);
	if (kind < KV_SET || kind > KV_DELETE || klen == 0 || kh_le16(h + 2) != 0)
		return 1;
	if (end - pos < KV_REC_OVER + klen || n > end - pos - KV_REC_OVER - klen)
		return 1;
	if (kind == KV_DELETE && n != 0)
		return 1;
	if ((err = kv->f->read(kv->f, pos + KV_REC_HDR, key, klen)) < 0)
		return err;
	key[klen] = 0;
	crc = kh_crc32(kh_crc32(0, h, sizeof(h)), key, klen);
	for (o = 0; o < n;) {
		uint32_t m = n - o;
		if (m > sizeof(kv->rbuf))
			m = sizeof(kv->rbuf);
		if ((err = kv->f->read(kv->f, pos + KV_REC_HDR + klen + o, kv->rbuf, m)) < 0)
			return err;
		crc = kh_crc32(crc, kv->rbuf, m);
		o += m;
	}
	if ((err = kv->f->read(kv->f, pos + KV_REC_HDR + klen + n, c, 4)) < 0)
		return err;
	if (kh_le32(c) != crc)
		return 1;
	/* Padding is never covered by the CRC; it was written erased. */
	err = replay_apply(kv, (int)kind, key, klen, pos + KV_REC_HDR + klen, n);
	if (err)
		return err;
	*next = pos + rec_size(kv, klen, n);
	return 0;
}

static int replay(struct kh_kvlog *kv)
{
	uint32_t base = bank_base(kv, kv->bank), end = base + kv->bsize, pos = base + kv->hsize;
	int err;

	for (;;) {
		uint8_t kind;
		if (end - pos < KV_REC_OVER + 1)
			break;
		if ((err = kv->f->read(kv->f, pos, &kind, 1)) < 0)
			return err;
		if (kind == 0xFF)
			break;
		if ((err = replay_one(kv, end, pos, &pos)) < 0)
			return err;
		if (err == 1) {
			kv->broken = 1;
			break;
		}
	}
	kv->pos = pos - base;
	/* The rest of the bank must be erased, or nothing can go there. */
	for (uint32_t o = pos; !kv->broken && o < end;) {
		uint32_t m = end - o;
		if (m > sizeof(kv->rbuf))
			m = sizeof(kv->rbuf);
		if ((err = kv->f->read(kv->f, o, kv->rbuf, m)) < 0)
			return err;
		for (uint32_t j = 0; j < m; j++)
			if (kv->rbuf[j] != 0xFF)
				kv->broken = 1;
		o += m;
	}
	kv->repaired = kv->broken;
	return 0;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int kh_kvlog_open(struct kh_flash *f, const struct kh_kvlog_limits *lim, struct kh_kvlog **out)
{
	struct kh_kvlog *kv = NULL;
	uint32_t g0, g1;
	int err = -EINVAL;

	*out = NULL;
	if (!f || !f->read || !f->write || !f->erase || !is_pow2(f->sector_size) ||
	    !is_pow2(f->write_size) || f->write_size > KH_KVLOG_WRITE_MAX ||
	    f->write_size > f->sector_size || f->size % f->sector_size ||
	    f->size / f->sector_size < 4 || f->size >= 0x80000000u)
		return -EINVAL;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->f = f;
	kv->lim = lim ? *lim : (struct kh_kvlog_limits){KH_KVLOG_MAX_KEYS, KH_KVLOG_MAX_EXTENTS};
	if (kv->lim.max_keys < 1 || kv->lim.max_keys > 65535 ||
	    kv->lim.max_extents < kv->lim.max_keys + 1)
		goto out;
	kv->keys = calloc(kv->lim.max_keys, sizeof(*kv->keys));
	err = -ENOMEM;
	if (!kv->keys)
		goto out;
	kv->wsize = f->write_size;
	kv->bsize = f->size / f->sector_size / 2 * f->sector_size;
	kv->hsize = align_up(kv, KV_HDR);

	err = 0;
	g0 = hdr_check(kv, 0, &err);
	g1 = hdr_check(kv, 1, &err);
	if (err < 0)
		goto out; /* the board retries the mount; nothing was changed */
	if (!g0 && !g1) {
		/* Blank or unusable: an empty store in bank 0, generation 1. */
		kv->bank = 1;
		kv->gen = 0;
		kv->formatted = 1;
		if ((err = compact(kv, -1)) < 0)
			goto out;
		kv->compactions = 0;
	} else {
		/* Serial number order (RFC 1982): the two differ by one when both valid. */
		kv->bank = g1 && (!g0 || (int32_t)(g1 - g0) > 0);
		kv->gen = kv->bank ? g1 : g0;
		if ((err = replay(kv)) < 0)
			goto out;
		if (kv->broken && (err = compact(kv, -1)) < 0)
			goto out;
	}
	*out = kv;
	kv = NULL;
	err = 0;
out:
	kh_kvlog_free(kv);
	return err;
}

void kh_kvlog_free(struct kh_kvlog *kv)
{
	if (!kv)
		return;
	for (unsigned i = 0; i < kv->nkeys; i++)
		key_free(kv->keys[i]);
	free(kv->keys);
	free(kv);
}
