/* SPDX-License-Identifier: MIT */
/*
 * Following the event stream (`khien-server events --follow`, `forward`):
 * every stored event is handed on once, in id order as far as the store
 * allows, without missing one that commits late.
 *
 * Ids come from the store's sequence when the insert runs, not when it
 * commits: with several instances on one PostgreSQL, id 41 may become
 * visible after id 42. A reader that kept "the largest id seen" would skip
 * 41 for ever. So the cursor is the largest id below which every id has
 * been handed on (or given up after gap_ms: a rolled-back insert leaves a
 * hole that never fills), and the ids handed on above it are remembered
 * until the cursor passes them.
 */
#ifndef KHIEN_SERVER_FOLLOW_H
#define KHIEN_SERVER_FOLLOW_H

#include <stdint.h>

#include "server/store.h"

/* ids handed on above the cursor (512 KiB); more: the lowest hole is given up early */
#define KH_FOLLOW_SEEN_MAX 65536

struct kh_follow {
	int64_t cursor;	  /* every id <= cursor is handed on or given up */
	int64_t gap_ms;	  /* how long a hole is waited for */
	uint64_t hole_at; /* when the lowest hole became the lowest; 0: none */
	const char *serial;
	int min_severity; /* events below it are skipped (and count as handed on) */
	unsigned nseen;
	int64_t seen[KH_FOLLOW_SEEN_MAX]; /* sorted */
	uint64_t given_up;		  /* holes passed without their event */
};

/* From id since on (0: everything stored); NULL when out of memory. */
struct kh_follow *kh_follow_new(int64_t since, const char *serial, int min_severity,
				int64_t gap_ms);
void kh_follow_free(struct kh_follow *f);

/*
 * Read what the store has above the cursor and hand each new event to fn
 * (a non-zero return stops: the event is not counted as handed on, and the
 * next poll offers it again). now_ms: a monotonic clock. Returns the number
 * handed on, or a negative errno (store error, or fn's).
 */
int kh_follow_poll(struct kh_follow *f, struct kh_store *s, uint64_t now_ms,
		   int (*fn)(void *arg, const struct kh_event_rec *e), void *arg);

#endif
