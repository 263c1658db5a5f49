/* SPDX-License-Identifier: MIT */
/*
 * The test PKI shared by test_tls.c and test_pki.c: a CA, server and client
 * certificates (valid, expired, from another CA), issued with kh_pki_* at
 * start and freed at the end.
 */
#ifndef KHIEN_TEST_TLS_H
#define KHIEN_TEST_TLS_H

#include "crypto/pki.h"
#include "crypto/tls.h"
#include "kt.h"
#include "lib/err.h"
#include "platform/net.h"
#include "platform/time.h"

#define CLIENT_CN "KH-DEVICE-0001"
#define SERVER_HOST "127.0.0.1"
#define CA_CN "Khien Test CA"

/* A valid PEM key on the wrong curve (P-384), for the "not a P-256 key" path. */
static const char p384_key[] __attribute__((unused)) =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MIGkAgEBBDBTdfjURY0tATiXEsb1lnF+1W5J1E33/ET2O5eHuKY118P4oAEKyoCd\n"
	"lzcOJYxH49mgBwYFK4EEACKhZANiAATf249Icwl2HDbzrrBeb1iploVlPQCCkNAo\n"
	"2bok2OS9ooybjSuQQkScZNEeseviwnYo0GJ8BDRsspHYm2AesSzynQu5fF0qTmJB\n"
	"tDjgDeoR+Ev8PeYhyvixzgcQNkglgnk=\n"
	"-----END EC PRIVATE KEY-----\n";

static struct {
	int64_t now, cli_not_after;
	char *ca_key, *ca_crt, *srv_key, *srv_crt, *cli_key, *cli_crt;
	char *other_key, *other_crt, *other_cli_crt, *expired_cli_crt, *srv6_crt;
} P;

static inline char *issue(enum kh_cert_kind kind, const char *cn, const char *host, int64_t nb,
			  int64_t na, const char *key, const char *ikey, const char *icrt)
{
	struct kh_cert_opts o = {
		.kind = kind,
		.cn = cn,
		.org = "Khien Test",
		.host = host,
		.not_before = nb,
		.not_after = na,
	};
	char why[128], *pem = NULL;
	int err = kh_pki_issue(&o, key, ikey, icrt, &pem, why, sizeof(why));

	if (err)
		printf("# issue %s: %d %s\n", cn, err, why);
	return pem;
}

static inline int pki_setup(void)
{
	int64_t now = kh_time_wall(), day = 86400;

	P.now = now;
	P.cli_not_after = now + 365 * day;
	if (kh_pki_key_new(&P.ca_key) || kh_pki_key_new(&P.srv_key) || kh_pki_key_new(&P.cli_key) ||
	    kh_pki_key_new(&P.other_key))
		return -1;
	P.ca_crt =
		issue(KH_CERT_CA, CA_CN, NULL, now - day, now + 3650 * day, P.ca_key, NULL, NULL);
	P.other_crt = issue(KH_CERT_CA, "Other CA", NULL, now - day, now + 3650 * day, P.other_key,
			    NULL, NULL);
	if (!P.ca_crt || !P.other_crt)
		return -1;
	P.srv_crt = issue(KH_CERT_SERVER, SERVER_HOST, SERVER_HOST, now - day, now + 365 * day,
			  P.srv_key, P.ca_key, P.ca_crt);
	P.srv6_crt = issue(KH_CERT_SERVER, "::1", "::1", now - day, now + 365 * day, P.srv_key,
			   P.ca_key, P.ca_crt);
	P.cli_crt = issue(KH_CERT_CLIENT, CLIENT_CN, NULL, now - day, P.cli_not_after, P.cli_key,
			  P.ca_key, P.ca_crt);
	/* same key and CN, but from a CA the server does not trust */
	P.other_cli_crt = issue(KH_CERT_CLIENT, CLIENT_CN, NULL, now - day, now + 365 * day,
				P.cli_key, P.other_key, P.other_crt);
	P.expired_cli_crt = issue(KH_CERT_CLIENT, CLIENT_CN, NULL, now - 30 * day, now - day,
				  P.cli_key, P.ca_key, P.ca_crt);
	if (!P.srv_crt || !P.srv6_crt || !P.cli_crt || !P.other_cli_crt || !P.expired_cli_crt)
		return -1;
	return 0;
}

static inline void pki_teardown(void)
{
	kh_pki_free_secret(P.ca_key);
	kh_pki_free_secret(P.srv_key);
	kh_pki_free_secret(P.cli_key);
	kh_pki_free_secret(P.other_key);
	kh_pki_free(P.ca_crt);
	kh_pki_free(P.other_crt);
	kh_pki_free(P.srv_crt);
	kh_pki_free(P.srv6_crt);
	kh_pki_free(P.cli_crt);
	kh_pki_free(P.other_cli_crt);
	kh_pki_free(P.expired_cli_crt);
}

/* A configuration from the test PKI (CA: P.ca_crt); NULL on failure, said. */
static inline struct kh_tls_conf *conf_new(enum kh_tls_role role, const char *crt, const char *key,
					   int require, uint32_t tickets)
{
	struct kh_tls_conf_opts o = {
		.role = role,
		.ca_pem = P.ca_crt,
		.ca_len = strlen(P.ca_crt),
		.cert_pem = crt,
		.cert_len = crt ? strlen(crt) : 0,
		.key_pem = key,
		.key_len = key ? strlen(key) : 0,
		.require_peer_cert = require,
		.ticket_lifetime_s = tickets,
	};
	struct kh_tls_conf *c = NULL;
	char why[128];
	int err = kh_tls_conf_new(&o, &c, why, sizeof(why));

	if (err)
		printf("# conf: %d %s\n", err, why);
	return c;
}

#endif
