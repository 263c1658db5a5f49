/* SPDX-License-Identifier: MIT */
/*
 * The one-rule-per-line list formats: plain domains, hosts, the AdBlock DNS
 * subset, dnsmasq, unbound local-zone and plain IP lists (see lists.h for
 * what each accepts; docs/BLOCKLISTS.md for the rules).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/net.h"
#include "tools/khien-policy/lists_priv.h"

/* ---- plain domains ---- */
void kh_lp_parse_domains(struct kh_lctx *c, const char *s, size_t n)
{
	const char *t;
	size_t tl = kh_lp_sole_token(c, s, n,
				     "unexpected text after the name (is this a hosts file?)", &t);

	if (tl == 0)
		return;
	if (t[0] == '.' && tl > 1) {
		t++;
		tl--;
	}
	kh_lp_emit_name(c, t, tl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 0);
}

/* ---- hosts ---- */
static int hosts_ignored(const char *t, size_t n)
{
	static const char *const names[] = {"localhost",
					    "localhost.localdomain",
					    "local",
					    "broadcasthost",
					    "ip6-localhost",
					    "ip6-loopback",
					    "ip6-localnet",
					    "ip6-mcastprefix",
					    "ip6-allnodes",
					    "ip6-allrouters",
					    "ip6-allhosts",
					    "0.0.0.0",
					    "localhost4",
					    "localhost6",
					    "localhost4.localdomain4",
					    "localhost6.localdomain6"};

	for (size_t i = 0; i < KH_ARRAY_SIZE(names); i++)
		if (ieq(t, n, names[i]))
			return 1;
	return 0;
}

void kh_lp_parse_hosts(struct kh_lctx *c, const char *s, size_t n)
{
	const char *p = s, *end, *t;
	char ip[64];
	struct kh_addr a;
	size_t tl;
	int names = 0;

	n = rtrim(s, cut_comment(s, n, '#'));
	end = s + n;
	tl = next_tok(&p, end, &t);
	if (tl == 0 || t[0] == '!' || t[0] == ';')
		return;
	if (tl < sizeof(ip)) {
		memcpy(ip, t, tl);
		ip[tl] = 0;
	}
	if (tl >= sizeof(ip) || kh_addr_parse_ip(ip, &a) < 0) {
		kh_lp_problem(c, 0, "expected an IP address before the names", s, n);
		return;
	}
	while ((tl = next_tok(&p, end, &t)) > 0) {
		names++;
		if (hosts_ignored(t, tl)) {
			c->st->ignored++;
			continue;
		}
		kh_lp_emit_name(c, t, tl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 0);
	}
	if (!names)
		kh_lp_problem(c, 0, "no name after the address", s, n);
}

/* ---- AdBlock DNS subset ---- */
void kh_lp_parse_adblock(struct kh_lctx *c, const char *s, size_t n)
{
	const char *p = s, *name, *q;
	unsigned mods = 0;
	int allow = 0;
	size_t nl;

	while (n > 0 && is_sp(*p))
		p++, n--;
	n = rtrim(p, n);
	s = p;
	if (n == 0 || s[0] == '!' || s[0] == '[')
		return;
	if (has_sub(s, n, "##") || has_sub(s, n, "#@#") || has_sub(s, n, "#?#") ||
	    has_sub(s, n, "#$#")) {
		kh_lp_problem(c, 1, "cosmetic (element hiding) rule; not a DNS rule", s, n);
		return;
	}
	if (s[0] == '#')
		return;
	if (starts(s, n, "@@")) {
		allow = 1;
		s += 2;
		n -= 2;
	}
	if (!starts(s, n, "||")) {
		if (n > 0 && s[0] == '/')
			kh_lp_problem(c, 1, "regular-expression rule not supported", s, n);
		else
			kh_lp_problem(c, 1, "only ||name^ rules are applied", s, n);
		return;
	}
	name = s + 2;
	for (q = name; q < s + n && *q != '^' && *q != '$' && *q != '|' && *q != '/'; q++)
		;
	nl = (size_t)(q - name);
	if (q == s + n || *q != '^') {
		kh_lp_problem(c, 1,
			      "rule without '^' after the name would match more than the domain", s,
			      n);
		return;
	}
	q++;
	if (q < s + n && *q == '|')
		q++;
	if (q < s + n && *q == '$') {
		/* $important and $badfilter are applied; any other modifier skips the rule. */
		const char *m = q + 1, *end = s + n;
		while (m <= end) {
			const char *comma = memchr(m, ',', (size_t)(end - m));
			size_t ml = (size_t)((comma ? comma : end) - m);
			if (ieq(m, ml, "important"))
				mods |= MOD_IMPORTANT;
			else if (ieq(m, ml, "badfilter"))
				mods |= MOD_BADFILTER;
			else {
				char reason[96];
				snprintf(reason, sizeof(reason),
					 "modifier '$%.*s' not supported; rule skipped",
					 (int)KH_MIN(ml, (size_t)40), m);
				kh_lp_problem(c, 1, reason, s, n);
				return;
			}
			if (!comma)
				break;
			m = comma + 1;
		}
		q = end;
	}
	if (q != s + n) {
		kh_lp_problem(c, 1, "text after '^' (a path or pattern) is not a DNS rule", s, n);
		return;
	}
	kh_lp_emit_rule(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, allow, mods);
}

/* ---- dnsmasq ---- */
void kh_lp_parse_dnsmasq(struct kh_lctx *c, const char *s, size_t n)
{
	const char *eq, *v, *end, *f[130];
	size_t nf = 0;
	int is_addr;

	while (n > 0 && is_sp(*s))
		s++, n--;
	n = rtrim(s, n);
	if (n == 0 || s[0] == '#')
		return;
	eq = memchr(s, '=', n);
	if (!eq) {
		kh_lp_problem(c, 1, "dnsmasq option without '=' is not a blocking rule", s, n);
		return;
	}
	is_addr = ieq(s, (size_t)(eq - s), "address");
	if (!is_addr && !ieq(s, (size_t)(eq - s), "server") && !ieq(s, (size_t)(eq - s), "local")) {
		kh_lp_problem(c, 1,
			      "dnsmasq option is not a blocking rule (address=, server=, local=)",
			      s, n);
		return;
	}
	v = eq + 1;
	end = s + n;
	if (v >= end || *v != '/') {
		kh_lp_problem(c, 0, "expected /name/ after '='", s, n);
		return;
	}
	/* Split "/d1/d2/.../target" at '/'. */
	for (const char *p = v + 1; nf < KH_ARRAY_SIZE(f); p++) {
		f[nf++] = p;
		p = memchr(p, '/', (size_t)(end - p));
		if (!p)
			break;
	}
	if (nf < 2) {
		kh_lp_problem(c, 0, "expected /name/ followed by a target", s, n);
		return;
	}
	{
		const char *target = f[nf - 1];
		size_t tl = (size_t)(end - target);
		int allow = 0;
		if (!is_addr && tl > 0) {
			if (tl == 1 && target[0] == '#')
				allow = 1; /* "use the standard servers": an exception */
			else {
				kh_lp_problem(
					c, 1,
					"forwarding rule (server=/name/upstream), not a block", s,
					n);
				return;
			}
		}
		for (size_t i = 0; i + 1 < nf; i++) {
			const char *d = f[i];
			size_t dl = (size_t)(f[i + 1] - 1 - d);
			if (dl == 1 && d[0] == '#') {
				kh_lp_problem(c, 1, "'#' (every domain) is not a blocklist entry",
					      s, n);
				continue;
			}
			if (dl > 1 && d[0] == '.')
				d++, dl--;
			if (dl == 0) {
				kh_lp_problem(c, 0, "empty name between '/'", s, n);
				continue;
			}
			kh_lp_emit_name(c, d, dl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT,
					allow);
		}
	}
}

/* ---- unbound local-zone ---- */
void kh_lp_parse_unbound(struct kh_lctx *c, const char *s, size_t n)
{
	static const char *const block[] = {
		"deny",		 "refuse",	"static",      "redirect",    "always_nxdomain",
		"always_refuse", "always_null", "always_deny", "inform_deny", "noview"};
	static const char *const allow[] = {"transparent", "typetransparent", "always_transparent",
					    "inform", "nodefault"};
	const char *p, *end, *t, *name;
	size_t tl, nl;

	n = rtrim(s, cut_comment(s, n, '#'));
	end = s + n;
	p = s;
	tl = next_tok(&p, end, &t);
	if (tl == 0 || ieq(t, tl, "server:"))
		return;
	if (!ieq(t, tl, "local-zone:")) {
		if (ieq(t, tl, "local-data:") || ieq(t, tl, "local-data-ptr:"))
			kh_lp_problem(c, 1, "local-data is not applied (only local-zone)", s, n);
		else
			kh_lp_problem(c, 1, "unbound option is not a blocking rule (local-zone:)",
				      s, n);
		return;
	}
	while (p < end && is_sp(*p))
		p++;
	if (p < end && *p == '"') {
		name = ++p;
		while (p < end && *p != '"')
			p++;
		if (p == end) {
			kh_lp_problem(c, 0, "unterminated quoted zone name", s, n);
			return;
		}
		nl = (size_t)(p - name);
		p++;
	} else {
		nl = next_tok(&p, end, &name);
	}
	tl = next_tok(&p, end, &t);
	if (nl == 0 || tl == 0) {
		kh_lp_problem(c, 0, "expected local-zone: \"name.\" type", s, n);
		return;
	}
	for (size_t i = 0; i < KH_ARRAY_SIZE(block); i++)
		if (ieq(t, tl, block[i])) {
			kh_lp_emit_name(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT,
					0);
			return;
		}
	for (size_t i = 0; i < KH_ARRAY_SIZE(allow); i++)
		if (ieq(t, tl, allow[i])) {
			kh_lp_emit_name(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT,
					1);
			return;
		}
	kh_lp_problem(c, 0, "unknown local-zone type", t, tl);
}

/* ---- plain IP lists ---- */

/*
 * "ADDR" or "ADDR/PREFIX" into t. Returns NULL, or why it is not a valid
 * trigger. Bits beyond the prefix must be zero: "10.1.2.3/8" is ambiguous
 * (a typo for /32, or 10.0.0.0/8?) and is refused, not guessed.
 */
const char *kh_lp_ip_cidr(const char *tok, size_t tl, struct kh_list_ip *t)
{
	char buf[64];
	const char *slash = memchr(tok, '/', tl);
	size_t al = slash ? (size_t)(slash - tok) : tl;
	unsigned long prefix;
	struct kh_addr a;
	unsigned bits;

	if (al >= sizeof(buf))
		return "not an IP address";
	memcpy(buf, tok, al);
	buf[al] = 0;
	if (kh_addr_parse_ip(buf, &a) < 0)
		return "not an IP address";
	bits = a.family == KH_AF_INET ? 32 : 128;
	prefix = bits;
	if (slash) {
		size_t pl = tl - al - 1;
		if (pl == 0 || pl > 3)
			return "prefix length after '/' is not a number";
		memcpy(buf, slash + 1, pl); /* the token is not NUL-terminated */
		buf[pl] = 0;
		if (strspn(buf, "0123456789") < pl)
			return "prefix length after '/' is not a number";
		prefix = strtoul(buf, NULL, 10);
		if (prefix > bits)
			return a.family == KH_AF_INET ? "IPv4 prefix length over 32"
						      : "IPv6 prefix length over 128";
	}
	memset(t, 0, sizeof(*t));
	t->family = a.family == KH_AF_INET ? 4 : 6;
	t->prefix = (uint8_t)prefix;
	memcpy(t->ip, a.ip, bits / 8);
	for (unsigned b = (unsigned)prefix; b < bits; b++)
		if (t->ip[b / 8] & (0x80u >> (b % 8)))
			return "address has bits set beyond the prefix length";
	return NULL;
}

void kh_lp_parse_ip(struct kh_lctx *c, const char *s, size_t n)
{
	const char *t, *why;
	struct kh_list_ip ipt;
	size_t tl = kh_lp_sole_token(
		c, s, n, "expected one address or prefix per line (is this a hosts file?)", &t);

	if (tl == 0)
		return;
	n = rtrim(s, cut_comment(s, n, '#'));
	why = kh_lp_ip_cidr(t, tl, &ipt);
	if (why) {
		kh_lp_problem(c, 0, why, s, n);
		return;
	}
	if (kh_lp_ip_prefix_refused(c, &ipt, s, n))
		return;
	ipt.action = KH_ACT_DEFAULT;
	kh_lp_emit_ip(c, &ipt);
}
