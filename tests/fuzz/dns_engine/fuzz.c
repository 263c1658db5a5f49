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
 * The engine runs on the simulated network of tests/helpers/dns_sim.c
 * (shared with tests/unit/test_dns_engine.c), compiled into this file with
 * small tables so that full tables, reused slots and evictions happen
 * within a few events. Everything is deterministic.
 */

#include "tests/helpers/dns_sim.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_answered[65536];   /* per tracked client query ID */
static uint16_t g_udp_limit[65536]; /* the largest UDP answer its client takes */
static uint16_t g_next_id;
static int g_cur_index; /* which index the engine has: 0 none, 1 A, 2 B */
static const char *const g_idx_path[3] = {"", "fuzz:index-a", "fuzz:index-b"};

/* ---------------------------------------------------------------- oracles */

static void check(const char *after)
{
	const char *why;

	if (sim_dns_check_invariants(g_dns, &why) < 0)
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
		if ((older & (1u << i)) && (i == 0 || !lookup_name(&sim_idx[i].idx, n, &m)))
			return 0;
	return 1;
}

/*
 * Every answer a client gets: once per query, and an answer with records
 * names nothing the index in force blocks (the query name, owners, CNAME
 * targets), whether it came from an upstream, across a reload, or the cache.
 */
static void client_answer(const uint8_t *msg, size_t len, int udp, unsigned older)
{
	struct kh_dns_name qname;
	struct kh_dns_rr rr;
	size_t off = KH_DNS_HDR_LEN;
	uint16_t id = len >= 2 ? kh_be16(msg) : 0;

	if (udp && (id & 0x8000) && len > g_udp_limit[id])
		FAIL("query %04x: a %zu-byte UDP answer to a client that takes %u", id, len,
		     g_udp_limit[id]);
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
		if (sim_dns_load_index(g_dns, "fuzz:missing", &why) == 0)
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
	if (sim_dns_load_index(g_dns, g_idx_path[which], &why) < 0)
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

static void setup_once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	kh_log_set_level(KH_LOG_ERROR);
	if (sim_index_build(1, g_idx_path[1], "malware", "ads.example.com\n") < 0 ||
	    sim_index_build(2, g_idx_path[2], "malware",
			    "ads.example.com\ntarget.example\nnewly.example\n") < 0)
		FAIL("cannot build the test indexes");
	if (kh_loop_new(&g_loop) < 0)
		FAIL("no loop");
	sim_answer_hook = client_answer;
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
	if (sim_dns_new(g_loop, &cfg, key, &g_dns, &why) < 0)
		FAIL("kh_dns_new: %s", why);
	g_cur_index = 0;
	if (take(&in) & 1) {
		if (sim_dns_load_index(g_dns, g_idx_path[1], &why) < 0)
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
	sim_dns_free(g_dns);
	g_dns = NULL;
	for (int i = 0; i < g_nsim; i++)
		if (g_sim[i].kind != SIM_FREE)
			FAIL("socket %d left open after kh_dns_free", SIM_FD0 + i);
	return 0;
}
