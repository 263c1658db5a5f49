/* SPDX-License-Identifier: MIT */
/*
 * An RTOS gateway has no neighbour file and no zone database: profiles
 * match clients by IP and CIDR, and time_zone takes a POSIX TZ string.
 */
#include "lib/err.h"
#include "platform/lan.h"

int kh_neigh_read(const char *path, struct kh_neigh *out, unsigned max)
{
	(void)path;
	(void)out;
	(void)max;
	return -ENOTSUP;
}

int kh_zone_read(const char *name, size_t max, uint8_t **buf, size_t *len)
{
	(void)name;
	(void)max;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}
