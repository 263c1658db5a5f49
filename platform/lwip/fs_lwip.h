/* SPDX-License-Identifier: MIT */
/*
 * Mounting the lwIP backend's store: platform/fs.h over a key-value log on
 * the board's flash partition (platform/lwip/kvlog.h). The board mounts it
 * once, before the agent makes any kh_fs_* call.
 */
#ifndef KHIEN_PLATFORM_LWIP_FS_LWIP_H
#define KHIEN_PLATFORM_LWIP_FS_LWIP_H

#include "platform/lwip/flash.h"

/*
 * Mount the store on f (which must outlive it), replacing any store
 * mounted before. Formats a blank partition. 0, or a negative errno from
 * kh_kvlog_open(); until a mount succeeds every kh_fs_* call fails with
 * -ENODEV.
 */
int kh_fs_lwip_mount(struct kh_flash *f);

/*
 * Allow kh_fs_map to return pointers into memory-mapped flash (default off:
 * a long-held map pins its bank and can stop compaction, see fs.c).
 */
void kh_fs_lwip_direct_maps(int on);

/* Release the store's RAM (maps must be released first). Writes nothing. */
void kh_fs_lwip_unmount(void);

#endif
