/* SPDX-License-Identifier: MIT */
/*
 * The one way the tree reads and writes multi-byte integers in byte
 * buffers: little-endian for our own on-disk formats (index, journal,
 * bundle header), big-endian (network order) for DNS, IP addresses and
 * socket ports. They work on unaligned pointers and on either host byte
 * order; compilers turn them into single loads and stores. Hand-written
 * shifts elsewhere are a review finding (issue 12).
 */
#ifndef KHIEN_LIB_ENDIAN_H
#define KHIEN_LIB_ENDIAN_H

#include <stdint.h>

static inline uint16_t kh_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (uint16_t)b[1] << 8);
}

static inline uint32_t kh_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t kh_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)kh_le32(b) | (uint64_t)kh_le32(b + 4) << 32;
}

static inline void kh_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void kh_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void kh_put_le64(void *p, uint64_t v)
{
	kh_put_le32(p, (uint32_t)v);
	kh_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t kh_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)((uint16_t)b[0] << 8 | b[1]);
}

static inline void kh_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint32_t kh_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void kh_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

#endif
