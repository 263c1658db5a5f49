/* SPDX-License-Identifier: MIT */
/*
 * Inside the list parsers (lists.c: the line loop, format detection and what
 * every format shares; lists_text.c: the one-rule-per-line formats;
 * lists_rpz.c: RPZ zone files). Not for callers: they use lists.h.
 */
#ifndef KHIEN_POLICY_LISTS_PRIV_H
#define KHIEN_POLICY_LISTS_PRIV_H

#include <string.h>

#include "policy/index_format.h"
#include "policy/name.h"
#include "tools/khien-policy/lists.h"

struct kh_lctx {
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

static inline int is_sp(char c)
{
	return c == ' ' || c == '\t';
}

static inline int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline int ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i]; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return i == n && b[i] == 0;
}

/* 1 if the n bytes at s contain needle (s need not be NUL-terminated). */
static inline int has_sub(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, needle, k) == 0)
			return 1;
	return 0;
}

static inline int starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(s, prefix, k) == 0;
}

/* Next whitespace-separated token of [*p, end); returns its length (0 at end). */
static inline size_t next_tok(const char **p, const char *end, const char **tok)
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

/* Cut a comment starting at the first ch (outside quotes). */
static inline size_t cut_comment(const char *s, size_t n, char ch)
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

static inline size_t rtrim(const char *s, size_t n)
{
	while (n > 0 && (is_sp(s[n - 1]) || s[n - 1] == '\r'))
		n--;
	return n;
}

/* AdBlock modifiers of a rule */
#define MOD_IMPORTANT 1
#define MOD_BADFILTER 2

/* Report a line (text, n) as rejected or unsupported, with reason. */
void kh_lp_problem(struct kh_lctx *c, int unsupported, const char *reason, const char *text,
		   size_t n);
/* A name rule with AdBlock modifiers (MOD_*); kh_lp_emit_name() for every other format. */
void kh_lp_emit_rule(struct kh_lctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
		     int allow, unsigned mods);
void kh_lp_emit_name(struct kh_lctx *c, const char *tok, size_t n, uint8_t scope, uint8_t action,
		     int allow);
void kh_lp_emit_ip(struct kh_lctx *c, struct kh_list_ip *t);
/* Refuse a trigger so broad that it is a mistake (KH_LIST_IP*_MIN_PREFIX). */
int kh_lp_ip_prefix_refused(struct kh_lctx *c, const struct kh_list_ip *t, const char *s, size_t n);
/*
 * The one token of a line in a one-entry-per-line list (domains, ip): its
 * length, or 0 for a blank or comment line or after reporting extra text.
 */
size_t kh_lp_sole_token(struct kh_lctx *c, const char *s, size_t n, const char *extra_reason,
			const char **tok);
/* "ADDR" or "ADDR/PREFIX" into t: NULL, or why it is not a valid trigger. */
const char *kh_lp_ip_cidr(const char *tok, size_t tl, struct kh_list_ip *t);

/* One line (s, n) of each format. */
void kh_lp_parse_domains(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_hosts(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_adblock(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_dnsmasq(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_unbound(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_ip(struct kh_lctx *c, const char *s, size_t n);
void kh_lp_parse_rpz(struct kh_lctx *c, const char *s, size_t n);
/* At the end of the file, a record whose '(' was never closed. */
void kh_lp_rpz_paren_problem(struct kh_lctx *c, const char *reason);

#endif
