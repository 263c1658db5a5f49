/* SPDX-License-Identifier: MIT */
/*
 * Firmware image slots of a board that boots through MCUboot: the primary
 * slot holds the running image, the secondary a candidate written by an
 * update. The agent reads them to verify an image (firmware/mcuboot.h)
 * and asks the board to have MCUboot swap the candidate in; each backend
 * maps these onto its flash driver. Backends without MCUboot (Linux)
 * return -ENOTSUP from every call.
 */
#ifndef KHIEN_PLATFORM_FWSLOT_H
#define KHIEN_PLATFORM_FWSLOT_H

#include <stddef.h>
#include <stdint.h>

enum kh_fwslot {
	KH_FWSLOT_PRIMARY = 0,
	KH_FWSLOT_SECONDARY = 1
};

/*
 * Bytes of the slot an image may use (the slot less MCUboot's trailer).
 * -ENOTSUP: no such slot on this platform; -ENOENT: the board has none.
 */
int kh_fwslot_size(enum kh_fwslot slot, uint32_t *size);
/* len bytes at off (off + len within kh_fwslot_size); 0 or negative errno. */
int kh_fwslot_read(enum kh_fwslot slot, uint32_t off, void *buf, size_t len);
/*
 * Mark the secondary slot for a swap at the next boot: a test swap that
 * MCUboot reverts unless the new image confirms itself, or (permanent) one
 * that stays. 0 or negative errno.
 */
int kh_fwslot_mark_swap(int permanent);
/* Confirm the running image (MCUboot's image_ok), so a test swap is kept. */
int kh_fwslot_confirm(void);

#endif
