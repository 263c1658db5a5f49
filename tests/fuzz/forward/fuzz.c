/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the syslog/CEF formatter (server/forward.c) with what a device
 * controls: the event's payload (its "data", any bytes) and type. Input:
 * first byte picks the format and a buffer size, up to the first newline
 * is the type, the rest the payload. Oracles: no crash or over-read; the
 * message is shorter than the buffer, NUL-terminated at its length,
 * well-formed UTF-8 with no control character; in RFC 5424 exactly one
 * structured-data element, ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "server/forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_fwd_cfg c = {.facility = 16, .host = "fuzz", .pid = 1, .version = "0"};
	struct kh_event_rec e = {.id = 1, .seq = 2, .time = 3, .received = 4, .severity = 2};
	static char buf[KH_FWD_TCP_MAX];
	const uint8_t *nl;
	char *payload;
	size_t cap, n, tlen;

	if (size < 1)
		return 0;
	c.format = data[0] & 1 ? KH_FWD_CEF : KH_FWD_RFC5424;
	cap = data[0] & 2 ? KH_FWD_UDP_MAX + 1 : sizeof(buf);
	if (data[0] & 4)
		cap = 1 + (size_t)(data[0] >> 3) * 8;
	e.severity = (data[0] >> 3) & 3;
	data++, size--;
	nl = memchr(data, '\n', size);
	tlen = nl ? (size_t)(nl - data) : 0;
	if (tlen >= sizeof(e.type))
		tlen = sizeof(e.type) - 1;
	memcpy(e.type, data, tlen);
	e.type[tlen] = 0;
	if (nl)
		size -= (size_t)(nl - data) + 1, data = nl + 1;
	snprintf(e.serial, sizeof(e.serial), "fuzz-1");
	if (!(payload = malloc(size + 1)))
		return 0;
	memcpy(payload, data, size);
	payload[size] = 0;
	e.payload = payload;
	n = kh_fwd_format(&c, &e, buf, cap);
	if (n >= cap || buf[n] != 0 || strlen(buf) != n)
		abort();
	for (size_t i = 0; i < n;) {
		size_t k = kh_utf8_seq((const uint8_t *)buf + i, n - i);
		if (!k || (k == 1 && ((uint8_t)buf[i] < 0x20 || buf[i] == 0x7f)))
			abort();
		i += k;
	}
	if (c.format == KH_FWD_RFC5424 && n + 64 < cap) {
		/* not cut (no unit is 64 bytes): one SD element, closed before the JSON */
		const char *sd = strstr(buf, " [khien@32473 "),
			   *end = sd ? strstr(sd, "\"] {") : NULL;
		if (!sd || !end)
			abort();
	}
	free(payload);
	return 0;
}
