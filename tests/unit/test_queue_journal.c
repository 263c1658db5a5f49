/* SPDX-License-Identifier: MIT */
/*
 * The report queue's journal replay (agent/queue.c, queue_journal.h):
 * torn tails at every truncation length, flipped bytes, and each rule a
 * replayed record must keep. Journals live in a mkdtemp directory that is
 * removed at the end.
 */
#include "test_queue.h"

static void test_torn_tail(void)
{
	struct kh_queue *q = qopen("torn", 3, BIG, NULL);
	struct kh_queue_stats st;
	struct snap s[8], mid, got;
	size_t end[8], mid_end = 0, len;
	uint8_t *full;
	int nops = 0;
	char why[256];

	if (!q)
		return;
	push(q, KH_SEV_CRITICAL, "c", "{\"a\":1}");
	push(q, KH_SEV_CRITICAL, "c", "{\"a\":2}");
	push(q, KH_SEV_CRITICAL, "c", "{\"a\":3}");
#define STEP()                                          \
	do {                                            \
		take(q, &s[nops]);                      \
		kh_queue_stats(q, &st);                 \
		end[nops++] = (size_t)st.journal_bytes; \
	} while (0)
	STEP();
	KT_EQ(push(q, KH_SEV_LOW, "l", "{}"), 0); /* DROP(new) */
	STEP();
	KT_EQ(kh_queue_ack(q, 1), 0); /* ACK */
	STEP();
	KT_EQ(push(q, KH_SEV_HIGH, "h", "{\"a\":4}"), 4); /* EVENT */
	STEP();
	/*
	 * DROP(4) + EVENT(5) in one append: in between, 4 is dropped (counted)
	 * and 5 absent, i.e. the state after the ack plus one high drop, with
	 * next_seq already past 4.
	 */
	mid = s[3];
	mid.n--;
	mid.st.count--;
	mid.st.bytes = s[2].st.bytes;
	mid.st.dropped[KH_SEV_HIGH]++;
	mid_end = end[3] + 16; /* a DROP record is 7 + 9 bytes */
	KT_EQ(push(q, KH_SEV_CRITICAL, "c", "{\"a\":5}"), 5);
	STEP();
	KT_EQ(push(q, KH_SEV_MEDIUM, "m", "{\"a\":\"medium\"}"), 0);
	STEP();
	KT_EQ(kh_queue_ack(q, 2), 0);
	STEP();
	KT_EQ(push(q, KH_SEV_MEDIUM, "m", "{\"a\":6}"), 6);
	STEP();
#undef STEP
	kh_queue_free(q);
	if (kh_fs_read(jpath("torn"), BIG, &full, &len) < 0) {
		KT_CHECK(0);
		return;
	}
	KT_EQ(len, end[nops - 1]);
	for (size_t cut = end[0]; cut <= len; cut++) {
		const struct snap *want = NULL;
		int boundary = 0;
		for (int i = 0; i < nops; i++) {
			if (end[i] <= cut) {
				want = &s[i];
				boundary = end[i] == cut;
			}
		}
		if (cut >= mid_end && cut < end[4]) {
			want = &mid;
			boundary = cut == mid_end;
		}
		write_file(jpath("torn_cut"), full, cut);
		q = qopen("torn_cut", 3, BIG, why);
		if (!q)
			break;
		take(q, &got);
		if (!snap_eq(&got, want)) {
			printf("#   at cut %zu of %zu\n", cut, len);
			KT_CHECK(0);
		}
		KT_EQ(why[0] == 0, boundary); /* a cut is reported, a clean end is not */
		kh_queue_free(q);
		/* Rewritten clean: a second open finds nothing to cut. */
		q = qopen("torn_cut", 3, BIG, why);
		if (!q)
			break;
		KT_STREQ(why, "");
		take(q, &got);
		KT_CHECK(snap_eq(&got, want));
		kh_queue_free(q);
	}
	free(full);
}

/* A byte flipped inside record k keeps records 1..k-1 only. */
static void test_flipped_byte(void)
{
	struct kh_queue *q = qopen("flip", 100, BIG, NULL);
	struct kh_queue_stats st;
	size_t end[7], len;
	uint8_t *full;
	char why[256];

	if (!q)
		return;
	kh_queue_stats(q, &st);
	end[0] = (size_t)st.journal_bytes;
	for (int i = 1; i <= 6; i++) {
		char pl[32];
		snprintf(pl, sizeof(pl), "{\"event\":%d}", i);
		push(q, KH_SEV_MEDIUM, "flip", pl);
		kh_queue_stats(q, &st);
		end[i] = (size_t)st.journal_bytes;
	}
	kh_queue_free(q);
	if (kh_fs_read(jpath("flip"), BIG, &full, &len) < 0) {
		KT_CHECK(0);
		return;
	}
	for (int k = 1; k <= 6; k++) {
		for (size_t pos = end[k - 1]; pos < end[k]; pos += 3) {
			uint64_t want[6] = {1, 2, 3, 4, 5, 6};
			full[pos] ^= 0x40;
			write_file(jpath("flip_bad"), full, len);
			full[pos] ^= 0x40;
			q = qopen("flip_bad", 100, BIG, why);
			if (!q)
				return;
			seqs_are(q, want, (unsigned)k - 1);
			kh_queue_stats(q, &st);
			/* Intact records after the bad one still reserve their numbers. */
			KT_EQ(st.next_seq, k < 6 ? 7 : 6);
			KT_CHECK(why[0] != 0);
			KT_EQ(push(q, KH_SEV_LOW, "after", "{}"), st.next_seq);
			kh_queue_free(q);
			q = qopen("flip_bad", 100, BIG, why);
			if (!q)
				return;
			KT_STREQ(why, "");
			kh_queue_stats(q, &st);
			KT_EQ(st.count, (unsigned)k);
			kh_queue_free(q);
		}
	}

	/* A bad header: set aside, new journal, numbers kept past the old ones. */
	full[5] ^= 1;
	write_file(jpath("flip_hdr"), full, len);
	q = qopen("flip_hdr", 100, BIG, why);
	if (q) {
		uint8_t *copy;
		size_t clen;
		KT_CHECK(strstr(why, "corrupt") != NULL);
		kh_queue_stats(q, &st);
		KT_EQ(st.count, 0);
		KT_EQ(st.next_seq, 7);
		KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), 7);
		KT_EQ(kh_fs_read(jpath("flip_hdr.corrupt"), BIG, &copy, &clen), 0);
		if (clen == len)
			KT_MEMEQ(copy, full, len);
		KT_EQ(clen, len);
		free(copy);
		kh_queue_free(q);
	}
	free(full);

	/* Garbage: also set aside; an empty file is simply a new journal. */
	write_file(jpath("garbage"), (const uint8_t *)"not a journal at all", 20);
	q = qopen("garbage", 100, BIG, why);
	if (q) {
		KT_CHECK(strstr(why, "corrupt") != NULL);
		KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), 1);
		kh_queue_free(q);
	}
	write_file(jpath("empty"), (const uint8_t *)"", 0);
	q = qopen("empty", 100, BIG, why);
	if (q) {
		KT_EQ(push(q, KH_SEV_LOW, "x", "{}"), 1);
		kh_queue_free(q);
	}
}

/* Records built by hand from the layout documented in agent/queue.c. */
static size_t mkrec(uint8_t *p, uint8_t kind, const uint8_t *body, size_t n)
{
	uint32_t crc;

	p[0] = kind;
	p[1] = (uint8_t)n;
	p[2] = (uint8_t)(n >> 8);
	memcpy(p + 3, body, n);
	crc = kh_crc32(0, p, 3 + n);
	for (int i = 0; i < 4; i++)
		p[3 + n + i] = (uint8_t)(crc >> (8 * i));
	return 7 + n;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static size_t mkevent(uint8_t *p, uint64_t seq, unsigned sev, const char *type, const char *pl,
		      size_t plen)
{
	uint8_t b[1200];
	size_t tlen = strlen(type);

	put64(b, seq);
	put64(b + 8, 1700000000);
	b[16] = (uint8_t)sev;
	b[17] = (uint8_t)tlen;
	b[18] = (uint8_t)plen;
	b[19] = (uint8_t)(plen >> 8);
	memcpy(b + 20, type, tlen);
	memcpy(b + 20 + tlen, pl, plen);
	return mkrec(p, 'E', b, 20 + tlen + plen);
}

/* Each replay rule: a record that breaks it cuts the journal there. */
static void test_replay_rules(void)
{
	struct kh_queue *q = qopen("rules", 100, BIG, NULL);
	uint8_t *base, buf[4096], body[64];
	size_t blen, n;
	char why[256];

	if (!q)
		return;
	push(q, KH_SEV_LOW, "a", "{}");
	push(q, KH_SEV_MEDIUM, "a", "{}");
	push(q, KH_SEV_HIGH, "a", "{}");
	kh_queue_free(q);
	if (kh_fs_read(jpath("rules"), BIG, &base, &blen) < 0) {
		KT_CHECK(0);
		return;
	}
	for (int c = 0; c <= 14; c++) {
		const char *reason = NULL;
		struct kh_queue_stats st;

		memcpy(buf, base, blen);
		n = blen;
		switch (c) {
		case 0: /* control: a good record is kept */
			break;
		case 1:
			n += mkevent(buf + n, 3, 0, "dup", "{}", 2);
			reason = "out of order";
			break;
		case 2:
			n += mkevent(buf + n, 2, 0, "back", "{}", 2);
			reason = "out of order";
			break;
		case 3:
			n += mkevent(buf + n, 4, 4, "sev", "{}", 2);
			reason = "bad severity";
			break;
		case 4:
			n += mkevent(buf + n, 4, 0, "Upper", "{}", 2);
			reason = "bad event type";
			break;
		case 5:
			n += mkevent(buf + n, 4, 0, "nul", "{\0}", 3);
			reason = "NUL";
			break;
		case 6: {
			uint8_t e[64];
			size_t k = mkevent(e, 4, 0, "x", "{}", 2);
			e[3 + 17] = 2; /* tlen no longer adds up */
			n += mkrec(buf + n, 'E', e + 3, k - 7);
			reason = "length mismatch";
			break;
		}
		case 7:
			put64(body, 50);
			n += mkrec(buf + n, 'A', body, 8);
			reason = "unissued";
			break;
		case 8:
			put64(body, 7);
			body[8] = 0;
			n += mkrec(buf + n, 'D', body, 9);
			reason = "not queued";
			break;
		case 9:
			put64(body, 2);
			body[8] = 0; /* 2 is medium */
			n += mkrec(buf + n, 'D', body, 9);
			reason = "severity mismatch";
			break;
		case 10:
			n += mkrec(buf + n, base[0], base + 3, 56);
			reason = "second header";
			break;
		case 11:
			put64(body, 3);
			n += mkrec(buf + n, 'Z', body, 8);
			reason = "unknown";
			break;
		case 12:
			n += mkevent(buf + n, 4, 0, "long", "", 0);
			buf[blen + 1] = 0xd0; /* 2000 */
			buf[blen + 2] = 0x07;
			reason = "too long";
			break;
		case 14: {
			static char pl[1031];
			memset(pl, 'x', 1030);
			n += mkevent(buf + n, 4, 0, "p", pl, 1030);
			reason = "payload too long";
			break;
		}
		case 13:
			put64(body, 3);
			n += mkrec(buf + n, 'A', body, 8);
			n += mkevent(buf + n, 3, 0, "acked", "{}", 2);
			reason = "out of order";
			break;
		}
		n += mkevent(buf + n, 10, 2, "after", "{}", 2);
		write_file(jpath("rules_bad"), buf, n);
		q = qopen("rules_bad", 100, BIG, why);
		if (!q)
			break;
		kh_queue_stats(q, &st);
		if (!reason) {
			KT_STREQ(why, "");
			KT_EQ(st.count, 4);
		} else {
			if (!strstr(why, reason))
				printf("#   case %d: why \"%s\", want \"%s\"\n", c, why, reason);
			KT_CHECK(strstr(why, reason) != NULL);
			KT_EQ(st.count, c == 13 ? 0 : 3);
		}
		KT_CHECK(st.next_seq >= 11); /* event 10 was seen either way */
		kh_queue_free(q);
	}
	free(base);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	KT_RUN(test_torn_tail);
	KT_RUN(test_flipped_byte);
	KT_RUN(test_replay_rules);
	remove_dir();
	return KT_DONE();
}
