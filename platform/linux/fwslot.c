/* SPDX-License-Identifier: MIT */
/*
 * Firmware slots on Linux (platform/fwslot.h): none. Linux routers boot
 * their image from a partition that firmware/ checks against a signed
 * manifest; MCUboot slots exist only on lwIP gateways.
 */
#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/fwslot.h"

int kh_fwslot_size(enum kh_fwslot slot, uint32_t *size)
{
	(void)slot;
	*size = 0;
	return -ENOTSUP;
}

int kh_fwslot_read(enum kh_fwslot slot, uint32_t off, void *buf, size_t len)
{
	(void)slot;
	(void)off;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int kh_fwslot_mark_swap(int permanent)
{
	(void)permanent;
	return -ENOTSUP;
}

int kh_fwslot_confirm(void)
{
	return -ENOTSUP;
}
