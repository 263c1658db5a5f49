/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by crypto/'s mbedTLS wrappers (crypto.c, tls.c, pki.c);
 * private to crypto/. Also the one place where mbedTLS 2.28 (Debian) and
 * 3.6 (OpenWrt) differ: every call whose signature or name changed goes
 * through an inline here, chosen by MBEDTLS_VERSION_MAJOR, so the wrappers
 * use public APIs of both.
 */
#ifndef KHIEN_CRYPTO_MBED_PRIV_H
#define KHIEN_CRYPTO_MBED_PRIV_H

#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#include "crypto/crypto.h"

#if MBEDTLS_VERSION_MAJOR >= 3
#define KH_MBED3 1
#else
#define KH_MBED3 0
#endif

/* PEM only: mbedTLS would otherwise try DER and say less about what is wrong. */
static inline int kh_mbed_is_pem(const char *s)
{
	return s && strstr(s, "-----BEGIN ") != NULL;
}

/* Khien's keys and certificates are EC P-256, nothing else. */
static inline int kh_mbed_is_p256(const mbedtls_pk_context *pk)
{
	if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY))
		return 0;
#if KH_MBED3
	return mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk)) == MBEDTLS_ECP_DP_SECP256R1;
#else
	return mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
#endif
}

/* The mbedTLS RNG callback over a struct kh_drbg. */
static inline int kh_mbed_rng(void *d, unsigned char *out, size_t len)
{
	return kh_drbg_generate(d, out, len) ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

/* 3.x wants an RNG (blinding) to parse a private key and to check a pair. */
static inline int kh_mbed_parse_key(mbedtls_pk_context *pk, const char *pem, size_t len,
				    struct kh_drbg *rng)
{
#if KH_MBED3
	return mbedtls_pk_parse_key(pk, (const unsigned char *)pem, len, NULL, 0, kh_mbed_rng, rng);
#else
	(void)rng;
	return mbedtls_pk_parse_key(pk, (const unsigned char *)pem, len, NULL, 0);
#endif
}

static inline int kh_mbed_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv,
				     struct kh_drbg *rng)
{
#if KH_MBED3
	return mbedtls_pk_check_pair(pub, prv, kh_mbed_rng, rng);
#else
	(void)rng;
	return mbedtls_pk_check_pair(pub, prv);
#endif
}

#endif
