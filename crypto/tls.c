/* SPDX-License-Identifier: MIT */
/*
 * TLS 1.2 over mbedTLS 2.28 behind crypto/tls.h. Everything shared (the
 * ssl_config, CA chain, own certificate and key, ticket keys, DRBG) lives in
 * struct kh_tls_conf; a connection is one mbedtls_ssl_context plus a few
 * small fields, because a server holds thousands of them. The record layer
 * reads and writes the kh_sock through platform/net.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "crypto/crypto.h"
#include "crypto/mbed_priv.h"
#if KH_MBED3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif
#include "crypto/tls.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/time.h"

/* Ticket keys given by the server (kh_tls_conf_set_ticket_keys), each with its cipher. */
struct ticket_ring {
	unsigned n;
	struct {
		uint32_t id;
		int64_t not_after;
		mbedtls_gcm_context gcm;
	} k[KH_TLS_TICKET_KEYS];
};

struct kh_tls_conf {
	mbedtls_ssl_config ssl;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	mbedtls_ssl_ticket_context ticket;
	struct kh_drbg drbg;
	enum kh_tls_role role;
	int have_own, have_ticket;
	uint32_t ticket_lifetime_s;
	struct ticket_ring *ring; /* NULL: mbedTLS's own random keys (per process) */
};

enum {
	ST_HANDSHAKE = 0,
	ST_DONE,
	ST_FAILED
};

struct kh_tls {
	mbedtls_ssl_context ssl;
	kh_sock sock;
	int net_err;  /* last socket error (negative errno) from the BIO */
	int fail;     /* sticky handshake failure */
	size_t wpend; /* plaintext bytes of a record queued by a write that got -EAGAIN */
	uint8_t state, want, full, client, started;
#if KH_MBED3
	uint8_t tail[7], tail_len; /* the last bytes received: a plaintext alert record, if one */
#endif
	char err[120];
};

/* The suites, curve and hashes of tls.h; all lists are 0-terminated for mbedTLS. */
static const int tls_suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};
#if KH_MBED3
static const uint16_t tls_groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
				      MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
static const uint16_t tls_sig_algs[] = {MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256,
					MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
					MBEDTLS_TLS1_3_SIG_NONE};
#else
static const mbedtls_ecp_group_id tls_curves[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE};
static const int tls_hashes[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_NONE};
#endif
static const mbedtls_x509_crt_profile tls_profile = {
	MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384),
	MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA),
	MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1),
	2048,
};

static void say(char *why, size_t whylen, const char *what, int mbed)
{
	char e[96];

	if (!why || !whylen)
		return;
	if (mbed) {
		mbedtls_strerror(mbed, e, sizeof(e));
		snprintf(why, whylen, "%s: %s", what, e);
	} else {
		kh_strlcpy(why, what, whylen);
	}
}

/*
 * 1 if the text looks like PEM and is NUL-terminated at len as tls.h promises
 * (mbedTLS would otherwise try DER and say less).
 */
/* PEM text of exactly len bytes, NUL-terminated as kh_fs_read() gives it. */
static int is_pem(const char *s, size_t len)
{
	return s && len > 0 && s[len] == 0 && memchr(s, 0, len) == NULL && kh_mbed_is_pem(s);
}

/* Parse a PEM certificate chain; len excludes the NUL, mbedTLS wants it counted. */
static int load_certs(mbedtls_x509_crt *crt, const char *pem, size_t len, const char *what,
		      char *why, size_t whylen)
{
	char msg[32];
	int ret;

	snprintf(msg, sizeof(msg), "%s: not PEM", what);
	if (!is_pem(pem, len)) {
		say(why, whylen, msg, 0);
		return -EINVAL;
	}
	ret = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, len + 1);
	if (ret != 0) {
		snprintf(msg, sizeof(msg), "%s", what);
		say(why, whylen, msg, ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT);
		return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static int load_key(struct kh_tls_conf *c, const struct kh_tls_conf_opts *o, char *why,
		    size_t whylen)
{
	int ret;

	if (!is_pem(o->key_pem, o->key_len)) {
		say(why, whylen, "key: not PEM", 0);
		return -EINVAL;
	}
	ret = kh_mbed_parse_key(&c->key, o->key_pem, o->key_len + 1, &c->drbg);
	if (ret != 0) {
		say(why, whylen, "key", ret);
		return ret == MBEDTLS_ERR_PK_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	if (!kh_mbed_is_p256(&c->key)) {
		say(why, whylen, "key: not a P-256 key", 0);
		return -EINVAL;
	}
	if (!kh_mbed_is_p256(&c->own.pk)) {
		say(why, whylen, "cert: not a P-256 key", 0);
		return -EINVAL;
	}
	if (kh_mbed_check_pair(&c->own.pk, &c->key, &c->drbg) != 0) {
		say(why, whylen, "key: does not match the certificate", 0);
		return -EINVAL;
	}
	return 0;
}

int kh_tls_conf_new(const struct kh_tls_conf_opts *o, struct kh_tls_conf **out, char *why,
		    size_t whylen)
{
	struct kh_tls_conf *c;
	int server, err, ret;

	*out = NULL;
	if (why && whylen)
		why[0] = 0;
	if (!o || (o->role != KH_TLS_CLIENT && o->role != KH_TLS_SERVER)) {
		say(why, whylen, "bad options", 0);
		return -EINVAL;
	}
	server = o->role == KH_TLS_SERVER;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->role = o->role;
	mbedtls_ssl_config_init(&c->ssl);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->own);
	mbedtls_pk_init(&c->key);
	mbedtls_ssl_ticket_init(&c->ticket);
	err = kh_drbg_init(&c->drbg, server ? "khien-tls-server" : "khien-tls-client");
	if (err) {
		say(why, whylen, "entropy source failed", 0);
		goto out_nodrbg;
	}
#if KH_MBED3 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* 3.x builds with TLS 1.3 or USE_PSA reach PSA inside the handshake */
	if (psa_crypto_init() != PSA_SUCCESS) {
		say(why, whylen, "PSA crypto init failed", 0);
		err = -EIO;
		goto out;
	}
#endif

	err = load_certs(&c->ca, o->ca_pem, o->ca_len, "ca", why, whylen);
	if (err)
		goto out;
	/* A client may go without a certificate (the server then decides); a server may not. */
	if (o->cert_pem || o->key_pem || server) {
		err = load_certs(&c->own, o->cert_pem, o->cert_len, "cert", why, whylen);
		if (err)
			goto out;
		err = load_key(c, o, why, whylen);
		if (err)
			goto out;
		c->have_own = 1;
	}

	err = -EINVAL;
	ret = mbedtls_ssl_config_defaults(&c->ssl,
					  server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
					  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret) {
		say(why, whylen, "config", ret);
		goto out;
	}
	mbedtls_ssl_conf_rng(&c->ssl, kh_mbed_rng, &c->drbg);
	/* TLS 1.2 only: the suites, tickets and resumption below are 1.2's */
#if KH_MBED3
	mbedtls_ssl_conf_min_tls_version(&c->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&c->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_groups(&c->ssl, tls_groups);
	mbedtls_ssl_conf_sig_algs(&c->ssl, tls_sig_algs);
#else
	mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_curves(&c->ssl, tls_curves);
	mbedtls_ssl_conf_sig_hashes(&c->ssl, tls_hashes);
#endif
	mbedtls_ssl_conf_ciphersuites(&c->ssl, tls_suites);
	mbedtls_ssl_conf_cert_profile(&c->ssl, &tls_profile);
	mbedtls_ssl_conf_renegotiation(&c->ssl, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_extended_master_secret(&c->ssl, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
	if (c->have_own) {
		ret = mbedtls_ssl_conf_own_cert(&c->ssl, &c->own, &c->key);
		if (ret) {
			say(why, whylen, "cert", ret);
			goto out;
		}
	}
	if (server) {
		/*
		 * Optional still verifies a presented certificate; the result is
		 * enforced after the handshake (kh_tls_handshake), since
		 * mbedTLS itself would let a bad one through.
		 */
		mbedtls_ssl_conf_authmode(&c->ssl, o->require_peer_cert
							   ? MBEDTLS_SSL_VERIFY_REQUIRED
							   : MBEDTLS_SSL_VERIFY_OPTIONAL);
		if (o->ticket_lifetime_s) {
			ret = mbedtls_ssl_ticket_setup(&c->ticket, kh_mbed_rng, &c->drbg,
						       MBEDTLS_CIPHER_AES_256_GCM,
						       o->ticket_lifetime_s);
			if (ret) {
				say(why, whylen, "session tickets", ret);
				goto out;
			}
			c->have_ticket = 1;
			c->ticket_lifetime_s = o->ticket_lifetime_s;
			mbedtls_ssl_conf_session_tickets_cb(&c->ssl, mbedtls_ssl_ticket_write,
							    mbedtls_ssl_ticket_parse, &c->ticket);
		}
	} else {
		mbedtls_ssl_conf_authmode(&c->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_session_tickets(&c->ssl, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	}
	*out = c;
	return 0;
out:
	kh_drbg_free(&c->drbg);
out_nodrbg:
	mbedtls_ssl_ticket_free(&c->ticket);
	mbedtls_pk_free(&c->key);
	mbedtls_x509_crt_free(&c->own);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ssl_config_free(&c->ssl);
	kh_memzero(c, sizeof(*c));
	free(c);
	return err;
}

/* ---- session tickets under keys from the store ---- */

#define TICKET_HEAD 16 /* key id + IV, authenticated in the clear */
#define TICKET_IV 12
#define TICKET_TIME 8
#define TICKET_TAG 16

static void ring_free(struct ticket_ring *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		mbedtls_gcm_free(&r->k[i].gcm); /* zeroizes the key schedule */
	kh_memzero(r, sizeof(*r));
	free(r);
}

/* mbedTLS's ticket writer: the session sealed under the newest key. */
static int ring_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
		      const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	struct kh_tls_conf *c = p;
	struct ticket_ring *r = c->ring;
	unsigned char *body = start + TICKET_HEAD;
	size_t cap, slen = 0;
	int ret;

	if (end < start || (size_t)(end - start) < TICKET_HEAD + TICKET_TIME + TICKET_TAG + 64)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	cap = (size_t)(end - start) - TICKET_HEAD - TICKET_TIME - TICKET_TAG;
	kh_put_be32(start, r->k[0].id);
	if (kh_drbg_generate(&c->drbg, start + 4, TICKET_IV))
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	kh_put_be32(body, (uint32_t)((uint64_t)kh_time_wall() >> 32));
	kh_put_be32(body + 4, (uint32_t)kh_time_wall());
	ret = mbedtls_ssl_session_save(session, body + TICKET_TIME, cap, &slen);
	if (ret == 0)
		ret = mbedtls_gcm_crypt_and_tag(
			&r->k[0].gcm, MBEDTLS_GCM_ENCRYPT, TICKET_TIME + slen, start + 4, TICKET_IV,
			start, TICKET_HEAD, body, body, TICKET_TAG, body + TICKET_TIME + slen);
	if (ret) {
		kh_memzero(body, cap + TICKET_TIME);
		return ret;
	}
	*tlen = TICKET_HEAD + TICKET_TIME + slen + TICKET_TAG;
	*lifetime = c->ticket_lifetime_s;
	return 0;
}

/*
 * mbedTLS's ticket reader. Any error makes mbedTLS carry on with a full
 * handshake: an unknown key id, a key past its not_after, a ticket past
 * its lifetime, or one that does not authenticate.
 */
static int ring_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct kh_tls_conf *c = p;
	struct ticket_ring *r = c->ring;
	int64_t now = kh_time_wall(), issued;
	size_t clen;
	unsigned i;
	uint32_t id;
	int ret;

	if (len < TICKET_HEAD + TICKET_TIME + TICKET_TAG)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	id = kh_be32(buf);
	for (i = 0; i < r->n && r->k[i].id != id; i++)
		;
	if (i == r->n)
		return MBEDTLS_ERR_SSL_INVALID_MAC;
	if (now > r->k[i].not_after)
		return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
	clen = len - TICKET_HEAD - TICKET_TAG;
	if (mbedtls_gcm_auth_decrypt(&r->k[i].gcm, clen, buf + 4, TICKET_IV, buf, TICKET_HEAD,
				     buf + len - TICKET_TAG, TICKET_TAG, buf + TICKET_HEAD,
				     buf + TICKET_HEAD) != 0)
		return MBEDTLS_ERR_SSL_INVALID_MAC;
	issued = (int64_t)(((uint64_t)kh_be32(buf + TICKET_HEAD) << 32) |
			   kh_be32(buf + TICKET_HEAD + 4));
	if (issued > now + 300 || now - issued > (int64_t)c->ticket_lifetime_s)
		ret = MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
	else
		ret = mbedtls_ssl_session_load(session, buf + TICKET_HEAD + TICKET_TIME,
					       clen - TICKET_TIME);
	kh_memzero(buf + TICKET_HEAD, clen);
	return ret;
}

int kh_tls_conf_set_ticket_keys(struct kh_tls_conf *c, const struct kh_tls_ticket_key *keys,
				unsigned n)
{
	struct ticket_ring *r;

	if (!c || c->role != KH_TLS_SERVER || !c->have_ticket || n == 0 || n > KH_TLS_TICKET_KEYS)
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		mbedtls_gcm_init(&r->k[i].gcm);
		r->n++;
		r->k[i].id = keys[i].id;
		r->k[i].not_after = keys[i].not_after;
		if (mbedtls_gcm_setkey(&r->k[i].gcm, MBEDTLS_CIPHER_ID_AES, keys[i].key, 256) !=
		    0) {
			ring_free(r);
			return -EIO;
		}
	}
	ring_free(c->ring);
	c->ring = r;
	mbedtls_ssl_conf_session_tickets_cb(&c->ssl, ring_write, ring_parse, c);
	return 0;
}

void kh_tls_conf_free(struct kh_tls_conf *c)
{
	if (!c)
		return;
	ring_free(c->ring);
	mbedtls_ssl_ticket_free(&c->ticket);
	mbedtls_pk_free(&c->key);
	mbedtls_x509_crt_free(&c->own);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ssl_config_free(&c->ssl);
	kh_drbg_free(&c->drbg);
	kh_memzero(c, sizeof(*c));
	free(c);
}

/* ---- record layer over platform/net.h ---- */

static int conn_gone(int err)
{
	return err == -ECONNRESET || err == -EPIPE || err == -ENOTCONN || err == -ECONNABORTED;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct kh_tls *t = ctx;
	int n = kh_net_send(t->sock, buf, KH_MIN(len, (size_t)INT_MAX));

	if (n >= 0)
		return n;
	if (n == -EAGAIN || n == -EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->net_err = n;
	return conn_gone(n) ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

#if KH_MBED3
static void keep_tail(struct kh_tls *t, const unsigned char *buf, size_t n)
{
	size_t keep = sizeof(t->tail);

	if (n >= keep) {
		memcpy(t->tail, buf + n - keep, keep);
		t->tail_len = (uint8_t)keep;
		return;
	}
	if (t->tail_len + n > keep) {
		size_t drop = t->tail_len + n - keep;

		memmove(t->tail, t->tail + drop, t->tail_len - drop);
		t->tail_len = (uint8_t)(t->tail_len - drop);
	}
	memcpy(t->tail + t->tail_len, buf, n);
	t->tail_len = (uint8_t)(t->tail_len + n);
}
#endif

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct kh_tls *t = ctx;
	int n = kh_net_recv(t->sock, buf, KH_MIN(len, (size_t)INT_MAX));

#if KH_MBED3
	if (n > 0)
		keep_tail(t, buf, (size_t)n);
#endif
	if (n >= 0)
		return n; /* 0 = EOF, which mbedTLS reports as MBEDTLS_ERR_SSL_CONN_EOF */
	if (n == -EAGAIN || n == -EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	t->net_err = n;
	return conn_gone(n) ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/*
 * Certificates are verified in a full handshake only (a resumed one takes
 * the result from the ticket): that is how a handshake is known to be full
 * through public calls of both mbedTLS versions. The flags are left as the
 * verifier set them.
 */
static int note_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	(void)crt;
	(void)depth;
	(void)flags;
	((struct kh_tls *)ctx)->full = 1;
	return 0;
}

int kh_tls_new(struct kh_tls_conf *c, kh_sock s, const char *hostname, struct kh_tls **out)
{
	struct kh_tls *t;
	int ret, err = -EINVAL;

	*out = NULL;
	/* A client without a name to check would accept any certificate of the CA. */
	if (!c || (c->role == KH_TLS_CLIENT && (!hostname || !*hostname)))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->sock = s;
	mbedtls_ssl_init(&t->ssl);
	ret = mbedtls_ssl_setup(&t->ssl, &c->ssl);
	if (ret) {
		err = ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
		goto out;
	}
	if (c->role == KH_TLS_CLIENT) {
		ret = mbedtls_ssl_set_hostname(&t->ssl, hostname);
		if (ret) {
			err = ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
			goto out;
		}
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_verify(&t->ssl, note_verify, t);
	t->client = c->role == KH_TLS_CLIENT;
	*out = t;
	return 0;
out:
	mbedtls_ssl_free(&t->ssl);
	free(t);
	return err;
}

void kh_tls_free(struct kh_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl); /* wipes keys and buffers */
	kh_memzero(t, sizeof(*t));
	free(t);
}

/* ---- errors ---- */

static const char *alert_name(unsigned a)
{
	switch (a) {
	case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
		return "handshake failure";
	case MBEDTLS_SSL_ALERT_MSG_NO_CERT:
	case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
		return "bad certificate";
	case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
		return "unsupported certificate";
	case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
		return "certificate revoked";
	case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
		return "certificate expired";
	case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
		return "certificate unknown";
	case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
		return "unknown CA";
	case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
		return "access denied";
	case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
		return "decrypt error";
	case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
		return "protocol version";
	case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
		return "insufficient security";
	case MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR:
		return "internal error";
	default:
		return "alert";
	}
}

/* "peer certificate: <first reason>; <second reason>" from verify flags. */
static void say_verify(struct kh_tls *t, uint32_t flags)
{
	char info[256], *p;
	size_t n;

	if (flags == 0 || flags == (uint32_t)-1) {
		kh_strlcpy(t->err, "peer certificate: verification failed", sizeof(t->err));
		return;
	}
	if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
		info[0] = 0;
	/* one line: join the per-flag lines */
	n = strlen(info);
	while (n > 0 && info[n - 1] == '\n')
		info[--n] = 0;
	for (p = info; (p = strchr(p, '\n')) != NULL;)
		*p = ';';
	snprintf(t->err, sizeof(t->err), "peer certificate: %.100s",
		 info[0] ? info : "verification failed");
}

/* Map an mbedTLS result to tls.h's errno and remember a reason. */
static int tls_fail(struct kh_tls *t, int ret)
{
	char e[96];

	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		t->want = KH_TLS_WANT_READ;
		return -EAGAIN;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		t->want = KH_TLS_WANT_WRITE;
		return -EAGAIN;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		say_verify(t, mbedtls_ssl_get_verify_result(&t->ssl));
		return -EACCES;
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		kh_strlcpy(t->err, "peer certificate: none presented", sizeof(t->err));
		return -EACCES;
#ifdef MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED /* 2.28 only */
	case MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED:
		kh_strlcpy(t->err, "peer certificate: handshake signature does not verify",
			   sizeof(t->err));
		return -EACCES;
#endif
	case MBEDTLS_ERR_SSL_CONN_EOF:
		kh_strlcpy(t->err, "connection: closed by peer", sizeof(t->err));
		return -ECONNRESET;
	case MBEDTLS_ERR_NET_CONN_RESET:
		snprintf(t->err, sizeof(t->err), "connection: %s",
			 kh_strerror(t->net_err ? t->net_err : -ECONNRESET));
		return -ECONNRESET;
	case MBEDTLS_ERR_NET_SEND_FAILED:
	case MBEDTLS_ERR_NET_RECV_FAILED:
		snprintf(t->err, sizeof(t->err), "connection: %s",
			 kh_strerror(t->net_err ? t->net_err : -EIO));
		return t->net_err ? t->net_err : -EIO;
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
#if KH_MBED3
		/*
		 * 3.x has no public call that names the alert: read it off the
		 * last record received (type 21, length 2: level, description),
		 * which is plaintext until the peer's ChangeCipherSpec. A
		 * server's alert after it (a certificate it verified
		 * optionally, check_peer) cannot be named.
		 */
		if (t->tail_len == sizeof(t->tail) && t->tail[0] == 21 && t->tail[3] == 0 &&
		    t->tail[4] == 2)
			snprintf(t->err, sizeof(t->err), "peer sent alert %u (%s)",
				 (unsigned)t->tail[6], alert_name(t->tail[6]));
		else
			kh_strlcpy(t->err, "peer sent a fatal alert (encrypted)", sizeof(t->err));
#else
		/* in_msg[1] still holds the (decrypted) alert's description byte */
		snprintf(t->err, sizeof(t->err), "peer sent alert %u (%s)",
			 (unsigned)t->ssl.in_msg[1], alert_name(t->ssl.in_msg[1]));
#endif
		return -EPROTO;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
	case MBEDTLS_ERR_MPI_ALLOC_FAILED:
	case MBEDTLS_ERR_ECP_ALLOC_FAILED:
	case MBEDTLS_ERR_X509_ALLOC_FAILED:
		kh_strlcpy(t->err, "out of memory", sizeof(t->err));
		return -ENOMEM;
	default:
		mbedtls_strerror(ret, e, sizeof(e));
		snprintf(t->err, sizeof(t->err), "tls: %s", e);
		return -EPROTO;
	}
}

/*
 * Enforce the verification result of a certificate the peer presented:
 * with VERIFY_OPTIONAL mbedTLS completes the handshake anyway. Also applies
 * to resumed sessions (the result travels in the ticket).
 */
static int check_peer(struct kh_tls *t)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
	unsigned char alert = MBEDTLS_SSL_ALERT_MSG_BAD_CERT;

	if (!mbedtls_ssl_get_peer_cert(&t->ssl) || flags == 0)
		return 0;
	if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
		alert = MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED;
	else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		alert = MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA;
	/* best effort: the socket may be full, the caller drops it either way */
	mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, alert);
	say_verify(t, flags);
	return -EACCES;
}

int kh_tls_handshake(struct kh_tls *t)
{
	int ret, err;

	if (t->state == ST_DONE)
		return 0;
	if (t->state == ST_FAILED)
		return t->fail;
	t->started = 1;
	ret = mbedtls_ssl_handshake(&t->ssl);
	if (ret) {
		err = tls_fail(t, ret);
		if (err == -EAGAIN)
			return err;
		/* mbedTLS sends no alert for this one; tell the client why */
		if (ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
			mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
						       MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
		goto fail;
	}
	err = check_peer(t);
	if (err)
		goto fail;
	t->state = ST_DONE;
	return 0;
fail:
	t->state = ST_FAILED;
	t->fail = err;
	return err;
}

/* Reading or writing before the handshake is done must still go through check_peer(). */
static int ensure_handshake(struct kh_tls *t)
{
	return t->state == ST_DONE ? 0 : kh_tls_handshake(t);
}

int kh_tls_read(struct kh_tls *t, void *buf, size_t len)
{
	int ret = ensure_handshake(t);

	if (ret)
		return ret;
	if (len == 0)
		return -EINVAL; /* 0 would read as "peer closed" */
	ret = mbedtls_ssl_read(&t->ssl, buf, KH_MIN(len, (size_t)INT_MAX));
	if (ret > 0)
		return ret;
	if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return tls_fail(t, ret);
}

/*
 * mbedTLS requires a write that returned WANT_WRITE to be repeated with the
 * same data: the record is already encrypted and queued. wpend remembers its
 * length so that a caller who retries with more data gets the right count.
 */
int kh_tls_write(struct kh_tls *t, const void *buf, size_t len)
{
	int ret = ensure_handshake(t);
	size_t n;

	if (ret)
		return ret;
	if (len == 0)
		return 0;
	if (t->wpend) {
		if (len < t->wpend)
			return -EINVAL;
		n = t->wpend;
	} else {
		ret = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
		if (ret <= 0)
			return tls_fail(t, ret ? ret : MBEDTLS_ERR_SSL_INTERNAL_ERROR);
		n = KH_MIN(len, (size_t)ret);
	}
	ret = mbedtls_ssl_write(&t->ssl, buf, n);
	if (ret > 0) {
		t->wpend = 0;
		return ret;
	}
	if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
		t->wpend = n;
	return tls_fail(t, ret);
}

int kh_tls_close_notify(struct kh_tls *t)
{
	int ret;

	if (t->state != ST_DONE)
		return -EINVAL;
	ret = mbedtls_ssl_close_notify(&t->ssl);
	return ret ? tls_fail(t, ret) : 0;
}

unsigned kh_tls_want(const struct kh_tls *t)
{
	return t->want;
}

size_t kh_tls_pending(const struct kh_tls *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

const char *kh_tls_error(const struct kh_tls *t)
{
	return t->err;
}

/*
 * A session without a peer certificate (a server's optional client
 * authentication, none presented) counts as full: nothing was verified
 * either way.
 */
int kh_tls_resumed(const struct kh_tls *t)
{
	return t->state == ST_DONE && !t->full && mbedtls_ssl_get_peer_cert(&t->ssl) != NULL;
}

const char *kh_tls_suite(const struct kh_tls *t)
{
	return t->state == ST_DONE ? mbedtls_ssl_get_ciphersuite(&t->ssl) : "";
}

static const mbedtls_x509_crt *peer_cert(const struct kh_tls *t)
{
	return t->state == ST_DONE ? mbedtls_ssl_get_peer_cert(&t->ssl) : NULL;
}

int kh_tls_peer_cn(const struct kh_tls *t, char *cn, size_t cap)
{
	const mbedtls_x509_crt *crt = peer_cert(t);
	const mbedtls_x509_name *n;

	if (!crt)
		return -ENOENT;
	for (n = &crt->subject; n; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		if (memchr(n->val.p, 0, n->val.len))
			return -EINVAL;
		if (n->val.len >= cap)
			return -ENOSPC;
		memcpy(cn, n->val.p, n->val.len);
		cn[n->val.len] = 0;
		return 0;
	}
	return -ENOENT;
}

int kh_tls_peer_fingerprint(const struct kh_tls *t, uint8_t sha256[32])
{
	const mbedtls_x509_crt *crt = peer_cert(t);

	if (!crt)
		return -ENOENT;
	kh_sha256(crt->raw.p, crt->raw.len, sha256);
	return 0;
}

/* ---- client sessions ---- */

struct kh_tls_session {
	mbedtls_ssl_session s;
};

int kh_tls_session_save(const struct kh_tls *t, struct kh_tls_session **out)
{
	struct kh_tls_session *s;
	int ret;

	*out = NULL;
	if (t->state != ST_DONE || !t->client)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	mbedtls_ssl_session_init(&s->s);
	ret = mbedtls_ssl_get_session(&t->ssl, &s->s);
	if (ret) {
		kh_tls_session_free(s);
		return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	*out = s;
	return 0;
}

int kh_tls_session_offer(struct kh_tls *t, const struct kh_tls_session *s)
{
	int ret;

	if (!s || t->state != ST_HANDSHAKE || t->started)
		return -EINVAL;
	ret = mbedtls_ssl_set_session(&t->ssl, &s->s);
	if (ret)
		return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	return 0;
}

void kh_tls_session_free(struct kh_tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_session_free(&s->s); /* zeroizes the master secret and ticket */
	free(s);
}

int kh_tls_conf_load(const struct kh_tls_conf_opts *o, const char *const pem[3],
		     const char *const what[3], struct kh_tls_conf **out, char *why, size_t whylen)
{
	struct kh_tls_conf_opts x = *o;
	char *t[3] = {0};
	size_t len[3] = {0};
	int err = 0;

	for (int i = 0; i < 3 && !err; i++)
		if (pem[i] && (err = kh_fs_read(pem[i], 1 << 20, (uint8_t **)&t[i], &len[i])) < 0)
			snprintf(why, whylen, "%s%s%.200s: %s", what ? what[i] : "",
				 what ? " " : "", pem[i], kh_strerror(err));
	if (!err) {
		x.ca_pem = t[0];
		x.ca_len = len[0];
		x.cert_pem = t[1];
		x.cert_len = len[1];
		x.key_pem = t[2];
		x.key_len = len[2];
		err = kh_tls_conf_new(&x, out, why, whylen);
	}
	for (int i = 0; i < 3; i++)
		if (t[i]) {
			kh_memzero(t[i], len[i]);
			free(t[i]);
		}
	return err;
}
