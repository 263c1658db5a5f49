/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the index reader with hostile files. The harness fixes up the length
 * and checksum fields first, so the fuzzer reaches the structural checks
 * instead of stopping at the checksum; whatever opens must then answer
 * lookups without reading out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/endian.h"
#include "policy/hash.h"
#include "policy/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"a.example",
					    "x.c.d.example",
					    "ok.a.example",
					    "example.com",
					    "www.example.com",
					    "com",
					    "a.b.c.d.e.f.g.h.i.j.k.example"};
	uint8_t ip4[4] = {198, 18, 0, 7}, ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct kh_index idx;
	struct kh_match m;
	uint8_t *b;

	if (size > 1 << 22)
		return 0;
	b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	if (size >= KH_IDX_HEADER_LEN) {
		kh_put_le64(b + KH_IDX_OFF_FILELEN, size);
		memset(b + KH_IDX_OFF_CSUM, 0, 8);
		kh_put_le64(b + KH_IDX_OFF_CSUM,
			    kh_csum64(b + KH_IDX_HEADER_LEN, size - KH_IDX_HEADER_LEN,
				      kh_csum64(b, KH_IDX_HEADER_LEN, 0)));
	}
	if (kh_index_open(&idx, b, size, NULL) == 0) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (kh_index_lookup(&idx, names[i], strlen(names[i]), &m) == 0 &&
			    m.verdict == KH_BLOCKED) {
				(void)kh_index_category_name(&idx, m.category);
				(void)kh_index_source_name(&idx, m.source);
			}
		}
		kh_index_lookup_ip(&idx, 4, ip4, &m);
		kh_index_lookup_ip(&idx, 6, ip6, &m);
		for (unsigned s = 0; s < idx.n_sources; s++) {
			unsigned cat;
			uint32_t n, f;
			kh_index_source_info(&idx, s, &cat, &n, &f);
		}
	}
	free(b);
	return 0;
}
