/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the upstream-answer path: the input is an answer to a fixed query;
 * check it against the question and walk every record as khiend does
 * (owner names, CNAME targets, addresses) with index lookups. An upstream,
 * or anyone spoofing one, controls these bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/dns_wire.h"
#include "tools/khien-policy/compile.h"
#include "policy/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t query[] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x03, 'w',  'w',	'w',  0x07, 'e',  'x',	'a',  'm',  'p',
				'l',  'e',  0x03, 'c',	'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01};

static struct kh_index *index_once(void)
{
	static struct kh_index idx;
	static uint8_t *img;
	static int done;
	static const char list[] = "ads.example.com\ntracker.example\n";
	struct kh_compiler *c;
	struct kh_compile_result r;
	struct kh_list_stats st;
	static const uint64_t seed[2] = {1, 2};
	size_t len;

	if (done)
		return img ? &idx : NULL;
	done = 1;
	if (kh_compiler_new(&c, seed) < 0)
		return NULL;
	kh_compiler_parse(c, kh_compiler_add_source(c, "malware", "m", KH_FMT_DOMAINS), list,
			  sizeof(list) - 1, KH_FMT_DOMAINS, NULL, NULL, &st);
	if (kh_compiler_build(c, 0, &img, &len, &r) < 0 || kh_index_open(&idx, img, len, NULL) < 0)
		img = NULL;
	kh_compiler_free(c);
	return img ? &idx : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_index *idx = index_once();
	struct kh_dns_answer a;
	struct kh_dns_rr rr;
	struct kh_match m;
	size_t off;
	unsigned n;

	if (size > 65535)
		return 0;
	if (kh_dns_parse_answer(data, size, query, sizeof(query), &a) < 0)
		return 0;
	off = a.an_off;
	n = (unsigned)a.counts[1] + a.counts[2] + a.counts[3];
	for (unsigned i = 0; i < n && i < KH_DNS_MAX_RRS; i++) {
		if (kh_dns_next_rr(data, size, &off, &rr) < 0)
			break;
		if (off > size || rr.rdata_off + rr.rdlen > size || rr.ttl_off + 4 > size)
			abort();
		if (!idx)
			continue;
		if (rr.owner.canon_labels)
			kh_index_lookup_ex(
				idx, rr.owner.text, rr.owner.len,
				rr.owner.canon_labels < rr.owner.labels ? KH_LOOKUP_SUBDOMAIN : 0,
				&m);
		if (rr.target.canon_labels)
			kh_index_lookup(idx, rr.target.text, rr.target.len, &m);
		if (rr.type == KH_DNS_T_A && rr.rdlen == 4)
			kh_index_lookup_ip(idx, 4, data + rr.rdata_off, &m);
	}
	return 0;
}
