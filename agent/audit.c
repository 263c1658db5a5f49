/* SPDX-License-Identifier: MIT */
/*
 * The agent's configuration audit (agent/audit.h): when runs happen, where
 * (in slices on the loop, or in the auditor process), and what the latest
 * results are. Results are kept per check with the generation in which
 * they last changed, so the sync sends only what changed since the server
 * acknowledged, and a digest of the whole set lets the server notice when
 * its copy differs and ask for all of it.
 */
#define _DEFAULT_SOURCE
#define KH_AGENT_AUDIT_IMPL /* the module itself: its real declarations, whatever Kconfig says */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/audit.h"
#include "agent/auditor.h"
#include "agent/privsep_wire.h"
#include "lib/endian.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "platform/fact.h"
#include "platform/fsroot.h"
#include "platform/time.h"
#include "policy/audit.h"

/* how long one slice of an in-process run may hold the loop */
#define SLICE_NS 500000u

struct res {
	char id[KH_AUDIT_MAX_ID + 1];
	uint8_t result, sev;
	char evidence[KH_AUDIT_MAX_EVIDENCE];
	int64_t changed_at; /* wall seconds */
	uint64_t gen;	    /* generation in which it last changed */
};

struct kh_agent_audit {
	struct kh_loop *loop;
	struct kh_agent_audit_cfg cfg;
	char *root;
	struct kh_audit_policy *pol;
	int slot;		  /* its policy slot, which the auditor reads it from */
	struct kh_fsroot *fsroot; /* in-process runs */
	struct kh_audit_run *run;
	struct kh_timer slice, interval;
	int running, again, waiting;
	uint64_t started, done; /* run numbers */
	int64_t ran_at;
	struct res *res;
	int nres;
	uint64_t gen, acked, full_from; /* a change of rules forces a full upload */
	char digest[2 * KH_SHA256_LEN + 1];
	char acked_digest[2 * KH_SHA256_LEN +
			  1]; /* what the server said it holds, once it agreed */
	char error[160];      /* why the last run could not be made */
};

static const char *fact(void *ctx, const char *name)
{
	(void)ctx;
	return kh_fact_get(name);
}

static int find(const struct res *r, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(r[i].id, id) == 0)
			return i;
	return -1;
}

static int cmp_res(const void *a, const void *b)
{
	return strcmp(((const struct res *)a)->id, ((const struct res *)b)->id);
}

static void update_digest(struct kh_agent_audit *a)
{
	struct kh_audit_digest d;

	/* results are kept sorted by id, the order the digest is defined in */
	kh_audit_digest_init(&d, a->pol ? a->pol->id : "", a->pol ? a->pol->version : 0);
	for (int i = 0; i < a->nres; i++)
		kh_audit_digest_add(&d, a->res[i].id,
				    kh_audit_result_name((enum kh_audit_result)a->res[i].result),
				    a->res[i].evidence);
	kh_audit_digest_final(&d, a->digest);
}

/* A run's outcomes, results and evidence in the order of a->pol's checks, replace the results. */
static void take_outcomes(struct kh_agent_audit *a, const uint8_t *results,
			  const char *const *evidence)
{
	int n = a->pol->nchecks;
	struct res *nr = calloc((size_t)(n ? n : 1), sizeof(*nr));
	uint64_t gen = a->gen + 1;
	int64_t now = kh_time_wall();
	int changed = n != a->nres;

	if (!nr) {
		snprintf(a->error, sizeof(a->error), "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct kh_audit_check *c = &a->pol->checks[i];
		int k = find(a->res, a->nres, c->id);
		struct res *r = &nr[i];
		snprintf(r->id, sizeof(r->id), "%s", c->id);
		snprintf(r->evidence, sizeof(r->evidence), "%s", evidence[i]);
		r->result = results[i];
		r->sev = (uint8_t)c->severity;
		if (k >= 0 && a->res[k].result == r->result &&
		    strcmp(a->res[k].evidence, r->evidence) == 0) {
			r->changed_at = a->res[k].changed_at;
			r->gen = a->res[k].gen;
		} else {
			r->changed_at = now;
			r->gen = gen;
			changed = 1;
			if (r->result == KH_AUDIT_FAIL && r->sev >= KH_SEV_HIGH && a->cfg.on_fail)
				a->cfg.on_fail(a->cfg.ctx, r->id, (enum kh_severity)r->sev,
					       r->evidence);
		}
	}
	qsort(nr, (size_t)n, sizeof(*nr), cmp_res);
	free(a->res);
	a->res = nr;
	a->nres = n;
	if (changed)
		a->gen = gen;
	update_digest(a);
}

static void run_finished(struct kh_agent_audit *a)
{
	a->running = 0;
	a->done = a->started;
	a->ran_at = kh_time_wall();
	if (a->again) {
		a->again = 0;
		kh_agent_audit_run(a);
	}
}

/* ---- in-process runs, in slices ---- */

static void on_slice(struct kh_loop *loop, void *arg)
{
	struct kh_agent_audit *a = arg;
	const struct kh_audit_outcome *o;
	const char **ev;
	uint8_t *res;
	int n;

	uint64_t until = kh_time_mono_ns() + SLICE_NS;
	int more;

	/* a slice is a few units of work (a rule, a file of a walk), for at most SLICE_NS */
	while ((more = kh_audit_step(a->run, a->cfg.slice)) && kh_time_mono_ns() < until)
		;
	if (more) {
		kh_timer_arm(loop, &a->slice, 0); /* let DNS in between slices */
		return;
	}
	o = kh_audit_outcomes(a->run, &n);
	ev = calloc((size_t)n + 1, sizeof(*ev));
	res = calloc((size_t)n + 1, 1);
	if (ev && res) {
		for (int i = 0; i < n; i++) {
			ev[i] = o[i].evidence;
			res[i] = (uint8_t)o[i].result;
		}
		a->error[0] = 0;
		take_outcomes(a, res, ev);
	}
	free(ev);
	free(res);
	kh_audit_end(a->run);
	a->run = NULL;
	run_finished(a);
}

/* ---- runs in the auditor process ---- */

/* The auditor's reply (agent/auditor.c): outcomes of a->pol's checks, or why there are none. */
static void take_reply(struct kh_agent_audit *a, const uint8_t *b, size_t len)
{
	int n = a->pol ? a->pol->nchecks : 0;
	const char **ev = calloc((size_t)n + 1, sizeof(*ev));
	uint8_t *res = calloc((size_t)n + 1, 1);
	size_t at = 7;

	if (len >= 2 && b[0] == 'E' && b[len - 1] == 0) {
		snprintf(a->error, sizeof(a->error), "auditor: %s", (const char *)b + 1);
		goto done;
	}
	if (!ev || !res || !a->pol)
		goto done;
	if (len < 7 || b[0] != 'R')
		goto bad;
	/* a reply for other rules (they changed during the run) is dropped: another run follows */
	if (kh_le16(b + 5) != n || kh_le32(b + 1) != a->pol->version)
		goto done;
	for (int i = 0; i < n; i++) {
		const uint8_t *nul = at + 1 < len ? memchr(b + at + 1, 0, len - at - 1) : NULL;
		if (!nul || b[at] > KH_AUDIT_ERROR || nul - (b + at + 1) >= KH_AUDIT_MAX_EVIDENCE)
			goto bad;
		res[i] = b[at];
		ev[i] = (const char *)b + at + 1;
		at = (size_t)(nul - b) + 1;
	}
	if (at != len)
		goto bad;
	a->error[0] = 0;
	take_outcomes(a, res, ev);
	goto done;
bad:
	snprintf(a->error, sizeof(a->error), "auditor: malformed reply");
done:
	free(ev);
	free(res);
}

static void on_auditor(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct kh_agent_audit *a = arg;
	uint32_t type;
	uint8_t *body;
	size_t len;
	int rc;

	(void)events;
	/* the auditor writes its reply at once, when it is done: this read does not wait on the run */
	rc = kh_chan_recv(fd, KH_AUDITOR_REPLY_MAX, &type, &body, &len);
	if (rc < 0 || type != (KH_AUDITOR_RUN | KH_PRIV_REPLY)) {
		log_error("audit: the auditor process is gone (%s); audits stop",
			  rc < 0 ? strerror(-rc) : "out of protocol");
		kh_loop_fd_del(loop, fd);
		a->cfg.auditor_chan = -1;
		snprintf(a->error, sizeof(a->error), "the auditor process is gone");
		if (rc == 0)
			free(body);
		a->waiting = 0;
		a->again = 0;
		run_finished(a);
		return;
	}
	take_reply(a, body, len);
	free(body);
	a->waiting = 0;
	run_finished(a);
}

static int send_run(struct kh_agent_audit *a)
{
	char slot = a->slot ? '1' : '0';

	return kh_chan_send(a->cfg.auditor_chan, KH_AUDITOR_RUN, &slot, 1);
}

uint64_t kh_agent_audit_run(struct kh_agent_audit *a)
{
	if (a->running) {
		a->again = 1; /* rules or files changed under a run: one more after it */
		return a->started + 1;
	}
	if (!a->pol)
		return a->done;
	a->running = 1;
	a->started++;
	if (a->cfg.auditor_chan >= 0) {
		int rc = send_run(a);
		if (rc < 0) {
			snprintf(a->error, sizeof(a->error), "cannot reach the auditor: %s",
				 strerror(-rc));
			run_finished(a);
		} else {
			a->waiting = 1;
		}
		return a->started;
	}
	struct kh_audit_src src = {.root = a->fsroot, .fact = fact};
	a->run = kh_audit_start(a->pol, &src);
	if (!a->run) {
		snprintf(a->error, sizeof(a->error), "out of memory");
		run_finished(a);
		return a->started;
	}
	kh_timer_arm(a->loop, &a->slice, 0);
	return a->started;
}

static void on_interval(struct kh_loop *loop, void *arg)
{
	struct kh_agent_audit *a = arg;

	kh_agent_audit_run(a);
	kh_timer_arm(loop, &a->interval, (uint64_t)a->cfg.interval_s * 1000);
}

int kh_agent_audit_new(struct kh_loop *loop, const struct kh_agent_audit_cfg *cfg,
		       struct kh_agent_audit **out)
{
	struct kh_agent_audit *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->cfg = *cfg;
	if (!a->cfg.slice)
		a->cfg.slice = 8;
	a->root = strdup(cfg->root ? cfg->root : "/");
	if (!a->root) {
		free(a);
		return -ENOMEM;
	}
	kh_timer_init(&a->slice, on_slice, a);
	kh_timer_init(&a->interval, on_interval, a);
	if (a->cfg.auditor_chan >= 0) {
		rc = kh_loop_fd_add(loop, a->cfg.auditor_chan, KH_EV_READ, on_auditor, a);
	} else {
		/* a missing root at start is an error, not an audit of nothing */
		rc = kh_fsroot_open(a->root, &a->fsroot);
		if (rc == -ENOTSUP)
			rc = 0; /* no file system (lwIP): fact rules only */
	}
	if (rc < 0) {
		free(a->root);
		free(a);
		return rc;
	}
	if (a->cfg.interval_s)
		kh_timer_arm(loop, &a->interval, (uint64_t)a->cfg.interval_s * 1000);
	update_digest(a);
	*out = a;
	return 0;
}

void kh_agent_audit_free(struct kh_agent_audit *a)
{
	if (!a)
		return;
	kh_timer_cancel(a->loop, &a->slice);
	kh_timer_cancel(a->loop, &a->interval);
	if (a->cfg.auditor_chan >= 0)
		kh_loop_fd_del(a->loop, a->cfg.auditor_chan);
	kh_audit_end(a->run);
	kh_audit_free(a->pol);
	kh_fsroot_close(a->fsroot);
	free(a->res);
	free(a->root);
	free(a);
}

int kh_agent_audit_set_rules(struct kh_agent_audit *a, const uint8_t *data, size_t len, int slot,
			     char *why, size_t whylen)
{
	struct kh_audit_policy *p = NULL;
	uint8_t *copy = NULL;
	int rc;

	/* the policy points into its own copy of the rules, which it frees */
	if (data) {
		if (!(copy = malloc(len ? len : 1))) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		memcpy(copy, data, len);
		if ((rc = kh_audit_decode(copy, len, copy, &p, why, whylen)) < 0)
			return rc;
	}
	if (a->run) { /* outcomes point into the old rules: drop the run, start again */
		kh_timer_cancel(a->loop, &a->slice);
		kh_audit_end(a->run);
		a->run = NULL;
		a->running = 0;
	}
	kh_audit_free(a->pol);
	a->pol = p;
	a->slot = slot;
	free(a->res);
	a->res = NULL;
	a->nres = 0;
	a->full_from = ++a->gen; /* the server's copy is of other rules now */
	a->acked_digest[0] = 0;
	update_digest(a);
	if (p)
		kh_agent_audit_run(a);
	return 0;
}

static cJSON *res_json(const struct res *r, int with_time)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "id", r->id);
	cJSON_AddStringToObject(c, "result", kh_audit_result_name((enum kh_audit_result)r->result));
	cJSON_AddStringToObject(c, "severity", kh_severity_name(r->sev));
	cJSON_AddStringToObject(c, "evidence", r->evidence);
	if (with_time)
		kh_json_add_uint(c, "changed_at", r->changed_at > 0 ? (uint64_t)r->changed_at : 0);
	return c;
}

static void policy_json(const struct kh_agent_audit *a, cJSON *out)
{
	cJSON *p = cJSON_AddObjectToObject(out, "policy");

	if (!a->pol)
		return;
	cJSON_AddStringToObject(p, "id", a->pol->id);
	kh_json_add_uint(p, "version", a->pol->version);
	if (a->pol->title)
		cJSON_AddStringToObject(p, "title", a->pol->title);
}

void kh_agent_audit_json(const struct kh_agent_audit *a, cJSON *out)
{
	cJSON *arr, *sum;
	int count[4] = {0};

	policy_json(a, out);
	arr = cJSON_AddArrayToObject(out, "checks");
	/* in the rules' order, as khien-policy audit check prints them */
	for (int i = 0; a->pol && i < a->pol->nchecks; i++) {
		int k = find(a->res, a->nres, a->pol->checks[i].id);
		if (k < 0)
			continue;
		cJSON_AddItemToArray(arr, res_json(&a->res[k], 1));
		count[a->res[k].result]++;
	}
	sum = cJSON_AddObjectToObject(out, "summary");
	for (int r = 0; r < 4; r++)
		kh_json_add_uint(sum, kh_audit_result_name((enum kh_audit_result)r),
				 (uint64_t)count[r]);
	kh_json_add_uint(out, "run", a->done);
	cJSON_AddBoolToObject(out, "running", a->running);
	kh_json_add_uint(out, "ran_at", a->ran_at > 0 ? (uint64_t)a->ran_at : 0);
	cJSON_AddStringToObject(out, "digest", a->digest);
	if (a->error[0])
		cJSON_AddStringToObject(out, "error", a->error);
}

cJSON *kh_agent_audit_changes(struct kh_agent_audit *a, int full, uint64_t *gen)
{
	cJSON *o, *arr;
	int n = 0;

	*gen = a->gen;
	if (!a->pol || !a->done)
		return NULL; /* nothing evaluated yet */
	full = full || a->acked < a->full_from;
	if (full && a->full_from > *gen)
		*gen = a->full_from; /* acknowledging the whole set ends the need for one */
	for (int i = 0; i < a->nres && !full; i++)
		n += a->res[i].gen > a->acked;
	if (!full && n == 0)
		return NULL;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	policy_json(a, o);
	cJSON_AddStringToObject(o, "digest", a->digest);
	cJSON_AddBoolToObject(o, "full", full);
	arr = cJSON_AddArrayToObject(o, "checks");
	for (int i = 0; i < a->nres; i++)
		if (full || a->res[i].gen > a->acked)
			cJSON_AddItemToArray(arr, res_json(&a->res[i], 1));
	return o;
}

int kh_agent_audit_stored(struct kh_agent_audit *a, uint64_t gen, const char *sent,
			  const char *digest)
{
	if (strcmp(sent, digest) != 0) {
		a->full_from = ++a->gen; /* until a whole set is acknowledged */
		return 1;
	}
	if (gen > a->acked)
		a->acked = gen;
	memcpy(a->acked_digest, digest, sizeof(a->acked_digest) - 1);
	return 0;
}

const char *kh_agent_audit_digest(const struct kh_agent_audit *a)
{
	return a->pol && a->done ? a->digest : NULL;
}

const char *kh_agent_audit_acked_digest(const struct kh_agent_audit *a)
{
	return a->acked_digest[0] ? a->acked_digest : NULL;
}
