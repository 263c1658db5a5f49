/* SPDX-License-Identifier: MIT */
/*
 * The flash partition a board gives the lwIP backend's persistent store
 * (platform/lwip/kvlog.c). NOR semantics: erase sets a whole sector to
 * 0xFF; a write may only program bytes that are erased, in whole aligned
 * write units, and each unit at most once between two erases (flash with
 * ECC forbids a second program). The store never asks for anything else,
 * so a driver that refuses a write over non-erased bytes is correct, and
 * the host emulators do refuse it.
 */
#ifndef KHIEN_PLATFORM_LWIP_FLASH_H
#define KHIEN_PLATFORM_LWIP_FLASH_H

#include <stddef.h>
#include <stdint.h>

struct kh_flash {
	uint32_t size;	      /* partition bytes, a multiple of sector_size, < 2 GiB */
	uint32_t sector_size; /* erase unit, a power of two */
	uint32_t write_size;  /* program unit, a power of two from 1 to 256 */
	/*
	 * The partition as read-only memory when the chip is memory-mapped
	 * (XIP), else NULL. When set, the store hands out pointers into it
	 * (kh_fs_map of a value written in one piece) instead of heap copies;
	 * it must show every write and erase as soon as the call returns.
	 */
	const uint8_t *map;
	/*
	 * All offsets are from the start of the partition. read: any range
	 * inside it. write: off and len multiples of write_size, every byte
	 * erased. erase: off and len multiples of sector_size. Each returns 0
	 * once the operation is complete on the chip (not cached), or a
	 * negative errno (-EIO) if it failed; a failed write or erase may have
	 * changed any part of its range.
	 */
	int (*read)(struct kh_flash *f, uint32_t off, void *buf, size_t len);
	int (*write)(struct kh_flash *f, uint32_t off, const void *buf, size_t len);
	int (*erase)(struct kh_flash *f, uint32_t off, size_t len);
	void *ctx; /* the driver's own state */
};

#endif
