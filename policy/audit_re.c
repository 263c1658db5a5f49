/* SPDX-License-Identifier: MIT */
/*
 * Running the audit rules' regular expressions (policy/audit_priv.h): the
 * device checks a program once when it decodes the rules, then runs it as
 * a Thompson NFA simulation. Every position of the text advances the set
 * of live instructions by one byte and no instruction is in the set twice,
 * so a match costs at most (text length x program length) steps and a
 * fixed amount of stack, whatever pattern the rules carry: no
 * backtracking, no allocation. Semantics are regexec's with REG_EXTENDED
 * | REG_NEWLINE | REG_NOSUB in the C locale: a match anywhere, '.' and
 * negated sets never match a newline, '^' and '$' also match at one.
 */
#include <string.h>

#include "lib/endian.h"
#include "policy/audit_priv.h"

size_t kh_re_check(const uint8_t *prog, size_t max)
{
	unsigned n, sets;
	size_t len;

	if (max < 4)
		return 0;
	n = kh_le16(prog);
	sets = kh_le16(prog + 2);
	len = 4 + 4 * (size_t)n + 32 * (size_t)sets;
	if (!n || n > KH_RE_MAX_INST || sets > KH_RE_MAX_SETS || len > max)
		return 0;
	for (unsigned pc = 0; pc < n; pc++) {
		const uint8_t *i = prog + 4 + 4 * pc;
		unsigned op = i[0], x = kh_le16(i + 2);
		if (op >= KH_RE_NOPS || (op == KH_RE_SET && x >= sets) ||
		    ((op == KH_RE_JMP || op == KH_RE_SPLIT) && x >= n) ||
		    (op != KH_RE_MATCH && op != KH_RE_JMP && pc + 1 >= n))
			return 0; /* also: nothing runs past the last instruction */
	}
	return len;
}

struct nfa {
	const uint8_t *ins, *sets;
	const char *s;
	size_t len;
	uint32_t mark[KH_RE_MAX_INST]; /* position + 1 at which pc was added */
	uint16_t stack[2 * KH_RE_MAX_INST + 1];
};

/* Add pc and what it reaches without a byte at position pos; 1 if that is a match. */
static int add(struct nfa *m, uint16_t *list, unsigned *n, unsigned pc, size_t pos)
{
	unsigned sp = 0;

	m->stack[sp++] = (uint16_t)pc;
	while (sp) {
		const uint8_t *i;
		pc = m->stack[--sp];
		if (m->mark[pc] == pos + 1)
			continue;
		m->mark[pc] = (uint32_t)(pos + 1);
		i = m->ins + 4 * pc;
		switch (i[0]) {
		case KH_RE_MATCH:
			return 1;
		case KH_RE_SPLIT:
			m->stack[sp++] = kh_le16(i + 2);
			/* fall through */
		case KH_RE_BOL:
		case KH_RE_EOL:
			if ((i[0] == KH_RE_BOL && pos && m->s[pos - 1] != '\n') ||
			    (i[0] == KH_RE_EOL && pos < m->len && m->s[pos] != '\n'))
				break;
			m->stack[sp++] = (uint16_t)(pc + 1);
			break;
		case KH_RE_JMP:
			m->stack[sp++] = kh_le16(i + 2);
			break;
		default:
			list[(*n)++] = (uint16_t)pc;
		}
	}
	return 0;
}

int kh_re_match(const uint8_t *prog, const char *s, size_t len)
{
	struct nfa m;
	uint16_t lists[2][KH_RE_MAX_INST];
	unsigned n = 0;

	m.ins = prog + 4;
	m.sets = m.ins + 4 * kh_le16(prog);
	m.s = s;
	m.len = len;
	memset(m.mark, 0, sizeof(m.mark));
	for (size_t pos = 0;; pos++) {
		uint16_t *cur = lists[pos & 1], *next = lists[~pos & 1];
		unsigned c, nn = 0;
		/* a match may start at any position: a thread at the start each time */
		if (add(&m, cur, &n, 0, pos))
			return 1;
		if (pos == len)
			return 0;
		c = (unsigned char)s[pos];
		for (unsigned t = 0; t < n; t++) {
			const uint8_t *i = m.ins + 4 * cur[t];
			if ((i[0] == KH_RE_CHAR && c == i[1]) || (i[0] == KH_RE_ANY && c != '\n') ||
			    (i[0] == KH_RE_SET &&
			     (m.sets[32 * kh_le16(i + 2) + (c >> 3)] >> (c & 7)) & 1))
				if (add(&m, next, &nn, cur[t] + 1u, pos + 1))
					return 1;
		}
		n = nn;
	}
}
