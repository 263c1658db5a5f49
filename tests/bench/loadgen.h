/* SPDX-License-Identifier: MIT */
/*
 * khien-loadgen's shared state (tests/bench/loadgen.c has the overview):
 * the simulated devices, the connection slots and the run's counters, and
 * the calls between its three parts: loadgen.c (options, phases, results),
 * loadgen_ids.c (device identities issued and cached) and loadgen_conn.c
 * (one TLS connection slot's state machine and its requests).
 */
#ifndef KHIEN_TESTS_BENCH_LOADGEN_H
#define KHIEN_TESTS_BENCH_LOADGEN_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/proto.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/net.h"
#include "platform/proc.h"
#include "platform/time.h"
#include "server/server.h"

#define IN_CAP 8192
#define OP_TIMEOUT_MS 15000 /* one connect+handshake+request, or one request */
#define RETRY_MS 20	    /* pause of a connection slot after a failure */
#define LAT_MAX (32u << 20) /* latency samples kept */
#define IDS_MAGIC "khien-loadgen identities v1"
#define HOLD_PARALLEL 128 /* hold: connections being opened at once */
#define MAX_CONNS 100000u
#define MAX_DEVICES 1000000u

enum mode {
	M_PROVISION,
	M_CHECKIN,
	M_EVENTS,
	M_HOLD
};

/* Errors by kind: what the summary and the JSON count separately. */
enum ekind {
	E_CONNECT,
	E_TLS,
	E_CERT,
	E_IO,
	E_CLOSED,
	E_HTTP,
	E_BADRESP,
	E_TIMEOUT,
	E_COUNT
};

enum sst {
	S_IDLE,
	S_CONNECT,
	S_HANDSHAKE,
	S_SEND,
	S_RECV,
	S_HOLD
};

struct dev {
	char serial[KH_SERIAL_MAX + 1];
	char *key_pem, *cert_pem;
	size_t key_len, cert_len;
	struct kh_tls_conf *conf;
	struct kh_tls_session *sess;
	uint64_t next_seq; /* events: next sequence number to send */
	uint64_t queries;  /* fake DNS counters for the check-in status */
	int busy;
};

struct lg;

struct slot {
	struct lg *g;
	unsigned idx;
	struct dev *dev;
	enum sst st;
	kh_sock fd;
	struct kh_tls *tls;
	struct kh_timer timer; /* operation timeout, or retry delay when idle */
	unsigned watching;
	char *out;
	size_t out_len, out_off;
	uint8_t *in;
	size_t in_len;
	int head_len;
	struct kh_http_resp resp;
	uint64_t t_start; /* ns: check-in from connect; upload from its request */
	uint64_t sent_upto;
	int checked_in; /* events: the first check-in on this connection is done */
	int resumed;
};

struct opts {
	enum mode mode;
	const char *dir, *connect, *ids, *prefix;
	unsigned devices, conns, batch, duration_s, ramp_s, parallel;
	int resume, quiet;
	double max_err_pct;
	long server_pid;
};

struct lg {
	struct opts o;
	struct kh_loop *loop;
	struct kh_addr addr;
	char host[256];
	uint32_t idle_timeout_ms;
	char *ca_pem;
	size_t ca_len;
	struct dev *devs;
	unsigned ndevs, next_dev;
	struct slot *slots;
	unsigned nslots;
	struct kh_timer tick, stop;

	/* phases: warm-up (checkin), measuring, holding (hold), done */
	int warming, measuring, stopping;
	unsigned warm_next, warm_done;
	uint64_t t0, t_end, t_last_tick; /* ns */
	uint64_t last_count;

	/* results in the measured window */
	uint64_t ok, resumed, events_sent, events_stored, batches;
	uint64_t err[E_COUNT];
	char err_msg[E_COUNT][160];
	uint32_t *lat; /* microseconds */
	size_t nlat, lat_cap;

	/* hold */
	unsigned hold_next, opening, held, hold_failed, hold_lost;
	int holding;
	uint64_t hold_open_ns;
	long rss_before, rss_held, rss_end, rss_closed, rss_settled;
	unsigned settle_ms; /* after the closes, until RSS was within 25% of before (or 8 s) */
	int exit_code;
};

/* loadgen.c */
void say(const struct lg *g, const char *fmt, ...) KH_PRINTF(2, 3);
void record_error(struct lg *g, enum ekind k, const char *fmt, ...) KH_PRINTF(3, 4);
uint64_t now_ns(void);
void lat_add(struct lg *g, uint64_t ns);

/* loadgen_ids.c: device identities (--identities FILE) and their TLS configurations */
int ids_prepare(struct lg *g, struct kh_srv *s);
int confs_prepare(struct lg *g, unsigned n);

/* loadgen_conn.c: connection slots */
void slot_start(struct slot *c);
void slot_close(struct slot *c, int notify);
void hold_next(struct lg *g);
void on_slot_timer(struct kh_loop *loop, void *arg); /* a slot's timer: timeout or retry */

#endif
