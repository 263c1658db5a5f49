/* SPDX-License-Identifier: MIT */
/*
 * The agent's integrity check (agent/integrity.h): when scans happen, where
 * (slices on the loop or the auditor process), and which drifts are open.
 * A drift is the pair (kind, path) with what was seen (its evidence); it is
 * reported when first seen, stays open, silent, while scans see the same,
 * and closes when a scan that covers it no longer sees it. A file changed
 * again is a new drift, reported again.
 */
#define _DEFAULT_SOURCE
#define KH_INTEGRITY_IMPL /* the module itself: its real declarations, whatever Kconfig says */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/auditor.h"
#include "agent/integrity.h"
#include "agent/privsep_wire.h"
#include "crypto/crypto.h"
#include "firmware/baseline.h"
#include "lib/err.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "platform/proc.h"
#include "platform/time.h"
#include "platform/watch.h"

#define SLICE_NS 500000u      /* how long one slice of an in-process scan may hold the loop */
#define UNITS 1		      /* paths per step: the clock is read after each */
#define NOTIFY_DELAY_MS 300   /* let a burst of writes settle before looking */
#define NOTIFY_GAP_MS 2000    /* at most one notified scan this often */
#define REPLY_DRIFTS_MAX 1024 /* drifts in one auditor reply */

/*
 * What one scan's drifts may take of a reply (or of the open set), so a
 * flood of one kind does not hide the rest: ordinary file drifts (a
 * directory of new files) at most half, file drifts of any severity at
 * most three quarters; the last quarter is for processes, sockets and
 * DNS, which the scan reaches after the files.
 */
struct budget {
	size_t n, nfile, nord; /* drifts taken */
	size_t b, bfile, bord; /* bytes taken */
};

static int budget_take(struct budget *u, int kind, int sev, size_t cost, size_t maxn, size_t maxb)
{
	int file = kind <= KH_DRIFT_REMOVED, ord = file && sev < KH_SEV_CRITICAL;

	if (u->n + 1 > maxn || u->b + cost > maxb)
		return -ENOSPC;
	if (file && (u->nfile + 1 > maxn / 4 * 3 || u->bfile + cost > maxb / 4 * 3))
		return -ENOSPC;
	if (ord && (u->nord + 1 > maxn / 2 || u->bord + cost > maxb / 2))
		return -ENOSPC;
	u->n++, u->b += cost;
	if (file)
		u->nfile++, u->bfile += cost;
	if (ord)
		u->nord++, u->bord += cost;
	return 0;
}

struct drift {
	uint64_t key; /* of kind, path and evidence: what the reported file keeps */
	int kind, sev;
	char *path, *what, *evidence;
	long pid;
	uint64_t dev, ino; /* a process's executable, as the root parent saw it */
	int have_id;
	int64_t since;
	int seen; /* in the scan being taken */
};

struct kh_integrity {
	struct kh_loop *loop;
	struct kh_integrity_cfg cfg;
	char *root;
	struct kh_fsroot *fsroot; /* in-process scans */
	struct kh_fs_map map;
	struct kh_baseline bl;
	int have, slot;
	uint8_t digest[32]; /* of the table, to notice the same one applied again */

	struct kh_bl_scan *scan;
	int running, mode, again, waiting;
	uint64_t table_gen, asked_gen; /* an auditor's answer about an older table is dropped */
	uint64_t *known;	       /* drifts reported before a restart (the reported file) */
	int nknown;
	char *reported_path;
	uint64_t started, done;
	struct timer_pair {
		struct kh_timer slice, interval, notify;
	} t;
	uint64_t last_notified_ms;
	struct kh_watch *watch;

	struct drift *cur; /* drifts of the scan being taken */
	int ncur, capcur;
	struct budget curb;   /* what cur holds, by kind */
	uint64_t cur_dropped; /* drifts of this scan not kept (the auditor's and ours) */
	struct drift *open;
	int nopen;
	uint64_t dropped, reported;
	uint64_t stopped; /* processes stopped (kill_suspicious) */

	/* the last completed scan */
	int64_t scanned_at;
	int last_mode;
	uint64_t files, skipped, scan_us;
	uint64_t last_dropped; /* its drifts left out (then it was partial) */
	uint64_t scan_ns;      /* CPU of the scan in progress (in-process) */
	char error[160];
};

/* ---- drift sets ---- */

static void drift_clear(struct drift *d)
{
	free(d->path);
	free(d->what);
	free(d->evidence);
}

static uint64_t drift_key(int kind, const char *path, const char *evidence)
{
	struct kh_sha256 h;
	uint8_t d[32], k = (uint8_t)kind;
	uint64_t v = 0;

	kh_sha256_init(&h);
	kh_sha256_update(&h, &k, 1);
	kh_sha256_update(&h, path, strlen(path) + 1);
	kh_sha256_update(&h, evidence, strlen(evidence));
	kh_sha256_final(&h, d);
	for (int i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return v ? v : 1;
}

/*
 * The reported file: the keys of the open drifts, 8 bytes each, big
 * endian, rewritten when the set changes. Only its length is trusted: a
 * damaged one costs at most events reported again (or, forged by a
 * compromised engine, not reported: which that engine could do anyway).
 */
static void known_load(struct kh_integrity *in)
{
	uint8_t *buf;
	size_t len;

	if (!in->reported_path ||
	    kh_fs_read(in->reported_path, KH_INTEGRITY_MAX_DRIFTS * 8, &buf, &len) < 0)
		return;
	if (len % 8 == 0 && (in->known = calloc(len / 8 + 1, sizeof(*in->known)))) {
		for (size_t i = 0; i < len / 8; i++)
			for (int b = 0; b < 8; b++)
				in->known[i] = in->known[i] << 8 | buf[i * 8 + (size_t)b];
		in->nknown = (int)(len / 8);
	}
	free(buf);
}

static void known_save(struct kh_integrity *in)
{
	uint8_t *buf;
	int err;

	if (!in->reported_path || !(buf = malloc((size_t)in->nopen * 8 + 1)))
		return;
	for (int i = 0; i < in->nopen; i++)
		for (int b = 0; b < 8; b++)
			buf[i * 8 + b] = (uint8_t)(in->open[i].key >> (56 - 8 * b));
	err = kh_fs_write_atomic(in->reported_path, buf, (size_t)in->nopen * 8, 0600);
	if (err < 0)
		log_warn("integrity: cannot keep the reported drifts in %s: %s", in->reported_path,
			 strerror(-err));
	free(buf);
}

/* Reported before the restart: taken as open, not reported again (once). */
static int known_take(struct kh_integrity *in, uint64_t key)
{
	for (int i = 0; i < in->nknown; i++)
		if (in->known[i] == key) {
			in->known[i] = in->known[--in->nknown];
			return 1;
		}
	return 0;
}

static int drift_add(struct kh_integrity *in, int kind, int sev, const char *path, const char *what,
		     const char *evidence, long pid)
{
	struct drift *d;

	/* the overflow drift itself is always kept: it says the rest is missing */
	if (kind != KH_DRIFT_OVERFLOW &&
	    budget_take(&in->curb, kind, sev, 1, KH_INTEGRITY_MAX_DRIFTS, SIZE_MAX) < 0) {
		in->dropped++;
		in->cur_dropped++;
		return -ENOSPC;
	}
	if (in->ncur == in->capcur) {
		int cap = in->capcur ? in->capcur * 2 : 16;
		struct drift *n = realloc(in->cur, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		in->cur = n;
		in->capcur = cap;
	}
	d = &in->cur[in->ncur];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->sev = sev;
	d->pid = pid;
	d->path = strdup(path);
	d->what = strdup(what);
	d->evidence = strdup(evidence);
	if (!d->path || !d->what || !d->evidence) {
		drift_clear(d);
		return -ENOMEM;
	}
	d->key = drift_key(kind, path, evidence);
	in->ncur++;
	return 0;
}

static void cur_reset(struct kh_integrity *in)
{
	for (int i = 0; i < in->ncur; i++)
		drift_clear(&in->cur[i]);
	in->ncur = 0;
	memset(&in->curb, 0, sizeof(in->curb));
	in->cur_dropped = 0;
}

static void on_scan_drift(void *ctx, const struct kh_drift *d)
{
	drift_add(ctx, d->kind, d->sev, d->path, d->what, d->evidence, d->pid);
}

static int same(const struct drift *a, const struct drift *b)
{
	return a->key == b->key && a->kind == b->kind && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->evidence, b->evidence) == 0;
}

/*
 * The scan's drifts against the open ones: new ones are reported, open
 * ones the scan covered and no longer saw are closed, the rest stay. A
 * partial scan (drifts left out) closes nothing: what it did not list
 * may still be there; it is one critical integrity_overflow drift.
 */
static void take_scan(struct kh_integrity *in, int mode)
{
	int partial = in->cur_dropped > 0;

	in->last_dropped = in->cur_dropped;
	if (partial) {
		char ev[160];
		snprintf(ev, sizeof(ev),
			 "more drifts than one scan reports: %d kept, %llu left out; open drifts "
			 "stay open",
			 in->ncur, (unsigned long long)in->cur_dropped);
		log_error("integrity: %s", ev);
		drift_add(in, KH_DRIFT_OVERFLOW, KH_SEV_CRITICAL, "/", "overflow", ev, 0);
	}
	struct drift *next = calloc((size_t)in->nopen + (size_t)in->ncur + 1, sizeof(*next));
	int n = 0, changed = 0;
	int64_t now = kh_time_wall();

	if (!next) {
		snprintf(in->error, sizeof(in->error), "out of memory");
		cur_reset(in);
		return;
	}
	for (int i = 0; i < in->nopen; i++) {
		struct drift *o = &in->open[i];
		int k = -1;
		for (int j = 0; j < in->ncur && k < 0; j++)
			if (!in->cur[j].seen && same(o, &in->cur[j]))
				k = j;
		if (k >= 0) {
			in->cur[k].seen = 1;
			next[n++] = *o;
		} else if (in->have && (!kh_bl_scan_covers(&in->bl, mode, o->kind, o->path) ||
					(partial && o->kind != KH_DRIFT_OVERFLOW))) {
			next[n++] = *o; /* this scan did not look there, or not at all of it */
		} else {
			log_notice("integrity: %s %s resolved", kh_drift_type(o->kind), o->path);
			drift_clear(o);
			changed = 1;
		}
	}
	for (int j = 0; j < in->ncur; j++) {
		struct drift *c = &in->cur[j];
		const struct kh_drift d = {(enum kh_drift_kind)c->kind,
					   (enum kh_severity)c->sev,
					   c->path,
					   c->what,
					   c->evidence,
					   c->pid};
		if (c->seen) {
			drift_clear(c);
			continue;
		}
		c->since = now;
		c->seen = 0;
		changed = 1;
		if (known_take(in, c->key)) {
			next[n++] = *c; /* reported before this start */
			continue;
		}
		in->reported++;
		log_warn("integrity: %s %s (%s): %s", kh_drift_type(c->kind), c->path, c->what,
			 c->evidence);
		if (in->cfg.on_drift)
			in->cfg.on_drift(in->cfg.ctx, &d);
		next[n++] = *c;
	}
	free(in->open);
	in->open = next;
	in->nopen = n;
	in->ncur = 0;
	memset(&in->curb, 0, sizeof(in->curb));
	in->cur_dropped = 0;
	/* what was reported before the restart and a full scan no longer sees is forgotten */
	if (mode == KH_BL_SCAN_FULL)
		in->nknown = 0;
	if (changed)
		known_save(in);
}

static void open_reset(struct kh_integrity *in)
{
	for (int i = 0; i < in->nopen; i++)
		drift_clear(&in->open[i]);
	in->nopen = 0;
}

/* ---- processes of other users, and stopping them ---- */

#define PROC_PAGES 64 /* 64 answers of KH_PROC_LIST_MAX: 8,192 processes */

/*
 * The live system's processes the auditor cannot see (other users'), as
 * the root parent lists them: the same rules as the auditor's check.
 */
static void root_procs(struct kh_integrity *in)
{
	struct kh_proc_info *list = malloc(KH_PROC_LIST_MAX * sizeof(*list));
	char *mounts = NULL, ev[KH_PROC_EXE_MAX + 96];
	struct kh_fsroot *fr = NULL;
	uint8_t *text;
	size_t tlen;
	long after = 0, next;
	unsigned n;

	if (!list)
		return;
	if (kh_fs_read("/proc/mounts", 1u << 20, &text, &tlen) == 0) {
		mounts = kh_bl_writable_mounts((const char *)text, tlen);
		free(text);
	}
	if (kh_fsroot_open("/", &fr) < 0)
		fr = NULL;
	for (int page = 0; page < PROC_PAGES; page++) {
		int err = in->cfg.procs(in->cfg.proc_ctx, after, list, KH_PROC_LIST_MAX, &n, &next);
		if (err < 0) {
			log_error("integrity: the root parent's process list: %s",
				  kh_strerror(err));
			in->skipped++;
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			const struct kh_proc_info *p = &list[i];
			const char *why =
				p->deleted ? "deleted" : kh_bl_exe_problem(mounts, p->exe);
			if (!why && fr && kh_bl_exe_in_overlay(fr, p->exe))
				why = "overlay";
			if (!why)
				continue;
			snprintf(ev, sizeof(ev), "pid %ld runs %s (uid %lu, %s)", p->pid, p->exe,
				 (unsigned long)p->uid, p->comm);
			if (drift_add(in, KH_DRIFT_PROCESS, KH_SEV_CRITICAL, p->exe, why, ev,
				      p->pid) == 0) {
				in->cur[in->ncur - 1].dev = p->dev;
				in->cur[in->ncur - 1].ino = p->ino;
				in->cur[in->ncur - 1].have_id = 1;
			}
		}
		if (!next || next <= after)
			break;
		after = next;
	}
	if (fr)
		kh_fsroot_close(fr);
	free(mounts);
	free(list);
}

/*
 * kill_suspicious: ask the root parent to stop each suspicious process
 * of this scan. The parent decides (the signed flag, the identity through
 * a pidfd, never init, khiend or the read-only image); the engine only
 * names the process and the executable it saw.
 */
static void kill_pass(struct kh_integrity *in)
{
	if (!in->cfg.kill || !(in->bl.flags & KH_BL_KILL_SUSPICIOUS))
		return;
	for (int i = 0; i < in->ncur; i++) {
		struct drift *d = &in->cur[i];
		char exe[KH_PROC_EXE_MAX + 1], why[160];
		int err;

		if (d->kind != KH_DRIFT_PROCESS || d->pid <= 0)
			continue;
		/* the auditor's own-user processes: their identity now, if still the same text */
		if (!d->have_id &&
		    (kh_proc_exe_id(d->pid, &d->dev, &d->ino, exe, sizeof(exe)) < 0 ||
		     strcmp(exe, d->path) != 0))
			continue;
		err = in->cfg.kill(in->cfg.proc_ctx, d->pid, d->dev, d->ino, why, sizeof(why));
		if (err == 0) {
			in->stopped++;
			log_warn("integrity: kill_suspicious: %s", why);
		} else {
			log_notice("integrity: kill_suspicious: not stopped: %s", why);
		}
	}
}

/* ---- scans ---- */

static void scan_finished(struct kh_integrity *in, int ok)
{
	if (ok && in->mode == KH_BL_SCAN_FULL)
		kill_pass(in);
	if (ok)
		take_scan(in, in->mode);
	else
		cur_reset(in);
	in->running = 0;
	in->done = in->started;
	in->last_mode = in->mode;
	in->scanned_at = kh_time_wall();
	if (in->again) {
		int mode = in->again - 1;
		in->again = 0;
		if (mode == KH_BL_SCAN_FULL)
			kh_integrity_run(in);
		else
			kh_timer_arm(in->loop, &in->t.notify, 0);
	}
}

static void on_slice(struct kh_loop *loop, void *arg)
{
	struct kh_integrity *in = arg;
	uint64_t t0 = kh_time_mono_ns(), until = t0 + SLICE_NS;
	int more;

	while ((more = kh_bl_scan_step(in->scan, UNITS)) && kh_time_mono_ns() < until)
		;
	in->scan_ns += kh_time_mono_ns() - t0;
	if (more) {
		kh_timer_arm(loop, &in->t.slice, 0); /* let DNS in between slices */
		return;
	}
	kh_bl_scan_counts(in->scan, &in->files, &in->skipped);
	in->scan_us = in->scan_ns / 1000;
	kh_bl_scan_free(in->scan);
	in->scan = NULL;
	in->error[0] = 0;
	scan_finished(in, 1);
}

static void take_reply(struct kh_integrity *in, const char *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(text, len), *arr, *e;
	uint64_t v;
	int ok = 0;

	arr = cJSON_GetObjectItemCaseSensitive(j, "drifts");
	if (!cJSON_IsArray(arr)) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "error");
		snprintf(in->error, sizeof(in->error), "auditor: %s",
			 cJSON_IsString(why) ? why->valuestring : "malformed reply");
		goto done;
	}
	cJSON_ArrayForEach (e, arr) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "what");
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, "evidence");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "severity");
		int kind = cJSON_IsString(t) ? kh_drift_kind_parse(t->valuestring) : -1;
		int sev = cJSON_IsString(s) ? kh_severity_parse(s->valuestring) : -1;
		const cJSON *pj = cJSON_GetObjectItemCaseSensitive(e, "pid");
		uint64_t pid = 0;
		if (kind < 0 || sev < 0 || !cJSON_IsString(p) || !cJSON_IsString(w) ||
		    !cJSON_IsString(x) || strlen(p->valuestring) > KH_FSROOT_MAX_PATH + 16 ||
		    strlen(x->valuestring) > 2048 || strlen(w->valuestring) > 64 ||
		    (pj && kh_json_uint(pj, 1, 1u << 30, &pid) < 0)) {
			snprintf(in->error, sizeof(in->error), "auditor: malformed reply");
			cur_reset(in);
			goto done;
		}
		drift_add(in, kind, sev, p->valuestring, w->valuestring, x->valuestring, (long)pid);
	}
	/* the auditor left drifts out: the scan is partial (an old auditor sends no count) */
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "dropped"), 0, KH_JSON_INT_MAX, &v) ==
	    0)
		in->cur_dropped += v;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "partial")) && !in->cur_dropped)
		in->cur_dropped = 1;
	in->files = kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "files"), 0, KH_JSON_INT_MAX,
				 &v) == 0
			    ? v
			    : 0;
	in->skipped = kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "skipped"), 0,
				   KH_JSON_INT_MAX, &v) == 0
			      ? v
			      : 0;
	in->scan_us = kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "scan_us"), 0,
				   KH_JSON_INT_MAX, &v) == 0
			      ? v
			      : 0;
	in->error[0] = 0;
	ok = 1;
	if (in->mode == KH_BL_SCAN_FULL && in->cfg.procs)
		root_procs(in);
done:
	cJSON_Delete(j);
	scan_finished(in, ok);
}

static void on_auditor(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct kh_integrity *in = arg;
	uint32_t type;
	uint8_t *body;
	size_t len;
	int rc;

	(void)events;
	rc = kh_chan_recv(fd, KH_AUDITOR_REPLY_MAX, &type, &body, &len);
	if (rc < 0 || type != (KH_AUDITOR_INTEGRITY | KH_PRIV_REPLY)) {
		log_error("integrity: the auditor process is gone (%s); scans stop",
			  rc < 0 ? strerror(-rc) : "out of protocol");
		kh_loop_fd_del(loop, fd);
		in->cfg.auditor_chan = -1;
		snprintf(in->error, sizeof(in->error), "the auditor process is gone");
		if (rc == 0)
			free(body);
		in->waiting = 0;
		in->again = 0;
		scan_finished(in, 0);
		return;
	}
	in->waiting = 0;
	if (in->asked_gen != in->table_gen) {
		free(body); /* about a table no longer in force: the scan after it counts */
		scan_finished(in, 0);
		return;
	}
	take_reply(in, (const char *)body, len);
	free(body);
}

static void start(struct kh_integrity *in, int mode)
{
	if (in->running) {
		/* a full scan wanted during any scan wins over a notified one */
		if (!in->again || mode == KH_BL_SCAN_FULL)
			in->again = mode + 1;
		return;
	}
	if (!in->have)
		return;
	if (in->cfg.auditor_chan < 0 && !in->fsroot) {
		snprintf(in->error, sizeof(in->error), "no file system to check on this platform");
		return;
	}
	in->running = 1;
	in->mode = mode;
	in->started++;
	cur_reset(in);
	if (in->cfg.auditor_chan >= 0) {
		char req[2] = {in->slot ? '1' : '0', mode == KH_BL_SCAN_FULL ? 'f' : 'p'};
		int rc = kh_chan_send(in->cfg.auditor_chan, KH_AUDITOR_INTEGRITY, req, 2);
		in->asked_gen = in->table_gen;
		if (rc < 0) {
			snprintf(in->error, sizeof(in->error), "cannot reach the auditor: %s",
				 strerror(-rc));
			scan_finished(in, 0);
		} else {
			in->waiting = 1;
		}
		return;
	}
	in->scan = kh_bl_scan_new(&in->bl, in->fsroot, mode, on_scan_drift, in);
	if (!in->scan) {
		snprintf(in->error, sizeof(in->error), "out of memory");
		scan_finished(in, 0);
		return;
	}
	in->scan_ns = 0;
	kh_timer_arm(in->loop, &in->t.slice, 0);
}

uint64_t kh_integrity_run(struct kh_integrity *in)
{
	start(in, KH_BL_SCAN_FULL);
	return in->running ? in->started : in->done;
}

static void on_interval(struct kh_loop *loop, void *arg)
{
	struct kh_integrity *in = arg;

	kh_integrity_run(in);
	kh_timer_arm(loop, &in->t.interval, (uint64_t)in->cfg.interval_s * 1000);
}

/* ---- notified changes ---- */

static void on_notify_timer(struct kh_loop *loop, void *arg)
{
	struct kh_integrity *in = arg;
	uint64_t now = kh_time_mono_ms();

	if (in->last_notified_ms && now - in->last_notified_ms < NOTIFY_GAP_MS) {
		kh_timer_arm(loop, &in->t.notify, NOTIFY_GAP_MS - (now - in->last_notified_ms));
		return;
	}
	in->last_notified_ms = now;
	start(in, KH_BL_SCAN_PERSIST);
}

static void on_watch(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct kh_integrity *in = arg;

	(void)fd;
	(void)events;
	if (kh_watch_drain(in->watch) > 0 && !kh_timer_armed(&in->t.notify))
		kh_timer_arm(loop, &in->t.notify, NOTIFY_DELAY_MS);
}

static void watch_stop(struct kh_integrity *in)
{
	if (!in->watch)
		return;
	kh_loop_fd_del(in->loop, kh_watch_fd(in->watch));
	kh_watch_free(in->watch);
	in->watch = NULL;
}

/*
 * Watch the persistence points of the table: directories themselves, a
 * file through its directory (editors and package managers replace files
 * by rename, which a watch on the old file would miss), except in /tmp,
 * where every write on the router would wake the check.
 */
static void watch_start(struct kh_integrity *in)
{
	char path[2 * KH_FSROOT_MAX_PATH + 2];
	size_t rl = strcmp(in->root, "/") == 0 ? 0 : strlen(in->root);
	int n = 0;

	watch_stop(in);
	if (!in->cfg.notify || kh_watch_new(&in->watch) < 0)
		return;
	for (uint32_t i = 0; i < in->bl.nwatch; i++) {
		struct kh_bl_watch w;
		kh_bl_watch_get(&in->bl, i, &w);
		if (!(w.flags & KH_BLW_PERSIST))
			continue;
		snprintf(path, sizeof(path), "%.*s%.*s", (int)rl, in->root, (int)w.path_len,
			 w.path);
		if (kh_watch_add(in->watch, path) == 0 && (w.flags & KH_BLW_RECURSIVE)) {
			n++;
			continue;
		}
		if (w.path_len >= 5 && memcmp(w.path, "/tmp/", 5) == 0)
			continue;
		/* the directory that holds it: a file replaced or created there */
		char *slash = strrchr(path + rl, '/');
		if (slash && slash > path + rl) {
			*slash = 0;
			n += kh_watch_add(in->watch, path) == 0;
		}
	}
	if (kh_loop_fd_add(in->loop, kh_watch_fd(in->watch), KH_EV_READ, on_watch, in) < 0) {
		kh_watch_free(in->watch);
		in->watch = NULL;
		return;
	}
	log_info("integrity: %d persistence point(s) watched for changes", n);
}

/* ---- life ---- */

int kh_integrity_new(struct kh_loop *loop, const struct kh_integrity_cfg *cfg,
		     struct kh_integrity **out)
{
	struct kh_integrity *in = calloc(1, sizeof(*in));
	int rc = 0;

	if (!in)
		return -ENOMEM;
	in->loop = loop;
	in->cfg = *cfg;
	in->root = strdup(cfg->root ? cfg->root : "/");
	in->reported_path = cfg->reported_path ? strdup(cfg->reported_path) : NULL;
	if (!in->root || (cfg->reported_path && !in->reported_path)) {
		free(in->root);
		free(in->reported_path);
		free(in);
		return -ENOMEM;
	}
	known_load(in);
	kh_timer_init(&in->t.slice, on_slice, in);
	kh_timer_init(&in->t.interval, on_interval, in);
	kh_timer_init(&in->t.notify, on_notify_timer, in);
	if (in->cfg.auditor_chan >= 0) {
		rc = kh_loop_fd_add(loop, in->cfg.auditor_chan, KH_EV_READ, on_auditor, in);
	} else {
		rc = kh_fsroot_open(in->root, &in->fsroot);
		if (rc == -ENOTSUP)
			rc = 0; /* no file system (lwIP): nothing to check */
	}
	if (rc < 0) {
		free(in->root);
		free(in->reported_path);
		free(in->known);
		free(in);
		return rc;
	}
	if (in->cfg.interval_s)
		kh_timer_arm(loop, &in->t.interval, (uint64_t)in->cfg.interval_s * 1000);
	*out = in;
	return 0;
}

void kh_integrity_free(struct kh_integrity *in)
{
	if (!in)
		return;
	kh_timer_cancel(in->loop, &in->t.slice);
	kh_timer_cancel(in->loop, &in->t.interval);
	kh_timer_cancel(in->loop, &in->t.notify);
	if (in->cfg.auditor_chan >= 0)
		kh_loop_fd_del(in->loop, in->cfg.auditor_chan);
	watch_stop(in);
	kh_bl_scan_free(in->scan);
	cur_reset(in);
	free(in->cur);
	open_reset(in);
	free(in->open);
	if (in->have)
		kh_fs_unmap(&in->map);
	kh_fsroot_close(in->fsroot);
	free(in->known);
	free(in->reported_path);
	free(in->root);
	free(in);
}

int kh_integrity_set_baseline(struct kh_integrity *in, const char *path, int slot, char *why,
			      size_t whylen)
{
	struct kh_fs_map map;
	struct kh_baseline bl;
	uint8_t digest[32];
	int rc;

	if (!path) {
		if (!in->have)
			return 0;
		log_notice("integrity: the policy has no baseline; drifts cleared");
		goto drop;
	}
	if ((rc = kh_fs_map(path, KH_BL_MAX_BYTES, &map)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if ((rc = kh_bl_parse(map.data, map.len, &bl, why, whylen)) < 0) {
		kh_fs_unmap(&map);
		return rc;
	}
	kh_sha256(map.data, map.len, digest);
	if (in->have && memcmp(digest, in->digest, 32) == 0) {
		in->slot = slot; /* the same table, maybe in the other slot now */
		kh_fs_unmap(&map);
		return 0;
	}
	log_notice("integrity: baseline version %llu applied: %u files under %u watched paths",
		   (unsigned long long)bl.version, bl.nentries, bl.nwatch);
drop:
	in->table_gen++;
	if (in->scan) { /* it compares against the old table: drop it */
		kh_timer_cancel(in->loop, &in->t.slice);
		kh_bl_scan_free(in->scan);
		in->scan = NULL;
		in->running = 0;
		cur_reset(in);
	}
	if (in->have)
		kh_fs_unmap(&in->map);
	in->have = 0;
	if (!path) {
		watch_stop(in);
		open_reset(in);
		known_save(in);
		return 0;
	}
	in->map = map; /* bl's views point into map.data, which does not move */
	in->bl = bl;
	memcpy(in->digest, digest, 32);
	in->have = 1;
	in->slot = slot;
	watch_start(in);
	if (in->waiting) /* the auditor's answer is for the old table: one more scan after it */
		in->again = KH_BL_SCAN_FULL + 1;
	else
		start(in, KH_BL_SCAN_FULL);
	return 0;
}

/* ---- status ---- */

static cJSON *drift_json(const struct drift *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", kh_drift_type(d->kind));
	cJSON_AddStringToObject(o, "severity", kh_severity_name(d->sev));
	cJSON_AddStringToObject(o, "path", d->path);
	cJSON_AddStringToObject(o, "what", d->what);
	cJSON_AddStringToObject(o, "evidence", d->evidence);
	if (d->pid)
		kh_json_add_uint(o, "pid", (uint64_t)d->pid);
	kh_json_add_uint(o, "since", d->since > 0 ? (uint64_t)d->since : 0);
	return o;
}

void kh_integrity_json(const struct kh_integrity *in, cJSON *out)
{
	cJSON *b, *s, *arr;

	if (in->have) {
		b = cJSON_AddObjectToObject(out, "baseline");
		kh_json_add_uint(b, "version", in->bl.version);
		kh_json_add_uint(b, "created", in->bl.created);
		kh_json_add_uint(b, "files", in->bl.nentries);
		kh_json_add_uint(b, "watched", in->bl.nwatch);
		cJSON_AddBoolToObject(b, "kill_suspicious",
				      !!(in->bl.flags & KH_BL_KILL_SUSPICIOUS));
	} else {
		cJSON_AddNullToObject(out, "baseline");
	}
	cJSON_AddStringToObject(out, "where", in->cfg.auditor_chan >= 0 ? "auditor" : "engine");
	cJSON_AddBoolToObject(out, "notify", in->watch != NULL);
	kh_json_add_uint(out, "run", in->done);
	cJSON_AddBoolToObject(out, "running", in->running);
	if (in->scanned_at) {
		s = cJSON_AddObjectToObject(out, "last_scan");
		kh_json_add_uint(s, "at", (uint64_t)in->scanned_at);
		cJSON_AddStringToObject(s, "mode",
					in->last_mode == KH_BL_SCAN_FULL ? "full" : "persistence");
		kh_json_add_uint(s, "files", in->files);
		kh_json_add_uint(s, "skipped", in->skipped);
		kh_json_add_uint(s, "dropped", in->last_dropped);
		cJSON_AddBoolToObject(s, "partial", in->last_dropped > 0);
		kh_json_add_uint(s, "scan_us", in->scan_us);
	} else {
		cJSON_AddNullToObject(out, "last_scan");
	}
	kh_json_add_uint(out, "reported", in->reported);
	kh_json_add_uint(out, "stopped", in->stopped);
	kh_json_add_uint(out, "dropped", in->dropped);
	arr = cJSON_AddArrayToObject(out, "drifts");
	for (int i = 0; i < in->nopen; i++)
		cJSON_AddItemToArray(arr, drift_json(&in->open[i]));
	if (in->error[0])
		cJSON_AddStringToObject(out, "error", in->error);
}

/* ---- the auditor's side ---- */

struct reply {
	cJSON *arr;
	struct budget u; /* bytes: about what the reply holds, it must fit KH_AUDITOR_REPLY_MAX */
	uint64_t more;
};

static void reply_drift(void *ctx, const struct kh_drift *d)
{
	struct reply *r = ctx;
	cJSON *o;

	size_t cost = (strlen(d->path) + strlen(d->evidence)) * 6 + strlen(d->what) + 128;

	/* escaped JSON is at most six times the text (\u00XX); what does not fit is counted */
	if (budget_take(&r->u, d->kind, d->sev, cost, REPLY_DRIFTS_MAX,
			KH_AUDITOR_REPLY_MAX - 4096) < 0) {
		r->more++;
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToArray(r->arr, o);
	cJSON_AddStringToObject(o, "type", kh_drift_type(d->kind));
	cJSON_AddStringToObject(o, "severity", kh_severity_name(d->sev));
	cJSON_AddStringToObject(o, "path", d->path);
	cJSON_AddStringToObject(o, "what", d->what);
	cJSON_AddStringToObject(o, "evidence", d->evidence);
	if (d->pid > 0)
		kh_json_add_uint(o, "pid", (uint64_t)d->pid);
}

char *kh_integrity_scan_text(const char *root, const uint8_t *table, size_t len, int mode)
{
	struct kh_baseline bl;
	struct kh_fsroot *fr = NULL;
	struct kh_bl_scan *s = NULL;
	struct reply r = {0};
	cJSON *j = cJSON_CreateObject();
	char why[256], *text;
	uint64_t files, skipped, t0 = kh_time_mono_ns();
	int rc;

	if (!j)
		return NULL;
	if ((rc = kh_bl_parse(table, len, &bl, why, sizeof(why))) < 0)
		goto fail;
	if ((rc = kh_fsroot_open(root, &fr)) < 0) {
		snprintf(why, sizeof(why), "root %s: %s", root, strerror(-rc));
		goto fail;
	}
	r.arr = cJSON_AddArrayToObject(j, "drifts");
	if (!r.arr || !(s = kh_bl_scan_new(&bl, fr, mode, reply_drift, &r))) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	while (kh_bl_scan_step(s, 256))
		;
	kh_bl_scan_counts(s, &files, &skipped);
	kh_json_add_uint(j, "files", files);
	kh_json_add_uint(j, "skipped", skipped);
	/* drifts left out: the agent must not take this scan as complete */
	cJSON_AddBoolToObject(j, "partial", r.more > 0);
	kh_json_add_uint(j, "dropped", r.more);
	kh_json_add_uint(j, "scan_us", (kh_time_mono_ns() - t0) / 1000);
	goto done;
fail:
	cJSON_DeleteItemFromObject(j, "drifts");
	cJSON_AddStringToObject(j, "error", why);
done:
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	kh_bl_scan_free(s);
	kh_fsroot_close(fr);
	return text;
}
