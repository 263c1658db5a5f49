/* SPDX-License-Identifier: MIT */
/*
 * Staged rollout (server/rollout.c) over an in-memory store: the bucket
 * (stable, in range, near the asked share, different for each version),
 * what a device is assigned while a rollout is active, halted or over, the
 * operator's steps (only up, halt once, 100% becomes the group's
 * assignment) and the halt rule for rejections and for devices that went
 * silent after applying.
 */
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/str.h"
#include "server/rollout.h"
#include "tests/fuzz/server_fixture.h"
#include "tests/unit/kt.h"

#define NDEV 400

static struct kh_srv srv;

static void serial_of(unsigned i, char *buf, size_t cap)
{
	snprintf(buf, cap, "SN-UNIT-%04u", i);
}

static int setup(void)
{
	uint8_t cert[32] = {1};
	char why[256], serial[32];
	struct kh_policy_rec p = {.version = 8, .size = 100};

	if (kh_test_srv_open(&srv, ":memory:", "unit-token-0123456789abcdef", 1000, why,
			     sizeof(why)) < 0) {
		printf("# setup: %s\n", why);
		return -1;
	}
	snprintf(p.sha256_hex, sizeof(p.sha256_hex), "%064d", 8);
	snprintf(p.path, sizeof(p.path), "bundles/8.bundle");
	if (kh_store_policy_add(srv.store, &p) < 0)
		return -1;
	for (unsigned i = 0; i < NDEV; i++) {
		serial_of(i, serial, sizeof(serial));
		if (kh_store_device_add(srv.store, serial, i < NDEV - 10 ? "home" : "other", cert,
					1 << 30, 1000) < 0)
			return -1;
	}
	return kh_store_flush(srv.store);
}

static void test_bucket(void)
{
	unsigned in5 = 0, both = 0;
	char serial[32];

	for (unsigned i = 0; i < 10000; i++) {
		serial_of(i, serial, sizeof(serial));
		unsigned a = kh_rollout_bucket(8, "home", serial);
		KT_CHECK(a < 10000);
		KT_EQ(a, kh_rollout_bucket(8, "home", serial)); /* stable */
		in5 += a < 500;
		both += a < 500 && kh_rollout_bucket(9, "home", serial) < 500;
	}
	/* 5% of 10,000 is 500; a fair hash lands within a few standard deviations (22) */
	KT_CHECK(in5 > 420 && in5 < 580);
	/* the next version's 5% is another 5%: about 25 in common, not 500 */
	KT_CHECK(both < 80);
	KT_CHECK(kh_rollout_bucket(8, "home", "SN-1") != kh_rollout_bucket(8, "homf", "SN-1") ||
		 kh_rollout_bucket(8, "home", "SN-2") != kh_rollout_bucket(8, "homf", "SN-2"));
}

/* How many home devices are assigned version v. */
static unsigned assigned_count(uint64_t v)
{
	struct kh_device d;
	struct kh_policy_rec p;
	char serial[32];
	unsigned n = 0;

	for (unsigned i = 0; i < NDEV - 10; i++) {
		serial_of(i, serial, sizeof(serial));
		if (kh_store_device_get(srv.store, serial, &d) < 0)
			return 9999;
		n += kh_srv_assigned(&srv, &d, &p) == 0 && p.version == v;
	}
	return n;
}

static unsigned in_share(unsigned bp)
{
	char serial[32];
	unsigned n = 0;

	for (unsigned i = 0; i < NDEV - 10; i++) {
		serial_of(i, serial, sizeof(serial));
		n += kh_rollout_bucket(8, "home", serial) < bp;
	}
	return n;
}

static void test_steps(void)
{
	struct kh_rollout_step st = {.stage_bp = 500};
	struct kh_rollout r = {.version = 8,
			       .base = 7,
			       .halt_bp = 1000,
			       .silent_s = 900,
			       .started = 2000,
			       .updated = 2000};
	struct kh_policy_rec p;
	char why[256];

	kh_strlcpy(r.group, "home", sizeof(r.group));
	/* no rollout yet: advancing is refused, "*" is not a group to stage */
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), -ENOENT);
	KT_EQ(kh_srv_rollout(&srv, "*", NULL, 0, &st, &r, why, sizeof(why)), -EINVAL);
	/* a rollout of version 8 at 5%, as publish --stage stores it */
	r = (struct kh_rollout){.version = 8,
				.base = 7,
				.stage_bp = 500,
				.stages = {500},
				.n_stages = 1,
				.halt_bp = 1000,
				.silent_s = 900,
				.started = 2000};
	kh_strlcpy(r.group, "home", sizeof(r.group));
	KT_EQ(kh_store_rollout_put(srv.store, &r), 0);
	KT_EQ(assigned_count(8), in_share(500));
	KT_EQ(assigned_count(7), NDEV - 10 - in_share(500));
	KT_CHECK(in_share(500) > 5);
	/* up to 25%; then 10% is refused and changes nothing */
	st.stage_bp = 2500;
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), 0);
	KT_EQ(r.n_stages, 2);
	KT_EQ(assigned_count(8), in_share(2500));
	st.stage_bp = 1000;
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), -EINVAL);
	KT_CHECK(strstr(why, "only goes up") != NULL);
	KT_EQ(kh_store_rollout_get(srv.store, "home", &r), 0);
	KT_EQ(r.stage_bp, 2500);
	/* the other group is not in it */
	struct kh_device d;
	char serial[32];
	serial_of(NDEV - 1, serial, sizeof(serial));
	KT_EQ(kh_store_device_get(srv.store, serial, &d), 0);
	KT_EQ(kh_srv_assigned(&srv, &d, &p), -ENOENT);
	/* halted: nobody more is offered 8; halting again is refused */
	st = (struct kh_rollout_step){.halt = 1};
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), 0);
	KT_EQ(assigned_count(8), 0);
	KT_EQ(assigned_count(7), NDEV - 10);
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), -EINVAL);
	KT_EQ(kh_store_rollout_halt(srv.store, "home", 8, "again", 3000), -ENOENT);
	/* 100%: the group's assignment, the rollout over */
	st = (struct kh_rollout_step){.stage_bp = 10000};
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), 0);
	KT_EQ(r.state, KH_ROLLOUT_DONE);
	KT_EQ(assigned_count(8), NDEV - 10);
	KT_EQ(kh_store_assigned(srv.store, "home", &p), 0);
	KT_EQ(p.version, 8);
	st.stage_bp = 10000;
	KT_EQ(kh_srv_rollout(&srv, "home", NULL, 0, &st, &r, why, sizeof(why)), -EINVAL);
	kh_store_assign(srv.store, "home", 7, 1000); /* back, for the next case */
}

/* Check in every home device of the stage (bucket < bp) at t with version v. */
static void checkin_stage(unsigned bp, uint64_t v, int64_t t, unsigned skip_every)
{
	struct kh_checkin c = {.firmware = "f", .hardware_id = "h", .policy_version = v};
	char serial[32];
	unsigned k = 0;

	for (unsigned i = 0; i < NDEV - 10; i++) {
		serial_of(i, serial, sizeof(serial));
		if (kh_rollout_bucket(8, "home", serial) >= bp)
			continue;
		if (skip_every && k++ % skip_every == 0)
			continue;
		kh_store_checkin(srv.store, serial, &c, t);
	}
	kh_store_flush(srv.store);
}

static void test_halt_rule(void)
{
	struct kh_rollout r = {.version = 8,
			       .base = 7,
			       .stage_bp = 1000,
			       .stages = {1000},
			       .n_stages = 1,
			       .halt_bp = 3000,
			       .silent_s = 900,
			       .started = 10000};
	struct kh_rollout_stats st;
	unsigned n = in_share(1000), late;
	char serial[32];

	kh_strlcpy(r.group, "home", sizeof(r.group));
	KT_EQ(kh_store_rollout_put(srv.store, &r), 0);
	/* all of the stage apply it at 10,100 */
	checkin_stage(1000, 8, 10100, 0);
	KT_EQ(kh_srv_rollout_stats(&srv, &r, 10200, &st), 0);
	KT_EQ(st.group_devices, NDEV - 10);
	KT_EQ(st.total.devices, n);
	KT_EQ(st.total.applied, n);
	KT_EQ(st.total.seen, n);
	KT_EQ(st.total.silent, 0);
	KT_EQ(kh_srv_rollout_check(&srv, 10200), 0);
	/* two thirds come back at 11,000, the other third stays away past silent_s */
	KT_EQ(kh_srv_rollout_stats(&srv, &r, 10950, &st), 0);
	KT_EQ(st.total.silent, 0); /* 850 s since they were seen: not yet silent */
	checkin_stage(1000, 8, 11000, 3);
	late = n - (n + 2) / 3;
	KT_EQ(kh_srv_rollout_stats(&srv, &r, 11100, &st), 0);
	KT_EQ(st.total.silent, n - late);
	/* a third silent is over the 30% threshold */
	KT_EQ(kh_srv_rollout_check(&srv, 11100), 1);
	KT_EQ(kh_store_rollout_get(srv.store, "home", &r), 0);
	KT_EQ(r.state, KH_ROLLOUT_HALTED);
	KT_CHECK(strstr(r.reason, "went silent after applying it") != NULL);
	KT_EQ(kh_srv_rollout_check(&srv, 11200), 0); /* halted once */

	/* rejections: a rejected device counts until it runs the version */
	r.state = KH_ROLLOUT_ACTIVE;
	r.version = 8;
	r.started = 20000;
	r.halt_bp = 5000;
	KT_EQ(kh_store_rollout_put(srv.store, &r), 0);
	checkin_stage(1000, 7, 20100, 0);
	for (unsigned i = 0, k = 0; i < NDEV - 10 && k < n / 3; i++) {
		serial_of(i, serial, sizeof(serial));
		if (kh_rollout_bucket(8, "home", serial) < 1000) {
			kh_store_device_rejected(srv.store, serial, 8);
			k++;
		}
	}
	kh_store_flush(srv.store);
	KT_EQ(kh_srv_rollout_stats(&srv, &r, 20200, &st), 0);
	KT_EQ(st.total.rejected, n / 3);
	KT_EQ(st.total.applied, 0);
	KT_EQ(kh_srv_rollout_check(&srv, 20200), 0);		/* a third is under 50% */
	kh_store_device_rejected(srv.store, "SN-UNIT-9999", 8); /* no such device: harmless */
}

int main(void)
{
	if (setup() < 0)
		return 1;
	KT_RUN(test_bucket);
	KT_RUN(test_steps);
	KT_RUN(test_halt_rule);
	kh_store_close(srv.store);
	return KT_DONE();
}
