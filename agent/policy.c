/* SPDX-License-Identifier: MIT */
/*
 * Policy store (see policy.h). Every write goes through kh_fs_write_atomic
 * (temp file, fsync, rename, directory fsync), so each file is whole; the
 * order of writes makes the store as a whole consistent:
 *   1. components and manifest into the inactive slot,
 *   2. a newer root, if the bundle carried one (valid on its own),
 *   3. the "active" pointer (the commit point),
 *   4. the trusted-time floor (only ever moves forward).
 * At start the active slot is checked against its manifest (lengths and
 * SHA-256); if it does not match, the other slot, if whole, is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/policy.h"
#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "policy/trust.h"

#define PATH_LEN 512

struct kh_policy {
	char dir[PATH_LEN];
	char pdir[PATH_LEN];
	char slotdir[2][PATH_LEN];
	char hwid[KH_HWID_MAX + 1];
	int has_hwid;
	struct kh_root root;
	int64_t time_floor;
	int active; /* 0 = a, 1 = b, -1 = none */
	struct kh_bundle man;
	char comp_path[PATH_LEN];
};

static int64_t trusted_now(const struct kh_policy *p)
{
	int64_t w = kh_time_wall();
	return w > p->time_floor ? w : p->time_floor;
}

static int read_small(const char *path, char **out, size_t *len, size_t max)
{
	uint8_t *b;
	int err = kh_fs_read(path, max, &b, len);

	if (err == 0)
		*out = (char *)b;
	return err;
}

/* Check a slot: manifest parses and every component file matches it. */
static int slot_check(struct kh_policy *p, int s, struct kh_bundle *b)
{
	char path[PATH_LEN + 64], *m = NULL;
	size_t len;
	const char *why;
	int err;

	snprintf(path, sizeof(path), "%s/manifest", p->slotdir[s]);
	if ((err = read_small(path, &m, &len, KH_BUNDLE_MANIFEST_MAX)) < 0)
		return err;
	err = kh_bundle_parse_manifest(m, len, b, &why);
	free(m);
	if (err < 0)
		return err;
	for (unsigned i = 0; i < b->ncomp; i++) {
		struct kh_fs_map map;
		uint8_t h[32];
		if (strncmp(b->comp[i].name, "root.", 5) == 0)
			continue; /* roots live in STATE/root.json once applied */
		snprintf(path, sizeof(path), "%s/%s", p->slotdir[s], b->comp[i].name);
		if (b->comp[i].length == 0) {
			uint8_t *e;
			if (kh_fs_read(path, 0, &e, &len) < 0)
				return -EBADMSG;
			free(e);
			continue;
		}
		if (kh_fs_map(path, (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20, &map) < 0)
			return -EBADMSG;
		kh_sha256(map.data, map.len, h);
		err = map.len == b->comp[i].length && kh_ct_memeq(h, b->comp[i].sha256, 32)
			      ? 0
			      : -EBADMSG;
		kh_fs_unmap(&map);
		if (err < 0)
			return err;
	}
	return 0;
}

static int load_root(struct kh_policy *p, const char *trust_root, char *why, size_t whylen)
{
	char path[PATH_LEN + 16], *t = NULL;
	const char *w;
	size_t len;
	int have = 0, err;

	snprintf(path, sizeof(path), "%s/root.json", p->dir);
	if (read_small(path, &t, &len, KH_ROOT_MAX_BYTES) == 0) {
		have = kh_root_verify_self(t, len, &p->root, why, whylen) == 0;
		if (!have)
			log_error("policy: stored root %s is invalid (%s)", path, why);
		free(t);
		t = NULL;
	}
	if (trust_root && *trust_root) {
		struct kh_root given;
		if ((err = read_small(trust_root, &t, &len, KH_ROOT_MAX_BYTES)) < 0) {
			snprintf(why, whylen, "trust root %s: %s", trust_root, kh_strerror(err));
			return have ? 0 : err;
		}
		if (!have) {
			/* First use: the root delivered with the firmware. */
			err = kh_root_verify_self(t, len, &given, why, whylen);
			if (err == 0 && (err = kh_fs_write_atomic(path, t, len, 0644)) == 0)
				p->root = given, have = 1;
		} else if (kh_root_parse(t, len, &given, &w) == 0 &&
			   given.version == p->root.version + 1 &&
			   kh_root_verify_next(&p->root, t, len, &given, why, whylen) == 0 &&
			   kh_fs_write_atomic(path, t, len, 0644) == 0) {
			p->root = given;
		}
		free(t);
	}
	if (!have) {
		if (!why[0] || !strcmp(why, "ok"))
			snprintf(why, whylen, "no trust root (give one with --trust-root)");
		return -ENOENT;
	}
	return 0;
}

int kh_policy_open(const char *state_dir, const char *trust_root, const char *hwid,
		   struct kh_policy **out, char *why, size_t whylen)
{
	struct kh_policy *p = calloc(1, sizeof(*p));
	char path[PATH_LEN + 16], *t;
	size_t len;
	int err;

	why[0] = 0;
	if (!p)
		return -ENOMEM;
	kh_strlcpy(p->dir, state_dir, sizeof(p->dir));
	snprintf(p->pdir, sizeof(p->pdir), "%.400s/policy", state_dir);
	snprintf(p->slotdir[0], sizeof(p->slotdir[0]), "%.400s/slot-a", p->pdir);
	snprintf(p->slotdir[1], sizeof(p->slotdir[1]), "%.400s/slot-b", p->pdir);
	if (hwid && *hwid) {
		kh_strlcpy(p->hwid, hwid, sizeof(p->hwid));
		p->has_hwid = 1;
	}
	for (int i = 0; i < 2; i++)
		if ((err = kh_fs_mkdir_p(p->slotdir[i], 0700)) < 0) {
			snprintf(why, whylen, "cannot create %s: %s", p->slotdir[i],
				 kh_strerror(err));
			free(p);
			return err;
		}
	if ((err = load_root(p, trust_root, why, whylen)) < 0) {
		free(p);
		return err;
	}
	snprintf(path, sizeof(path), "%s/time", p->dir);
	if (read_small(path, &t, &len, 64) == 0) {
		p->time_floor = strtoll(t, NULL, 10);
		free(t);
	}
	p->active = -1;
	snprintf(path, sizeof(path), "%s/active", p->pdir);
	if (read_small(path, &t, &len, 16) == 0) {
		int s = t[0] == 'b' ? 1 : t[0] == 'a' ? 0 : -1;
		free(t);
		if (s >= 0 && slot_check(p, s, &p->man) == 0)
			p->active = s;
		else if (s >= 0 && slot_check(p, !s, &p->man) == 0) {
			log_error("policy: slot %c is damaged; falling back to slot %c", "ab"[s],
				  "ab"[!s]);
			p->active = !s;
		} else if (s >= 0)
			log_error("policy: no intact policy slot; running without policy");
	}
	*out = p;
	return 0;
}

void kh_policy_free(struct kh_policy *p)
{
	free(p);
}

int kh_policy_apply(struct kh_policy *p, const uint8_t *data, size_t len, char *why, size_t whylen)
{
	struct kh_verify_ctx ctx = {&p->root, p->active >= 0 ? p->man.version : 0, trusted_now(p),
				    p->has_hwid ? p->hwid : NULL,
				    (uint64_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20};
	struct kh_bundle b;
	struct kh_root newest;
	char path[PATH_LEN + 64], num[32];
	int slot = p->active == 0 ? 1 : 0, err;

	if (len > (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20) {
		snprintf(why, whylen, "bundle larger than %d MiB", CONFIG_POLICY_MAX_BUNDLE_MB);
		return -E2BIG;
	}
	err = kh_bundle_verify(data, len, &ctx, &b, &newest, why, whylen);
	if (err < 0)
		return err;
	/* 1. stage the components and the manifest in the inactive slot */
	for (unsigned i = 0; i < b.ncomp; i++) {
		if (strncmp(b.comp[i].name, "root.", 5) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->slotdir[slot], b.comp[i].name);
		if ((err = kh_fs_write_atomic(path, data + b.comp[i].offset, b.comp[i].length,
					      0644)) < 0)
			goto io;
	}
	snprintf(path, sizeof(path), "%s/manifest", p->slotdir[slot]);
	if ((err = kh_fs_write_atomic(path, data + b.manifest_off, b.manifest_len, 0644)) < 0)
		goto io;
	/* 2. a newer root, verified by the chain */
	if (newest.version != p->root.version) {
		char name[40];
		const struct kh_component *c;
		snprintf(name, sizeof(name), "root.%llu", (unsigned long long)newest.version);
		c = kh_bundle_component(&b, name);
		snprintf(path, sizeof(path), "%s/root.json", p->dir);
		if (!c || (err = kh_fs_write_atomic(path, data + c->offset, c->length, 0644)) < 0)
			goto io;
		p->root = newest;
	}
	/* 3. commit: one rename flips the active slot */
	snprintf(path, sizeof(path), "%s/active", p->pdir);
	if ((err = kh_fs_write_atomic(path, slot ? "b\n" : "a\n", 2, 0644)) < 0)
		goto io;
	p->active = slot;
	p->man = b;
	/* 4. trusted time only moves forward */
	if (b.created > p->time_floor) {
		p->time_floor = b.created;
		snprintf(path, sizeof(path), "%s/time", p->dir);
		snprintf(num, sizeof(num), "%lld\n", (long long)b.created);
		kh_fs_write_atomic(path, num, strlen(num), 0644);
	}
	snprintf(why, whylen, "applied version %llu", (unsigned long long)b.version);
	return 0;
io:
	snprintf(why, whylen, "cannot write %s: %s (the active policy is unchanged)", path,
		 kh_strerror(err));
	return err;
}

const char *kh_policy_component(struct kh_policy *p, const char *name)
{
	if (p->active < 0 || !kh_bundle_component(&p->man, name))
		return NULL;
	snprintf(p->comp_path, sizeof(p->comp_path), "%.400s/%s", p->slotdir[p->active], name);
	return p->comp_path;
}

uint64_t kh_policy_version(const struct kh_policy *p)
{
	return p->active >= 0 ? p->man.version : 0;
}

uint64_t kh_policy_root_version(const struct kh_policy *p)
{
	return p->root.version;
}

void kh_policy_dirs(const struct kh_policy *p, const char *dirs[4])
{
	dirs[0] = p->dir;
	dirs[1] = p->pdir;
	dirs[2] = p->slotdir[0];
	dirs[3] = p->slotdir[1];
}

void kh_policy_status(const struct kh_policy *p, cJSON *out)
{
	char t[48];

	cJSON_AddNumberToObject(out, "version", (double)kh_policy_version(p));
	cJSON_AddNumberToObject(out, "root_version", (double)p->root.version);
	cJSON_AddNumberToObject(out, "trusted_time", (double)trusted_now(p));
	if (p->active < 0) {
		cJSON_AddNullToObject(out, "slot");
		return;
	}
	cJSON_AddStringToObject(out, "slot", p->active ? "b" : "a");
	kh_fmt_utc(p->man.expires, t, sizeof(t));
	cJSON_AddStringToObject(out, "expires", t);
	cJSON_AddBoolToObject(out, "expired", p->man.expires <= trusted_now(p));
	cJSON_AddBoolToObject(out, "reset", p->man.reset);
}
