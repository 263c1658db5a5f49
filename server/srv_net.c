/* SPDX-License-Identifier: MIT */
/*
 * khien-server's network side: one event loop, one listening socket, many
 * TLS connections, each a small state machine (handshake, read head, read
 * body, write, and again on keep-alive). Memory per connection is bounded:
 * the TLS context, a head buffer of KH_HTTP_HEAD_MAX bytes and a body
 * buffer no larger than the route allows (server/api.h), taken only once
 * the head is admitted, within a global budget and at most two at a time
 * per device. Slow clients cannot hold a connection: besides the idle
 * timeout, the handshake and each request head must complete within twice
 * the idle timeout, and a body must arrive at 1 KiB/s or better.
 *
 * No client can hold every connection. A device certificate counts as an
 * identity only once the store admits it (registered, active, the pinned
 * certificate, not expired), and one identity holds at most
 * max_connections_per_device: its idlest connection makes room for its
 * newest. When max_connections are open, the oldest connection without an
 * admitted identity (handshake, anonymous, or a refused certificate) makes
 * room, else the idlest of the identity holding the most. A connection that
 * has shown the operator token is never evicted, so operators stay
 * reachable. Malformed requests get their 4xx and are logged
 * (rate-limited); nothing a client sends can stop the server.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tls.h"
#include "lib/err.h"
#include "lib/fnv.h"
#include "lib/hex.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/net.h"
#include "platform/proc.h"
#include "platform/rand.h"
#include "platform/time.h"
#include "server/api.h"
#include "server/rollout.h"

#define IN_CAP (KH_HTTP_HEAD_MAX + 1024)
#define FLUSH_MS 50
#define LOG_BURST 20			/* problem reports per second before suppression */
#define BODY_BUDGET ((size_t)128 << 20) /* request bodies held at once, all clients */
#define DEV_BODIES_MAX 2		/* uploads in flight per device */
/* Answers up to this size go out as one TLS record: one send(), one segment. */
#define ONE_RECORD_MAX 16384

/* Where a connection is counted: its class list (link cl). */
enum cclass {
	CL_ANON,     /* no admitted identity yet: first to make room */
	CL_DEVICE,   /* an admitted device certificate: in its identity's list */
	CL_OPERATOR, /* has shown the operator token: never evicted */
};

enum cstate {
	C_HANDSHAKE,
	C_HEAD,
	C_BODY,
	C_WRITE,
	C_DONE
};

struct ident;

struct conn {
	struct srv *srv;
	/* on two lists at once (lib/list.h), newest first */
	struct kh_list all; /* v->conns: every open connection, to close them at exit */
	struct kh_list cl;  /* v->anon or id->conns, by class */
	enum cclass cls;
	struct ident *id;   /* CL_DEVICE: whose */
	uint64_t active_ms; /* last progress (monotonic), for "idlest" */
	kh_sock fd;
	struct kh_tls *tls;
	struct kh_timer idle;
	enum cstate st;
	unsigned watching;
	uint8_t *in; /* IN_CAP bytes once the handshake is done */
	size_t in_len;
	struct kh_http_req req;
	uint8_t *body;
	size_t body_len, body_need;
	char head[1024];
	uint8_t *out; /* head and body together, when the body is small */
	size_t head_len, out_off;
	struct kh_api_resp resp;
	struct kh_api_peer peer;
	char cn[KH_SERIAL_MAX + 1];
	uint8_t fpr[32];
	int close_after;
	uint32_t requests;   /* answered on this connection */
	int parse_pending;   /* bytes since the last parse may finish the head */
	uint64_t phase_end;  /* monotonic ms by which this phase must be done; 0 = none */
	size_t body_charged; /* bytes of the body budget this connection holds */
	int upload_slot;     /* holds one of its device's DEV_BODIES_MAX */
};

/* An admitted device certificate and the connections it holds. */
struct ident {
	struct ident *hnext;  /* hash chain */
	struct kh_list count; /* in v->by_count[n] */
	struct kh_list conns; /* its connections, by cl */
	unsigned n;
	unsigned bodies; /* uploads in flight */
	char serial[KH_SERIAL_MAX + 1];
};

struct srv {
	struct kh_srv *s;
	struct kh_loop *loop;
	struct kh_tls_conf *tls;
	kh_sock lfd;
	unsigned nconns;
	struct kh_list conns, anon; /* struct conn by all, by cl */
	struct ident **idents;	    /* hash table by serial, idents_mask + 1 chains */
	uint32_t idents_mask;
	struct kh_list by_count[KH_SRV_CONNS_PER_DEVICE_MAX + 1]; /* identities by n */
	size_t body_bytes;
	struct kh_timer flush, stats, trim, tickets, rollouts;
	uint32_t ticket_key;	   /* the id tickets are written under, 0 before the first */
	unsigned peak;		   /* most connections open since the last trim */
	uint64_t freed_since_trim; /* connections closed since then */
	uint64_t accepted, refused_full, handshakes, resumed, tls_failed, requests, bad_requests,
		timeouts, evicted, busy, not_admitted, evicted_per_device;
	uint64_t log_second;
	unsigned log_count, log_suppressed;
};

/* Problems caused by clients: logged, but a flood cannot flood the log. */
static int log_allowed(struct srv *v)
{
	uint64_t sec = kh_time_mono_ms() / 1000;

	if (sec != v->log_second) {
		if (v->log_suppressed)
			log_warn("%u client problem report(s) suppressed", v->log_suppressed);
		v->log_second = sec;
		v->log_count = 0;
		v->log_suppressed = 0;
	}
	if (v->log_count >= LOG_BURST) {
		v->log_suppressed++;
		return 0;
	}
	v->log_count++;
	return 1;
}

/* Give back the body budget and the device's upload slot. */
static void body_release(struct conn *c)
{
	struct srv *v = c->srv;

	v->body_bytes -= c->body_charged;
	c->body_charged = 0;
	if (c->upload_slot) {
		c->id->bodies--;
		c->upload_slot = 0;
	}
	free(c->body);
	c->body = NULL;
}

/* Progress re-arms the idle timer, but never past the phase's deadline. */
static void progress(struct conn *c)
{
	uint64_t now = kh_time_mono_ms(), ms = c->srv->s->cfg.idle_timeout_ms;

	c->active_ms = now;
	if (c->phase_end)
		ms = c->phase_end <= now ? 0 : KH_MIN(ms, c->phase_end - now);
	kh_timer_arm(c->srv->loop, &c->idle, ms);
}

/* Handshake and request heads: no trickling past twice the idle timeout. */
static uint64_t head_deadline(const struct conn *c)
{
	return 2 * (uint64_t)c->srv->s->cfg.idle_timeout_ms;
}

static void phase(struct conn *c, uint64_t ms)
{
	c->phase_end = ms ? kh_time_mono_ms() + ms : 0;
	progress(c);
}

/* ---------------------------------------------------------------- who holds what */

static void by_count_unlink(struct srv *v, struct ident *id)
{
	(void)v;
	kh_list_del(&id->count);
}

static void by_count_link(struct srv *v, struct ident *id)
{
	kh_list_add_head(&v->by_count[id->n], &id->count);
}

static struct ident **ident_slot(struct srv *v, const char *serial)
{
	struct ident **p = &v->idents[kh_fnv1a32(KH_FNV32_BASIS, serial) & v->idents_mask];

	while (*p && strcmp((*p)->serial, serial) != 0)
		p = &(*p)->hnext;
	return p;
}

/* Take c out of its class list (it stays open). */
static void class_leave(struct conn *c)
{
	struct srv *v = c->srv;
	struct ident *id = c->id;

	if (c->cls == CL_ANON) {
		kh_list_del(&c->cl);
	} else if (c->cls == CL_DEVICE) {
		kh_list_del(&c->cl);
		by_count_unlink(v, id);
		if (--id->n) {
			by_count_link(v, id);
		} else {
			struct ident **p = ident_slot(v, id->serial);
			*p = id->hnext;
			free(id);
		}
		c->id = NULL;
	}
	c->cls = CL_OPERATOR; /* in no list */
}

/* Count c for the admitted device c->cn. -ENOMEM leaves it anonymous. */
static int class_device(struct conn *c)
{
	struct srv *v = c->srv;
	struct ident **p = ident_slot(v, c->cn), *id = *p;

	if (!id) {
		id = calloc(1, sizeof(*id));
		if (!id)
			return -ENOMEM;
		kh_strlcpy(id->serial, c->cn, sizeof(id->serial));
		kh_list_init(&id->count);
		kh_list_init(&id->conns);
		*p = id;
	} else {
		by_count_unlink(v, id);
	}
	class_leave(c);
	id->n++;
	by_count_link(v, id);
	c->cls = CL_DEVICE;
	c->id = id;
	kh_list_add_head(&id->conns, &c->cl);
	return 0;
}

static void conn_free(struct conn *c)
{
	struct srv *v = c->srv;

	body_release(c); /* first: its upload slot is its identity's */
	class_leave(c);
	kh_list_del(&c->all);
	kh_timer_cancel(v->loop, &c->idle);
	kh_loop_fd_del(v->loop, c->fd);
	kh_tls_free(c->tls);
	kh_net_close(c->fd);
	kh_api_resp_free(&c->resp);
	free(c->out);
	free(c->in);
	free(c);
	v->nconns--;
	v->freed_since_trim++;
}

static void watch(struct conn *c, unsigned ev)
{
	if (ev != c->watching) {
		kh_loop_fd_mod(c->srv->loop, c->fd, ev);
		c->watching = ev;
	}
}

static void want(struct conn *c)
{
	watch(c, kh_tls_want(c->tls) == KH_TLS_WANT_WRITE ? KH_EV_WRITE : KH_EV_READ);
}

/* Queue a response: head now, body from resp. */
static void respond(struct conn *c)
{
	struct kh_api_resp *r = &c->resp;
	int keep = c->req.keep_alive && !c->close_after && !r->close &&
		   ++c->requests < c->srv->s->cfg.max_requests;
	int n;

	if (r->status >= 400 && r->status != 404 && r->status != 304 && log_allowed(c->srv))
		log_info("%s%s%s: %s %s -> %d %.*s", c->peer.addr, c->cn[0] ? " " : "", c->cn,
			 c->req.method[0] ? c->req.method : "-", c->req.path[0] ? c->req.path : "-",
			 r->status, (int)(r->len < 120 ? r->len : 120),
			 r->data && r->content_type && !strcmp(r->content_type, "application/json")
				 ? (const char *)r->data
				 : "");
	n = kh_http_format_response(c->head, sizeof(c->head), r->status, r->content_type, r->len,
				    keep, r->extra[0] ? r->extra : NULL);
	if (strcmp(c->req.method, "HEAD") == 0)
		r->len = 0; /* the head says how long the body would be; none follows */
	if (n < 0) {
		kh_api_resp_free(r);
		kh_api_error(r, 500, "response head too large");
		n = kh_http_format_response(c->head, sizeof(c->head), 500, r->content_type, r->len,
					    0, NULL);
		keep = 0;
	}
	c->head_len = (size_t)(n > 0 ? n : 0);
	c->out_off = 0;
	free(c->out);
	c->out = NULL;
	if (r->len && c->head_len + r->len <= ONE_RECORD_MAX &&
	    (c->out = malloc(c->head_len + r->len)) != NULL) {
		memcpy(c->out, c->head, c->head_len);
		memcpy(c->out + c->head_len, r->data, r->len);
	}
	c->close_after = !keep;
	c->st = C_WRITE;
}

/* A request the server refuses before (or instead of) reading its body. */
static void refuse(struct conn *c, int status, const char *msg)
{
	c->srv->bad_requests++;
	kh_api_resp_free(&c->resp);
	kh_api_error(&c->resp, status, msg);
	if (status == 401)
		snprintf(c->resp.extra, sizeof(c->resp.extra),
			 "WWW-Authenticate: Bearer realm=\"khien-operator\"\r\n");
	else if (status == 503 || status == 429)
		snprintf(c->resp.extra, sizeof(c->resp.extra), "Retry-After: 30\r\n");
	c->close_after = 1; /* an unread body would be taken for the next request */
	respond(c);
}

static const char *admit_msg(int status)
{
	switch (status) {
	case 401:
		return "authentication required";
	case 403:
		return "forbidden: unknown, revoked or re-keyed device, or its certificate expired";
	case 404:
		return "no such endpoint";
	case 405:
		return "method not allowed";
	case 411:
		return "Content-Length required";
	case 413:
		return "body too large";
	default:
		return "refused";
	}
}

/* The head is parsed (head_len bytes at in): admit it and set up the body. */
static void head_done(struct conn *c, size_t head_len)
{
	size_t max = 0, extra;
	int st;

	st = kh_api_admit(c->srv->s, &c->req, &c->peer, &max);
	if (st) {
		refuse(c, st, admit_msg(st));
		return;
	}
	if (c->peer.operator&& c->cls == CL_ANON)
		class_leave(c); /* the operator token or session: never evicted */
	c->body_need = c->req.content_length > 0 ? (size_t)c->req.content_length : 0;
	c->body_len = 0;
	if (c->body_need) {
		struct srv *v = c->srv;
		/* Memory for bodies is shared: no client may take it all. */
		if (v->body_bytes + c->body_need > BODY_BUDGET) {
			v->busy++;
			refuse(c, 503, "busy: too many uploads in progress, retry later");
			return;
		}
		if (c->peer.have_dev) {
			/* each device its own slots: a slow one delays only itself */
			if (!c->id) {
				v->busy++;
				refuse(c, 503,
				       "busy: retry later"); /* its identity did not fit in memory */
				return;
			}
			if (c->id->bodies >= DEV_BODIES_MAX) {
				v->busy++;
				refuse(c, 429, "this device already has uploads in progress");
				return;
			}
			c->id->bodies++;
			c->upload_slot = 1;
		}
		c->body = malloc(c->body_need);
		if (!c->body) {
			body_release(c);
			refuse(c, 503, "out of memory");
			return;
		}
		v->body_bytes += c->body_need;
		c->body_charged = c->body_need;
		/* at least 1 KiB/s, or the upload is cut */
		phase(c, head_deadline(c) + c->body_need / 1024 * 1000);
	}
	extra = c->in_len - head_len;
	if (extra > c->body_need)
		extra = c->body_need;
	if (extra)
		memcpy(c->body, c->in + head_len, extra);
	c->body_len = extra;
	memmove(c->in, c->in + head_len + extra, c->in_len - head_len - extra);
	c->in_len -= head_len + extra;
	c->st = C_BODY;
}

static void handle(struct conn *c)
{
	c->srv->requests++;
	kh_api_handle(c->srv->s, &c->req, c->body, c->body_len, &c->peer, kh_time_wall(), &c->resp);
	body_release(c);
	phase(c, 0); /* writing the answer: the idle timeout alone applies */
	respond(c);
}

static struct conn *idlest(const struct ident *id);

/*
 * The handshake is done: a device certificate the store admits is counted
 * for its device, which holds at most max_connections_per_device (its
 * idlest goes). One it refuses stays anonymous: its first request gets the
 * 403 that says why, and until then it is among the first to make room.
 */
static void peer_identity(struct conn *c)
{
	struct srv *v = c->srv;
	struct ident *id;
	int st;

	v->handshakes++;
	if (kh_tls_resumed(c->tls))
		v->resumed++;
	if (kh_tls_peer_cn(c->tls, c->cn, sizeof(c->cn)) != 0 ||
	    kh_tls_peer_fingerprint(c->tls, c->fpr) != 0) {
		c->cn[0] = 0;
		return;
	}
	c->peer.serial = c->cn;
	c->peer.cert_sha256 = c->fpr;
	st = kh_api_device_admitted(v->s, &c->peer);
	c->peer.have_dev = 0; /* each request is admitted again (a revoke takes effect) */
	if (st) {
		v->not_admitted++;
		if (log_allowed(v))
			log_info("%s %s: certificate not admitted (%d): not counted as a device",
				 c->peer.addr, c->cn, st);
		return;
	}
	id = *ident_slot(v, c->cn);
	if (id && id->n >= v->s->cfg.max_conns_per_device) {
		v->evicted_per_device++;
		if (log_allowed(v))
			log_info("%s %s: %u connections, the most one device may hold: closing its "
				 "idlest",
				 c->peer.addr, c->cn, id->n);
		conn_free(idlest(id));
	}
	class_device(c);
}

/* Run the state machine as far as the socket allows. Returns -1 when c is gone. */
static int drive(struct conn *c)
{
	struct srv *v = c->srv;
	int r;

	for (;;) {
		switch (c->st) {
		case C_HANDSHAKE:
			r = kh_tls_handshake(c->tls);
			if (r == -EAGAIN)
				return want(c), 0;
			if (r < 0) {
				v->tls_failed++;
				if (log_allowed(v))
					log_info("%s: TLS handshake refused: %s", c->peer.addr,
						 kh_tls_error(c->tls));
				goto close;
			}
			c->in = malloc(IN_CAP);
			if (!c->in)
				goto close;
			peer_identity(c);
			c->st = C_HEAD;
			break;
		case C_HEAD:
			if (c->parse_pending) {
				c->parse_pending = 0;
				memset(&c->req, 0, sizeof(c->req));
				r = kh_http_parse_request((const char *)c->in, c->in_len, &c->req);
				if (r > 0) {
					head_done(c, (size_t)r);
					break;
				}
				if (r < 0) {
					refuse(c, kh_http_error_status(r), "malformed request");
					break;
				}
				if (c->in_len >= IN_CAP) {
					refuse(c, 431, "request head too large");
					break;
				}
			}
			r = kh_tls_read(c->tls, c->in + c->in_len, IN_CAP - c->in_len);
			if (r == -EAGAIN)
				return want(c), 0;
			if (r <= 0)
				goto close; /* peer closed between requests, or failed */
			/* Parse again only when the head can have ended: a line ended, or no room. */
			c->parse_pending = memchr(c->in + c->in_len, '\n', (size_t)r) != NULL ||
					   c->in_len + (size_t)r >= IN_CAP;
			c->in_len += (size_t)r;
			progress(c);
			break;
		case C_BODY:
			if (c->body_len == c->body_need) {
				handle(c);
				break;
			}
			r = kh_tls_read(c->tls, c->body + c->body_len, c->body_need - c->body_len);
			if (r == -EAGAIN)
				return want(c), 0;
			if (r <= 0)
				goto close;
			c->body_len += (size_t)r;
			progress(c);
			break;
		case C_WRITE: {
			const uint8_t *p;
			size_t left;
			if (c->out) {
				p = c->out + c->out_off;
				left = c->head_len + c->resp.len - c->out_off;
			} else if (c->out_off < c->head_len) {
				p = (const uint8_t *)c->head + c->out_off;
				left = c->head_len - c->out_off;
			} else {
				p = c->resp.data + (c->out_off - c->head_len);
				left = c->head_len + c->resp.len - c->out_off;
			}
			if (left == 0) {
				free(c->out);
				c->out = NULL;
				kh_api_resp_free(&c->resp);
				if (c->close_after) {
					c->st = C_DONE;
					break;
				}
				c->st = C_HEAD;
				memset(&c->req, 0, sizeof(c->req));
				c->peer.have_dev = 0;
				c->parse_pending = c->in_len > 0; /* a pipelined request */
				phase(c, head_deadline(c));
				break;
			}
			r = kh_tls_write(c->tls, p, left > 16384 ? 16384 : left);
			if (r == -EAGAIN)
				return want(c), 0;
			if (r < 0)
				goto close;
			c->out_off += (size_t)r;
			progress(c);
			break;
		}
		case C_DONE:
			kh_tls_close_notify(c->tls);
			goto close;
		}
	}
close:
	conn_free(c);
	return -1;
}

static void on_conn(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	drive(arg);
}

static void on_idle(struct kh_loop *loop, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	c->srv->timeouts++;
	log_debug("%s: idle timeout", c->peer.addr);
	conn_free(c);
}

/* The identity's connection that made progress longest ago. */
static struct conn *idlest(const struct ident *id)
{
	struct conn *best = kh_list_first(&id->conns, struct conn, cl);
	struct kh_list *pos;

	kh_list_for_each (pos, &id->conns) {
		struct conn *c = kh_list_entry(pos, struct conn, cl);
		if (c->active_ms < best->active_ms)
			best = c;
	}
	return best;
}

/*
 * Full: close the oldest connection without an admitted identity (in its
 * handshake, or between requests: anonymous, or a certificate the store
 * refused), so nobody without one locks devices out; else the idlest
 * connection of the device holding the most, so no device locks the others
 * (or the operator) out. Operator connections stay. 0 if one went.
 */
static int evict_one(struct srv *v)
{
	/* oldest first: from the tail */
	for (struct kh_list *pos = v->anon.prev; pos != &v->anon; pos = pos->prev) {
		struct conn *c = kh_list_entry(pos, struct conn, cl);
		if (c->st == C_HANDSHAKE || c->st == C_HEAD) {
			v->evicted++;
			conn_free(c);
			return 0;
		}
	}
	for (unsigned n = v->s->cfg.max_conns_per_device; n > 0; n--)
		if (!kh_list_empty(&v->by_count[n])) {
			v->evicted++;
			conn_free(idlest(kh_list_first(&v->by_count[n], struct ident, count)));
			return 0;
		}
	return -1;
}

static void on_accept(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct srv *v = arg;

	(void)events;
	for (int n = 0; n < 256; n++) {
		struct kh_addr peer;
		struct conn *c;
		kh_sock s;
		int err = kh_net_tcp_accept(fd, &s, &peer);

		if (err == -EAGAIN)
			return;
		if (err < 0) {
			if (log_allowed(v))
				log_warn_err(err, "accept");
			return;
		}
		v->accepted++;
		if (v->nconns >= v->s->cfg.max_conns)
			evict_one(v);
		if (v->nconns >= v->s->cfg.max_conns || !(c = calloc(1, sizeof(*c)))) {
			v->refused_full++;
			kh_net_close(s);
			continue;
		}
		c->srv = v;
		c->fd = s;
		c->active_ms = kh_time_mono_ms();
		kh_addr_format(&peer, c->peer.addr, sizeof(c->peer.addr));
		kh_timer_init(&c->idle, on_idle, c);
		if (kh_tls_new(v->tls, s, NULL, &c->tls) < 0 ||
		    kh_loop_fd_add(loop, s, KH_EV_READ, on_conn, c) < 0) {
			kh_tls_free(c->tls);
			kh_net_close(s);
			free(c);
			v->refused_full++;
			continue;
		}
		c->watching = KH_EV_READ;
		kh_list_add_head(&v->conns, &c->all);
		kh_list_add_head(&v->anon, &c->cl); /* c->cls: CL_ANON (0) */
		v->nconns++;
		if (v->nconns > v->peak)
			v->peak = v->nconns;
		phase(c, head_deadline(c)); /* handshake and first request head */
		drive(c);
	}
}

static void on_flush(struct kh_loop *loop, void *arg)
{
	struct srv *v = arg;

	kh_store_flush(v->s->store);
	kh_timer_arm(loop, &v->flush, FLUSH_MS);
}

/*
 * After a storm (many connections closed, fewer than half the peak still
 * open) the allocator's free memory goes back to the system, so RSS
 * follows the connections down instead of staying at the peak.
 */
#define TRIM_MS 2000
static void on_trim(struct kh_loop *loop, void *arg)
{
	struct srv *v = arg;

	if (v->freed_since_trim >= 256 && v->nconns < v->peak / 2) {
		kh_proc_mem_trim();
		v->peak = v->nconns;
		v->freed_since_trim = 0;
	}
	kh_timer_arm(loop, &v->trim, TRIM_MS);
}

/* The staged rollouts' halt rule (server/rollout.h); every instance runs it, one halts. */
static void on_rollouts(struct kh_loop *loop, void *arg)
{
	struct srv *v = arg;

	kh_store_flush(v->s->store); /* the counts include the check-ins just made */
	kh_srv_rollout_check(v->s, kh_time_wall());
	kh_timer_arm(loop, &v->rollouts, v->s->cfg.rollout_check_s * 1000);
}

static void on_stats(struct kh_loop *loop, void *arg)
{
	struct srv *v = arg;

	log_info("connections %u open, %llu accepted, %llu refused (full); handshakes %llu "
		 "(%llu resumed, %llu failed); requests %llu (%llu refused, %llu busy); %llu "
		 "timeouts, "
		 "%llu evicted (%llu over the per-device cap); %llu certificates not admitted",
		 v->nconns, (unsigned long long)v->accepted, (unsigned long long)v->refused_full,
		 (unsigned long long)v->handshakes, (unsigned long long)v->resumed,
		 (unsigned long long)v->tls_failed, (unsigned long long)v->requests,
		 (unsigned long long)v->bad_requests, (unsigned long long)v->busy,
		 (unsigned long long)v->timeouts, (unsigned long long)v->evicted,
		 (unsigned long long)v->evicted_per_device, (unsigned long long)v->not_admitted);
	kh_timer_arm(loop, &v->stats, 60000);
}

/*
 * Session-ticket keys from the store (docs/SERVER.md): one per rotation
 * period, made by whichever instance needs it first, written under the
 * current one and accepted under it and the one before, so a ticket any
 * instance issued resumes on every instance and after restarts. When the
 * store cannot be read the keys in use stay.
 */
static void ticket_keys(struct srv *v)
{
	const struct kh_srv_config *cfg = &v->s->cfg;
	uint32_t period = cfg->ticket_key_rotate_s, cur;
	struct kh_ticket_key k[2];
	struct kh_tls_ticket_key tk[2];
	int64_t now = kh_time_wall();
	int n, err;

	if (!cfg->ticket_lifetime_s)
		return;
	cur = (uint32_t)(now / period);
	n = kh_store_ticket_keys(v->s->store, cur - 1, k, 2);
	if (n >= 0 && (n == 0 || k[0].id < cur)) {
		struct kh_ticket_key nk = {.id = cur};
		err = kh_rand_bytes(nk.key, sizeof(nk.key));
		if (err == 0)
			err = kh_store_ticket_key_add(v->s->store, &nk, cur - 2, now);
		kh_memzero(&nk, sizeof(nk));
		if (err == 0 || err == -EEXIST)
			n = kh_store_ticket_keys(v->s->store, cur - 1, k, 2);
	}
	if (n <= 0) {
		log_warn(
			"session-ticket keys: the store has none for now; keeping the ones in use");
		return;
	}
	for (int i = 0; i < n; i++) {
		tk[i].id = k[i].id;
		tk[i].not_after = ((int64_t)k[i].id + 2) * period;
		memcpy(tk[i].key, k[i].key, sizeof(tk[i].key));
	}
	err = kh_tls_conf_set_ticket_keys(v->tls, tk, (unsigned)n);
	kh_memzero(tk, sizeof(tk));
	kh_memzero(k[0].key, sizeof(k[0].key));
	kh_memzero(k[1].key, sizeof(k[1].key));
	if (err < 0) {
		log_error_err(err, "session-ticket keys not taken");
	} else if (k[0].id != v->ticket_key) { /* ids only: the material is never logged */
		v->ticket_key = k[0].id;
		log_info("session tickets under store key %u (%d accepted)", k[0].id, n);
	}
}

static void on_tickets(struct kh_loop *loop, void *arg)
{
	struct srv *v = arg;
	uint64_t ms = (uint64_t)v->s->cfg.ticket_key_rotate_s * 250;

	ticket_keys(v);
	kh_timer_arm(loop, &v->tickets, ms < 1000 ? 1000 : ms > 3600000 ? 3600000 : ms);
}

static void on_stop(struct kh_loop *loop, int signo, void *arg)
{
	(void)arg;
	log_notice("signal %d: stopping", signo);
	kh_loop_stop(loop);
}

static int load_tls(struct srv *v, char *why, size_t whylen)
{
	static const char *const names[] = {"device-ca.pem", "server.pem", "server.key"};
	char p[3][KH_SRV_PATH_MAX + 32];
	const char *pem[3] = {p[0], p[1], p[2]};
	struct kh_tls_conf_opts o = {
		.role = KH_TLS_SERVER,
		.ticket_lifetime_s = v->s->cfg.ticket_lifetime_s,
	};

	for (int i = 0; i < 3; i++)
		snprintf(p[i], sizeof(p[i]), "%s/%s", v->s->dir, names[i]);
	return kh_tls_conf_load(&o, pem, NULL, &v->tls, why, whylen);
}

int kh_srv_run(struct kh_srv *s, const char *listen)
{
	struct srv v = {0};
	struct kh_addr a;
	char why[256];
	unsigned fds;
	int err;

	v.s = s;
	v.lfd = -1;
	kh_list_init(&v.conns);
	kh_list_init(&v.anon);
	for (size_t i = 0; i < KH_ARRAY_SIZE(v.by_count); i++)
		kh_list_init(&v.by_count[i]);
	listen = listen ? listen : s->cfg.listen;
	if (kh_addr_parse(listen, 0, &a) < 0) {
		log_error("listen address %s: expected ADDR:PORT", listen);
		return -EINVAL;
	}
	fds = kh_proc_raise_fd_limit(s->cfg.max_conns + 64);
	if (fds < s->cfg.max_conns + 64) {
		log_warn("file descriptor limit %u: serving at most %u connections", fds,
			 fds > 96 ? fds - 64 : 32);
		s->cfg.max_conns = fds > 96 ? fds - 64 : 32;
	}
	if ((err = load_tls(&v, why, sizeof(why))) < 0) {
		log_error("TLS: %s", why);
		return err;
	}
	/* identities: a chain per connection slot or so */
	for (v.idents_mask = 63; v.idents_mask < s->cfg.max_conns;
	     v.idents_mask = v.idents_mask * 2 + 1)
		;
	v.idents = calloc((size_t)v.idents_mask + 1, sizeof(*v.idents));
	if (!v.idents) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = kh_loop_new_sized(&v.loop, s->cfg.max_conns + 8, s->cfg.max_conns + 16)) < 0)
		goto out;
	if ((err = kh_net_tcp_listen(&a, 4096, &v.lfd)) < 0) {
		log_error_err(err, "listen on %s", listen);
		goto out;
	}
	if ((err = kh_loop_fd_add(v.loop, v.lfd, KH_EV_READ, on_accept, &v)) < 0)
		goto out;
	kh_timer_init(&v.flush, on_flush, &v);
	kh_timer_init(&v.stats, on_stats, &v);
	kh_timer_init(&v.tickets, on_tickets, &v);
	on_tickets(v.loop, &v); /* before the first handshake */
	kh_timer_init(&v.trim, on_trim, &v);
	kh_timer_arm(v.loop, &v.trim, TRIM_MS);
	kh_timer_arm(v.loop, &v.flush, FLUSH_MS);
	kh_timer_arm(v.loop, &v.stats, 60000);
	kh_timer_init(&v.rollouts, on_rollouts, &v);
	kh_timer_arm(v.loop, &v.rollouts, s->cfg.rollout_check_s * 1000);
	kh_loop_signal_add(v.loop, SIGTERM, on_stop, &v);
	kh_loop_signal_add(v.loop, SIGINT, on_stop, &v);
	log_notice("serving %s on %s (TLS 1.2, mutual; at most %u connections)", s->cfg.url, listen,
		   s->cfg.max_conns);
	err = kh_loop_run(v.loop);
	on_stats(v.loop, &v);
	while (!kh_list_empty(&v.conns))
		conn_free(kh_list_first(&v.conns, struct conn, all));
out:
	if (v.lfd >= 0) {
		kh_loop_fd_del(v.loop, v.lfd);
		kh_net_close(v.lfd);
	}
	kh_store_flush(s->store);
	kh_api_cache_clear(s);
	kh_loop_free(v.loop);
	kh_tls_conf_free(v.tls);
	free(v.idents);
	return err;
}
