/* SPDX-License-Identifier: MIT */
/*
 * On-disk format of the blocklist index, version 1. All integers are
 * little-endian; all sections start at 8-byte aligned offsets; the file is
 * read in place (mmap or flash) and never parsed into heap structures.
 * docs/INDEX-FORMAT.md explains the layout and the reasons.
 *
 *   header (128 bytes) | section table (16 bytes each) | sections ...
 *
 * Block entries are 128-bit suffix hashes split Elias-Fano style: the top
 * bucket_bits select a bucket (stored implicitly by a unary bucket-size
 * bitvector with a sampled position every 32 buckets), the next rem_bits
 * are stored, followed by meta_bits of class id, packed back to back.
 */
#ifndef KHIEN_POLICY_INDEX_FORMAT_H
#define KHIEN_POLICY_INDEX_FORMAT_H

#include <stdint.h>

#define KH_IDX_MAGIC "KHIENIX\0"
#define KH_IDX_VERSION 1
#define KH_IDX_HEADER_LEN 128
#define KH_IDX_SECTION_LEN 16
#define KH_IDX_SAMPLE_EVERY 32 /* buckets per position sample */

/* Header field offsets. */
#define KH_IDX_OFF_MAGIC 0	   /* 8 bytes */
#define KH_IDX_OFF_VERSION 8	   /* u16 format version */
#define KH_IDX_OFF_HDRLEN 10	   /* u16 header length (128) */
#define KH_IDX_OFF_NSECT 12	   /* u32 number of sections */
#define KH_IDX_OFF_FILELEN 16	   /* u64 total file length */
#define KH_IDX_OFF_CSUM 24	   /* u64 kh_csum64 of the file with this field zero */
#define KH_IDX_OFF_BUILDID 32	   /* 16 bytes: SHA-256 prefix of the content */
#define KH_IDX_OFF_SEED 48	   /* 2 x u64 hash seed */
#define KH_IDX_OFF_NENTRIES 64	   /* u32 block entries */
#define KH_IDX_OFF_NDOMAINS 68	   /* u32 distinct block names */
#define KH_IDX_OFF_BUCKET_BITS 72  /* u8 */
#define KH_IDX_OFF_REM_BITS 73	   /* u8 */
#define KH_IDX_OFF_META_BITS 74	   /* u8 */
#define KH_IDX_OFF_DEPTHS_BLOCK 80 /* 2 x u64: bit d-1 set if a block name has d labels */
#define KH_IDX_OFF_DEPTHS_ALLOW 96 /* 2 x u64: same for allow names */
#define KH_IDX_OFF_CREATED 112	   /* u64 compile time, Unix seconds */
#define KH_IDX_OFF_FLAGS 120	   /* u32 reserved flags, must be 0 */

/* Section table entry: u32 type, u32 offset, u32 length (bytes), u32 count. */
enum kh_idx_section {
	KH_SECT_STRINGS = 1,	/* NUL-terminated strings, referenced by offset */
	KH_SECT_CATEGORIES = 2, /* count x u32 name offset */
	KH_SECT_SOURCES = 3,	/* count x 16: u32 name, u32 category, u32 entries, u32 format */
	KH_SECT_CLASSES = 4,	/* count x 4: u8 category, u8 source, u8 scope, u8 action */
	KH_SECT_SAMPLES = 5,	/* count x u32 unary bit position of bucket k*128 */
	KH_SECT_UNARY = 6,	/* u64 words: bucket sizes in unary (1 per entry, 0 ends) */
	KH_SECT_ENTRIES = 7,	/* u64 words of packed (rem << meta_bits | class) */
	KH_SECT_ALLOW = 8,	/* count x 16: u64 hash.hi, u32 name, u8 scope, u8 source, 2 pad */
	KH_SECT_IPTRIG = 9,	/* count x 20: u8 family, u8 prefix, u8 class, u8 pad, 16 ip */
	KH_SECT_MAX = 9,
};

#define KH_IDX_SOURCE_LEN 16
#define KH_IDX_ALLOW_CATEGORY 0xffffffffu /* source category of an allow list */
#define KH_IDX_CLASS_LEN 4
#define KH_IDX_ALLOW_LEN 16
#define KH_IDX_IPTRIG_LEN 20

/* Scope bits of an entry: the name itself, its subdomains, or both. */
#define KH_SCOPE_SELF 0x1
#define KH_SCOPE_SUBS 0x2

/* Per-entry action recorded from the list (RPZ); 0 = the category's policy. */
enum kh_idx_action {
	KH_ACT_DEFAULT = 0,
	KH_ACT_NXDOMAIN = 1,
	KH_ACT_NODATA = 2,
	KH_ACT_DROP = 3,
};

#endif
