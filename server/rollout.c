/* SPDX-License-Identifier: MIT */
/*
 * Staged rollout (server/rollout.h): assignment while a rollout runs, the
 * operator's steps, the counts and the halt rule. The store keeps one row
 * per group (kh_store_rollout_*); the group's plain assignment stays what
 * it was until the last stage, so the devices outside the stage keep
 * getting it, and a halted rollout only has to stop naming the new version.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fnv.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/time.h"
#include "server/render.h"
#include "server/rollout.h"

unsigned kh_rollout_bucket(uint64_t version, const char *group, const char *serial)
{
	struct kh_sha256 h;
	uint8_t d[KH_SHA256_LEN], v[8];

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(version >> (56 - 8 * i));
	kh_sha256_init(&h);
	kh_sha256_update(&h, "khien-rollout", 14);
	kh_sha256_update(&h, v, 8);
	kh_sha256_update(&h, group, strlen(group) + 1);
	kh_sha256_update(&h, serial, strlen(serial));
	kh_sha256_final(&h, d);
	return (unsigned)(((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 |
			   d[3]) %
			  10000u);
}

/*
 * A group's assignment as kh_srv_assigned needs it: the plain one and, while
 * a rollout of a newer version runs, that version and its stage. Every
 * check-in asks, and on PostgreSQL the two or three lookups were round trips
 * that held the event loop; the slot stays valid while the store's policy
 * generation stays the same (another instance's publish notifies it), and
 * for at most ASSIGN_TTL_MS as a backstop.
 */
#define ASSIGN_SLOTS 64
#define ASSIGN_TTL_MS 5000
struct kh_assign_slot {
	char group[KH_GROUP_MAX + 1]; /* "" : empty */
	uint64_t gen, at_ms;
	int err; /* the plain assignment's: 0 or -ENOENT */
	struct kh_policy_rec plain;
	int staged; /* a rollout of a newer version is active */
	unsigned stage_bp;
	int staged_err; /* its policy record's: 0 or -ENOENT */
	struct kh_policy_rec target;
};

static int assign_fill(struct kh_srv *s, const char *group, struct kh_assign_slot *a)
{
	struct kh_rollout r;
	int err = kh_store_assigned(s->store, group, &a->plain);

	if (err < 0 && err != -ENOENT)
		return err;
	a->err = err;
	a->staged = 0;
	err = kh_store_rollout_get(s->store, group, &r);
	if (err < 0 && err != -ENOENT)
		return err;
	if (err == 0 && r.state == KH_ROLLOUT_ACTIVE &&
	    (a->err < 0 || a->plain.version < r.version)) {
		a->staged_err = kh_store_policy_get(s->store, r.version, &a->target);
		if (a->staged_err < 0 && a->staged_err != -ENOENT)
			return a->staged_err;
		a->staged = 1;
		a->stage_bp = r.stage_bp;
		a->target.version = r.version; /* the bucket's, even without a record */
	}
	return 0;
}

int kh_srv_assigned(struct kh_srv *s, const struct kh_device *d, struct kh_policy_rec *out)
{
	uint64_t gen = kh_store_policy_gen(s->store), now = kh_time_mono_ms();
	struct kh_assign_slot *a, spare;
	int err;

	if (!s->assign)
		s->assign = calloc(ASSIGN_SLOTS, sizeof(*s->assign));
	a = s->assign ? &s->assign[kh_fnv1a32(KH_FNV32_BASIS, d->group) % ASSIGN_SLOTS] : &spare;
	if (a == &spare || strcmp(a->group, d->group) != 0 || a->gen != gen ||
	    now - a->at_ms >= ASSIGN_TTL_MS) {
		a->group[0] = 0;
		if ((err = assign_fill(s, d->group, a)) < 0)
			return err; /* a store error is not kept */
		kh_strlcpy(a->group, d->group, sizeof(a->group));
		a->gen = gen;
		a->at_ms = now;
	}
	if (a->staged && kh_rollout_bucket(a->target.version, d->group, d->serial) < a->stage_bp) {
		*out = a->target;
		return a->staged_err;
	}
	*out = a->plain;
	return a->err;
}

static int fail(char *why, size_t whylen, int err, const char *fmt, ...) KH_PRINTF(4, 5);
static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

static void pct(char *buf, size_t cap, unsigned bp)
{
	if (bp % 100)
		snprintf(buf, cap, "%u.%02u%%", bp / 100, bp % 100);
	else
		snprintf(buf, cap, "%u%%", bp / 100);
}

/* The next stage of r (step's), or the halt; r as stored afterwards. */
static int step_rollout(struct kh_srv *s, struct kh_rollout *r, const struct kh_rollout_step *step,
			int64_t now, char *why, size_t whylen)
{
	char p[16];
	int err;

	if (step->halt) {
		if (r->state != KH_ROLLOUT_ACTIVE)
			return fail(why, whylen, -EINVAL, "the rollout of version %llu to %s is %s",
				    (unsigned long long)r->version, r->group,
				    r->state == KH_ROLLOUT_HALTED ? "halted already" : "over");
		err = kh_store_rollout_halt(s->store, r->group, r->version,
					    "halted by the operator", now);
		if (err < 0)
			return fail(why, whylen, err, "store: %s", kh_strerror(err));
		r->state = KH_ROLLOUT_HALTED;
		kh_strlcpy(r->reason, "halted by the operator", sizeof(r->reason));
		r->updated = now;
		return fail(why, whylen, 0, "rollout of version %llu to group %s halted",
			    (unsigned long long)r->version, r->group);
	}
	if (r->state == KH_ROLLOUT_DONE)
		return fail(why, whylen, -EINVAL, "the rollout of version %llu to %s is over",
			    (unsigned long long)r->version, r->group);
	if (r->n_stages && step->stage_bp <= r->stage_bp) {
		pct(p, sizeof(p), r->stage_bp);
		return fail(why, whylen, -EINVAL,
			    "version %llu is at %s of %s already: a stage only goes up",
			    (unsigned long long)r->version, p, r->group);
	}
	if (r->n_stages == KH_ROLLOUT_STAGES_MAX && step->stage_bp < 10000)
		return fail(why, whylen, -EINVAL, "at most %d stages: the next is 100%%",
			    KH_ROLLOUT_STAGES_MAX);
	if (r->n_stages == KH_ROLLOUT_STAGES_MAX)
		r->n_stages--; /* the last slot becomes 100% */
	r->stages[r->n_stages++] = step->stage_bp;
	r->stage_bp = step->stage_bp;
	if (step->halt_bp)
		r->halt_bp = step->halt_bp;
	if (step->silent_s)
		r->silent_s = step->silent_s;
	r->updated = now;
	r->reason[0] = 0;
	r->state = KH_ROLLOUT_ACTIVE;
	if (step->stage_bp >= 10000) {
		/* the last stage: the group's assignment, for every device */
		r->state = KH_ROLLOUT_DONE;
		if ((err = kh_store_assign(s->store, r->group, r->version, now)) < 0)
			return fail(why, whylen, err, "store: %s", kh_strerror(err));
	}
	if ((err = kh_store_rollout_put(s->store, r)) < 0)
		return fail(why, whylen, err, "store: %s", kh_strerror(err));
	pct(p, sizeof(p), r->stage_bp);
	return fail(why, whylen, 0, "version %llu to %s of group %s%s",
		    (unsigned long long)r->version, p, r->group,
		    r->state == KH_ROLLOUT_DONE ? ": the whole group, the rollout is over" : "");
}

int kh_srv_rollout(struct kh_srv *s, const char *group, const uint8_t *bundle, size_t len,
		   const struct kh_rollout_step *step, struct kh_rollout *out, char *why,
		   size_t whylen)
{
	struct kh_policy_rec rec, base;
	int64_t now = kh_time_wall();
	int err, have;

	why[0] = 0;
	if (!kh_srv_group_ok(group) || !strcmp(group, "*"))
		return fail(
			why, whylen, -EINVAL,
			"a staged rollout needs --group G, a group of devices ([A-Za-z0-9._-])");
	if (!step->halt && (step->stage_bp < 1 || step->stage_bp > 10000))
		return fail(why, whylen, -EINVAL, "stage: a share of the group, 0.01%% to 100%%");
	have = kh_store_rollout_get(s->store, group, out);
	if (have < 0 && have != -ENOENT)
		return fail(why, whylen, have, "store: %s", kh_strerror(have));
	if (!bundle) {
		if (have < 0)
			return fail(why, whylen, -ENOENT,
				    "group %s has no rollout: publish a bundle with --stage",
				    group);
		return step_rollout(s, out, step, now, why, whylen);
	}
	if (step->halt)
		return fail(why, whylen, -EINVAL, "--halt takes no bundle");
	if ((err = kh_srv_publish_bundle(s, bundle, len, &rec, why, whylen)) < 0)
		return err;
	/* the same version again: its next stage */
	if (have == 0 && out->version == rec.version && out->state != KH_ROLLOUT_DONE)
		return step_rollout(s, out, step, now, why, whylen);
	err = kh_store_assigned(s->store, group, &base);
	if (err < 0 && err != -ENOENT)
		return fail(why, whylen, err, "store: %s", kh_strerror(err));
	if (err == 0 && base.version >= rec.version)
		return fail(why, whylen, -EINVAL,
			    "version %llu is not newer than version %llu, which group %s has",
			    (unsigned long long)rec.version, (unsigned long long)base.version,
			    group);
	memset(out, 0, sizeof(*out));
	kh_strlcpy(out->group, group, sizeof(out->group));
	out->version = rec.version;
	out->base = err == 0 ? base.version : 0;
	out->halt_bp = KH_ROLLOUT_HALT_BP_DEFAULT;
	out->silent_s = 3 * s->cfg.interval_s;
	out->started = now;
	if (have == 0 && out->state != KH_ROLLOUT_DONE)
		log_notice("rollout to %s: version %llu replaces the rollout in progress", group,
			   (unsigned long long)rec.version);
	return step_rollout(s, out, step, now, why, whylen);
}

struct stats_ctx {
	const struct kh_rollout *r;
	struct kh_rollout_stats *st;
	int64_t now;
};

static int count_device(void *arg, const struct kh_device *d)
{
	struct stats_ctx *c = arg;
	const struct kh_rollout *r = c->r;
	struct kh_rollout_count *k;
	unsigned b, i;
	int applied;

	if (strcmp(d->group, r->group) || d->status != KH_DEV_ACTIVE)
		return 0;
	c->st->group_devices++;
	b = kh_rollout_bucket(r->version, r->group, d->serial);
	for (i = 0; i < r->n_stages && b >= r->stages[i]; i++)
		;
	if (i == r->n_stages)
		return 0; /* not in a stage yet */
	k = &c->st->stage[i];
	applied = d->policy_version >= r->version;
	k->devices++;
	k->seen += d->last_seen >= r->started;
	k->applied += applied;
	k->rejected += !applied && d->policy_rejected == r->version;
	k->silent += applied && r->silent_s && d->last_seen < c->now - (int64_t)r->silent_s;
	return 0;
}

int kh_srv_rollout_stats(struct kh_srv *s, const struct kh_rollout *r, int64_t now,
			 struct kh_rollout_stats *st)
{
	struct stats_ctx c = {.r = r, .st = st, .now = now};
	int err;

	memset(st, 0, sizeof(*st));
	if ((err = kh_store_devices(s->store, count_device, &c)) < 0)
		return err;
	for (unsigned i = 0; i < r->n_stages; i++) {
		st->total.devices += st->stage[i].devices;
		st->total.seen += st->stage[i].seen;
		st->total.applied += st->stage[i].applied;
		st->total.rejected += st->stage[i].rejected;
		st->total.silent += st->stage[i].silent;
	}
	return 0;
}

struct check_ctx {
	struct kh_srv *s;
	int64_t now;
	/* halting inside the store's iteration would nest queries; at most 64 groups roll out */
	struct kh_rollout active[64];
	unsigned n;
};

static int collect_active(void *arg, const struct kh_rollout *r)
{
	struct check_ctx *c = arg;

	if (r->state == KH_ROLLOUT_ACTIVE && c->n < KH_ARRAY_SIZE(c->active))
		c->active[c->n++] = *r;
	return 0;
}

int kh_srv_rollout_check(struct kh_srv *s, int64_t now)
{
	struct check_ctx c = {.s = s, .now = now};
	struct kh_rollout_stats st;
	char reason[200], h[16];
	int err, halted = 0;

	if ((err = kh_store_rollouts(s->store, collect_active, &c)) < 0)
		return err;
	for (unsigned i = 0; i < c.n; i++) {
		const struct kh_rollout *r = &c.active[i];
		uint64_t bad;
		if ((err = kh_srv_rollout_stats(s, r, now, &st)) < 0)
			return err;
		bad = st.total.rejected + st.total.silent;
		if (!bad || bad * 10000 < (uint64_t)r->halt_bp * st.total.devices)
			continue;
		pct(h, sizeof(h), r->halt_bp);
		snprintf(
			reason, sizeof(reason),
			"%llu of %llu devices in the stage rejected it (%llu) or went silent after "
			"applying it (%llu): the threshold is %s",
			(unsigned long long)bad, (unsigned long long)st.total.devices,
			(unsigned long long)st.total.rejected, (unsigned long long)st.total.silent,
			h);
		err = kh_store_rollout_halt(s->store, r->group, r->version, reason, now);
		if (err == -ENOENT)
			continue; /* another instance, or the operator, was first */
		if (err < 0)
			return err;
		log_error("rollout of version %llu to group %s HALTED: %s",
			  (unsigned long long)r->version, r->group, reason);
		halted++;
	}
	return halted;
}

static void add_count(cJSON *o, const struct kh_rollout_count *k)
{
	cJSON_AddNumberToObject(o, "devices", (double)k->devices);
	cJSON_AddNumberToObject(o, "seen", (double)k->seen);
	cJSON_AddNumberToObject(o, "applied", (double)k->applied);
	cJSON_AddNumberToObject(o, "rejected", (double)k->rejected);
	cJSON_AddNumberToObject(o, "silent", (double)k->silent);
}

cJSON *kh_render_rollout(const struct kh_rollout *r, const struct kh_rollout_stats *st)
{
	static const char *const states[] = {"active", "halted", "done"};
	cJSON *o = cJSON_CreateObject(), *arr;
	char p[16];

	cJSON_AddStringToObject(o, "group", r->group);
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	cJSON_AddNumberToObject(o, "base", (double)r->base);
	cJSON_AddStringToObject(o, "state", states[r->state <= KH_ROLLOUT_DONE ? r->state : 0]);
	pct(p, sizeof(p), r->stage_bp);
	cJSON_AddStringToObject(o, "stage", p);
	pct(p, sizeof(p), r->halt_bp);
	cJSON_AddStringToObject(o, "halt_at", p);
	cJSON_AddNumberToObject(o, "silent_after_s", r->silent_s);
	cJSON_AddNumberToObject(o, "started", (double)r->started);
	cJSON_AddNumberToObject(o, "updated", (double)r->updated);
	if (r->reason[0])
		cJSON_AddStringToObject(o, "reason", r->reason);
	if (!st)
		return o;
	cJSON_AddNumberToObject(o, "group_devices", (double)st->group_devices);
	arr = cJSON_AddArrayToObject(o, "stages");
	for (unsigned i = 0; i < r->n_stages; i++) {
		cJSON *k = cJSON_CreateObject();
		pct(p, sizeof(p), r->stages[i]);
		cJSON_AddStringToObject(k, "stage", p);
		add_count(k, &st->stage[i]);
		cJSON_AddItemToArray(arr, k);
	}
	add_count(cJSON_AddObjectToObject(o, "total"), &st->total);
	return o;
}

struct list_ctx {
	const char *group;
	struct kh_rollout r[64];
	unsigned n;
};

static int collect_rollout(void *arg, const struct kh_rollout *r)
{
	struct list_ctx *c = arg;

	if ((!c->group || !strcmp(c->group, r->group)) && c->n < KH_ARRAY_SIZE(c->r))
		c->r[c->n++] = *r;
	return 0;
}

cJSON *kh_srv_rollouts_json(struct kh_srv *s, const char *group, int64_t now)
{
	struct list_ctx *c = calloc(1, sizeof(*c));
	struct kh_rollout_stats st;
	cJSON *arr = cJSON_CreateArray();

	if (!c || !arr || kh_srv_rollout_check(s, now) < 0)
		goto fail;
	c->group = group;
	if (kh_store_rollouts(s->store, collect_rollout, c) < 0)
		goto fail;
	for (unsigned i = 0; i < c->n; i++) {
		if (kh_srv_rollout_stats(s, &c->r[i], now, &st) < 0)
			goto fail;
		cJSON_AddItemToArray(arr, kh_render_rollout(&c->r[i], &st));
	}
	free(c);
	return arr;
fail:
	free(c);
	cJSON_Delete(arr);
	return NULL;
}
