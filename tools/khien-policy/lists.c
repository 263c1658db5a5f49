/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the blocklist formats ISP teams hold: plain domains, hosts,
 * the AdBlock DNS subset, dnsmasq, unbound local-zone, RPZ zone files and
 * plain IP lists. Each line is handled on its own (RPZ keeps the origin,
 * the apex and the last owner, and joins records in parentheses); invalid
 * lines are reported with a reason and skipped, never guessed at. This file
 * owns the line loop, format detection and the emitters every format
 * shares; the formats live in lists_text.c and lists_rpz.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/net.h"
#include "tools/khien-policy/lists_priv.h"
#include "tools/khien-policy/punycode.h"

static const char *const fmt_names[] = {"auto",	   "domains", "hosts", "adblock",
					"dnsmasq", "unbound", "rpz",   "ip"};

const char *kh_list_format_name(enum kh_list_format f)
{
	return (unsigned)f < KH_ARRAY_SIZE(fmt_names) ? fmt_names[f] : "?";
}

int kh_list_format_parse(const char *s)
{
	for (size_t i = 0; i < KH_ARRAY_SIZE(fmt_names); i++)
		if (strcmp(s, fmt_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void kh_lp_problem(struct kh_lctx *c, int unsupported, const char *reason, const char *text,
		   size_t n)
{
	char buf[96];

	if (n > sizeof(buf) - 4) {
		memcpy(buf, text, sizeof(buf) - 4);
		memcpy(buf + sizeof(buf) - 4, "...", 4);
	} else {
		memcpy(buf, text, n);
		buf[n] = 0;
	}
	for (char *q = buf; *q; q++)
		if ((unsigned char)*q < 0x20)
			*q = '?';
	if (unsupported)
		c->st->unsupported++;
	else
		c->st->rejected++;
	if (c->sink->problem)
		c->sink->problem(c->sink->arg, c->line, unsupported, reason, buf);
}

void kh_lp_emit_rule(struct kh_lctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
		     int allow, unsigned mods)
{
	char canon[KH_NAME_MAX + 1], reason[80], bad = 0;
	struct kh_list_entry e;
	size_t len;
	enum kh_name_err ne;

	if (n >= 2 && tok[0] == '*' && tok[1] == '.') {
		tok += 2;
		n -= 2;
		scope = KH_SCOPE_SUBS;
	}
	ne = kh_name_from_text(tok, n, canon, &len, &bad);
	if (ne != KH_NAME_OK) {
		if (ne == KH_NAME_BAD_CHAR && bad == '*') {
			kh_lp_problem(
				c, 1,
				"wildcard '*' inside a name is not supported (only a leading '*.')",
				tok, n);
			return;
		}
		kh_name_explain(ne, bad, reason, sizeof(reason));
		kh_lp_problem(c, 0, reason, tok, n);
		return;
	}
	e.name = canon;
	e.len = len;
	e.scope = scope;
	e.action = action;
	e.allow = (uint8_t)allow;
	e.important = (mods & MOD_IMPORTANT) != 0;
	e.badfilter = (mods & MOD_BADFILTER) != 0;
	if (e.badfilter)
		c->st->badfilters++;
	else if (allow)
		c->st->allows++;
	else
		c->st->entries++;
	if (c->sink->entry && !c->err)
		c->err = c->sink->entry(c->sink->arg, &e, c->line);
}

void kh_lp_emit_name(struct kh_lctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
		     int allow)
{
	kh_lp_emit_rule(c, tok, n, scope, action, allow, 0);
}

void kh_lp_emit_ip(struct kh_lctx *c, struct kh_list_ip *t)
{
	c->st->ips++;
	if (c->sink->ip && !c->err)
		c->err = c->sink->ip(c->sink->arg, t, c->line);
}

/* Refuse a trigger so broad that it is a mistake (KH_LIST_IP*_MIN_PREFIX). */
int kh_lp_ip_prefix_refused(struct kh_lctx *c, const struct kh_list_ip *t, const char *s, size_t n)
{
	unsigned min = t->family == 4 ? KH_LIST_IP4_MIN_PREFIX : KH_LIST_IP6_MIN_PREFIX;
	char reason[96];

	if (t->prefix >= min)
		return 0;
	snprintf(reason, sizeof(reason),
		 "IP%s prefix /%u is shorter than the minimum /%u (it would block too much)",
		 t->family == 4 ? "v4" : "v6", t->prefix, min);
	kh_lp_problem(c, 0, reason, s, n);
	return 1;
}

/*
 * The one token of a line in a one-entry-per-line list (domains, ip): its
 * length, or 0 for a blank or comment line or after reporting extra text.
 */
size_t kh_lp_sole_token(struct kh_lctx *c, const char *s, size_t n, const char *extra_reason,
			const char **tok)
{
	const char *p = s, *end, *t, *t2;
	size_t tl;

	n = rtrim(s, cut_comment(s, n, '#'));
	end = s + n;
	tl = next_tok(&p, end, &t);
	if (tl == 0 || t[0] == '!' || t[0] == ';')
		return 0;
	if (next_tok(&p, end, &t2) > 0) {
		kh_lp_problem(c, 0, extra_reason, s, n);
		return 0;
	}
	*tok = t;
	return tl;
}

enum kh_list_format kh_list_detect(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	unsigned ips = 0, names = 0, hosts = 0;
	int seen = 0;

	while (p < end && seen < 500) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *q = p, *t, *t2;
		size_t n, tl, t2l;
		char ip[64];
		struct kh_addr a;

		while (q < e && is_sp(*q))
			q++;
		n = rtrim(q, (size_t)(e - q));
		p = nl ? nl + 1 : end;
		if (n == 0)
			continue;
		if (starts(q, n, "[Adblock") || starts(q, n, "||") || starts(q, n, "@@"))
			return KH_FMT_ADBLOCK;
		if (starts(q, n, "$ORIGIN") || starts(q, n, "$TTL"))
			return KH_FMT_RPZ;
		if (starts(q, n, "local-zone:") || starts(q, n, "server:"))
			return KH_FMT_UNBOUND;
		if (starts(q, n, "address=/") || starts(q, n, "server=/") ||
		    starts(q, n, "local=/"))
			return KH_FMT_DNSMASQ;
		if (q[0] == '#' || q[0] == '!' || q[0] == ';')
			continue;
		seen++;
		{
			const char *r = q;
			tl = next_tok(&r, q + n, &t);
			t2l = next_tok(&r, q + n, &t2);
			if (t2l && (ieq(t2, t2l, "CNAME") || ieq(t2, t2l, "SOA")))
				return KH_FMT_RPZ;
			if (t2l) {
				const char *r2 = r, *t3;
				size_t t3l = next_tok(&r2, q + n, &t3);
				if (t3l && (ieq(t3, t3l, "CNAME") || ieq(t3, t3l, "SOA")))
					return KH_FMT_RPZ;
			}
			if (t2l && tl < sizeof(ip)) {
				memcpy(ip, t, tl);
				ip[tl] = 0;
				/* An odd "ADDR NAME" line in an IP list does not make it hosts. */
				if (kh_addr_parse_ip(ip, &a) == 0) {
					if (ips == 0)
						return KH_FMT_HOSTS;
					hosts++;
				}
			}
			if (!t2l) {
				struct kh_list_ip ipt;
				if (kh_lp_ip_cidr(t, tl, &ipt) == NULL)
					ips++;
				else
					names++;
			}
		}
	}
	/* Single tokens: mostly addresses is an IP list, else a domain list. */
	if (ips > names + hosts)
		return KH_FMT_IP;
	return hosts ? KH_FMT_HOSTS : KH_FMT_DOMAINS;
}

int kh_list_parse(const char *buf, size_t len, enum kh_list_format f,
		  const struct kh_list_sink *sink, struct kh_list_stats *st)
{
	struct kh_lctx c;
	const char *p = buf, *end = buf + len;

	memset(&c, 0, sizeof(c));
	c.sink = sink;
	c.st = st;
	if (f == KH_FMT_AUTO)
		f = kh_list_detect(buf, len);
	/* A UTF-8 byte-order mark is not part of the first line. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && !c.err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t n = (size_t)(e - p);

		c.line++;
		st->lines++;
		if (n > KH_LIST_LINE_MAX)
			kh_lp_problem(&c, 0, "line longer than 4096 bytes", p, 40);
		else if (memchr(p, 0, n))
			kh_lp_problem(&c, 0, "NUL byte in line", p, n);
		else {
			switch (f) {
			case KH_FMT_HOSTS:
				kh_lp_parse_hosts(&c, p, n);
				break;
			case KH_FMT_ADBLOCK:
				kh_lp_parse_adblock(&c, p, n);
				break;
			case KH_FMT_DNSMASQ:
				kh_lp_parse_dnsmasq(&c, p, n);
				break;
			case KH_FMT_UNBOUND:
				kh_lp_parse_unbound(&c, p, n);
				break;
			case KH_FMT_RPZ:
				kh_lp_parse_rpz(&c, p, n);
				break;
			case KH_FMT_IP:
				kh_lp_parse_ip(&c, p, n);
				break;
			default:
				kh_lp_parse_domains(&c, p, n);
				break;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (c.rec_open && !c.err)
		kh_lp_rpz_paren_problem(&c, "'(' not closed before the end of the file");
	return c.err;
}
