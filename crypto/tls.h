/* SPDX-License-Identifier: MIT */
/*
 * TLS for Khien's reporting channel: TLS 1.2 only, ECDHE-ECDSA with AEAD
 * suites only (AES-128/256-GCM, ChaCha20-Poly1305), certificates verified
 * on both sides (mutual TLS), hostname verified by the client, session
 * resumption (tickets from the server, a saved session on the client) so
 * that periodic check-ins skip the public-key work. mbedTLS underneath; the
 * record layer reads and writes a non-blocking kh_sock through
 * platform/net.h, so the same code runs over BSD sockets and lwIP.
 *
 * Non-blocking use: handshake/read/write return -EAGAIN when they must wait
 * for the socket; kh_tls_want() then says whether to wait for readability
 * or writability (KH_TLS_WANT_READ / KH_TLS_WANT_WRITE). Data may already
 * be decrypted and buffered inside the connection (kh_tls_pending()), in
 * which case the caller must read again without waiting for the socket.
 *
 * Errors: negative errno. -EAGAIN as above; -EACCES when the peer's
 * certificate does not verify (wrong CA, expired, wrong host); -EPROTO for
 * any other TLS failure (alert, bad record, no common suite); -ECONNRESET
 * when the peer went away. kh_tls_error() gives a one-line reason.
 */
#ifndef KHIEN_CRYPTO_TLS_H
#define KHIEN_CRYPTO_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "platform/net.h"

#define KH_TLS_WANT_READ 1u
#define KH_TLS_WANT_WRITE 2u

enum kh_tls_role {
	KH_TLS_CLIENT = 0,
	KH_TLS_SERVER = 1,
};

/*
 * Configuration shared by many connections. All PEM inputs are
 * NUL-terminated text (len excludes the NUL, as kh_fs_read() gives it).
 */
struct kh_tls_conf_opts {
	enum kh_tls_role role;
	const char *ca_pem; /* CA(s) that must have issued the peer's certificate */
	size_t ca_len;
	const char *cert_pem; /* own certificate (chain) */
	size_t cert_len;
	const char *key_pem; /* own private key (EC P-256) */
	size_t key_len;
	/*
	 * Server: 1 = a client certificate is required (handshake fails
	 * without a valid one); 0 = optional, but one that is presented and
	 * does not verify still fails the handshake. Client: ignored, the
	 * server's certificate is always verified.
	 */
	int require_peer_cert;
	/* Server: session-ticket lifetime in seconds (0 = no tickets). */
	uint32_t ticket_lifetime_s;
};

struct kh_tls_conf;
struct kh_tls;
struct kh_tls_session;

/* Build a configuration; on failure why says what (e.g. "key: not a P-256 key"). */
int kh_tls_conf_new(const struct kh_tls_conf_opts *o, struct kh_tls_conf **out, char *why,
		    size_t whylen);
/*
 * kh_tls_conf_new() from three PEM files, read through platform/fs.h
 * (up to 1 MiB each) and wiped from memory once parsed: pem[0] the CA,
 * pem[1] the own certificate, pem[2] the own key (a client may give NULL
 * for both: no certificate). o gives the role and the other options (its
 * PEM fields are ignored). On a file that cannot
 * be read, why says "WHAT PATH: reason" with what[i] (e.g.
 * "report.server_ca"), or "PATH: reason" when what is NULL.
 */
int kh_tls_conf_load(const struct kh_tls_conf_opts *o, const char *const pem[3],
		     const char *const what[3], struct kh_tls_conf **out, char *why, size_t whylen);
/*
 * Session-ticket keys shared by several servers (docs/SERVER.md): kept in
 * their common store, so a ticket one instance issued resumes on another
 * and after a restart. Tickets are AES-256-GCM over the session, with the
 * key id and IV authenticated in the clear: id (4 bytes, big-endian) | IV
 * (12) | sealed(issued time (8) | session) | tag (16).
 */
#define KH_TLS_TICKET_KEYS 4
struct kh_tls_ticket_key {
	uint32_t id;
	int64_t not_after; /* wall seconds: tickets under this key are refused after it */
	uint8_t key[32];
};
/*
 * Server with tickets on: from now on tickets are written under keys[0]
 * and accepted under any of the n (at most KH_TLS_TICKET_KEYS), for the
 * configuration's ticket lifetime; replaces the keys given before (the
 * built-in random ones at first). The keys are copied, and wiped when
 * replaced or freed. A ticket under an unknown or expired key, or one that
 * does not authenticate (forged, altered), gives a full handshake, never a
 * failure. 0, or -EINVAL (not a server with tickets, n out of range),
 * -EIO if the cipher refuses a key.
 */
int kh_tls_conf_set_ticket_keys(struct kh_tls_conf *c, const struct kh_tls_ticket_key *keys,
				unsigned n);

/* Accepts NULL; wipes keys. The configuration must outlive its connections. */
void kh_tls_conf_free(struct kh_tls_conf *c);

/*
 * A connection over socket s (already connected or accepted, non-blocking;
 * the connection does not own or close it). hostname: the client checks
 * the server certificate against it (DNS name or IP literal, matched
 * against subjectAltName dNSName or the CN); NULL on the server.
 */
int kh_tls_new(struct kh_tls_conf *c, kh_sock s, const char *hostname, struct kh_tls **out);
/* Accepts NULL. Does not send close_notify (see kh_tls_close_notify). */
void kh_tls_free(struct kh_tls *t);

/* 0 when the handshake is complete; -EAGAIN to wait; other errors as above. */
int kh_tls_handshake(struct kh_tls *t);
/* Bytes read (> 0), 0 when the peer closed (close_notify or EOF), -EAGAIN, or error. */
int kh_tls_read(struct kh_tls *t, void *buf, size_t len);
/* Bytes written (> 0, possibly fewer than len), -EAGAIN, or error. */
int kh_tls_write(struct kh_tls *t, const void *buf, size_t len);
/* Send close_notify (best effort; 0, -EAGAIN or error). */
int kh_tls_close_notify(struct kh_tls *t);
/* What the last -EAGAIN waits for: KH_TLS_WANT_READ or KH_TLS_WANT_WRITE. */
unsigned kh_tls_want(const struct kh_tls *t);
/* Decrypted bytes buffered and readable without touching the socket. */
size_t kh_tls_pending(const struct kh_tls *t);
/* One-line reason for the last failure ("" if none); valid until the next call. */
const char *kh_tls_error(const struct kh_tls *t);

/* 1 if the completed handshake resumed an earlier session. */
int kh_tls_resumed(const struct kh_tls *t);
/* Negotiated suite name, e.g. "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256". */
const char *kh_tls_suite(const struct kh_tls *t);

/*
 * The verified peer certificate (after the handshake; on a resumed
 * session, the one verified when the session was made): subject common
 * name into cn (cap bytes, NUL-terminated) and SHA-256 of its DER.
 * -ENOENT when the peer presented none; -ENOSPC if the CN does not fit.
 */
int kh_tls_peer_cn(const struct kh_tls *t, char *cn, size_t cap);
int kh_tls_peer_fingerprint(const struct kh_tls *t, uint8_t sha256[32]);

/*
 * Client session resumption: after a full handshake, save the session;
 * before the next handshake on a new connection, offer it. The session
 * holds secrets: kh_tls_session_free() wipes it.
 */
int kh_tls_session_save(const struct kh_tls *t, struct kh_tls_session **out);
int kh_tls_session_offer(struct kh_tls *t, const struct kh_tls_session *s);
void kh_tls_session_free(struct kh_tls_session *s);

#endif
