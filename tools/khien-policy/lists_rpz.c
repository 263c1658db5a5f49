/* SPDX-License-Identifier: MIT */
/*
 * RPZ zone files (RFC 1035 master format as response-policy zones use it):
 * $ORIGIN and $TTL, the apex from the SOA, owners relative to it, records
 * joined across parentheses, CNAME actions and rpz-ip triggers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "platform/net.h"
#include "tools/khien-policy/lists_priv.h"

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
		for (i = 0; i < 8; i++)
			kh_put_be16(t->ip + 2 * i, g[i]);
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
static const char *rpz_expand(const struct kh_lctx *c, const char *t, size_t tl, char *out,
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

static int rpz_is_apex(const struct kh_lctx *c, const char *name, size_t n)
{
	return c->apex_len && n == c->apex_len && memcmp(name, c->apex, n) == 0;
}

/* $ORIGIN and $TTL; other directives ($INCLUDE, $GENERATE) are not applied. */
static void rpz_directive(struct kh_lctx *c, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *t, *t2;
	char exp[KH_NAME_MAX + 1], canon[KH_NAME_MAX + 1];
	size_t tl, el, len;
	int relative;

	tl = next_tok(&p, end, &t);
	if (ieq(t, tl, "$TTL"))
		return;
	if (!ieq(t, tl, "$ORIGIN")) {
		kh_lp_problem(c, 1, "zone-file directive not supported", s, n);
		return;
	}
	tl = next_tok(&p, end, &t);
	if (tl == 0 || next_tok(&p, end, &t2) > 0 || rpz_expand(c, t, tl, exp, &el, &relative) ||
	    kh_name_canon(exp, el, canon, &len, NULL) != KH_NAME_OK) {
		kh_lp_problem(c, 0, "invalid $ORIGIN name", s, n);
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
static void rpz_soa(struct kh_lctx *c, const char *s, size_t n)
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
		kh_lp_problem(c, 0, reason, s, n);
		return;
	}
	memcpy(c->apex, c->owner, c->owner_len + 1);
	c->apex_len = c->owner_len;
	c->apex_from_soa = 1;
}

/* One record (a line, or a record joined from its parentheses). */
static void rpz_record(struct kh_lctx *c, const char *s, size_t n)
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
			kh_lp_problem(c, 0, "record without an owner name", s, n);
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
			kh_lp_problem(c, 0, why, s, n);
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
		kh_lp_problem(c, 0, "expected a record type", s, n);
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
		kh_lp_problem(c, 1, "local-data policy (a record other than CNAME) not applied", s,
			      n);
		return;
	}
	rl = next_tok(&p, end, &rd);
	if (rl == 0) {
		kh_lp_problem(c, 0, "CNAME without a target", s, n);
		return;
	}
	/* The trigger: the owner without the apex. */
	rel = c->owner;
	rlen = c->owner_len;
	if (c->owner_relative && rlen == 1 && rel[0] == '@') {
		kh_lp_problem(c, 0, "trigger at the zone apex", s, n);
		return;
	}
	if (!c->owner_relative && c->apex_len) {
		size_t k = c->apex_len;
		if (rpz_is_apex(c, c->owner, c->owner_len)) {
			kh_lp_problem(c, 0, "trigger at the zone apex", s, n);
			return;
		}
		if (!(rlen > k + 1 && rel[rlen - k - 1] == '.' &&
		      memcmp(rel + rlen - k, c->apex, k) == 0)) {
			snprintf(reason, sizeof(reason), "owner name outside the zone %s", c->apex);
			kh_lp_problem(c, 0, reason, s, n);
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
		kh_lp_problem(c, 1, "rpz-tcp-only action not supported", s, n);
		return;
	} else {
		kh_lp_problem(c, 1, "CNAME redirect to a walled garden not applied", s, n);
		return;
	}
	if (next_tok(&p, end, &t) > 0) {
		kh_lp_problem(c, 0, "unexpected text after the CNAME target", s, n);
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
				kh_lp_problem(c, 0, "malformed rpz-ip trigger", s, n);
				return;
			}
			if (kh_lp_ip_prefix_refused(c, &ipt, s, n))
				return;
			if (allow) {
				kh_lp_problem(c, 1, "rpz-ip passthru (an IP exception) not applied",
					      s, n);
				return;
			}
			ipt.action = (uint8_t)act;
			ipt.allow = 0;
			kh_lp_emit_ip(c, &ipt);
			return;
		}
		if (ieq(last, lastlen, "rpz-nsdname") || ieq(last, lastlen, "rpz-nsip") ||
		    ieq(last, lastlen, "rpz-client-ip")) {
			kh_lp_problem(c, 1, "NSDNAME/NSIP/client-IP triggers not supported", s, n);
			return;
		}
	}
	kh_lp_emit_name(c, rel, rlen, KH_SCOPE_SELF, (uint8_t)act, allow);
}

/* Report a parenthesised record that could not be joined, at its first line. */
void kh_lp_rpz_paren_problem(struct kh_lctx *c, const char *reason)
{
	unsigned line = c->line;

	c->line = c->rec_line;
	kh_lp_problem(c, 0, reason, c->rec, c->rec_len);
	c->line = line;
}

/*
 * A line of a zone file. A record may span lines inside "( ... )"
 * (RFC 1035 5.1): the lines are joined, parentheses replaced by spaces,
 * and the record is parsed with the line number it starts on.
 */
void kh_lp_parse_rpz(struct kh_lctx *c, const char *s, size_t n)
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
		kh_lp_rpz_paren_problem(c, "'(' not closed within 64 lines");
		c->rec_open = 0;
		kh_lp_parse_rpz(c, s, n); /* this line starts afresh */
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
		kh_lp_rpz_paren_problem(c, c->rec_why);
		return;
	}
	line = c->line;
	c->line = c->rec_line;
	rpz_record(c, c->rec, rtrim(c->rec, c->rec_len));
	c->line = line;
}
