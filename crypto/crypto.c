/* SPDX-License-Identifier: MIT */
/*
 * mbedTLS (2.28 or 3.6, crypto/mbed_priv.h) behind crypto/crypto.h. HMAC is built on the SHA-256
 * contexts directly so that it needs no heap (mbedtls_md_setup allocates).
 */
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "crypto/crypto.h"
#include "crypto/mbed_priv.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/rand.h"

KH_STATIC_ASSERT(sizeof(mbedtls_sha256_context) <= sizeof(struct kh_sha256),
		 "kh_sha256 storage too small");
KH_STATIC_ASSERT(sizeof(mbedtls_ctr_drbg_context) <= sizeof(struct kh_drbg),
		 "kh_drbg storage too small");

#define SHA(ctx) ((mbedtls_sha256_context *)(void *)(ctx)->opaque)
#define DRBG(d) ((mbedtls_ctr_drbg_context *)(void *)(d)->opaque)

/* 3.x dropped the _ret suffix (the 2.28 names without it return void). */
#if KH_MBED3
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#else
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#endif

void kh_memzero(void *p, size_t len)
{
	mbedtls_platform_zeroize(p, len);
}

int kh_ct_memeq(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

void kh_sha256_init(struct kh_sha256 *ctx)
{
	mbedtls_sha256_init(SHA(ctx));
	sha256_starts(SHA(ctx), 0);
}

void kh_sha256_update(struct kh_sha256 *ctx, const void *data, size_t len)
{
	sha256_update(SHA(ctx), data, len);
}

void kh_sha256_final(struct kh_sha256 *ctx, uint8_t out[KH_SHA256_LEN])
{
	sha256_finish(SHA(ctx), out);
	mbedtls_sha256_free(SHA(ctx));
}

void kh_sha256(const void *data, size_t len, uint8_t out[KH_SHA256_LEN])
{
	struct kh_sha256 c;

	kh_sha256_init(&c);
	kh_sha256_update(&c, data, len);
	kh_sha256_final(&c, out);
}

void kh_hmac_init(struct kh_hmac *ctx, const void *key, size_t key_len)
{
	uint8_t k[64], pad[64];
	size_t i;

	memset(k, 0, sizeof(k));
	if (key_len > sizeof(k))
		kh_sha256(key, key_len, k);
	else
		memcpy(k, key, key_len);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	kh_sha256_init(&ctx->inner);
	kh_sha256_update(&ctx->inner, pad, 64);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	kh_sha256_init(&ctx->outer);
	kh_sha256_update(&ctx->outer, pad, 64);
	kh_memzero(k, sizeof(k));
	kh_memzero(pad, sizeof(pad));
}

void kh_hmac_update(struct kh_hmac *ctx, const void *data, size_t len)
{
	kh_sha256_update(&ctx->inner, data, len);
}

void kh_hmac_final(struct kh_hmac *ctx, uint8_t out[KH_SHA256_LEN])
{
	uint8_t ih[KH_SHA256_LEN];

	kh_sha256_final(&ctx->inner, ih);
	kh_sha256_update(&ctx->outer, ih, sizeof(ih));
	kh_sha256_final(&ctx->outer, out);
	kh_memzero(ih, sizeof(ih));
	kh_memzero(ctx, sizeof(*ctx));
}

void kh_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		    uint8_t out[KH_SHA256_LEN])
{
	struct kh_hmac h;

	kh_hmac_init(&h, key, key_len);
	kh_hmac_update(&h, data, len);
	kh_hmac_final(&h, out);
}

static int entropy_cb(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	return kh_rand_bytes(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

int kh_drbg_init(struct kh_drbg *d, const char *personal)
{
	int rc;

	mbedtls_ctr_drbg_init(DRBG(d));
	rc = mbedtls_ctr_drbg_seed(DRBG(d), entropy_cb, NULL, (const unsigned char *)personal,
				   personal ? strlen(personal) : 0);
	if (rc != 0) {
		mbedtls_ctr_drbg_free(DRBG(d));
		return -EIO;
	}
	mbedtls_ctr_drbg_set_reseed_interval(DRBG(d), CONFIG_CRYPTO_DRBG_RESEED_INTERVAL);
	return 0;
}

int kh_drbg_generate(struct kh_drbg *d, void *out, size_t len)
{
	uint8_t *p = out;

	while (len > 0) {
		size_t n = KH_MIN(len, (size_t)MBEDTLS_CTR_DRBG_MAX_REQUEST);
		if (mbedtls_ctr_drbg_random(DRBG(d), p, n) != 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

void kh_drbg_free(struct kh_drbg *d)
{
	if (!d)
		return;
	mbedtls_ctr_drbg_free(DRBG(d));
	kh_memzero(d, sizeof(*d));
}

static int drbg_cb(void *d, unsigned char *out, size_t len)
{
	return mbedtls_ctr_drbg_random(DRBG((struct kh_drbg *)d), out, len);
}

/* Fixed-RNG callback for operations that only need blinding. */
static int rng_for(struct kh_drbg *rng, int (**f)(void *, unsigned char *, size_t), void **p)
{
	*f = drbg_cb;
	*p = rng;
	return rng ? 0 : -EINVAL;
}

int kh_ecdsa_keygen(struct kh_drbg *rng, struct kh_ecdsa_priv *priv, struct kh_ecdsa_pub *pub)
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d;
	mbedtls_ecp_point q;
	int (*f)(void *, unsigned char *, size_t);
	void *p;
	size_t olen;
	int err = -EINVAL;

	if (rng_for(rng, &f, &p))
		return -EINVAL;
	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_ecp_point_init(&q);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_ecp_gen_keypair(&grp, &d, &q, f, p) ||
	    mbedtls_mpi_write_binary(&d, priv->d, sizeof(priv->d)) ||
	    mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pub->q,
					   sizeof(pub->q)) ||
	    olen != sizeof(pub->q))
		goto out;
	err = 0;
out:
	mbedtls_ecp_point_free(&q);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	return err;
}

int kh_ecdsa_public(const struct kh_ecdsa_priv *priv, struct kh_ecdsa_pub *pub)
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d;
	mbedtls_ecp_point q;
	struct kh_drbg rng;
	size_t olen;
	int err = -EINVAL;

	if (kh_drbg_init(&rng, "khien-ecdsa-public"))
		return -EIO;
	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_ecp_point_init(&q);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_mpi_read_binary(&d, priv->d, sizeof(priv->d)) ||
	    mbedtls_ecp_check_privkey(&grp, &d) ||
	    mbedtls_ecp_mul(&grp, &q, &d, &grp.G, drbg_cb, &rng) ||
	    mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pub->q,
					   sizeof(pub->q)))
		goto out;
	err = 0;
out:
	mbedtls_ecp_point_free(&q);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	kh_drbg_free(&rng);
	return err;
}

static int load_pub(mbedtls_ecp_group *grp, mbedtls_ecp_point *q, const struct kh_ecdsa_pub *pub)
{
	if (mbedtls_ecp_group_load(grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_ecp_point_read_binary(grp, q, pub->q, sizeof(pub->q)) ||
	    mbedtls_ecp_check_pubkey(grp, q))
		return -EINVAL;
	return 0;
}

int kh_ecdsa_pub_check(const struct kh_ecdsa_pub *pub)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	int err;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	err = load_pub(&grp, &q, pub);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return err;
}

int kh_ecdsa_sign(struct kh_drbg *rng, const struct kh_ecdsa_priv *priv,
		  const uint8_t digest[KH_SHA256_LEN], uint8_t sig[KH_ECDSA_SIG_LEN])
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d, r, s;
	int (*f)(void *, unsigned char *, size_t);
	void *p;
	int err = -EINVAL;

	if (rng_for(rng, &f, &p))
		return -EINVAL;
	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_mpi_read_binary(&d, priv->d, sizeof(priv->d)) ||
	    mbedtls_ecp_check_privkey(&grp, &d) ||
	    mbedtls_ecdsa_sign_det_ext(&grp, &r, &s, &d, digest, KH_SHA256_LEN, MBEDTLS_MD_SHA256,
				       f, p) ||
	    mbedtls_mpi_write_binary(&r, sig, 32) || mbedtls_mpi_write_binary(&s, sig + 32, 32))
		goto out;
	err = 0;
out:
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	return err;
}

/* The verification both signature encodings end in. */
static int verify_mpi(const struct kh_ecdsa_pub *pub, const uint8_t digest[KH_SHA256_LEN],
		      const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	int err;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	err = load_pub(&grp, &q, pub);
	if (!err && mbedtls_ecdsa_verify(&grp, digest, KH_SHA256_LEN, &q, r, s) != 0)
		err = -EBADMSG;
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return err;
}

int kh_ecdsa_verify(const struct kh_ecdsa_pub *pub, const uint8_t digest[KH_SHA256_LEN],
		    const uint8_t sig[KH_ECDSA_SIG_LEN])
{
	mbedtls_mpi r, s;
	int err = -EBADMSG;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (!mbedtls_mpi_read_binary(&r, sig, 32) && !mbedtls_mpi_read_binary(&s, sig + 32, 32))
		err = verify_mpi(pub, digest, &r, &s);
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	return err;
}

/* mbedtls_asn1_get_tag/get_mpi have the same signatures in 2.28 and 3.6. */
int kh_ecdsa_verify_der(const struct kh_ecdsa_pub *pub, const uint8_t digest[KH_SHA256_LEN],
			const uint8_t *der, size_t der_len)
{
	unsigned char *p = (unsigned char *)(uintptr_t)der, *end = p + der_len, *seq_end;
	mbedtls_mpi r, s;
	size_t len;
	int err = -EBADMSG;

	if (!der)
		return der_len ? -EINVAL : -EBADMSG;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		goto out;
	seq_end = p + len;
	if (mbedtls_asn1_get_mpi(&p, seq_end, &r) || mbedtls_asn1_get_mpi(&p, seq_end, &s) ||
	    p != seq_end)
		goto out;
	for (; p < end; p++)
		if (*p)
			goto out;
	err = verify_mpi(pub, digest, &r, &s);
out:
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	return err;
}

void kh_ecdsa_priv_free(struct kh_ecdsa_priv *priv)
{
	if (priv)
		kh_memzero(priv, sizeof(*priv));
}
