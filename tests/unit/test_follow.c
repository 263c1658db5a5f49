/* SPDX-License-Identifier: MIT */
/*
 * The gap-aware event cursor (server/follow.c) over a fake store whose
 * rows become visible when the test says, as PostgreSQL commits do: every
 * event handed on once, a late commit below the highest id seen still
 * handed on, a hole that never fills given up after gap_ms, a refused
 * event offered again, and the bounded memory of ids above the cursor.
 * The fake is a backend (server/store_be.h) so the real dispatch runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/follow.h"
#include "server/store_be.h"
#include "tests/unit/kt.h"

#define NROWS (KH_FOLLOW_SEEN_MAX + 64)

static struct {
	int64_t id;
	int visible, severity;
	char serial[8];
} rows[NROWS];
static unsigned nrows;

static int fake_events(struct kh_store *s, int64_t since, const char *serial, unsigned limit,
		       int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	unsigned given = 0;

	(void)s;
	/* rows are kept in id order: SELECT ... WHERE id > since ORDER BY id LIMIT n */
	for (unsigned i = 0; i < nrows && given < limit; i++) {
		struct kh_event_rec e = {.id = rows[i].id, .severity = rows[i].severity};
		if (!rows[i].visible || rows[i].id <= since ||
		    (serial && strcmp(serial, rows[i].serial)))
			continue;
		snprintf(e.serial, sizeof(e.serial), "%s", rows[i].serial);
		snprintf(e.type, sizeof(e.type), "t");
		e.payload = "{}";
		given++;
		if (fn(arg, &e))
			break;
	}
	return 0;
}

static const struct kh_store_ops fake_ops = {.name = "fake", .events = fake_events};
static struct kh_store fake = {.ops = &fake_ops};

static void rows_reset(unsigned n)
{
	memset(rows, 0, sizeof(rows));
	nrows = n;
	for (unsigned i = 0; i < n; i++) {
		rows[i].id = (int64_t)i + 1;
		rows[i].visible = 1;
		rows[i].severity = 2;
		snprintf(rows[i].serial, sizeof(rows[i].serial), "%s", i % 2 ? "dev-b" : "dev-a");
	}
}

/* what the callback saw */
static int handed[NROWS + 1];
static int64_t refuse_id; /* the callback refuses this id once */

static int on_event(void *arg, const struct kh_event_rec *e)
{
	(void)arg;
	if (e->id == refuse_id) {
		refuse_id = 0;
		return -EPIPE;
	}
	handed[e->id]++;
	return 0;
}

static void handed_reset(void)
{
	memset(handed, 0, sizeof(handed));
	refuse_id = 0;
}

static void test_in_order_once(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 0, 1000);

	rows_reset(2500);
	handed_reset();
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), 2500);
	KT_EQ(kh_follow_poll(f, &fake, 1100, on_event, NULL), 0);
	for (int i = 1; i <= 2500; i++)
		KT_EQ(handed[i], 1);
	KT_EQ(f->cursor, 2500);
	KT_EQ(f->nseen, 0);
	kh_follow_free(f);
}

static void test_late_commit_handed_on(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 0, 5000);

	rows_reset(10);
	handed_reset();
	rows[2].visible = 0; /* id 3 commits after 4..10 */
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), 9);
	KT_EQ(f->cursor, 2);
	KT_EQ(handed[3], 0);
	KT_EQ(kh_follow_poll(f, &fake, 3000, on_event, NULL), 0); /* 2 s later: still waited for */
	rows[2].visible = 1;
	KT_EQ(kh_follow_poll(f, &fake, 4000, on_event, NULL), 1);
	KT_EQ(handed[3], 1);
	KT_EQ(f->cursor, 10);
	KT_EQ(f->given_up, 0);
	for (int i = 1; i <= 10; i++)
		KT_EQ(handed[i], 1); /* none twice */
	kh_follow_free(f);
}

static void test_hole_given_up(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 0, 5000);

	rows_reset(10);
	handed_reset();
	rows[2].visible = 0; /* a rolled-back insert: id 3 never comes */
	rows[6].visible = 0; /* and 7 commits late, after 3 was given up */
	kh_follow_poll(f, &fake, 1000, on_event, NULL);
	kh_follow_poll(f, &fake, 5999, on_event, NULL);
	KT_EQ(f->cursor, 2);
	kh_follow_poll(f, &fake, 6000, on_event, NULL);
	KT_EQ(f->given_up, 1);
	KT_EQ(f->cursor, 6); /* 7 is the next hole, waited for from now */
	rows[6].visible = 1;
	KT_EQ(kh_follow_poll(f, &fake, 7000, on_event, NULL), 1);
	KT_EQ(handed[7], 1);
	KT_EQ(f->cursor, 10);
	kh_follow_free(f);
}

static void test_refused_offered_again(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 0, 1000);

	rows_reset(5);
	handed_reset();
	refuse_id = 3; /* the collector is down when 3 goes out */
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), -EPIPE);
	KT_EQ(handed[3], 0);
	KT_EQ(f->cursor, 2);
	KT_EQ(kh_follow_poll(f, &fake, 1100, on_event, NULL), 3);
	for (int i = 1; i <= 5; i++)
		KT_EQ(handed[i], 1);
	KT_EQ(f->cursor, 5);
	kh_follow_free(f);
}

static void test_severity_and_serial(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 3, 1000);

	rows_reset(6);
	handed_reset();
	rows[4].severity = 3;
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), 1); /* only the critical one */
	KT_EQ(handed[5], 1);
	KT_EQ(f->cursor, 6); /* the others count as handed on */
	kh_follow_free(f);
	/* one device: the other's ids are not holes, nothing is waited for */
	f = kh_follow_new(0, "dev-a", 0, 60000);
	handed_reset();
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), 3);
	KT_EQ(f->cursor, 5);
	KT_EQ(handed[2] + handed[4] + handed[6], 0);
	kh_follow_free(f);
}

static void test_bounded_memory(void)
{
	struct kh_follow *f = kh_follow_new(0, NULL, 0, 60000);

	rows_reset(NROWS);
	handed_reset();
	rows[0].visible = 0; /* a hole at the bottom, and more ids above it than are remembered */
	KT_EQ(kh_follow_poll(f, &fake, 1000, on_event, NULL), NROWS - 1);
	KT_CHECK(f->nseen <= KH_FOLLOW_SEEN_MAX);
	KT_EQ(f->given_up, 1); /* the hole went early rather than memory growing */
	KT_EQ(kh_follow_poll(f, &fake, 1100, on_event, NULL), 0);
	for (int i = 2; i <= NROWS; i++)
		KT_EQ(handed[i], 1);
	kh_follow_free(f);
}

int main(void)
{
	KT_RUN(test_in_order_once);
	KT_RUN(test_late_commit_handed_on);
	KT_RUN(test_hole_given_up);
	KT_RUN(test_refused_offered_again);
	KT_RUN(test_severity_and_serial);
	KT_RUN(test_bounded_memory);
	return KT_DONE();
}
