/* SPDX-License-Identifier: MIT */
/*
 * The report queue: events waiting to be delivered to the central server,
 * kept in a journal in the state directory so that they survive daemon
 * restarts and reboots, bounded in count and bytes. Each event gets the
 * next per-device sequence number (monotonic for the device's life: the
 * counter is persisted even when the queue is empty). The server
 * acknowledges the highest sequence number it has stored; everything up
 * to it is forgotten.
 *
 * When the bound is reached, room is made by dropping the oldest event of
 * the lowest severity present; if the new event's severity is lower than
 * every queued one, the new event is dropped instead. Drops are counted
 * per severity and persisted, so the count itself can be reported
 * (docs/PROTOCOL.md); nothing disappears silently.
 *
 * Journal (STATE/events.journal, little-endian records, each protected by
 * a CRC-32): a header record (next sequence number, acknowledged sequence,
 * drop counters), then EVENT, DROP (an event removed to make room) and ACK
 * records appended as things happen. At open, records are replayed; a torn
 * or corrupt tail (power loss mid-append) is cut off and the journal is
 * rewritten whole. The journal is also rewritten (compacted) when it grows
 * past twice the live data. Appends are not synced one by one (flash
 * wear): kh_queue_sync() makes them durable; a process crash loses
 * nothing, a power loss at most what was appended since the last sync.
 */
#ifndef KHIEN_AGENT_QUEUE_H
#define KHIEN_AGENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto.h"

#define KH_QUEUE_TYPE_MAX KH_PROTO_EVENT_TYPE_MAX /* event type, e.g. "dns_blocked" */
/* payload: a JSON object's text; half the protocol's limit leaves room for re-encoding */
#define KH_QUEUE_PAYLOAD_MAX (KH_PROTO_EVENT_DATA_MAX / 2)

struct kh_queue;

struct kh_queue_event {
	uint64_t seq;
	int64_t time; /* wall clock, Unix seconds, when it happened */
	enum kh_severity severity;
	const char *type;    /* NUL-terminated */
	const char *payload; /* NUL-terminated JSON object text */
	size_t payload_len;
};

struct kh_queue_stats {
	unsigned count;			/* events queued */
	size_t bytes;			/* their size as stored */
	uint64_t next_seq;		/* the number the next event gets */
	uint64_t acked;			/* highest sequence the server acknowledged */
	uint64_t dropped[KH_SEV_COUNT]; /* events dropped for room, per severity, ever */
	uint64_t journal_bytes;
};

/*
 * Open (or create) the journal at path with room for max_events events and
 * max_bytes bytes of them. Returns 0, or negative errno with why (an
 * unreadable journal is not an error: it is reported in why, set aside as
 * path.corrupt and a new one started, because refusing to start would lose
 * all future events).
 */
int kh_queue_open(const char *path, unsigned max_events, size_t max_bytes, struct kh_queue **out,
		  char *why, size_t whylen);
/* Accepts NULL; syncs what was appended. */
void kh_queue_free(struct kh_queue *q);

/*
 * Queue an event. type: [a-z0-9_], 1..KH_QUEUE_TYPE_MAX chars; payload: a
 * JSON object's text (not parsed here), <= KH_QUEUE_PAYLOAD_MAX bytes.
 * *seq gets its sequence number, or 0 if the queue was full of events at
 * least as severe and this one was dropped (counted). -EINVAL for a bad
 * type or payload, other negative errno if the journal cannot be written
 * (the event is then kept in memory only, and the failure is retried).
 */
int kh_queue_push(struct kh_queue *q, enum kh_severity sev, int64_t time, const char *type,
		  const char *payload, uint64_t *seq);

/*
 * The oldest queued events with sequence number > after, up to max of them,
 * in sequence order. The pointers stay valid until the next push, ack or
 * free. Returns how many were written to out.
 */
unsigned kh_queue_peek(const struct kh_queue *q, uint64_t after, struct kh_queue_event *out,
		       unsigned max);

/*
 * The server has stored every event up to seq: forget them (persisted).
 * A seq at or above the next number this journal would issue means the
 * server knows an earlier life of this device (its state was wiped): it
 * has none of the queued events, so they are renumbered from seq + 1.
 */
int kh_queue_ack(struct kh_queue *q, uint64_t seq);

/* Make appended records durable (called on a timer and at exit). */
int kh_queue_sync(struct kh_queue *q);

void kh_queue_stats(const struct kh_queue *q, struct kh_queue_stats *st);

#endif
