/* SPDX-License-Identifier: MIT */
/*
 * Firmware slots on lwIP boards (platform/fwslot.h): MCUboot's slots
 * through the board's hooks (board.h), with the bounds checked here so a
 * board driver never sees a read outside the slot.
 */
#include "lib/err.h"
#include "platform/fwslot.h"
#include "platform/lwip/board.h"

int kh_fwslot_size(enum kh_fwslot slot, uint32_t *size)
{
	*size = 0;
	if (slot != KH_FWSLOT_PRIMARY && slot != KH_FWSLOT_SECONDARY)
		return -EINVAL;
	return kh_board_slot_size((int)slot, size);
}

int kh_fwslot_read(enum kh_fwslot slot, uint32_t off, void *buf, size_t len)
{
	uint32_t size;
	int err = kh_fwslot_size(slot, &size);

	if (err < 0)
		return err;
	if (off > size || len > size - off)
		return -EINVAL;
	return kh_board_slot_read((int)slot, off, buf, len);
}

int kh_fwslot_mark_swap(int permanent)
{
	return kh_board_mark_swap(permanent);
}

int kh_fwslot_confirm(void)
{
	return kh_board_confirm();
}
