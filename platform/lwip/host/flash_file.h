/* SPDX-License-Identifier: MIT */
/*
 * The host board's flash: a kh_flash backed by a file the size of the
 * partition, for running and testing the lwIP build on Linux.
 */
#ifndef KHIEN_PLATFORM_LWIP_HOST_FLASH_FILE_H
#define KHIEN_PLATFORM_LWIP_HOST_FLASH_FILE_H

#include "platform/lwip/flash.h"

struct kh_flash_file {
	struct kh_flash flash; /* hand &ff->flash to kh_fs_lwip_mount() */
	int fd;
	void *map;
};

/*
 * Open (or create, filled with 0xFF like an erased chip) the partition
 * file path of size bytes with the given geometry. mapped: also map the
 * file read-only and set flash.map, as a board with memory-mapped flash
 * would. Every write and erase is written through and fsync'd before it
 * returns, so killing the process (or the host) acts like a power loss at
 * that point. Writes over bytes that are not erased are refused with -EIO,
 * as NOR flash cannot do them. -EINVAL if an existing file has another
 * size, else a negative errno.
 */
int kh_flash_file_open(struct kh_flash_file *ff, const char *path, uint32_t size,
		       uint32_t sector_size, uint32_t write_size, int mapped);

/* Close the file (accepts a zeroed or closed one). */
void kh_flash_file_close(struct kh_flash_file *ff);

#endif
