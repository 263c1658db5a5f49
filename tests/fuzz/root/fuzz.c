/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the trust-root and key parsers: any bytes as root.json (checked on
 * its own and as the successor of a valid root), as a stored root chain
 * walked from a valid root, and as a key file. Oracle for the chain: the
 * walk only moves forward, and what it reports as verified walks again to
 * the same root.
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
	struct kh_root r, next;
	struct kh_pubkey pub;
	struct kh_ecdsa_priv priv;
	const char *w;
	char why[256];

	if (size > 70000)
		return 0;
	if (!have) {
		if (kh_root_verify_self(root_json, strlen(root_json), &root, why, sizeof(why)) < 0)
			abort();
		have = 1;
	}
	if (kh_root_parse((const char *)data, size, &r, &w) == 0 &&
	    (r.root.threshold == 0 || r.root.threshold > r.root.nkeys ||
	     r.nkeys > KH_TRUST_MAX_KEYS))
		abort();
	kh_root_verify_self((const char *)data, size, &r, why, sizeof(why));
	kh_root_verify_next(&root, (const char *)data, size, &next, why, sizeof(why));
	kh_key_parse((const char *)data, size, &pub, &priv, &w);
	{
		struct kh_root end, again;
		char *v = NULL, *v2 = NULL;
		kh_root_chain_walk(&root, (const char *)data, size, &end, &v, why, sizeof(why));
		if (end.version < root.version)
			abort();
		if (v &&
		    (kh_root_chain_walk(&root, v, strlen(v), &again, &v2, why, sizeof(why)) < 0 ||
		     again.version != end.version))
			abort();
		free(v);
		free(v2);
	}
	return 0;
}
