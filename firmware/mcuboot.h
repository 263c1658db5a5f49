/* SPDX-License-Identifier: MIT */
/*
 * Verification of an MCUboot image held in a flash slot, as MCUboot's
 * bootutil would check it before a swap (docs/design.md of
 * mcu-tools/mcuboot), plus Khien's own stricter rules: a security counter
 * is required and must sit in the protected TLV area, and no
 * security-relevant TLV may sit in the unprotected one (CVE-2024-32883).
 * The slot is read through a callback in small pieces, so a real flash
 * slot and a file both work and the image is never held in RAM.
 *
 * On-flash layout (all fields little-endian):
 *
 *   0                 struct image_header (32 bytes, padded to hdr_size)
 *   hdr_size          image payload (img_size bytes)
 *   hdr_size+img_size [protected TLV info 0x6908, tot == protect_tlv_size,
 *                      protected TLVs]   <- covered by the hash
 *   ...               unprotected TLV info 0x6907, TLVs (SHA256, KEYHASH,
 *                      signature)
 *
 * The SHA-256 covers bytes [0, hdr_size + img_size + protect_tlv_size);
 * the ECDSA P-256 signature (ASN.1 DER) is over that hash.
 */
#ifndef KHIEN_FIRMWARE_MCUBOOT_H
#define KHIEN_FIRMWARE_MCUBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* bootutil/image.h */
#define KH_MCUBOOT_MAGIC 0x96f3b83du
#define KH_MCUBOOT_HDR_LEN 32
#define KH_MCUBOOT_TLV_INFO_MAGIC 0x6907
#define KH_MCUBOOT_TLV_PROT_INFO_MAGIC 0x6908

#define KH_MCUBOOT_F_PIC 0x00000001u
#define KH_MCUBOOT_F_ENCRYPTED_AES128 0x00000004u
#define KH_MCUBOOT_F_ENCRYPTED_AES256 0x00000008u
#define KH_MCUBOOT_F_NON_BOOTABLE 0x00000010u
#define KH_MCUBOOT_F_RAM_LOAD 0x00000020u
#define KH_MCUBOOT_F_ROM_FIXED 0x00000100u
#define KH_MCUBOOT_F_COMPRESSED 0x00000e00u /* LZMA1, LZMA2, ARM thumb filter */

#define KH_MCUBOOT_TLV_KEYHASH 0x01
#define KH_MCUBOOT_TLV_PUBKEY 0x02
#define KH_MCUBOOT_TLV_SHA256 0x10
#define KH_MCUBOOT_TLV_SHA384 0x11
#define KH_MCUBOOT_TLV_SHA512 0x12
#define KH_MCUBOOT_TLV_RSA2048_PSS 0x20
#define KH_MCUBOOT_TLV_ECDSA224 0x21
#define KH_MCUBOOT_TLV_ECDSA_SIG 0x22 /* ECDSA P-256 (formerly ECDSA256), DER */
#define KH_MCUBOOT_TLV_RSA3072_PSS 0x23
#define KH_MCUBOOT_TLV_ED25519 0x24
#define KH_MCUBOOT_TLV_SIG_PURE 0x25
#define KH_MCUBOOT_TLV_ENC_RSA2048 0x30
#define KH_MCUBOOT_TLV_ENC_KW 0x31
#define KH_MCUBOOT_TLV_ENC_EC256 0x32
#define KH_MCUBOOT_TLV_ENC_X25519 0x33
#define KH_MCUBOOT_TLV_DEPENDENCY 0x40
#define KH_MCUBOOT_TLV_SEC_CNT 0x50
#define KH_MCUBOOT_TLV_BOOT_RECORD 0x60

/* DER ECDSA P-256 signature: 8 to 72 bytes (imgtool --pad-sig pads to 72). */
#define KH_MCUBOOT_SIG_MAX 72
/* Signature TLVs checked per image; more is refused (each costs a verify). */
#define KH_MCUBOOT_MAX_SIGS 4
/* Firmware keys accepted per call (a trust root's role holds at most 16). */
#define KH_MCUBOOT_MAX_KEYS 16
/* Room for a refusal reason. */
#define KH_MCUBOOT_REASON_LEN 160

/*
 * A slot: read(ctx, off, buf, len) fills buf with len bytes at off; it is
 * only called with off + len <= size, and returns 0 or a negative errno.
 */
struct kh_mcuboot_slot {
	int (*read)(void *ctx, uint32_t off, void *buf, size_t len);
	void *ctx;
	uint32_t size;
};

/* What a verified (or partly parsed) image says about itself. */
struct kh_mcuboot_image {
	uint32_t load_addr;
	uint16_t hdr_size;
	uint16_t protect_tlv_size;
	uint32_t img_size;
	uint32_t flags;
	uint8_t ver_major, ver_minor;
	uint16_t ver_revision;
	uint32_t ver_build;
	uint32_t tlv_end;	   /* bytes of the slot the image uses */
	uint32_t security_counter; /* from the protected SEC_CNT TLV */
	int key;		   /* index into keys[] of the first key that signed, or -1 */
	unsigned nsigned;	   /* distinct keys of keys[] whose signature verified */
	uint8_t hash[KH_SHA256_LEN];
};

/*
 * Verify the image in slot against the firmware keys (1 to
 * KH_MCUBOOT_MAX_KEYS, distinct), of which at least threshold (1 to nkeys)
 * must have a valid ECDSA signature TLV (each preceded by its KEYHASH, as
 * imgtool lays out several signatures; one key signing twice counts once),
 * and the stored security counter min_counter. img
 * (may be NULL) is filled as far as parsing got. reason (may be NULL)
 * receives a one-line explanation of a refusal.
 *
 * 0: valid. -EBADMSG: malformed, out of the slot's bounds, a TLV where it
 * must not be, or the hash does not match (tampered). -EPERM: fewer than
 * threshold firmware keys signed it. -ESTALE: its security counter is below min_counter
 * (rollback). -ENOTSUP: encrypted, compressed or dependent images. -EIO
 * (or the reader's error): the slot could not be read. -EINVAL: arguments.
 */
int kh_mcuboot_verify(const struct kh_mcuboot_slot *slot, const struct kh_ecdsa_pub *keys,
		      size_t nkeys, unsigned threshold, uint32_t min_counter,
		      struct kh_mcuboot_image *img, char *reason, size_t reason_len);

struct kh_root;

/*
 * The firmware keys MCUboot images are checked against: the keys and the
 * threshold of the trust root's firmware role (policy/trust.h), the same
 * root (anchor and verified chain) the agent's policy store trusts, so a
 * rotated root replaces them. -EPERM (reason says so) when the root has no
 * firmware role.
 */
struct kh_mcuboot_keys {
	struct kh_ecdsa_pub key[KH_MCUBOOT_MAX_KEYS];
	size_t n;
	unsigned threshold;
	unsigned long long root_version;
};
int kh_mcuboot_root_keys(const struct kh_root *root, struct kh_mcuboot_keys *k, char *reason,
			 size_t len);

/* The SHA-256 MCUboot's KEYHASH TLV carries: of the key's DER SubjectPublicKeyInfo. */
void kh_mcuboot_keyhash(const struct kh_ecdsa_pub *key, uint8_t out[KH_SHA256_LEN]);

/* "major.minor.revision+build" into buf (at least 32 bytes is enough). */
void kh_mcuboot_version_str(const struct kh_mcuboot_image *img, char *buf, size_t len);

#endif
