/* SPDX-License-Identifier: MIT */
/*
 * Compiling the audit rules' regular expressions (POSIX extended syntax,
 * the subset docs/AUDIT.md lists) into the programs the device runs
 * (policy/audit_re.c): ISP side, at `audit compile`. A pattern is parsed
 * into a tree, then emitted as Thompson's construction; what the device
 * could not run in its fixed memory (too many instructions or sets) and
 * what POSIX ERE does not define or the matcher does not do
 * (backreferences, GNU escapes such as \w, collating elements) is refused
 * here with the reason.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/endian.h"
#include "policy/audit_priv.h"
#include "tools/khien-policy/audit_json.h"

#define MAX_PATTERN 512
#define MAX_NODES (3 * MAX_PATTERN + 8)
#define MAX_DEPTH 32
#define MAX_REPEAT 255

enum {
	N_EMPTY,
	N_CHAR,
	N_ANY,
	N_SET,
	N_BOL,
	N_EOL,
	N_CAT,
	N_ALT,
	N_REP
};

struct node {
	uint8_t type, c;
	uint16_t set;
	int l, r;     /* children (N_CAT, N_ALT), l for N_REP */
	int min, max; /* N_REP; max -1: no bound */
};

struct rec {
	const char *p;
	struct node n[MAX_NODES];
	int nn, depth;
	uint8_t sets[KH_RE_MAX_SETS][32];
	unsigned nsets;
	uint8_t code[4 * KH_RE_MAX_INST];
	unsigned pc;
	int over;
	char *why;
	size_t whylen;
};

static int fail(struct rec *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rec *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static int node(struct rec *c, int type, int l, int r)
{
	struct node *n;

	if (c->nn == MAX_NODES)
		return fail(c, "too complex");
	n = &c->n[c->nn];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->l = l;
	n->r = r;
	return c->nn++;
}

static int in_class(const char *name, size_t len, int ch)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{"alpha", isalpha}, {"digit", isdigit}, {"alnum", isalnum}, {"upper", isupper},
		{"lower", islower}, {"space", isspace}, {"blank", isblank}, {"punct", ispunct},
		{"print", isprint}, {"graph", isgraph}, {"cntrl", iscntrl}, {"xdigit", isxdigit},
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0)
			return ch < 128 && classes[i].fn(ch) ? 1 : 0; /* the C locale's classes */
	return -1;
}

static void set_add(uint8_t *set, int lo, int hi)
{
	for (int ch = lo; ch <= hi; ch++)
		set[ch >> 3] |= (uint8_t)(1u << (ch & 7));
}

/* A bracket expression, c->p just past the '['. */
static int bracket(struct rec *c)
{
	uint8_t set[32] = {0};
	int neg = 0, n;

	if (*c->p == '^') {
		neg = 1;
		c->p++;
	}
	for (int first = 1; first || *c->p != ']'; first = 0) {
		int lo = (unsigned char)*c->p, hi;
		if (!lo)
			return fail(c, "unmatched [");
		if (lo == '[' && (c->p[1] == '=' || c->p[1] == '.'))
			return fail(c, "collating elements ([= =], [. .]) are not supported");
		if (lo == '[' && c->p[1] == ':') {
			const char *name = c->p + 2, *end = strstr(name, ":]");
			if (!end || in_class(name, (size_t)(end - name), 'a') < 0)
				return fail(c, "unknown character class [:%.*s:]",
					    end ? (int)(end - name) : 8, name);
			for (int ch = 1; ch < 256; ch++)
				if (in_class(name, (size_t)(end - name), ch))
					set_add(set, ch, ch);
			c->p = end + 2;
			continue;
		}
		c->p++;
		hi = lo;
		if (c->p[0] == '-' && c->p[1] && c->p[1] != ']') {
			hi = (unsigned char)c->p[1];
			if (hi == '[' && (c->p[2] == ':' || c->p[2] == '=' || c->p[2] == '.'))
				return fail(c, "a range cannot end in a class");
			if (hi < lo)
				return fail(c, "range %c-%c is backwards", lo, hi);
			c->p += 2;
		}
		set_add(set, lo, hi);
	}
	c->p++;
	if (neg) {
		for (int i = 0; i < 32; i++)
			set[i] = (uint8_t)~set[i];
		set['\n' >> 3] &= (uint8_t) ~(1u << ('\n' & 7)); /* REG_NEWLINE */
	}
	set[0] &= (uint8_t)~1u; /* NUL ends the text, never in it */
	for (unsigned i = 0; i < c->nsets; i++)
		if (memcmp(c->sets[i], set, 32) == 0)
			return (n = node(c, N_SET, 0, 0)) < 0 ? n : (c->n[n].set = (uint16_t)i, n);
	if (c->nsets == KH_RE_MAX_SETS)
		return fail(c, "more than %d bracket expressions", KH_RE_MAX_SETS);
	memcpy(c->sets[c->nsets], set, 32);
	if ((n = node(c, N_SET, 0, 0)) < 0)
		return n;
	c->n[n].set = (uint16_t)c->nsets++;
	return n;
}

static int alt(struct rec *c);

static int atom(struct rec *c)
{
	int ch = (unsigned char)*c->p++, n;

	switch (ch) {
	case '(':
		if (++c->depth > MAX_DEPTH)
			return fail(c, "groups nested deeper than %d", MAX_DEPTH);
		if ((n = alt(c)) < 0)
			return n;
		if (*c->p++ != ')')
			return fail(c, "unmatched (");
		c->depth--;
		return n;
	case '.':
		return node(c, N_ANY, 0, 0);
	case '^':
		return node(c, N_BOL, 0, 0);
	case '$':
		return node(c, N_EOL, 0, 0);
	case '[':
		return bracket(c);
	case '*':
	case '+':
	case '?':
	case '{':
		return fail(c, "'%c' with nothing to repeat", ch);
	case '\\':
		ch = (unsigned char)*c->p++;
		if (!ch)
			return fail(c, "trailing backslash");
		if (ch >= '1' && ch <= '9')
			return fail(c, "backreferences (\\%c) are not supported", ch);
		if (isalnum(ch) || ch == '<' || ch == '>' || ch == '`' || ch == '\'')
			return fail(c,
				    "\\%c is not POSIX extended syntax (escape only special "
				    "characters)",
				    ch);
		break;
	}
	if ((n = node(c, N_CHAR, 0, 0)) >= 0)
		c->n[n].c = (uint8_t)ch;
	return n;
}

static int number(struct rec *c, int *out)
{
	int v = 0, digits = 0;

	while (*c->p >= '0' && *c->p <= '9' && digits < 4) {
		v = v * 10 + (*c->p++ - '0');
		digits++;
	}
	*out = v;
	return digits;
}

static int repeat(struct rec *c)
{
	int n = atom(c);

	while (n >= 0 && (*c->p == '*' || *c->p == '+' || *c->p == '?' || *c->p == '{')) {
		int min = 0, max = -1, r;
		char q = *c->p++;
		if (q == '+')
			min = 1;
		else if (q == '?')
			max = 1;
		else if (q == '{') {
			if (!number(c, &min))
				return fail(c, "expected {m}, {m,} or {m,n}");
			max = min;
			if (*c->p == ',') {
				c->p++;
				if (!number(c, &max))
					max = -1;
			}
			if (*c->p++ != '}')
				return fail(c, "expected {m}, {m,} or {m,n}");
			if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min))
				return fail(c, "bad repetition {%d,%d} (at most %d, m <= n)", min,
					    max, MAX_REPEAT);
		}
		if ((r = node(c, N_REP, n, 0)) < 0)
			return r;
		c->n[r].min = min;
		c->n[r].max = max;
		n = r;
	}
	return n;
}

static int alt(struct rec *c)
{
	int l = -1, r;

	for (;;) {
		int cat = -1;
		while (*c->p && *c->p != '|' && *c->p != ')') {
			if ((r = repeat(c)) < 0)
				return r;
			if (cat >= 0 && (r = node(c, N_CAT, cat, r)) < 0)
				return r;
			cat = r;
		}
		if (cat < 0 && (cat = node(c, N_EMPTY, 0, 0)) < 0)
			return cat;
		if (l >= 0 && (cat = node(c, N_ALT, l, cat)) < 0)
			return cat;
		l = cat;
		if (*c->p != '|')
			return l;
		c->p++;
	}
}

static void op(struct rec *c, int o, int byte, unsigned x)
{
	uint8_t *i = c->code + 4 * c->pc;

	if (c->pc == KH_RE_MAX_INST) {
		c->over = 1;
		return;
	}
	i[0] = (uint8_t)o;
	i[1] = (uint8_t)byte;
	kh_put_le16(i + 2, (uint16_t)x);
	c->pc++;
}

static void patch(struct rec *c, unsigned at, unsigned x)
{
	if (at < KH_RE_MAX_INST)
		kh_put_le16(c->code + 4 * at + 2, (uint16_t)x);
}

static void emit(struct rec *c, int i)
{
	const struct node *n = &c->n[i];
	unsigned s, j, chain = 0xffff;

	if (c->over)
		return; /* also ends the work of nested repetitions */
	switch (n->type) {
	case N_CHAR:
		op(c, KH_RE_CHAR, n->c, 0);
		break;
	case N_ANY:
		op(c, KH_RE_ANY, 0, 0);
		break;
	case N_SET:
		op(c, KH_RE_SET, 0, n->set);
		break;
	case N_BOL:
		op(c, KH_RE_BOL, 0, 0);
		break;
	case N_EOL:
		op(c, KH_RE_EOL, 0, 0);
		break;
	case N_CAT:
		emit(c, n->l);
		emit(c, n->r);
		break;
	case N_ALT:
		s = c->pc;
		op(c, KH_RE_SPLIT, 0, 0);
		emit(c, n->l);
		j = c->pc;
		op(c, KH_RE_JMP, 0, 0);
		patch(c, s, c->pc);
		emit(c, n->r);
		patch(c, j, c->pc);
		break;
	case N_REP:
		for (int k = 0; k < n->min && !c->over; k++)
			emit(c, n->l);
		if (n->max < 0) {
			s = c->pc;
			op(c, KH_RE_SPLIT, 0, 0);
			emit(c, n->l);
			op(c, KH_RE_JMP, 0, s);
			patch(c, s, c->pc);
			break;
		}
		/* each optional copy may be skipped to the end: the splits are chained
		 * through their targets until the end is known */
		for (int k = n->min; k < n->max && !c->over; k++) {
			s = c->pc;
			op(c, KH_RE_SPLIT, 0, chain);
			chain = s;
			emit(c, n->l);
		}
		while (!c->over && chain != 0xffff) {
			s = kh_le16(c->code + 4 * chain + 2);
			patch(c, chain, c->pc);
			chain = s;
		}
		break;
	}
}

int kh_re_compile(const char *pattern, uint8_t **prog, size_t *len, char *why, size_t whylen)
{
	struct rec *c;
	int root;

	*prog = NULL;
	if (strlen(pattern) > MAX_PATTERN) {
		snprintf(why, whylen, "longer than %d bytes", MAX_PATTERN);
		return -1;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	c->p = pattern;
	c->why = why;
	c->whylen = whylen;
	root = alt(c);
	if (root >= 0 && *c->p == ')')
		root = fail(c, "unmatched )");
	if (root >= 0) {
		emit(c, root);
		op(c, KH_RE_MATCH, 0, 0);
		if (c->over)
			root = fail(c, "too complex (more than %d steps)", KH_RE_MAX_INST);
	}
	if (root >= 0) {
		*len = 4 + 4 * (size_t)c->pc + 32 * (size_t)c->nsets;
		if (!(*prog = malloc(*len))) {
			root = fail(c, "out of memory");
		} else {
			kh_put_le16(*prog, (uint16_t)c->pc);
			kh_put_le16(*prog + 2, (uint16_t)c->nsets);
			memcpy(*prog + 4, c->code, 4 * (size_t)c->pc);
			memcpy(*prog + 4 + 4 * c->pc, c->sets, 32 * (size_t)c->nsets);
		}
	}
	free(c);
	return root < 0 ? -1 : 0;
}
