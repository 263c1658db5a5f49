/* SPDX-License-Identifier: MIT */
/*
 * The A/B policy store (agent/policy_store.c) in process, on the test
 * platform's fake clock: apply to the inactive slot and switch, keep the
 * last known good policy when a bundle is bad, refuse rollback, detect a
 * torn or corrupt slot when the store opens, and keep the version and
 * trusted-time floors across restarts and clock changes. Keys, the root and
 * bundles are made here with the ISP tool's library (trust_build.h); the
 * state directory is a mkdtemp directory removed at the end.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kt.h"
#include "agent/policy_store.h"
#include "lib/err.h"
#include "platform/fs.h"
#include "platform/test/test_platform.h"
#include "tools/khien-policy/trust_build.h"

#define T0 1800000000 /* the fake wall clock's start (2027) */

static char dir[] = "/tmp/kh-pstore-XXXXXX";
static char state[64], root_path[64];
static struct kh_ecdsa_priv root_priv, pol_priv, rogue_priv;
static struct kh_pubkey root_pub, pol_pub, rogue_pub;
static char why[512];

static void keypair(struct kh_drbg *rng, struct kh_ecdsa_priv *priv, struct kh_pubkey *pub)
{
	if (kh_ecdsa_keygen(rng, priv, &pub->pub) < 0)
		abort();
	kh_keyid(&pub->pub, pub->id);
}

/* The firmware's root: root key, policy key, thresholds 1, valid ten years. */
static int fixture(void)
{
	struct kh_drbg rng;
	const char *w = NULL;
	char *root = NULL;
	int err;

	if (!mkdtemp(dir) || kh_drbg_init(&rng, "test-policy-store") < 0)
		return -1;
	keypair(&rng, &root_priv, &root_pub);
	keypair(&rng, &pol_priv, &pol_pub);
	keypair(&rng, &rogue_priv, &rogue_pub);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(root_path, sizeof(root_path), "%s/root.json", dir);
	err = kh_root_create(1, T0 + 10 * 365 * 86400LL, &root_pub, 1, 1, &pol_pub, 1, 1, &root);
	if (err == 0)
		err = kh_root_add_signature(&root, &root_priv, &root_pub, &rng, &w);
	if (err == 0)
		err = kh_fs_write_atomic(root_path, root, strlen(root), 0644);
	free(root);
	kh_drbg_free(&rng);
	return err;
}

/* A bundle of one "blocklist" component holding text, signed by key. */
static uint8_t *bundle_by(uint64_t version, int64_t created, int64_t expires, const char *text,
			  const struct kh_ecdsa_priv *key, const struct kh_pubkey *pub, size_t *len)
{
	struct kh_bundle_input c = {"blocklist", (const uint8_t *)text, strlen(text)};
	struct kh_bundle_spec s = {.version = version,
				   .created = created,
				   .expires = expires,
				   .comp = &c,
				   .ncomp = 1,
				   .keys = key,
				   .pubs = pub,
				   .nkeys = 1};
	uint8_t *b = NULL;

	KT_EQ(kh_bundle_build(&s, &b, len), 0);
	return b;
}

static uint8_t *bundle(uint64_t version, const char *text, size_t *len)
{
	return bundle_by(version, T0, T0 + 30 * 86400, text, &pol_priv, &pol_pub, len);
}

static int apply(struct kh_policy *p, uint64_t version, const char *text)
{
	size_t len;
	uint8_t *b = bundle(version, text, &len);
	int err = b ? kh_policy_apply(p, b, len, why, sizeof(why)) : -ENOMEM;

	free(b);
	return err;
}

static struct kh_policy *open_store(void)
{
	struct kh_policy *p = NULL;

	KT_EQ(kh_policy_open(state, root_path, NULL, &p, why, sizeof(why)), 0);
	return p;
}

/* A restart: the store is closed and opened again from what is on disk. */
static struct kh_policy *reopen(struct kh_policy *p)
{
	kh_policy_free(p);
	return open_store();
}

/* The active blocklist's path and content ("" when there is none). */
static char active_path[600], active_text[64];
static const char *active(struct kh_policy *p)
{
	const char *path = kh_policy_component(p, "blocklist");
	uint8_t *b = NULL;
	size_t len = 0;

	active_path[0] = active_text[0] = 0;
	if (!path)
		return active_text;
	snprintf(active_path, sizeof(active_path), "%s", path);
	if (kh_fs_read(path, sizeof(active_text) - 1, &b, &len) == 0) {
		memcpy(active_text, b, len);
		active_text[len] = 0;
	}
	free(b);
	return active_text;
}

/* Whether the active blocklist lies in slot s ('a', 'b'; 0: there is none). */
static int slot_is(char s)
{
	char want[16];

	if (!s)
		return active_path[0] == 0;
	snprintf(want, sizeof(want), "/slot-%c/", s);
	return strstr(active_path, want) != NULL;
}

/* The store runs version v, whose blocklist says text, from slot s. */
#define RUNS(p, v, text, s)                       \
	do {                                      \
		KT_EQ(kh_policy_version(p), (v)); \
		KT_STREQ(active(p), (text));      \
		KT_CHECK(slot_is(s));             \
	} while (0)

/* A member of the store's status JSON, as a number (-1 when absent). */
static double status_num(struct kh_policy *p, const char *key)
{
	cJSON *o = cJSON_CreateObject(), *v;
	double d;

	kh_policy_status(p, o);
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	cJSON_Delete(o);
	return d;
}

static int status_has_problem(struct kh_policy *p)
{
	cJSON *o = cJSON_CreateObject();
	int has;

	kh_policy_status(p, o);
	has = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "problem"));
	cJSON_Delete(o);
	return has;
}

static void slot_file(char s, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/policy/slot-%c/%s", state, s, name);
}

static void test_apply_to_inactive_slot_then_switch(void)
{
	struct kh_policy *p = open_store();

	if (!p)
		return;
	RUNS(p, 0, "", 0);
	KT_EQ(apply(p, 1, "one\n"), 0);
	KT_STREQ(why, "applied version 1");
	RUNS(p, 1, "one\n", 'a');
	KT_EQ(apply(p, 2, "two\n"), 0);
	RUNS(p, 2, "two\n", 'b');
	/* a restart runs what was committed, from the same slot */
	p = reopen(p);
	if (!p)
		return;
	RUNS(p, 2, "two\n", 'b');
	KT_CHECK(!status_has_problem(p));
	KT_EQ(status_num(p, "version_floor"), 2);
	kh_policy_free(p);
}

static void test_bad_bundle_keeps_last_known_good(void)
{
	struct kh_policy *p = open_store();
	size_t len;
	uint8_t *b;

	if (!p)
		return;
	/* a component (they follow the signed envelope) altered after signing */
	b = bundle(3, "three\n", &len);
	if (b) {
		b[len - 2] ^= 1;
		KT_CHECK(kh_policy_apply(p, b, len, why, sizeof(why)) < 0);
		KT_CHECK(why[0] != 0);
	}
	free(b);
	/* signed by a key the root does not name */
	b = bundle_by(3, T0, T0 + 86400, "rogue\n", &rogue_priv, &rogue_pub, &len);
	if (b)
		KT_CHECK(kh_policy_apply(p, b, len, why, sizeof(why)) < 0);
	free(b);
	/* cut short */
	b = bundle(3, "three\n", &len);
	if (b)
		KT_CHECK(kh_policy_apply(p, b, len / 2, why, sizeof(why)) < 0);
	free(b);
	RUNS(p, 2, "two\n", 'b');
	p = reopen(p);
	if (!p)
		return;
	RUNS(p, 2, "two\n", 'b');
	kh_policy_free(p);
}

static void test_rollback_refused(void)
{
	struct kh_policy *p = open_store();

	if (!p)
		return;
	KT_CHECK(apply(p, 1, "old\n") < 0);	  /* older, validly signed */
	KT_CHECK(apply(p, 2, "two again\n") < 0); /* the same version with other content */
	RUNS(p, 2, "two\n", 'b');
	KT_EQ(apply(p, 3, "three\n"), 0);
	RUNS(p, 3, "three\n", 'a');
	kh_policy_free(p);
}

static void test_corrupt_slot_detected_on_open(void)
{
	char path[600];
	struct kh_policy *p;

	/* slot a (active, version 3) loses bytes of its component: torn write */
	slot_file('a', "blocklist", path, sizeof(path));
	KT_EQ(kh_fs_write_atomic(path, "thr", 3, 0644), 0);
	p = open_store();
	if (!p)
		return;
	/* the other slot verifies: it runs, below the floor, and says so */
	RUNS(p, 2, "two\n", 'b');
	KT_CHECK(status_has_problem(p));
	KT_EQ(status_num(p, "version_floor"), 3);
	/* what the floor names may come back; nothing older */
	KT_CHECK(apply(p, 2, "two\n") < 0);
	KT_EQ(apply(p, 3, "three\n"), 0);
	RUNS(p, 3, "three\n", 'a');
	KT_CHECK(!status_has_problem(p));
	kh_policy_free(p);

	/* a torn manifest in the active slot, and a flipped byte in the other */
	slot_file('a', "manifest", path, sizeof(path));
	KT_EQ(kh_fs_write_atomic(path, "KHB", 3, 0644), 0);
	slot_file('b', "blocklist", path, sizeof(path));
	KT_EQ(kh_fs_write_atomic(path, "twp\n", 4, 0644), 0);
	p = open_store();
	if (!p)
		return;
	RUNS(p, 0, "", 0);
	KT_CHECK(status_has_problem(p));
	KT_EQ(status_num(p, "version_floor"), 3);
	/* the floor survives running without policy: only newer than 3 applies */
	KT_CHECK(apply(p, 2, "two\n") < 0);
	KT_EQ(apply(p, 4, "four\n"), 0);
	RUNS(p, 4, "four\n", 'a');
	kh_policy_free(p);
}

static void test_floors_kept(void)
{
	struct kh_policy *p = open_store();
	char path[600];
	size_t len;
	uint8_t *b;

	if (!p)
		return;
	/* signed a day ahead of the device's clock: trusted time moves up to it */
	b = bundle_by(5, T0 + 86400, T0 + 2 * 86400, "five\n", &pol_priv, &pol_pub, &len);
	if (b)
		KT_EQ(kh_policy_apply(p, b, len, why, sizeof(why)), 0);
	free(b);
	KT_EQ(status_num(p, "trusted_time"), T0 + 86400);
	kh_policy_free(p);
	/* the wall clock goes back a year; the store keeps its floors */
	kh_test_clock_set_wall(T0 - 365 * 86400LL);
	p = open_store();
	if (!p)
		return;
	KT_EQ(kh_policy_version(p), 5);
	KT_EQ(status_num(p, "version_floor"), 5);
	KT_EQ(status_num(p, "trusted_time"), T0 + 86400);
	/* valid by the wall clock, expired by trusted time */
	b = bundle_by(6, T0 - 365 * 86400LL, T0 + 3600, "six\n", &pol_priv, &pol_pub, &len);
	if (b) {
		KT_CHECK(kh_policy_apply(p, b, len, why, sizeof(why)) < 0);
		KT_CHECK(strstr(why, "expire") != NULL);
	}
	free(b);
	KT_EQ(kh_policy_version(p), 5);
	/* the same, signed to last a month: the refusal was the expiry */
	b = bundle_by(6, T0 - 365 * 86400LL, T0 + 30 * 86400, "six\n", &pol_priv, &pol_pub, &len);
	if (b)
		KT_EQ(kh_policy_apply(p, b, len, why, sizeof(why)), 0);
	free(b);
	KT_EQ(kh_policy_version(p), 6);
	kh_policy_free(p);
	/* losing the active pointer does not lose the floor */
	snprintf(path, sizeof(path), "%s/policy/active", state);
	KT_EQ(unlink(path), 0);
	p = open_store();
	if (!p)
		return;
	KT_EQ(kh_policy_version(p), 0);
	KT_CHECK(status_has_problem(p));
	KT_EQ(status_num(p, "version_floor"), 6);
	KT_CHECK(apply(p, 5, "five\n") < 0);
	KT_EQ(status_num(p, "trusted_time"), T0 + 86400);
	kh_policy_free(p);
}

int main(void)
{
	char cmd[128];
	int rc;

	kh_test_clock_set_wall(T0);
	if (fixture() < 0) {
		printf("not ok - fixture (keys, root)\n");
		return 1;
	}
	KT_RUN(test_apply_to_inactive_slot_then_switch);
	KT_RUN(test_bad_bundle_keeps_last_known_good);
	KT_RUN(test_rollback_refused);
	KT_RUN(test_corrupt_slot_detected_on_open);
	KT_RUN(test_floors_kept);
	rc = KT_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
