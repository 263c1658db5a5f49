/* SPDX-License-Identifier: MIT */
/*
 * Policy store (see policy_store.h). Every write goes through kh_fs_write_atomic
 * (temp file, fsync, rename, directory fsync), so each file is whole; the
 * order of writes makes the store as a whole consistent:
 *   1. components and the signed envelope into the inactive slot,
 *   2. the root chain, if the bundle carried newer roots,
 *   3. the "active" pointer (the commit point),
 *   4. the floors (version, trusted time; only ever raised).
 * Nothing in the state directory is believed at start without proof: the
 * root chain is re-walked from the firmware's root, and a slot must carry
 * a threshold of signatures of the verified root over a manifest whose
 * hashes its files match, at or above the version floor; else the other
 * slot, else no policy (docs/POLICY.md, "Stored state").
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/policy_store.h"
#include "crypto/crypto.h"
#include "lib/compiler.h"
#include "lib/civil.h"
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
	struct kh_root anchor; /* the firmware's root */
	struct kh_root root;   /* newest root reached from it through the stored chain */
	char *chain;	       /* the verified chain (JSON array text) */
	int64_t time_floor;
	uint64_t version_floor, epoch_floor;
	int active; /* 0 = a, 1 = b, -1 = none */
	struct kh_bundle man;
	char comp_path[PATH_LEN];
	char problem[768]; /* what was refused at start, for status; "" if nothing */
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

/* Record (and log) what the start refused: status shows it until the next apply. */
static void problem(struct kh_policy *p, const char *fmt, ...) KH_PRINTF(2, 3);
static void problem(struct kh_policy *p, const char *fmt, ...)
{
	char m[512];
	size_t n = strlen(p->problem);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	log_error("policy: %s", m);
	snprintf(p->problem + n, sizeof(p->problem) - n, "%s%s", n ? "; " : "", m);
}

/*
 * A floor file: n decimal numbers separated by a space ("time": the
 * trusted time; "floor": version, then epoch, which an older file lacks).
 * Missing numbers are 0; a file that does not parse is refused (logged) as 0.
 */
static void read_floor(struct kh_policy *p, const char *name, uint64_t *v, int n)
{
	char path[PATH_LEN + 16], *t = NULL, *c, *end = NULL;
	size_t len;
	int err, bad = 0;

	memset(v, 0, sizeof(*v) * (size_t)n);
	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	if ((err = read_small(path, &t, &len, 64)) < 0) {
		if (err != -ENOENT)
			log_error("policy: cannot read %s: %s", path, kh_strerror(err));
		return;
	}
	c = t;
	for (int i = 0; i < n && !bad && *c && *c != '\n'; i++) {
		if (i && *c++ != ' ')
			bad = 1;
		errno = 0;
		if (!bad && *c != '-')
			v[i] = strtoull(c, &end, 10);
		if (bad || *c == '-' || errno || end == c)
			bad = 1;
		else
			c = end;
	}
	if (bad || (*c && strcmp(c, "\n") != 0)) {
		log_error("policy: %s is not %d number(s); taken as 0", path, n);
		memset(v, 0, sizeof(*v) * (size_t)n);
	}
	free(t);
}

static void write_floor(struct kh_policy *p, const char *name, uint64_t a, uint64_t b, int n)
{
	char path[PATH_LEN + 16], num[48];
	int err;

	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	if (n == 1)
		snprintf(num, sizeof(num), "%llu\n", (unsigned long long)a);
	else
		snprintf(num, sizeof(num), "%llu %llu\n", (unsigned long long)a,
			 (unsigned long long)b);
	if ((err = kh_fs_write_atomic(path, num, strlen(num), 0644)) < 0)
		log_error("policy: cannot write %s: %s", path, kh_strerror(err));
}

/* Whether slot bundle m is at or above the floor: a later epoch, or the same and not older. */
static int at_floor(const struct kh_policy *p, const struct kh_bundle *m)
{
	return m->epoch > p->epoch_floor ||
	       (m->epoch == p->epoch_floor && m->version >= p->version_floor);
}

/*
 * Check a slot: its envelope carries a threshold of signatures of the
 * verified root and every component file matches the signed manifest.
 */
static int slot_check(struct kh_policy *p, int s, struct kh_bundle *b, char *why, size_t whylen)
{
	const size_t max = KH_BUNDLE_HEADER_LEN + KH_BUNDLE_MANIFEST_MAX + KH_BUNDLE_SIGS_MAX;
	char path[PATH_LEN + 64], *m = NULL, w[256], sc = "ab"[s];
	size_t len;
	int err;

	snprintf(path, sizeof(path), "%s/manifest", p->slotdir[s]);
	if ((err = read_small(path, &m, &len, max)) < 0) {
		snprintf(why, whylen, "slot %c: %.200s: %s", sc, path, kh_strerror(err));
		return err;
	}
	err = kh_bundle_verify_envelope((const uint8_t *)m, len, &p->root,
					p->has_hwid ? p->hwid : NULL, b, w, sizeof(w));
	free(m);
	if (err < 0) {
		snprintf(why, whylen, "slot %c: %s (under root v%llu)", sc, w,
			 (unsigned long long)p->root.version);
		return err;
	}
	for (unsigned i = 0; i < b->ncomp; i++) {
		struct kh_fs_map map;
		uint8_t h[32];
		if (strncmp(b->comp[i].name, "root.", 5) == 0)
			continue; /* roots live in the chain once applied */
		snprintf(path, sizeof(path), "%s/%s", p->slotdir[s], b->comp[i].name);
		if (b->comp[i].length == 0) {
			uint8_t *e;
			err = kh_fs_read(path, 0, &e, &len);
			if (err == 0)
				free(e);
		} else if ((err = kh_fs_map(path, (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20,
					    &map)) == 0) {
			kh_sha256(map.data, map.len, h);
			if (map.len != b->comp[i].length || !kh_ct_memeq(h, b->comp[i].sha256, 32))
				err = -EBADMSG;
			kh_fs_unmap(&map);
		}
		if (err < 0) {
			snprintf(why, whylen, "slot %c: component %s: %s", sc, b->comp[i].name,
				 err == -EBADMSG ? "does not match the signed manifest"
						 : kh_strerror(err));
			return err;
		}
	}
	return 0;
}

/*
 * The trusted root: the firmware's (trust_root, read-only with the firmware)
 * and from it as far along the stored chain as each step verifies. A chain
 * written by an older khiend is the single STATE/root.json.
 */
static int load_root(struct kh_policy *p, const char *trust_root, char *why, size_t whylen)
{
	char path[PATH_LEN + 16], *t = NULL, w[256];
	size_t len;
	int err;

	if (!trust_root || !*trust_root) {
		snprintf(why, whylen,
			 "no firmware trust root (policy.trust_root or --trust-root): the stored "
			 "trust state cannot be verified without it");
		return -ENOENT;
	}
	if ((err = read_small(trust_root, &t, &len, KH_ROOT_MAX_BYTES)) < 0) {
		snprintf(why, whylen, "trust root %s: %s", trust_root, kh_strerror(err));
		return err;
	}
	err = kh_root_verify_self(t, len, &p->anchor, w, sizeof(w));
	free(t);
	t = NULL;
	if (err < 0) {
		snprintf(why, whylen, "trust root %s: %s", trust_root, w);
		return err;
	}
	p->root = p->anchor;
	snprintf(path, sizeof(path), "%s/roots.json", p->dir);
	err = read_small(path, &t, &len, KH_ROOT_CHAIN_MAX_BYTES);
	if (err == -ENOENT) {
		char *r;
		snprintf(path, sizeof(path), "%s/root.json", p->dir);
		if ((err = read_small(path, &r, &len, KH_ROOT_MAX_BYTES)) == 0) {
			if (kh_root_chain_append(&t, r, len) < 0)
				problem(p, "stored root %s is not a JSON document; ignored", path);
			else
				len = strlen(t);
			free(r);
		}
	}
	if (err < 0 && err != -ENOENT)
		problem(p, "cannot read %s: %s; trusting the firmware root v%llu", path,
			kh_strerror(err), (unsigned long long)p->anchor.version);
	if (t) {
		err = kh_root_chain_walk(&p->anchor, t, len, &p->root, &p->chain, w, sizeof(w));
		if (err < 0)
			problem(p,
				"stored root chain %s refused: %s; trusting root v%llu, the newest "
				"reached from the firmware root v%llu",
				path, w, (unsigned long long)p->root.version,
				(unsigned long long)p->anchor.version);
		free(t);
	}
	if (!p->chain && !(p->chain = strdup("[]")))
		return -ENOMEM;
	return 0;
}

/*
 * Choose the slot to run: the active one, else the other, among those that
 * verify and are at the version floor; failing that, a verified slot below
 * the floor (an older signed policy is better than none; the floor stays,
 * so what it replaced is still refused); else none. Then raise the floors
 * to the slot chosen.
 */
static void load_slots(struct kh_policy *p)
{
	char path[PATH_LEN + 16], *t, why[2][320];
	struct kh_bundle m[2];
	uint64_t f[2];
	size_t len;
	int ok[2], s = -1, pick = -1, err;

	read_floor(p, "time", f, 1);
	p->time_floor = (int64_t)f[0];
	read_floor(p, "floor", f, 2);
	p->version_floor = f[0];
	p->epoch_floor = f[1];
	p->active = -1;
	snprintf(path, sizeof(path), "%s/active", p->pdir);
	if ((err = read_small(path, &t, &len, 16)) == 0) {
		s = t[0] == 'b' ? 1 : t[0] == 'a' ? 0 : -1;
		free(t);
		if (s < 0)
			problem(p, "%s names no slot", path);
	} else if (err != -ENOENT)
		problem(p, "cannot read %s: %s", path, kh_strerror(err));
	if (s < 0) {
		if (p->version_floor)
			problem(p,
				"%s is missing, but version %llu was applied (floor); running "
				"without policy",
				path, (unsigned long long)p->version_floor);
		return; /* else nothing applied yet */
	}
	for (int i = 0; i < 2; i++) {
		ok[i] = slot_check(p, i, &m[i], why[i], sizeof(why[i])) == 0;
		if (ok[i] && m[i].epoch < p->epoch_floor) {
			/* what a reset replaced is never a fallback */
			snprintf(why[i], sizeof(why[i]),
				 "slot %c: epoch %llu was ended by a reset (the device is in epoch "
				 "%llu)",
				 "ab"[i], (unsigned long long)m[i].epoch,
				 (unsigned long long)p->epoch_floor);
			ok[i] = 0;
		} else if (ok[i] && !at_floor(p, &m[i]))
			snprintf(why[i], sizeof(why[i]),
				 "slot %c: version %llu is below the version floor %llu", "ab"[i],
				 (unsigned long long)m[i].version,
				 (unsigned long long)p->version_floor);
	}
	for (int pass = 0; pass < 2 && pick < 0; pass++)
		for (int k = s, n = 0; n < 2 && pick < 0; k = !k, n++)
			if (ok[k] && (pass || at_floor(p, &m[k])))
				pick = k;
	if (pick < 0) {
		problem(p, "%s; %s; running without policy", why[s], why[!s]);
		return;
	}
	if (pick != s)
		problem(p, "%s; falling back to slot %c (version %llu%s)", why[s], "ab"[pick],
			(unsigned long long)m[pick].version,
			at_floor(p, &m[pick]) ? "" : ", below the version floor");
	else if (!at_floor(p, &m[pick]))
		problem(p, "%s (%s); running it below the floor", why[s], why[!s]);
	p->active = pick;
	p->man = m[pick];
	/* A floor below what verified (a crash before step 4, or lowered by hand) is raised. */
	if (p->man.epoch > p->epoch_floor || p->version_floor < p->man.version) {
		log_notice("policy: version floor %llu (epoch %llu) raised to the active version "
			   "%llu (epoch %llu)",
			   (unsigned long long)p->version_floor, (unsigned long long)p->epoch_floor,
			   (unsigned long long)p->man.version, (unsigned long long)p->man.epoch);
		p->version_floor = p->man.version;
		p->epoch_floor = p->man.epoch;
		write_floor(p, "floor", p->version_floor, p->epoch_floor, 2);
	}
	if (p->time_floor < p->man.created) {
		log_notice("policy: trusted-time floor raised to the active policy's signed "
			   "creation time %lld",
			   (long long)p->man.created);
		p->time_floor = p->man.created;
		write_floor(p, "time", (uint64_t)p->time_floor, 0, 1);
	}
}

int kh_policy_open(const char *state_dir, const char *trust_root, const char *hwid,
		   struct kh_policy **out, char *why, size_t whylen)
{
	struct kh_policy *p = calloc(1, sizeof(*p));
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
		kh_policy_free(p);
		return err;
	}
	load_slots(p);
	*out = p;
	return 0;
}

void kh_policy_free(struct kh_policy *p)
{
	if (!p)
		return;
	free(p->chain);
	free(p);
}

/*
 * The chain after a bundle's roots (root.N above the trusted root, in
 * order), walked again from the firmware root before it is written: what
 * is stored is what the next start will verify.
 */
static int chain_extend(const struct kh_policy *p, const uint8_t *data, const struct kh_bundle *b,
			const struct kh_root *newest, char **out, char *why, size_t whylen)
{
	char *c = strdup(p->chain), *v = NULL;
	struct kh_root end;
	int err = -ENOMEM;

	if (!c)
		goto out;
	for (uint64_t n = p->root.version + 1; n <= newest->version; n++) {
		char name[40];
		const struct kh_component *r;
		snprintf(name, sizeof(name), "root.%llu", (unsigned long long)n);
		r = kh_bundle_component(b, name);
		if (!r || (err = kh_root_chain_append(&c, (const char *)data + r->offset,
						      r->length)) < 0) {
			snprintf(why, whylen, "cannot extend the root chain with %s", name);
			err = -EINVAL;
			goto out;
		}
	}
	err = kh_root_chain_walk(&p->anchor, c, strlen(c), &end, &v, why, whylen);
	if (err == 0 && end.version != newest->version) {
		snprintf(why, whylen, "root chain walks to v%llu, not v%llu",
			 (unsigned long long)end.version, (unsigned long long)newest->version);
		err = -EINVAL;
	}
	if (err == 0 && strlen(c) > KH_ROOT_CHAIN_MAX_BYTES) {
		snprintf(why, whylen, "root chain over %d bytes", KH_ROOT_CHAIN_MAX_BYTES);
		err = -E2BIG;
	}
out:
	free(v);
	if (err < 0)
		free(c);
	else
		*out = c;
	return err;
}

int kh_policy_apply(struct kh_policy *p, const uint8_t *data, size_t len, char *why, size_t whylen)
{
	/*
	 * Bound to the floors; when a fallback runs below them, the floor's own
	 * version may come back (it is what the device had), nothing older.
	 */
	struct kh_verify_ctx ctx = {&p->root,
				    p->version_floor,
				    trusted_now(p),
				    p->has_hwid ? p->hwid : NULL,
				    (uint64_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20,
				    p->epoch_floor,
				    p->active < 0 || !at_floor(p, &p->man)};
	struct kh_bundle b;
	struct kh_root newest;
	char path[PATH_LEN + 64], *chain = NULL;
	int slot = p->active == 0 ? 1 : 0, err;

	if (len > (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20) {
		snprintf(why, whylen, "bundle larger than %d MiB", CONFIG_POLICY_MAX_BUNDLE_MB);
		return -E2BIG;
	}
	err = kh_bundle_verify(data, len, &ctx, &b, &newest, why, whylen);
	if (err < 0)
		return err;
	if (newest.version != p->root.version &&
	    (err = chain_extend(p, data, &b, &newest, &chain, why, whylen)) < 0)
		return err;
	/* 1. stage the components and the signed envelope in the inactive slot */
	for (unsigned i = 0; i < b.ncomp; i++) {
		if (strncmp(b.comp[i].name, "root.", 5) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->slotdir[slot], b.comp[i].name);
		if ((err = kh_fs_write_atomic(path, data + b.comp[i].offset, b.comp[i].length,
					      0644)) < 0)
			goto io;
	}
	snprintf(path, sizeof(path), "%s/manifest", p->slotdir[slot]);
	if ((err = kh_fs_write_atomic(path, data, b.envelope_len, 0644)) < 0)
		goto io;
	/* 2. newer roots, verified by the chain from the firmware root */
	if (chain) {
		snprintf(path, sizeof(path), "%s/roots.json", p->dir);
		if ((err = kh_fs_write_atomic(path, chain, strlen(chain), 0644)) < 0)
			goto io;
		free(p->chain);
		p->chain = chain;
		chain = NULL;
		p->root = newest;
	}
	/* 3. commit: one rename flips the active slot */
	snprintf(path, sizeof(path), "%s/active", p->pdir);
	if ((err = kh_fs_write_atomic(path, slot ? "b\n" : "a\n", 2, 0644)) < 0)
		goto io;
	p->active = slot;
	p->man = b;
	p->problem[0] = 0;
	/* 4. the floors only move forward (a reset lowers the version, in a new epoch) */
	if (b.version != p->version_floor || b.epoch != p->epoch_floor) {
		p->version_floor = b.version;
		p->epoch_floor = b.epoch;
		write_floor(p, "floor", b.version, b.epoch, 2);
	}
	if (b.created > p->time_floor) {
		p->time_floor = b.created;
		write_floor(p, "time", (uint64_t)b.created, 0, 1);
	}
	snprintf(why, whylen, "applied version %llu", (unsigned long long)b.version);
	return 0;
io:
	free(chain);
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

const struct kh_root *kh_policy_root(const struct kh_policy *p)
{
	return &p->root;
}

const char *kh_policy_hwid(const struct kh_policy *p)
{
	return p->has_hwid ? p->hwid : NULL;
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
	cJSON_AddNumberToObject(out, "version_floor", (double)p->version_floor);
	cJSON_AddNumberToObject(out, "epoch", (double)p->epoch_floor);
	if (p->problem[0])
		cJSON_AddStringToObject(out, "problem", p->problem);
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
