/* SPDX-License-Identifier: MIT */
/*
 * Staged rollout of a policy version to a group (docs/SERVER.md "Staged
 * rollout"): which version a device is assigned while a rollout runs, the
 * operator's steps (a stage, the next stage, halt), the per-stage counts
 * and the halt rule the server applies on its own.
 *
 * A device's bucket is a number in [0, 10000) from SHA-256 of the version,
 * the group and its serial: stable for one rollout (5% then 25% keeps the
 * first 5% in), different for the next, so no device is always the first.
 */
#ifndef KHIEN_SERVER_ROLLOUT_H
#define KHIEN_SERVER_ROLLOUT_H

#include <cjson/cJSON.h>

#include "server/server.h"

#define KH_ROLLOUT_HALT_BP_DEFAULT 1000 /* 10% of the stage rejected or silent */

unsigned kh_rollout_bucket(uint64_t version, const char *group, const char *serial);

/*
 * The policy assigned to device d: the group's active rollout's version
 * when d is in its stage, else the group's assignment (kh_store_assigned).
 * -ENOENT when nothing is assigned.
 */
int kh_srv_assigned(struct kh_srv *s, const struct kh_device *d, struct kh_policy_rec *out);

/* What the operator asks for: a stage (bp, 10000 = all), or a halt. */
struct kh_rollout_step {
	unsigned stage_bp; /* 1..10000; 0 with halt */
	int halt;
	unsigned halt_bp;  /* 0: keep (or the default for a new rollout) */
	unsigned silent_s; /* 0: keep (or 3 check-in intervals) */
};

/*
 * Publish bundle (verified and stored as kh_srv_publish does) to a stage of
 * group, or with bundle NULL move the group's rollout to step's stage (only
 * up) or halt it. 100% assigns the version to the whole group and ends the
 * rollout. Fills out with the rollout as stored; why says what was done or
 * why not (-EINVAL, -ENOENT, -EEXIST, or the store's error).
 */
int kh_srv_rollout(struct kh_srv *s, const char *group, const uint8_t *bundle, size_t len,
		   const struct kh_rollout_step *step, struct kh_rollout *out, char *why,
		   size_t whylen);

/* Devices of a rollout by the stage that took them in (stage[i]: (stages[i-1], stages[i]]). */
struct kh_rollout_count {
	uint64_t devices;  /* in this stage's slice of the group */
	uint64_t seen;	   /* checked in since the rollout started */
	uint64_t applied;  /* report the version (or a newer one) */
	uint64_t rejected; /* reported refusing it from the server, and do not run it */
	uint64_t silent;   /* applied it, then not seen for silent_s */
};
struct kh_rollout_stats {
	uint64_t group_devices; /* active devices of the group */
	struct kh_rollout_count stage[KH_ROLLOUT_STAGES_MAX];
	struct kh_rollout_count total; /* the stages together */
};
int kh_srv_rollout_stats(struct kh_srv *s, const struct kh_rollout *r, int64_t now,
			 struct kh_rollout_stats *st);

/*
 * The halt rule, for every active rollout: halted (logged, with the reason
 * stored) when rejected + silent devices reach halt_bp of those in the
 * stages so far. The number halted, or a negative errno.
 */
int kh_srv_rollout_check(struct kh_srv *s, int64_t now);

/*
 * The halt rule, then the rollouts (of group, NULL: all; 64 at most) with
 * their counts, as a JSON array; NULL if the store fails.
 */
cJSON *kh_srv_rollouts_json(struct kh_srv *s, const char *group, int64_t now);

/* A rollout and its counts as JSON (the CLI, the operator API, the dashboard). */
cJSON *kh_render_rollout(const struct kh_rollout *r, const struct kh_rollout_stats *st);

#endif
