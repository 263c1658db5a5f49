/* SPDX-License-Identifier: MIT */
/*
 * The update flow of a gateway that boots through MCUboot, over the
 * board's slots (platform/fwslot.h) and the stored security counter (a
 * key of the flash store, platform/fs.h):
 *
 *   update: verify the candidate in the secondary slot against the
 *           firmware keys and the stored counter, and only then ask the
 *           board to mark it for swap;
 *   commit: once the new image has booted, verify the running (primary)
 *           image and raise the stored counter to its counter (never
 *           lower), then confirm the image so MCUboot keeps it.
 *
 * The counter record is checksummed: a corrupt record refuses every image
 * until the ISP resets it, so damage cannot reopen old images.
 */
#ifndef KHIEN_FIRMWARE_MCUBOOT_SLOT_H
#define KHIEN_FIRMWARE_MCUBOOT_SLOT_H

#include "firmware/mcuboot.h"
#include "platform/fwslot.h"

#define KH_MCUBOOT_COUNTER_PATH "/state/firmware/mcuboot-counter"
#define KH_MCUBOOT_COUNTER_LEN 16

/*
 * The stored counter (0 when none was stored yet). -EBADMSG (reason
 * says so) when the record is corrupt, or a read error.
 */
int kh_mcuboot_counter_load(const char *path, uint32_t *counter, char *reason, size_t len);
/* Store counter if it is above the stored one; never lowers it. 0 or negative errno. */
int kh_mcuboot_counter_raise(const char *path, uint32_t counter);

/* kh_mcuboot_verify() of one of the board's slots. */
int kh_mcuboot_slot_verify(enum kh_fwslot slot, const struct kh_mcuboot_keys *keys,
			   uint32_t min_counter, struct kh_mcuboot_image *img, char *reason,
			   size_t reason_len);

/*
 * Verify the secondary slot, then mark it for swap (permanent or test).
 * Nothing is marked unless it verified. Errors as kh_mcuboot_verify(),
 * plus the counter's and the board's.
 */
int kh_mcuboot_update(const struct kh_mcuboot_keys *keys, const char *counter_path, int permanent,
		      struct kh_mcuboot_image *img, char *reason, size_t reason_len);

/* Verify the primary slot (the running image), raise the stored counter to it, confirm it. */
int kh_mcuboot_commit(const struct kh_mcuboot_keys *keys, const char *counter_path,
		      struct kh_mcuboot_image *img, char *reason, size_t reason_len);

#endif
