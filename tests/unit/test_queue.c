/* SPDX-License-Identifier: MIT */
/*
 * The report queue (agent/queue.c) and CRC-32: order, persistence across
 * reopen, the drop policy under the count and byte bounds, compaction,
 * failed appends (RLIMIT_FSIZE) and a kill -9 crash loop against a child
 * process. The journal's replay of torn and corrupt files is in
 * test_queue_journal.c. Journals live in a mkdtemp directory that is
 * removed at the end.
 */
#include "test_queue.h"

static void test_crc32(void)
{
	const char *fox = "The quick brown fox jumps over the lazy dog";

	KT_EQ(kh_crc32(0, "123456789", 9), 0xCBF43926u);
	KT_EQ(kh_crc32(0, "", 0), 0);
	KT_EQ(kh_crc32(0, "a", 1), 0xE8B7BE43u);
	KT_EQ(kh_crc32(0, fox, strlen(fox)), 0x414FA339u);
	KT_EQ(kh_crc32(kh_crc32(0, fox, 10), fox + 10, strlen(fox) - 10), 0x414FA339u);
}

static void test_severity_names(void)
{
	KT_STREQ(kh_severity_name(KH_SEV_LOW), "low");
	KT_STREQ(kh_severity_name(KH_SEV_CRITICAL), "critical");
	KT_STREQ(kh_severity_name((enum kh_severity)7), "unknown");
	KT_EQ(kh_severity_parse("medium"), KH_SEV_MEDIUM);
	KT_EQ(kh_severity_parse("high"), KH_SEV_HIGH);
	KT_EQ(kh_severity_parse("High"), -EINVAL);
	KT_EQ(kh_severity_parse(""), -EINVAL);
}

static void test_push_peek_ack(void)
{
	struct kh_queue *q = qopen("order", 100, BIG, NULL);
	struct kh_queue_event ev[8];
	struct kh_queue_stats st;

	if (!q)
		return;
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 0);
	KT_EQ(st.next_seq, 1);
	KT_EQ(st.acked, 0);
	KT_EQ(kh_queue_push(q, KH_SEV_HIGH, -5, "dns_blocked", "{\"d\":\"c2.example\"}", NULL), 0);
	KT_EQ(push(q, KH_SEV_LOW, "a", ""), 2);
	KT_EQ(push(q, KH_SEV_CRITICAL, "botnet_c2", "{}"), 3);
	KT_EQ(kh_queue_peek(q, 0, ev, 8), 3);
	KT_EQ(ev[0].seq, 1);
	KT_EQ(ev[0].time, -5);
	KT_EQ(ev[0].severity, KH_SEV_HIGH);
	KT_STREQ(ev[0].type, "dns_blocked");
	KT_STREQ(ev[0].payload, "{\"d\":\"c2.example\"}");
	KT_EQ(ev[0].payload_len, strlen("{\"d\":\"c2.example\"}"));
	KT_STREQ(ev[1].payload, "");
	KT_EQ(ev[1].payload_len, 0);
	KT_EQ(ev[2].severity, KH_SEV_CRITICAL);
	KT_EQ(kh_queue_peek(q, 1, ev, 8), 2);
	KT_EQ(ev[0].seq, 2);
	KT_EQ(kh_queue_peek(q, 0, ev, 1), 1);
	KT_EQ(ev[0].seq, 1);
	KT_EQ(kh_queue_peek(q, 3, ev, 8), 0);

	KT_EQ(kh_queue_ack(q, 2), 0);
	KT_EQ(kh_queue_peek(q, 0, ev, 8), 1);
	KT_EQ(ev[0].seq, 3);
	KT_EQ(kh_queue_ack(q, 1), 0); /* old ack: nothing changes */
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 1);
	KT_EQ(st.acked, 2);
	KT_EQ(st.next_seq, 4);
	KT_EQ(kh_queue_ack(q, 3), 0);
	KT_EQ(kh_queue_peek(q, 0, ev, 8), 0);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 0);
	KT_EQ(st.bytes, 0);
	KT_EQ(st.journal_bytes, file_size(jpath("order")));
	KT_EQ(kh_queue_sync(q), 0);
	kh_queue_free(q);
	kh_queue_free(NULL);
}

/*
 * The server acks a number never issued here (the device's state was lost):
 * it has none of the queued events, so they are renumbered above its
 * number (not forgotten), and numbering continues there across reopen.
 */
static void test_ack_ahead(void)
{
	struct kh_queue *q = qopen("ahead", 10, BIG, NULL);
	struct kh_queue_event ev[4];
	struct kh_queue_stats st;
	char why[256];

	if (!q)
		return;
	push(q, KH_SEV_LOW, "x", "{\"n\":1}");
	push(q, KH_SEV_HIGH, "y", "{\"n\":2}");
	KT_EQ(kh_queue_ack(q, 500), 0);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 2);
	KT_EQ(st.acked, 500);
	KT_EQ(st.next_seq, 503);
	KT_EQ(kh_queue_peek(q, 500, ev, 4), 2);
	KT_EQ(ev[0].seq, 501);
	KT_STREQ(ev[0].payload, "{\"n\":1}");
	KT_EQ(ev[1].seq, 502);
	KT_STREQ(ev[1].type, "y");
	KT_EQ(kh_queue_ack(q, (uint64_t)1 << 62), -ERANGE);
	kh_queue_stats(q, &st);
	KT_EQ(st.acked, 500);
	KT_EQ(st.next_seq, 503);
	kh_queue_free(q);
	q = qopen("ahead", 10, BIG, why);
	if (!q)
		return;
	KT_STREQ(why, "");
	kh_queue_stats(q, &st);
	KT_EQ(st.acked, 500);
	KT_EQ(st.count, 2);
	KT_EQ(st.next_seq, 503);
	KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), 503);
	KT_EQ(kh_queue_ack(q, 502), 0);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 1);
	kh_queue_free(q);
}

static void test_push_invalid(void)
{
	struct kh_queue *q = qopen("invalid", 10, BIG, NULL);
	char long_type[KH_QUEUE_TYPE_MAX + 2], long_pl[KH_QUEUE_PAYLOAD_MAX + 2];
	struct kh_queue_stats st;
	uint64_t seq = 5;

	if (!q)
		return;
	memset(long_type, 'a', sizeof(long_type) - 1);
	long_type[sizeof(long_type) - 1] = 0;
	memset(long_pl, 'x', sizeof(long_pl) - 1);
	long_pl[sizeof(long_pl) - 1] = 0;
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "", "{}", &seq), -EINVAL);
	KT_EQ(seq, 0);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "Dns", "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "a-b", "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "a b", "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, long_type, "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, NULL, "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "a", NULL, NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, KH_SEV_LOW, 0, "a", long_pl, NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, (enum kh_severity)4, 0, "a", "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(q, (enum kh_severity) - 1, 0, "a", "{}", NULL), -EINVAL);
	KT_EQ(kh_queue_push(NULL, KH_SEV_LOW, 0, "a", "{}", NULL), -EINVAL);
	long_type[KH_QUEUE_TYPE_MAX] = 0; /* exactly the maximum is fine */
	long_pl[KH_QUEUE_PAYLOAD_MAX] = 0;
	KT_EQ(push(q, KH_SEV_LOW, long_type, long_pl), 1);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 1);
	KT_EQ(st.next_seq, 2);
	kh_queue_free(q);
}

static void test_open_errors(void)
{
	struct kh_queue *q = (struct kh_queue *)1;
	char why[256], big[128];
	uint8_t *junk;

	KT_EQ(kh_queue_open(jpath("x"), 0, BIG, &q, why, sizeof(why)), -EINVAL);
	KT_EQ(kh_queue_open(jpath("x"), 10, 100, &q, why, sizeof(why)), -EINVAL);
	KT_CHECK(kh_queue_open(jpath("no/such/dir"), 10, BIG, &q, why, sizeof(why)) < 0);
	KT_CHECK(q == NULL);
	KT_CHECK(why[0] != 0);

	/* A file far over what the limits allow is refused and left alone. */
	snprintf(big, sizeof(big), "%s", jpath("huge"));
	junk = calloc(1, 4u << 20);
	KT_CHECK(junk != NULL);
	if (!junk)
		return;
	write_file(big, junk, 4u << 20);
	free(junk);
	KT_EQ(kh_queue_open(big, 10, 4096, &q, why, sizeof(why)), -E2BIG);
	KT_CHECK(strstr(why, "larger") != NULL);
	KT_EQ(file_size(big), 4u << 20);
	unlink(big);
}

static void test_persistence(void)
{
	struct kh_queue *q = qopen("persist", 4, BIG, NULL);
	struct snap a, b;
	char why[256];

	if (!q)
		return;
	push(q, KH_SEV_LOW, "t1", "{\"n\":1}");
	push(q, KH_SEV_HIGH, "t2", "{\"n\":2}");
	push(q, KH_SEV_MEDIUM, "t3", "{\"n\":3}");
	push(q, KH_SEV_CRITICAL, "t4", "{\"n\":4}");
	push(q, KH_SEV_HIGH, "t5", "{\"n\":5}");	  /* drops 1 */
	KT_EQ(push(q, KH_SEV_LOW, "t6", "{\"n\":6}"), 0); /* dropped itself */
	KT_EQ(kh_queue_ack(q, 2), 0);
	take(q, &a);
	KT_EQ(a.n, 3);
	KT_EQ(a.st.dropped[KH_SEV_LOW], 2);
	kh_queue_free(q);

	q = qopen("persist", 4, BIG, why);
	if (!q)
		return;
	KT_STREQ(why, ""); /* a clean journal: nothing to report */
	take(q, &b);
	KT_CHECK(snap_eq(&a, &b));
	KT_STREQ(b.payload[0], "{\"n\":3}");
	KT_EQ(push(q, KH_SEV_CRITICAL, "t7", "{}"), 6);
	kh_queue_free(q);
}

static void test_next_seq_survives(void)
{
	struct kh_queue *q = qopen("nextseq", 10, BIG, NULL);
	struct kh_queue_stats st;
	char why[256];
	int i;

	if (!q)
		return;
	for (i = 0; i < 3; i++)
		push(q, KH_SEV_LOW, "x", "{}");
	KT_EQ(kh_queue_ack(q, 3), 0);
	kh_queue_free(q);
	q = qopen("nextseq", 10, BIG, NULL);
	if (!q)
		return;
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 0);
	KT_EQ(st.next_seq, 4);
	KT_EQ(st.acked, 3);
	KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), 4);
	kh_queue_free(q);

	/*
	 * Push and ack until a compaction leaves the journal as a bare HEADER:
	 * then it alone carries next_seq and acked.
	 */
	q = qopen("nextseq2", 10, BIG, NULL);
	if (!q)
		return;
	for (i = 1; i <= 5000; i++) {
		push(q, KH_SEV_LOW, "x", "{\"pad\":\"0123456789012345678901234567890123456789\"}");
		KT_EQ(kh_queue_ack(q, (uint64_t)i), 0);
		kh_queue_stats(q, &st);
		if (st.journal_bytes == 63) /* HEADER only */
			break;
	}
	KT_CHECK(i > 100 && i <= 5000);
	kh_queue_free(q);
	q = qopen("nextseq2", 10, BIG, why);
	if (!q)
		return;
	KT_STREQ(why, "");
	kh_queue_stats(q, &st);
	KT_EQ(st.journal_bytes, 63);
	KT_EQ(st.next_seq, (uint64_t)i + 1);
	KT_EQ(st.acked, (uint64_t)i);
	KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), (uint64_t)i + 1);
	kh_queue_free(q);
}

static void test_drop_policy_count(void)
{
	struct kh_queue *q = qopen("dropc", 5, BIG, NULL);
	struct kh_queue_stats st;
	struct snap a, b;
	uint64_t seq;

	if (!q)
		return;
	push(q, KH_SEV_LOW, "e", "{}");		   /* 1 */
	push(q, KH_SEV_MEDIUM, "e", "{}");	   /* 2 */
	push(q, KH_SEV_HIGH, "e", "{}");	   /* 3 */
	push(q, KH_SEV_LOW, "e", "{}");		   /* 4 */
	push(q, KH_SEV_CRITICAL, "e", "{}");	   /* 5 */
	KT_EQ(push(q, KH_SEV_HIGH, "e", "{}"), 6); /* evicts 1, the oldest low */
	seqs_are(q, (const uint64_t[]){2, 3, 4, 5, 6}, 5);
	KT_EQ(push(q, KH_SEV_MEDIUM, "e", "{}"), 7); /* evicts 4, the other low */
	seqs_are(q, (const uint64_t[]){2, 3, 5, 6, 7}, 5);
	KT_EQ(push(q, KH_SEV_LOW, "e", "{}"), 0); /* lower than all: dropped itself */
	seqs_are(q, (const uint64_t[]){2, 3, 5, 6, 7}, 5);
	/* same severity as the least severe queued: the first ones stay, the newcomer goes */
	KT_EQ(push(q, KH_SEV_MEDIUM, "e", "{}"), 0);
	seqs_are(q, (const uint64_t[]){2, 3, 5, 6, 7}, 5);
	KT_EQ(push(q, KH_SEV_CRITICAL, "e", "{}"), 8); /* evicts 2, the oldest medium */
	seqs_are(q, (const uint64_t[]){3, 5, 6, 7, 8}, 5);
	kh_queue_stats(q, &st);
	KT_EQ(st.dropped[KH_SEV_LOW], 3);
	KT_EQ(st.dropped[KH_SEV_MEDIUM], 2);
	KT_EQ(st.dropped[KH_SEV_HIGH], 0);
	KT_EQ(st.dropped[KH_SEV_CRITICAL], 0);
	KT_EQ(st.next_seq, 9);
	take(q, &a);
	kh_queue_free(q);
	q = qopen("dropc", 5, BIG, NULL);
	if (!q)
		return;
	take(q, &b);
	KT_CHECK(snap_eq(&a, &b));
	kh_queue_free(q);

	/* Full of critical events: a high one is dropped, counted, persisted. */
	q = qopen("dropc2", 3, BIG, NULL);
	if (!q)
		return;
	for (int i = 0; i < 3; i++)
		push(q, KH_SEV_CRITICAL, "c", "{}");
	KT_EQ(kh_queue_push(q, KH_SEV_HIGH, 0, "h", "{}", &seq), 0);
	KT_EQ(seq, 0);
	seqs_are(q, (const uint64_t[]){1, 2, 3}, 3);
	kh_queue_free(q);
	q = qopen("dropc2", 3, BIG, NULL);
	if (!q)
		return;
	kh_queue_stats(q, &st);
	KT_EQ(st.dropped[KH_SEV_HIGH], 1);
	KT_EQ(st.next_seq, 4);
	KT_EQ(st.count, 3);
	kh_queue_free(q);
}

static void test_drop_policy_bytes(void)
{
	struct kh_queue *q;
	struct kh_queue_stats st;
	char bigpl[801];
	size_t small, large, maxb;
	unsigned fit;

	memset(bigpl, 'p', 800);
	bigpl[800] = 0;
	/* Measure the stored sizes of the two event shapes used below. */
	q = qopen("dropb0", 100, BIG, NULL);
	if (!q)
		return;
	push(q, KH_SEV_LOW, "s", "{}");
	kh_queue_stats(q, &st);
	small = st.bytes;
	push(q, KH_SEV_LOW, "b", bigpl);
	kh_queue_stats(q, &st);
	large = st.bytes - small;
	kh_queue_free(q);
	KT_CHECK(large > 10 * small);

	/* Room for exactly 3 large events; fill with small ones. */
	maxb = 3 * large;
	fit = (unsigned)(maxb / small);
	q = qopen("dropb", 1000, maxb, NULL);
	if (!q)
		return;
	for (unsigned i = 0; i < fit; i++)
		push(q, i < 5 ? KH_SEV_LOW : KH_SEV_MEDIUM, "s", "{}");
	kh_queue_stats(q, &st);
	KT_EQ(st.count, fit);
	KT_EQ(st.dropped[KH_SEV_LOW], 0);
	/* Another small medium evicts the oldest low. */
	KT_EQ(push(q, KH_SEV_MEDIUM, "s", "{}"), fit + 1);
	kh_queue_stats(q, &st);
	KT_EQ(st.dropped[KH_SEV_LOW], 1);
	KT_EQ(st.count, fit);
	/* A large high evicts the 4 remaining lows, then the oldest mediums. */
	KT_EQ(push(q, KH_SEV_HIGH, "b", bigpl), fit + 2);
	kh_queue_stats(q, &st);
	{
		size_t need = (fit * small + large) - maxb; /* beyond the bound */
		unsigned victims = (unsigned)((need + small - 1) / small);
		KT_EQ(st.count, fit - victims + 1);
		KT_EQ(st.dropped[KH_SEV_LOW], 5);
		KT_EQ(st.dropped[KH_SEV_MEDIUM], victims - 4);
		KT_CHECK(st.bytes <= maxb);
		struct kh_queue_event ev[1];
		KT_EQ(kh_queue_peek(q, 0, ev, 1), 1);
		KT_EQ(ev[0].seq, 6 + victims - 4); /* the oldest mediums went first */
	}
	/*
	 * A large low: freeing every low (there are none) cannot make room, so
	 * it is dropped itself and nothing else goes.
	 */
	kh_queue_stats(q, &st);
	{
		unsigned before = st.count;
		uint64_t dm = st.dropped[KH_SEV_MEDIUM];
		KT_EQ(push(q, KH_SEV_LOW, "b", bigpl), 0);
		kh_queue_stats(q, &st);
		KT_EQ(st.count, before);
		KT_EQ(st.dropped[KH_SEV_MEDIUM], dm);
		KT_EQ(st.dropped[KH_SEV_LOW], 6);
	}
	kh_queue_free(q);

	/*
	 * Lows are present but evicting all of them is not enough, and the rest
	 * is more severe: the new medium is dropped and the lows stay.
	 */
	q = qopen("dropb2", 1000, maxb, NULL);
	if (!q)
		return;
	push(q, KH_SEV_LOW, "s", "{}");
	push(q, KH_SEV_HIGH, "b", bigpl);
	push(q, KH_SEV_HIGH, "b", bigpl);
	push(q, KH_SEV_HIGH, "s", "{}");
	KT_EQ(push(q, KH_SEV_MEDIUM, "b", bigpl), 0);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 4);
	KT_EQ(st.dropped[KH_SEV_LOW], 0);
	KT_EQ(st.dropped[KH_SEV_MEDIUM], 1);
	kh_queue_free(q);
}

/* A long outage with a full queue: the journal stays bounded. */
static void test_outage_bounded(void)
{
	struct kh_queue *q = qopen("outage", 50, 64 * 1024, NULL);
	struct kh_queue_stats st;
	uint64_t maxj = 0;

	if (!q)
		return;
	for (int i = 0; i < 20000; i++) {
		char pl[64];
		snprintf(pl, sizeof(pl), "{\"i\":%d}", i);
		push(q, (enum kh_severity)(i % 4), "dns_blocked", pl);
		kh_queue_stats(q, &st);
		if (st.journal_bytes > maxj)
			maxj = st.journal_bytes;
	}
	KT_EQ(st.count, 50);
	KT_CHECK(st.dropped[0] + st.dropped[1] + st.dropped[2] + st.dropped[3] == 20000 - 50);
	KT_CHECK(maxj <= 2 * (st.bytes + 64) + 64 * 1024 + 2048);
	kh_queue_free(q);
}

static void test_lowered_limits(void)
{
	struct kh_queue *q = qopen("lower", 100, BIG, NULL);
	struct kh_queue_stats st;
	char why[256];
	struct snap a, b;

	if (!q)
		return;
	for (int i = 0; i < 20; i++)
		push(q, i == 3 ? KH_SEV_HIGH : KH_SEV_LOW, "e", "{}");
	kh_queue_free(q);
	q = qopen("lower", 5, BIG, why);
	if (!q)
		return;
	KT_CHECK(why[0] != 0);
	seqs_are(q, (const uint64_t[]){1, 2, 3, 4, 5}, 5); /* at equal severity the first stay */
	kh_queue_stats(q, &st);
	KT_EQ(st.dropped[KH_SEV_LOW], 15);
	KT_EQ(st.next_seq, 21);
	take(q, &a);
	kh_queue_free(q);
	q = qopen("lower", 5, BIG, why);
	if (!q)
		return;
	KT_STREQ(why, "");
	take(q, &b);
	KT_CHECK(snap_eq(&a, &b));
	kh_queue_free(q);

	/* Replayed events less severe than everything kept are dropped too. */
	q = qopen("lower2", 100, BIG, NULL);
	if (!q)
		return;
	for (int i = 0; i < 5; i++)
		push(q, i < 3 ? KH_SEV_CRITICAL : KH_SEV_LOW, "e", "{}");
	kh_queue_free(q);
	q = qopen("lower2", 3, BIG, why);
	if (!q)
		return;
	seqs_are(q, (const uint64_t[]){1, 2, 3}, 3);
	kh_queue_stats(q, &st);
	KT_EQ(st.dropped[KH_SEV_LOW], 2);
	KT_EQ(st.next_seq, 6);
	kh_queue_free(q);
}

/*
 * Cut the journal at every length through its last records: reopening keeps
 * exactly the complete records (the state after the last whole operation,
 * or after the DROP half of an evicting push).
 */
static void test_compaction(void)
{
	struct kh_queue *q = qopen("compact", 2000, BIG, NULL);
	struct kh_queue_stats st;
	struct snap a, b;
	uint64_t before;

	if (!q)
		return;
	for (int i = 0; i < 1000; i++) {
		char pl[200];
		snprintf(pl, sizeof(pl), "{\"i\":%d,\"pad\":\"%0150d\"}", i, i);
		push(q, (enum kh_severity)(i % 4), "compact_test", pl);
	}
	kh_queue_stats(q, &st);
	before = st.journal_bytes;
	KT_CHECK(before > 180000); /* no compaction while everything is live */
	KT_EQ(kh_queue_ack(q, 990), 0);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 10);
	KT_CHECK(st.journal_bytes < before / 10);
	KT_EQ(st.journal_bytes, 63 + st.bytes); /* just HEADER + live events */
	KT_EQ(st.journal_bytes, file_size(jpath("compact")));
	take(q, &a);
	KT_EQ(a.seq[0], 991);
	KT_CHECK(strstr(a.payload[0], "\"i\":990,") != NULL);
	/* Appends continue on the compacted file. */
	KT_EQ(push(q, KH_SEV_HIGH, "compact_test", "{}"), 1001);
	take(q, &a);
	kh_queue_free(q);
	q = qopen("compact", 2000, BIG, NULL);
	if (!q)
		return;
	take(q, &b);
	KT_CHECK(snap_eq(&a, &b));
	kh_queue_free(q);
}

/* Appends that fail (file size limit) keep the event and repair later. */
static void test_append_failure(void)
{
	struct kh_queue *q = qopen("efbig", 100, BIG, NULL);
	struct kh_queue_stats st;
	struct rlimit old, lim;
	struct snap a, b;
	void (*oldsig)(int);

	if (!q)
		return;
	push(q, KH_SEV_HIGH, "a", "{\"n\":1}");
	kh_queue_stats(q, &st);
	KT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.journal_bytes + 10;
	KT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
	{
		uint64_t seq = 0;
		int err = kh_queue_push(q, KH_SEV_HIGH, 0, "a", "{\"n\":2}", &seq);
		KT_CHECK(err < 0);
		KT_EQ(seq, 2);		/* kept in memory, numbered */
		err = kh_queue_sync(q); /* the rewrite fails too */
		KT_CHECK(err < 0);
	}
	KT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	kh_queue_stats(q, &st);
	KT_EQ(st.count, 2);
	KT_EQ(push(q, KH_SEV_HIGH, "a", "{\"n\":3}"), 3); /* rewrites the whole journal */
	kh_queue_stats(q, &st);
	KT_EQ(st.journal_bytes, file_size(jpath("efbig")));
	take(q, &a);
	kh_queue_free(q);
	q = qopen("efbig", 100, BIG, NULL);
	if (!q)
		return;
	take(q, &b);
	KT_CHECK(snap_eq(&a, &b));
	KT_EQ(b.n, 3);
	KT_STREQ(b.payload[1], "{\"n\":2}");
	kh_queue_free(q);
}

/*
 * kill -9 at random moments. The child pushes and acks in a loop and logs
 * each completed operation (16-byte records, one write each) to a file;
 * after every kill the parent reopens the journal and checks that nothing
 * the child pushed and did not ack was lost, nothing was duplicated and
 * numbers never went backwards.
 */
struct oprec {
	uint8_t op; /* 'P' pushed, 'A' acked */
	uint8_t pad[3];
	uint32_t k; /* for P: the payload number */
	uint64_t seq;
};

static void crash_child(const char *jp, const char *lp, unsigned seed)
{
	struct kh_queue *q = NULL;
	int fd = open(lp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct kh_queue_stats st;
	uint32_t k = seed * 100000u;

	if (fd < 0 || kh_queue_open(jp, 4000, 1u << 20, &q, NULL, 0) < 0)
		_exit(2);
	srand(seed);
	for (;;) {
		struct oprec r = {0};
		char pl[96];
		kh_queue_stats(q, &st);
		if (st.count > 0 && rand() % (st.count > 200 ? 3 : 20) == 0) {
			struct kh_queue_event ev[64];
			unsigned max = st.count > 200 ? 64 : 8;
			unsigned n = kh_queue_peek(q, st.acked, ev, 1 + (unsigned)rand() % max);
			if (n == 0 || kh_queue_ack(q, ev[n - 1].seq) < 0)
				_exit(3);
			r.op = 'A';
			r.seq = ev[n - 1].seq;
		} else {
			uint64_t seq;
			k++;
			snprintf(pl, sizeof(pl), "{\"k\":%u,\"pad\":\"%0*u\"}", k, rand() % 60, 0u);
			if (kh_queue_push(q, KH_SEV_MEDIUM, (int64_t)k, "crash_test", pl, &seq) <
				    0 ||
			    seq == 0)
				_exit(4);
			r.op = 'P';
			r.k = k;
			r.seq = seq;
		}
		if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(5);
		if (rand() % 1000 == 0)
			kh_queue_sync(q);
	}
}

static void test_crash_kill9(void)
{
	char jp[256], lp[256];
	uint64_t last_pushed = 0, last_next = 1;
	uint8_t *pushed = NULL; /* by seq: 1 if reported pushed */
	size_t pcap = 0;
	unsigned trials = 0, checked_events = 0;
	size_t done = 0; /* log records already taken in */
	uint64_t acked_rep = 0;

	snprintf(jp, sizeof(jp), "%s", jpath("crash"));
	snprintf(lp, sizeof(lp), "%s", jpath("crash.log"));
	unlink(lp);
	{
		unsigned seed = (unsigned)time(NULL);
		printf("#   crash test seed %u\n", seed);
		srand(seed);
	}
	for (trials = 0; trials < 120; trials++) {
		pid_t pid = fork();
		struct oprec *log;
		size_t loglen, nrec;
		uint8_t *lb = NULL;
		struct kh_queue *q;
		struct kh_queue_stats st;
		char why[256];
		int status;

		if (pid == 0)
			crash_child(jp, lp, trials + 1);
		KT_CHECK(pid > 0);
		if (pid < 0)
			break;
		usleep((useconds_t)(rand() % 30000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status)) {
			printf("#   child exited with %d\n", WEXITSTATUS(status));
			KT_CHECK(0);
			break;
		}
		if (kh_fs_read(lp, 64u << 20, &lb, &loglen) < 0) {
			loglen = 0; /* killed before its first operation */
			lb = NULL;
		}
		log = (struct oprec *)(void *)lb;
		nrec = loglen / sizeof(struct oprec);
		for (size_t i = done; i < nrec; i++) {
			if (log[i].op == 'P') {
				/* Numbers are never reused, even across crashes. */
				KT_CHECK(log[i].seq > last_pushed);
				last_pushed = log[i].seq;
				if (log[i].seq >= pcap) {
					size_t ncap = (size_t)log[i].seq * 2 + 1024;
					uint8_t *np = realloc(pushed, ncap);
					if (!np)
						abort();
					memset(np + pcap, 0, ncap - pcap);
					pushed = np;
					pcap = ncap;
				}
				pushed[log[i].seq] = 1;
			} else if (log[i].op == 'A' && log[i].seq > acked_rep) {
				acked_rep = log[i].seq;
			}
		}
		free(lb);
		done = nrec;

		q = NULL;
		if (kh_queue_open(jp, 4000, 1u << 20, &q, why, sizeof(why)) < 0) {
			printf("#   reopen: %s\n", why);
			KT_CHECK(0);
			break;
		}
		kh_queue_stats(q, &st);
		KT_CHECK(st.acked >= acked_rep);
		KT_CHECK(st.next_seq > last_pushed);
		KT_CHECK(st.next_seq >= last_next);
		KT_EQ(st.dropped[KH_SEV_MEDIUM], 0);
		last_next = st.next_seq;
		{
			struct kh_queue_event ev[256];
			uint64_t after = 0, prev = st.acked;
			unsigned total = 0, n;
			/* Every reported push above the persisted ack is still queued. */
			uint64_t expect = st.acked + 1;
			while ((n = kh_queue_peek(q, after, ev, 256)) > 0) {
				for (unsigned i = 0; i < n; i++) {
					char want[32];
					KT_CHECK(ev[i].seq > prev);
					prev = ev[i].seq;
					for (; expect < ev[i].seq; expect++)
						if (expect < pcap && pushed[expect]) {
							printf("#   lost seq %llu\n",
							       (unsigned long long)expect);
							KT_CHECK(0);
						}
					expect = ev[i].seq + 1;
					snprintf(want, sizeof(want), "{\"k\":%lld,",
						 (long long)ev[i].time);
					KT_CHECK(strncmp(ev[i].payload, want, strlen(want)) == 0);
					KT_STREQ(ev[i].type, "crash_test");
				}
				total += n;
				after = ev[n - 1].seq;
			}
			for (; expect <= last_pushed; expect++)
				if (expect < pcap && pushed[expect]) {
					printf("#   lost seq %llu\n", (unsigned long long)expect);
					KT_CHECK(0);
				}
			KT_EQ(total, st.count);
			checked_events += total;
		}
		kh_queue_free(q);
		if (kt_case_failed)
			break;
	}
	printf("#   %u kills, %llu events pushed, %u queued events checked\n", trials,
	       (unsigned long long)last_pushed, checked_events);
	KT_CHECK(trials >= 100);
	KT_CHECK(last_pushed > 1000); /* the children did real work */
	free(pushed);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	KT_RUN(test_crc32);
	KT_RUN(test_severity_names);
	KT_RUN(test_push_peek_ack);
	KT_RUN(test_ack_ahead);
	KT_RUN(test_push_invalid);
	KT_RUN(test_open_errors);
	KT_RUN(test_persistence);
	KT_RUN(test_next_seq_survives);
	KT_RUN(test_drop_policy_count);
	KT_RUN(test_drop_policy_bytes);
	KT_RUN(test_outage_bounded);
	KT_RUN(test_lowered_limits);
	KT_RUN(test_compaction);
	KT_RUN(test_append_failure);
	KT_RUN(test_crash_kill9);
	remove_dir();
	return KT_DONE();
}
