/* SPDX-License-Identifier: MIT */
/*
 * What the home profiles need from the system (agent/profile.h): the LAN
 * neighbour table, to tell devices by MAC address, and the time-zone
 * database, to resolve an IANA zone name. Linux reads /proc/net/arp (or a
 * file in its format, for tests) and /usr/share/zoneinfo (or $TZDIR); an
 * RTOS backend has neither and says so.
 */
#ifndef KHIEN_PLATFORM_LAN_H
#define KHIEN_PLATFORM_LAN_H

#include <stddef.h>
#include <stdint.h>

#include "platform/net.h"

struct kh_neigh {
	struct kh_addr ip; /* port 0 */
	uint8_t mac[6];
};

/*
 * Read the neighbour table (path in /proc/net/arp's format; NULL for the
 * system's) into out, at most max complete entries (incomplete ones are
 * skipped). Returns the number filled, or a negative errno (-ENOTSUP
 * where the platform has no table).
 */
int kh_neigh_read(const char *path, struct kh_neigh *out, unsigned max);

/*
 * Read the TZif file of IANA zone name ("Asia/Ho_Chi_Minh": letters,
 * digits, '_', '-', '+' and single '/' between parts, never "..") into a
 * new heap buffer the caller frees. -EINVAL for a name that is not one,
 * -ENOENT if the zone is not installed, -ENOTSUP without a database.
 */
int kh_zone_read(const char *name, size_t max, uint8_t **buf, size_t *len);

#endif
