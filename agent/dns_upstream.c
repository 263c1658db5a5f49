/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter's upstream side (see dns_priv.h for the family): upstream
 * health (consecutive timeouts mark one down for a while, with backoff),
 * the pool of UDP sockets queries leave from (random pick, random IDs,
 * rotated after a few hundred uses), the fixed table of pending queries
 * with its ID hash, its one FIFO by deadline and the single timer that
 * serves it, retry on another upstream, and the TCP fetch that gets the
 * whole answer after a truncated one. Answers are judged by the engine
 * (dns_handle_answer); this file only checks that they match a query.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/dns_priv.h"
#include "lib/endian.h"
#include "lib/log.h"
#include "platform/time.h"

/* ---------------------------------------------------------------- upstreams */

static unsigned pick_upstream(struct kh_dns *d, int avoid)
{
	uint64_t now = kh_time_mono_ms();
	unsigned best = 0;

	for (unsigned i = 0; i < d->nup; i++)
		if ((int)i != avoid && d->up[i].down_until <= now)
			return i;
	/* Everything is down (or the only other choice is the one that failed). */
	for (unsigned i = 1; i < d->nup; i++)
		if (d->up[i].down_until < d->up[best].down_until)
			best = i;
	if ((int)best == avoid && d->nup > 1)
		best = (best + 1) % d->nup;
	return best;
}

void dns_upstream_ok(struct upstream *u, uint64_t rtt)
{
	u->answered++;
	u->fails = 0;
	u->down_until = 0;
	u->down_ms = 0;
	u->rtt_ms = u->rtt_ms ? 0.8 * u->rtt_ms + 0.2 * (double)rtt : (double)rtt;
}

static void upstream_failed(struct upstream *u)
{
	u->timeouts++;
	if (++u->fails >= DOWN_AFTER) {
		u->down_ms = u->down_ms ? KH_MIN(u->down_ms * 2, 60000u) : DOWN_MS;
		u->down_until = kh_time_mono_ms() + u->down_ms;
	}
}

static void upstream_sock_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg);

static int upsock_open(struct kh_dns *d, unsigned i)
{
	struct kh_addr any;
	int err;

	memset(&any, 0, sizeof(any));
	/* Family of the first upstream; mixed-family setups use the v4/v6 of each (below). */
	any.family = d->up[0].addr.family;
	err = kh_net_udp_open(&any, &d->socks[i].fd);
	if (err < 0)
		return err;
	d->socks[i].uses = 0;
	d->socks[i].pending = 0;
	err = kh_loop_fd_add(d->loop, d->socks[i].fd, KH_EV_READ, upstream_sock_cb, d);
	if (err < 0) {
		kh_net_close(d->socks[i].fd);
		d->socks[i].fd = -1;
	}
	return err;
}

static void upsock_maybe_rotate(struct kh_dns *d, int i)
{
	struct upsock *s = &d->socks[i];

	if (s->uses < SOCKET_USES || s->pending)
		return;
	kh_loop_fd_del(d->loop, s->fd);
	kh_net_close(s->fd);
	s->fd = -1;
	if (upsock_open(d, (unsigned)i) < 0)
		log_warn("dns: cannot reopen an upstream socket");
}

/* ---------------------------------------------------------------- pending */

static unsigned id_bucket(int sock, uint16_t id)
{
	return ((unsigned)sock * 2654435761u ^ id) % ID_HASH;
}

/* p to the end of the deadline list: its deadline is the latest (one timeout for all). */
static void deadline_requeue(struct kh_dns *d, struct pending *p)
{
	kh_list_move_tail(&d->deadline, &p->link);
}

static void hash_unlink(struct kh_dns *d, struct pending *p)
{
	struct pending **pp;

	if (p->sock < 0)
		return;
	for (pp = &d->id_hash[id_bucket(p->sock, p->up_id)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == p) {
			*pp = p->hash_next;
			break;
		}
	d->socks[p->sock].pending--;
	upsock_maybe_rotate(d, p->sock);
	p->sock = -1;
}

static struct pending *hash_find(struct kh_dns *d, int sock, uint16_t id)
{
	for (struct pending *p = d->id_hash[id_bucket(sock, id)]; p; p = p->hash_next)
		if (p->sock == sock && p->up_id == id)
			return p;
	return NULL;
}

void dns_arm_timeout(struct kh_dns *d)
{
	uint64_t now = kh_time_mono_ms();
	struct pending *head = kh_list_first(&d->deadline, struct pending, link);

	if (!head) {
		kh_timer_cancel(d->loop, &d->timeout);
		return;
	}
	kh_timer_arm(d->loop, &d->timeout, head->deadline > now ? head->deadline - now : 0);
}

static void up_tcp_close(struct kh_dns *d, struct up_tcp *u);

/*
 * The one way a pending query ends, whoever ends it (answer, timeout, a
 * failed or finished TCP fetch): the slot owns its TCP fetch, so releasing
 * the slot closes the fetch and no late event can reach a reused slot.
 */
void dns_pending_free(struct kh_dns *d, struct pending *p)
{
	if (!p->used) {
		log_error("dns: bug: a pending query released twice (ignored)");
		return;
	}
	if (p->fetch)
		up_tcp_close(d, p->fetch);
	hash_unlink(d, p);
	p->used = 0;
	kh_list_del(&p->link);
	kh_list_add_head(&d->free_list, &p->link);
	d->inflight--;
	d->client_pending[p->cbucket]--;
}

int dns_forward(struct kh_dns *d, struct pending *p, int avoid)
{
	unsigned up = pick_upstream(d, avoid);
	int si, tries = 0;
	uint16_t id;

	do {
		si = (int)(dns_rnd32(d) % CONFIG_DNS_UPSTREAM_SOCKETS);
	} while (d->socks[si].fd < 0 && ++tries < 8);
	if (d->socks[si].fd < 0)
		return -EIO;
	do {
		dns_rnd_bytes(d, &id, sizeof(id));
	} while (hash_find(d, si, id));
	hash_unlink(d, p);
	p->sock = si;
	p->up_id = id;
	p->up = up;
	p->hash_next = d->id_hash[id_bucket(si, id)];
	d->id_hash[id_bucket(si, id)] = p;
	d->socks[si].pending++;
	d->socks[si].uses++;
	kh_put_be16(p->pkt, id);
	p->attempts++;
	p->sent_at = kh_time_mono_ms();
	p->deadline = p->sent_at + d->cfg->timeout_ms;
	deadline_requeue(d, p);
	d->up[up].sent++;
	if (kh_net_sendto(d->socks[si].fd, p->pkt, p->pkt_len, &d->up[up].addr) < 0)
		d->up[up].bad++; /* counted; the timeout retries elsewhere */
	return 0;
}

static void on_timeout(struct kh_loop *loop, void *arg)
{
	struct kh_dns *d = arg;
	uint64_t now = kh_time_mono_ms();

	(void)loop;
	struct pending *p;

	while ((p = kh_list_first(&d->deadline, struct pending, link)) && p->deadline <= now) {
		upstream_failed(&d->up[p->up]);
		if (p->attempts < MAX_ATTEMPTS && p->sock >= 0 &&
		    dns_forward(d, p, (int)p->up) == 0)
			continue;
		dns_reply_error(d, p, KH_DNS_RC_SERVFAIL);
		dns_pending_free(d, p);
	}
	dns_arm_timeout(d);
}

static void upstream_sock_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct kh_dns *d = arg;
	static uint8_t bufs[BATCH][UDP_ANSWER_MAX];
	struct kh_dgram v[BATCH];
	int si = -1, n;

	(void)loop;
	(void)ev;
	for (int i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (d->socks[i].fd == fd)
			si = i;
	if (si < 0)
		return;
	for (int i = 0; i < BATCH; i++)
		v[i] = (struct kh_dgram){bufs[i], sizeof(bufs[i]), 0, {0}};
	for (int round = 0; round < DRAIN_BATCHES; round++) {
		n = kh_net_recv_batch(fd, v, BATCH);
		for (int i = 0; i < n; i++) {
			struct pending *p;
			if (v[i].len < KH_DNS_HDR_LEN) {
				d->st.spoofed++;
				continue;
			}
			p = hash_find(d, si, kh_be16(v[i].buf));
			/* Right socket and ID, but it must also come from where the query went. */
			if (!p || !kh_addr_equal(&v[i].peer, &d->up[p->up].addr)) {
				d->st.spoofed++;
				continue;
			}
			if (dns_handle_answer(d, p, v[i].buf, v[i].len, 0) == ANSWER_DONE)
				dns_pending_free(d, p);
			if (d->socks[si].fd != fd)
				goto out; /* the socket was rotated */
		}
		if (n < BATCH)
			break;
	}
out:
	dns_arm_timeout(d);
}

/* ---------------------------------------------------------------- upstream TCP */

static void up_tcp_close(struct kh_dns *d, struct up_tcp *u)
{
	if (u->p)
		u->p->fetch = NULL;
	kh_loop_fd_del(d->loop, u->fd);
	kh_net_close(u->fd);
	u->used = 0;
	u->p = NULL;
}

static void up_tcp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct kh_dns *d = arg;
	struct up_tcp *u = NULL;
	int n;

	(void)loop;
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++)
		if (d->utcp[i].used && d->utcp[i].fd == fd)
			u = &d->utcp[i];
	if (!u)
		return;
	if ((ev & KH_EV_WRITE) && u->sent < u->out_len) {
		n = kh_net_send(fd, u->out + u->sent, u->out_len - u->sent);
		if (n < 0 && n != -EAGAIN)
			goto fail;
		if (n > 0)
			u->sent += (size_t)n;
		if (u->sent == u->out_len)
			kh_loop_fd_mod(d->loop, fd, KH_EV_READ);
		return;
	}
	if (!(ev & KH_EV_READ))
		return;
	n = kh_net_recv(fd, u->buf + u->have, CONFIG_DNS_TCP_MSG_MAX + 2 - u->have);
	if (n == -EAGAIN)
		return;
	if (n <= 0)
		goto fail;
	u->have += (size_t)n;
	if (u->have >= 2) {
		size_t want = kh_be16(u->buf);
		if (want + 2 > CONFIG_DNS_TCP_MSG_MAX + 2)
			goto fail;
		if (u->have >= want + 2) {
			struct pending *p = u->p;
			/* The connection is ours alone: its ID is the query's. */
			kh_put_be16(u->buf + 2, p->up_id);
			if (dns_handle_answer(d, p, u->buf + 2, want, 1) == ANSWER_DONE) {
				dns_pending_free(d, p); /* closes u */
				dns_arm_timeout(d);
				return;
			}
			goto fail;
		}
	}
	return;
fail : {
	struct pending *p = u->p;
	dns_reply_error(d, p, KH_DNS_RC_SERVFAIL);
	dns_pending_free(d, p); /* closes u */
	dns_arm_timeout(d);
}
}

int dns_up_tcp_start(struct kh_dns *d, struct pending *p)
{
	struct up_tcp *u = NULL;

	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++)
		if (!d->utcp[i].used)
			u = &d->utcp[i];
	if (!u || kh_net_tcp_connect(&d->up[p->up].addr, &u->fd) < 0)
		return -EAGAIN;
	if (kh_loop_fd_add(d->loop, u->fd, KH_EV_WRITE, up_tcp_cb, d) < 0) {
		kh_net_close(u->fd);
		return -EAGAIN;
	}
	u->used = 1;
	u->p = p;
	p->fetch = u;
	u->have = u->sent = 0;
	kh_put_be16(u->out, p->pkt_len);
	memcpy(u->out + 2, p->pkt, p->pkt_len);
	u->out_len = 2 + (size_t)p->pkt_len;
	/* Off the UDP socket's books: the answer now comes over this connection. */
	hash_unlink(d, p);
	p->deadline = kh_time_mono_ms() + d->cfg->timeout_ms;
	deadline_requeue(d, p);
	p->attempts = MAX_ATTEMPTS; /* the timeout answers SERVFAIL, no UDP retry */
	return 0;
}

/* ---------------------------------------------------------------- invariants */

int dns_upstream_check(const struct kh_dns *d, const char **why)
{
	uint8_t seen[CONFIG_DNS_MAX_INFLIGHT];
	unsigned used = 0, listed = 0, freed = 0, sock_pending[CONFIG_DNS_UPSTREAM_SOCKETS] = {0};
	uint64_t last = 0;
	const struct kh_list *l;

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++) {
		const struct pending *p = &d->pend[i];
		if (!p->used)
			continue;
		used++;
		if (p->sock >= CONFIG_DNS_UPSTREAM_SOCKETS)
			BROKEN("a pending query names a socket out of range");
		if (p->sock >= 0) {
			const struct pending *h = d->id_hash[id_bucket(p->sock, p->up_id)];
			sock_pending[p->sock]++;
			while (h && h != p)
				h = h->hash_next;
			if (!h)
				BROKEN("a pending query on a socket is not in the ID hash");
			if (p->fetch)
				BROKEN("a pending query is on a UDP socket and a TCP fetch at "
				       "once");
		}
		if (p->fetch && (!p->fetch->used || p->fetch->p != p))
			BROKEN("a pending query and its TCP fetch do not point at each other");
	}
	if (used != d->inflight)
		BROKEN("inflight differs from the number of used slots");
	for (unsigned b = 0; b < CLIENT_BUCKETS; b++) {
		unsigned n = 0;
		if (!d->client_pending[b])
			continue;
		for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++)
			n += d->pend[i].used && d->pend[i].cbucket == b;
		if (n != d->client_pending[b])
			BROKEN("a client's pending count differs from its used slots");
		if (n > d->cfg->inflight_per_client)
			BROKEN("a client has more pending queries than its share");
	}
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (sock_pending[i] != d->socks[i].pending)
			BROKEN("an upstream socket's pending count is wrong");
	kh_list_for_each (l, &d->deadline) {
		const struct pending *p = kh_list_entry(l, struct pending, link);
		size_t i = (size_t)(p - d->pend);
		if (i >= CONFIG_DNS_MAX_INFLIGHT || ++listed > used)
			BROKEN("the deadline list is longer than the used slots (a cycle?)");
		if (!p->used || seen[i]++)
			BROKEN("the deadline list holds a free slot or one slot twice");
		if (l->next->prev != l)
			BROKEN("the deadline list's links disagree");
		if (p->deadline < last)
			BROKEN("the deadline list is out of order");
		last = p->deadline;
	}
	if (listed != used)
		BROKEN("a used slot is missing from the deadline list");
	kh_list_for_each (l, &d->free_list) {
		const struct pending *p = kh_list_entry(l, struct pending, link);
		if (++freed > CONFIG_DNS_MAX_INFLIGHT - used)
			BROKEN("the free list is longer than the free slots (a cycle?)");
		if (p->used)
			BROKEN("a used slot is on the free list");
	}
	if (freed + used != CONFIG_DNS_MAX_INFLIGHT)
		BROKEN("free and used slots do not add up to the table");
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		const struct up_tcp *u = &d->utcp[i];
		if (u->used && (!u->p || !u->p->used || u->p->fetch != u))
			BROKEN("a TCP fetch works for a slot that does not own it");
		if (!u->used && u->p)
			BROKEN("a closed TCP fetch still names a slot");
	}
	*why = "ok";
	return 0;
}

/* ---------------------------------------------------------------- the table */

struct pending *dns_pending_new(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *pkt,
				size_t len, const struct kh_addr *client, int listener, int conn)
{
	unsigned cb = dns_client_bucket(d, client);
	struct pending *p;

	if (d->nup == 0 || kh_list_empty(&d->free_list) ||
	    d->client_pending[cb] >= d->cfg->inflight_per_client) {
		/*
		 * Nowhere to send it, every slot busy, or this client has its share
		 * pending already (one client's never-answered names cannot take
		 * the table from the others): fail fast, memory stays bounded.
		 */
		d->st.refused_full += d->nup != 0 && kh_list_empty(&d->free_list);
		d->st.client_share += d->nup != 0 && !kh_list_empty(&d->free_list);
		return NULL;
	}
	p = kh_list_first(&d->free_list, struct pending, link);
	kh_list_del(&p->link); /* unlinked until dns_forward queues it by deadline */
	d->inflight++;
	p->used = 1;
	p->hash_next = NULL;
	p->sock = -1;
	p->fetch = NULL;
	p->safe = 0;
	p->attempts = 0;
	p->client = *client;
	p->listener = listener;
	p->conn = conn;
	p->conn_gen = conn >= 0 ? d->conns[conn].gen : 0;
	p->gen_seq = d->st.reloads;
	p->cbucket = (uint16_t)cb;
	d->client_pending[cb]++;
	p->q = *q;
	p->pkt_len = (uint16_t)len;
	memcpy(p->pkt, pkt, len);
	return p;
}

int dns_upstream_init(struct kh_dns *d)
{
	kh_list_init(&d->free_list);
	kh_list_init(&d->deadline);
	kh_timer_init(&d->timeout, on_timeout, d);
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		d->socks[i].fd = -1;
	d->pend = calloc(CONFIG_DNS_MAX_INFLIGHT, sizeof(*d->pend));
	d->utcp = calloc(CONFIG_DNS_TCP_MAX_CLIENTS, sizeof(*d->utcp));
	if (!d->pend || !d->utcp)
		return -ENOMEM;
	for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++) {
		d->pend[i].sock = -1;
		kh_list_add_tail(&d->free_list, &d->pend[i].link);
	}
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		d->utcp[i].fd = -1;
		if (!(d->utcp[i].buf = malloc(CONFIG_DNS_TCP_MSG_MAX + 2)))
			return -ENOMEM;
	}
	return 0;
}

int dns_upstream_open(struct kh_dns *d)
{
	int err;

	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if ((err = upsock_open(d, i)) < 0)
			return err;
	return 0;
}

void dns_upstream_free(struct kh_dns *d)
{
	kh_timer_cancel(d->loop, &d->timeout);
	for (unsigned i = 0; i < CONFIG_DNS_UPSTREAM_SOCKETS; i++)
		if (d->socks[i].fd >= 0) {
			kh_loop_fd_del(d->loop, d->socks[i].fd);
			kh_net_close(d->socks[i].fd);
		}
	if (d->utcp)
		for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
			if (d->utcp[i].used)
				up_tcp_close(d, &d->utcp[i]);
			free(d->utcp[i].buf);
		}
	free(d->pend);
	free(d->utcp);
}
