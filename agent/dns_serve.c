/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter's client side (see dns_priv.h for the family): the UDP
 * and TCP listeners, who may ask (dns.allow_clients) and how fast (a token
 * bucket per client), UDP batches in and out, DNS over TCP with pipelined
 * queries, per-message and idle deadlines and a per-client share of the
 * connection slots, and delivery of an answer to the client that asked
 * (truncated to TC for a UDP client that takes less). What to answer is
 * the engine's (dns_handle_query).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dns_priv.h"
#include "lib/endian.h"
#include "platform/time.h"

static void tcp_send(struct kh_dns *d, int ci, uint32_t gen, const uint8_t *msg, size_t len);

/* The largest UDP answer the client of q takes: its EDNS size, else 512 (RFC 1035). */
static size_t udp_limit(const struct kh_dns_query *q)
{
	return q->edns ? KH_MAX((size_t)q->edns_udp, (size_t)KH_DNS_UDP_MIN) : KH_DNS_UDP_MIN;
}

/*
 * Deliver an answer to the client of p (UDP or TCP). A UDP answer larger
 * than the client takes becomes the question alone with TC set, so the
 * client retries over TCP (and a forged query cannot turn a small packet
 * into a large one sent to someone else).
 */
void dns_reply_client(struct kh_dns *d, struct pending *p, uint8_t *msg, size_t len)
{
	if (len < KH_DNS_HDR_LEN)
		return;
	kh_put_be16(msg, p->q.id);
	if (p->listener < 0) {
		tcp_send(d, p->conn, p->conn_gen, msg, len);
		return;
	}
	if (len > udp_limit(&p->q)) {
		uint8_t tc[SMALL_MAX];
		int n = kh_dns_build_error(tc, sizeof(tc), p->pkt, p->pkt_len, &p->q,
					   kh_be16(msg + 2) & 0xf);
		if (n < KH_DNS_HDR_LEN)
			return;
		kh_put_be16(tc, p->q.id);
		kh_put_be16(tc + 2, (uint16_t)(kh_be16(tc + 2) | KH_DNS_F_TC));
		d->st.truncated++;
		kh_net_sendto(d->lst[p->listener].udp, tc, (size_t)n, &p->client);
		return;
	}
	kh_net_sendto(d->lst[p->listener].udp, msg, len, &p->client);
}

void dns_reply_error(struct kh_dns *d, struct pending *p, int rcode)
{
	uint8_t buf[SMALL_MAX];
	int n = p->safe ? dns_ss_error(d, p, rcode, buf, sizeof(buf))
			: kh_dns_build_error(buf, sizeof(buf), p->pkt, p->pkt_len, &p->q, rcode);

	if (rcode == KH_DNS_RC_SERVFAIL)
		d->st.servfail++;
	if (n > 0)
		dns_reply_client(d, p, buf, (size_t)n);
}

/* Send (or resend) p to an upstream over UDP. */
/* 1 if peer is on one of the client networks served (dns.allow_clients). */
static int client_allowed(const struct kh_dns *d, const struct kh_addr *peer)
{
	const struct kh_agent_config *cfg = d->cfg;

	for (unsigned i = 0; i < cfg->nallow; i++)
		if (kh_cidr_match(&cfg->allow[i], peer))
			return 1;
	/* By default, also the subnet a listen address sits in (its LAN, approximately). */
	for (unsigned i = 0; !cfg->allow_set && i < cfg->nlisten; i++) {
		struct kh_cidr lan = {cfg->listen[i],
				      cfg->listen[i].family == KH_AF_INET6 ? 64 : 24};
		if (kh_cidr_match(&lan, peer))
			return 1;
	}
	return 0;
}

int kh_dns_client_allowed(const struct kh_dns *d, const struct kh_addr *peer)
{
	return client_allowed(d, peer);
}

/* The client's bucket: a hash of its address (not its port), salted per start. */
unsigned dns_client_bucket(const struct kh_dns *d, const struct kh_addr *a)
{
	uint32_t h = d->client_salt;

	for (int i = 0; i < (a->family == KH_AF_INET6 ? 16 : 4); i++)
		h = (h ^ a->ip[i]) * 16777619u;
	return (h ^ h >> 16) % CLIENT_BUCKETS;
}

/* 127.0.0.1 or ::1: the router's own processes (status probes, local tools). */
static int is_self(const struct kh_addr *a)
{
	static const uint8_t v6[16] = {[15] = 1};
	return a->family == KH_AF_INET6
		       ? memcmp(a->ip, v6, 16) == 0
		       : a->ip[0] == 127 && !a->ip[1] && !a->ip[2] && a->ip[3] == 1;
}

/*
 * One UDP query's token from its client's bucket: rate_limit a second, as
 * many in a burst. Over it, queries are dropped unanswered, so a forged
 * source address cannot aim khiend's answers at a victim at any rate. The
 * router's own address is not limited.
 */
static int rate_ok(struct kh_dns *d, const struct kh_addr *client)
{
	unsigned b = dns_client_bucket(d, client), rate = d->cfg->rate_limit;
	uint64_t now = kh_time_mono_ms(), add;

	if (!rate || is_self(client))
		return 1;
	add = (now - d->rrl_stamp[b]) * rate / 1000;
	if (add) {
		d->rrl_tokens[b] = (uint16_t)KH_MIN(d->rrl_tokens[b] + add, (uint64_t)rate);
		d->rrl_stamp[b] = now;
	}
	if (!d->rrl_tokens[b])
		return 0;
	d->rrl_tokens[b]--;
	return 1;
}

static void udp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct listener *l = arg;
	struct kh_dns *d = l->d;
	static uint8_t in[BATCH][CONFIG_DNS_QUERY_MAX + 1];
	struct kh_dgram v[BATCH];
	int n;

	(void)loop;
	(void)ev;
	for (int i = 0; i < BATCH; i++)
		v[i] = (struct kh_dgram){in[i], sizeof(in[i]), 0, {0}};
	/*
	 * Drain the socket (a bounded number of batches) before returning to
	 * poll: under load this saves a wake-up per batch, which costs more
	 * than the queries themselves.
	 */
	for (int round = 0; round < DRAIN_BATCHES; round++) {
		n = kh_net_recv_batch(fd, v, BATCH);
		if (n <= 0)
			break;
		d->nout = 0;
		for (int i = 0; i < n; i++) {
			int r;
			if (!client_allowed(d, &v[i].peer)) {
				/* Dropped, not refused: a forged source gets nothing reflected. */
				d->st.not_allowed++;
				continue;
			}
			if (!rate_ok(d, &v[i].peer)) {
				d->st.rate_limited++;
				continue;
			}
			r = dns_handle_query(d, v[i].buf, v[i].len, &v[i].peer, l->idx, -1,
					     d->outbuf[d->nout], SMALL_MAX);
			if (r > 0) {
				d->out[d->nout] = (struct kh_dgram){d->outbuf[d->nout], SMALL_MAX,
								    (size_t)r, v[i].peer};
				d->nout++;
			}
		}
		for (unsigned sent = 0; sent < d->nout;) {
			int r = kh_net_send_batch(fd, d->out + sent, d->nout - sent);
			if (r <= 0)
				break; /* a full socket buffer drops answers, as UDP may */
			sent += (unsigned)r;
		}
		if (n < BATCH)
			break;
	}
	dns_arm_timeout(d);
}

/* ---------------------------------------------------------------- TCP clients */

static void tcp_close(struct kh_dns *d, struct tcp_conn *c)
{
	kh_timer_cancel(d->loop, &c->idle);
	kh_loop_fd_del(d->loop, c->fd);
	kh_net_close(c->fd);
	c->used = 0;
	c->gen++; /* answers still on their way for this connection are dropped */
}

static void tcp_flush(struct kh_dns *d, struct tcp_conn *c)
{
	while (c->tx_off < c->tx_len) {
		int n = kh_net_send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			tcp_close(d, c);
			return;
		}
		c->tx_off += (size_t)n;
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	kh_loop_fd_mod(d->loop, c->fd, KH_EV_READ | (c->tx_len ? KH_EV_WRITE : 0));
}

static void tcp_send(struct kh_dns *d, int ci, uint32_t gen, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = &d->conns[ci];
	size_t cap = CONFIG_DNS_TCP_MSG_MAX + 2;

	if (!c->used || c->gen != gen)
		return;
	if (c->tx_len + 2 + len > cap) {
		tcp_close(d, c); /* a client that does not read its answers */
		return;
	}
	kh_put_be16(c->tx + c->tx_len, (uint16_t)len);
	memcpy(c->tx + c->tx_len + 2, msg, len);
	c->tx_len += 2 + len;
	tcp_flush(d, c);
}

/*
 * A connection's deadline: a query begun must be complete within
 * tcp_message_ms of its first byte (a byte now and then does not keep a
 * slot), and a connection with no query in progress closes tcp_idle_ms
 * after its last complete one.
 */
static void tcp_arm(struct kh_dns *d, struct tcp_conn *c)
{
	uint64_t now = kh_time_mono_ms();
	uint64_t due = c->msg_start ? c->msg_start + d->cfg->tcp_message_ms
				    : c->active + d->cfg->tcp_idle_ms;

	kh_timer_arm(d->loop, &c->idle, due > now ? due - now : 0);
}

static void tcp_idle(struct kh_loop *loop, void *arg)
{
	struct tcp_conn *c = arg;

	(void)loop;
	c->d->st.tcp_timeouts++;
	tcp_close(c->d, c);
}

static int same_host(const struct kh_addr *a, const struct kh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == KH_AF_INET6 ? 16 : 4) == 0;
}

/*
 * A slot for a new connection from peer. A client at its tcp_per_client
 * share gives up its own idlest connection; when every slot is taken the
 * idlest of all goes. Either way the newcomer is served: holding slots open
 * cannot lock others (or the TC->TCP retry of a UDP client) out.
 */
static struct tcp_conn *tcp_slot(struct kh_dns *d, const struct kh_addr *peer)
{
	struct tcp_conn *free_c = NULL, *idlest = NULL, *own = NULL;
	unsigned mine = 0;

	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		struct tcp_conn *c = &d->conns[i];
		if (!c->used) {
			free_c = c;
			continue;
		}
		if (!idlest || c->active < idlest->active)
			idlest = c;
		if (same_host(&c->peer, peer)) {
			mine++;
			if (!own || c->active < own->active)
				own = c;
		}
	}
	if (mine >= d->cfg->tcp_per_client)
		idlest = own;
	else if (free_c)
		return free_c;
	if (idlest) {
		d->st.tcp_evicted++;
		tcp_close(d, idlest);
	}
	return idlest;
}

static void tcp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct tcp_conn *c = arg;
	struct kh_dns *d = c->d;
	size_t rx_cap = CONFIG_DNS_QUERY_MAX + 2;

	(void)loop;
	(void)fd;
	if (ev & KH_EV_WRITE) {
		tcp_flush(d, c);
		if (!c->used)
			return;
	}
	if (!(ev & KH_EV_READ))
		return;
	for (;;) {
		int n = kh_net_recv(c->fd, c->rx + c->rx_len, rx_cap - c->rx_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			tcp_close(d, c);
			return;
		}
		c->rx_len += (size_t)n;
		if (!c->msg_start)
			c->msg_start = kh_time_mono_ms();
		/* RFC 7766: several queries may follow each other; answer each. */
		while (c->rx_len >= 2) {
			size_t want = kh_be16(c->rx);
			uint8_t out[SMALL_MAX];
			int r;
			if (want == 0 || want > CONFIG_DNS_QUERY_MAX) {
				tcp_close(d, c);
				return;
			}
			if (c->rx_len < want + 2)
				break;
			d->st.tcp_queries++;
			r = dns_handle_query(d, c->rx + 2, want, &c->peer, -1, c->idx, out,
					     sizeof(out));
			if (!c->used)
				return;
			memmove(c->rx, c->rx + 2 + want, c->rx_len - 2 - want);
			c->rx_len -= 2 + want;
			/* Complete: the connection is active; what follows is a new query. */
			c->active = kh_time_mono_ms();
			c->msg_start = c->rx_len ? c->active : 0;
			if (r > 0)
				tcp_send(d, c->idx, c->gen, out, (size_t)r);
			if (!c->used)
				return;
		}
	}
	tcp_arm(d, c);
	dns_arm_timeout(d);
}

static void tcp_accept_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct listener *l = arg;
	struct kh_dns *d = l->d;
	struct kh_addr peer;
	kh_sock s;

	(void)ev;
	while (kh_net_tcp_accept(fd, &s, &peer) == 0) {
		struct tcp_conn *c;
		if (!client_allowed(d, &peer)) {
			d->st.not_allowed++;
			kh_net_close(s);
			continue;
		}
		c = tcp_slot(d, &peer);
		if (!c || kh_loop_fd_add(loop, s, KH_EV_READ, tcp_cb, c) < 0) {
			kh_net_close(s); /* the loop is full: the client retries */
			continue;
		}
		c->used = 1;
		c->fd = s;
		c->peer = peer;
		c->rx_len = c->tx_len = c->tx_off = 0;
		c->active = kh_time_mono_ms();
		c->msg_start = 0;
		tcp_arm(d, c);
	}
}

/* ---------------------------------------------------------------- lifecycle */

int dns_serve_init(struct kh_dns *d)
{
	d->conns = calloc(CONFIG_DNS_TCP_MAX_CLIENTS, sizeof(*d->conns));
	if (!d->conns)
		return -ENOMEM;
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		struct tcp_conn *c = &d->conns[i];
		c->d = d;
		c->idx = i;
		c->fd = -1;
		c->rx = malloc(CONFIG_DNS_QUERY_MAX + 2);
		c->tx = malloc(CONFIG_DNS_TCP_MSG_MAX + 2);
		if (!c->rx || !c->tx)
			return -ENOMEM;
		kh_timer_init(&c->idle, tcp_idle, c);
	}
	return 0;
}

int dns_serve_listen(struct kh_dns *d, const char **why)
{
	const struct kh_agent_config *cfg = d->cfg;
	int err;

	for (unsigned i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &d->lst[d->nlst];
		l->d = d;
		l->idx = (int)d->nlst;
		l->udp = l->tcp = -1;
		if ((err = kh_net_udp_open(&cfg->listen[i], &l->udp)) < 0 ||
		    (err = kh_net_tcp_listen(&cfg->listen[i], 64, &l->tcp)) < 0) {
			static char bind_why[KH_ADDR_STRLEN + 48];
			char at[KH_ADDR_STRLEN];
			kh_addr_format(&cfg->listen[i], at, sizeof(at));
			snprintf(bind_why, sizeof(bind_why), "cannot bind %s (%s)", at,
				 l->udp < 0 ? "UDP" : "TCP");
			*why = bind_why;
			kh_net_close(l->udp);
			return err;
		}
		d->nlst++;
		kh_net_set_rcvbuf(l->udp, CONFIG_DNS_UDP_RCVBUF_KB * 1024);
		if ((err = kh_loop_fd_add(d->loop, l->udp, KH_EV_READ, udp_cb, l)) < 0 ||
		    (err = kh_loop_fd_add(d->loop, l->tcp, KH_EV_READ, tcp_accept_cb, l)) < 0) {
			*why = "event loop full (CONFIG_LOOP_MAX_FDS)";
			return err;
		}
	}
	return 0;
}

void dns_serve_free(struct kh_dns *d)
{
	for (unsigned i = 0; i < d->nlst; i++) {
		kh_loop_fd_del(d->loop, d->lst[i].udp);
		kh_loop_fd_del(d->loop, d->lst[i].tcp);
		kh_net_close(d->lst[i].udp);
		kh_net_close(d->lst[i].tcp);
	}
	if (d->conns)
		for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
			if (d->conns[i].used)
				tcp_close(d, &d->conns[i]);
			free(d->conns[i].rx);
			free(d->conns[i].tx);
		}
	free(d->conns);
}

int dns_serve_check(const struct kh_dns *d, const char **why)
{
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		const struct tcp_conn *c = &d->conns[i];
		unsigned same = 0;
		if (!c->used)
			continue;
		if (!kh_timer_armed(&c->idle))
			BROKEN("a TCP client connection has no deadline");
		if (c->rx_len && !c->msg_start)
			BROKEN("a TCP query in progress has no start time");
		for (int j = 0; j < CONFIG_DNS_TCP_MAX_CLIENTS; j++)
			same += d->conns[j].used && same_host(&d->conns[j].peer, &c->peer);
		if (same > d->cfg->tcp_per_client)
			BROKEN("a client holds more TCP connections than its share");
	}
	*why = "ok";
	return 0;
}
