/* SPDX-License-Identifier: MIT */
/*
 * Syslog and CEF forwarding of events (server/forward.h). Formatting is
 * unit by unit (one character or one escape), and a unit that does not fit
 * is not written, so a message cut to size still ends on a character.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/civil.h"
#include "lib/severity.h"
#include "lib/utf8.h"
#include "platform/time.h"
#include "server/forward.h"
#include "server/render.h"

/* RFC 5612's documentation enterprise number: the SD-ID needs one */
#define SD_ID "khien@32473"

struct out {
	char *b;
	size_t cap, n;
	int full;
};

static void put_unit(struct out *o, const char *s, size_t len)
{
	if (o->full || o->n + len >= o->cap) {
		o->full = 1;
		return;
	}
	memcpy(o->b + o->n, s, len);
	o->n += len;
	o->b[o->n] = 0;
}

static void put(struct out *o, const char *s)
{
	put_unit(o, s, strlen(s));
}

enum esc {
	ESC_SD,	     /* RFC 5424 PARAM-VALUE: \ " ] escaped */
	ESC_CEF_HDR, /* CEF header field: \ | escaped, controls as spaces */
	ESC_CEF_EXT, /* CEF extension value: \ = escaped, CR and LF as \r \n */
	ESC_MSG,     /* free text: controls as spaces */
};

/* Device text into o: well-formed UTF-8 kept, other bytes as '?', escaped for where it lands. */
static void put_text(struct out *o, const char *s, enum esc how)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t left = strlen((const char *)p);

	while (left && !o->full) {
		size_t k = kh_utf8_seq(p, left);
		char u[3] = {0};
		if (k == 0) {
			put_unit(o, "?", 1);
			p++, left--;
			continue;
		}
		if (k > 1) {
			put_unit(o, (const char *)p, k);
		} else if (*p < 0x20 || *p == 0x7f) {
			if (how == ESC_CEF_EXT && (*p == '\n' || *p == '\r'))
				put_unit(o, *p == '\n' ? "\\n" : "\\r", 2);
			else
				put_unit(o, " ", 1);
		} else if ((how == ESC_SD && (*p == '\\' || *p == '"' || *p == ']')) ||
			   (how == ESC_CEF_HDR && (*p == '\\' || *p == '|')) ||
			   (how == ESC_CEF_EXT && (*p == '\\' || *p == '='))) {
			u[0] = '\\', u[1] = (char)*p;
			put_unit(o, u, 2);
		} else {
			u[0] = (char)*p;
			put_unit(o, u, 1);
		}
		p += k, left -= k;
	}
}

/* A header field of printable US-ASCII (RFC 5424 HOSTNAME, MSGID): others as '_', "-" if empty. */
static void put_token(struct out *o, const char *s, size_t max)
{
	size_t i = 0;

	for (; s && s[i] && i < max; i++) {
		char c = s[i] > 32 && s[i] < 127 ? s[i] : '_';
		put_unit(o, &c, 1);
	}
	if (!i)
		put(o, "-");
}

/* syslog severities: critical 2 (crit), high 3 (err), medium 4 (warning), low 5 (notice) */
static unsigned syslog_sev(int s)
{
	return s >= KH_SEV_CRITICAL ? 2 : s == KH_SEV_HIGH ? 3 : s == KH_SEV_MEDIUM ? 4 : 5;
}

/* CEF severities 0-10: low 3, medium 5, high 8, critical 10 */
static const char *cef_sev(int s)
{
	return s >= KH_SEV_CRITICAL ? "10"
	       : s == KH_SEV_HIGH   ? "8"
	       : s == KH_SEV_MEDIUM ? "5"
				    : "3";
}

static void put_sd_param(struct out *o, const char *name, const char *value)
{
	put(o, " ");
	put(o, name);
	put(o, "=\"");
	put_text(o, value, ESC_SD);
	put(o, "\"");
}

static void put_cef_ext(struct out *o, const char *key, const char *value)
{
	if (!value)
		return;
	put(o, " ");
	put(o, key);
	put(o, "=");
	put_text(o, value, ESC_CEF_EXT);
}

static const char *payload_str(const cJSON *p, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void format_cef(struct out *o, const struct kh_fwd_cfg *c, const struct kh_event_rec *e)
{
	cJSON *p = cJSON_Parse(e->payload);
	char num[32], *json = p ? cJSON_PrintUnformatted(p) : NULL;

	put(o, "CEF:0|Khien|khien-server|");
	put_text(o, c->version ? c->version : "", ESC_CEF_HDR);
	put(o, "|");
	put_text(o, e->type, ESC_CEF_HDR);
	put(o, "|");
	put_text(o, e->type, ESC_CEF_HDR);
	put(o, "|");
	put(o, cef_sev(e->severity));
	put(o, "|");
	snprintf(num, sizeof(num), "%lld", (long long)e->received * 1000);
	put(o, "rt=");
	put(o, num);
	put_cef_ext(o, "deviceExternalId", e->serial);
	snprintf(num, sizeof(num), "%lld", (long long)e->id);
	put_cef_ext(o, "externalId", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)e->seq);
	put_cef_ext(o, "cn1", num);
	put_cef_ext(o, "cn1Label", "seq");
	put_cef_ext(o, "dhost", payload_str(p, "name"));
	put_cef_ext(o, "cat", payload_str(p, "category"));
	put_cef_ext(o, "reason", payload_str(p, "reason"));
	put_cef_ext(o, "cs2", payload_str(p, "client"));
	if (payload_str(p, "client"))
		put_cef_ext(o, "cs2Label", "client");
	put_cef_ext(o, "cs3", payload_str(p, "check"));
	if (payload_str(p, "check"))
		put_cef_ext(o, "cs3Label", "check");
	/* last: the whole payload, so a cut message loses only its tail */
	put_cef_ext(o, "cs1", json ? json : "{}");
	put_cef_ext(o, "cs1Label", "payload");
	free(json);
	cJSON_Delete(p);
}

size_t kh_fwd_format(const struct kh_fwd_cfg *c, const struct kh_event_rec *e, char *buf,
		     size_t cap)
{
	struct out o = {.b = buf, .cap = cap};
	char head[64], ts[48], num[32];

	if (!cap)
		return 0;
	buf[0] = 0;
	snprintf(head, sizeof(head), "<%u>1 ",
		 (c->facility > 23 ? 16 : c->facility) * 8 + syslog_sev(e->severity));
	put(&o, head);
	kh_fmt_utc(e->received, ts, sizeof(ts));
	put(&o, ts);
	put(&o, " ");
	put_token(&o, c->host, 255);
	put(&o, " khien-server ");
	snprintf(num, sizeof(num), "%ld", c->pid);
	put(&o, num);
	put(&o, " ");
	put_token(&o, e->type, 32);
	put(&o, " ");
	if (c->format == KH_FWD_CEF) {
		put(&o, "- ");
		format_cef(&o, c, e);
		return o.n;
	}
	put(&o, "[" SD_ID);
	snprintf(num, sizeof(num), "%lld", (long long)e->id);
	put_sd_param(&o, "id", num);
	put_sd_param(&o, "device", e->serial);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)e->seq);
	put_sd_param(&o, "seq", num);
	put_sd_param(&o, "severity", kh_severity_name(e->severity));
	kh_fmt_utc(e->time, ts, sizeof(ts));
	put_sd_param(&o, "time", ts);
	put(&o, "] ");
	{
		cJSON *j = kh_render_event(e);
		char *t = j ? cJSON_PrintUnformatted(j) : NULL;
		put_text(&o, t ? t : "{}", ESC_MSG);
		free(t);
		cJSON_Delete(j);
	}
	return o.n;
}

struct kh_fwd {
	int tcp;
	struct kh_addr to;
	kh_sock s;
};

int kh_fwd_open(const char *to, struct kh_fwd **out, char *why, size_t whylen)
{
	struct kh_fwd *f;
	int tcp;

	if (!strncmp(to, "udp://", 6))
		tcp = 0;
	else if (!strncmp(to, "tcp://", 6))
		tcp = 1;
	else {
		snprintf(why, whylen, "--to %s: expected udp://IP:PORT or tcp://IP:PORT", to);
		return -EINVAL;
	}
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	f->tcp = tcp;
	f->s = -1;
	if (kh_addr_parse(to + 6, 514, &f->to) < 0) {
		snprintf(why, whylen, "--to %s: not an IP address with an optional port", to);
		free(f);
		return -EINVAL;
	}
	if (!tcp) {
		struct kh_addr any = {.family = f->to.family};
		int err = kh_net_udp_open(&any, &f->s);
		if (err < 0) {
			snprintf(why, whylen, "UDP socket: %s", strerror(-err));
			free(f);
			return err;
		}
	}
	*out = f;
	return 0;
}

void kh_fwd_close(struct kh_fwd *f)
{
	if (!f)
		return;
	if (f->s >= 0)
		kh_net_close(f->s);
	free(f);
}

int kh_fwd_send(struct kh_fwd *f, const char *msg, size_t len, unsigned timeout_ms)
{
	uint64_t deadline = kh_time_mono_ms() + timeout_ms;
	char frame[24];
	size_t flen, done = 0;
	int err;

	if (!f->tcp) {
		err = kh_net_sendto(f->s, msg, len, &f->to);
		return err < 0 ? err : 0;
	}
	if (f->s < 0 && (err = kh_net_tcp_connect(&f->to, &f->s)) < 0)
		return err;
	/* RFC 6587 octet counting: "LEN SP MSG"; a frame is written whole or the connection goes */
	flen = (size_t)snprintf(frame, sizeof(frame), "%zu ", len);
	while (done < flen + len) {
		const char *p = done < flen ? frame + done : msg + (done - flen);
		size_t n = done < flen ? flen - done : len - (done - flen);
		int w = kh_net_send(f->s, p, n);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		err = w == 0 ? -EPIPE : w;
		if (err == -EAGAIN && kh_time_mono_ms() < deadline) {
			kh_time_sleep_ms(2);
			continue;
		}
		kh_net_close(f->s);
		f->s = -1;
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	return 0;
}
