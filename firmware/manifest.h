/* SPDX-License-Identifier: MIT */
/*
 * Signed firmware manifests (docs/FIRMWARE.md): what an image must be
 * before a device may flash it. The manifest is one canonical JSON document
 * (policy/canon.h)
 *
 *   {"signatures": [{"keyid", "sig"}, ...],
 *    "signed": {"_type": "khien-firmware", "version": "...",
 *               "security_counter": N, "length": L, "sha256": "...",
 *               "hardware": ["..."], "created": T,
 *               "parts": [{"name", "offset", "length", "sha256"}]}}
 *
 * with every security-relevant field inside "signed", signed by a threshold
 * of the trust root's firmware role (policy/trust.h) over the
 * KH_TRUST_FIRMWARE digest, so no policy signature can pass as a firmware
 * one. The security counter, not the version string, orders images
 * (anti-rollback). "parts" (optional) name byte ranges of the image, e.g.
 * the rootfs a sysupgrade image writes to its own partition, so that
 * partition can be checked later against the part it came from.
 *
 * Hashing streams: a struct kh_fw_hash takes the image in pieces of any
 * size (kh_fw_hash_fd_step reads one bounded slice through platform/fs.h),
 * so no image is ever held whole in memory. Device and ISP tool share this.
 */
#ifndef KHIEN_FIRMWARE_MANIFEST_H
#define KHIEN_FIRMWARE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "policy/trust.h"

#define KH_FW_MANIFEST_MAX (16 * 1024) /* bytes of manifest text */
#define KH_FW_VERSION_MAX 64	       /* printable ASCII */
#define KH_FW_MAX_HW 16
#define KH_FW_MAX_PARTS 8
#define KH_FW_PART_NAME_MAX 32

struct kh_fw_part {
	char name[KH_FW_PART_NAME_MAX + 1];
	uint64_t offset, length;
	uint8_t sha256[KH_SHA256_LEN];
};

struct kh_fw_manifest {
	char version[KH_FW_VERSION_MAX + 1];
	uint64_t counter; /* security counter, 0 .. 2^53-1 */
	uint64_t length;
	uint8_t sha256[KH_SHA256_LEN];
	int64_t created;
	unsigned nhw;
	char hw[KH_FW_MAX_HW][KH_HWID_MAX + 1];
	unsigned nparts;
	struct kh_fw_part parts[KH_FW_MAX_PARTS];
	uint8_t digest[KH_SHA256_LEN]; /* what the signatures cover */
	struct kh_sigs sigs;
};

/*
 * Parse manifest text (len bytes) without checking signatures: canonical
 * form, closed schema, limits. 0, or -EBADMSG / -E2BIG with why naming the
 * JSON path ("signed.parts[1].offset: ...").
 */
int kh_fw_manifest_parse(const char *text, size_t len, struct kh_fw_manifest *m, char *why,
			 size_t whylen);

/*
 * Parse, then count the firmware role's valid signatures: 0, -EBADMSG, or
 * -EPERM when root has no firmware role or too few firmware keys signed
 * ("signature: ..."). The image is not looked at.
 */
int kh_fw_manifest_verify(const char *text, size_t len, const struct kh_root *root,
			  struct kh_fw_manifest *m, char *why, size_t whylen);

/*
 * The device's rules for a signed manifest: hwid among its hardware
 * targets (NULL hwid: any; "hardware: ..."), counter at least min_counter
 * ("rollback: ..."). 0 or -EPERM / -ESTALE with why.
 */
int kh_fw_manifest_allowed(const struct kh_fw_manifest *m, const char *hwid, uint64_t min_counter,
			   char *why, size_t whylen);

/* The part named name, or NULL. */
const struct kh_fw_part *kh_fw_manifest_part(const struct kh_fw_manifest *m, const char *name);

/*
 * Streaming hash of [0, length) of an image against expected SHA-256 (the
 * whole image, or one part), and of the manifest's parts along the way
 * when m is given. A slice reads at most KH_FW_HASH_BUF bytes per read.
 */
#define KH_FW_HASH_BUF (64 * 1024)
struct kh_fw_hash {
	struct kh_sha256 all;
	struct kh_sha256 part[KH_FW_MAX_PARTS];
	const struct kh_fw_manifest *m; /* parts to check too, or NULL */
	uint64_t length, done;
	uint8_t expect[KH_SHA256_LEN];
	const char *what; /* "image" or "part NAME", for messages */
};

/* Whole image of m (with its parts). */
void kh_fw_hash_image(struct kh_fw_hash *h, const struct kh_fw_manifest *m);
/* Only length bytes from offset 0 against sha256 (a partition holding one part). */
void kh_fw_hash_range(struct kh_fw_hash *h, uint64_t length, const uint8_t sha256[32],
		      const char *what);
/* Feed the next len bytes (the caller keeps the order; bytes past length are an error at end). */
void kh_fw_hash_update(struct kh_fw_hash *h, const void *data, size_t len);
/* After length bytes: 0, or -EBADMSG "hash: ..." naming what did not match. */
int kh_fw_hash_final(struct kh_fw_hash *h, char *why, size_t whylen);

/*
 * Read and hash up to budget bytes more from fd (at offset h->done) into
 * buf (bufsize bytes, at least 4 KiB). Returns 1 when all length bytes are
 * in (then call kh_fw_hash_final), 0 when more remain, or a negative errno
 * with why ("length: image ends at N bytes, the manifest says L").
 */
int kh_fw_hash_fd_step(struct kh_fw_hash *h, int fd, uint8_t *buf, size_t bufsize, uint64_t budget,
		       char *why, size_t whylen);

/*
 * The size of an image given as fd must be exactly m->length: 0, or
 * -EBADMSG "length: ..." (a truncated or padded image).
 */
int kh_fw_image_size_check(const struct kh_fw_manifest *m, int fd, char *why, size_t whylen);

/*
 * Root-signed reset of the security counter (docs/FIRMWARE.md), for a
 * device whose stored counter is lost or corrupt:
 *   {"signatures": [...], "signed": {"_type": "khien-firmware-reset",
 *    "counter": N, "epoch": E, "hardware": [...], "nonce": HEX, "created": T}}
 * signed by a threshold of the root role over KH_TRUST_FIRMWARE_RESET.
 * nonce is the one the device drew when it found its counter corrupt
 * (khienctl firmware status): a reset repairs that unit, that once, and no
 * other; a copy handed to anyone cannot lower another device's counter.
 * 0, or -EBADMSG / -EPERM with why.
 */
#define KH_FW_NONCE_HEX 32
struct kh_fw_reset {
	char nonce[KH_FW_NONCE_HEX + 1];
	uint64_t counter, epoch;
	int64_t created;
	unsigned nhw;
	char hw[KH_FW_MAX_HW][KH_HWID_MAX + 1];
};
int kh_fw_reset_verify(const char *text, size_t len, const struct kh_root *root,
		       struct kh_fw_reset *r, char *why, size_t whylen);

#endif
