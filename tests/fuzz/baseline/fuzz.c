/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the baseline table's checks (firmware/baseline.c), what the device
 * runs on the "baseline" component. Oracles: a refusal says why; an
 * accepted table's every entry is found by its own path at its own index,
 * and written again from its parts it parses to the same entries,
 * watches, listeners and upstreams.
 */
#include <stdlib.h>
#include <string.h>

#include "firmware/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_baseline b, b2;
	struct kh_bl_build in = {0};
	struct kh_bl_watch w[KH_BL_MAX_WATCH];
	struct kh_bl_listen l[KH_BL_MAX_LISTEN];
	char why[256], *servers = NULL;
	uint8_t *out = NULL;
	size_t outlen;

	if (size > (1u << 20))
		return 0;
	if (kh_bl_parse(data, size, &b, why, sizeof(why)) < 0) {
		if (!why[0])
			abort();
		return 0;
	}
	in.entries = calloc(b.nentries + 1u, sizeof(*in.entries));
	servers = malloc(b.servers_len + 1u);
	if (!in.entries || !servers)
		abort();
	for (uint32_t i = 0; i < b.nentries; i++) {
		kh_bl_entry_get(&b, i, &in.entries[i]);
		if (kh_bl_find(&b, in.entries[i].path, in.entries[i].path_len) != (long)i)
			abort();
	}
	for (uint32_t i = 0; i < b.nwatch; i++)
		kh_bl_watch_get(&b, i, &w[i]);
	for (uint32_t i = 0; i < b.nlisten; i++)
		kh_bl_listen_get(&b, i, &l[i]);
	memcpy(servers, b.servers, b.servers_len);
	servers[b.servers_len] = 0;
	in.version = b.version;
	in.created = b.created;
	in.flags = b.flags;
	in.nentries = b.nentries;
	in.watch = w;
	in.nwatch = b.nwatch;
	in.listen = l;
	in.nlisten = b.nlisten;
	in.servers = servers;
	if (kh_bl_write(&in, &out, &outlen) < 0 ||
	    kh_bl_parse(out, outlen, &b2, why, sizeof(why)) < 0)
		abort();
	if (b2.nentries != b.nentries || b2.nwatch != b.nwatch || b2.nlisten != b.nlisten ||
	    b2.flags != b.flags || b2.version != b.version || b2.servers_len != b.servers_len ||
	    memcmp(b2.servers, b.servers, b.servers_len) != 0)
		abort();
	for (uint32_t i = 0; i < b.nentries; i++) {
		struct kh_bl_entry e;
		kh_bl_entry_get(&b2, i, &e);
		if (e.path_len != in.entries[i].path_len ||
		    memcmp(e.path, in.entries[i].path, e.path_len) != 0 ||
		    e.type != in.entries[i].type || e.mode != in.entries[i].mode ||
		    e.uid != in.entries[i].uid || e.size != in.entries[i].size ||
		    memcmp(e.sha256, in.entries[i].sha256, 32) != 0)
			abort();
		(void)kh_bl_scan_covers(&b, KH_BL_SCAN_PERSIST, KH_DRIFT_CHANGED, "/etc/init.d/x");
	}
	free(out);
	free(servers);
	free(in.entries);
	return 0;
}
