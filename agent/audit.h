/* SPDX-License-Identifier: MIT */
/*
 * The agent's configuration audit (docs/AUDIT.md): holds the audit rules
 * of the active policy, runs them at start, after every policy change and
 * every interval, keeps the latest outcome of each check, and tells the
 * report side what changed since the server last acknowledged.
 *
 * Where a run happens: in slices on the agent's loop (lwIP, and Linux
 * without privilege separation), or, when the engine has dropped its
 * privileges, in the auditor process (agent/auditor.c), which alone may
 * read root-only files such as /etc/shadow; the engine then only sends the
 * rules and reads back outcomes, without blocking.
 */
#ifndef KHIEN_AGENT_AUDIT_H
#define KHIEN_AGENT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/severity.h"
#include "platform/loop.h"

struct cJSON;
struct kh_agent_audit;

struct kh_agent_audit_cfg {
	const char *root;    /* the audited file system: "/" or --audit-root */
	uint32_t interval_s; /* 0: only at start and on policy changes */
	unsigned slice;	     /* work units per loop turn (in-process runs) */
	int auditor_chan;    /* the auditor process's channel, or -1 to run in-process */
	/* A check of severity high or critical started failing (or its evidence changed). */
	void (*on_fail)(void *ctx, const char *check, enum kh_severity sev, const char *evidence);
	void *ctx;
};

#if IS_ENABLED(CONFIG_AUDIT) || defined(KH_AGENT_AUDIT_IMPL)
int kh_agent_audit_new(struct kh_loop *loop, const struct kh_agent_audit_cfg *cfg,
		       struct kh_agent_audit **out);
void kh_agent_audit_free(struct kh_agent_audit *a);

/*
 * The audit component of a newly applied policy (NULL: the policy has
 * none; results are cleared), and the policy slot it sits in (0 or 1: the
 * auditor process reads it there itself). Starts a run. -EBADMSG with why
 * for rules that do not parse (the previous rules stay).
 */
int kh_agent_audit_set_rules(struct kh_agent_audit *a, const uint8_t *data, size_t len, int slot,
			     char *why, size_t whylen);

/* Start a run now (one already running continues). Returns the run's number. */
uint64_t kh_agent_audit_run(struct kh_agent_audit *a);

/*
 * The latest results as docs/AUDIT.md's JSON object, plus "run" (number of
 * the last completed run), "running", "ran_at" (wall seconds) into out.
 */
void kh_agent_audit_json(const struct kh_agent_audit *a, struct cJSON *out);

/*
 * For the sync: the hex SHA-256 of the whole result set (policy id and
 * version, each check's id, result and evidence, sorted by id), and the
 * checks changed since the last acknowledgement (all of them if full).
 * Returns a JSON object {"policy", "digest", "full", "checks": [...]}
 * (NULL if there are no rules or nothing to send and !full), and the
 * generation to acknowledge with kh_agent_audit_acked() once the server has
 * stored it.
 */
struct cJSON *kh_agent_audit_changes(struct kh_agent_audit *a, int full, uint64_t *gen);
/*
 * The server stored the upload of generation gen, whose digest was sent,
 * and now holds a set whose digest is digest: acknowledged if the two agree
 * (0); otherwise 1, and the next upload is the whole set.
 */
int kh_agent_audit_stored(struct kh_agent_audit *a, uint64_t gen, const char *sent,
			  const char *digest);
/* The digest of the whole result set; NULL before the first run of the rules. */
const char *kh_agent_audit_digest(const struct kh_agent_audit *a);
/*
 * The digest the server last said it holds, when it matched what was sent
 * (NULL: none since start or since the rules changed; the next upload is
 * then the whole set anyway). The check-in carries it, so a server whose
 * copy has since been lost or damaged asks for everything.
 */
const char *kh_agent_audit_acked_digest(const struct kh_agent_audit *a);

#else /* built without CONFIG_AUDIT: no object is ever made, and callers need no #if */

static inline int kh_agent_audit_new(struct kh_loop *loop, const struct kh_agent_audit_cfg *cfg,
				     struct kh_agent_audit **out)
{
	(void)loop, (void)cfg;
	*out = NULL;
	return 0;
}
static inline void kh_agent_audit_free(struct kh_agent_audit *a)
{
	(void)a;
}
static inline int kh_agent_audit_set_rules(struct kh_agent_audit *a, const uint8_t *data,
					   size_t len, int slot, char *why, size_t whylen)
{
	(void)a, (void)data, (void)len, (void)slot, (void)why, (void)whylen;
	return 0;
}
static inline uint64_t kh_agent_audit_run(struct kh_agent_audit *a)
{
	return (void)a, 0;
}
static inline void kh_agent_audit_json(const struct kh_agent_audit *a, struct cJSON *out)
{
	(void)a, (void)out;
}
static inline struct cJSON *kh_agent_audit_changes(struct kh_agent_audit *a, int full,
						   uint64_t *gen)
{
	(void)a, (void)full, (void)gen;
	return NULL;
}
static inline int kh_agent_audit_stored(struct kh_agent_audit *a, uint64_t gen, const char *sent,
					const char *digest)
{
	(void)a, (void)gen, (void)sent, (void)digest;
	return 0;
}
static inline const char *kh_agent_audit_digest(const struct kh_agent_audit *a)
{
	return (void)a, NULL;
}
static inline const char *kh_agent_audit_acked_digest(const struct kh_agent_audit *a)
{
	return (void)a, NULL;
}

#endif

#endif
