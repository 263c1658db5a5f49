/* SPDX-License-Identifier: MIT */
/*
 * Fuzz bundle verification as a device runs it: a fixed trusted root (the
 * one the seed bundles in corpus/ were signed under), any bytes as the
 * bundle. Oracles: no crash or over-read; an accepted bundle's components
 * lie inside the input and match their hashes.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/trust.h"
#include "tests/fuzz/root_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_root root;
	static int have;
	struct kh_bundle b;
	struct kh_root newest;
	struct kh_verify_ctx ctx;
	char why[256];

	if (!have) {
		if (kh_root_verify_self(root_json, strlen(root_json), &root, why, sizeof(why)) < 0)
			abort(); /* the embedded root must be valid */
		have = 1;
	}
	/* a device at version 1 of epoch 0, or one in epoch 1 running below its floor */
	ctx = (struct kh_verify_ctx){&root, 1, 1800000000, "hw-1", 1 << 20, size & 1, size & 1};
	if (kh_bundle_verify(data, size, &ctx, &b, &newest, why, sizeof(why)) == 0) {
		if ((b.reset && b.epoch <= ctx.epoch) ||
		    (!b.reset && (b.epoch != ctx.epoch || b.version < ctx.active_version)))
			abort(); /* the version rules of trust.h */
		for (unsigned i = 0; i < b.ncomp; i++) {
			uint8_t h[32];
			if (b.comp[i].offset + b.comp[i].length > size)
				abort();
			kh_sha256(data + b.comp[i].offset, b.comp[i].length, h);
			if (memcmp(h, b.comp[i].sha256, 32) != 0)
				abort();
		}
	} else if (!why[0]) {
		abort(); /* a refusal must say why */
	}
	return 0;
}
