/* SPDX-License-Identifier: MIT */
/*
 * Signed policy: keys, the trust root and policy bundles (docs/POLICY.md).
 * Follows TUF/Uptane: a root document names the keys and thresholds of its
 * roles, "root" (signs the next root, and explicit rollback resets),
 * "policy" (signs bundles) and, optionally, "firmware" (signs firmware
 * manifests, firmware/manifest.h; no key may serve both policy and
 * firmware); a new root needs a threshold of signatures from
 * the old root's root keys and from its own. A bundle's manifest lists every
 * component with its length and SHA-256, and carries version, expiry,
 * creation time and hardware targets, all inside the signed bytes (canonical
 * JSON, policy/canon.h). The same code runs in khien-policy and on devices.
 *
 * Every parser here bounds what it reads (sizes below) and every refusal
 * comes with a precise reason.
 */
#ifndef KHIEN_POLICY_TRUST_H
#define KHIEN_POLICY_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define KH_KEYID_LEN 8 /* first 8 bytes of SHA-256(public key), shown as 16 hex digits */
#define KH_TRUST_MAX_KEYS 16
#define KH_TRUST_MAX_SIGS 32
#define KH_BUNDLE_MAX_COMPONENTS 16
#define KH_BUNDLE_MAX_TARGETS 64
#define KH_BUNDLE_NAME_MAX 32
#define KH_HWID_MAX 64
#define KH_ROOT_MAX_BYTES (64 * 1024)
#define KH_BUNDLE_MANIFEST_MAX (64 * 1024)
#define KH_BUNDLE_SIGS_MAX (16 * 1024)
#define KH_BUNDLE_HEADER_LEN 24
#define KH_BUNDLE_MAGIC "KHIENBDL"

struct kh_pubkey {
	uint8_t id[KH_KEYID_LEN];
	struct kh_ecdsa_pub pub;
};

struct kh_role {
	uint8_t keyids[KH_TRUST_MAX_KEYS][KH_KEYID_LEN];
	unsigned nkeys, threshold;
};

struct kh_root {
	uint64_t version;
	int64_t expires;
	struct kh_pubkey keys[KH_TRUST_MAX_KEYS];
	unsigned nkeys;
	struct kh_role root, policy;
	struct kh_role firmware; /* nkeys 0: the root has no firmware role */
};

struct kh_component {
	char name[KH_BUNDLE_NAME_MAX + 1];
	uint64_t length, offset; /* offset in the bundle file */
	uint8_t sha256[KH_SHA256_LEN];
};

struct kh_bundle {
	uint64_t version;
	uint64_t epoch;	   /* reset epoch it belongs to; 0 before any reset */
	uint64_t replaces; /* a reset only: the exact version it replaces */
	int64_t expires, created;
	int reset;
	unsigned ntargets;
	char targets[KH_BUNDLE_MAX_TARGETS][KH_HWID_MAX + 1];
	struct kh_component comp[KH_BUNDLE_MAX_COMPONENTS];
	unsigned ncomp;
	size_t manifest_off, manifest_len;
	size_t envelope_len; /* header + manifest + signatures: what a slot keeps */
};

/* What the device knows when it checks a bundle. */
struct kh_verify_ctx {
	const struct kh_root *root; /* the device's trusted root */
	uint64_t active_version;    /* its version floor; 0: nothing applied yet */
	int64_t now;		    /* trusted time (see docs/POLICY.md) */
	const char *hwid;	    /* this device's hardware id, or NULL */
	uint64_t max_component;	    /* bytes; 0 = no limit beyond the file's */
	uint64_t epoch;		    /* its reset epoch (0: no reset yet) */
	int floor_missing;	    /* it runs below active_version, which may then apply again */
};

void kh_keyid(const struct kh_ecdsa_pub *pub, uint8_t id[KH_KEYID_LEN]);

/*
 * What a signature covers: SHA-256 over a tag naming the document kind (with
 * its NUL, so a root signature never verifies as a bundle's) and the
 * canonical bytes. The one definition for the verifier here and the signer
 * (tools/khien-policy/trust_build.c): if two copies drifted, every new
 * signature would silently stop verifying.
 */
enum kh_trust_doc {
	KH_TRUST_ROOT,
	KH_TRUST_BUNDLE,
	KH_TRUST_FIRMWARE,	/* a firmware manifest (firmware/manifest.h) */
	KH_TRUST_FIRMWARE_RESET /* a root-signed reset of the firmware security counter */
};
void kh_trust_digest(enum kh_trust_doc doc, const void *bytes, size_t len, uint8_t out[32]);

/*
 * Signatures of a signed document: [{"keyid": 16 hex, "sig": 128 hex}, ...],
 * at most KH_TRUST_MAX_SIGS. Parse an array (0, or -EBADMSG with why), and
 * count the distinct keys of role (keys from r) whose signature over digest
 * verifies: the one threshold rule for roots, bundles and firmware.
 */
struct kh_sigs {
	uint8_t keyid[KH_TRUST_MAX_SIGS][KH_KEYID_LEN];
	uint8_t sig[KH_TRUST_MAX_SIGS][KH_ECDSA_SIG_LEN];
	unsigned n;
};
struct cJSON;
int kh_trust_sigs_parse(const struct cJSON *arr, struct kh_sigs *s, const char **why);
unsigned kh_trust_sigs_count(const struct kh_root *r, const struct kh_role *role,
			     const struct kh_sigs *s, const uint8_t digest[32]);

/*
 * Key files are small JSON objects: {"keyid": "...", "public": "04..."}
 * and {"keyid": "...", "private": "...", "public": "..."}. Parse either;
 * priv may be NULL. 0 or -EINVAL with *why.
 */
int kh_key_parse(const char *text, size_t len, struct kh_pubkey *pub, struct kh_ecdsa_priv *priv,
		 const char **why);

/*
 * Parse root.json ({"signed": {...}, "signatures": [...]}) without checking
 * signatures. On error *why says what is wrong. 0 or -EBADMSG.
 */
int kh_root_parse(const char *text, size_t len, struct kh_root *r, const char **why);

/*
 * Check a root's own signatures (threshold of its root role). For the
 * first root a device is given (trust on first use, from the firmware).
 */
int kh_root_verify_self(const char *text, size_t len, struct kh_root *r, char *why, size_t whylen);

/*
 * Check that text is the next root after cur: version cur+1, a threshold of
 * cur's root keys AND of its own root keys signed it. Fills next.
 */
int kh_root_verify_next(const struct kh_root *cur, const char *text, size_t len,
			struct kh_root *next, char *why, size_t whylen);

/*
 * A chain of roots, as a device stores it: a JSON array of root documents,
 * oldest first, at most KH_ROOT_CHAIN_MAX of them. The device re-walks it
 * at every start from the root its firmware carries, so a root only counts
 * when each step to it was signed as kh_root_verify_next requires.
 */
#define KH_ROOT_CHAIN_MAX 32
#define KH_ROOT_CHAIN_MAX_BYTES (KH_ROOT_CHAIN_MAX * KH_ROOT_MAX_BYTES)

/*
 * Walk chain (len bytes) from anchor: entries not newer than the root
 * reached so far are skipped (the firmware may carry a newer root than the
 * chain started from); each newer one must verify as its successor. *out
 * is the newest root reached and *verified (heap, may be NULL on -ENOMEM)
 * the chain of the entries that verified. Returns 0 when every entry
 * verified, else -EBADMSG / -EPERM / -ESTALE with why naming the entry:
 * *out and *verified then stop before it.
 */
int kh_root_chain_walk(const struct kh_root *anchor, const char *chain, size_t len,
		       struct kh_root *out, char **verified, char *why, size_t whylen);

/* Append a root document (already verified) to *chain (heap; NULL: empty). 0 or -errno. */
int kh_root_chain_append(char **chain, const char *root, size_t len);

/*
 * Verify a whole bundle file (data, len) against ctx: structure and sizes,
 * canonical manifest, signatures (policy role; root role for a reset),
 * version and epoch (below), expiry, targets, and every
 * component's length and SHA-256. Root components ("root.N") are walked
 * first: the bundle is then checked with the newest root, returned in
 * *new_root (equal to *ctx->root when the bundle carries none).
 * Returns 0, or -EBADMSG / -EPERM / -ESTALE / -E2BIG with why filled.
 */
int kh_bundle_verify(const uint8_t *data, size_t len, const struct kh_verify_ctx *ctx,
		     struct kh_bundle *b, struct kh_root *new_root, char *why, size_t whylen);

/*
 * Versions and epochs: an ordinary bundle must be newer than
 * ctx->active_version and of the device's epoch (of at least it when the
 * device has no version yet). A reset (root role) must name the version it
 * replaces, which must be ctx->active_version (any, when that is 0), and
 * carry a higher epoch: it applies once, and the bundles of the epoch it
 * ends never apply again, whatever their version.
 */

/*
 * Re-check what a policy slot keeps of an applied bundle: its envelope
 * (header, manifest and signatures, env_len bytes, no components) under
 * root, and the targets against hwid. Versions and expiry are the caller's
 * (they were checked at apply). The components' lengths and hashes are in
 * b. Returns 0, or -EBADMSG / -EPERM with why.
 */
int kh_bundle_verify_envelope(const uint8_t *env, size_t env_len, const struct kh_root *root,
			      const char *hwid, struct kh_bundle *b, char *why, size_t whylen);

/* Find a component by name; NULL if absent. */
const struct kh_component *kh_bundle_component(const struct kh_bundle *b, const char *name);

#endif
