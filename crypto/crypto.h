/* SPDX-License-Identifier: MIT */
/*
 * The narrow crypto interface of Khien. crypto/ is the only directory that
 * includes mbedTLS headers; everything else uses these calls. Contexts are
 * caller-owned opaque storage (no heap), sized by static assertions in
 * crypto.c against the real mbedTLS structures. _free calls wipe key
 * material and accept NULL.
 *
 * Errors: 0 on success; -EINVAL for bad arguments or keys; -EBADMSG when a
 * signature does not verify; -EIO when the entropy source fails.
 */
#ifndef KHIEN_CRYPTO_H
#define KHIEN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KH_SHA256_LEN 32
#define KH_ECDSA_PRIV_LEN 32 /* big-endian scalar d */
#define KH_ECDSA_PUB_LEN 65  /* uncompressed point 04 || X || Y */
#define KH_ECDSA_SIG_LEN 64  /* r || s, each 32 bytes big-endian */

/* ---- SHA-256 (FIPS 180-4) ---- */
struct kh_sha256 {
	uint64_t opaque[16];
};

void kh_sha256_init(struct kh_sha256 *ctx);
void kh_sha256_update(struct kh_sha256 *ctx, const void *data, size_t len);
void kh_sha256_final(struct kh_sha256 *ctx, uint8_t out[KH_SHA256_LEN]);
void kh_sha256(const void *data, size_t len, uint8_t out[KH_SHA256_LEN]);

/* ---- HMAC-SHA-256 (RFC 2104); any key length ---- */
struct kh_hmac {
	struct kh_sha256 inner, outer;
};

void kh_hmac_init(struct kh_hmac *ctx, const void *key, size_t key_len);
void kh_hmac_update(struct kh_hmac *ctx, const void *data, size_t len);
void kh_hmac_final(struct kh_hmac *ctx, uint8_t out[KH_SHA256_LEN]);
void kh_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		    uint8_t out[KH_SHA256_LEN]);

/* ---- CTR-DRBG (NIST SP 800-90A, AES-256) seeded from platform/rand.h ---- */
struct kh_drbg {
	uint64_t opaque[64];
};

/* personal: optional personalisation string (may be NULL). -EIO on entropy failure. */
int kh_drbg_init(struct kh_drbg *d, const char *personal);
int kh_drbg_generate(struct kh_drbg *d, void *out, size_t len);
void kh_drbg_free(struct kh_drbg *d);

/* ---- ECDSA over NIST P-256 with SHA-256 ---- */
struct kh_ecdsa_priv {
	uint8_t d[KH_ECDSA_PRIV_LEN];
};
struct kh_ecdsa_pub {
	uint8_t q[KH_ECDSA_PUB_LEN];
};

/* New key pair from the DRBG. */
int kh_ecdsa_keygen(struct kh_drbg *rng, struct kh_ecdsa_priv *priv, struct kh_ecdsa_pub *pub);
/* Derive the public key; -EINVAL if d is not a valid scalar. */
int kh_ecdsa_public(const struct kh_ecdsa_priv *priv, struct kh_ecdsa_pub *pub);
/* -EINVAL unless pub is a valid point on P-256. */
int kh_ecdsa_pub_check(const struct kh_ecdsa_pub *pub);
/* Deterministic signature (RFC 6979) over a SHA-256 digest. rng blinds the math. */
int kh_ecdsa_sign(struct kh_drbg *rng, const struct kh_ecdsa_priv *priv,
		  const uint8_t digest[KH_SHA256_LEN], uint8_t sig[KH_ECDSA_SIG_LEN]);
/* 0 if sig is valid for digest under pub, -EBADMSG if not, -EINVAL for a bad key. */
int kh_ecdsa_verify(const struct kh_ecdsa_pub *pub, const uint8_t digest[KH_SHA256_LEN],
		    const uint8_t sig[KH_ECDSA_SIG_LEN]);
/*
 * The same over an ASN.1 DER signature (SEQUENCE { INTEGER r, INTEGER s }),
 * as MCUboot and X.509 carry it. Zero bytes after the SEQUENCE are allowed
 * (imgtool --pad-sig pads to 72 bytes); anything else there is -EBADMSG.
 */
int kh_ecdsa_verify_der(const struct kh_ecdsa_pub *pub, const uint8_t digest[KH_SHA256_LEN],
			const uint8_t *der, size_t der_len);
void kh_ecdsa_priv_free(struct kh_ecdsa_priv *priv);

/* ---- helpers ---- */
/* 1 if equal; time depends only on len, never on the contents. */
int kh_ct_memeq(const void *a, const void *b, size_t len);
/* Wipe memory the compiler may not optimise away. */
void kh_memzero(void *p, size_t len);

#endif
