/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the blocklist formats ISP teams hold: plain domains, hosts,
 * the AdBlock DNS subset, dnsmasq, unbound local-zone, RPZ zone files and
 * plain IP lists. Each line is handled on its own (RPZ keeps the origin,
 * the apex and the last owner, and joins records in parentheses); invalid
 * lines are reported with a reason and skipped, never guessed at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/net.h"
#include "policy/index_format.h"
#include "tools/khien-policy/lists.h"
#include "tools/khien-policy/punycode.h"

struct ctx {
	const struct kh_list_sink *sink;
	struct kh_list_stats *st;
	unsigned line;
	int err;
	/*
	 * RPZ state. The apex is the zone's name (the SOA owner, else the first
	 * $ORIGIN): triggers are owner names with the apex removed. The origin
	 * only expands relative names and may change ($ORIGIN), as in RFC 1035.
	 */
	char origin[KH_NAME_MAX + 1];
	size_t origin_len;
	char apex[KH_NAME_MAX + 1];
	size_t apex_len;
	int apex_from_soa, records;
	char owner[KH_NAME_MAX + 1]; /* last owner, expanded (for continuation lines) */
	size_t owner_len;
	int owner_relative; /* relative name and no origin known: used as the trigger as is */
	/* A record in parentheses, joined into one line before it is parsed. */
	char rec[KH_LIST_LINE_MAX + 1];
	size_t rec_len;
	unsigned rec_line, rec_lines;
	int rec_open;
	const char *rec_why; /* set: the joined record is rejected for this reason */
};

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

static int is_sp(char c)
{
	return c == ' ' || c == '\t';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i]; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return i == n && b[i] == 0;
}

/* 1 if the n bytes at s contain needle (s need not be NUL-terminated). */
static int has_sub(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, needle, k) == 0)
			return 1;
	return 0;
}

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(s, prefix, k) == 0;
}

/* Next whitespace-separated token of [*p, end); returns its length (0 at end). */
static size_t next_tok(const char **p, const char *end, const char **tok)
{
	const char *s = *p;

	while (s < end && is_sp(*s))
		s++;
	*tok = s;
	while (s < end && !is_sp(*s))
		s++;
	*p = s;
	return (size_t)(s - *tok);
}

static void problem(struct ctx *c, int unsupported, const char *reason, const char *text, size_t n)
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

#define MOD_IMPORTANT 1
#define MOD_BADFILTER 2

/* A name rule with AdBlock modifiers (MOD_*); emit_name() for every other format. */
static void emit_rule(struct ctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
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
			problem(c, 1,
				"wildcard '*' inside a name is not supported (only a leading '*.')",
				tok, n);
			return;
		}
		kh_name_explain(ne, bad, reason, sizeof(reason));
		problem(c, 0, reason, tok, n);
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

static void emit_name(struct ctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
		      int allow)
{
	emit_rule(c, tok, n, scope, action, allow, 0);
}

static void emit_ip(struct ctx *c, struct kh_list_ip *t)
{
	c->st->ips++;
	if (c->sink->ip && !c->err)
		c->err = c->sink->ip(c->sink->arg, t, c->line);
}

/* Refuse a trigger so broad that it is a mistake (KH_LIST_IP*_MIN_PREFIX). */
static int ip_prefix_refused(struct ctx *c, const struct kh_list_ip *t, const char *s, size_t n)
{
	unsigned min = t->family == 4 ? KH_LIST_IP4_MIN_PREFIX : KH_LIST_IP6_MIN_PREFIX;
	char reason[96];

	if (t->prefix >= min)
		return 0;
	snprintf(reason, sizeof(reason),
		 "IP%s prefix /%u is shorter than the minimum /%u (it would block too much)",
		 t->family == 4 ? "v4" : "v6", t->prefix, min);
	problem(c, 0, reason, s, n);
	return 1;
}

/* Cut a comment starting at the first ch (outside quotes). */
static size_t cut_comment(const char *s, size_t n, char ch)
{
	int q = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			q = !q;
		else if (s[i] == ch && !q)
			return i;
	}
	return n;
}

static size_t rtrim(const char *s, size_t n)
{
	while (n > 0 && (is_sp(s[n - 1]) || s[n - 1] == '\r'))
		n--;
	return n;
}

/*
 * The one token of a line in a one-entry-per-line list (domains, ip): its
 * length, or 0 for a blank or comment line or after reporting extra text.
 */
static size_t sole_token(struct ctx *c, const char *s, size_t n, const char *extra_reason,
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
		problem(c, 0, extra_reason, s, n);
		return 0;
	}
	*tok = t;
	return tl;
}

/* ---- plain domains ---- */
static void parse_domains(struct ctx *c, const char *s, size_t n)
{
	const char *t;
	size_t tl =
		sole_token(c, s, n, "unexpected text after the name (is this a hosts file?)", &t);

	if (tl == 0)
		return;
	if (t[0] == '.' && tl > 1) {
		t++;
		tl--;
	}
	emit_name(c, t, tl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 0);
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

static void parse_hosts(struct ctx *c, const char *s, size_t n)
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
		problem(c, 0, "expected an IP address before the names", s, n);
		return;
	}
	while ((tl = next_tok(&p, end, &t)) > 0) {
		names++;
		if (hosts_ignored(t, tl)) {
			c->st->ignored++;
			continue;
		}
		emit_name(c, t, tl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 0);
	}
	if (!names)
		problem(c, 0, "no name after the address", s, n);
}

/* ---- AdBlock DNS subset ---- */
static void parse_adblock(struct ctx *c, const char *s, size_t n)
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
		problem(c, 1, "cosmetic (element hiding) rule; not a DNS rule", s, n);
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
			problem(c, 1, "regular-expression rule not supported", s, n);
		else
			problem(c, 1, "only ||name^ rules are applied", s, n);
		return;
	}
	name = s + 2;
	for (q = name; q < s + n && *q != '^' && *q != '$' && *q != '|' && *q != '/'; q++)
		;
	nl = (size_t)(q - name);
	if (q == s + n || *q != '^') {
		problem(c, 1, "rule without '^' after the name would match more than the domain", s,
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
				problem(c, 1, reason, s, n);
				return;
			}
			if (!comma)
				break;
			m = comma + 1;
		}
		q = end;
	}
	if (q != s + n) {
		problem(c, 1, "text after '^' (a path or pattern) is not a DNS rule", s, n);
		return;
	}
	emit_rule(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, allow, mods);
}

/* ---- dnsmasq ---- */
static void parse_dnsmasq(struct ctx *c, const char *s, size_t n)
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
		problem(c, 1, "dnsmasq option without '=' is not a blocking rule", s, n);
		return;
	}
	is_addr = ieq(s, (size_t)(eq - s), "address");
	if (!is_addr && !ieq(s, (size_t)(eq - s), "server") && !ieq(s, (size_t)(eq - s), "local")) {
		problem(c, 1, "dnsmasq option is not a blocking rule (address=, server=, local=)",
			s, n);
		return;
	}
	v = eq + 1;
	end = s + n;
	if (v >= end || *v != '/') {
		problem(c, 0, "expected /name/ after '='", s, n);
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
		problem(c, 0, "expected /name/ followed by a target", s, n);
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
				problem(c, 1,
					"forwarding rule (server=/name/upstream), not a block", s,
					n);
				return;
			}
		}
		for (size_t i = 0; i + 1 < nf; i++) {
			const char *d = f[i];
			size_t dl = (size_t)(f[i + 1] - 1 - d);
			if (dl == 1 && d[0] == '#') {
				problem(c, 1, "'#' (every domain) is not a blocklist entry", s, n);
				continue;
			}
			if (dl > 1 && d[0] == '.')
				d++, dl--;
			if (dl == 0) {
				problem(c, 0, "empty name between '/'", s, n);
				continue;
			}
			emit_name(c, d, dl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, allow);
		}
	}
}

/* ---- unbound local-zone ---- */
static void parse_unbound(struct ctx *c, const char *s, size_t n)
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
			problem(c, 1, "local-data is not applied (only local-zone)", s, n);
		else
			problem(c, 1, "unbound option is not a blocking rule (local-zone:)", s, n);
		return;
	}
	while (p < end && is_sp(*p))
		p++;
	if (p < end && *p == '"') {
		name = ++p;
		while (p < end && *p != '"')
			p++;
		if (p == end) {
			problem(c, 0, "unterminated quoted zone name", s, n);
			return;
		}
		nl = (size_t)(p - name);
		p++;
	} else {
		nl = next_tok(&p, end, &name);
	}
	tl = next_tok(&p, end, &t);
	if (nl == 0 || tl == 0) {
		problem(c, 0, "expected local-zone: \"name.\" type", s, n);
		return;
	}
	for (size_t i = 0; i < KH_ARRAY_SIZE(block); i++)
		if (ieq(t, tl, block[i])) {
			emit_name(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 0);
			return;
		}
	for (size_t i = 0; i < KH_ARRAY_SIZE(allow); i++)
		if (ieq(t, tl, allow[i])) {
			emit_name(c, name, nl, KH_SCOPE_SELF | KH_SCOPE_SUBS, KH_ACT_DEFAULT, 1);
			return;
		}
	problem(c, 0, "unknown local-zone type", t, tl);
}

/* ---- RPZ ---- */

/* "32.4.3.2.1" (IPv4) or "64.zz.1.db8.2001" (IPv6), labels reversed. */
static int rpz_ip(const char *s, size_t n, struct kh_list_ip *t)
{
	const char *lab[17];
	size_t ll[17], nl = 0, i;
	unsigned long v;
	char *endp, tmp[8];

	for (const char *p = s; p <= s + n && nl < 17;) {
		const char *e = memchr(p, '.', (size_t)(s + n - p));
		if (!e)
			e = s + n;
		lab[nl] = p;
		ll[nl++] = (size_t)(e - p);
		p = e + 1;
	}
	if (nl < 2)
		return -EINVAL;
	for (i = 0; i < nl; i++)
		if (ll[i] == 0 || ll[i] > 4)
			return -EINVAL;
	memcpy(tmp, lab[0], ll[0]);
	tmp[ll[0]] = 0;
	v = strtoul(tmp, &endp, 10);
	if (*endp)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->prefix = (uint8_t)v;
	if (nl == 5 && v <= 32) {
		int ok = 1;
		for (i = 0; i < 4 && ok; i++) {
			memcpy(tmp, lab[4 - i], ll[4 - i]);
			tmp[ll[4 - i]] = 0;
			unsigned long o = strtoul(tmp, &endp, 10);
			ok = !*endp && o <= 255;
			t->ip[i] = (uint8_t)o;
		}
		if (ok) {
			t->family = 4;
			return 0;
		}
		memset(t->ip, 0, sizeof(t->ip)); /* not decimal: an IPv6 trigger */
	}
	if (v > 128)
		return -EINVAL;
	t->family = 6;
	{
		uint16_t g[8] = {0};
		size_t ng = nl - 1, zz = 0, at = 0;
		for (i = 1; i < nl; i++)
			zz += ll[i] == 2 && lab[i][0] == 'z' && lab[i][1] == 'z';
		if (zz > 1 || (zz == 0 && ng != 8) || ng > 8)
			return -EINVAL;
		/* Walk groups from most significant (last label) to least. */
		for (i = nl - 1; i >= 1; i--) {
			if (ll[i] == 2 && lab[i][0] == 'z' && lab[i][1] == 'z') {
				at += 8 - (ng - 1);
				continue;
			}
			memcpy(tmp, lab[i], ll[i]);
			tmp[ll[i]] = 0;
			unsigned long x = strtoul(tmp, &endp, 16);
			if (*endp || x > 0xffff || at >= 8)
				return -EINVAL;
			g[at++] = (uint16_t)x;
		}
		if (at != 8)
			return -EINVAL;
		for (i = 0; i < 8; i++) {
			t->ip[2 * i] = (uint8_t)(g[i] >> 8);
			t->ip[2 * i + 1] = (uint8_t)g[i];
		}
	}
	return 0;
}

static int is_ttl(const char *t, size_t n)
{
	if (n == 0 || t[0] < '0' || t[0] > '9')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || strchr("smhdwSMHDW", t[i])))
			return 0;
	return 1;
}

/*
 * An owner or $ORIGIN name as an absolute name (lowercase, no final dot):
 * "@" is the origin, a name without a final dot is relative to the origin
 * (RFC 1035). With no origin yet a relative name (and "@", the apex the
 * DNS server configures) is kept as written and *relative set. Returns
 * NULL, or why the name cannot be expanded.
 */
static const char *rpz_expand(const struct ctx *c, const char *t, size_t tl, char *out,
			      size_t *out_len, int *relative)
{
	size_t n;

	*relative = 0;
	if (tl == 1 && t[0] == '@' && c->origin_len) {
		memcpy(out, c->origin, c->origin_len);
		n = c->origin_len;
	} else if (t[tl - 1] == '.') {
		n = tl - 1;
		if (n == 0)
			return "the root name is not in an RPZ zone";
		if (n > KH_NAME_MAX)
			return "name longer than 253 octets";
		memcpy(out, t, n);
	} else if (c->origin_len) {
		n = tl + 1 + c->origin_len;
		if (n > KH_NAME_MAX)
			return "name longer than 253 octets with the origin appended";
		memcpy(out, t, tl);
		out[tl] = '.';
		memcpy(out + tl + 1, c->origin, c->origin_len);
	} else {
		if (tl > KH_NAME_MAX)
			return "name longer than 253 octets";
		memcpy(out, t, tl);
		n = tl;
		*relative = 1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)lower((unsigned char)out[i]);
	out[n] = 0;
	*out_len = n;
	return NULL;
}

static int rpz_is_apex(const struct ctx *c, const char *name, size_t n)
{
	return c->apex_len && n == c->apex_len && memcmp(name, c->apex, n) == 0;
}

/* $ORIGIN and $TTL; other directives ($INCLUDE, $GENERATE) are not applied. */
static void rpz_directive(struct ctx *c, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *t, *t2;
	char exp[KH_NAME_MAX + 1], canon[KH_NAME_MAX + 1];
	size_t tl, el, len;
	int relative;

	tl = next_tok(&p, end, &t);
	if (ieq(t, tl, "$TTL"))
		return;
	if (!ieq(t, tl, "$ORIGIN")) {
		problem(c, 1, "zone-file directive not supported", s, n);
		return;
	}
	tl = next_tok(&p, end, &t);
	if (tl == 0 || next_tok(&p, end, &t2) > 0 || rpz_expand(c, t, tl, exp, &el, &relative) ||
	    kh_name_canon(exp, el, canon, &len, NULL) != KH_NAME_OK) {
		problem(c, 0, "invalid $ORIGIN name", s, n);
		return;
	}
	memcpy(c->origin, canon, len + 1);
	c->origin_len = len;
	if (!c->apex_len) { /* the first origin is the zone, unless an SOA says otherwise */
		memcpy(c->apex, canon, len + 1);
		c->apex_len = len;
	}
}

/* The SOA owner is the zone apex; it may not move once triggers were read. */
static void rpz_soa(struct ctx *c, const char *s, size_t n)
{
	char reason[KH_NAME_MAX + 64];

	if (c->owner_relative)
		return; /* no origin: the apex is whatever the server configures */
	if (rpz_is_apex(c, c->owner, c->owner_len)) {
		c->apex_from_soa = 1;
		return;
	}
	if (c->apex_from_soa || c->records) {
		snprintf(reason, sizeof(reason), "SOA record of another zone than %s",
			 c->apex_len ? c->apex : "the one the triggers above were read in");
		problem(c, 0, reason, s, n);
		return;
	}
	memcpy(c->apex, c->owner, c->owner_len + 1);
	c->apex_len = c->owner_len;
	c->apex_from_soa = 1;
}

/* One record (a line, or a record joined from its parentheses). */
static void rpz_record(struct ctx *c, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *t, *rd, *why, *rel;
	char reason[KH_NAME_MAX + 64];
	size_t tl, rl, rlen;
	int act, allow = 0;

	if (n == 0)
		return;
	if (s[0] == '$') {
		rpz_directive(c, s, n);
		return;
	}
	if (is_sp(s[0])) {
		if (!c->owner_len) {
			problem(c, 0, "record without an owner name", s, n);
			return;
		}
	} else {
		char exp[KH_NAME_MAX + 1];
		size_t el;
		int relative;
		tl = next_tok(&p, end, &t);
		why = rpz_expand(c, t, tl, exp, &el, &relative);
		if (why) {
			c->owner_len = 0; /* continuation lines must not inherit an older owner */
			problem(c, 0, why, s, n);
			return;
		}
		memcpy(c->owner, exp, el + 1);
		c->owner_len = el;
		c->owner_relative = relative;
	}
	/* [ttl] [class] type, in either order */
	for (int k = 0; k < 2; k++) {
		const char *save = p;
		tl = next_tok(&p, end, &t);
		if (!(is_ttl(t, tl) || ieq(t, tl, "IN") || ieq(t, tl, "CH") || ieq(t, tl, "HS"))) {
			p = save;
			break;
		}
	}
	tl = next_tok(&p, end, &t);
	if (tl == 0) {
		problem(c, 0, "expected a record type", s, n);
		return;
	}
	if (ieq(t, tl, "SOA")) {
		rpz_soa(c, s, n);
		return;
	}
	if (ieq(t, tl, "NS"))
		return;
	c->records++;
	if (!ieq(t, tl, "CNAME")) {
		problem(c, 1, "local-data policy (a record other than CNAME) not applied", s, n);
		return;
	}
	rl = next_tok(&p, end, &rd);
	if (rl == 0) {
		problem(c, 0, "CNAME without a target", s, n);
		return;
	}
	/* The trigger: the owner without the apex. */
	rel = c->owner;
	rlen = c->owner_len;
	if (c->owner_relative && rlen == 1 && rel[0] == '@') {
		problem(c, 0, "trigger at the zone apex", s, n);
		return;
	}
	if (!c->owner_relative && c->apex_len) {
		size_t k = c->apex_len;
		if (rpz_is_apex(c, c->owner, c->owner_len)) {
			problem(c, 0, "trigger at the zone apex", s, n);
			return;
		}
		if (!(rlen > k + 1 && rel[rlen - k - 1] == '.' &&
		      memcmp(rel + rlen - k, c->apex, k) == 0)) {
			snprintf(reason, sizeof(reason), "owner name outside the zone %s", c->apex);
			problem(c, 0, reason, s, n);
			return;
		}
		rlen -= k + 1;
	}

	if (ieq(rd, rl, "."))
		act = KH_ACT_NXDOMAIN;
	else if (ieq(rd, rl, "*."))
		act = KH_ACT_NODATA;
	else if (ieq(rd, rl, "rpz-drop."))
		act = KH_ACT_DROP;
	else if (ieq(rd, rl, "rpz-passthru.")) {
		act = KH_ACT_DEFAULT;
		allow = 1;
	} else if (ieq(rd, rl, "rpz-tcp-only.")) {
		problem(c, 1, "rpz-tcp-only action not supported", s, n);
		return;
	} else {
		problem(c, 1, "CNAME redirect to a walled garden not applied", s, n);
		return;
	}
	if (next_tok(&p, end, &t) > 0) {
		problem(c, 0, "unexpected text after the CNAME target", s, n);
		return;
	}

	{
		const char *lastdot = NULL;
		for (size_t i = 0; i < rlen; i++)
			if (rel[i] == '.')
				lastdot = rel + i;
		const char *last = lastdot ? lastdot + 1 : rel;
		size_t lastlen = (size_t)(rel + rlen - last);
		if (ieq(last, lastlen, "rpz-ip")) {
			struct kh_list_ip ipt;
			if (!lastdot || rpz_ip(rel, (size_t)(lastdot - rel), &ipt) < 0) {
				problem(c, 0, "malformed rpz-ip trigger", s, n);
				return;
			}
			if (ip_prefix_refused(c, &ipt, s, n))
				return;
			if (allow) {
				problem(c, 1, "rpz-ip passthru (an IP exception) not applied", s,
					n);
				return;
			}
			ipt.action = (uint8_t)act;
			ipt.allow = 0;
			emit_ip(c, &ipt);
			return;
		}
		if (ieq(last, lastlen, "rpz-nsdname") || ieq(last, lastlen, "rpz-nsip") ||
		    ieq(last, lastlen, "rpz-client-ip")) {
			problem(c, 1, "NSDNAME/NSIP/client-IP triggers not supported", s, n);
			return;
		}
	}
	emit_name(c, rel, rlen, KH_SCOPE_SELF, (uint8_t)act, allow);
}

/* Report a parenthesised record that could not be joined, at its first line. */
static void rpz_paren_problem(struct ctx *c, const char *reason)
{
	unsigned line = c->line;

	c->line = c->rec_line;
	problem(c, 0, reason, c->rec, c->rec_len);
	c->line = line;
}

/*
 * A line of a zone file. A record may span lines inside "( ... )"
 * (RFC 1035 5.1): the lines are joined, parentheses replaced by spaces,
 * and the record is parsed with the line number it starts on.
 */
static void parse_rpz(struct ctx *c, const char *s, size_t n)
{
	int q = 0, parens = 0;
	unsigned line;

	n = rtrim(s, cut_comment(s, n, ';'));
	for (size_t i = 0; i < n && !parens; i++) {
		if (s[i] == '"')
			q = !q;
		else if (!q && (s[i] == '(' || s[i] == ')'))
			parens = 1;
	}
	if (!parens && !c->rec_open) {
		rpz_record(c, s, n);
		return;
	}
	if (c->rec_open && ++c->rec_lines > 64) {
		rpz_paren_problem(c, "'(' not closed within 64 lines");
		c->rec_open = 0;
		parse_rpz(c, s, n); /* this line starts afresh */
		return;
	}
	if (!c->rec_open) {
		c->rec_len = 0;
		c->rec_line = c->line;
		c->rec_lines = 1;
		c->rec_why = NULL;
	} else if (c->rec_len < KH_LIST_LINE_MAX) {
		c->rec[c->rec_len++] = ' ';
	}
	q = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '"')
			q = !q;
		else if (!q && ch == '(') {
			if (c->rec_open && !c->rec_why)
				c->rec_why = "nested '(' in record";
			c->rec_open = 1;
			ch = ' ';
		} else if (!q && ch == ')') {
			if (!c->rec_open && !c->rec_why)
				c->rec_why = "')' without '('";
			c->rec_open = 0;
			ch = ' ';
		}
		if (c->rec_len < KH_LIST_LINE_MAX)
			c->rec[c->rec_len++] = ch;
		else if (!c->rec_why)
			c->rec_why = "record in parentheses longer than 4096 bytes";
	}
	if (c->rec_open)
		return;
	if (c->rec_why) {
		rpz_paren_problem(c, c->rec_why);
		return;
	}
	line = c->line;
	c->line = c->rec_line;
	rpz_record(c, c->rec, rtrim(c->rec, c->rec_len));
	c->line = line;
}

/* ---- plain IP lists ---- */

/*
 * "ADDR" or "ADDR/PREFIX" into t. Returns NULL, or why it is not a valid
 * trigger. Bits beyond the prefix must be zero: "10.1.2.3/8" is ambiguous
 * (a typo for /32, or 10.0.0.0/8?) and is refused, not guessed.
 */
static const char *ip_cidr(const char *tok, size_t tl, struct kh_list_ip *t)
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

static void parse_ip(struct ctx *c, const char *s, size_t n)
{
	const char *t, *why;
	struct kh_list_ip ipt;
	size_t tl = sole_token(
		c, s, n, "expected one address or prefix per line (is this a hosts file?)", &t);

	if (tl == 0)
		return;
	n = rtrim(s, cut_comment(s, n, '#'));
	why = ip_cidr(t, tl, &ipt);
	if (why) {
		problem(c, 0, why, s, n);
		return;
	}
	if (ip_prefix_refused(c, &ipt, s, n))
		return;
	ipt.action = KH_ACT_DEFAULT;
	emit_ip(c, &ipt);
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
				if (ip_cidr(t, tl, &ipt) == NULL)
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
	struct ctx c;
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
			problem(&c, 0, "line longer than 4096 bytes", p, 40);
		else if (memchr(p, 0, n))
			problem(&c, 0, "NUL byte in line", p, n);
		else {
			switch (f) {
			case KH_FMT_HOSTS:
				parse_hosts(&c, p, n);
				break;
			case KH_FMT_ADBLOCK:
				parse_adblock(&c, p, n);
				break;
			case KH_FMT_DNSMASQ:
				parse_dnsmasq(&c, p, n);
				break;
			case KH_FMT_UNBOUND:
				parse_unbound(&c, p, n);
				break;
			case KH_FMT_RPZ:
				parse_rpz(&c, p, n);
				break;
			case KH_FMT_IP:
				parse_ip(&c, p, n);
				break;
			default:
				parse_domains(&c, p, n);
				break;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (c.rec_open && !c.err)
		rpz_paren_problem(&c, "'(' not closed before the end of the file");
	return c.err;
}
