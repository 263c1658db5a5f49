/* SPDX-License-Identifier: MIT */
/*
 * The words agent and server share (docs/PROTOCOL.md), in one place so the
 * two sides cannot drift: event severities (lib/severity.h), what an event
 * type may look like, how much data one event carries, how many events one
 * upload holds, and the largest integer a JSON number carries exactly.
 */
#ifndef KHIEN_LIB_PROTO_H
#define KHIEN_LIB_PROTO_H

#include <stddef.h>

#include "lib/severity.h"

/* 2^53 - 1: the last integer a double (cJSON's number) holds exactly (lib/jsonnum.h). */
#define KH_JSON_INT_MAX 9007199254740991ull

/* An event type: [a-z0-9_], 1..KH_PROTO_EVENT_TYPE_MAX bytes ("dns_blocked"). */
#define KH_PROTO_EVENT_TYPE_MAX 31

/*
 * An event's data: a JSON object whose compact text is at most this long,
 * as the server measures it. The agent keeps at most half of it per event
 * (agent/queue.h), so the upload's re-encoding of what it queued always
 * fits what the server accepts.
 */
#define KH_PROTO_EVENT_DATA_MAX 2048

/* Events in one upload (POST /v1/events). */
#define KH_PROTO_EVENTS_MAX 500

/* 1 if t[0..n) is a valid event type. */
static inline int kh_proto_event_type_ok(const char *t, size_t n)
{
	if (n < 1 || n > KH_PROTO_EVENT_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
			return 0;
	return 1;
}

#endif
