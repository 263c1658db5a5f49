/* SPDX-License-Identifier: MIT */
/*
 * MCUboot update and commit over the board's slots (firmware/mcuboot_slot.h).
 * Counter record, 16 bytes: "KHMC", counter (u32 LE), the first 8 bytes
 * of SHA-256 over the 8 bytes before. Written atomically by the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/mcuboot_slot.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "platform/fs.h"

static const uint8_t counter_magic[4] = {'K', 'H', 'M', 'C'};

static void counter_encode(uint32_t counter, uint8_t rec[KH_MCUBOOT_COUNTER_LEN])
{
	uint8_t h[KH_SHA256_LEN];

	memcpy(rec, counter_magic, 4);
	kh_put_le32(rec + 4, counter);
	kh_sha256(rec, 8, h);
	memcpy(rec + 8, h, 8);
}

int kh_mcuboot_counter_load(const char *path, uint32_t *counter, char *reason, size_t rlen)
{
	uint8_t *buf = NULL, want[KH_MCUBOOT_COUNTER_LEN];
	size_t len;
	int err = kh_fs_read(path, 64, &buf, &len);

	*counter = 0;
	if (err == -ENOENT)
		return 0;
	if (err < 0 && err != -E2BIG) {
		if (reason && rlen)
			snprintf(reason, rlen, "cannot read the stored security counter %s: %s",
				 path, kh_strerror(err));
		return err;
	}
	if (err == 0 && len == KH_MCUBOOT_COUNTER_LEN) {
		counter_encode(kh_le32(buf + 4), want);
		if (memcmp(buf, want, sizeof(want)) == 0) {
			*counter = kh_le32(buf + 4);
			free(buf);
			return 0;
		}
	}
	free(buf);
	if (reason && rlen)
		snprintf(reason, rlen,
			 "the stored security counter %s is corrupt: images are refused until "
			 "it is reset",
			 path);
	return -EBADMSG;
}

int kh_mcuboot_counter_raise(const char *path, uint32_t counter)
{
	uint8_t rec[KH_MCUBOOT_COUNTER_LEN];
	uint32_t cur;
	int err = kh_mcuboot_counter_load(path, &cur, NULL, 0);

	if (err < 0)
		return err;
	if (counter <= cur)
		return 0;
	counter_encode(counter, rec);
	return kh_fs_write_atomic(path, rec, sizeof(rec), 0600);
}

static int slot_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	return kh_fwslot_read(*(const enum kh_fwslot *)ctx, off, buf, len);
}

int kh_mcuboot_slot_verify(enum kh_fwslot which, const struct kh_mcuboot_keys *keys,
			   uint32_t min_counter, struct kh_mcuboot_image *img, char *reason,
			   size_t rlen)
{
	struct kh_mcuboot_slot slot = {slot_read, &which, 0};
	int err = kh_fwslot_size(which, &slot.size);

	if (err < 0) {
		if (reason && rlen)
			snprintf(reason, rlen, "no %s firmware slot: %s",
				 which == KH_FWSLOT_PRIMARY ? "primary" : "secondary",
				 kh_strerror(err));
		return err;
	}
	return kh_mcuboot_verify(&slot, keys->key, keys->n, keys->threshold, min_counter, img,
				 reason, rlen);
}

int kh_mcuboot_update(const struct kh_mcuboot_keys *keys, const char *counter_path, int permanent,
		      struct kh_mcuboot_image *img, char *reason, size_t rlen)
{
	uint32_t stored;
	int err;

	if ((err = kh_mcuboot_counter_load(counter_path, &stored, reason, rlen)) < 0 ||
	    (err = kh_mcuboot_slot_verify(KH_FWSLOT_SECONDARY, keys, stored, img, reason, rlen)) <
		    0)
		return err;
	if ((err = kh_fwslot_mark_swap(permanent)) < 0 && reason && rlen)
		snprintf(reason, rlen, "the board could not mark the slot for swap: %s",
			 kh_strerror(err));
	return err;
}

int kh_mcuboot_commit(const struct kh_mcuboot_keys *keys, const char *counter_path,
		      struct kh_mcuboot_image *img, char *reason, size_t rlen)
{
	struct kh_mcuboot_image tmp, *im = img ? img : &tmp;
	uint32_t stored;
	int err;

	if ((err = kh_mcuboot_counter_load(counter_path, &stored, reason, rlen)) < 0 ||
	    (err = kh_mcuboot_slot_verify(KH_FWSLOT_PRIMARY, keys, stored, im, reason, rlen)) < 0)
		return err;
	if ((err = kh_mcuboot_counter_raise(counter_path, im->security_counter)) < 0) {
		if (reason && rlen)
			snprintf(reason, rlen, "cannot store the security counter %s: %s",
				 counter_path, kh_strerror(err));
		return err;
	}
	if ((err = kh_fwslot_confirm()) < 0 && reason && rlen)
		snprintf(reason, rlen, "the board could not confirm the running image: %s",
			 kh_strerror(err));
	return err;
}
