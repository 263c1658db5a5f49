/* SPDX-License-Identifier: MIT */
/* policy/uci.c: libuci's file grammar, section addressing, limits and errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/uci.h"
#include "tests/unit/kt.h"

static struct kh_uci *parse(const char *text, char *err)
{
	struct kh_uci *u = NULL;
	if (kh_uci_parse(text, strlen(text), &u, err, 128) < 0)
		return NULL;
	return u;
}

static void test_uci_grammar(void)
{
	char err[128];
	const char *v[4];
	struct kh_uci *u = parse("package 'firewall'\n"
				 "# a comment\n"
				 "config defaults\n"
				 "\toption input ACCEPT # trailing comment\n"
				 "config zone 'lan'\n"
				 "\toption name lan\n"
				 "\tlist network 'lan'\n"
				 "\tlist network \"guest\"\n"
				 "config zone\n"
				 "\toption name 'w'\"a\"n\n"
				 "\toption input 'ACCEPT'\n"
				 "\toption input REJECT\n"
				 "\toption note 'it''s \"quoted\"'\n"
				 "\toption esc a\\ b\n"
				 "config zone 'lan'\n"
				 "\toption masq 1\n",
				 err);
	KT_CHECK(u != NULL);
	if (!u)
		return;
	KT_EQ(kh_uci_sections(u), 3); /* the second 'lan' adds to the first */
	KT_EQ(kh_uci_section(u, "lan"), 1);
	KT_EQ(kh_uci_section(u, "@zone[0]"), 1);
	KT_EQ(kh_uci_section(u, "@zone[1]"), 2);
	KT_EQ(kh_uci_section(u, "@zone[-1]"), 2);
	KT_EQ(kh_uci_section(u, "@zone[-2]"), 1);
	KT_EQ(kh_uci_section(u, "@zone[2]"), -1);
	KT_EQ(kh_uci_section(u, "@zone[-3]"), -1);
	KT_EQ(kh_uci_section(u, "@zone[x]"), -1);
	KT_EQ(kh_uci_section(u, "@defaults[0]"), 0);
	KT_CHECK(kh_uci_section_name(u, 2) == NULL);
	KT_STREQ(kh_uci_section_type(u, 2), "zone");
	KT_EQ(kh_uci_get(u, 1, "network", v, 4), 2);
	KT_STREQ(v[0], "lan");
	KT_STREQ(v[1], "guest");
	KT_EQ(kh_uci_get(u, 1, "masq", v, 4), 1);
	KT_EQ(kh_uci_get(u, 2, "name", v, 4), 1);
	KT_STREQ(v[0], "wan");
	KT_EQ(kh_uci_get(u, 2, "input", v, 4), 1); /* a later option replaces */
	KT_STREQ(v[0], "REJECT");
	KT_EQ(kh_uci_get(u, 2, "note", v, 4), 1);
	KT_STREQ(v[0], "its \"quoted\"");
	KT_EQ(kh_uci_get(u, 2, "esc", v, 4), 1);
	KT_STREQ(v[0], "a b");
	KT_EQ(kh_uci_get(u, 0, "input", v, 4), 1);
	KT_STREQ(v[0], "ACCEPT");
	KT_EQ(kh_uci_get(u, 0, "missing", v, 4), 0);
	kh_uci_free(u);
}

static void test_uci_errors(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{"option a b\n", "line 1: option outside a config section"},
		{"config t\n\toption a 'b\n", "line 2: unterminated quote"},
		{"config t\n\n\toption a\n", "line 3: expected: option NAME VALUE"},
		{"config t\n\tlist a b c\n", "line 2: expected: list NAME VALUE"},
		{"config 'a b'\n", "line 1: expected: config TYPE [NAME]"},
		{"conifg t\n", "line 1: unknown keyword"},
		{"config t\n\toption a.b c\n", "line 2: expected: option NAME VALUE"},
		/* what libuci reads otherwise or refuses (the audit must not pass it) */
		{"config t\n\toption a-b c\n", "line 2: expected: option NAME VALUE"},
		{"config t 'a-b'\n", "line 1: expected: config TYPE [NAME]"},
		{"config t 'a'\nconfig u 'a'\n", "line 2: a section of another type"},
		{"config t\n\toption a 'b';\n", "line 2: ';' outside quotes"},
		{"config t\n\toption a b#c\n", "line 2: '#' inside a word"},
		{"config t\n\toption a \"b\x1b[2J\"\n", "line 2: control character in a word"},
		{"config t\n\toption a b\vc\n", "line 2: control character in a word"},
	};
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		KT_CHECK(parse(cases[i].text, err) == NULL);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0) {
			printf("#   case %zu: got \"%s\", want \"%s\"\n", i, err, cases[i].err);
			kt_case_failed = 1;
		}
	}
}

static void test_uci_limits(void)
{
	size_t n = KH_UCI_MAX_TEXT + 1;
	char *big = malloc(n + 1), err[128];
	struct kh_uci *u;

	memset(big, '#', n);
	big[n] = 0;
	KT_EQ(kh_uci_parse(big, n, &u, err, sizeof(err)), -E2BIG);
	/* 1025 sections */
	n = 0;
	for (int i = 0; i < 1025; i++)
		n += (size_t)sprintf(big + n, "config t\n");
	KT_EQ(kh_uci_parse(big, n, &u, err, sizeof(err)), -EBADMSG);
	KT_STREQ(err, "line 1025: more than 1024 sections");
	/* a long value */
	n = (size_t)sprintf(big, "config t\n\toption o ");
	memset(big + n, 'v', 5000);
	n += 5000;
	KT_EQ(kh_uci_parse(big, n, &u, err, sizeof(err)), -EBADMSG);
	KT_STREQ(err, "line 2: value longer than 4096 bytes");
	free(big);
}

/* Backslash-newline continues a line (as libuci reads it); lines stay counted. */
static void test_uci_continuation_and_lines(void)
{
	char err[128];
	const char *v[2], *name, *value;
	int line;
	struct kh_uci *u = parse("config t 'a'\n"
				 "\toption one \\\n"
				 "\t\tvalue\n"
				 "\toption two \"x\\\ny\"\n"
				 "\toption three ab\\\ncd\n"
				 "\n"
				 "\toption four 4\n",
				 err);
	KT_CHECK(u != NULL);
	if (!u)
		return;
	KT_EQ(kh_uci_get(u, 0, "one", v, 2), 1);
	KT_STREQ(v[0], "value");
	KT_EQ(kh_uci_get(u, 0, "two", v, 2), 1);
	KT_STREQ(v[0], "xy");
	KT_EQ(kh_uci_get(u, 0, "three", v, 2), 1);
	KT_STREQ(v[0], "abcd");
	KT_EQ(kh_uci_options(u), 4);
	KT_EQ(kh_uci_option(u, 3, &name, &value, &line), 0);
	KT_STREQ(name, "four");
	KT_EQ(line, 9); /* the continuations counted */
	KT_EQ(kh_uci_option(u, 1, &name, &value, &line), 0);
	KT_EQ(line, 4);
	KT_EQ(kh_uci_section_line(u, 0), 1);
	kh_uci_free(u);
	/* an error after continued lines names the physical line */
	KT_CHECK(parse("config t\n option a b\\\nc\n option 'x\n", err) == NULL);
	KT_STREQ(err, "line 4: unterminated quote");
}

int main(void)
{
	KT_RUN(test_uci_grammar);
	KT_RUN(test_uci_errors);
	KT_RUN(test_uci_limits);
	KT_RUN(test_uci_continuation_and_lines);
	return KT_DONE();
}
