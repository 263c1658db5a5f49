/* SPDX-License-Identifier: MIT */
/*
 * khien-loadgen's connection slots: each a small state machine over one
 * TLS connection (connect, handshake, request, answer, and again or
 * close), with the check-in and event-batch requests it sends and the
 * answers it checks.
 */
#include "tests/bench/loadgen.h"

static void slot_drive(struct slot *c);

/* ---------------------------------------------------------------- requests */

static int set_out(struct slot *c, const char *target, const char *body, size_t blen)
{
	char head[512];
	int n = kh_http_format_request(head, sizeof(head), "POST", target, c->g->host,
				       "application/json", blen, NULL);

	if (n < 0)
		return n;
	free(c->out);
	c->out = malloc((size_t)n + blen);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, blen);
	c->out_len = (size_t)n + blen;
	c->out_off = 0;
	c->in_len = 0;
	c->head_len = 0;
	return 0;
}

/* A check-in shaped like agent/report.c's, with khiend's health counters. */
static int req_checkin(struct slot *c)
{
	struct dev *d = c->dev;
	char body[1024];
	int n;

	d->queries += 1200 + (d->queries % 97);
	n = snprintf(body, sizeof(body),
		     "{\"firmware\":\"khiend 0.1.0\",\"hardware_id\":\"lg-hw-%s\","
		     "\"policy\":{\"version\":0,\"root_version\":1},"
		     "\"events\":{\"pending\":0,\"next_seq\":%llu,\"dropped\":0},"
		     "\"status\":{\"uptime_s\":%llu.5,\"queries\":%llu,\"blocked\":%llu,"
		     "\"forwarded\":%llu,\"cached\":%llu,\"servfail\":0,\"index_entries\":"
		     "1048576,\"events_suppressed\":0}}",
		     d->serial, (unsigned long long)(d->next_seq ? d->next_seq : 1),
		     (unsigned long long)(kh_time_mono_ms() / 1000), (unsigned long long)d->queries,
		     (unsigned long long)d->queries / 50, (unsigned long long)d->queries / 3,
		     (unsigned long long)d->queries / 2);
	return set_out(c, "/v1/checkin", body, (size_t)n);
}

/* A batch of dns_blocked events as khiend reports them (agent/khiend.c). */
static int req_events(struct slot *c)
{
	static const char *const cats[] = {"malware", "phishing", "botnet", "gambling"};
	static const char *const sevs[] = {"high", "medium", "high", "low"};
	struct dev *d = c->dev;
	unsigned b = c->g->o.batch;
	size_t cap = 64 + (size_t)b * 320, len = 0;
	int64_t t = kh_time_wall();
	char *body = malloc(cap);
	int err;

	if (!body)
		return -ENOMEM;
	len += (size_t)snprintf(body, cap, "{\"events\":[");
	for (unsigned i = 0; i < b; i++) {
		uint64_t seq = d->next_seq + i;
		unsigned k = (unsigned)(seq % 4);
		len += (size_t)snprintf(
			body + len, cap - len,
			"%s{\"seq\":%llu,\"time\":%lld,\"type\":\"dns_blocked\",\"severity\":"
			"\"%s\",\"data\":{\"name\":\"host%llu.%s-example.net\",\"qtype\":\"A\","
			"\"category\":\"%s\",\"rule\":\"%s-example.net\",\"source\":\"%s.hosts\","
			"\"client\":\"%016llx\"}}",
			i ? "," : "", (unsigned long long)seq, (long long)t, sevs[k],
			(unsigned long long)(seq % 1000), cats[k], cats[k], cats[k], cats[k],
			(unsigned long long)(0x9e3779b97f4a7c15ull * (seq % 16 + 1)));
	}
	len += (size_t)snprintf(body + len, cap - len, "],\"dropped\":0}");
	c->sent_upto = d->next_seq + b - 1;
	err = set_out(c, "/v1/events", body, len);
	free(body);
	return err;
}

/* ---------------------------------------------------------------- connection slots */

static void watch(struct slot *c, unsigned ev)
{
	if (ev != c->watching && kh_loop_fd_mod(c->g->loop, c->fd, ev) == 0)
		c->watching = ev;
}

static void want(struct slot *c)
{
	watch(c, kh_tls_want(c->tls) == KH_TLS_WANT_WRITE ? KH_EV_WRITE : KH_EV_READ);
}

void slot_close(struct slot *c, int notify)
{
	struct lg *g = c->g;

	if (c->tls) {
		if (notify)
			kh_tls_close_notify(c->tls); /* best effort, as the agent does */
		kh_tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0) {
		kh_loop_fd_del(g->loop, c->fd);
		kh_net_close(c->fd);
		c->fd = -1;
	}
	free(c->out);
	c->out = NULL;
	free(c->in);
	c->in = NULL;
	kh_timer_cancel(g->loop, &c->timer);
	if (c->dev && g->o.mode == M_CHECKIN)
		c->dev->busy = 0;
	c->st = S_IDLE;
	c->checked_in = 0;
}

/* Hold mode: a connection finished opening (held or failed): open the next. */
void hold_next(struct lg *g)
{
	while (!g->stopping && g->hold_next < g->nslots && g->opening < g->o.parallel) {
		struct slot *c = &g->slots[g->hold_next++];
		g->opening++;
		slot_start(c);
	}
}

static void slot_fail(struct slot *c, enum ekind k, const char *what)
{
	struct lg *g = c->g;

	if (g->measuring || g->warming || g->o.mode == M_HOLD)
		record_error(g, k, "%s: %s", c->dev ? c->dev->serial : "-", what);
	/* A session the server refused would fail again: start over with a full handshake. */
	if ((k == E_TLS || k == E_CERT) && c->dev) {
		kh_tls_session_free(c->dev->sess);
		c->dev->sess = NULL;
	}
	slot_close(c, 0);
	if (g->o.mode == M_HOLD) {
		if (c->st == S_IDLE && g->opening) {
			g->opening--;
			g->hold_failed++;
		}
		hold_next(g);
		return;
	}
	if (!g->stopping)
		kh_timer_arm(g->loop, &c->timer, RETRY_MS);
}

static void on_io(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	struct slot *c = arg;

	(void)loop;
	(void)fd;
	if (c->st == S_CONNECT && !(events & (KH_EV_WRITE | KH_EV_ERROR)))
		return;
	slot_drive(c);
}

void on_slot_timer(struct kh_loop *loop, void *arg)
{
	struct slot *c = arg;

	(void)loop;
	if (c->st == S_IDLE) {
		slot_start(c);
		return;
	}
	slot_fail(c, E_TIMEOUT, "no progress");
}

static struct dev *pick_device(struct lg *g, struct slot *c)
{
	if (g->o.mode != M_CHECKIN)
		return &g->devs[c->idx];
	if (g->warming) {
		/* every device once, in order: its first (full) handshake saves the session */
		if (g->warm_next >= g->ndevs)
			return NULL;
		return &g->devs[g->warm_next++];
	}
	for (unsigned n = 0; n < g->ndevs; n++) {
		struct dev *d = &g->devs[g->next_dev];
		g->next_dev = (g->next_dev + 1) % g->ndevs;
		if (!d->busy)
			return d;
	}
	return NULL;
}

void slot_start(struct slot *c)
{
	struct lg *g = c->g;
	int err;

	if (g->stopping)
		return;
	c->dev = pick_device(g, c);
	if (!c->dev)
		return; /* warm-up: nothing left for this slot */
	c->dev->busy = 1;
	c->t_start = now_ns();
	c->resumed = 0;
	err = kh_net_tcp_connect(&g->addr, &c->fd);
	if (err < 0) {
		c->fd = -1;
		c->st = S_CONNECT;
		slot_fail(c, E_CONNECT, kh_strerror(err));
		return;
	}
	if ((err = kh_loop_fd_add(g->loop, c->fd, KH_EV_WRITE, on_io, c)) < 0) {
		c->st = S_CONNECT;
		slot_fail(c, E_CONNECT, kh_strerror(err));
		return;
	}
	c->watching = KH_EV_WRITE;
	c->st = S_CONNECT;
	kh_timer_arm(g->loop, &c->timer, OP_TIMEOUT_MS);
}

/* The first request on a new connection. */
static int first_request(struct slot *c)
{
	return req_checkin(c);
}

/* Numbers from a JSON answer; -1 when missing. */
static double json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* A complete 200 answer: account for it and decide what the slot does next. */
static void on_answer(struct slot *c)
{
	struct lg *g = c->g;
	const char *body = (const char *)c->in + c->head_len;
	size_t blen = (size_t)c->resp.content_length;
	uint64_t t = now_ns();
	cJSON *o = cJSON_ParseWithLength(body, blen);

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		slot_fail(c, E_BADRESP, "answer is not a JSON object");
		return;
	}
	if (!c->checked_in) {
		double acked = json_num(o, "events_acked");
		if (acked < 0 || json_num(o, "interval_s") < 10) {
			cJSON_Delete(o);
			slot_fail(c, E_BADRESP, "check-in answer without events_acked/interval_s");
			return;
		}
		c->checked_in = 1;
		if (c->dev->next_seq <= (uint64_t)acked)
			c->dev->next_seq = (uint64_t)acked + 1;
		cJSON_Delete(o);
		if (g->o.mode == M_CHECKIN) {
			if (g->warming) {
				g->warm_done++;
			} else if (g->measuring && t <= g->t_end) {
				g->ok++;
				g->resumed += (uint64_t)c->resumed;
				lat_add(g, t - c->t_start);
			}
			slot_close(c, 1);
			if (!g->stopping)
				slot_start(c);
			return;
		}
		if (g->o.mode == M_HOLD) {
			/* idle from now on; a read event means the server closed it */
			free(c->in);
			c->in = NULL;
			free(c->out);
			c->out = NULL;
			kh_timer_cancel(g->loop, &c->timer);
			c->st = S_HOLD;
			watch(c, KH_EV_READ);
			g->opening--;
			g->held++;
			hold_next(g);
			return;
		}
	} else {
		double stored = json_num(o, "stored"), acked = json_num(o, "acked");
		cJSON_Delete(o);
		if (stored < 0 || acked < 0) {
			slot_fail(c, E_BADRESP, "events answer without stored/acked");
			return;
		}
		if ((uint64_t)acked < c->sent_upto) {
			slot_fail(c, E_BADRESP, "events: server acknowledged less than sent");
			return;
		}
		c->dev->next_seq = (uint64_t)acked + 1;
		if (g->measuring && t <= g->t_end) {
			g->batches++;
			g->events_sent += g->o.batch;
			g->events_stored += (uint64_t)stored;
			lat_add(g, t - c->t_start);
		}
	}
	/* events: the next batch on the same connection */
	if (g->stopping)
		return;
	if (!c->resp.keep_alive) {
		slot_close(c, 1);
		slot_start(c);
		return;
	}
	if (req_events(c) < 0) {
		slot_fail(c, E_IO, "out of memory");
		return;
	}
	c->t_start = now_ns(); /* an upload's latency: request to answer */
	c->st = S_SEND;
	kh_timer_arm(g->loop, &c->timer, OP_TIMEOUT_MS);
}

static void slot_drive(struct slot *c)
{
	struct lg *g = c->g;
	int r;

	for (;;) {
		switch (c->st) {
		case S_IDLE:
			return;
		case S_CONNECT:
			r = kh_net_tcp_connect_result(c->fd);
			if (r < 0)
				return slot_fail(c, E_CONNECT, kh_strerror(r));
			if ((r = kh_tls_new(c->dev->conf, c->fd, g->host, &c->tls)) < 0)
				return slot_fail(c, E_TLS, kh_strerror(r));
			if (g->o.resume && c->dev->sess)
				kh_tls_session_offer(c->tls, c->dev->sess);
			c->st = S_HANDSHAKE;
			break;
		case S_HANDSHAKE:
			r = kh_tls_handshake(c->tls);
			if (r == -EAGAIN)
				return want(c);
			if (r < 0)
				return slot_fail(c,
						 r == -EACCES	    ? E_CERT
						 : r == -ECONNRESET ? E_CLOSED
								    : E_TLS,
						 kh_tls_error(c->tls));
			c->resumed = kh_tls_resumed(c->tls);
			if (g->o.resume && !c->resumed) {
				kh_tls_session_free(c->dev->sess);
				c->dev->sess = NULL;
				kh_tls_session_save(c->tls, &c->dev->sess);
			}
			c->in = malloc(IN_CAP);
			if (!c->in || first_request(c) < 0)
				return slot_fail(c, E_IO, "out of memory");
			c->st = S_SEND;
			break;
		case S_SEND:
			if (c->out_off == c->out_len) {
				c->st = S_RECV;
				break;
			}
			r = kh_tls_write(c->tls, c->out + c->out_off, c->out_len - c->out_off);
			if (r == -EAGAIN)
				return want(c);
			if (r < 0)
				return slot_fail(c, r == -ECONNRESET ? E_CLOSED : E_IO,
						 kh_tls_error(c->tls));
			c->out_off += (size_t)r;
			break;
		case S_RECV:
			if (c->in_len == IN_CAP)
				return slot_fail(c, E_BADRESP, "answer too large");
			r = kh_tls_read(c->tls, c->in + c->in_len, IN_CAP - c->in_len);
			if (r == -EAGAIN)
				return want(c);
			if (r == 0)
				return slot_fail(c, E_CLOSED, "server closed before answering");
			if (r < 0)
				return slot_fail(c, r == -ECONNRESET ? E_CLOSED : E_IO,
						 kh_tls_error(c->tls));
			c->in_len += (size_t)r;
			if (!c->head_len) {
				c->head_len = kh_http_parse_response((const char *)c->in, c->in_len,
								     &c->resp);
				if (c->head_len < 0)
					return slot_fail(c, E_BADRESP, "malformed answer head");
				if (c->head_len > 0 && c->resp.content_length < 0)
					return slot_fail(c, E_BADRESP, "answer without length");
			}
			if (c->head_len > 0 &&
			    c->in_len >= (size_t)c->head_len + (size_t)c->resp.content_length) {
				if (c->resp.status != 200) {
					char m[120];
					int bl = (int)KH_MIN((size_t)c->resp.content_length, 80);
					snprintf(m, sizeof(m), "HTTP %d %.*s", c->resp.status, bl,
						 (const char *)c->in + c->head_len);
					return slot_fail(c, E_HTTP, m);
				}
				on_answer(c);
				if (c->st != S_SEND)
					return; /* closed, restarted or holding */
				break;		/* events: the next batch on this connection */
			}
			break;
		case S_HOLD: {
			uint8_t b[256];
			r = kh_tls_read(c->tls, b, sizeof(b));
			if (r == -EAGAIN)
				return want(c);
			if (r > 0)
				break; /* nothing is expected; ignore */
			g->hold_lost++;
			g->held--;
			record_error(g, E_CLOSED, "%s: held connection closed by the server",
				     c->dev->serial);
			slot_close(c, 0);
			return;
		}
		}
	}
}
