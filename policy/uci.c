/* SPDX-License-Identifier: MIT */
/*
 * UCI configuration reader (policy/uci.h). The grammar is libuci's file
 * format: lines of "package NAME", "config TYPE [NAME]", "option NAME
 * VALUE" and "list NAME VALUE"; words are shell-like (single quotes
 * literal, double quotes and bare words with backslash escapes, adjacent
 * parts joined); '#' at the start of a word starts a comment. A later
 * "config" with an existing name (and type) adds to that section, and a
 * later "option" replaces the earlier value, as uci does when it loads
 * the file. What libuci reads otherwise or refuses (its ';' command
 * separator and '#' inside a word, '-' in a name, control bytes, a name
 * reused for another type) is refused here: the audit must never pass a
 * file that the router reads differently or cannot load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/uci.h"

struct sect {
	unsigned type, name; /* offsets into text; name 0 = anonymous */
	int line;	     /* of its first "config" line */
};

struct opt {
	int sect;
	unsigned name, value;
	int dead; /* replaced by a later "option" */
	int line;
};

struct kh_uci {
	char *text; /* arena of NUL-terminated strings; offset 0 is "" */
	size_t used, cap;
	struct sect *sects;
	int nsects;
	struct opt *opts;
	int nopts;
};

void kh_uci_free(struct kh_uci *u)
{
	if (!u)
		return;
	free(u->text);
	free(u->sects);
	free(u->opts);
	free(u);
}

/*
 * Types (dash too) and section and option names (letters, digits and _
 * only, as libuci's uci_validate_name: a name it refuses makes it refuse
 * the whole file), at most 63 bytes.
 */
static int valid_name_of(const char *s, int type)
{
	if (!*s || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (type && *s == '-')))
			return 0;
	return 1;
}

static int valid_name(const char *s)
{
	return valid_name_of(s, 0);
}

int kh_uci_name_ok(const char *s)
{
	return valid_name_of(s, 1);
}

/*
 * Read the words of one line starting at *p into the arena (at most 4);
 * stops at the newline or a comment. Returns the word count or -1 with why.
 */
static int words(struct kh_uci *u, const char **p, const char *end, unsigned *w, const char **why)
{
	const char *s = *p;
	int n = 0;

	for (;;) {
		char *o;
		size_t start;

		/* a backslash before the newline continues the line (libuci does too) */
		while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' ||
				   (*s == '\\' && s + 1 < end && s[1] == '\n')))
			s += *s == '\\' ? 2 : 1;
		if (s == end || *s == '\n')
			break;
		if (*s == '#') {
			while (s < end && *s != '\n')
				s++;
			break;
		}
		if (n == 4) {
			*why = "too many words";
			return -1;
		}
		start = u->used;
		o = u->text + u->used;
		while (s < end && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
			if (*s == '\'') {
				for (s++; s < end && *s != '\'' && *s != '\n'; s++)
					*o++ = *s;
				if (s == end || *s != '\'') {
					*why = "unterminated quote";
					return -1;
				}
				s++;
			} else if (*s == '"') {
				for (s++; s < end && *s != '"' && *s != '\n'; s++) {
					if (*s == '\\' && s + 2 < end && s[1] == '\n') {
						s++; /* continued on the next line */
						continue;
					}
					if (*s == '\\' && s + 1 < end && s[1] != '\n')
						s++;
					*o++ = *s;
				}
				if (s == end || *s != '"') {
					*why = "unterminated quote";
					return -1;
				}
				s++;
			} else if (*s == '\\' && s + 1 < end && s[1] == '\n') {
				s += 2; /* continued on the next line */
			} else if (*s == ';' || *s == '#') {
				/* libuci ends the command (;) or the line (#) there: the rest would be read otherwise */
				*why = *s == ';' ? "';' outside quotes" : "'#' inside a word";
				return -1;
			} else {
				if (*s == '\\' && s + 1 < end && s[1] != '\n')
					s++;
				*o++ = *s++;
			}
			if ((size_t)(o - (u->text + start)) > KH_UCI_MAX_VALUE) {
				*why = "value longer than 4096 bytes";
				return -1;
			}
		}
		if (memchr(u->text + start, 0, (size_t)(o - (u->text + start)))) {
			*why = "NUL byte";
			return -1;
		}
		/* libuci refuses control bytes but tab and CR in a value (uci_validate_text) */
		for (const char *c = u->text + start; c < o; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\r') {
				*why = "control character in a word";
				return -1;
			}
		*o++ = 0;
		u->used = (size_t)(o - u->text);
		w[n++] = (unsigned)start;
	}
	*p = s;
	return n;
}

static int find_named(const struct kh_uci *u, const char *name)
{
	for (int i = 0; i < u->nsects; i++)
		if (u->sects[i].name && strcmp(u->text + u->sects[i].name, name) == 0)
			return i;
	return -1;
}

/* Room for one more of n elements: arrays double from 16, so small files stay small. */
static int grow(void **a, int n, size_t size)
{
	void *na;

	if (n & (n - 1) || (n && n < 16))
		return 0; /* not at a power of two: there is room */
	na = realloc(*a, size * (size_t)(n ? 2 * n : 16));
	if (!na)
		return -ENOMEM;
	*a = na;
	return 0;
}

static int line_of(const char *text, const char *p)
{
	int n = 1;
	for (const char *s = text; s < p; s++)
		n += *s == '\n';
	return n;
}

int kh_uci_parse(const char *text, size_t len, struct kh_uci **out, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *why = NULL, *line;
	struct kh_uci *u;
	int cur = -1, lineno = 0, next = 1;

	*out = NULL;
	if (len > KH_UCI_MAX_TEXT) {
		snprintf(err, errlen, "larger than %d bytes", KH_UCI_MAX_TEXT);
		return -E2BIG;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* every word is at most its text plus a NUL, and a word takes two bytes of text */
	u->cap = len + len / 2 + 2;
	u->text = malloc(u->cap);
	if (!u->text) {
		kh_uci_free(u);
		return -ENOMEM;
	}
	u->text[0] = 0;
	u->used = 1;
	while (p < end) {
		unsigned w[4];
		const char *kw;
		int n;

		line = p;
		lineno = next;
		n = words(u, &p, end, w, &why);
		if (n < 0)
			goto bad;
		if (p < end)
			p++; /* the newline */
		for (const char *q = line; q < p; q++)
			next += *q == '\n'; /* continuations included */
		if (n == 0)
			continue;
		kw = u->text + w[0];
		if (strcmp(kw, "package") == 0) {
			if (n != 2) {
				why = "expected: package NAME";
				goto bad;
			}
		} else if (strcmp(kw, "config") == 0) {
			const char *name = n == 3 ? u->text + w[2] : NULL;
			if (n < 2 || n > 3 || !kh_uci_name_ok(u->text + w[1]) ||
			    (name && !valid_name(name))) {
				why = "expected: config TYPE [NAME] (letters, digits and _, - in "
				      "the type, at most 63)";
				goto bad;
			}
			cur = name ? find_named(u, name) : -1;
			if (cur >= 0 && strcmp(u->text + u->sects[cur].type, u->text + w[1]) != 0) {
				why = "a section of another type with the same name (uci refuses "
				      "the file)";
				goto bad;
			}
			if (cur < 0) {
				if (u->nsects == KH_UCI_MAX_SECTIONS) {
					why = "more than 1024 sections";
					goto bad;
				}
				if (grow((void **)&u->sects, u->nsects, sizeof(*u->sects)) < 0)
					goto nomem;
				cur = u->nsects++;
				u->sects[cur].name = name ? w[2] : 0;
				u->sects[cur].line = lineno;
			}
			u->sects[cur].type = w[1];
		} else if (strcmp(kw, "option") == 0 || strcmp(kw, "list") == 0) {
			int list = kw[0] == 'l';
			if (n != 3 || !valid_name(u->text + w[1])) {
				why = list ? "expected: list NAME VALUE"
					   : "expected: option NAME VALUE";
				goto bad;
			}
			if (cur < 0) {
				why = "option outside a config section";
				goto bad;
			}
			if (u->nopts == KH_UCI_MAX_OPTIONS) {
				why = "more than 8192 options";
				goto bad;
			}
			if (grow((void **)&u->opts, u->nopts, sizeof(*u->opts)) < 0)
				goto nomem;
			if (!list)
				for (int i = 0; i < u->nopts; i++)
					if (u->opts[i].sect == cur &&
					    strcmp(u->text + u->opts[i].name, u->text + w[1]) == 0)
						u->opts[i].dead = 1;
			u->opts[u->nopts++] = (struct opt){.sect = cur,
							   .name = w[1],
							   .value = w[2],
							   .dead = 0,
							   .line = lineno};
		} else {
			why = "unknown keyword (expected package, config, option or list)";
			goto bad;
		}
	}
	*out = u;
	return 0;
bad:
	snprintf(err, errlen, "line %d: %s", line_of(text, line), why);
	kh_uci_free(u);
	return -EBADMSG;
nomem:
	snprintf(err, errlen, "out of memory");
	kh_uci_free(u);
	return -ENOMEM;
}

int kh_uci_sections(const struct kh_uci *u)
{
	return u->nsects;
}

const char *kh_uci_section_type(const struct kh_uci *u, int i)
{
	return u->text + u->sects[i].type;
}

const char *kh_uci_section_name(const struct kh_uci *u, int i)
{
	return u->sects[i].name ? u->text + u->sects[i].name : NULL;
}

int kh_uci_section(const struct kh_uci *u, const char *spec)
{
	char type[128], *e;
	const char *br;
	long idx;
	int count = 0, seen = 0;

	if (spec[0] != '@')
		return find_named(u, spec);
	br = strchr(spec, '[');
	if (!br || (size_t)(br - spec - 1) >= sizeof(type) || br == spec + 1)
		return -1;
	memcpy(type, spec + 1, (size_t)(br - spec - 1));
	type[br - spec - 1] = 0;
	errno = 0;
	idx = strtol(br + 1, &e, 10);
	if (errno || e == br + 1 || strcmp(e, "]") != 0)
		return -1;
	for (int i = 0; i < u->nsects; i++)
		count += strcmp(u->text + u->sects[i].type, type) == 0;
	if (idx < 0)
		idx += count;
	if (idx < 0 || idx >= count)
		return -1;
	for (int i = 0; i < u->nsects; i++)
		if (strcmp(u->text + u->sects[i].type, type) == 0 && seen++ == idx)
			return i;
	return -1;
}

int kh_uci_get(const struct kh_uci *u, int i, const char *name, const char **vals, int max)
{
	int n = 0;

	for (int k = 0; k < u->nopts; k++) {
		const struct opt *o = &u->opts[k];
		if (o->sect != i || o->dead || strcmp(u->text + o->name, name) != 0)
			continue;
		if (n < max)
			vals[n] = u->text + o->value;
		n++;
	}
	return n < max ? n : max;
}

int kh_uci_section_line(const struct kh_uci *u, int i)
{
	return u->sects[i].line;
}

int kh_uci_options(const struct kh_uci *u)
{
	return u->nopts;
}

int kh_uci_option(const struct kh_uci *u, int k, const char **name, const char **value, int *line)
{
	const struct opt *o = &u->opts[k];

	*name = u->text + o->name;
	*value = u->text + o->value;
	*line = o->line;
	return o->dead ? -1 : o->sect;
}
