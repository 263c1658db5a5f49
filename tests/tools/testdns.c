/* SPDX-License-Identifier: MIT */
/*
 * khien-testdns: a small authoritative-style responder that plays the
 * upstream resolver in tests and benchmarks. It answers every name with an
 * address derived from the name (198.19.ID.x / 2001:db8::ID:x, ID from
 * --id) and misbehaves on request, by name:
 *
 *   *.timeout.test     never answers
 *   *.slow.test        answers after --slow-delay ms (300)
 *   *.nx.test          NXDOMAIN
 *   *.servfail.test    SERVFAIL
 *   *.tc.test          over UDP: TC set, no records; over TCP: 40 A records
 *   *.tcsilent.test    over UDP: TC set; over TCP: the query is read, never answered
 *   *.tcslow.test      over UDP: TC set; over TCP: 40 A records after --tcp-delay ms (1000)
 *   *.tcclose.test     over UDP: TC set; over TCP: the connection is closed on the query
 *   *.wrongid.test     first an answer with a wrong ID, then the right one
 *   *.wrongq.test      first an answer to another question, then the right one
 *   *.spoof.test       first a forged answer (6.6.6.6) from another port, then the right one
 *   *.iptrigger.test   A 198.18.0.66 (inside the sample RPZ IP trigger)
 *   *.big.test         40 A records over UDP too (about 700 bytes, more than 512)
 *   *.hdrptr.test      a CNAME whose target is a compression pointer into the header
 *   --cname FROM=TO    FROM answers CNAME TO, then TO's address (a chain if TO has one too)
 *
 * usage: khien-testdns --listen ADDR:PORT [--id N] [--slow-delay MS] [--tcp-delay MS]
 *                      [--cname FROM=TO]...
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/dns_wire.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/fnv.h"
#include "lib/str.h"
#include "platform/loop.h"
#include "platform/net.h"

#define MAXC 32

static struct {
	char from[256], to[256];
} cnames[MAXC];
static int ncnames, g_id = 1, g_tcp_delay = 1000, g_slow_delay = 300;
static kh_sock g_udp, g_spoof, g_tcp_l;
static struct kh_loop *g_loop;

struct delayed {
	struct kh_timer t;
	uint8_t msg[512];
	size_t len;
	struct kh_addr to;
	int used;
};
static struct delayed g_delay[256];

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0 && (a == b || s[a - b - 1] == '.');
}

/* Names truncated over UDP (each behaves differently over TCP). */
static int truncated(const char *name)
{
	return ends_with(name, "tc.test") || ends_with(name, "tcsilent.test") ||
	       ends_with(name, "tcslow.test") || ends_with(name, "tcclose.test");
}

static uint32_t fnv(const char *s)
{
	return kh_fnv1a32(KH_FNV32_BASIS, s);
}

static size_t put_rr(uint8_t *p, const char *owner, uint16_t type, const void *rdata, size_t rdlen)
{
	size_t o = (size_t)kh_dns_put_name(p, owner);
	kh_put_be16(p + o, type);
	kh_put_be16(p + o + 2, 1);
	p[o + 4] = 0;
	p[o + 5] = 0;
	p[o + 6] = 0x01;
	p[o + 7] = 0x2c; /* TTL 300 */
	kh_put_be16(p + o + 8, (uint16_t)rdlen);
	memcpy(p + o + 10, rdata, rdlen);
	return o + 10 + rdlen;
}

static const char *cname_of(const char *name)
{
	for (int i = 0; i < ncnames; i++)
		if (strcmp(cnames[i].from, name) == 0)
			return cnames[i].to;
	return NULL;
}

/* Build the answer for q into out; returns length, 0 for "no answer". */
static size_t answer(const uint8_t *pkt, const struct kh_dns_query *q, int tcp, uint8_t *out,
		     size_t cap)
{
	const char *name = q->qname.text;
	uint16_t flags = KH_DNS_F_QR | KH_DNS_F_AA | (q->flags & KH_DNS_F_RD) | KH_DNS_F_RA;
	size_t o = q->question_end;
	unsigned an = 0;
	char cur[256];

	if (ends_with(name, "timeout.test") || q->question_end > cap)
		return 0;
	memcpy(out, pkt, q->question_end);
	if (ends_with(name, "nx.test"))
		flags |= KH_DNS_RC_NXDOMAIN;
	else if (ends_with(name, "servfail.test"))
		flags |= KH_DNS_RC_SERVFAIL;
	else if (truncated(name) && !tcp)
		flags |= KH_DNS_F_TC;
	else if (ends_with(name, "hdrptr.test")) {
		/* Offset 4 holds QDCOUNT's high byte, 0: the root name, if header pointers passed. */
		static const uint8_t ptr[2] = {0xc0, 0x04};
		o += put_rr(out + o, name, KH_DNS_T_CNAME, ptr, sizeof(ptr));
		an++;
	} else {
		kh_strlcpy(cur, name, sizeof(cur));
		for (int hop = 0; hop < 8; hop++) {
			const char *to = cname_of(cur);
			uint8_t rd[256];
			if (!to)
				break;
			o += put_rr(out + o, cur, KH_DNS_T_CNAME, rd,
				    (size_t)kh_dns_put_name(rd, to));
			an++;
			kh_strlcpy(cur, to, sizeof(cur));
		}
		int count = truncated(name) || ends_with(name, "big.test") ? 40 : 1;
		for (int i = 0; i < count && o + 300 < cap; i++) {
			uint32_t h = fnv(cur) + (uint32_t)i;
			if (q->qtype == KH_DNS_T_A) {
				uint8_t ip[4] = {198, 19, (uint8_t)g_id, (uint8_t)h};
				if (ends_with(name, "iptrigger.test"))
					ip[1] = 18, ip[2] = 0, ip[3] = 66;
				o += put_rr(out + o, cur, KH_DNS_T_A, ip, 4);
				an++;
			} else if (q->qtype == KH_DNS_T_AAAA) {
				uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
				ip[13] = (uint8_t)g_id;
				ip[15] = (uint8_t)h;
				o += put_rr(out + o, cur, KH_DNS_T_AAAA, ip, 16);
				an++;
			}
		}
	}
	kh_put_be16(out + 2, flags);
	kh_put_be16(out + 6, (uint16_t)an);
	kh_put_be16(out + 8, 0);
	kh_put_be16(out + 10, 0);
	return o;
}

static void fire_delayed(struct kh_loop *loop, void *arg)
{
	struct delayed *dl = arg;
	(void)loop;
	kh_net_sendto(g_udp, dl->msg, dl->len, &dl->to);
	dl->used = 0;
}

static void send_later(const uint8_t *msg, size_t len, const struct kh_addr *to, unsigned ms)
{
	for (int i = 0; i < 256; i++)
		if (!g_delay[i].used && len <= sizeof(g_delay[i].msg)) {
			struct delayed *dl = &g_delay[i];
			dl->used = 1;
			memcpy(dl->msg, msg, len);
			dl->len = len;
			dl->to = *to;
			kh_timer_init(&dl->t, fire_delayed, dl);
			kh_timer_arm(g_loop, &dl->t, ms);
			return;
		}
}

static void udp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	static uint8_t in[64][1500], out[64][4096];
	struct kh_dgram v[64], o[64];
	int n, no = 0;

	(void)loop;
	(void)ev;
	(void)arg;
	for (int i = 0; i < 64; i++)
		v[i] = (struct kh_dgram){in[i], sizeof(in[i]), 0, {0}};
	n = kh_net_recv_batch(fd, v, 64);
	for (int i = 0; i < n; i++) {
		struct kh_dns_query q;
		size_t len;
		const char *name;
		if (kh_dns_parse_query(v[i].buf, v[i].len, &q) != KH_DNS_PARSE_OK)
			continue;
		len = answer(v[i].buf, &q, 0, out[no], sizeof(out[no]));
		if (!len)
			continue;
		name = q.qname.text;
		if (ends_with(name, "slow.test")) {
			send_later(out[no], len, &v[i].peer, (unsigned)g_slow_delay);
			continue;
		}
		if (ends_with(name, "wrongid.test")) {
			uint8_t bad[4096];
			memcpy(bad, out[no], len);
			kh_put_be16(bad, (uint16_t)(q.id + 1));
			kh_net_sendto(fd, bad, len, &v[i].peer);
			send_later(out[no], len, &v[i].peer, 50);
			continue;
		}
		if (ends_with(name, "wrongq.test")) {
			uint8_t bad[4096];
			memcpy(bad, out[no], len);
			bad[KH_DNS_HDR_LEN + 1] ^= 0x01; /* another first letter */
			kh_net_sendto(fd, bad, len, &v[i].peer);
			send_later(out[no], len, &v[i].peer, 50);
			continue;
		}
		if (ends_with(name, "spoof.test") && q.qtype == KH_DNS_T_A && len >= 4) {
			uint8_t bad[4096];
			memcpy(bad, out[no], len);
			memcpy(bad + len - 4, "\x06\x06\x06\x06", 4);
			kh_net_sendto(g_spoof, bad, len, &v[i].peer); /* from another port */
			send_later(out[no], len, &v[i].peer, 50);
			continue;
		}
		o[no] = (struct kh_dgram){out[no], sizeof(out[no]), len, v[i].peer};
		no++;
	}
	if (no)
		kh_net_send_batch(fd, o, (unsigned)no);
}

struct tconn {
	int fd, used;
	uint8_t buf[4096];
	size_t len;
	struct kh_timer late; /* a *.tcslow.test answer waiting in out */
	uint8_t out[8192];
	size_t out_len;
};
static struct tconn g_tc[32];

static void tcp_write_all(int fd, const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		int w = kh_net_send(fd, p + off, len - off);
		if (w == -EAGAIN) {
			usleep(1000);
			continue;
		}
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static void tcp_conn_close(struct kh_loop *loop, struct tconn *c)
{
	kh_timer_cancel(loop, &c->late);
	kh_loop_fd_del(loop, c->fd);
	kh_net_close(c->fd);
	c->used = 0;
}

static void fire_late(struct kh_loop *loop, void *arg)
{
	struct tconn *c = arg;
	(void)loop;
	if (c->used)
		tcp_write_all(c->fd, c->out, c->out_len);
}

static void tcp_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct tconn *c = arg;
	int n;

	(void)ev;
	n = kh_net_recv(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		tcp_conn_close(loop, c);
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2 && c->len >= (size_t)kh_be16(c->buf) + 2) {
		size_t ql = kh_be16(c->buf);
		struct kh_dns_query q;
		uint8_t out[8192];
		if (kh_dns_parse_query(c->buf + 2, ql, &q) == KH_DNS_PARSE_OK) {
			const char *name = q.qname.text;
			size_t len = answer(c->buf + 2, &q, 1, out + 2, sizeof(out) - 2);
			if (ends_with(name, "tcclose.test")) {
				tcp_conn_close(loop, c);
				return;
			}
			if (len && ends_with(name, "tcslow.test")) {
				kh_put_be16(c->out, (uint16_t)len);
				memcpy(c->out + 2, out + 2, len);
				c->out_len = len + 2;
				kh_timer_arm(loop, &c->late, (uint64_t)g_tcp_delay);
			} else if (len && !ends_with(name, "tcsilent.test")) {
				kh_put_be16(out, (uint16_t)len);
				tcp_write_all(fd, out, len + 2);
			}
		}
		memmove(c->buf, c->buf + 2 + ql, c->len - 2 - ql);
		c->len -= 2 + ql;
	}
}

static void accept_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	kh_sock s;
	(void)ev;
	(void)arg;
	while (kh_net_tcp_accept(fd, &s, NULL) == 0) {
		int i;
		for (i = 0; i < 32 && g_tc[i].used; i++)
			;
		if (i == 32 || kh_loop_fd_add(loop, s, KH_EV_READ, tcp_cb, &g_tc[i]) < 0) {
			kh_net_close(s);
			continue;
		}
		g_tc[i].used = 1;
		g_tc[i].fd = s;
		g_tc[i].len = 0;
		kh_timer_init(&g_tc[i].late, fire_late, &g_tc[i]);
	}
}

static void on_term(struct kh_loop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	kh_loop_stop(loop);
}

int main(int argc, char **argv)
{
	struct kh_addr addr, spoof;
	const char *listen = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			g_id = atoi(argv[++i]);
		else if (strcmp(argv[i], "--slow-delay") == 0 && i + 1 < argc)
			g_slow_delay = atoi(argv[++i]);
		else if (strcmp(argv[i], "--tcp-delay") == 0 && i + 1 < argc)
			g_tcp_delay = atoi(argv[++i]);
		else if (strcmp(argv[i], "--cname") == 0 && i + 1 < argc && ncnames < MAXC) {
			char *eq = strchr(argv[++i], '=');
			if (!eq)
				return 2;
			*eq = 0;
			kh_strlcpy(cnames[ncnames].from, argv[i], 256);
			kh_strlcpy(cnames[ncnames].to, eq + 1, 256);
			ncnames++;
		} else {
			fprintf(stderr,
				"usage: khien-testdns --listen ADDR:PORT [--id N] [--tcp-delay MS] "
				"[--cname FROM=TO]...\n");
			return 2;
		}
	}
	if (!listen || kh_addr_parse(listen, 53, &addr) < 0) {
		fprintf(stderr, "khien-testdns: --listen ADDR:PORT required\n");
		return 2;
	}
	spoof = addr;
	spoof.port = 0;
	if (kh_loop_new(&g_loop) < 0 || kh_net_udp_open(&addr, &g_udp) < 0 ||
	    kh_net_udp_open(&spoof, &g_spoof) < 0 || kh_net_tcp_listen(&addr, 64, &g_tcp_l) < 0) {
		fprintf(stderr, "khien-testdns: cannot listen on %s\n", listen);
		return 3;
	}
	kh_loop_fd_add(g_loop, g_udp, KH_EV_READ, udp_cb, NULL);
	kh_loop_fd_add(g_loop, g_tcp_l, KH_EV_READ, accept_cb, NULL);
	kh_loop_signal_add(g_loop, SIGTERM, on_term, NULL);
	kh_loop_signal_add(g_loop, SIGINT, on_term, NULL);
	kh_loop_run(g_loop);
	kh_loop_free(g_loop);
	return 0;
}
