/* SPDX-License-Identifier: MIT */
/*
 * The gap-aware event cursor (server/follow.h): ids handed on above the
 * cursor are kept sorted; the cursor moves over every run of them that
 * starts right above it, and over a hole once the hole is gap_ms old.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/follow.h"

struct kh_follow *kh_follow_new(int64_t since, const char *serial, int min_severity, int64_t gap_ms)
{
	struct kh_follow *f = calloc(1, sizeof(*f));

	if (f) {
		f->cursor = since > 0 ? since : 0;
		f->serial = serial;
		f->min_severity = min_severity;
		/* one device's events come in its own order: only the fleet's stream has holes */
		f->gap_ms = serial ? 0 : gap_ms;
	}
	return f;
}

void kh_follow_free(struct kh_follow *f)
{
	free(f);
}

/* Index of the first seen id >= id. */
static unsigned seen_find(const struct kh_follow *f, int64_t id)
{
	unsigned lo = 0, hi = f->nseen;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (f->seen[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The cursor over the run of seen ids right above it. */
static void take_run(struct kh_follow *f)
{
	unsigned n = 0;

	while (n < f->nseen && f->seen[n] == f->cursor + 1) {
		f->cursor++;
		n++;
	}
	if (n) {
		memmove(f->seen, f->seen + n, (f->nseen - n) * sizeof(f->seen[0]));
		f->nseen -= n;
	}
}

/* Give up the lowest hole: its ids are not coming (or not in time). */
static void skip_hole(struct kh_follow *f)
{
	f->given_up += (uint64_t)(f->seen[0] - f->cursor - 1);
	f->cursor = f->seen[0] - 1;
	f->hole_at = 0;
	take_run(f);
}

static void seen_add(struct kh_follow *f, int64_t id)
{
	unsigned at;

	if (f->nseen == KH_FOLLOW_SEEN_MAX)
		skip_hole(f);
	if (id <= f->cursor) /* a late one in a hole just given up: never offered again */
		return;
	at = seen_find(f, id);
	memmove(f->seen + at + 1, f->seen + at, (f->nseen - at) * sizeof(f->seen[0]));
	f->seen[at] = id;
	f->nseen++;
}

struct poll_ctx {
	struct kh_follow *f;
	int (*fn)(void *arg, const struct kh_event_rec *e);
	void *arg;
	int64_t last;
	unsigned rows, handed;
	int err;
};

static int on_event(void *arg, const struct kh_event_rec *e)
{
	struct poll_ctx *c = arg;
	struct kh_follow *f = c->f;
	unsigned at = seen_find(f, e->id);

	c->rows++;
	c->last = e->id;
	if (at < f->nseen && f->seen[at] == e->id)
		return 0; /* handed on in an earlier poll */
	if (e->severity >= f->min_severity) {
		int rc = c->fn(c->arg, e);
		if (rc) {
			c->err = rc < 0 ? rc : -ECANCELED;
			return 1;
		}
		c->handed++;
	}
	seen_add(f, e->id);
	return 0;
}

int kh_follow_poll(struct kh_follow *f, struct kh_store *s, uint64_t now_ms,
		   int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	struct poll_ctx c = {.f = f, .fn = fn, .arg = arg, .last = f->cursor};
	const unsigned page = 1000;

	do {
		c.rows = 0;
		if (kh_store_events(s, c.last, f->serial, page, on_event, &c) < 0)
			return -EIO;
		if (c.err) {
			take_run(f); /* what went before the refused one is handed on */
			return c.err;
		}
	} while (c.rows == page);
	take_run(f);
	/* a hole waits gap_ms from when it became the lowest; 0: none is waited for */
	while (f->nseen) {
		if (!f->hole_at)
			f->hole_at = now_ms;
		if (now_ms - f->hole_at < (uint64_t)f->gap_ms)
			break;
		skip_hole(f);
	}
	if (!f->nseen)
		f->hole_at = 0;
	return (int)c.handed;
}
