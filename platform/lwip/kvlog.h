/* SPDX-License-Identifier: MIT */
/*
 * A log-structured key-value store on a NOR flash partition (struct
 * kh_flash): the persistent store under the lwIP backend's platform/fs.h.
 * Values are written as records appended to a log; an index in RAM maps
 * each key to the places (extents) its bytes lie in flash. The partition is
 * split in two banks; when the active bank is full, the live values are
 * copied to the other bank (compaction) and that bank becomes active.
 * Not thread-safe: the agent is one event loop.
 *
 * On-flash format (version 1). All integers little-endian.
 *
 *   Partition: bank 0 at offset 0, bank 1 at offset B, where B is half the
 *   partition rounded down to a whole sector (at least 2 sectors); a last
 *   odd sector is unused.
 *
 *   Bank header, at offset 0 of a bank, 32 bytes, then 0xFF padding up to
 *   H = 32 rounded up to the write size:
 *     0  4  magic "KHKV"           4  2  format version (1)
 *     6  2  header size (32)       8  4  generation (1 .. 0xFFFFFFFE)
 *     12 4  bank size B            16 4  write size
 *     20 8  zero                   28 4  CRC-32 of bytes 0..27
 *   A bank is valid when all of these match this partition's geometry.
 *   Generations go up by one per compaction and wrap from 0xFFFFFFFE to
 *   1; "newer" is serial-number order (RFC 1982), the two banks' being
 *   one apart whenever both are valid.
 *
 *   Records follow at H, each starting at a multiple of the write size:
 *     0  1  kind: 1 SET, 2 APPEND, 3 DELETE (0xFF: erased, end of log)
 *     1  1  key length k (1..255)  2  2  zero
 *     4  4  data length n (0 for DELETE)
 *     8  k  key (bytes, no NUL)    8+k  n  data
 *     8+k+n 4  CRC-32 of bytes 0 .. 8+k+n-1
 *   then 0xFF padding up to the write size: a record takes
 *   R(k, n) = 12 + k + n rounded up to the write size. SET makes the key's
 *   value the data; APPEND adds the data to the end of an existing key's
 *   value; DELETE removes the key. The log ends at the first erased kind
 *   byte; everything after it up to the end of the bank must be erased.
 *
 * Mount: read both bank headers, take the valid one with the newer
 * generation (none valid: format bank 0, generation 1) and replay its
 * records. The first record that is torn or corrupt (bad kind, length past
 * the bank, CRC mismatch, APPEND to a missing key, a limit exceeded), or
 * programmed bytes after the end of the log, ends the replay: the records
 * before it are kept and the store compacts at once, so that new records
 * never go on top of partly programmed flash. Mount reads the whole
 * active bank (one pass, CRC-checked).
 *
 * Power loss, per operation (a cut at any byte of any write or erase):
 * - set/append/delete write one record; the index changes only after the
 *   write returned. A cut record fails its CRC and is dropped at the next
 *   mount: the key holds its old value or its new one, never a mix, and
 *   a value appended to is an earlier value plus whole appends. Once a
 *   call returned 0 the record is on flash (durable).
 * - compaction erases the other bank (header sector first), copies every
 *   live value there as one SET record, and writes that bank's header with
 *   generation + 1 last. Before the header is complete the old bank is the
 *   valid one with the newer generation (a torn erase or copy only touched
 *   the other bank); after it, the new bank is, and it holds the same
 *   values. The old bank is left intact until the next compaction erases
 *   it. A set or append that needs a compaction first writes its record
 *   only after it: a cut in the compaction leaves the old value.
 * - delete in a bank too full for its record compacts without the key
 *   instead: before the new header the key is there, after it it is gone.
 * - a failed write (-EIO) may leave a partial record: the store stops
 *   appending to that bank and compacts before its next write.
 * - format (no valid bank) erases bank 0 and writes its header; a cut
 *   leaves no valid bank, so the next mount formats again.
 *
 * Space: a value of n bytes needs R(k, n) bytes; replacing or appending to
 * a value needs room for the old and the new record side by side, so a
 * set is refused with -ENOSPC unless the live data plus the new record
 * fit in one bank (minus its header), and with -E2BIG if the record alone
 * cannot.
 *
 * RAM: the store object (about 600 bytes with its 256-byte write and read
 * buffers), one pointer per key slot (max_keys, allocated at open),
 * per key one allocation of about 24 bytes + key length + 1, and 8 bytes
 * per extent (a value has one extent after a set or a compaction, one
 * more per append until the next compaction), grown by doubling; on
 * x86-64 the object is 616 bytes, a key 24 + key length + 1 (20 on a
 * 32-bit MCU) plus the allocator's overhead. A compaction borrows a 4 KiB
 * copy buffer from the heap while it runs (or copies 256 bytes at a time
 * if that allocation fails).
 */
#ifndef KHIEN_PLATFORM_LWIP_KVLOG_H
#define KHIEN_PLATFORM_LWIP_KVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "platform/lwip/flash.h"

#define KH_KVLOG_KEY_MAX 255
#define KH_KVLOG_WRITE_MAX 256	  /* largest write_size supported */
#define KH_KVLOG_MAX_KEYS 64	  /* default key limit */
#define KH_KVLOG_MAX_EXTENTS 4096 /* default extent limit (32 KiB of RAM) */

struct kh_kvlog;

/*
 * Limits that bound RAM whatever the flash holds. max_keys >= 1;
 * max_extents >= max_keys + 1 (a compaction leaves at most one extent per
 * key). Records that would exceed them at mount are treated as corrupt,
 * which only happens if the flash was written with larger limits.
 */
struct kh_kvlog_limits {
	unsigned max_keys;
	unsigned max_extents;
};

/* What the store did and holds, for tests and diagnostics. */
struct kh_kvlog_stat {
	uint32_t generation; /* of the active bank */
	unsigned bank;	     /* 0 or 1 */
	uint32_t bank_size;
	uint32_t used; /* bytes of the active bank in use (header included) */
	uint32_t live; /* bytes the live values would take after a compaction */
	unsigned keys, extents;
	unsigned compactions; /* since open, including one at mount */
	int formatted;	      /* mount found no valid bank and formatted */
	int repaired;	      /* mount cut a torn or corrupt tail off and compacted */
};

/*
 * Mount the store on f (which must outlive it), with lim (NULL for the
 * defaults above). Formats a partition without a valid bank and compacts
 * after a torn tail, so it writes to flash. -EINVAL for a geometry it
 * cannot use (fewer than 4 sectors, write size not a power of two up to
 * 256, sizes not multiples), -ENOMEM, or the flash driver's error.
 */
int kh_kvlog_open(struct kh_flash *f, const struct kh_kvlog_limits *lim, struct kh_kvlog **out);

/* Release the RAM index (writes nothing; accepts NULL). Unpin maps first. */
void kh_kvlog_free(struct kh_kvlog *kv);

/* The size of key's value: 0, or -ENOENT. */
int kh_kvlog_size(struct kh_kvlog *kv, const char *key, size_t *size);

/*
 * Copy len bytes of key's value from offset off into buf. -ENOENT, -EINVAL
 * if off + len is past the end, or the flash driver's error.
 */
int kh_kvlog_read(struct kh_kvlog *kv, const char *key, size_t off, void *buf, size_t len);

/*
 * Make data the value of key (created if missing), durably and atomically
 * (one record). Keys are 1..255 bytes without NUL (-EINVAL, -ENAMETOOLONG).
 * -E2BIG if the record cannot fit in a bank, -ENOSPC if the live data and
 * it do not fit together or the key limit is reached, or a flash error
 * (the value is then the old one or, once the next mount found the
 * record complete, the new one).
 */
int kh_kvlog_set(struct kh_kvlog *kv, const char *key, const void *data, size_t len);

/*
 * Add data to the end of an existing key's value, durably and atomically
 * (one record). -ENOENT if key is missing; otherwise as kh_kvlog_set. An
 * empty append writes nothing.
 */
int kh_kvlog_append(struct kh_kvlog *kv, const char *key, const void *data, size_t len);

/* Remove key, durably; a missing key is not an error. */
int kh_kvlog_delete(struct kh_kvlog *kv, const char *key);

/*
 * Copy the live values to the other bank now. -EBUSY if that bank holds a
 * pinned value (see kh_kvlog_pin); the store is unchanged on any error.
 */
int kh_kvlog_compact(struct kh_kvlog *kv);

/*
 * On a memory-mapped flash (f->map), point *data at key's value in flash
 * when it lies in one piece, and pin its bank: until kh_kvlog_unpin(), no
 * compaction erases that bank (one that would fails with -EBUSY, and so
 * does a write that needs it), so the bytes stay valid even if the key is
 * replaced or deleted. -ENOENT, -ENOTSUP if the flash is not mapped or the
 * value is empty or in pieces (copy it with kh_kvlog_read instead).
 */
int kh_kvlog_pin(struct kh_kvlog *kv, const char *key, const uint8_t **data, size_t *len);
void kh_kvlog_unpin(struct kh_kvlog *kv, const uint8_t *data);

/* Enumerate keys: the number, and the i-th key (NULL past the end). */
unsigned kh_kvlog_count(const struct kh_kvlog *kv);
const char *kh_kvlog_key_at(const struct kh_kvlog *kv, unsigned i);

void kh_kvlog_stat(const struct kh_kvlog *kv, struct kh_kvlog_stat *st);

#endif
