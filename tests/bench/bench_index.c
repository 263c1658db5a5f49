/* SPDX-License-Identifier: MIT */
/*
 * Index micro-benchmark: time to map and validate an index (open), and the
 * mean time of a lookup over a query file (one name per line). The query
 * set is run repeatedly until --lookups lookups ran; each pass is timed and
 * the median pass gives lookup_ns_mean (a pass disturbed by a neighbour on
 * a shared machine does not skew it). Prints one JSON object.
 * usage: bench_index INDEX QUERIES [--lookups N] [--opens N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "policy/index.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long lookups = 5000000, opens = 51, nq = 0, blocked = 0, done = 0;
	struct kh_fs_map map;
	struct kh_index idx;
	uint64_t *open_ns, t0, t1;
	uint8_t *qbuf;
	size_t qlen;
	char **q;
	const char *why;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_index INDEX QUERIES [--lookups N] [--opens N]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--lookups") == 0)
			lookups = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--opens") == 0)
			opens = strtoul(argv[i + 1], NULL, 10);
	}
	open_ns = calloc(opens, sizeof(*open_ns));
	for (unsigned long i = 0; i < opens; i++) {
		t0 = kh_time_mono_ns();
		err = kh_fs_map(argv[1], (size_t)CONFIG_INDEX_MAX_MB << 20, &map);
		if (!err)
			err = kh_index_open(&idx, map.data, map.len, &why);
		t1 = kh_time_mono_ns();
		if (err) {
			fprintf(stderr, "bench_index: %s: %s\n", argv[1], kh_strerror(err));
			return 1;
		}
		open_ns[i] = t1 - t0;
		if (i + 1 < opens)
			kh_fs_unmap(&map);
	}
	qsort(open_ns, opens, sizeof(*open_ns), cmp_u64);

	err = kh_fs_read(argv[2], 1u << 30, &qbuf, &qlen);
	if (err) {
		fprintf(stderr, "bench_index: %s: %s\n", argv[2], kh_strerror(err));
		return 1;
	}
	q = malloc((qlen / 2 + 1) * sizeof(*q));
	for (char *p = (char *)qbuf; p < (char *)qbuf + qlen;) {
		char *nl = memchr(p, '\n', (size_t)((char *)qbuf + qlen - p));
		if (nl)
			*nl = 0;
		if (*p)
			q[nq++] = p;
		p = nl ? nl + 1 : (char *)qbuf + qlen;
	}
	if (nq == 0)
		return 1;
	/* Warm-up pass, then the timed passes. */
	for (unsigned long i = 0; i < nq; i++) {
		struct kh_match m;
		kh_index_lookup(&idx, q[i], strlen(q[i]), &m);
		blocked += m.verdict == KH_BLOCKED;
	}
	/* Each pass over the queries is timed on its own: report the median pass. */
	uint64_t pass_ns[1024];
	unsigned passes = 0;
	while (done < lookups && passes < 1024) {
		t0 = kh_time_mono_ns();
		for (unsigned long i = 0; i < nq; i++) {
			struct kh_match m;
			kh_index_lookup(&idx, q[i], strlen(q[i]), &m);
		}
		pass_ns[passes++] = kh_time_mono_ns() - t0;
		done += nq;
	}
	qsort(pass_ns, passes, sizeof(pass_ns[0]), cmp_u64);
	printf("{\"index_bytes\": %zu, \"domains\": %u, \"open_ms_min\": %.3f, \"open_ms_median\": "
	       "%.3f, \"queries\": %lu, \"blocked_fraction\": %.3f, \"lookups\": %lu, "
	       "\"lookup_ns_mean\": %.1f, \"lookup_ns_best_pass\": %.1f}\n",
	       map.len, idx.n_domains, open_ns[0] / 1e6, open_ns[opens / 2] / 1e6, nq,
	       (double)blocked / nq, done, (double)pass_ns[passes / 2] / nq,
	       (double)pass_ns[0] / nq);
	kh_fs_unmap(&map);
	free(q);
	free(qbuf);
	free(open_ns);
	return 0;
}
