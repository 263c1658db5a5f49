/* SPDX-License-Identifier: MIT */
/*
 * A client connection to the central server: TCP, mutual TLS (crypto/tls.h)
 * and HTTP/1.1 framing (lib/http.h) as one non-blocking state machine on
 * the event loop (connect, handshake, send, receive head, receive body).
 * It owns the socket, the TLS connection and the saved TLS session (so the
 * next connection resumes it), and knows nothing of what is said: the
 * owner (the sync protocol in report.c, or anything else that talks to the
 * server) sends one request at a time and is called back with the answer.
 *
 * Response bodies are bounded: framed by Content-Length only (our server
 * always sends it), kept in memory up to max_body bytes, or streamed to
 * the owner (a download) when it asks for that at the head.
 */
#ifndef KHIEN_AGENT_HTTPS_CONN_H
#define KHIEN_AGENT_HTTPS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "lib/http.h"
#include "platform/loop.h"
#include "platform/net.h"

struct kh_https;

/*
 * Called from the loop. Each may send the next request, reopen or close
 * the connection; none may free it.
 */
struct kh_https_ops {
	/* The TLS handshake is done: send the first request. */
	void (*ready)(void *arg);
	/*
	 * A response head arrived. Return 0 to take the body (set *stream to
	 * have it passed to body() as it arrives instead of kept in memory),
	 * or a negative errno to refuse it (failed() follows).
	 */
	int (*head)(void *arg, const struct kh_http_resp *resp, int *stream);
	/* Streamed body bytes; a negative errno stops the exchange. */
	int (*body)(void *arg, const uint8_t *p, size_t n);
	/*
	 * The whole response. body: NUL-terminated (NULL when streamed),
	 * owned by the connection until the next request or close.
	 */
	void (*done)(void *arg, const struct kh_http_resp *resp, const char *body, size_t len);
	/*
	 * The exchange failed. answering: 0 before the request was sent
	 * (connect, TLS, send), 1 while the answer was coming; err: the
	 * negative errno behind it, or 0. The connection is still open (msg
	 * may quote it): the owner closes or reopens it.
	 */
	void (*failed)(void *arg, int err, int answering, const char *msg);
};

/*
 * A connection to server, checking its certificate against host (conf
 * must outlive it; NULL: plain HTTP, for a bundle mirror, whose answers
 * are verified like any bundle). Nothing is dialled until kh_https_open().
 * 0 or -ENOMEM.
 */
int kh_https_new(struct kh_loop *loop, struct kh_tls_conf *conf, const char *host,
		 const struct kh_addr *server, size_t max_body, const struct kh_https_ops *ops,
		 void *arg, struct kh_https **out);
/* Accepts NULL; closes the connection and wipes the saved session. */
void kh_https_free(struct kh_https *c);

/*
 * Point the connection at another server (closing any connection first):
 * the next kh_https_open() dials server and checks host. The saved
 * session is kept and offered there too: instances that share their
 * ticket keys (khien-server on one store) resume it, others make a full
 * handshake.
 */
void kh_https_set_target(struct kh_https *c, const char *host, const struct kh_addr *server);

/*
 * Dial (closing any connection first) and start the handshake, offering the
 * saved session; ready() follows. On failure why says what (nothing is
 * called back).
 */
int kh_https_open(struct kh_https *c, char *why, size_t whylen);
/* Close (close_notify after a handshake); always safe. */
void kh_https_close(struct kh_https *c);

/*
 * Send one request: head for host, Content-Type application/json when there
 * is a body, extra header lines ("Name: value\r\n", or NULL).
 */
int kh_https_request(struct kh_https *c, const char *method, const char *target, const char *body,
		     size_t body_len, const char *extra);

/* 1 while a connection is open or being opened. */
int kh_https_busy(const struct kh_https *c);
/* 1 if the current connection resumed a saved session. */
int kh_https_resumed(const struct kh_https *c);

#endif
