/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the DNS engine's state machine: the input is a script of interleaved
 * events (client UDP queries, client TCP connects, bytes and closes,
 * upstream UDP answers that match or not, truncated or garbage, upstream TCP
 * accepts, answers and closes, clock steps, index reloads) played against
 * agent/dns.c on a simulated network and the fake clock. After every event
 * the pending table's invariants are checked (kh_dns_check_invariants), and
 * the harness checks what the engine says on the wire: no query answered
 * twice, no socket used or closed after close, nothing left watched or open
 * after kh_dns_free, and every pending query ends once the clock moves on.
 *
 * The engine is compiled into this file with its socket and fd-watch calls
 * renamed to the simulation below (timers stay on the real loop, driven by
 * the fake clock; index files are images in memory), and with small tables so that full tables, reused slots
 * and evictions happen within a few events. Everything is deterministic.
 */

/* The engine's network and fd-watch calls, redirected to the simulation. */
#define kh_net_udp_open sim_udp_open
#define kh_net_sendto sim_sendto
#define kh_net_recv_batch sim_recv_batch
#define kh_net_send_batch sim_send_batch
#define kh_net_tcp_listen sim_tcp_listen
#define kh_net_tcp_accept sim_tcp_accept
#define kh_net_tcp_connect sim_tcp_connect
#define kh_net_send sim_send
#define kh_net_recv sim_recv
#define kh_net_close sim_close
#define kh_net_set_rcvbuf sim_set_rcvbuf
#define kh_loop_fd_add sim_fd_add
#define kh_loop_fd_mod sim_fd_mod
#define kh_loop_fd_del sim_fd_del
#define kh_fs_map sim_fs_map
#define kh_fs_unmap sim_fs_unmap
/* The engine's public names, so this copy links beside agent/dns.c. */
#define kh_dns_new fz_dns_new
#define kh_dns_free fz_dns_free
#define kh_dns_load_index fz_dns_load_index
#define kh_dns_has_index fz_dns_has_index
#define kh_dns_status fz_dns_status
#define kh_dns_health fz_dns_health
#define kh_dns_check fz_dns_check
#define kh_dns_set_event_hook fz_dns_set_event_hook
#define kh_dns_events fz_dns_events
#define kh_dns_check_invariants fz_dns_check_invariants

/* Small tables (engine-internal sizes only; struct layouts shared with other files stay). */
#include "lib/compiler.h" /* autoconf.h, once */
#undef CONFIG_DNS_MAX_INFLIGHT
#define CONFIG_DNS_MAX_INFLIGHT 8
#undef CONFIG_DNS_UPSTREAM_SOCKETS
#define CONFIG_DNS_UPSTREAM_SOCKETS 3
#undef CONFIG_DNS_TCP_MAX_CLIENTS
#define CONFIG_DNS_TCP_MAX_CLIENTS 4
#undef CONFIG_DNS_CACHE_ENTRIES
#define CONFIG_DNS_CACHE_ENTRIES 16
#undef CONFIG_DNS_EVENT_QUEUE
#define CONFIG_DNS_EVENT_QUEUE 8
#undef CONFIG_DNS_TCP_MSG_MAX
#define CONFIG_DNS_TCP_MSG_MAX 4096
#undef CONFIG_DNS_RECV_BATCH
#define CONFIG_DNS_RECV_BATCH 8

#include "agent/dns.c"

#include <stddef.h>

#include "tools/khien-policy/compile.h"
#include "platform/test/test_platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------- the simulated network */

#define SIM_MAX 24
#define SIM_FD0 1000 /* far from real descriptors: a stray real call fails */
#define QLEN 8	     /* datagrams queued per UDP socket */
#define STREAM_MAX 8192

enum sim_kind {
	SIM_FREE = 0,
	SIM_UDP,
	SIM_LISTEN,
	SIM_STREAM
};
enum sim_state {
	ST_CONNECTING = 0,
	ST_OPEN,
	ST_PEER_CLOSED,
	ST_RESET,
	ST_REFUSED
};

struct dgram {
	uint16_t len;
	struct kh_addr from;
	uint8_t buf[UDP_ANSWER_MAX];
};

struct sim {
	enum sim_kind kind;
	struct kh_addr local, peer;
	/* watch */
	int watched;
	unsigned interest;
	kh_io_fn fn;
	void *arg;
	unsigned watch_gen;
	/* UDP */
	struct dgram q[QLEN];
	unsigned qhead, qn;
	int listener; /* a client-facing socket (listen address) */
	/* TCP listener: connections waiting in the backlog, and where they come from */
	unsigned backlog;
	uint8_t backlog_host[4];
	/* stream */
	enum sim_state state;
	int upstream;		/* a connection the engine dialled */
	int window;		/* bytes the engine may still send; < 0 unlimited */
	uint8_t in[STREAM_MAX]; /* peer -> engine */
	size_t in_len;
	uint8_t out[STREAM_MAX]; /* engine -> peer (parsed and consumed as it arrives) */
	size_t out_len;
	uint8_t rest[2 + 512]; /* the unsent end of a client's split message */
	size_t rest_len;
	/* the next judge_old bytes were answers made before a reload, under these indexes */
	size_t judge_old;
	unsigned judge_mask;
};

static struct sim g_sim[SIM_MAX];
static int g_nsim; /* sockets at index >= g_nsim were never opened in this run */
static struct kh_loop *g_loop;
static struct kh_dns *g_dns;
static unsigned g_port = 40000;
static uint8_t g_answered[65536];   /* per tracked client query ID */
static uint16_t g_udp_limit[65536]; /* the largest UDP answer its client takes */
static uint16_t g_next_id;
static int g_cur_index; /* which index the engine has: 0 none, 1 A, 2 B */
static const char *const g_idx_path[3] = {"", "fuzz:index-a", "fuzz:index-b"};
static struct kh_index g_idx[3];
static uint8_t *g_idx_img[3];
static size_t g_idx_len[3];

#define FAIL(...)                                            \
	do {                                                 \
		fprintf(stderr, "dns_engine: " __VA_ARGS__); \
		fprintf(stderr, "\n");                       \
		abort();                                     \
	} while (0)

static struct sim *sim_of(kh_sock fd)
{
	int i = fd - SIM_FD0;

	if (i < 0 || i >= SIM_MAX || g_sim[i].kind == SIM_FREE)
		FAIL("use of socket %d, which is not open", fd);
	return &g_sim[i];
}

static int sim_new(enum sim_kind kind, kh_sock *out)
{
	for (int i = 0; i < SIM_MAX; i++)
		if (g_sim[i].kind == SIM_FREE) {
			/* Reset the fields, not the buffers (the harness runs this per socket). */
			unsigned gen = g_sim[i].watch_gen; /* stays monotonic across reuse */
			memset(&g_sim[i], 0, offsetof(struct sim, q));
			g_sim[i].watch_gen = gen;
			g_sim[i].qhead = g_sim[i].qn = 0;
			g_sim[i].listener = 0;
			g_sim[i].backlog = 0;
			g_sim[i].state = ST_CONNECTING;
			g_sim[i].upstream = 0;
			g_sim[i].in_len = g_sim[i].out_len = g_sim[i].rest_len = 0;
			g_sim[i].judge_old = 0;
			g_sim[i].judge_mask = 0;
			g_sim[i].kind = kind;
			g_sim[i].window = -1;
			g_nsim = KH_MAX(g_nsim, i + 1);
			*out = SIM_FD0 + i;
			return 0;
		}
	return -EMFILE;
}

static struct kh_addr addr_of(int last, uint16_t port)
{
	struct kh_addr a = {KH_AF_INET, port, {127, 0, 0, (uint8_t)last}};
	return a;
}

int sim_udp_open(const struct kh_addr *bind_addr, kh_sock *out)
{
	int err = sim_new(SIM_UDP, out);

	if (err < 0)
		return err;
	sim_of(*out)->local = *bind_addr;
	if (!bind_addr->port)
		sim_of(*out)->local.port = (uint16_t)g_port++;
	sim_of(*out)->listener = bind_addr->port != 0;
	return 0;
}

int sim_tcp_listen(const struct kh_addr *addr, int backlog, kh_sock *out)
{
	(void)backlog;
	int err = sim_new(SIM_LISTEN, out);
	if (err == 0)
		sim_of(*out)->local = *addr;
	return err;
}

static void client_answer(const uint8_t *msg, size_t len, unsigned older);

int sim_sendto(kh_sock s, const void *buf, size_t len, const struct kh_addr *to)
{
	struct sim *x = sim_of(s);

	if (x->kind != SIM_UDP)
		FAIL("sendto on a socket that is not UDP");
	(void)to;
	/* Queries to upstreams are answered from the engine's own table (see pick_pending_udp). */
	if (x->listener) {
		uint16_t id = len >= 2 ? kh_be16(buf) : 0;
		if ((id & 0x8000) && len > g_udp_limit[id])
			FAIL("query %04x: a %zu-byte UDP answer to a client that takes %u", id, len,
			     g_udp_limit[id]);
		client_answer(buf, len, 0);
	}
	return (int)len;
}

int sim_send_batch(kh_sock s, const struct kh_dgram *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sim_sendto(s, v[i].buf, v[i].len, &v[i].peer);
	return (int)n;
}

int sim_recv_batch(kh_sock s, struct kh_dgram *v, unsigned n)
{
	struct sim *x = sim_of(s);
	unsigned got = 0;

	while (got < n && x->qn) {
		struct dgram *g = &x->q[x->qhead];
		size_t l = KH_MIN((size_t)g->len, v[got].cap);
		memcpy(v[got].buf, g->buf, l);
		v[got].len = l;
		v[got].peer = g->from;
		x->qhead = (x->qhead + 1) % QLEN;
		x->qn--;
		got++;
	}
	return got ? (int)got : -EAGAIN;
}

int sim_tcp_accept(kh_sock listener, kh_sock *out, struct kh_addr *peer)
{
	struct sim *l = sim_of(listener);
	int err;

	if (!l->backlog)
		return -EAGAIN;
	l->backlog--;
	err = sim_new(SIM_STREAM, out);
	if (err < 0)
		return err;
	sim_of(*out)->state = ST_OPEN;
	sim_of(*out)->peer = addr_of(l->backlog_host[0], (uint16_t)g_port++);
	memmove(l->backlog_host, l->backlog_host + 1, sizeof(l->backlog_host) - 1);
	if (peer)
		*peer = sim_of(*out)->peer;
	return 0;
}

int sim_tcp_connect(const struct kh_addr *to, kh_sock *out)
{
	int err = sim_new(SIM_STREAM, out);

	if (err < 0)
		return err;
	sim_of(*out)->state = ST_CONNECTING;
	sim_of(*out)->upstream = 1;
	sim_of(*out)->peer = *to;
	return 0;
}

int sim_send(kh_sock s, const void *buf, size_t len)
{
	struct sim *x = sim_of(s);
	size_t n = len;

	if (x->kind != SIM_STREAM)
		FAIL("send on a socket that is not a stream");
	if (x->state == ST_CONNECTING)
		return -EAGAIN;
	if (x->state == ST_RESET || x->state == ST_REFUSED)
		return x->state == ST_RESET ? -ECONNRESET : -ECONNREFUSED;
	if (x->window >= 0) {
		if (x->window == 0)
			return -EAGAIN;
		n = KH_MIN(n, (size_t)x->window);
		x->window -= (int)n;
	}
	if (x->out_len + n > STREAM_MAX)
		n = STREAM_MAX - x->out_len;
	if (n == 0)
		return -EAGAIN;
	memcpy(x->out + x->out_len, buf, n);
	x->out_len += n;
	/* Answers to a client are checked as they complete. */
	while (!x->upstream && x->out_len >= 2 && x->out_len >= 2u + kh_be16(x->out)) {
		size_t m = kh_be16(x->out);
		/* Bytes the engine had produced before a reload are judged by the lists then. */
		client_answer(x->out + 2, m, x->judge_old ? x->judge_mask : 0);
		x->judge_old -= KH_MIN(x->judge_old, 2 + m);
		if (!x->judge_old)
			x->judge_mask = 0;
		memmove(x->out, x->out + 2 + m, x->out_len - 2 - m);
		x->out_len -= 2 + m;
	}
	return (int)n;
}

int sim_recv(kh_sock s, void *buf, size_t len)
{
	struct sim *x = sim_of(s);
	size_t n;

	if (x->kind != SIM_STREAM)
		FAIL("recv on a socket that is not a stream");
	if (x->state == ST_RESET)
		return -ECONNRESET;
	if (x->state == ST_REFUSED)
		return -ECONNREFUSED;
	if (!x->in_len)
		return x->state == ST_PEER_CLOSED ? 0 : -EAGAIN;
	n = KH_MIN(len, x->in_len);
	memcpy(buf, x->in, n);
	memmove(x->in, x->in + n, x->in_len - n);
	x->in_len -= n;
	return (int)n;
}

void sim_close(kh_sock s)
{
	struct sim *x;

	if (s < 0)
		return;
	x = sim_of(s);
	if (x->watched)
		FAIL("socket %d closed while the loop still watches it", s);
	x->kind = SIM_FREE;
}

int sim_set_rcvbuf(kh_sock s, int bytes)
{
	(void)sim_of(s);
	return bytes;
}

int sim_fd_add(struct kh_loop *loop, int fd, unsigned events, kh_io_fn fn, void *arg)
{
	struct sim *x = sim_of(fd);

	(void)loop;
	if (x->watched)
		return -EEXIST;
	x->watched = 1;
	x->interest = events;
	x->fn = fn;
	x->arg = arg;
	x->watch_gen++;
	return 0;
}

int sim_fd_mod(struct kh_loop *loop, int fd, unsigned events)
{
	struct sim *x = sim_of(fd);

	(void)loop;
	if (!x->watched)
		return -ENOENT;
	x->interest = events;
	return 0;
}

int sim_fd_del(struct kh_loop *loop, int fd)
{
	struct sim *x;

	(void)loop;
	if (fd < 0)
		return -ENOENT;
	x = sim_of(fd);
	if (!x->watched)
		return -ENOENT;
	x->watched = 0;
	x->watch_gen++;
	return 0;
}

static unsigned sim_ready(const struct sim *x)
{
	unsigned ev = 0;

	switch (x->kind) {
	case SIM_UDP:
		ev = x->qn ? KH_EV_READ : 0;
		break;
	case SIM_LISTEN:
		ev = x->backlog ? KH_EV_READ : 0;
		break;
	case SIM_STREAM:
		if (x->state == ST_RESET || x->state == ST_REFUSED)
			return KH_EV_ERROR | KH_EV_READ | (x->interest & KH_EV_WRITE);
		if (x->in_len || x->state == ST_PEER_CLOSED)
			ev |= KH_EV_READ;
		if (x->state != ST_CONNECTING && x->window != 0)
			ev |= KH_EV_WRITE;
		break;
	default:
		break;
	}
	return ev & (x->interest | KH_EV_ERROR);
}

/*
 * One poll round: collect every ready watched socket, then deliver, skipping
 * one whose watch changed meanwhile (as the loop does). Returns callbacks run.
 */
static int sim_poll(void)
{
	struct {
		int i;
		unsigned ev, gen;
	} ready[SIM_MAX];
	int n = 0;

	for (int i = 0; i < g_nsim; i++)
		if (g_sim[i].kind != SIM_FREE && g_sim[i].watched) {
			unsigned ev = sim_ready(&g_sim[i]);
			if (ev)
				ready[n].i = i, ready[n].ev = ev,
				ready[n++].gen = g_sim[i].watch_gen;
		}
	for (int k = 0; k < n; k++) {
		struct sim *x = &g_sim[ready[k].i];
		if (x->kind == SIM_FREE || !x->watched || x->watch_gen != ready[k].gen)
			continue;
		x->fn(g_loop, SIM_FD0 + ready[k].i, ready[k].ev, x->arg);
	}
	return n;
}

/* The test indexes, from memory: mmap and munmap per input would cost more than the run. */
int sim_fs_map(const char *path, size_t max, struct kh_fs_map *map)
{
	for (int i = 1; i < 3; i++)
		if (strcmp(path, g_idx_path[i]) == 0 && g_idx_len[i] <= max) {
			map->data = g_idx_img[i];
			map->len = g_idx_len[i];
			map->mapped = 0;
			return 0;
		}
	return -ENOENT;
}

void sim_fs_unmap(struct kh_fs_map *map)
{
	map->data = NULL;
	map->len = 0;
}

/* ---------------------------------------------------------------- oracles */

static void check(const char *after)
{
	const char *why;

	if (fz_dns_check_invariants(g_dns, &why) < 0)
		FAIL("after %s: %s", after, why);
}

/*
 * Blocked by the index in force, and by every index in older (a bit per
 * index number): a TCP answer the engine made before a reload and had not
 * yet sent (a client not reading) was right under the lists of its time.
 */
static int blocked_now(const struct kh_dns_name *n, unsigned older)
{
	struct kh_match m;

	older |= 1u << g_cur_index;
	for (int i = 0; i < 3; i++)
		if ((older & (1u << i)) && (i == 0 || !lookup_name(&g_idx[i], n, &m)))
			return 0;
	return 1;
}

/*
 * Every answer a client gets: once per query, and an answer with records
 * names nothing the index in force blocks (the query name, owners, CNAME
 * targets), whether it came from an upstream, across a reload, or the cache.
 */
static void client_answer(const uint8_t *msg, size_t len, unsigned older)
{
	struct kh_dns_name qname;
	struct kh_dns_rr rr;
	size_t off = KH_DNS_HDR_LEN;
	uint16_t id;

	if (len < KH_DNS_HDR_LEN)
		FAIL("an answer shorter than a header");
	id = kh_be16(msg);
	if (!(id & 0x8000))
		return; /* not a query the harness made */
	if (g_answered[id]++)
		FAIL("query %04x answered twice", id);
	if ((kh_be16(msg + 2) & 0xf) != KH_DNS_RC_NOERROR || kh_be16(msg + 4) != 1 ||
	    kh_dns_read_name(msg, len, &off, &qname) < 0 || (off += 4) > len)
		return;
	if (kh_be16(msg + 6) && blocked_now(&qname, older))
		FAIL("query %04x: %s answered though the index in force blocks it", id, qname.text);
	for (unsigned i = 0; i < kh_be16(msg + 6); i++) {
		if (kh_dns_next_rr(msg, len, &off, &rr) < 0)
			FAIL("query %04x: an answer khiend passed on does not parse", id);
		if (blocked_now(&rr.owner, older) ||
		    (rr.target.len && blocked_now(&rr.target, older)))
			FAIL("query %04x: answer names %s, which the index in force blocks", id,
			     rr.target.len ? rr.target.text : rr.owner.text);
	}
}

/* ---------------------------------------------------------------- events */

static const char *const names[] = {
	"example.org",	   "ads.example.com", "cloak.test",	     "x.tc.test",
	"www.example.net", "newly.example",   "a.b.c.d.example.org", "target.example",
};

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A byte from the end of the input: a second stream that does not shift the first. */
static unsigned take_back(struct input *in)
{
	if (!in->n)
		return 0;
	return in->p[--in->n];
}

static size_t build_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype, int edns,
			  uint16_t bufsize)
{
	size_t o = KH_DNS_HDR_LEN;

	memset(out, 0, KH_DNS_HDR_LEN);
	kh_put_be16(out, id);
	kh_put_be16(out + 2, KH_DNS_F_RD);
	kh_put_be16(out + 4, 1);
	o += (size_t)kh_dns_put_name(out + o, name);
	kh_put_be16(out + o, qtype);
	kh_put_be16(out + o + 2, 1);
	o += 4;
	if (edns) {
		kh_put_be16(out + 10, 1);
		out[o] = 0;
		kh_put_be16(out + o + 1, KH_DNS_T_OPT);
		kh_put_be16(out + o + 3, bufsize);
		memset(out + o + 5, 0, 6);
		o += 11;
	}
	return o;
}

static size_t put_rr(uint8_t *p, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
		     size_t rdlen)
{
	size_t o = (size_t)kh_dns_put_name(p, owner);
	kh_put_be16(p + o, type);
	kh_put_be16(p + o + 2, 1);
	kh_put_be16(p + o + 4, (uint16_t)(ttl >> 16));
	kh_put_be16(p + o + 6, (uint16_t)ttl);
	kh_put_be16(p + o + 8, (uint16_t)rdlen);
	memcpy(p + o + 10, rdata, rdlen);
	return o + 10 + rdlen;
}

/* An upstream's answer to the query q (as the engine sent it), of the kind in the input. */
static size_t build_answer(struct input *in, const uint8_t *q, size_t qlen, uint8_t *out,
			   size_t cap)
{
	struct kh_dns_query pq;
	unsigned kind = take(in), ttl = take(in), n;
	uint16_t flags = KH_DNS_F_QR | KH_DNS_F_RD | KH_DNS_F_RA;
	size_t o;
	unsigned an = 0;

	if (kh_dns_parse_query(q, qlen, &pq) != KH_DNS_PARSE_OK || pq.question_end + 2048 > cap)
		return 0;
	memcpy(out, q, pq.question_end);
	o = pq.question_end;
	switch (kind % 10) {
	case 0: /* an address */
	default: {
		uint8_t ip[4] = {198, 19, 0, (uint8_t)ttl};
		o += put_rr(out + o, pq.qname.text, KH_DNS_T_A, ttl, ip, 4);
		an = 1;
		break;
	}
	case 1: { /* a CNAME to target.example (blocked only in index B) */
		uint8_t rd[256], ip[4] = {198, 19, 1, 1};
		o += put_rr(out + o, pq.qname.text, KH_DNS_T_CNAME, ttl, rd,
			    (size_t)kh_dns_put_name(rd, "target.example"));
		o += put_rr(out + o, "target.example", KH_DNS_T_A, ttl, ip, 4);
		an = 2;
		break;
	}
	case 2:
		flags |= KH_DNS_F_TC;
		break;
	case 3:
		flags |= KH_DNS_RC_NXDOMAIN;
		break;
	case 4:
		flags |= KH_DNS_RC_SERVFAIL;
		break;
	case 5: /* many addresses: larger than 512 bytes past about 30 */
		n = take(in) % 64;
		for (unsigned i = 0; i < n; i++) {
			uint8_t ip[4] = {198, 19, 2, (uint8_t)i};
			o += put_rr(out + o, pq.qname.text, KH_DNS_T_A, ttl, ip, 4);
		}
		an = n;
		break;
	case 6: /* another ID */
		kh_put_be16(out, (uint16_t)(kh_be16(out) ^ (1 + ttl)));
		break;
	case 7: /* another question */
		out[KH_DNS_HDR_LEN + 1] ^= 0x20;
		break;
	case 8: /* garbage after the question */
		n = take(in) % 32;
		for (unsigned i = 0; i < n; i++)
			out[o++] = (uint8_t)take(in);
		an = take(in) % 4;
		break;
	case 9: /* a header only */
		o = KH_DNS_HDR_LEN;
		break;
	}
	kh_put_be16(out + 2, flags);
	kh_put_be16(out + 6, (uint16_t)an);
	kh_put_be16(out + 8, 0);
	kh_put_be16(out + 10, 0);
	return o;
}

/* The n-th open socket of a kind matching pred, or NULL. */
static struct sim *pick(unsigned n, int (*pred)(const struct sim *))
{
	int count = 0, k;

	for (int i = 0; i < g_nsim; i++)
		count += g_sim[i].kind != SIM_FREE && pred(&g_sim[i]);
	if (!count)
		return NULL;
	k = (int)(n % (unsigned)count);
	for (int i = 0; i < g_nsim; i++)
		if (g_sim[i].kind != SIM_FREE && pred(&g_sim[i]) && k-- == 0)
			return &g_sim[i];
	return NULL;
}

static int is_client_conn(const struct sim *x)
{
	return x->kind == SIM_STREAM && !x->upstream;
}
static int is_fetch(const struct sim *x)
{
	return x->kind == SIM_STREAM && x->upstream;
}
static int is_listener_udp(const struct sim *x)
{
	return x->kind == SIM_UDP && x->listener;
}
static int is_listener_tcp(const struct sim *x)
{
	return x->kind == SIM_LISTEN;
}

static void push_dgram(struct sim *x, const uint8_t *buf, size_t len, const struct kh_addr *from)
{
	struct dgram *g;

	if (x->qn == QLEN || len > UDP_ANSWER_MAX)
		return;
	g = &x->q[(x->qhead + x->qn++) % QLEN];
	memcpy(g->buf, buf, len);
	g->len = (uint16_t)len;
	g->from = *from;
}

static void push_stream(struct sim *x, const uint8_t *buf, size_t len)
{
	len = KH_MIN(len, STREAM_MAX - x->in_len);
	memcpy(x->in + x->in_len, buf, len);
	x->in_len += len;
}

/*
 * The upstream queries the engine has sent and not yet seen answered, found
 * in the engine's own table (the simulated socket does not keep them).
 */
static struct pending *pick_pending_udp(unsigned n)
{
	int count = 0, k;

	for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++)
		count += g_dns->pend[i].used && g_dns->pend[i].sock >= 0;
	if (!count)
		return NULL;
	k = (int)(n % (unsigned)count);
	for (int i = 0; i < CONFIG_DNS_MAX_INFLIGHT; i++)
		if (g_dns->pend[i].used && g_dns->pend[i].sock >= 0 && k-- == 0)
			return &g_dns->pend[i];
	return NULL;
}

static void ev_client_udp(struct input *in)
{
	struct sim *l = pick(0, is_listener_udp);
	unsigned sel = take(in), flags = take(in);
	uint8_t pkt[512];
	size_t len;
	struct kh_addr from = addr_of(2 + (int)(flags & 3), (uint16_t)(5000 + (flags >> 2)));
	static const uint16_t types[] = {KH_DNS_T_A, KH_DNS_T_AAAA, KH_DNS_T_TXT, KH_DNS_T_HTTPS};

	if (!l)
		return;
	g_next_id = (uint16_t)(g_next_id + 1) | 0x8000;
	len = build_query(pkt, g_next_id, names[sel % KH_ARRAY_SIZE(names)], types[(sel >> 4) % 4],
			  (flags & 0x40) != 0, (uint16_t)(256 + ((flags >> 2) & 0xf) * 64));
	/* EDNS sizes below 512 count as 512 (RFC 6891). */
	g_udp_limit[g_next_id] =
		(flags & 0x40) ? KH_MAX(256 + ((flags >> 2) & 0xf) * 64, 512) : 512;
	push_dgram(l, pkt, len, &from);
}

static void ev_client_raw(struct input *in)
{
	struct sim *l = pick(0, is_listener_udp);
	unsigned n = take(in) % 64;
	uint8_t pkt[64];
	struct kh_addr from = addr_of(9, 5353);

	for (unsigned i = 0; i < n; i++)
		pkt[i] = (uint8_t)take(in);
	if (n >= 2)
		pkt[0] &= 0x7f; /* not an ID the harness tracks */
	if (l)
		push_dgram(l, pkt, n, &from);
}

static void ev_client_tcp_connect(struct input *in)
{
	struct sim *l = pick(0, is_listener_tcp);
	unsigned host = 2 + take_back(in) % 3; /* one of three client addresses */

	if (l && l->backlog < 4)
		l->backlog_host[l->backlog++] = (uint8_t)host;
}

static void ev_client_tcp_bytes(struct input *in)
{
	struct sim *c = pick(take(in), is_client_conn);
	unsigned sel = take(in), split = take(in);
	size_t len, now;

	if (!c || c->state != ST_OPEN)
		return;
	if (!c->rest_len) {
		if (sel == 0xff) { /* a bad length prefix */
			uint8_t bad[2] = {0, 0};
			push_stream(c, bad, 2);
			return;
		}
		g_next_id = (uint16_t)(g_next_id + 1) | 0x8000;
		len = build_query(c->rest + 2, g_next_id, names[sel % KH_ARRAY_SIZE(names)],
				  (sel & 0x80) ? KH_DNS_T_AAAA : KH_DNS_T_A, (split & 1) != 0,
				  1232);
		kh_put_be16(c->rest, (uint16_t)len);
		c->rest_len = len + 2;
	}
	/* All of it, or only a part now and the rest later (a slow client). */
	now = (split & 0x80) ? 1 + (split & 0x3f) % c->rest_len : c->rest_len;
	push_stream(c, c->rest, now);
	memmove(c->rest, c->rest + now, c->rest_len - now);
	c->rest_len -= now;
}

static void stream_close(struct input *in, int fetch)
{
	struct sim *c = pick(take(in), fetch ? is_fetch : is_client_conn);
	unsigned how = take(in);

	if (!c)
		return;
	if (c->state == ST_CONNECTING && fetch)
		c->state = (how & 1) ? ST_REFUSED : ST_RESET;
	else
		c->state = (how & 1) ? ST_PEER_CLOSED : ST_RESET;
}

static void ev_client_tcp_close(struct input *in)
{
	stream_close(in, 0);
}

static void ev_upstream_tcp_close(struct input *in)
{
	stream_close(in, 1);
}

static void ev_window(struct input *in)
{
	struct sim *c = pick(take(in), is_client_conn);
	unsigned w = take(in);

	if (c)
		c->window = w == 0xff ? -1 : (int)(w % 64);
}

static void ev_upstream_udp(struct input *in)
{
	struct pending *p = pick_pending_udp(take(in));
	unsigned src = take(in);
	uint8_t ans[UDP_ANSWER_MAX];
	size_t len;
	struct kh_addr from;

	if (!p)
		return;
	from = g_dns->up[p->up].addr;
	if (src & 1) /* from the other upstream, or another port: spoofed */
		from.port = (uint16_t)(from.port + 1 + (src & 2));
	len = build_answer(in, p->pkt, p->pkt_len, ans, sizeof(ans));
	if (len)
		push_dgram(&g_sim[g_dns->socks[p->sock].fd - SIM_FD0], ans, len, &from);
}

static void ev_upstream_tcp_accept(struct input *in)
{
	struct sim *c = pick(take(in), is_fetch);

	if (c && c->state == ST_CONNECTING)
		c->state = ST_OPEN;
}

static void ev_upstream_tcp_answer(struct input *in)
{
	struct sim *c = pick(take(in), is_fetch);
	unsigned split = take(in);
	uint8_t ans[2 + 4096];
	size_t len, qlen;

	if (!c || c->state != ST_OPEN || c->out_len < 2)
		return;
	qlen = kh_be16(c->out);
	if (c->out_len < 2 + qlen)
		return;
	len = build_answer(in, c->out + 2, qlen, ans + 2, sizeof(ans) - 2);
	if (!len)
		return;
	kh_put_be16(ans, (uint16_t)len);
	if (split & 0x80)
		push_stream(c, ans, 1 + (split & 0x7f) % (len + 1));
	else
		push_stream(c, ans, len + 2);
	if (split & 0x40) /* the next answer on this connection starts afresh */
		c->out_len = 0;
}

static void ev_clock(struct input *in)
{
	unsigned b = take(in);
	uint64_t ms = (b & 0x80) ? (uint64_t)(b & 0x7f) * 250 : b & 0x7f;

	kh_test_clock_advance(ms);
	kh_loop_run_once(g_loop, 0);
}

static void ev_reload(struct input *in)
{
	unsigned which = take(in) % 3;
	const char *why;

	if (which == 0) {
		/* A file that is not an index: refused, the current one stays. */
		if (fz_dns_load_index(g_dns, "fuzz:missing", &why) == 0)
			FAIL("a missing index was loaded");
		return;
	}
	for (int i = 0; i < CONFIG_DNS_TCP_MAX_CLIENTS; i++) {
		const struct tcp_conn *c = &g_dns->conns[i];
		struct sim *x;
		if (!c->used)
			continue;
		x = sim_of(c->fd);
		if (x->out_len + c->tx_len - c->tx_off) {
			x->judge_old = x->out_len + c->tx_len - c->tx_off;
			x->judge_mask |= 1u << g_cur_index;
		}
	}
	if (fz_dns_load_index(g_dns, g_idx_path[which], &why) < 0)
		FAIL("index %u did not load: %s", which, why);
	g_cur_index = (int)which;
}

static void ev_poll(struct input *in)
{
	(void)in; /* the poll after every event does it */
}

/* Event codes: the input's byte modulo the table's size. */
static const struct {
	const char *what;
	void (*fn)(struct input *in);
} events_table[] = {
	{"client UDP query", ev_client_udp},
	{"client raw datagram", ev_client_raw},
	{"client TCP connect", ev_client_tcp_connect},
	{"client TCP bytes", ev_client_tcp_bytes},
	{"client TCP close", ev_client_tcp_close},
	{"upstream UDP answer", ev_upstream_udp},
	{"upstream TCP accept", ev_upstream_tcp_accept},
	{"upstream TCP answer", ev_upstream_tcp_answer},
	{"upstream TCP close", ev_upstream_tcp_close},
	{"clock step", ev_clock},
	{"index reload", ev_reload},
	{"client TCP window", ev_window},
	{"poll", ev_poll},
};

/* ---------------------------------------------------------------- setup */

static int build_index(int which, const char *list)
{
	struct kh_compiler *c;
	struct kh_compile_result r;
	struct kh_list_stats st;
	static const uint64_t seed[2] = {1, 2};
	int ok;

	if (kh_compiler_new(&c, seed) < 0)
		return -1;
	kh_compiler_parse(c, kh_compiler_add_source(c, "malware", "m", KH_FMT_DOMAINS), list,
			  strlen(list), KH_FMT_DOMAINS, NULL, NULL, &st);
	ok = kh_compiler_build(c, 0, &g_idx_img[which], &g_idx_len[which], &r) == 0 &&
	     kh_index_open(&g_idx[which], g_idx_img[which], g_idx_len[which], NULL) == 0;
	kh_compiler_free(c);
	return ok ? 0 : -1;
}

static void setup_once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	kh_log_set_level(KH_LOG_ERROR);
	if (build_index(1, "ads.example.com\n") < 0 ||
	    build_index(2, "ads.example.com\ntarget.example\nnewly.example\n") < 0)
		FAIL("cannot build the test indexes");
	if (kh_loop_new(&g_loop) < 0)
		FAIL("no loop");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_agent_config cfg;
	static const uint8_t key[32];
	struct input in = {data, size};
	const char *why;
	int events = 0;

	setup_once();
	for (int i = 0; i < g_nsim; i++)
		g_sim[i].kind = SIM_FREE;
	g_nsim = 0;
	/* The last run used IDs 0x8000 .. g_next_id only. */
	if (g_next_id)
		memset(g_answered + 0x8000, 0, (size_t)g_next_id - 0x8000 + 1);
	g_next_id = 0;
	kh_test_rand_seed(1);
	kh_config_defaults(&cfg);
	cfg.listen[0] = addr_of(1, 53);
	cfg.upstream[0] = addr_of(53, 53);
	cfg.upstream[1] = addr_of(54, 53);
	{
		unsigned b0 = take(&in), b1 = take(&in);
		cfg.nupstream = 1 + (b0 & 1);
		cfg.timeout_ms = 200 + 100 * (b1 % 16);
		cfg.tcp_per_client = 1 + (b0 >> 1) % CONFIG_DNS_TCP_MAX_CLIENTS;
		cfg.tcp_message_ms = 100 + 400 * ((b0 >> 3) & 7);
		cfg.tcp_idle_ms = 500 + 2000 * (b1 >> 4);
		cfg.inflight_per_client = CONFIG_DNS_MAX_INFLIGHT >> (b0 >> 6);
	}
	if (fz_dns_new(g_loop, &cfg, key, &g_dns, &why) < 0)
		FAIL("kh_dns_new: %s", why);
	g_cur_index = 0;
	if (take(&in) & 1) {
		if (fz_dns_load_index(g_dns, g_idx_path[1], &why) < 0)
			FAIL("index: %s", why);
		g_cur_index = 1;
	}
	check("start");
	while (in.n && events++ < 512) {
		unsigned op = take(&in) % KH_ARRAY_SIZE(events_table);
		events_table[op].fn(&in);
		check(events_table[op].what);
		/* Deliver what became ready (a bounded number of rounds: a spin is a finding). */
		for (int round = 0; sim_poll() > 0; round++) {
			if (round > 64)
				FAIL("after %s: sockets stay ready (the engine spins)",
				     events_table[op].what);
			check(events_table[op].what);
		}
	}
	/* Liveness: once the clock moves past every deadline, nothing is pending. */
	for (int i = 0; i < 8 && g_dns->inflight; i++) {
		kh_test_clock_advance(cfg.timeout_ms + 1);
		kh_loop_run_once(g_loop, 0);
		sim_poll();
		check("the final timeouts");
	}
	if (g_dns->inflight)
		FAIL("%u queries still pending long after every deadline", g_dns->inflight);
	fz_dns_free(g_dns);
	g_dns = NULL;
	for (int i = 0; i < g_nsim; i++)
		if (g_sim[i].kind != SIM_FREE)
			FAIL("socket %d left open after kh_dns_free", SIM_FD0 + i);
	return 0;
}
