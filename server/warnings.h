/* SPDX-License-Identifier: MIT */
/*
 * Customers to warn (Directive 18/CT-TTg §5; docs/SERVER.md "warnings"):
 * the LAN clients behind each device that asked for names of a security
 * category, grouped by device, client pseudonym and threat. One reading of
 * the events for `khien-server warnings` and the dashboard alike.
 */
#ifndef KHIEN_SERVER_WARNINGS_H
#define KHIEN_SERVER_WARNINGS_H

#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

struct kh_warning {
	char serial[KH_SERIAL_MAX + 1], client[65], category[64];
	int64_t first, last; /* the device's clock */
	uint64_t count;	     /* with the repeats the device folded into one event */
};

/*
 * Read the events with id > since (of device, NULL for all), at most
 * max_events of them, and group the dns_blocked ones of severity medium or
 * more: *out (heap, the caller frees it) gets *n groups, by device, client
 * and threat. 0, -ENOMEM, or the store's error.
 */
int kh_warnings_collect(struct kh_store *st, const char *device, int64_t since, uint64_t max_events,
			struct kh_warning **out, size_t *n);

#endif
