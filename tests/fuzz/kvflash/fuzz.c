/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the lwIP store's mount (platform/lwip/kvlog.c): the input is a
 * flash partition image. Byte 0 picks the geometry (bits 0-1: write size
 * 1, 4, 8 or 16; bit 2: memory-mapped), the rest is the partition (8
 * sectors of 512 bytes, short inputs padded with erased bytes). The flash
 * aborts on any write the store must never make (over programmed bytes,
 * unaligned). Oracles: mount succeeds (a bad image is cut or formatted,
 * never refused); every key reads back whole, within the limits and the
 * bank, and maps to the same bytes; a new key can be set (or is refused
 * for space); and a remount finds a clean store with exactly the same
 * keys and values. Each input runs twice: as given, then with every
 * header and record CRC it frames recomputed, so that mutations reach
 * the checks behind the CRCs.
 *
 * kvlog.c is built into this harness because the fuzz links in the
 * Makefile do not include the lwIP backend's sources.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/crc32.h"
#include "lib/endian.h"
#include "platform/lwip/kvlog.c"

#define PART 4096
#define SECTOR 512
#define MAX_KEYS 8
#define MAX_EXT 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mem[PART];

static int fl_read(struct kh_flash *f, uint32_t off, void *buf, size_t len)
{
	if (off > f->size || len > f->size - off)
		abort();
	memcpy(buf, mem + off, len);
	return 0;
}

static int fl_write(struct kh_flash *f, uint32_t off, const void *buf, size_t len)
{
	if (off > f->size || len > f->size - off || off % f->write_size || len % f->write_size)
		abort();
	for (size_t i = 0; i < len; i++)
		if (mem[off + i] != 0xFF)
			abort(); /* NOR cannot do this: the store must never ask */
	memcpy(mem + off, buf, len);
	return 0;
}

static int fl_erase(struct kh_flash *f, uint32_t off, size_t len)
{
	if (off > f->size || len > f->size - off || off % f->sector_size || len % f->sector_size)
		abort();
	memset(mem + off, 0xFF, len);
	return 0;
}

/* Recompute the CRCs of both bank headers and of the records they frame. */
static void fix_crcs(uint32_t wsize)
{
	const uint32_t bsize = PART / 2, hsize = (32 + wsize - 1) & ~(wsize - 1);

	for (uint32_t b = 0; b < 2; b++) {
		uint8_t *bank = mem + b * bsize;
		uint32_t pos = hsize;
		kh_put_le32(bank + 28, kh_crc32(0, bank, 28));
		while (bsize - pos >= 13 && bank[pos] != 0xFF) {
			uint32_t klen = bank[pos + 1], n = kh_le32(bank + pos + 4);
			if (n > bsize || 12 + klen + n > bsize - pos)
				break;
			kh_put_le32(bank + pos + 8 + klen + n,
				    kh_crc32(0, bank + pos, 8 + klen + n));
			pos += (12 + klen + n + wsize - 1) & ~(wsize - 1);
		}
	}
}

static void check(uint32_t wsize, int mapped)
{
	static const struct kh_kvlog_limits lim = {MAX_KEYS, MAX_EXT};
	struct kh_flash f = {PART,    SECTOR,	wsize,	  mapped ? mem : NULL,
			     fl_read, fl_write, fl_erase, NULL};
	struct kh_kvlog *kv;
	struct kh_kvlog_stat st;
	static uint8_t val[PART];
	char keys[MAX_KEYS + 1][KH_KVLOG_KEY_MAX + 1];
	uint32_t crcs[MAX_KEYS + 1];
	size_t sizes[MAX_KEYS + 1];
	unsigned n;
	int err;

	if (kh_kvlog_open(&f, &lim, &kv) < 0)
		abort(); /* no content makes a mount fail */
	kh_kvlog_stat(kv, &st);
	n = kh_kvlog_count(kv);
	if (n > MAX_KEYS || st.keys != n || st.extents > MAX_EXT || st.used > st.bank_size ||
	    st.live > st.bank_size || st.bank_size != PART / 2)
		abort();
	for (unsigned i = 0; i < n; i++) {
		const char *k = kh_kvlog_key_at(kv, i);
		const uint8_t *p;
		size_t len, plen;
		if (!k || !*k || strlen(k) > KH_KVLOG_KEY_MAX || kh_kvlog_size(kv, k, &len) < 0 ||
		    len > PART / 2 || kh_kvlog_read(kv, k, 0, val, len) < 0)
			abort();
		if (len < PART / 2 && kh_kvlog_read(kv, k, 0, val, len + 1) != -EINVAL)
			abort();
		if (kh_kvlog_pin(kv, k, &p, &plen) == 0) {
			if (!mapped || plen != len || memcmp(p, val, len) != 0)
				abort();
			kh_kvlog_unpin(kv, p);
		}
		strcpy(keys[i], k);
		sizes[i] = len;
		crcs[i] = kh_crc32(0, val, len);
	}
	memset(val, 'v', 100);
	err = kh_kvlog_set(kv, "fuzz/new", val, 60);
	if (err == 0)
		err = kh_kvlog_append(kv, "fuzz/new", val, 40);
	if (err != 0 && err != -ENOSPC)
		abort();
	if (kh_kvlog_size(kv, "fuzz/new", &sizes[n]) == 0) {
		strcpy(keys[n], "fuzz/new");
		crcs[n] = kh_crc32(0, val, sizes[n]);
		n++;
	}
	kh_kvlog_free(kv);

	/* What was replayed, and written on top, is what the next mount sees. */
	if (kh_kvlog_open(&f, &lim, &kv) < 0)
		abort();
	kh_kvlog_stat(kv, &st);
	if (st.repaired || st.formatted || kh_kvlog_count(kv) != n)
		abort();
	for (unsigned i = 0; i < n; i++) {
		size_t len;
		if (kh_kvlog_size(kv, keys[i], &len) < 0 || len != sizes[i] ||
		    kh_kvlog_read(kv, keys[i], 0, val, len) < 0 || kh_crc32(0, val, len) != crcs[i])
			abort();
	}
	kh_kvlog_free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t wsizes[4] = {1, 4, 8, 16};
	uint32_t wsize;
	int mapped;

	if (size < 1)
		return 0;
	wsize = wsizes[data[0] & 3];
	mapped = (data[0] >> 2) & 1;
	data++;
	size--;
	if (size > PART)
		size = PART;
	for (int pass = 0; pass < 2; pass++) {
		memset(mem, 0xFF, sizeof(mem));
		memcpy(mem, data, size);
		if (pass)
			fix_crcs(wsize);
		check(wsize, mapped);
	}
	return 0;
}
