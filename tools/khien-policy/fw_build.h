/* SPDX-License-Identifier: MIT */
/*
 * ISP side of firmware signing: building and signing firmware manifests and
 * security-counter resets (format in firmware/manifest.h, docs/FIRMWARE.md).
 * Devices only verify.
 */
#ifndef KHIEN_POLICY_FW_BUILD_H
#define KHIEN_POLICY_FW_BUILD_H

#include "firmware/manifest.h"

/*
 * Sign m's fields (version, counter, length, sha256, created, hw, parts)
 * with nkeys keys into canonical manifest text (heap, *len bytes).
 * unsafe_extra (tests only, may be NULL): "name=json" added to "signed".
 * 0 or negative errno.
 */
int kh_fw_manifest_build(const struct kh_fw_manifest *m, const struct kh_ecdsa_priv *keys,
			 const struct kh_pubkey *pubs, unsigned nkeys, const char *unsafe_extra,
			 char **out, size_t *len);

/* Sign a counter reset with root keys into canonical text (heap). 0 or negative errno. */
int kh_fw_reset_build(const struct kh_fw_reset *r, const struct kh_ecdsa_priv *keys,
		      const struct kh_pubkey *pubs, unsigned nkeys, char **out, size_t *len);

/*
 * Hash the image in fd (streamed through a small buffer): its length and
 * SHA-256 into m, and the SHA-256 of each of m's parts (offset and length
 * set by the caller; -ERANGE if one ends past the image). 0 or negative errno.
 */
int kh_fw_image_digest(int fd, struct kh_fw_manifest *m);

#endif
