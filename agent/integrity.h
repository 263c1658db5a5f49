/* SPDX-License-Identifier: MIT */
/*
 * The agent's file-system integrity check (docs/INTEGRITY.md): holds the
 * active policy's baseline table (component "baseline"), compares the file
 * system with it at start, as soon as a new baseline is applied, every
 * interval and within seconds of a notified change to a persistence point,
 * and reports each drift once (file_changed, file_added, file_removed,
 * process_suspicious, socket_listening, dns_hijack). It never changes the
 * baseline: only a newly signed one does.
 *
 * Where a scan runs: in slices on the agent's loop, or, when the engine has
 * dropped its privileges, in an auditor process (agent/auditor.c), which
 * alone may read root-only files such as /etc/shadow; the engine then only
 * names the slot and the kind of scan and reads back the drifts.
 */
#ifndef KHIEN_AGENT_INTEGRITY_H
#define KHIEN_AGENT_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "platform/loop.h"

struct cJSON;
struct kh_drift;
struct kh_integrity;
struct kh_proc_info;

#define KH_INTEGRITY_MAX_DRIFTS 1024 /* open drifts kept; more are counted */

struct kh_integrity_cfg {
	const char *root;    /* the checked file system: "/" or --audit-root */
	uint32_t interval_s; /* full scans; 0: only at start, on a new baseline and notified */
	int auditor_chan;    /* an auditor process's channel, or -1 to scan in-process */
	int notify;	     /* watch the persistence points (inotify) */
	/*
	 * A file (the daemon's spool) keeping which open drifts were reported,
	 * so a restart does not report them again; NULL: memory only.
	 */
	const char *reported_path;
	/*
	 * The live system's processes of other users (the root parent's list,
	 * agent/privsep.h), checked after the auditor's scan; NULL: none.
	 */
	int (*procs)(void *ctx, long after, struct kh_proc_info *out, unsigned max, unsigned *n,
		     long *next);
	/*
	 * Stop a suspicious process (the root parent; it checks the signed
	 * kill_suspicious flag and the identity itself); NULL: never asked.
	 */
	int (*kill)(void *ctx, long pid, uint64_t dev, uint64_t ino, char *why, size_t whylen);
	void *proc_ctx;
	/* A drift seen for the first time (the caller turns it into an event). */
	void (*on_drift)(void *ctx, const struct kh_drift *d);
	void *ctx;
};

#if IS_ENABLED(CONFIG_INTEGRITY) || defined(KH_INTEGRITY_IMPL)
int kh_integrity_new(struct kh_loop *loop, const struct kh_integrity_cfg *cfg,
		     struct kh_integrity **out);
void kh_integrity_free(struct kh_integrity *in);

/*
 * The baseline component of the active policy (path NULL: none, drifts are
 * cleared) and its slot (0 or 1: the auditor reads it there itself). A new
 * table starts a full scan; the same bytes again change nothing. -EBADMSG
 * with why when it does not parse (the previous one stays).
 */
int kh_integrity_set_baseline(struct kh_integrity *in, const char *path, int slot, char *why,
			      size_t whylen);

/* Start a full scan now (one running continues, and another follows). The run's number. */
uint64_t kh_integrity_run(struct kh_integrity *in);

/* Baseline version, last scan, open drifts (docs/INTEGRITY.md) into out. */
void kh_integrity_json(const struct kh_integrity *in, struct cJSON *out);

/*
 * The auditor's side: scan root against the table (mode KH_BL_SCAN_*) to
 * the end, as the reply text {"files", "skipped", "drifts": [...]} or
 * {"error": why}. NULL when out of memory; free() it.
 */
char *kh_integrity_scan_text(const char *root, const uint8_t *table, size_t len, int mode);

#else /* built without CONFIG_INTEGRITY: no object is ever made, and callers need no #if */

static inline int kh_integrity_new(struct kh_loop *loop, const struct kh_integrity_cfg *cfg,
				   struct kh_integrity **out)
{
	(void)loop, (void)cfg;
	*out = NULL;
	return 0;
}
static inline void kh_integrity_free(struct kh_integrity *in)
{
	(void)in;
}
static inline int kh_integrity_set_baseline(struct kh_integrity *in, const char *path, int slot,
					    char *why, size_t whylen)
{
	(void)in, (void)path, (void)slot, (void)why, (void)whylen;
	return 0;
}
static inline uint64_t kh_integrity_run(struct kh_integrity *in)
{
	return (void)in, 0;
}
static inline void kh_integrity_json(const struct kh_integrity *in, struct cJSON *out)
{
	(void)in, (void)out;
}
static inline char *kh_integrity_scan_text(const char *root, const uint8_t *table, size_t len,
					   int mode)
{
	(void)root, (void)table, (void)len, (void)mode;
	return NULL;
}

#endif

#endif
