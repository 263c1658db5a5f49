/* SPDX-License-Identifier: MIT */
/*
 * The device's policy store: the trusted root, the trusted-time floor and
 * two slots (A/B) of applied policy under the state directory. A bundle is
 * verified completely, its components are written into the inactive slot
 * and synced, and only then does one atomic rename make that slot active.
 * A crash or power loss at any point leaves the old policy or the new one,
 * never a mix and never nothing (docs/POLICY.md).
 *
 *   STATE/root.json        trusted root (replaced only by a verified successor)
 *   STATE/time             highest signed creation time seen (Unix seconds)
 *   STATE/policy/active    "a" or "b"
 *   STATE/policy/slot-X/   manifest + one file per component
 */
#ifndef KHIEN_AGENT_POLICY_STORE_H
#define KHIEN_AGENT_POLICY_STORE_H

#include <stddef.h>
#include <stdint.h>

struct kh_policy;
struct kh_root;
struct cJSON;

/*
 * Open (creating directories as needed) the store in state_dir. trust_root:
 * a root file to trust when the store has none yet (the one flashed with the
 * firmware), or to upgrade to when it is the verified successor; may be NULL.
 * hwid: this device's hardware id for targeted bundles, or NULL.
 * Returns 0, or negative errno with why (no usable root is -ENOENT).
 */
int kh_policy_open(const char *state_dir, const char *trust_root, const char *hwid,
		   struct kh_policy **out, char *why, size_t whylen);
void kh_policy_free(struct kh_policy *p);

/* Verify and apply a bundle (data, len). On failure nothing changes and why says why. */
int kh_policy_apply(struct kh_policy *p, const uint8_t *data, size_t len, char *why, size_t whylen);

/* Path of a component of the active policy, or NULL when there is none. */
const char *kh_policy_component(struct kh_policy *p, const char *name);

uint64_t kh_policy_version(const struct kh_policy *p);
/* Version of the trusted root. */
uint64_t kh_policy_root_version(const struct kh_policy *p);

/*
 * The trusted root (the newest reached; updated in place when a bundle
 * carries a successor, so the pointer stays valid while p lives) and the
 * hardware id (NULL: none), for the firmware state (agent/fw_store.h).
 */
const struct kh_root *kh_policy_root(const struct kh_policy *p);
const char *kh_policy_hwid(const struct kh_policy *p);

/* Directories a daemon must own to apply policy after dropping root. */
void kh_policy_dirs(const struct kh_policy *p, const char *dirs[4]);

/* "policy" status: version, expiry, root version, slot, trusted time. */
void kh_policy_status(const struct kh_policy *p, struct cJSON *out);

#endif
