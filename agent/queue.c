/* SPDX-License-Identifier: MIT */
/*
 * The report queue (see queue.h): the live events in memory, in sequence
 * order, and an append-only journal that is replayed at open. Files go
 * through platform/fs.h only (whole reads, atomic replacement, appends), so
 * an RTOS flash backend can carry the same journal.
 *
 * The journal's layout is in queue_journal.h.
 *
 * A push that evicts writes its DROP records and the EVENT in one append.
 * An ack beyond next_seq (the server has numbers this journal never issued:
 * state lost or replaced) moves next_seq past it, persisted by a rewrite,
 * so the ACK records of a journal always stay below next_seq.
 * Rewrites (compaction, repair) write HEADER + the live EVENTs with
 * kh_fs_write_atomic and reopen for append; the HEADER then carries
 * next_seq, acked and the drop counters, so nothing depends on the records
 * that were compacted away.
 *
 * Replay checks every record: framing (length within limits and within the
 * file), CRC, kind, exact body sizes, field ranges, EVENT seq strictly
 * increasing and > acked (and < 2^62, so next_seq cannot overflow), DROP
 * naming a queued event of that severity, ACK below next_seq. The first
 * record that fails ends the replay: what came before is kept, the rest is
 * cut off and the journal rewritten whole, so appends go on after a clean
 * record boundary; next_seq is raised past any sequence number still found
 * in a CRC-valid record of the part cut off. A bad HEADER means nothing can
 * be trusted: the file is copied to PATH.corrupt and a new journal started,
 * with next_seq above every sequence number found in any CRC-valid record
 * of the old file, so numbers are never reused. Memory stays bounded while replaying: events
 * are inserted under the same bounds and drop policy as pushes (this
 * matters only when the limits were lowered since the journal was written;
 * such drops are counted). The journal read is capped at 4 x (max_bytes +
 * 64 KiB + header); a healthy journal stays below half of that, since it is
 * compacted past max(2 x live, live + 64 KiB). A bigger file is refused
 * with -E2BIG and left alone rather than destroyed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/queue.h"
#include "agent/queue_journal.h"
#include "lib/compiler.h"
#include "lib/crc32.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "platform/fs.h"

#define COMPACT_SLACK ((size_t)64 * 1024)
#define MAX_EVENTS_LIMIT (1u << 20)
#define MAX_BYTES_LIMIT ((size_t)64 << 20)
#define SCAN_CRC_BUDGET ((size_t)16 << 20) /* bytes hashed looking for seqs in a bad file */

KH_STATIC_ASSERT(EV_BODY_MAX <= BODY_MAX, "an event must fit a record");
KH_STATIC_ASSERT(BODY_MAX <= 0xffff, "record length is 16 bits");

/* A queued event: fixed fields, then "type\0payload\0". */
struct qev {
	uint64_t seq;
	int64_t time;
	uint8_t sev;
	uint8_t tlen;
	uint16_t plen;
	char text[];
};

struct kh_queue {
	char *path;
	unsigned max_events;
	size_t max_bytes;
	struct qev **ring; /* cap slots, count used from head, sequence order */
	unsigned cap, head, count;
	unsigned nsev[KH_SEV_COUNT]; /* queued events per severity */
	size_t bytes;		     /* sum of their EVENT record sizes */
	uint64_t next_seq, acked, dropped[KH_SEV_COUNT];
	struct kh_fs_file *f; /* open for append unless dirty */
	uint64_t jbytes;
	int dirty; /* the journal does not match memory: rewrite before appending */
};

static void setwhy(char *why, size_t whylen, const char *fmt, ...) KH_PRINTF(3, 4);
static void setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static size_t journal_cap(size_t max_bytes)
{
	return 4 * (max_bytes + COMPACT_SLACK + HDR_REC);
}

static int64_t u64_to_i64(uint64_t v)
{
	return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static int type_ok(const char *t, size_t n)
{
	return kh_proto_event_type_ok(t, n); /* the rule the server applies (lib/proto.h) */
}

static size_t ev_size(const struct qev *e)
{
	return REC_OVERHEAD + EV_FIXED + e->tlen + e->plen;
}

static struct qev *ev_new(uint64_t seq, int64_t time, unsigned sev, const char *type, size_t tlen,
			  const char *payload, size_t plen)
{
	struct qev *e = malloc(sizeof(*e) + tlen + plen + 2);

	if (!e)
		return NULL;
	e->seq = seq;
	e->time = time;
	e->sev = (uint8_t)sev;
	e->tlen = (uint8_t)tlen;
	e->plen = (uint16_t)plen;
	memcpy(e->text, type, tlen);
	e->text[tlen] = 0;
	memcpy(e->text + tlen + 1, payload, plen);
	e->text[tlen + 1 + plen] = 0;
	return e;
}

/* ---- records ---- */

/* Fill in kind, length and CRC around a body already at p + 3. */
static size_t rec_seal(uint8_t *p, uint8_t kind, size_t n)
{
	p[0] = kind;
	kh_put_le16(p + 1, (uint16_t)n);
	kh_put_le32(p + 3 + n, kh_crc32(0, p, 3 + n));
	return REC_OVERHEAD + n;
}

static size_t put_header(const struct kh_queue *q, uint8_t *p)
{
	uint8_t *b = p + 3;

	memcpy(b, "KHQJ", 4);
	kh_put_le16(b + 4, HDR_VERSION);
	kh_put_le16(b + 6, 0);
	kh_put_le64(b + 8, q->next_seq);
	kh_put_le64(b + 16, q->acked);
	for (unsigned i = 0; i < KH_SEV_COUNT; i++)
		kh_put_le64(b + 24 + 8 * i, q->dropped[i]);
	return rec_seal(p, REC_HEADER, HDR_BODY);
}

static size_t put_event(const struct qev *e, uint8_t *p)
{
	uint8_t *b = p + 3;

	kh_put_le64(b, e->seq);
	kh_put_le64(b + 8, (uint64_t)e->time);
	b[16] = e->sev;
	b[17] = e->tlen;
	kh_put_le16(b + 18, e->plen);
	memcpy(b + EV_FIXED, e->text, e->tlen);
	memcpy(b + EV_FIXED + e->tlen, e->text + e->tlen + 1, e->plen);
	return rec_seal(p, REC_EVENT, EV_FIXED + e->tlen + e->plen);
}

static size_t put_drop(uint8_t *p, uint64_t seq, unsigned sev)
{
	kh_put_le64(p + 3, seq);
	p[3 + 8] = (uint8_t)sev;
	return rec_seal(p, REC_DROP, DROP_BODY);
}

static size_t put_ack(uint8_t *p, uint64_t seq)
{
	kh_put_le64(p + 3, seq);
	return rec_seal(p, REC_ACK, ACK_BODY);
}

/*
 * Frame the record at p (avail bytes left): returns NULL and its kind and
 * body, or why it is not a whole, intact record.
 */
static const char *rec_frame(const uint8_t *p, size_t avail, uint8_t *kind, const uint8_t **body,
			     size_t *n)
{
	size_t len;

	if (avail < REC_OVERHEAD)
		return "torn record";
	len = kh_le16(p + 1);
	if (len > BODY_MAX)
		return "record too long";
	if (REC_OVERHEAD + len > avail)
		return "torn record";
	if (kh_le32(p + 3 + len) != kh_crc32(0, p, 3 + len))
		return "bad CRC";
	*kind = p[0];
	*body = p + 3;
	*n = len;
	return NULL;
}

/* ---- the in-memory queue ---- */

static struct qev *ev_at(const struct kh_queue *q, unsigned i)
{
	return q->ring[(q->head + i) % q->cap];
}

static int ring_append(struct kh_queue *q, struct qev *e)
{
	if (q->count == q->cap)
		return -ENOSPC; /* cannot happen: the byte bound keeps count <= cap */
	q->ring[(q->head + q->count) % q->cap] = e;
	q->count++;
	q->nsev[e->sev]++;
	q->bytes += ev_size(e);
	return 0;
}

static void ring_remove(struct kh_queue *q, unsigned i)
{
	struct qev *e = ev_at(q, i);

	q->nsev[e->sev]--;
	q->bytes -= ev_size(e);
	free(e);
	if (i == 0) {
		q->head = (q->head + 1) % q->cap;
	} else {
		for (unsigned j = i; j + 1 < q->count; j++)
			q->ring[(q->head + j) % q->cap] = q->ring[(q->head + j + 1) % q->cap];
	}
	q->count--;
}

/* Index of the first event with seq > after (count if none). */
static unsigned find_after(const struct kh_queue *q, uint64_t after)
{
	unsigned lo = 0, hi = q->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (ev_at(q, mid)->seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The drop victim: the oldest event of the lowest severity present. */
static unsigned victim_index(const struct kh_queue *q)
{
	unsigned s = 0, i;

	while (s < KH_SEV_COUNT - 1 && q->nsev[s] == 0)
		s++;
	for (i = 0; i < q->count; i++)
		if (ev_at(q, i)->sev == s)
			break;
	return i;
}

/*
 * Can an event of severity sev and size bytes be queued by evicting events
 * less severe than it, in drop order (lowest severity, then oldest)? At
 * equal severity the queued one stays and the newcomer is dropped: the
 * first sign of an infection matters more than the thousandth, and a
 * burst cannot push it out before it is uploaded.
 * Returns 1 and how many victims that takes, or 0: the new event is the one
 * to drop. Deciding before evicting anything means nothing is dropped in
 * vain for an event that is then refused.
 */
static int room_plan(const struct kh_queue *q, unsigned sev, size_t size, unsigned *nvict)
{
	size_t need_c = q->count + 1 > q->max_events ? q->count + 1 - q->max_events : 0;
	size_t need_b = q->bytes + size > q->max_bytes ? q->bytes + size - q->max_bytes : 0;
	size_t fc = 0, fb = 0;

	*nvict = 0;
	if (!need_c && !need_b)
		return 1;
	for (unsigned s = 0; s < sev; s++) {
		if (!q->nsev[s])
			continue;
		for (unsigned i = 0; i < q->count; i++) {
			const struct qev *e = ev_at(q, i);
			if (e->sev != s)
				continue;
			fc++;
			fb += ev_size(e);
			if (fc >= need_c && fb >= need_b) {
				*nvict = (unsigned)fc;
				return 1;
			}
		}
	}
	return 0;
}

/* Evict nvict victims, counting them and writing their DROP records to rec. */
static size_t evict(struct kh_queue *q, unsigned nvict, uint8_t *rec)
{
	size_t n = 0;

	while (nvict--) {
		unsigned i = victim_index(q);
		struct qev *e = ev_at(q, i);
		if (rec)
			n += put_drop(rec + n, e->seq, e->sev);
		q->dropped[e->sev]++;
		ring_remove(q, i);
	}
	return n;
}

/* ---- journal writes ---- */

/*
 * Replace the journal with HEADER + the live events and reopen it for
 * appending. If the journal was in step with memory before (a compaction),
 * a failed replacement leaves a whole, valid file (the old or the new one),
 * so appending goes on; if it was dirty, it stays dirty until this works.
 */
static int rewrite(struct kh_queue *q)
{
	size_t len = HDR_REC + q->bytes, n;
	int was_dirty = q->dirty, err, err2;
	uint64_t size;
	uint8_t *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	n = put_header(q, buf);
	for (unsigned i = 0; i < q->count; i++)
		n += put_event(ev_at(q, i), buf + n);
	kh_fs_close(q->f);
	q->f = NULL;
	err = kh_fs_write_atomic(q->path, buf, n, 0600);
	free(buf);
	if (err < 0 && was_dirty) {
		q->dirty = 1;
		return err;
	}
	err2 = kh_fs_append_open(q->path, 0600, &q->f, &size);
	if (err2 < 0) {
		q->f = NULL;
		q->dirty = 1;
		return err2;
	}
	q->jbytes = size;
	q->dirty = 0;
	return err;
}

static void maybe_compact(struct kh_queue *q)
{
	uint64_t live = HDR_REC + q->bytes;

	/* A failure leaves a valid journal; the next append tries again. */
	if (q->jbytes > KH_MAX(2 * live, live + COMPACT_SLACK))
		(void)rewrite(q);
}

/* Make records (already applied in memory) persistent. */
static int persist(struct kh_queue *q, const uint8_t *rec, size_t n)
{
	int err;

	if (q->dirty || !q->f)
		return rewrite(q);
	err = kh_fs_append(q->f, rec, n);
	if (err < 0) {
		/* Maybe a partial record is on disk: never append after it. */
		q->dirty = 1;
		return err;
	}
	q->jbytes += n;
	maybe_compact(q);
	return 0;
}

/* ---- replay ---- */

struct replay {
	uint64_t last_seq; /* of the last EVENT record */
	int evicted;	   /* events dropped because the limits are now lower */
	int oom;
};

/* Queue a replayed event under the current bounds and drop policy. */
static int replay_insert(struct kh_queue *q, struct qev *e, struct replay *r)
{
	unsigned nvict;

	if (!room_plan(q, e->sev, ev_size(e), &nvict)) {
		q->dropped[e->sev]++;
		r->evicted = 1;
		free(e);
		return 0;
	}
	if (nvict)
		r->evicted = 1;
	evict(q, nvict, NULL);
	if (ring_append(q, e) < 0) {
		free(e);
		return -ENOSPC;
	}
	return 0;
}

static const char *replay_event(struct kh_queue *q, const uint8_t *b, size_t n, struct replay *r)
{
	uint64_t seq;
	unsigned sev, tlen, plen;
	struct qev *e;

	if (n < EV_FIXED)
		return "short event";
	seq = kh_le64(b);
	sev = b[16];
	tlen = b[17];
	plen = kh_le16(b + 18);
	if (n != EV_FIXED + tlen + plen)
		return "event length mismatch";
	if (sev >= KH_SEV_COUNT)
		return "bad severity";
	if (plen > KH_QUEUE_PAYLOAD_MAX)
		return "payload too long";
	if (!type_ok((const char *)b + EV_FIXED, tlen))
		return "bad event type";
	if (memchr(b + EV_FIXED + tlen, 0, plen))
		return "NUL in payload";
	if (seq <= r->last_seq || seq <= q->acked || seq >= SEQ_LIMIT)
		return "sequence number out of order";
	e = ev_new(seq, u64_to_i64(kh_le64(b + 8)), sev, (const char *)b + EV_FIXED, tlen,
		   (const char *)b + EV_FIXED + tlen, plen);
	if (!e || replay_insert(q, e, r) < 0) {
		r->oom = 1;
		return "out of memory";
	}
	r->last_seq = seq;
	if (seq + 1 > q->next_seq)
		q->next_seq = seq + 1;
	return NULL;
}

static const char *replay_drop(struct kh_queue *q, const uint8_t *b, size_t n, struct replay *r)
{
	uint64_t seq;
	unsigned sev, i;

	if (n != DROP_BODY)
		return "bad drop length";
	seq = kh_le64(b);
	sev = b[8];
	if (sev >= KH_SEV_COUNT)
		return "bad severity";
	if (seq == 0) {
		q->dropped[sev]++;
		return NULL;
	}
	i = find_after(q, seq - 1);
	if (i == q->count || ev_at(q, i)->seq != seq) {
		/* Already evicted here if the limits were lowered (and counted). */
		return r->evicted && seq <= r->last_seq && seq > q->acked
			       ? NULL
			       : "drop of an event not queued";
	}
	if (ev_at(q, i)->sev != sev)
		return "drop severity mismatch";
	q->dropped[sev]++;
	ring_remove(q, i);
	return NULL;
}

static const char *replay_ack(struct kh_queue *q, const uint8_t *b, size_t n)
{
	uint64_t seq;

	if (n != ACK_BODY)
		return "bad ack length";
	seq = kh_le64(b);
	if (seq >= q->next_seq)
		return "ack of an unissued sequence number";
	if (seq <= q->acked)
		return NULL;
	while (q->count && ev_at(q, 0)->seq <= seq)
		ring_remove(q, 0);
	q->acked = seq;
	return NULL;
}

static int header_parse(struct kh_queue *q, const uint8_t *b, size_t n)
{
	uint64_t next, acked;

	if (n != HDR_BODY || memcmp(b, "KHQJ", 4) != 0 || kh_le16(b + 4) != HDR_VERSION ||
	    kh_le16(b + 6) != 0)
		return -EBADMSG;
	next = kh_le64(b + 8);
	acked = kh_le64(b + 16);
	if (next < 1 || next > SEQ_LIMIT || acked >= next)
		return -EBADMSG;
	q->next_seq = next;
	q->acked = acked;
	for (unsigned i = 0; i < KH_SEV_COUNT; i++)
		q->dropped[i] = kh_le64(b + 24 + 8 * i);
	return 0;
}

/*
 * The highest sequence number in any CRC-valid record anywhere in a file
 * whose header is bad (the records need not line up), and the highest ACK.
 */
static void scan_seqs(const uint8_t *buf, size_t len, uint64_t *max_seq, uint64_t *max_ack)
{
	size_t budget = SCAN_CRC_BUDGET;

	*max_seq = *max_ack = 0;
	for (size_t off = 0; off + REC_OVERHEAD <= len; off++) {
		const uint8_t *p = buf + off, *b = p + 3;
		size_t n = kh_le16(p + 1);
		uint64_t seq;

		switch (p[0]) {
		case REC_HEADER:
			if (n != HDR_BODY)
				continue;
			break;
		case REC_EVENT:
			if (n < EV_FIXED + 1 || n > EV_BODY_MAX || off + REC_OVERHEAD + n > len ||
			    n != EV_FIXED + b[17] + kh_le16(b + 18))
				continue;
			break;
		case REC_DROP:
			if (n != DROP_BODY)
				continue;
			break;
		case REC_ACK:
			if (n != ACK_BODY)
				continue;
			break;
		default:
			continue;
		}
		if (off + REC_OVERHEAD + n > len || budget < n + 3)
			continue;
		budget -= n + 3;
		if (kh_le32(p + 3 + n) != kh_crc32(0, p, 3 + n))
			continue;
		seq = kh_le64(p[0] == REC_HEADER ? b + 8 : b);
		if (p[0] == REC_HEADER) {
			if (memcmp(b, "KHQJ", 4) != 0 || seq == 0)
				continue;
			seq--; /* next_seq: the last one issued is below it */
		}
		if (seq >= SEQ_LIMIT)
			continue;
		if (seq > *max_seq)
			*max_seq = seq;
		if (p[0] == REC_ACK && seq > *max_ack)
			*max_ack = seq;
	}
}

/* Bad header: keep a copy as PATH.corrupt and start over past its numbers. */
static int set_aside(struct kh_queue *q, const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	size_t plen = strlen(q->path);
	char *cpath = malloc(plen + sizeof(".corrupt"));
	uint64_t max_seq, max_ack;
	int err;

	if (!cpath)
		return -ENOMEM;
	memcpy(cpath, q->path, plen);
	memcpy(cpath + plen, ".corrupt", sizeof(".corrupt"));
	err = kh_fs_write_atomic(cpath, buf, len, 0600);
	if (err < 0) {
		setwhy(why, whylen, "%s: bad header, and cannot set it aside as %s: %s", q->path,
		       cpath, kh_strerror(err));
		goto out;
	}
	scan_seqs(buf, len, &max_seq, &max_ack);
	while (q->count)
		ring_remove(q, 0);
	memset(q->dropped, 0, sizeof(q->dropped));
	q->next_seq = max_seq + 1;
	q->acked = max_ack;
	q->dirty = 1;
	setwhy(why, whylen,
	       "%s: bad header; set aside as %s and started a new journal at sequence %llu",
	       q->path, cpath, (unsigned long long)q->next_seq);
out:
	free(cpath);
	return err;
}

static int replay(struct kh_queue *q, const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	struct replay r = {0};
	const char *bad;
	const uint8_t *body;
	size_t off = 0, n;
	uint8_t kind;

	bad = rec_frame(buf, len, &kind, &body, &n);
	if (bad || kind != REC_HEADER || header_parse(q, body, n) < 0)
		return set_aside(q, buf, len, why, whylen);
	off = HDR_REC;
	while (off < len) {
		bad = rec_frame(buf + off, len - off, &kind, &body, &n);
		if (bad)
			break;
		switch (kind) {
		case REC_EVENT:
			bad = replay_event(q, body, n, &r);
			break;
		case REC_DROP:
			bad = replay_drop(q, body, n, &r);
			break;
		case REC_ACK:
			bad = replay_ack(q, body, n);
			break;
		case REC_HEADER:
			bad = "second header";
			break;
		default:
			bad = "unknown record kind";
			break;
		}
		if (r.oom)
			return -ENOMEM;
		if (bad)
			break;
		off += REC_OVERHEAD + n;
	}
	if (bad) {
		uint64_t max_seq, max_ack;
		/* Records past a corrupt one may have been sent: never reuse their numbers. */
		scan_seqs(buf + off, len - off, &max_seq, &max_ack);
		if (max_seq + 1 > q->next_seq)
			q->next_seq = max_seq + 1;
		q->dirty = 1;
		setwhy(why, whylen, "%s: %s at offset %zu; cut %zu bytes, kept %u events", q->path,
		       bad, off, len - off, q->count);
	} else if (r.evicted) {
		setwhy(why, whylen, "%s: more events than the limits allow; dropped the excess",
		       q->path);
	}
	if (r.evicted)
		q->dirty = 1;
	return 0;
}

/* ---- public ---- */

static void queue_destroy(struct kh_queue *q)
{
	if (!q)
		return;
	kh_fs_close(q->f);
	while (q->ring && q->count)
		ring_remove(q, 0);
	free(q->ring);
	free(q->path);
	free(q);
}

int kh_queue_open(const char *path, unsigned max_events, size_t max_bytes, struct kh_queue **out,
		  char *why, size_t whylen)
{
	struct kh_queue *q = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, plen;
	uint64_t size;
	int err;

	setwhy(why, whylen, "%s", "");
	if (!out || !path || !*path || max_events < 1 || max_events > MAX_EVENTS_LIMIT ||
	    max_bytes < EV_REC_MAX || max_bytes > MAX_BYTES_LIMIT) {
		setwhy(why, whylen, "queue: bad path or limits");
		return -EINVAL;
	}
	*out = NULL;
	err = -ENOMEM;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto out;
	plen = strlen(path);
	q->path = malloc(plen + 1);
	if (!q->path)
		goto out;
	memcpy(q->path, path, plen + 1);
	q->max_events = max_events;
	q->max_bytes = max_bytes;
	q->cap = (unsigned)KH_MIN((size_t)max_events, max_bytes / EV_REC_MIN);
	q->ring = calloc(q->cap, sizeof(*q->ring));
	if (!q->ring)
		goto out;
	q->next_seq = 1;

	err = kh_fs_read(path, journal_cap(max_bytes), &buf, &len);
	if (err == -ENOENT || (err == 0 && len == 0)) {
		q->dirty = 1; /* a new journal */
	} else if (err == -E2BIG) {
		setwhy(why, whylen, "%s: larger than %zu bytes, the most these limits allow", path,
		       journal_cap(max_bytes));
		goto out;
	} else if (err < 0) {
		setwhy(why, whylen, "%s: %s", path, kh_strerror(err));
		goto out;
	} else if ((err = replay(q, buf, len, why, whylen)) < 0) {
		goto out;
	}

	if (q->dirty) {
		err = rewrite(q);
	} else {
		err = kh_fs_append_open(path, 0600, &q->f, &size);
		q->jbytes = size;
	}
	if (err < 0) {
		setwhy(why, whylen, "%s: cannot write: %s", path, kh_strerror(err));
		goto out;
	}
	maybe_compact(q);
	*out = q;
	q = NULL;
out:
	free(buf);
	queue_destroy(q);
	return err;
}

void kh_queue_free(struct kh_queue *q)
{
	if (!q)
		return;
	(void)kh_queue_sync(q);
	queue_destroy(q);
}

int kh_queue_push(struct kh_queue *q, enum kh_severity sev, int64_t time, const char *type,
		  const char *payload, uint64_t *seq)
{
	unsigned s = (unsigned)sev, nvict;
	const char *end;
	size_t tlen, plen, size, n;
	uint8_t drop[DROP_REC], *rec;
	struct qev *e;
	int err;

	if (seq)
		*seq = 0;
	if (!q || s >= KH_SEV_COUNT || !type || !payload)
		return -EINVAL;
	end = memchr(type, 0, KH_QUEUE_TYPE_MAX + 1);
	if (!end || !type_ok(type, (size_t)(end - type)))
		return -EINVAL;
	tlen = (size_t)(end - type);
	end = memchr(payload, 0, KH_QUEUE_PAYLOAD_MAX + 1);
	if (!end)
		return -EINVAL;
	plen = (size_t)(end - payload);
	if (q->next_seq >= SEQ_LIMIT)
		return -EOVERFLOW;
	size = REC_OVERHEAD + EV_FIXED + tlen + plen;

	if (!room_plan(q, s, size, &nvict)) {
		q->dropped[s]++;
		return persist(q, drop, put_drop(drop, 0, s));
	}
	e = ev_new(0, time, s, type, tlen, payload, plen);
	rec = malloc((size_t)nvict * DROP_REC + size);
	if (!e || !rec) {
		free(e);
		free(rec);
		return -ENOMEM;
	}
	n = evict(q, nvict, rec);
	e->seq = q->next_seq;
	if ((err = ring_append(q, e)) < 0) {
		free(e);
		free(rec);
		return err;
	}
	q->next_seq++;
	n += put_event(e, rec + n);
	if (seq)
		*seq = e->seq;
	err = persist(q, rec, n);
	free(rec);
	return err;
}

unsigned kh_queue_peek(const struct kh_queue *q, uint64_t after, struct kh_queue_event *out,
		       unsigned max)
{
	unsigned i, k = 0;

	if (!q || !out)
		return 0;
	for (i = find_after(q, after); i < q->count && k < max; i++, k++) {
		const struct qev *e = ev_at(q, i);
		out[k] = (struct kh_queue_event){
			.seq = e->seq,
			.time = e->time,
			.severity = (enum kh_severity)e->sev,
			.type = e->text,
			.payload = e->text + e->tlen + 1,
			.payload_len = e->plen,
		};
	}
	return k;
}

int kh_queue_ack(struct kh_queue *q, uint64_t seq)
{
	uint8_t rec[ACK_REC];

	if (!q)
		return -EINVAL;
	if (seq <= q->acked)
		return q->dirty ? rewrite(q) : 0;
	if (seq >= SEQ_LIMIT - 1 - q->count)
		return -ERANGE; /* numbering could not continue above it */
	if (seq >= q->next_seq) {
		/*
		 * The server holds numbers this journal never issued (the state
		 * was lost or replaced): it has none of the queued events, which
		 * it would take for ones it already has. Renumber them above
		 * its numbers and continue from there. The HEADER carries both
		 * numbers; dirty keeps retrying until the rewrite succeeds.
		 */
		for (unsigned i = 0; i < q->count; i++)
			ev_at(q, i)->seq = seq + 1 + i;
		q->acked = seq;
		q->next_seq = seq + 1 + q->count;
		q->dirty = 1;
		return rewrite(q);
	}
	while (q->count && ev_at(q, 0)->seq <= seq)
		ring_remove(q, 0);
	q->acked = seq;
	return persist(q, rec, put_ack(rec, seq));
}

int kh_queue_sync(struct kh_queue *q)
{
	if (!q)
		return -EINVAL;
	if (q->dirty || !q->f)
		return rewrite(q); /* atomic and durable */
	return kh_fs_sync(q->f);
}

void kh_queue_stats(const struct kh_queue *q, struct kh_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!q)
		return;
	st->count = q->count;
	st->bytes = q->bytes;
	st->next_seq = q->next_seq;
	st->acked = q->acked;
	memcpy(st->dropped, q->dropped, sizeof(st->dropped));
	st->journal_bytes = q->jbytes;
}
