/* SPDX-License-Identifier: MIT */
/*
 * The web server of khiend (see web.h): listeners on web.listen,
 * connection slots allocated once, one request per connection
 * (Connection: close), and the limits that keep it from slowing DNS:
 *  - at most CONFIG_WEB_MAX_CLIENTS connections, web.per_client per
 *    client address; when all are taken, a newcomer replaces the oldest
 *    unfinished head of the address holding the most (evict()); the
 *    rest get a 503 written once and are closed;
 *  - a head of at most CONFIG_WEB_HEAD_MAX bytes (431 beyond), complete
 *    within web.head_timeout_ms of the accept, else the connection is
 *    dropped (slowloris); the answer taken within web.send_timeout_ms;
 *  - web.rate requests per second per client address (token bucket,
 *    burst 4x; 429 beyond, charged before any page is rendered), clients
 *    outside dns.allow_clients refused;
 *  - bounded work per event: a few accepts per wake-up, one recv or one
 *    send per readiness, pages rendered once into a buffer of at most
 *    KH_WEB_PAGE_MAX bytes (allocated while it is sent).
 * Deadlines are swept by one timer armed at the earliest of them.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "agent/web.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/log.h"
#include "platform/time.h"

#define ACCEPTS_PER_EVENT 8
#define RATE_BUCKETS 64

struct web_conn {
	int fd; /* -1 when free */
	struct kh_addr peer;
	uint64_t deadline;
	char *tx; /* the answer, while it is sent */
	size_t tx_len, tx_off, rx_len;
	int asking;  /* waiting for the password helper */
	int waiting; /* a login waiting for the helper to be free (it takes one at a time) */
	int charged; /* the request rate was charged (once the head was whole) */
	struct kh_web *w;
	char rx[CONFIG_WEB_HEAD_MAX];
};

struct web_listener {
	kh_sock fd;
	struct kh_web *w;
};

struct kh_web {
	struct kh_loop *loop;
	const struct kh_agent_config *cfg;
	struct kh_web_hooks h;
	struct web_listener lst[CONFIG_WEB_MAX_LISTENERS];
	unsigned nlst;
	struct web_conn conn[CONFIG_WEB_MAX_CLIENTS];
	struct kh_timer sweep;
	uint32_t salt;
	uint16_t tokens[RATE_BUCKETS]; /* in quarter requests */
	uint64_t stamp[RATE_BUCKETS];
	struct kh_web_stats st;
	struct kh_owner *owner; /* the password helper's client, NULL */
};

static int same_ip(const struct kh_addr *a, const struct kh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == KH_AF_INET6 ? 16 : 4) == 0;
}

static void conn_close(struct web_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->asking)
		kh_owner_cancel(c->w->owner, c);
	c->asking = c->waiting = 0;
	kh_loop_fd_del(c->w->loop, c->fd);
	kh_net_close(c->fd);
	free(c->tx);
	c->tx = NULL;
	c->fd = -1;
	c->w->st.open--;
}

static void arm_sweep(struct kh_web *w)
{
	uint64_t first = UINT64_MAX, now = kh_time_mono_ms();

	for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++)
		if (w->conn[i].fd >= 0 && w->conn[i].deadline < first)
			first = w->conn[i].deadline;
	if (first == UINT64_MAX)
		kh_timer_cancel(w->loop, &w->sweep);
	else
		kh_timer_arm(w->loop, &w->sweep, first > now ? first - now : 0);
}

static void on_sweep(struct kh_loop *loop, void *arg)
{
	struct kh_web *w = arg;
	uint64_t now = kh_time_mono_ms();

	(void)loop;
	for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++)
		if (w->conn[i].fd >= 0 && w->conn[i].deadline <= now) {
			w->st.timed_out++;
			conn_close(&w->conn[i]);
		}
	arm_sweep(w);
}

/* One token (a request) for peer's bucket, refilled at web.rate per second. */
static int rate_ok(struct kh_web *w, const struct kh_addr *peer)
{
	uint32_t h = w->salt;
	uint64_t now = kh_time_mono_ms(), add;
	unsigned b, burst = KH_MIN(16u * w->cfg->web_rate, 65535u); /* quarters: 4x the rate */

	for (int i = 0; i < (peer->family == KH_AF_INET6 ? 16 : 4); i++)
		h = (h ^ peer->ip[i]) * 16777619u;
	b = (h ^ h >> 16) % RATE_BUCKETS;
	add = (now - w->stamp[b]) * 4 * w->cfg->web_rate / 1000;
	if (add) {
		w->tokens[b] = (uint16_t)KH_MIN((uint64_t)burst, w->tokens[b] + add);
		w->stamp[b] = now;
	}
	if (w->tokens[b] < 4)
		return 0;
	w->tokens[b] -= 4;
	return 1;
}

/* The answer is ready: send from the writable callback from now on. */
static void conn_answer(struct web_conn *c, const char *text, size_t len)
{
	struct kh_web *w = c->w;

	c->tx = malloc(len ? len : 1);
	if (!c->tx) {
		conn_close(c);
		return;
	}
	memcpy(c->tx, text, len);
	c->tx_len = len;
	c->tx_off = 0;
	c->deadline = kh_time_mono_ms() + w->cfg->web_send_timeout_ms;
	kh_loop_fd_mod(w->loop, c->fd, KH_EV_WRITE);
	arm_sweep(w);
}

static char page[KH_WEB_PAGE_MAX]; /* one loop thread: rendered, then copied to tx */

/* The password helper answered: the request is answered again, with its reply. */
static void on_told(void *ctx, const struct kh_owner_reply *r)
{
	struct web_conn *c = ctx;
	struct kh_web *w = c->w;
	int n;

	c->asking = 0;
	n = kh_web_answer_owner(w->cfg, &w->h, c->rx, c->rx_len, 1, &c->peer, r, NULL, page,
				sizeof(page));
	if (n <= 0) {
		conn_close(c);
		return;
	}
	conn_answer(c, page, (size_t)n);
}

static void conn_request(struct web_conn *c);

/* The helper is free: the longest-waiting login goes (each one failing at once lets the next). */
static void on_owner_idle(void *arg)
{
	struct kh_web *w = arg;

	for (;;) {
		struct web_conn *next = NULL;
		for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++) {
			struct web_conn *c = &w->conn[i];
			if (c->fd >= 0 && c->waiting && (!next || c->deadline < next->deadline))
				next = c;
		}
		if (!next)
			return;
		next->waiting = 0;
		conn_request(next);
		if (next->asking || next->waiting)
			return;
	}
}

static void on_conn(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	static struct kh_http_req req; /* one loop thread: only whether the head is whole */
	struct web_conn *c = arg;
	struct kh_web *w = c->w;
	int n;

	(void)loop;
	(void)fd;
	if (c->tx) {
		n = kh_net_send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off);
		if (n == -EAGAIN)
			return;
		if (n < 0 || (c->tx_off += (size_t)n) == c->tx_len) {
			if (n >= 0)
				w->st.served++;
			conn_close(c);
		}
		return;
	}
	if (!(events & (KH_EV_READ | KH_EV_ERROR)))
		return;
	n = kh_net_recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->rx_len += (size_t)n;
	/* the head is whole (or can only be refused): charge the rate once, before any page is made */
	if (!c->charged) {
		if (kh_http_parse_request(c->rx, c->rx_len, &req) == 0 && c->rx_len < sizeof(c->rx))
			return;
		c->charged = 1;
		if (!rate_ok(w, &c->peer)) {
			static const char busy[] =
				"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n"
				"Retry-After: 1\r\nConnection: close\r\n\r\n";
			w->st.rate_limited++;
			conn_answer(c, busy, sizeof(busy) - 1);
			return;
		}
	}
	conn_request(c);
}

/*
 * The request in c->rx answered, or handed to the password helper. The
 * helper takes one at a time, so a login that finds it busy waits (its
 * request is still in rx, made again when its turn comes) instead of
 * being refused: a browser's login must not fail because another was a
 * hash ahead of it.
 */
static void conn_request(struct web_conn *c)
{
	static struct kh_web_ask ask;
	struct kh_web *w = c->w;
	int n = kh_web_answer_owner(w->cfg, &w->h, c->rx, c->rx_len, c->rx_len == sizeof(c->rx),
				    &c->peer, NULL, w->owner ? &ask : NULL, page, sizeof(page));

	if (n == 0)
		return;
	if (n == KH_WEB_ASK) {
		int err = kh_owner_ask(w->owner, ask.type, ask.body, ask.len, on_told, c);
		kh_memzero(&ask, sizeof(ask));
		if (err == -EBUSY) {
			c->waiting = 1;
			kh_loop_fd_mod(w->loop, c->fd, 0);
			return;
		}
		if (err < 0) {
			const struct kh_owner_reply r = {
				.rc = -EAGAIN, .set = w->h.auth ? w->h.auth->owner_set : 0};
			on_told(c, &r);
			return;
		}
		c->asking = 1;
		kh_loop_fd_mod(w->loop, c->fd, 0);
		return;
	}
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (strncmp(page + 9, "200", 3) != 0)
		w->st.bad_request++;
	conn_answer(c, page, (size_t)n);
}

/*
 * Every slot taken: free the oldest connection still sending its head from
 * the address that holds the most, if it holds more than the newcomer's
 * address would (same + 1). So one host with a few addresses cannot keep
 * every slot from the others: it needs CONFIG_WEB_MAX_CLIENTS addresses.
 */
static struct web_conn *evict(struct kh_web *w, unsigned same)
{
	struct web_conn *victim = NULL;
	unsigned most = same + 1;

	for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++) {
		struct web_conn *c = &w->conn[i], *oldest = NULL;
		unsigned n = 0;
		if (c->fd < 0 || c->tx || c->asking || c->waiting)
			continue;
		for (unsigned k = 0; k < KH_ARRAY_SIZE(w->conn); k++) {
			struct web_conn *d = &w->conn[k];
			if (d->fd >= 0 && same_ip(&d->peer, &c->peer)) {
				n++;
				if (!d->tx && !d->asking &&
				    (!oldest || d->deadline < oldest->deadline))
					oldest = d;
			}
		}
		if (n > most) {
			most = n;
			victim = oldest;
		}
	}
	if (victim) {
		w->st.evicted++;
		conn_close(victim);
	}
	return victim;
}

/* Refused at the door: one try at a short answer, then closed. */
static void refuse(kh_sock s)
{
	static const char full[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Retry-After: 5\r\nConnection: close\r\n\r\n";
	(void)kh_net_send(s, full, sizeof(full) - 1);
	kh_net_close(s);
}

static void on_accept(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct web_listener *l = arg;
	struct kh_web *w = l->w;

	(void)fd;
	(void)events;
	for (int k = 0; k < ACCEPTS_PER_EVENT; k++) {
		struct web_conn *free_slot = NULL;
		struct kh_addr peer;
		unsigned same = 0;
		kh_sock s;

		if (kh_net_tcp_accept(l->fd, &s, &peer) < 0)
			return;
		w->st.accepted++;
		if (w->h.allowed && !w->h.allowed(w->h.arg, &peer)) {
			w->st.not_allowed++;
			kh_net_close(s);
			continue;
		}
		for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++) {
			if (w->conn[i].fd < 0)
				free_slot = free_slot ? free_slot : &w->conn[i];
			else if (same_ip(&w->conn[i].peer, &peer))
				same++;
		}
		if (!free_slot && same < w->cfg->web_per_client)
			free_slot = evict(w, same);
		if (!free_slot || same >= w->cfg->web_per_client) {
			if (free_slot)
				w->st.refused_client++;
			else
				w->st.refused_full++;
			refuse(s);
			continue;
		}
		if (kh_loop_fd_add(loop, s, KH_EV_READ, on_conn, free_slot) < 0) {
			w->st.refused_full++;
			refuse(s);
			continue;
		}
		free_slot->fd = s;
		free_slot->peer = peer;
		free_slot->rx_len = 0;
		free_slot->charged = 0;
		free_slot->deadline = kh_time_mono_ms() + w->cfg->web_head_timeout_ms;
		w->st.open++;
		arm_sweep(w);
	}
}

int kh_web_new(struct kh_loop *loop, const struct kh_agent_config *cfg,
	       const struct kh_web_hooks *h, struct kh_web **out, const char **why)
{
	struct kh_web *w;
	int err;

	*why = "no web.listen address";
	if (!cfg->nweb_listen)
		return -ENOENT;
	if (!(w = calloc(1, sizeof(*w)))) {
		*why = "out of memory";
		return -ENOMEM;
	}
	w->loop = loop;
	w->cfg = cfg;
	w->h = *h;
	w->salt = (uint32_t)kh_time_mono_ns();
	kh_timer_init(&w->sweep, on_sweep, w);
	for (unsigned i = 0; i < RATE_BUCKETS; i++) {
		w->tokens[i] = (uint16_t)KH_MIN(16u * cfg->web_rate, 65535u); /* a full burst */
		w->stamp[i] = kh_time_mono_ms();
	}
	for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++) {
		w->conn[i].fd = -1;
		w->conn[i].w = w;
	}
	for (unsigned i = 0; i < cfg->nweb_listen && i < KH_ARRAY_SIZE(w->lst); i++) {
		struct web_listener *l = &w->lst[i];
		if ((err = kh_net_tcp_listen(&cfg->web_listen[i], 64, &l->fd)) < 0) {
			*why = "cannot listen on a web.listen address";
			goto fail;
		}
		l->w = w;
		w->nlst++;
		if ((err = kh_loop_fd_add(loop, l->fd, KH_EV_READ, on_accept, l)) < 0) {
			*why = "event loop full";
			goto fail;
		}
	}
	*out = w;
	*why = "ok";
	return 0;
fail:
	kh_web_free(w);
	return err;
}

void kh_web_free(struct kh_web *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < KH_ARRAY_SIZE(w->conn); i++)
		conn_close(&w->conn[i]);
	for (unsigned i = 0; i < w->nlst; i++) {
		kh_loop_fd_del(w->loop, w->lst[i].fd);
		kh_net_close(w->lst[i].fd);
	}
	kh_timer_cancel(w->loop, &w->sweep);
	free(w);
}

void kh_web_stats(const struct kh_web *w, struct kh_web_stats *out)
{
	*out = w->st;
}

void kh_web_set_owner(struct kh_web *w, struct kh_owner *o)
{
	w->owner = o;
	kh_owner_on_idle(o, on_owner_idle, w);
}

int kh_web_local_addr(const struct kh_web *w, unsigned i, struct kh_addr *out)
{
	return i < w->nlst ? kh_net_local_addr(w->lst[i].fd, out) : -ENOENT;
}
