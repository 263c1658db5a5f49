/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the report queue's journal replay: any bytes as the journal file
 * (one temporary path per process), opened with modest limits. Oracles:
 * opening never fails on content (a bad journal is cut or set aside); the
 * queued events are in strictly increasing sequence order above acked and
 * below next_seq, well-formed and within the limits, and agree with the
 * stats; one more event can be pushed and gets next_seq; and after free a
 * reopen finds a clean journal holding exactly the same state. Each input
 * runs twice: as given, then with the CRC of every record it frames
 * recomputed, so that mutations reach the checks behind the CRC.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/queue.h"
#include "lib/crc32.h"
#include "lib/err.h"

#define MAX_EVENTS 32
#define MAX_BYTES 8192
#define SEQ_SPACE ((uint64_t)1 << 62) /* agent/queue.c: numbers stay below this */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[128], cpath[160];

static void cleanup(void)
{
	unlink(path);
	unlink(cpath);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm/khqfuzz-XXXXXX" : "/tmp/khqfuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/events.journal", dir);
	snprintf(cpath, sizeof(cpath), "%s.corrupt", path);
	atexit(cleanup);
}

struct state {
	struct kh_queue_stats st;
	unsigned n;
	uint64_t seq[MAX_EVENTS];
};

static int type_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < 1 || n > KH_QUEUE_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
			return 0;
	return 1;
}

/* Check the invariants and record the state. */
static void check(const struct kh_queue *q, struct state *s)
{
	struct kh_queue_event ev[MAX_EVENTS + 1], rest[MAX_EVENTS + 1];
	uint64_t prev;

	memset(s, 0, sizeof(*s));
	kh_queue_stats(q, &s->st);
	if (s->st.count > MAX_EVENTS || s->st.bytes > MAX_BYTES ||
	    (s->st.count == 0) != (s->st.bytes == 0))
		abort();
	if (s->st.next_seq < 1 || s->st.next_seq > SEQ_SPACE || s->st.acked >= s->st.next_seq)
		abort();
	s->n = kh_queue_peek(q, 0, ev, MAX_EVENTS + 1);
	if (s->n != s->st.count)
		abort();
	prev = s->st.acked;
	for (unsigned i = 0; i < s->n; i++) {
		if (ev[i].seq <= prev || ev[i].seq >= s->st.next_seq)
			abort();
		if ((unsigned)ev[i].severity >= KH_SEV_COUNT || !type_ok(ev[i].type))
			abort();
		if (ev[i].payload_len > KH_QUEUE_PAYLOAD_MAX ||
		    strlen(ev[i].payload) != ev[i].payload_len)
			abort();
		prev = s->seq[i] = ev[i].seq;
		/* Peeking after an event gives the ones behind it. */
		if (kh_queue_peek(q, ev[i].seq, rest, MAX_EVENTS + 1) != s->n - i - 1 ||
		    (i + 1 < s->n && rest[0].seq != ev[i + 1].seq))
			abort();
	}
}

static int same(const struct state *a, const struct state *b)
{
	return a->n == b->n && a->st.count == b->st.count && a->st.bytes == b->st.bytes &&
	       a->st.next_seq == b->st.next_seq && a->st.acked == b->st.acked &&
	       memcmp(a->st.dropped, b->st.dropped, sizeof(a->st.dropped)) == 0 &&
	       memcmp(a->seq, b->seq, a->n * sizeof(a->seq[0])) == 0;
}

static void run(const uint8_t *data, size_t size)
{
	struct kh_queue *q = NULL;
	struct state before, after;
	char why[256];
	uint64_t seq;
	FILE *f;
	int err;

	unlink(cpath);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	err = kh_queue_open(path, MAX_EVENTS, MAX_BYTES, &q, why, sizeof(why));
	if (err == -E2BIG)
		return; /* over the journal bound: refused and left alone */
	if (err < 0 || !q)
		abort(); /* content alone must never stop the queue */
	check(q, &before);

	err = kh_queue_push(q, KH_SEV_CRITICAL, 1700000000, "fuzz_probe", "{\"probe\":true}", &seq);
	if (before.st.next_seq >= SEQ_SPACE) {
		if (err != -EOVERFLOW)
			abort();
	} else if (err != 0 || seq != before.st.next_seq) {
		abort(); /* a critical event always finds room */
	}
	check(q, &before);
	if (err == 0 && (before.n == 0 || before.seq[before.n - 1] != seq))
		abort();
	kh_queue_free(q);

	/* What was written replays to the same state, with nothing to cut. */
	q = NULL;
	if (kh_queue_open(path, MAX_EVENTS, MAX_BYTES, &q, why, sizeof(why)) < 0 || !q)
		abort();
	if (why[0])
		abort();
	check(q, &after);
	if (!same(&before, &after))
		abort();
	kh_queue_free(q);
}

/* Recompute the CRC of each record (kind, 16-bit length, body, CRC-32). */
static int fix_crcs(uint8_t *b, size_t size)
{
	size_t off = 0;
	int changed = 0;

	while (off + 7 <= size) {
		size_t n = (size_t)b[off + 1] | (size_t)b[off + 2] << 8;
		uint32_t crc;
		if (off + 7 + n > size)
			break;
		crc = kh_crc32(0, b + off, 3 + n);
		for (int i = 0; i < 4; i++) {
			uint8_t v = (uint8_t)(crc >> (8 * i));
			changed |= b[off + 3 + n + (size_t)i] != v;
			b[off + 3 + n + (size_t)i] = v;
		}
		off += 7 + n;
	}
	return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (!dir[0])
		setup();
	run(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (fix_crcs(copy, size))
		run(copy, size);
	free(copy);
	return 0;
}
