/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the report queue's unit tests (test_queue.c,
 * test_queue_journal.c): a journal directory under /tmp, opening and
 * pushing with checks, snapshots of what a queue holds, raw files.
 */
#ifndef KHIEN_TEST_QUEUE_H
#define KHIEN_TEST_QUEUE_H

#define _DEFAULT_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kt.h"
#include "agent/queue.h"
#include "lib/crc32.h"
#include "lib/err.h"
#include "platform/fs.h"

#define BIG (1u << 20)
#define MAXQ 64

static char dir[] = "/tmp/kh-queue-XXXXXX";

static inline const char *jpath(const char *name)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static inline struct kh_queue *qopen(const char *name, unsigned max_events, size_t max_bytes,
				     char *why)
{
	struct kh_queue *q = NULL;
	char w[256];
	int err = kh_queue_open(jpath(name), max_events, max_bytes, &q, w, sizeof(w));

	if (err < 0)
		printf("#   open %s: %s (%s)\n", name, kh_strerror(err), w);
	KT_EQ(err, 0);
	if (why)
		strcpy(why, w);
	return q;
}

static inline uint64_t push(struct kh_queue *q, enum kh_severity sev, const char *type,
			    const char *pl)
{
	uint64_t seq = 99;
	int err = kh_queue_push(q, sev, 1700000000, type, pl, &seq);

	KT_EQ(err, 0);
	return seq;
}

/* What a queue holds, apart from the journal's size. */
struct snap {
	struct kh_queue_stats st;
	unsigned n;
	uint64_t seq[MAXQ];
	int sev[MAXQ];
	char payload[MAXQ][64];
};

static inline void take(const struct kh_queue *q, struct snap *s)
{
	struct kh_queue_event ev[MAXQ];

	memset(s, 0, sizeof(*s));
	kh_queue_stats(q, &s->st);
	s->n = kh_queue_peek(q, 0, ev, MAXQ);
	for (unsigned i = 0; i < s->n; i++) {
		s->seq[i] = ev[i].seq;
		s->sev[i] = ev[i].severity;
		snprintf(s->payload[i], sizeof(s->payload[i]), "%s", ev[i].payload);
	}
}

static inline int snap_eq(const struct snap *a, const struct snap *b)
{
	int same = a->n == b->n && a->st.count == b->st.count && a->st.bytes == b->st.bytes &&
		   a->st.next_seq == b->st.next_seq && a->st.acked == b->st.acked &&
		   memcmp(a->st.dropped, b->st.dropped, sizeof(a->st.dropped)) == 0;

	for (unsigned i = 0; same && i < a->n; i++)
		same = a->seq[i] == b->seq[i] && a->sev[i] == b->sev[i] &&
		       strcmp(a->payload[i], b->payload[i]) == 0;
	if (!same)
		printf("#   snapshot differs: n %u/%u next %llu/%llu acked %llu/%llu drop "
		       "%llu,%llu,"
		       "%llu,%llu / %llu,%llu,%llu,%llu\n",
		       a->n, b->n, (unsigned long long)a->st.next_seq,
		       (unsigned long long)b->st.next_seq, (unsigned long long)a->st.acked,
		       (unsigned long long)b->st.acked, (unsigned long long)a->st.dropped[0],
		       (unsigned long long)a->st.dropped[1], (unsigned long long)a->st.dropped[2],
		       (unsigned long long)a->st.dropped[3], (unsigned long long)b->st.dropped[0],
		       (unsigned long long)b->st.dropped[1], (unsigned long long)b->st.dropped[2],
		       (unsigned long long)b->st.dropped[3]);
	return same;
}

static inline void seqs_are(const struct kh_queue *q, const uint64_t *want, unsigned n)
{
	struct kh_queue_event ev[MAXQ];
	unsigned got = kh_queue_peek(q, 0, ev, MAXQ);

	KT_EQ(got, n);
	for (unsigned i = 0; i < n && i < got; i++)
		KT_EQ(ev[i].seq, want[i]);
}

static inline void write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	KT_CHECK(f != NULL);
	if (!f)
		return;
	KT_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

static inline size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static inline void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			unlink(jpath(e->d_name));
	}
	closedir(d);
	rmdir(dir);
}

#endif
