/* SPDX-License-Identifier: MIT */
/*
 * The DNS engine on a simulated network, for in-process tests of its state
 * machine: the engine fuzz harness (tests/fuzz/dns_engine) and the engine
 * unit test (tests/unit/test_dns_engine.c) include this file, once, as
 * their first code. It compiles the whole agent/dns*.c family into the
 * includer with small tables, its socket and fd-watch calls renamed to the
 * simulation below (timers stay on the real loop, driven by the fake clock
 * of platform/test; index files are images in memory), so that full
 * tables, reused slots and evictions happen within a few events. The
 * simulation is strict: a socket used or closed after close, or closed
 * while watched, aborts. Everything is deterministic.
 *
 * The includer sees the engine's private state (dns_priv.h) and drives the
 * network by hand: push_dgram / push_stream deliver bytes, socket states
 * say what the peer did, sim_poll runs the engine's callbacks, and
 * sim_answer_hook sees every answer a client gets.
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
#define kh_dns_new sim_dns_new
#define kh_dns_free sim_dns_free
#define kh_dns_load_index sim_dns_load_index
#define kh_dns_has_index sim_dns_has_index
#define kh_dns_set_isp_profiles sim_dns_set_isp_profiles
#define kh_dns_status sim_dns_status
#define kh_dns_health sim_dns_health
#define kh_dns_check sim_dns_check
#define kh_dns_set_event_hook sim_dns_set_event_hook
#define kh_dns_check_invariants sim_dns_check_invariants

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

/* The whole family in this one file, its internal functions static to it. */
#define DNS_PRIV static
#include "agent/dns.c"
#include "agent/dns_cache.c"
#include "agent/dns_ctl.c"
#include "agent/dns_serve.c"
#include "agent/dns_upstream.c"
#include "agent/dns_profile.c"

#include <stddef.h>

#include "tools/khien-policy/compile.h"
#include "platform/test/test_platform.h"

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

/* Test indexes by path, images in memory (mmap and munmap per fuzz input would cost more). */
#define SIM_INDEXES 4
struct sim_index {
	const char *path;
	uint8_t *img;
	size_t len;
	struct kh_index idx; /* for oracles */
};

/* The simulation's state; the includer reads and drives it. */
extern struct sim g_sim[SIM_MAX];
extern int g_nsim; /* sockets at index >= g_nsim were never opened in this run */
extern struct kh_loop *g_loop;
extern struct kh_dns *g_dns;
extern unsigned g_port;
extern struct sim_index sim_idx[SIM_INDEXES];
/*
 * Every answer a client gets: UDP (udp = 1) or a complete TCP message;
 * older is the bit mask of indexes an answer made before a reload was
 * made under (see struct sim, judge_old).
 */
extern void (*sim_answer_hook)(const uint8_t *msg, size_t len, int udp, unsigned older);

struct sim *sim_of(kh_sock fd);
int sim_new(enum sim_kind kind, kh_sock *out);
struct kh_addr addr_of(int last, uint16_t port);
unsigned sim_ready(const struct sim *x);
int sim_poll(void);
/* Build index number which from a domains list in category and register it under path. */
int sim_index_build(int which, const char *path, const char *category, const char *list);
size_t build_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype, int edns,
		   uint16_t bufsize);
size_t put_rr(uint8_t *p, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
	      size_t rdlen);
struct sim *pick(unsigned n, int (*pred)(const struct sim *));
int is_client_conn(const struct sim *x);
int is_fetch(const struct sim *x);
int is_listener_udp(const struct sim *x);
int is_listener_tcp(const struct sim *x);
void push_dgram(struct sim *x, const uint8_t *buf, size_t len, const struct kh_addr *from);
void push_stream(struct sim *x, const uint8_t *buf, size_t len);
struct pending *pick_pending_udp(unsigned n);

struct sim g_sim[SIM_MAX];
int g_nsim;
struct kh_loop *g_loop;
struct kh_dns *g_dns;
unsigned g_port = 40000;
struct sim_index sim_idx[SIM_INDEXES];
void (*sim_answer_hook)(const uint8_t *msg, size_t len, int udp, unsigned older);

#define FAIL(...)                                            \
	do {                                                 \
		fprintf(stderr, "dns_engine: " __VA_ARGS__); \
		fprintf(stderr, "\n");                       \
		abort();                                     \
	} while (0)

struct sim *sim_of(kh_sock fd)
{
	int i = fd - SIM_FD0;

	if (i < 0 || i >= SIM_MAX || g_sim[i].kind == SIM_FREE)
		FAIL("use of socket %d, which is not open", fd);
	return &g_sim[i];
}

int sim_new(enum sim_kind kind, kh_sock *out)
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

struct kh_addr addr_of(int last, uint16_t port)
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

int sim_sendto(kh_sock s, const void *buf, size_t len, const struct kh_addr *to)
{
	struct sim *x = sim_of(s);

	if (x->kind != SIM_UDP)
		FAIL("sendto on a socket that is not UDP");
	(void)to;
	/* Queries to upstreams are answered from the engine's own table (see pick_pending_udp). */
	if (x->listener && sim_answer_hook)
		sim_answer_hook(buf, len, 1, 0);
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
		if (sim_answer_hook)
			sim_answer_hook(x->out + 2, m, 0, x->judge_old ? x->judge_mask : 0);
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

unsigned sim_ready(const struct sim *x)
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
int sim_poll(void)
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

int sim_fs_map(const char *path, size_t max, struct kh_fs_map *map)
{
	for (int i = 0; i < SIM_INDEXES; i++)
		if (sim_idx[i].path && strcmp(path, sim_idx[i].path) == 0 &&
		    sim_idx[i].len <= max) {
			map->data = sim_idx[i].img;
			map->len = sim_idx[i].len;
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

size_t build_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype, int edns,
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

size_t put_rr(uint8_t *p, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
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

struct sim *pick(unsigned n, int (*pred)(const struct sim *))
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

int is_client_conn(const struct sim *x)
{
	return x->kind == SIM_STREAM && !x->upstream;
}
int is_fetch(const struct sim *x)
{
	return x->kind == SIM_STREAM && x->upstream;
}
int is_listener_udp(const struct sim *x)
{
	return x->kind == SIM_UDP && x->listener;
}
int is_listener_tcp(const struct sim *x)
{
	return x->kind == SIM_LISTEN;
}

void push_dgram(struct sim *x, const uint8_t *buf, size_t len, const struct kh_addr *from)
{
	struct dgram *g;

	if (x->qn == QLEN || len > UDP_ANSWER_MAX)
		return;
	g = &x->q[(x->qhead + x->qn++) % QLEN];
	memcpy(g->buf, buf, len);
	g->len = (uint16_t)len;
	g->from = *from;
}

void push_stream(struct sim *x, const uint8_t *buf, size_t len)
{
	len = KH_MIN(len, STREAM_MAX - x->in_len);
	memcpy(x->in + x->in_len, buf, len);
	x->in_len += len;
}

/*
 * The upstream queries the engine has sent and not yet seen answered, found
 * in the engine's own table (the simulated socket does not keep them).
 */
struct pending *pick_pending_udp(unsigned n)
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

int sim_index_build(int which, const char *path, const char *category, const char *list)
{
	struct kh_compiler *c;
	struct kh_compile_result r;
	struct kh_list_stats st;
	static const uint64_t seed[2] = {1, 2};
	struct sim_index *x = &sim_idx[which];
	int ok;

	if (kh_compiler_new(&c, seed) < 0)
		return -1;
	kh_compiler_parse(c, kh_compiler_add_source(c, category, "m", KH_FMT_DOMAINS), list,
			  strlen(list), KH_FMT_DOMAINS, NULL, NULL, &st);
	ok = kh_compiler_build(c, 0, &x->img, &x->len, &r) == 0 &&
	     kh_index_open(&x->idx, x->img, x->len, NULL) == 0;
	kh_compiler_free(c);
	x->path = path;
	return ok ? 0 : -1;
}
