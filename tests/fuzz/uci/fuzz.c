/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the UCI reader. Oracles: a refusal names its line; in an accepted
 * file every section is found again by its name or by @type[N] and
 * @type[N - count], and every value is a NUL-terminated string within the
 * value limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/uci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_uci *u;
	char err[128];
	int n;

	if (kh_uci_parse((const char *)data, size, &u, err, sizeof(err)) < 0) {
		if (strncmp(err, "line ", 5) != 0 && strncmp(err, "larger", 6) != 0 &&
		    strcmp(err, "out of memory") != 0)
			abort();
		return 0;
	}
	n = kh_uci_sections(u);
	for (int i = 0; i < n; i++) {
		const char *type = kh_uci_section_type(u, i), *name = kh_uci_section_name(u, i);
		char spec[160];
		int idx = 0, count = 0;
		const char *vals[8];
		for (int k = 0; k < n; k++) {
			idx += k < i && strcmp(kh_uci_section_type(u, k), type) == 0;
			count += strcmp(kh_uci_section_type(u, k), type) == 0;
		}
		if (name && kh_uci_section(u, name) != i)
			abort();
		snprintf(spec, sizeof(spec), "@%s[%d]", type, idx);
		if (kh_uci_section(u, spec) != i)
			abort();
		snprintf(spec, sizeof(spec), "@%s[%d]", type, idx - count);
		if (kh_uci_section(u, spec) != i)
			abort();
		for (int k = 0, m = kh_uci_get(u, i, "option", vals, 8); k < m; k++)
			if (strlen(vals[k]) > KH_UCI_MAX_VALUE)
				abort();
	}
	kh_uci_free(u);
	return 0;
}
