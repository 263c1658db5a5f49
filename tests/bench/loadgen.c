/* SPDX-License-Identifier: MIT */
/*
 * khien-loadgen: many simulated devices against one khien-server on
 * loopback, each with its own identity (key and certificate issued
 * in-process by the instance's device CA, so the server's per-device
 * fingerprint pinning applies) and real mutual TLS through crypto/tls.h.
 * One thread, one event loop, like the agent and the server.
 *
 * Modes:
 *   provision  issue --devices identities (kept in --identities FILE)
 *   checkin    C connections, each in a loop: connect, TLS handshake
 *              offering the device's saved session, POST /v1/checkin,
 *              read the answer, close_notify, close
 *   events     C keep-alive connections, one device each, uploading
 *              batches of B events with increasing sequence numbers
 *   hold       N connections (full handshake and one check-in each) kept
 *              open and idle; the server's RSS before, while and after
 *
 * Results: one JSON line on stdout, a summary and per-second progress on
 * stderr. Exit: 0 ok, 1 errors above --max-errors (percent of attempts),
 * 2 usage or setup failure.
 */
#include "tests/bench/loadgen.h"

static const char *const mode_names[] = {"provision", "checkin", "events", "hold"};
static const char *const ekind_names[] = {"connect", "tls",  "tls_cert",     "io",
					  "closed",  "http", "bad_response", "timeout"};

/* ---------------------------------------------------------------- helpers */

void say(const struct lg *g, const char *fmt, ...)
{
	va_list ap;

	if (g->o.quiet)
		return;
	fputs("[loadgen] ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t now_ns(void)
{
	return kh_time_mono_ns();
}

/* VmRSS of a process in KiB (pid 0: this one), or -1. */
static long rss_kb(long pid)
{
	char path[64], *p;
	uint8_t *buf = NULL;
	size_t len;
	long v = -1;

	if (pid < 0)
		return -1;
	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (kh_fs_read(path, 1 << 16, &buf, &len) < 0)
		return -1;
	p = strstr((char *)buf, "VmRSS:");
	if (p)
		v = strtol(p + 6, NULL, 10);
	free(buf);
	return v;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

void record_error(struct lg *g, enum ekind k, const char *fmt, ...)
{
	va_list ap;

	g->err[k]++;
	if (g->err_msg[k][0])
		return;
	va_start(ap, fmt);
	vsnprintf(g->err_msg[k], sizeof(g->err_msg[k]), fmt, ap);
	va_end(ap);
}

static uint64_t errors_total(const struct lg *g)
{
	uint64_t n = 0;

	for (int k = 0; k < E_COUNT; k++)
		n += g->err[k];
	return n;
}

void lat_add(struct lg *g, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (g->nlat == g->lat_cap) {
		size_t cap = g->lat_cap ? g->lat_cap * 2 : 65536;
		uint32_t *p;
		if (cap > LAT_MAX || !(p = realloc(g->lat, cap * sizeof(*p))))
			return; /* enough samples for percentiles */
		g->lat = p;
		g->lat_cap = cap;
	}
	g->lat[g->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of the sorted samples, in milliseconds. */
static double lat_pct(const struct lg *g, double p)
{
	size_t i;

	if (!g->nlat)
		return 0;
	i = (size_t)(p / 100.0 * (double)(g->nlat - 1) + 0.5);
	return g->lat[i] / 1000.0;
}

/* ---------------------------------------------------------------- phases and progress */

static void begin_measuring(struct lg *g)
{
	g->warming = 0;
	g->measuring = 1;
	g->t0 = now_ns();
	g->t_end = g->t0 + (uint64_t)g->o.duration_s * 1000000000ull;
	g->t_last_tick = g->t0;
	g->last_count = 0;
	kh_timer_arm(g->loop, &g->stop, (uint64_t)g->o.duration_s * 1000);
	for (unsigned i = 0; i < g->nslots; i++)
		if (g->slots[i].st == S_IDLE && !kh_timer_armed(&g->slots[i].timer))
			slot_start(&g->slots[i]);
}

static void on_stop(struct kh_loop *loop, void *arg)
{
	struct lg *g = arg;

	g->stopping = 1;
	kh_loop_stop(loop);
}

static void on_tick(struct kh_loop *loop, void *arg)
{
	struct lg *g = arg;
	uint64_t t = now_ns();

	kh_timer_arm(loop, &g->tick, 1000);
	if (g->o.mode == M_HOLD) {
		if (!g->holding) {
			say(g, "open %u/%u held, %u opening, %u failed", g->held, g->nslots,
			    g->opening, g->hold_failed);
			if (t - g->t0 > (uint64_t)g->o.ramp_s * 1000000000ull) {
				say(g, "ramp-up took over %u s: stopping", g->o.ramp_s);
				g->stopping = 1;
				kh_loop_stop(loop);
			}
		} else {
			say(g, "holding %u connections (%u lost); server RSS %ld KiB", g->held,
			    g->hold_lost, rss_kb(g->o.server_pid));
		}
		return;
	}
	if (g->warming) {
		say(g, "warm-up: %u/%u devices have a session", g->warm_done, g->ndevs);
		return;
	}
	if (g->measuring) {
		uint64_t n = g->o.mode == M_EVENTS ? g->events_stored : g->ok;
		double dt = (double)(t - g->t_last_tick) / 1e9;
		say(g, "%4.1f s: %llu %s (%.0f/s now), %llu errors", (double)(t - g->t0) / 1e9,
		    (unsigned long long)n, g->o.mode == M_EVENTS ? "events stored" : "check-ins",
		    (double)(n - g->last_count) / dt, (unsigned long long)errors_total(g));
		g->last_count = n;
		g->t_last_tick = t;
	}
}

static void on_signal(struct kh_loop *loop, int signo, void *arg)
{
	struct lg *g = arg;

	(void)signo;
	say(g, "interrupted: stopping");
	g->stopping = 1;
	kh_loop_stop(loop);
}

/* Run the loop until stopped, also ending the warm-up / hold ramp when done. */
static int run(struct lg *g)
{
	while (!g->stopping) {
		int r = kh_loop_run_once(g->loop, 100);
		if (r < 0 && r != -EINTR)
			return r;
		if (g->warming && g->warm_done + g->err[E_CONNECT] + g->err[E_TLS] +
						  g->err[E_CERT] + g->err[E_IO] + g->err[E_CLOSED] +
						  g->err[E_HTTP] + g->err[E_BADRESP] +
						  g->err[E_TIMEOUT] >=
					  g->ndevs) {
			say(g, "warm-up done: %u devices checked in once (full handshakes)",
			    g->warm_done);
			memset(g->err, 0, sizeof(g->err));
			memset(g->err_msg, 0, sizeof(g->err_msg));
			begin_measuring(g);
		}
		if (g->o.mode == M_HOLD && !g->holding && g->held + g->hold_failed >= g->nslots)
			return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- modes */

static void json_errors(struct lg *g, cJSON *o)
{
	cJSON *e = cJSON_AddObjectToObject(o, "errors");

	cJSON_AddNumberToObject(e, "total", (double)errors_total(g));
	for (int k = 0; k < E_COUNT; k++)
		if (g->err[k])
			cJSON_AddNumberToObject(e, ekind_names[k], (double)g->err[k]);
}

static void print_errors(struct lg *g)
{
	for (int k = 0; k < E_COUNT; k++)
		if (g->err[k])
			fprintf(stderr, "  errors %-12s %llu (first: %s)\n", ekind_names[k],
				(unsigned long long)g->err[k], g->err_msg[k]);
}

static void emit(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);

	if (t)
		printf("%s\n", t);
	fflush(stdout);
	free(t);
	cJSON_Delete(o);
}

static int verdict(struct lg *g, uint64_t attempts)
{
	uint64_t e = errors_total(g);

	if (attempts == 0)
		return 1;
	return (double)e * 100.0 / (double)attempts > g->o.max_err_pct ? 1 : 0;
}

static int mode_load(struct lg *g)
{
	double secs, rate;
	uint64_t n;
	cJSON *o, *l;
	int err;

	for (unsigned i = 0; i < g->nslots; i++) {
		struct slot *c = &g->slots[i];
		c->g = g;
		c->idx = i;
		c->fd = -1;
		kh_timer_init(&c->timer, on_slot_timer, c);
	}
	kh_timer_init(&g->tick, on_tick, g);
	kh_timer_init(&g->stop, on_stop, g);
	kh_timer_arm(g->loop, &g->tick, 1000);
	if (g->o.mode == M_CHECKIN && g->o.resume) {
		say(g, "warm-up: one full handshake per device (%u) to get its session", g->ndevs);
		g->warming = 1;
		for (unsigned i = 0; i < g->nslots; i++)
			slot_start(&g->slots[i]);
	} else {
		begin_measuring(g);
	}
	say(g, "%s: %u connections, %u devices, %u s%s", mode_names[g->o.mode], g->nslots, g->ndevs,
	    g->o.duration_s,
	    g->o.mode == M_CHECKIN ? (g->o.resume ? ", resuming sessions" : ", full handshakes")
				   : "");
	err = run(g);
	if (err < 0)
		fprintf(stderr, "khien-loadgen: event loop: %s\n", kh_strerror(err));
	secs = g->measuring ? (double)(KH_MIN(now_ns(), g->t_end) - g->t0) / 1e9 : 0;
	if (secs <= 0)
		secs = 1e-9;
	for (unsigned i = 0; i < g->nslots; i++)
		slot_close(&g->slots[i], 0);
	qsort(g->lat, g->nlat, sizeof(*g->lat), cmp_u32);
	n = g->o.mode == M_EVENTS ? g->batches : g->ok;
	rate = (double)n / secs;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "mode", mode_names[g->o.mode]);
	cJSON_AddNumberToObject(o, "connections", g->nslots);
	cJSON_AddNumberToObject(o, "devices", g->ndevs);
	cJSON_AddNumberToObject(o, "seconds", secs);
	if (g->o.mode == M_CHECKIN) {
		cJSON_AddBoolToObject(o, "resume", g->o.resume);
		cJSON_AddNumberToObject(o, "checkins", (double)g->ok);
		cJSON_AddNumberToObject(o, "checkins_per_s", rate);
		cJSON_AddNumberToObject(o, "resumed_share",
					g->ok ? (double)g->resumed / (double)g->ok : 0);
	} else {
		cJSON_AddNumberToObject(o, "batch", g->o.batch);
		cJSON_AddNumberToObject(o, "uploads", (double)g->batches);
		cJSON_AddNumberToObject(o, "uploads_per_s", rate);
		cJSON_AddNumberToObject(o, "events_sent", (double)g->events_sent);
		cJSON_AddNumberToObject(o, "events_stored", (double)g->events_stored);
		cJSON_AddNumberToObject(o, "events_stored_per_s", (double)g->events_stored / secs);
	}
	l = cJSON_AddObjectToObject(o, "latency_ms");
	cJSON_AddNumberToObject(l, "p50", lat_pct(g, 50));
	cJSON_AddNumberToObject(l, "p90", lat_pct(g, 90));
	cJSON_AddNumberToObject(l, "p99", lat_pct(g, 99));
	cJSON_AddNumberToObject(l, "max", lat_pct(g, 100));
	json_errors(g, o);
	cJSON_AddNumberToObject(o, "server_rss_kb", (double)rss_kb(g->o.server_pid));
	cJSON_AddNumberToObject(o, "loadgen_rss_kb", (double)rss_kb(0));
	emit(o);

	if (g->o.mode == M_CHECKIN)
		fprintf(stderr,
			"checkin (%s): %llu check-ins in %.1f s = %.0f/s, %.1f%% resumed, "
			"latency p50 %.2f ms p99 %.2f ms, %llu errors\n",
			g->o.resume ? "resumption" : "full handshakes", (unsigned long long)g->ok,
			secs, rate, g->ok ? 100.0 * (double)g->resumed / (double)g->ok : 0.0,
			lat_pct(g, 50), lat_pct(g, 99), (unsigned long long)errors_total(g));
	else
		fprintf(stderr,
			"events: %llu uploads of %u in %.1f s = %.0f/s, %.0f events stored/s "
			"(%llu stored of %llu sent), latency p50 %.2f ms p99 %.2f ms, %llu "
			"errors\n",
			(unsigned long long)g->batches, g->o.batch, secs, rate,
			(double)g->events_stored / secs, (unsigned long long)g->events_stored,
			(unsigned long long)g->events_sent, lat_pct(g, 50), lat_pct(g, 99),
			(unsigned long long)errors_total(g));
	print_errors(g);
	return verdict(g, n + errors_total(g));
}

static void on_hold_end(struct kh_loop *loop, void *arg)
{
	struct lg *g = arg;

	g->stopping = 1;
	kh_loop_stop(loop);
}

static int mode_hold(struct lg *g)
{
	double open_s;
	long per10k = -1;
	unsigned opened;
	cJSON *o;

	for (unsigned i = 0; i < g->nslots; i++) {
		struct slot *c = &g->slots[i];
		c->g = g;
		c->idx = i;
		c->fd = -1;
		kh_timer_init(&c->timer, on_slot_timer, c);
	}
	if (g->o.server_pid > 0 &&
	    (uint64_t)g->idle_timeout_ms <
		    (uint64_t)g->o.ramp_s * 1000 + (uint64_t)g->o.duration_s * 1000)
		say(g,
		    "warning: the server closes idle connections after %u ms; raise "
		    "idle_timeout_ms in server.json for a longer hold",
		    g->idle_timeout_ms);
	g->rss_before = rss_kb(g->o.server_pid);
	say(g,
	    "hold: opening %u connections (full handshake and one check-in each, %u at "
	    "a time); server RSS before: %ld KiB",
	    g->nslots, g->o.parallel, g->rss_before);
	kh_timer_init(&g->tick, on_tick, g);
	kh_timer_init(&g->stop, on_hold_end, g);
	kh_timer_arm(g->loop, &g->tick, 1000);
	g->t0 = now_ns();
	g->measuring = 1;
	hold_next(g);
	run(g);
	g->hold_open_ns = now_ns() - g->t0;
	opened = g->held;
	open_s = (double)g->hold_open_ns / 1e9;
	say(g, "%u connections held, %u failed, opened in %.1f s (%.0f/s)", g->held, g->hold_failed,
	    open_s, g->held / (open_s > 0 ? open_s : 1));
	if (!g->stopping) {
		/* let the server settle, then measure while everything is idle */
		g->holding = 1;
		kh_timer_arm(g->loop, &g->stop, (uint64_t)g->o.duration_s * 1000);
		g->rss_held = rss_kb(g->o.server_pid);
		run(g);
		g->rss_end = rss_kb(g->o.server_pid);
	}
	for (unsigned i = 0; i < g->nslots; i++)
		slot_close(&g->slots[i], g->slots[i].st == S_HOLD);
	kh_time_sleep_ms(1000);
	g->rss_closed = rss_kb(g->o.server_pid);
	/* the bar: back within 25% of the idle figure a few seconds after */
	g->rss_settled = g->rss_closed;
	for (g->settle_ms = 1000; g->settle_ms < 8000 && g->rss_settled > g->rss_before * 5 / 4;
	     g->settle_ms += 250) {
		kh_time_sleep_ms(250);
		g->rss_settled = rss_kb(g->o.server_pid);
	}
	if (g->rss_before >= 0 && g->rss_end >= 0 && opened)
		per10k = (g->rss_end - g->rss_before) * 10000 / (long)opened;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "mode", "hold");
	cJSON_AddNumberToObject(o, "connections", g->nslots);
	cJSON_AddNumberToObject(o, "held", opened);
	cJSON_AddNumberToObject(o, "failed", g->hold_failed);
	cJSON_AddNumberToObject(o, "lost_while_held", g->hold_lost);
	cJSON_AddNumberToObject(o, "open_seconds", open_s);
	cJSON_AddNumberToObject(o, "opened_per_s", opened / (open_s > 0 ? open_s : 1));
	cJSON_AddNumberToObject(o, "hold_seconds", g->holding ? g->o.duration_s : 0);
	cJSON_AddNumberToObject(o, "server_rss_before_kb", (double)g->rss_before);
	cJSON_AddNumberToObject(o, "server_rss_held_kb", (double)g->rss_held);
	cJSON_AddNumberToObject(o, "server_rss_end_kb", (double)g->rss_end);
	cJSON_AddNumberToObject(o, "server_rss_closed_kb", (double)g->rss_closed);
	cJSON_AddNumberToObject(o, "server_rss_settled_kb", (double)g->rss_settled);
	cJSON_AddNumberToObject(o, "settle_ms", g->settle_ms);
	cJSON_AddNumberToObject(o, "server_rss_per_10k_kb", (double)per10k);
	json_errors(g, o);
	cJSON_AddNumberToObject(o, "loadgen_rss_kb", (double)rss_kb(0));
	emit(o);
	fprintf(stderr,
		"hold: %u/%u connections held for %u s (%u lost), opened at %.0f/s; server RSS "
		"%ld KiB before, %ld held, %ld at the end, %ld after closing: %ld KiB per "
		"10k connections\n",
		opened, g->nslots, g->holding ? g->o.duration_s : 0, g->hold_lost,
		opened / (open_s > 0 ? open_s : 1), g->rss_before, g->rss_held, g->rss_end,
		g->rss_closed, per10k);
	print_errors(g);
	return verdict(g, g->nslots);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: khien-loadgen MODE --dir INSTANCE [options]\n"
		"\n"
		"Simulated devices, each with its own certificate, against khien-server on\n"
		"127.0.0.1 over real mutual TLS. MODE:\n"
		"  provision   issue --devices identities into --identities FILE and exit\n"
		"  checkin     --conns loops of connect, handshake (resuming the device's\n"
		"              session), POST /v1/checkin, close; check-ins/s, latency\n"
		"  events      --conns keep-alive connections uploading --batch events per\n"
		"              POST /v1/events; events stored/s\n"
		"  hold        open --conns connections (full handshake, one check-in) and\n"
		"              keep them idle for --duration; server RSS per 10k connections\n"
		"\n"
		"options:\n"
		"  --dir DIR          the khien-server instance (server.json, CAs, store)\n"
		"  --connect IP:PORT  server address (default: the instance's URL); loopback only\n"
		"  --identities FILE  cache of issued identities, reused when it matches the\n"
		"                     instance's device CA (issuing writes to the store)\n"
		"  --devices N        simulated devices (checkin: 1000; events, hold: --conns)\n"
		"  --conns C          concurrent connections (default 64; hold: 10000)\n"
		"  --duration S       seconds of load, or of holding (default 10, at most 600)\n"
		"  --batch B          events per upload (default 100, at most 500)\n"
		"  --no-resume        checkin: a full handshake every time\n"
		"  --server-pid PID   report this process's RSS (hold: required for the numbers)\n"
		"  --ramp-timeout S   hold: give up opening after S seconds (default 300)\n"
		"  --parallel P       hold: connections opening at once (default %d)\n"
		"  --prefix P         device serials are P-000000... (default LG)\n"
		"  --max-errors PCT   exit 1 above this share of failed attempts (default 1)\n"
		"  --quiet            no progress lines\n"
		"\n"
		"Results: one JSON line on stdout; progress and a summary on stderr.\n"
		"Exit: 0 ok, 1 errors above --max-errors, 2 usage or setup failure.\n",
		HOLD_PARALLEL);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->duration_s = 10;
	o->batch = 100;
	o->resume = 1;
	o->max_err_pct = 1.0;
	o->server_pid = -1;
	o->ramp_s = 300;
	o->parallel = HOLD_PARALLEL;
	o->prefix = "LG";
	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return 1;
	for (i = 0; i < (int)KH_ARRAY_SIZE(mode_names); i++)
		if (!strcmp(argv[1], mode_names[i]))
			break;
	if (i == (int)KH_ARRAY_SIZE(mode_names))
		return -EINVAL;
	o->mode = (enum mode)i;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1, bad = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (!strcmp(a, "--no-resume")) {
			o->resume = 0;
			takes = 0;
		} else if (!strcmp(a, "--quiet")) {
			o->quiet = 1;
			takes = 0;
		} else if (!v) {
			return -EINVAL;
		} else if (!strcmp(a, "--dir")) {
			o->dir = v;
		} else if (!strcmp(a, "--connect")) {
			o->connect = v;
		} else if (!strcmp(a, "--identities")) {
			o->ids = v;
		} else if (!strcmp(a, "--prefix")) {
			o->prefix = v;
		} else if (!strcmp(a, "--devices")) {
			bad = parse_uint(v, 1, MAX_DEVICES, &o->devices);
		} else if (!strcmp(a, "--conns")) {
			bad = parse_uint(v, 1, MAX_CONNS, &o->conns);
		} else if (!strcmp(a, "--duration")) {
			bad = parse_uint(v, 1, 600, &o->duration_s);
		} else if (!strcmp(a, "--batch")) {
			bad = parse_uint(v, 1, KH_PROTO_EVENTS_MAX, &o->batch);
		} else if (!strcmp(a, "--ramp-timeout")) {
			bad = parse_uint(v, 1, 3600, &o->ramp_s);
		} else if (!strcmp(a, "--parallel")) {
			bad = parse_uint(v, 1, 10000, &o->parallel);
		} else if (!strcmp(a, "--server-pid")) {
			unsigned pid;
			bad = parse_uint(v, 1, 1u << 30, &pid);
			o->server_pid = (long)pid;
		} else if (!strcmp(a, "--max-errors")) {
			char *end;
			o->max_err_pct = strtod(v, &end);
			bad = *end || o->max_err_pct < 0 || o->max_err_pct > 100;
		} else {
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "khien-loadgen: %s %s: out of range\n", a, v);
			return -EINVAL;
		}
		i += takes;
	}
	if (!o->dir || !*o->prefix || strlen(o->prefix) > KH_SERIAL_MAX - 8)
		return -EINVAL;
	if (!o->conns)
		o->conns = o->mode == M_HOLD ? 10000 : 64;
	if (!o->devices)
		o->devices = o->mode == M_CHECKIN     ? KH_MAX(1000u, o->conns)
			     : o->mode == M_PROVISION ? 1000
						      : o->conns;
	if (o->mode != M_PROVISION && o->devices < o->conns) {
		fprintf(stderr, "khien-loadgen: --devices must be at least --conns (a device "
				"has one connection at a time)\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct lg lg;
	struct lg *g = &lg;
	struct kh_srv s;
	char why[256], p[KH_SRV_PATH_MAX + 32];
	unsigned fds;
	int err, rc = 2;

	err = parse_args(argc, argv, &g->o);
	if (err) {
		usage(err > 0 ? stdout : stderr);
		return err > 0 ? 0 : 2;
	}
	kh_log_set_level(KH_LOG_WARN);
	if (kh_srv_open(g->o.dir, &s, why, sizeof(why)) < 0) {
		fprintf(stderr, "khien-loadgen: %s\n", why);
		return 2;
	}
	kh_strlcpy(g->host, s.cfg.host, sizeof(g->host));
	g->idle_timeout_ms = s.cfg.idle_timeout_ms;
	if (g->o.connect) {
		err = kh_addr_parse(g->o.connect, 0, &g->addr);
	} else {
		char a[300];
		snprintf(a, sizeof(a), "%s:%u", s.cfg.host, s.cfg.port);
		err = kh_addr_parse(a, 0, &g->addr);
	}
	if (err < 0 || g->addr.family != KH_AF_INET || g->addr.ip[0] != 127) {
		fprintf(stderr, "khien-loadgen: the server must be on 127.0.0.0/8 (use --connect "
				"127.0.0.1:PORT)\n");
		kh_srv_close(&s);
		return 2;
	}
	snprintf(p, sizeof(p), "%s/server-ca.pem", g->o.dir);
	if (kh_fs_read(p, 1 << 20, (uint8_t **)&g->ca_pem, &g->ca_len) < 0) {
		fprintf(stderr, "khien-loadgen: %s unreadable\n", p);
		kh_srv_close(&s);
		return 2;
	}
	g->ndevs = g->o.devices;
	g->devs = calloc(g->ndevs, sizeof(*g->devs));
	if (!g->devs)
		goto out_srv;
	err = ids_prepare(g, &s);
	/* The store is not needed any more: the server's own writes go unhindered. */
	kh_srv_close(&s);
	if (err < 0)
		goto out;
	if (g->o.mode == M_PROVISION) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "mode", "provision");
		cJSON_AddNumberToObject(o, "devices", g->ndevs);
		emit(o);
		rc = 0;
		goto out;
	}
	g->nslots = g->o.conns;
	fds = kh_proc_raise_fd_limit(g->nslots + 64);
	if (fds < g->nslots + 16) {
		fprintf(stderr,
			"khien-loadgen: file descriptor limit %u is too low for %u "
			"connections (ulimit -n)\n",
			fds, g->nslots);
		goto out;
	}
	g->slots = calloc(g->nslots, sizeof(*g->slots));
	if (!g->slots || kh_loop_new_sized(&g->loop, g->nslots + 16, 2 * g->nslots + 16) < 0 ||
	    kh_loop_signal_add(g->loop, SIGINT, on_signal, g) < 0) {
		fprintf(stderr, "khien-loadgen: cannot set up the event loop\n");
		goto out;
	}
	kh_loop_signal_add(g->loop, SIGTERM, on_signal, g);
	if (confs_prepare(g, g->o.mode == M_CHECKIN ? g->ndevs : g->nslots) < 0)
		goto out;
	rc = g->o.mode == M_HOLD ? mode_hold(g) : mode_load(g);
out:
	for (unsigned i = 0; g->devs && i < g->ndevs; i++) {
		struct dev *d = &g->devs[i];
		kh_tls_session_free(d->sess);
		kh_tls_conf_free(d->conf);
		if (d->key_pem)
			kh_memzero(d->key_pem, d->key_len);
		free(d->key_pem);
		free(d->cert_pem);
	}
	free(g->devs);
	free(g->slots);
	free(g->lat);
	free(g->ca_pem);
	kh_loop_free(g->loop);
	return rc;
out_srv:
	kh_srv_close(&s);
	goto out;
}
