/* SPDX-License-Identifier: MIT */
/*
 * The server connection's state machine (see https_conn.h): the socket,
 * TLS, one request out and one response in at a time, on the event loop.
 * What the exchange means is the owner's business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/https_conn.h"
#include "lib/compiler.h"
#include "lib/err.h"

#define HEAD_CAP (KH_HTTP_HEAD_MAX + 512)

enum cstate {
	C_IDLE,
	C_CONNECT,
	C_HANDSHAKE,
	C_OPEN, /* connected, no request in flight */
	C_SEND,
	C_HEAD,
	C_BODY
};

struct kh_https {
	struct kh_loop *loop;
	struct kh_tls_conf *conf;
	struct kh_tls_session *session;
	char host[256];
	struct kh_addr server;
	size_t max_body;
	struct kh_https_ops ops;
	void *arg;

	enum cstate st;
	kh_sock fd;
	struct kh_tls *tls;
	char *req; /* head + body */
	size_t req_len, req_off;
	char head[HEAD_CAP];
	size_t head_len;
	struct kh_http_resp resp;
	uint8_t *body; /* NULL when streamed */
	size_t body_len, body_need;
	int stream;
};

int kh_https_new(struct kh_loop *loop, struct kh_tls_conf *conf, const char *host,
		 const struct kh_addr *server, size_t max_body, const struct kh_https_ops *ops,
		 void *arg, struct kh_https **out)
{
	struct kh_https *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->conf = conf;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->server = *server;
	c->max_body = max_body;
	c->ops = *ops;
	c->arg = arg;
	c->fd = -1;
	*out = c;
	return 0;
}

void kh_https_close(struct kh_https *c)
{
	if (c->tls) {
		if (c->st > C_HANDSHAKE)
			kh_tls_close_notify(c->tls);
		kh_tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0) {
		kh_loop_fd_del(c->loop, c->fd);
		kh_net_close(c->fd);
		c->fd = -1;
	}
	free(c->req);
	c->req = NULL;
	free(c->body);
	c->body = NULL;
	c->st = C_IDLE;
}

void kh_https_set_target(struct kh_https *c, const char *host, const struct kh_addr *server)
{
	kh_https_close(c);
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->server = *server;
}

void kh_https_free(struct kh_https *c)
{
	if (!c)
		return;
	kh_https_close(c);
	kh_tls_session_free(c->session);
	free(c);
}

int kh_https_busy(const struct kh_https *c)
{
	return c->st != C_IDLE;
}

int kh_https_resumed(const struct kh_https *c)
{
	return c->session && c->tls && kh_tls_resumed(c->tls);
}

int kh_https_request(struct kh_https *c, const char *method, const char *target, const char *body,
		     size_t blen, const char *extra)
{
	char head[1024];
	int n = kh_http_format_request(head, sizeof(head), method, target, c->host,
				       body ? "application/json" : NULL, body ? blen : 0, extra);

	if (n < 0)
		return n;
	if (!body)
		blen = 0;
	free(c->req);
	c->req = malloc((size_t)n + blen);
	if (!c->req)
		return -ENOMEM;
	memcpy(c->req, head, (size_t)n);
	if (blen)
		memcpy(c->req + n, body, blen);
	c->req_len = (size_t)n + blen;
	c->req_off = 0;
	c->head_len = 0;
	free(c->body);
	c->body = NULL;
	c->st = C_SEND;
	return 0;
}

static void fail(struct kh_https *c, int err, int answering, const char *fmt, ...) KH_PRINTF(4, 5);
static void fail(struct kh_https *c, int err, int answering, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ops.failed(c->arg, err, answering, msg);
}

static void want(struct kh_https *c)
{
	int w = c->tls ? kh_tls_want(c->tls) == KH_TLS_WANT_WRITE : c->st == C_SEND;

	kh_loop_fd_mod(c->loop, c->fd, w ? KH_EV_WRITE : KH_EV_READ);
}

/* The byte stream: TLS, or the bare socket of a plain-HTTP connection (conf NULL). */
static int io_read(struct kh_https *c, void *buf, size_t n)
{
	return c->tls ? kh_tls_read(c->tls, buf, n) : kh_net_recv(c->fd, buf, n);
}

static int io_write(struct kh_https *c, const void *buf, size_t n)
{
	return c->tls ? kh_tls_write(c->tls, buf, n) : kh_net_send(c->fd, buf, n);
}

/* Move body bytes (from the head buffer or the socket) to their place. */
static int take_body(struct kh_https *c, const uint8_t *p, size_t n)
{
	if (n > c->body_need - c->body_len)
		n = c->body_need - c->body_len;
	if (c->stream) {
		int err = c->ops.body(c->arg, p, n);
		if (err < 0)
			return err;
	} else {
		memcpy(c->body + c->body_len, p, n);
	}
	c->body_len += n;
	return 0;
}

static int head_done(struct kh_https *c, size_t hl)
{
	int64_t cl = c->resp.content_length;
	int err;

	/* the owner sees every head (a mirror's error page is no incident), framed or not */
	c->stream = 0;
	if ((err = c->ops.head(c->arg, &c->resp, &c->stream)) < 0)
		return err;
	if (cl < 0)
		return -EBADMSG; /* our server always frames with Content-Length */
	c->body_need = (size_t)cl;
	c->body_len = 0;
	if (!c->stream) {
		if ((uint64_t)cl > c->max_body)
			return -E2BIG;
		c->body = malloc((size_t)cl + 1);
		if (!c->body)
			return -ENOMEM;
		c->body[cl] = 0;
	}
	c->st = C_BODY;
	return take_body(c, (const uint8_t *)c->head + hl, c->head_len - hl);
}

/* One step of reading the body; 0 to go on, -1 when the exchange is over. */
static int read_body(struct kh_https *c)
{
	uint8_t buf[4096];
	size_t want_n = c->body_need - c->body_len;
	int n, err;

	n = io_read(c, c->stream ? buf : c->body + c->body_len,
		    c->stream ? (want_n < sizeof(buf) ? want_n : sizeof(buf)) : want_n);
	if (n == -EAGAIN) {
		want(c);
		return -1;
	}
	if (n <= 0) {
		fail(c, 0, 1, "connection lost after %zu of %zu bytes", c->body_len, c->body_need);
		return -1;
	}
	if (!c->stream) {
		c->body_len += (size_t)n;
	} else if ((err = take_body(c, buf, (size_t)n)) < 0) {
		fail(c, err, 1, "cannot store the response: %s", kh_strerror(err));
		return -1;
	}
	return 0;
}

static void drive(struct kh_https *c)
{
	int n, err;

	for (;;) {
		switch (c->st) {
		case C_IDLE:
		case C_OPEN:
			return;
		case C_CONNECT:
			/* writable: the TCP connection is up, or failed */
			if ((err = kh_net_tcp_connect_result(c->fd)) < 0) {
				char a[KH_ADDR_STRLEN];
				kh_addr_format(&c->server, a, sizeof(a));
				fail(c, err, 0, "connect to %s: %s", a, kh_strerror(err));
				return;
			}
			c->st = C_HANDSHAKE;
			if (!c->tls) { /* plain HTTP: nothing to negotiate */
				c->st = C_OPEN;
				c->ops.ready(c->arg);
				if (c->st != C_SEND)
					return;
			}
			break;
		case C_HANDSHAKE:
			n = kh_tls_handshake(c->tls);
			if (n == -EAGAIN)
				return want(c);
			if (n < 0) {
				fail(c, n, 0, "TLS with %s: %s", c->host,
				     *kh_tls_error(c->tls) ? kh_tls_error(c->tls) : kh_strerror(n));
				return;
			}
			if (!kh_tls_resumed(c->tls)) {
				kh_tls_session_free(c->session);
				c->session = NULL;
				kh_tls_session_save(c->tls, &c->session);
			}
			c->st = C_OPEN;
			c->ops.ready(c->arg);
			break;
		case C_SEND:
			n = io_write(c, c->req + c->req_off, c->req_len - c->req_off);
			if (n == -EAGAIN)
				return want(c);
			if (n < 0) {
				fail(c, n, 0, "send: %s",
				     c->tls ? kh_tls_error(c->tls) : kh_strerror(n));
				return;
			}
			c->req_off += (size_t)n;
			if (c->req_off == c->req_len) {
				c->st = C_HEAD;
				c->head_len = 0;
			}
			break;
		case C_HEAD:
			n = io_read(c, c->head + c->head_len, sizeof(c->head) - c->head_len);
			if (n == -EAGAIN)
				return want(c);
			if (n <= 0) {
				fail(c, 0, 1, "server closed the connection");
				return;
			}
			c->head_len += (size_t)n;
			memset(&c->resp, 0, sizeof(c->resp));
			n = kh_http_parse_response(c->head, c->head_len, &c->resp);
			if (n == 0 && c->head_len == sizeof(c->head))
				n = -E2BIG;
			if (n < 0) {
				fail(c, 0, 1, "malformed response from the server");
				return;
			}
			if (n > 0 && (err = head_done(c, (size_t)n)) < 0) {
				fail(c, err, 1, "response refused: %s", kh_strerror(err));
				return;
			}
			break;
		case C_BODY:
			if (c->body_len == c->body_need) {
				c->st = C_OPEN;
				/* the owner sends the next request, reconnects or closes */
				c->ops.done(c->arg, &c->resp, (const char *)c->body, c->body_len);
				/* reconnecting: wait for the new socket to be writable */
				if (c->st != C_SEND)
					return;
				break;
			}
			if (read_body(c) < 0)
				return;
			break;
		}
	}
}

static void on_io(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	drive(arg);
}

int kh_https_open(struct kh_https *c, char *why, size_t whylen)
{
	int err;

	kh_https_close(c);
	err = kh_net_tcp_connect(&c->server, &c->fd);
	if (err < 0) {
		c->fd = -1;
		snprintf(why, whylen, "connect: %s", kh_strerror(err));
		return err;
	}
	err = c->conf ? kh_tls_new(c->conf, c->fd, c->host, &c->tls) : 0;
	if (err == 0 && c->tls && c->session)
		kh_tls_session_offer(c->tls, c->session);
	if (err == 0)
		err = kh_loop_fd_add(c->loop, c->fd, KH_EV_WRITE, on_io, c);
	if (err < 0) {
		snprintf(why, whylen, "cannot start a connection: %s", kh_strerror(err));
		kh_https_close(c);
		return err;
	}
	c->st = C_CONNECT;
	return 0;
}
