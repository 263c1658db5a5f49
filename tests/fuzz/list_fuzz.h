/* SPDX-License-Identifier: MIT */
/*
 * Shared body of the list-format fuzz harnesses: parse the input as one
 * format, compile it, open the index and look every emitted name up again.
 * Oracles: every emitted name is canonical, the compiled index validates,
 * and a listed name is never reported "allowed" unless the input has an
 * exception or a $badfilter (no crash is the minimum).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/khien-policy/compile.h"
#include "policy/index.h"
#include "policy/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAMES_MAX 64
static char names[NAMES_MAX][KH_NAME_MAX + 1];
static uint8_t scopes[NAMES_MAX];
static int nnames, any_allow;

static int collect(void *arg, const struct kh_list_entry *e, unsigned line)
{
	char again[KH_NAME_MAX + 1];
	size_t n;

	(void)arg;
	(void)line;
	if (kh_name_canon(e->name, e->len, again, &n, NULL) != KH_NAME_OK || n != e->len ||
	    memcmp(again, e->name, n) != 0)
		abort(); /* a parser emitted a non-canonical name */
	/* Counted even past NAMES_MAX: an allow can cover any name, a $badfilter remove it. */
	any_allow |= e->allow | e->badfilter;
	if (nnames < NAMES_MAX && !e->badfilter) {
		memcpy(names[nnames], e->name, e->len + 1);
		scopes[nnames] = e->scope;
		nnames++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t seed[2] = {1, 2};
	struct kh_list_sink sink = {NULL, collect, NULL, NULL};
	struct kh_list_stats st;
	struct kh_compiler *c;
	struct kh_compile_result res;
	struct kh_index idx;
	uint8_t *out = NULL;
	size_t len;

	if (size > 1 << 20)
		return 0;
	nnames = 0;
	any_allow = 0;
	memset(&st, 0, sizeof(st));
	kh_list_parse((const char *)data, size, FUZZ_FORMAT, &sink, &st);
	if (kh_compiler_new(&c, seed) < 0)
		return 0;
	int src = kh_compiler_add_source(c, "fuzz", "fuzz", FUZZ_FORMAT);
	kh_compiler_parse(c, src, (const char *)data, size, FUZZ_FORMAT, NULL, NULL, &st);
	if (kh_compiler_build(c, 0, &out, &len, &res) == 0) {
		if (kh_index_open(&idx, out, len, NULL) != 0)
			abort(); /* the compiler wrote an index its reader refuses */
		for (int i = 0; i < nnames && !any_allow; i++) {
			struct kh_match m;
			if (!(scopes[i] & KH_SCOPE_SELF))
				continue;
			if (kh_index_lookup(&idx, names[i], strlen(names[i]), &m) != 0 ||
			    m.verdict != KH_BLOCKED)
				abort(); /* a listed name is not blocked */
		}
		free(out);
	}
	kh_compiler_free(c);
	return 0;
}
