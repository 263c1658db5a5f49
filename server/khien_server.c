/* SPDX-License-Identifier: MIT */
/*
 * khien-server: the reference central policy server (docs/SERVER.md,
 * docs/PROTOCOL.md). Subcommands create an instance, run it, and do the
 * operator's work on its store directly (provision, publish, revoke, list
 * devices and events as JSON lines). The same operations are offered over
 * the operator HTTPS API by `run`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/civil.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/severity.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "platform/log.h"
#include "lib/severity.h"
#include "lib/version.h"
#include "platform/proc.h"
#include "server/api.h"
#include "server/follow.h"
#include "server/forward.h"
#include "server/render.h"
#include "server/rollout.h"
#include "server/server.h"
#include "server/warnings.h"

enum {
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: khien-server COMMAND --dir DIR [options]\n"
		"\n"
		"  init --dir DIR [--url https://HOST:PORT] [--trust-root ROOT.json]\n"
		"       [--database postgresql://USER@/DB?host=SOCKETDIR]\n"
		"       [--database-password-file FILE]\n"
		"        create an instance: device CA, server CA and certificate, operator\n"
		"        token, store (SQLite in DIR, or the PostgreSQL database named; its\n"
		"        password from PGPASSWORD, PGPASSFILE or the file, never an argument);\n"
		"        without --trust-root, development policy keys\n"
		"  run --dir DIR [--listen ADDR:PORT] [--log-level LEVEL]\n"
		"        serve the device and operator APIs over mutual TLS, and the\n"
		"        operator dashboard at https://HOST:PORT/dashboard/ (log in with the\n"
		"        operator token)\n"
		"  provision --dir DIR --device SERIAL -o OUTDIR [--group G] [--force]\n"
		"            [--not-after DATE|+DURATION]\n"
		"        issue a device identity; OUTDIR gets device.key, device.pem,\n"
		"        server-ca.pem, root.json and khiend.json\n"
		"  publish --dir DIR BUNDLE [--group G]\n"
		"        verify a signed bundle and assign it to all devices or group G\n"
		"  publish --dir DIR [BUNDLE] --group G --stage P%% [--halt-at P%%]\n"
		"          [--silent-after S]   |   publish --dir DIR --group G --halt\n"
		"        staged rollout: the bundle's version to a stable pseudo-random P%% of\n"
		"        group G, then (no BUNDLE) a larger P%%, 100%% for all; halts itself\n"
		"        when rejected + silent devices reach --halt-at (10%%) of the stage\n"
		"  rollout --dir DIR [--group G]\n"
		"        rollouts as JSON lines: state, stages, per stage the devices that\n"
		"        checked in, applied, rejected or went silent (the halt rule runs first)\n"
		"  revoke --dir DIR --device SERIAL      refuse this device from now on\n"
		"  devices --dir DIR                     devices as JSON lines\n"
		"  events --dir DIR [--since ID] [--device SERIAL] [--limit N]\n"
		"         [--min-severity S] [--follow [--interval-ms N]]\n"
		"        events as JSON lines (id, device, seq, time, type, severity, payload);\n"
		"        --follow keeps printing new ones as they are stored\n"
		"  forward --dir DIR --to udp://IP:PORT|tcp://IP:PORT [--format rfc5424|cef]\n"
		"          [--min-severity S] [--facility N] [--state FILE] [--since ID] [--once]\n"
		"        send events to a syslog collector (RFC 5424, CEF inside), resuming\n"
		"        from --state after a restart; --once: until caught up, then exit\n"
		"  policies --dir DIR                    published policies as JSON lines\n"
		"  warnings --dir DIR [--device SERIAL]\n"
		"        customers to warn: per device, LAN client (pseudonym) and threat,\n"
		"        the first and last time seen and the count, as JSON lines\n"
		"  audit --dir DIR [--device SERIAL] [--check ID] [--failing]\n"
		"        audit results as JSON lines (device, check, result, severity,\n"
		"        evidence, changed_at, updated_at)\n"
		"  compliance --dir DIR                  per check: devices that pass, fail, na\n"
		"  mirror --dir DIR [--group G] [--add URL | --remove URL]\n"
		"        where group G's devices (all without mirrors of their own: G \"*\")\n"
		"        fetch bundles first: http:// or https:// and an IP address, serving\n"
		"        a copy of DIR/bundles/ (at most 4 per group); alone: list them\n"
		"\n"
		"Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 instance unusable.\n");
}

struct args {
	const char *dir, *url, *trust_root, *database, *database_password_file, *listen, *device,
		*out, *group, *level, *file, *check, *to, *format, *state, *add, *remove;
	int force, expired, failing, follow, once, min_severity, halt;
	unsigned stage_bp, halt_bp, silent_s;
	long interval_ms, facility, gap_ms;
	int64_t not_after;
	long long since;
	long limit;
};

/* "5%", "0.25%", "100" (percent, two decimals at most) to basis points 1..10000. */
static int parse_pct(const char *t, unsigned *bp)
{
	unsigned long whole = 0, frac = 0, scale = 100;
	char *end;

	if (*t < '0' || *t > '9')
		return -1;
	whole = strtoul(t, &end, 10);
	if (*end == '.') {
		const char *f = end + 1;
		if (*f < '0' || *f > '9')
			return -1;
		while (*f >= '0' && *f <= '9') {
			if (scale == 1)
				return -1;
			scale /= 10;
			frac += (unsigned long)(*f++ - '0') * scale;
		}
		end = (char *)f;
	}
	if ((*end == '%' && end[1]) || (*end && *end != '%') || whole > 100 ||
	    whole * 100 + frac > 10000 || whole * 100 + frac == 0)
		return -1;
	*bp = (unsigned)(whole * 100 + frac);
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
					     {"url", required_argument, 0, 'u'},
					     {"trust-root", required_argument, 0, 't'},
					     {"database", required_argument, 0, 'B'},
					     {"database-password-file", required_argument, 0, 'P'},
					     {"listen", required_argument, 0, 'l'},
					     {"device", required_argument, 0, 'D'},
					     {"group", required_argument, 0, 'g'},
					     {"since", required_argument, 0, 's'},
					     {"limit", required_argument, 0, 'n'},
					     {"log-level", required_argument, 0, 'L'},
					     {"force", no_argument, 0, 'f'},
					     {"expired-for-tests", no_argument, 0, 'E'},
					     {"not-after", required_argument, 0, 'A'},
					     {"check", required_argument, 0, 'C'},
					     {"failing", no_argument, 0, 'F'},
					     {"add", required_argument, 0, 'a'},
					     {"remove", required_argument, 0, 'r'},
					     {"follow", no_argument, 0, 'W'},
					     {"once", no_argument, 0, '1'},
					     {"min-severity", required_argument, 0, 'V'},
					     {"interval-ms", required_argument, 0, 'I'},
					     {"gap-ms", required_argument, 0, 'G'},
					     {"to", required_argument, 0, 'T'},
					     {"format", required_argument, 0, 'M'},
					     {"facility", required_argument, 0, 'Y'},
					     {"state", required_argument, 0, 'S'},
					     {"stage", required_argument, 0, 'J'},
					     {"halt", no_argument, 0, 'H'},
					     {"halt-at", required_argument, 0, 'K'},
					     {"silent-after", required_argument, 0, 'Q'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	int c;
	char *end;

	memset(a, 0, sizeof(*a));
	a->limit = -1;
	a->interval_ms = 1000;
	a->gap_ms = 10000;
	a->facility = 16;
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 'u':
			a->url = optarg;
			break;
		case 't':
			a->trust_root = optarg;
			break;
		case 'B':
			a->database = optarg;
			break;
		case 'P':
			a->database_password_file = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'D':
			a->device = optarg;
			break;
		case 'g':
			a->group = optarg;
			break;
		case 'a':
			a->add = optarg;
			break;
		case 'r':
			a->remove = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'L':
			a->level = optarg;
			break;
		case 'f':
			a->force = 1;
			break;
		case 'E':
			a->expired = 1;
			break;
		case 'C':
			a->check = optarg;
			break;
		case 'F':
			a->failing = 1;
			break;
		case 'W':
			a->follow = 1;
			break;
		case '1':
			a->once = 1;
			break;
		case 'V':
			if ((a->min_severity = kh_severity_parse(optarg)) < 0) {
				fprintf(stderr, "khien-server: --min-severity: low, medium, high, "
						"critical\n");
				return -1;
			}
			break;
		case 'I':
		case 'G':
		case 'Y': {
			long v = strtol(optarg, &end, 10);
			long max = c == 'Y' ? 23 : 3600000;
			if (*end || v < (c == 'I' ? 10 : 0) || v > max) {
				fprintf(stderr, "khien-server: --%s: a number from %d to %ld\n",
					c == 'I'   ? "interval-ms"
					: c == 'G' ? "gap-ms"
						   : "facility",
					c == 'I' ? 10 : 0, max);
				return -1;
			}
			*(c == 'I' ? &a->interval_ms : c == 'G' ? &a->gap_ms : &a->facility) = v;
			break;
		}
		case 'T':
			a->to = optarg;
			break;
		case 'J':
		case 'K':
			if (parse_pct(optarg, c == 'J' ? &a->stage_bp : &a->halt_bp) < 0) {
				fprintf(stderr,
					"khien-server: --%s: a share such as 5%%, 0.5%% or 100%%\n",
					c == 'J' ? "stage" : "halt-at");
				return -1;
			}
			break;
		case 'H':
			a->halt = 1;
			break;
		case 'Q': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 60 || v > 30 * 86400) {
				fprintf(stderr,
					"khien-server: --silent-after: seconds, 60 to 2592000\n");
				return -1;
			}
			a->silent_s = (unsigned)v;
			break;
		}
		case 'M':
			a->format = optarg;
			break;
		case 'S':
			a->state = optarg;
			break;
		case 'A':
			if (kh_civil_parse_time(optarg, kh_time_wall(), &a->not_after) < 0)
				return -1;
			break;
		case 's':
			a->since = strtoll(optarg, &end, 10);
			if (*end || a->since < 0)
				return -1;
			break;
		case 'n':
			a->limit = strtol(optarg, &end, 10);
			if (*end || a->limit <= 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc)
		a->file = argv[optind++];
	if (optind < argc || !a->dir)
		return -1;
	return 0;
}

/* One JSON line per record, as the operator API gives them. */
static void print_json(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);

	if (t)
		puts(t);
	free(t);
	cJSON_Delete(o);
}

static int print_device(void *arg, const struct kh_device *d)
{
	struct kh_store *st = arg;
	struct kh_audit_head h;
	cJSON *o = kh_render_device(d);

	if (kh_store_audit_head(st, d->serial, &h) == 0)
		kh_render_audit_head(o, &h);
	print_json(o);
	return 0;
}

static int print_audit(void *arg, const struct kh_audit_rec *r)
{
	(void)arg;
	print_json(kh_render_audit(r));
	return 0;
}

static int print_compliance(void *arg, const struct kh_compliance *c)
{
	(void)arg;
	print_json(kh_render_compliance(c));
	return 0;
}

struct page {
	int64_t last_id;
	unsigned printed;
};

static int print_event(void *arg, const struct kh_event_rec *e)
{
	struct page *pg = arg;

	print_json(kh_render_event(e));
	pg->last_id = e->id;
	pg->printed++;
	return 0;
}

/* Customers to warn (server/warnings.h), one JSON line each. */
static int cmd_warnings(struct kh_srv *s, const struct args *a)
{
	struct kh_warning *w;
	size_t n;

	if (a->device && !kh_srv_serial_ok(a->device)) {
		fprintf(stderr, "khien-server: --device: not a serial\n");
		return EXIT_USAGE;
	}
	if (kh_warnings_collect(s->store, a->device, 0, UINT64_MAX, &w, &n) < 0)
		return EXIT_RUNTIME;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "device", w[i].serial);
		cJSON_AddStringToObject(o, "client", w[i].client);
		cJSON_AddStringToObject(o, "threat", w[i].category);
		cJSON_AddNumberToObject(o, "first_seen", (double)w[i].first);
		cJSON_AddNumberToObject(o, "last_seen", (double)w[i].last);
		cJSON_AddNumberToObject(o, "count", (double)w[i].count);
		print_json(o);
	}
	free(w);
	fflush(stdout);
	return 0;
}

static int print_policy(void *arg, const struct kh_policy_rec *p)
{
	(void)arg;
	print_json(kh_render_policy(p));
	return 0;
}

static int print_followed(void *arg, const struct kh_event_rec *e)
{
	(void)arg;
	print_json(kh_render_event(e));
	return 0;
}

/* events --follow: what is stored, then what comes, until killed */
static int cmd_follow(struct kh_srv *s, const struct args *a)
{
	struct kh_follow *f = kh_follow_new(a->since, a->device, a->min_severity, a->gap_ms);

	if (!f)
		return EXIT_RUNTIME;
	for (;;) {
		int n = kh_follow_poll(f, s->store, kh_time_mono_ms(), print_followed, NULL);
		if (n < 0) {
			fprintf(stderr, "khien-server: events: the store failed: %s\n",
				strerror(-n));
			kh_follow_free(f);
			return EXIT_RUNTIME;
		}
		fflush(stdout);
		if (ferror(stdout)) { /* the reader went away */
			kh_follow_free(f);
			return 0;
		}
		kh_time_sleep_ms((uint32_t)a->interval_ms);
	}
}

struct fwd_ctx {
	struct kh_fwd *to;
	struct kh_fwd_cfg cfg;
	size_t cap;
	char buf[KH_FWD_TCP_MAX];
	uint64_t sent;
};

static int forward_one(void *arg, const struct kh_event_rec *e)
{
	struct fwd_ctx *c = arg;
	size_t n = kh_fwd_format(&c->cfg, e, c->buf, c->cap);
	int err = kh_fwd_send(c->to, c->buf, n, 5000);

	if (err == 0)
		c->sent++;
	return err;
}

static int64_t read_state(const char *path)
{
	uint8_t *buf;
	size_t len;
	long long v = 0;

	if (kh_fs_read(path, 64, &buf, &len) < 0)
		return -1;
	if (len == 0 || len >= 32 || sscanf((const char *)buf, "%lld", &v) != 1 || v < 0)
		v = -2;
	free(buf);
	return v;
}

/* forward: the event stream to a collector, at least once, resumable */
static int cmd_forward(struct kh_srv *s, const struct args *a)
{
	static struct fwd_ctx c; /* 64 KiB of message buffer: not on the stack */
	char why[256], host[256] = "", state[32];
	int64_t since = a->since, saved = -1;
	uint32_t backoff = 0;
	struct kh_follow *f;
	int err, down = 0;

	if (!a->to) {
		fprintf(stderr,
			"khien-server: forward needs --to udp://IP:PORT or tcp://IP:PORT\n");
		return EXIT_USAGE;
	}
	if (a->format && strcmp(a->format, "rfc5424") && strcmp(a->format, "cef")) {
		fprintf(stderr, "khien-server: --format: rfc5424 or cef\n");
		return EXIT_USAGE;
	}
	if (a->state && (saved = read_state(a->state)) == -2) {
		fprintf(stderr, "khien-server: --state %s: not a saved position\n", a->state);
		return EXIT_FAILED;
	}
	if (saved >= 0 && !a->since)
		since = saved;
	if ((err = kh_fwd_open(a->to, &c.to, why, sizeof(why))) < 0) {
		fprintf(stderr, "khien-server: %s\n", why);
		return EXIT_USAGE;
	}
	kh_proc_hostname(host, sizeof(host));
	c.cfg = (struct kh_fwd_cfg){
		.format = a->format && !strcmp(a->format, "cef") ? KH_FWD_CEF : KH_FWD_RFC5424,
		.facility = (unsigned)a->facility,
		.host = host,
		.pid = kh_proc_pid(),
		.version = KHIEN_VERSION};
	c.cap = !strncmp(a->to, "udp://", 6) ? KH_FWD_UDP_MAX + 1 : sizeof(c.buf);
	if (!(f = kh_follow_new(since, NULL, a->min_severity, a->gap_ms))) {
		kh_fwd_close(c.to);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "khien-server: forwarding events after id %lld to %s\n", (long long)since,
		a->to);
	for (;;) {
		int n = kh_follow_poll(f, s->store, kh_time_mono_ms(), forward_one, &c);
		if (n == -EIO) {
			fprintf(stderr, "khien-server: forward: the store failed\n");
			break;
		}
		if (n < 0) { /* the collector: kept in the store, tried again with backoff */
			if (!down++)
				fprintf(stderr, "khien-server: forward: %s: %s; retrying\n", a->to,
					strerror(-n));
			backoff = backoff ? (backoff * 2 > 30000 ? 30000 : backoff * 2) : 500;
		} else {
			if (down)
				fprintf(stderr, "khien-server: forward: %s reachable again\n",
					a->to);
			down = 0;
			backoff = 0;
		}
		if (a->state && f->cursor != saved) {
			int w = snprintf(state, sizeof(state), "%lld\n", (long long)f->cursor);
			if (kh_fs_write_atomic(a->state, state, (size_t)w, 0600) == 0)
				saved = f->cursor;
		}
		if (a->once && n >= 0 && !f->nseen) {
			fprintf(stderr, "khien-server: forwarded %llu events, up to id %lld\n",
				(unsigned long long)c.sent, (long long)f->cursor);
			kh_follow_free(f);
			kh_fwd_close(c.to);
			return 0;
		}
		kh_time_sleep_ms(backoff ? backoff : (uint32_t)a->interval_ms);
	}
	kh_follow_free(f);
	kh_fwd_close(c.to);
	return EXIT_RUNTIME;
}

static int cmd_events(struct kh_srv *s, const struct args *a)
{
	struct page pg = {.last_id = a->since};
	long left = a->limit > 0 ? a->limit : -1;

	if (a->device && !kh_srv_serial_ok(a->device)) {
		fprintf(stderr, "khien-server: --device: not a serial\n");
		return EXIT_USAGE;
	}
	if (a->follow)
		return cmd_follow(s, a);
	/* pages of 1000 until the store has no more or --limit is reached */
	while (left != 0) {
		unsigned want = left > 0 && left < 1000 ? (unsigned)left : 1000;
		pg.printed = 0;
		if (kh_store_events(s->store, pg.last_id, a->device, want, print_event, &pg) < 0)
			return EXIT_RUNTIME;
		if (left > 0)
			left -= pg.printed;
		if (pg.printed < want)
			break;
	}
	fflush(stdout);
	return 0;
}

/* mirror: add, remove or list a group's bundle mirrors (docs/SERVER.md). */
static int cmd_mirror(struct kh_srv *s, const struct args *a)
{
	char urls[KH_MIRRORS_MAX][KH_MIRROR_URL_MAX + 1], why[160];
	const char *g = a->group ? a->group : "*";
	int n, err;

	if (!kh_srv_group_ok(g) || (a->add && a->remove)) {
		fprintf(stderr, "usage: khien-server mirror --dir DIR [--group G] [--add URL | "
				"--remove URL]\n");
		return EXIT_USAGE;
	}
	if (a->add) {
		if (kh_api_mirror_check(a->add, why, sizeof(why)) < 0) {
			fprintf(stderr, "khien-server: mirror %s: %s\n", a->add, why);
			return EXIT_FAILED;
		}
		err = kh_store_mirror_add(s->store, g, a->add, kh_time_wall());
		if (err == -EEXIST || err == -ENOSPC) {
			fprintf(stderr, "khien-server: mirror %s: %s\n", a->add,
				err == -EEXIST ? "group has it already"
					       : "group has the most mirrors it may (4)");
			return EXIT_FAILED;
		}
		if (err < 0)
			return EXIT_RUNTIME;
		printf("mirror %s added to group %s\n", a->add, g);
		return 0;
	}
	if (a->remove) {
		err = kh_store_mirror_del(s->store, g, a->remove);
		if (err == -ENOENT) {
			fprintf(stderr, "khien-server: group %s has no mirror %s\n", g, a->remove);
			return EXIT_FAILED;
		}
		if (err < 0)
			return EXIT_RUNTIME;
		printf("mirror %s removed from group %s\n", a->remove, g);
		return 0;
	}
	if ((n = kh_store_mirrors(s->store, g, 0, urls, KH_MIRRORS_MAX)) < 0)
		return EXIT_RUNTIME;
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "group", g);
		cJSON_AddStringToObject(o, "url", urls[i]);
		print_json(o);
	}
	return 0;
}

/* publish --stage / --halt: a staged rollout's step (server/rollout.h). */
static int cmd_rollout_step(struct kh_srv *s, const struct args *a)
{
	struct kh_rollout_step step = {a->stage_bp, a->halt, a->halt_bp, a->silent_s};
	struct kh_rollout r;
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[512];
	int err;

	if (!a->group || (a->halt && (a->stage_bp || a->file))) {
		fprintf(stderr,
			"usage: khien-server publish --dir DIR [BUNDLE] --group G --stage P%% "
			"| --group G --halt\n");
		return EXIT_USAGE;
	}
	if (a->file && (err = kh_fs_read(a->file, KH_SRV_ADMIN_BODY_MAX, &buf, &len)) < 0) {
		fprintf(stderr, "khien-server: %s: %s\n", a->file, kh_strerror(err));
		return EXIT_FAILED;
	}
	err = kh_srv_rollout(s, a->group, buf, len, &step, &r, why, sizeof(why));
	free(buf);
	if (err < 0) {
		fprintf(stderr, "khien-server: publish: REFUSED: %s\n", why);
		return err == -EIO ? EXIT_RUNTIME : EXIT_FAILED;
	}
	printf("%s\n", why);
	return 0;
}

/* rollout: the halt rule, then every rollout (or group G's) with its counts. */
static int cmd_rollouts(struct kh_srv *s, const struct args *a)
{
	cJSON *arr = kh_srv_rollouts_json(s, a->group, kh_time_wall()), *r;
	int n;

	if (!arr)
		return EXIT_RUNTIME;
	n = cJSON_GetArraySize(arr);
	while ((r = cJSON_DetachItemFromArray(arr, 0)))
		print_json(r);
	cJSON_Delete(arr);
	if (a->group && !n) {
		fprintf(stderr, "khien-server: group %s has no rollout\n", a->group);
		return EXIT_FAILED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kh_srv s;
	struct args a;
	char why[512];
	const char *cmd = argc > 1 ? argv[1] : "";
	int err, rc = 0;

	kh_log_set_ident("khien-server");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || parse(argc, argv, &a) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.level) {
		int l = kh_log_parse_level(a.level);
		if (l < 0) {
			fprintf(stderr,
				"khien-server: --log-level: error, warn, notice, info, debug\n");
			return EXIT_USAGE;
		}
		kh_log_set_level((enum kh_log_level)l);
	}
	if (!strcmp(cmd, "init")) {
		struct kh_srv_store_opts so = {a.database, a.database_password_file};
		err = kh_srv_init(a.dir, a.url, a.trust_root, &so, why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "khien-server: init: %s\n", why);
			return EXIT_FAILED;
		}
		printf("instance ready in %s; start it with: khien-server run --dir %s\n", a.dir,
		       a.dir);
		return 0;
	}
	if (strcmp(cmd, "run") && strcmp(cmd, "provision") && strcmp(cmd, "publish") &&
	    strcmp(cmd, "revoke") && strcmp(cmd, "devices") && strcmp(cmd, "events") &&
	    strcmp(cmd, "policies") && strcmp(cmd, "audit") && strcmp(cmd, "compliance") &&
	    strcmp(cmd, "forward") && strcmp(cmd, "warnings") && strcmp(cmd, "mirror") &&
	    strcmp(cmd, "rollout")) {
		fprintf(stderr, "khien-server: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((err = kh_srv_open(a.dir, &s, why, sizeof(why))) < 0) {
		fprintf(stderr, "khien-server: %s\n", why);
		return EXIT_RUNTIME;
	}
	if (!strcmp(cmd, "run")) {
		rc = kh_srv_run(&s, a.listen) < 0 ? EXIT_RUNTIME : 0;
	} else if (!strcmp(cmd, "provision")) {
		unsigned flags = (a.force ? KH_PROV_FORCE : 0) | (a.expired ? KH_PROV_EXPIRED : 0);
		if (!a.device || !a.out) {
			fprintf(stderr,
				"usage: khien-server provision --dir DIR --device SERIAL -o "
				"OUTDIR [--group G] [--force]\n");
			rc = EXIT_USAGE;
		} else if (kh_srv_provision(&s, a.device, a.group ? a.group : "default", flags,
					    a.not_after, a.out, NULL, why, sizeof(why)) < 0) {
			fprintf(stderr, "khien-server: provision %s: %s\n", a.device, why);
			rc = EXIT_FAILED;
		} else {
			printf("device %s provisioned in group %s: %s/{device.key,device.pem,"
			       "server-ca.pem,root.json,khiend.json}\n",
			       a.device, a.group ? a.group : "default", a.out);
		}
	} else if (!strcmp(cmd, "publish") && (a.stage_bp || a.halt)) {
		rc = cmd_rollout_step(&s, &a);
	} else if (!strcmp(cmd, "publish")) {
		struct kh_policy_rec rec;
		uint8_t *buf;
		size_t len;
		if (a.halt_bp || a.silent_s) {
			fprintf(stderr,
				"khien-server: --halt-at and --silent-after go with --stage\n");
			rc = EXIT_USAGE;
		} else if (!a.file) {
			fprintf(stderr,
				"usage: khien-server publish --dir DIR BUNDLE [--group G]\n");
			rc = EXIT_USAGE;
		} else if ((err = kh_fs_read(a.file, KH_SRV_ADMIN_BODY_MAX, &buf, &len)) < 0) {
			fprintf(stderr, "khien-server: %s: %s\n", a.file, kh_strerror(err));
			rc = EXIT_FAILED;
		} else {
			err = kh_srv_publish(&s, buf, len, a.group ? a.group : "*", &rec, why,
					     sizeof(why));
			free(buf);
			if (err < 0) {
				fprintf(stderr, "khien-server: publish %s: REFUSED: %s\n", a.file,
					why);
				rc = EXIT_FAILED;
			} else {
				printf("%s\n", why);
			}
		}
	} else if (!strcmp(cmd, "revoke")) {
		if (!a.device || !kh_srv_serial_ok(a.device)) {
			fprintf(stderr, "usage: khien-server revoke --dir DIR --device SERIAL\n");
			rc = EXIT_USAGE;
		} else if (kh_store_device_set_status(s.store, a.device, KH_DEV_REVOKED) < 0) {
			fprintf(stderr, "khien-server: no device %s\n", a.device);
			rc = EXIT_FAILED;
		} else {
			printf("device %s revoked\n", a.device);
		}
	} else if (!strcmp(cmd, "devices")) {
		rc = kh_store_devices(s.store, print_device, s.store) < 0 ? EXIT_RUNTIME : 0;
	} else if (!strcmp(cmd, "audit")) {
		if (a.device && !kh_srv_serial_ok(a.device)) {
			fprintf(stderr, "khien-server: --device: not a serial\n");
			rc = EXIT_USAGE;
		} else {
			rc = kh_store_audits(s.store, a.device, a.check, a.failing, print_audit,
					     NULL) < 0
				     ? EXIT_RUNTIME
				     : 0;
		}
	} else if (!strcmp(cmd, "compliance")) {
		rc = kh_store_compliance(s.store, print_compliance, NULL) < 0 ? EXIT_RUNTIME : 0;
	} else if (!strcmp(cmd, "mirror")) {
		rc = cmd_mirror(&s, &a);
	} else if (!strcmp(cmd, "rollout")) {
		rc = cmd_rollouts(&s, &a);
	} else if (!strcmp(cmd, "warnings")) {
		rc = cmd_warnings(&s, &a);
	} else if (!strcmp(cmd, "policies")) {
		rc = kh_store_policies(s.store, print_policy, NULL) < 0 ? EXIT_RUNTIME : 0;
	} else if (!strcmp(cmd, "forward")) {
		rc = cmd_forward(&s, &a);
	} else {
		rc = cmd_events(&s, &a);
	}
	kh_srv_close(&s);
	return rc;
}
