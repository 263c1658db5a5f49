/* SPDX-License-Identifier: MIT */
/*
 * The small PKI of a Khien deployment, done with mbedTLS's X.509 writer:
 * EC P-256 keys, self-signed CAs (the device CA, the server CA), the
 * server's certificate for the URL's host and one client certificate per
 * device (subject CN = the device serial). Used by khien-server init and
 * provision; nothing on the device issues certificates.
 *
 * All text is PEM, returned in heap buffers the caller frees (keys with
 * kh_pki_free_secret(), which wipes). PEM inputs are NUL-terminated.
 * Errors: -EINVAL for unusable input (why says which), -ENOMEM, -EIO when
 * the entropy source fails.
 */
#ifndef KHIEN_CRYPTO_PKI_H
#define KHIEN_CRYPTO_PKI_H

#include <stddef.h>
#include <stdint.h>

enum kh_cert_kind {
	KH_CERT_CA = 0,	    /* basicConstraints CA:TRUE, keyCertSign|cRLSign */
	KH_CERT_SERVER = 1, /* digitalSignature, extKeyUsage serverAuth, subjectAltName */
	KH_CERT_CLIENT = 2, /* digitalSignature, extKeyUsage clientAuth */
};

struct kh_cert_opts {
	enum kh_cert_kind kind;
	const char *cn;	 /* subject common name (device serial, host, CA name) */
	const char *org; /* subject O, may be NULL */
	/*
	 * Server certificates: the host the clients connect to (DNS name or
	 * IP literal). It goes into subjectAltName (dNSName, and iPAddress
	 * for an IP literal) so that any client can match it.
	 */
	const char *host;
	int64_t not_before, not_after; /* Unix time */
};

/* A new P-256 private key as PEM ("EC PRIVATE KEY"). */
int kh_pki_key_new(char **key_pem);

/*
 * Issue a certificate for the public half of subject_key_pem, signed by
 * issuer_key_pem / issuer_cert_pem; both issuer arguments NULL makes a
 * self-signed certificate (a CA). The serial number is 16 random bytes.
 */
int kh_pki_issue(const struct kh_cert_opts *o, const char *subject_key_pem,
		 const char *issuer_key_pem, const char *issuer_cert_pem, char **cert_pem,
		 char *why, size_t whylen);

/* What a certificate says, for listings and checks. */
struct kh_cert_info {
	char cn[65];
	char issuer_cn[65];
	char serial_hex[41];
	int64_t not_before, not_after;
	uint8_t sha256[32]; /* of the DER */
	int is_ca;
};

/* Parse the first certificate of a PEM text. -EINVAL with why if it is not one. */
int kh_pki_cert_info(const char *cert_pem, struct kh_cert_info *out, char *why, size_t whylen);

/* Free a returned PEM buffer; kh_pki_free_secret() wipes it first (keys). */
void kh_pki_free(char *pem);
void kh_pki_free_secret(char *pem);

#endif
