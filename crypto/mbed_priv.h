/* SPDX-License-Identifier: MIT */
/* Helpers shared by crypto/'s mbedTLS wrappers (tls.c, pki.c); private to crypto/. */
#ifndef KHIEN_CRYPTO_MBED_PRIV_H
#define KHIEN_CRYPTO_MBED_PRIV_H

#include <string.h>

#include <mbedtls/pk.h>

/* PEM only: mbedTLS would otherwise try DER and say less about what is wrong. */
static inline int kh_mbed_is_pem(const char *s)
{
	return s && strstr(s, "-----BEGIN ") != NULL;
}

/* Khien's keys and certificates are EC P-256, nothing else. */
static inline int kh_mbed_is_p256(const mbedtls_pk_context *pk)
{
	return mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY) &&
	       mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

#endif
