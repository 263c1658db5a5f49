/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the client-query path: parse any bytes as a query and build every
 * kind of answer khiend could send back. Oracles: parsing never reads out
 * of bounds, and every answer built fits its buffer and starts with the
 * query's ID.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/dns_wire.h"
#include "lib/endian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t page4[4] = {198, 18, 0, 80}, page6[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct kh_dns_query q;
	uint8_t out[600];
	enum kh_dns_parse r;
	int n;

	if (size > 4096)
		return 0;
	r = kh_dns_parse_query(data, size, &q);
	if (r == KH_DNS_PARSE_DROP)
		return 0;
	if (q.qname.len > KH_NAME_MAX || strlen(q.qname.text) != q.qname.len ||
	    q.qname.canon_labels > q.qname.labels || q.question_end > size)
		abort();
	n = kh_dns_build_error(out, sizeof(out), data, size, &q, KH_DNS_RC_FORMERR);
	if (n > (int)sizeof(out) || (n >= 2 && kh_be16(out) != q.id))
		abort();
	if (r != KH_DNS_PARSE_OK)
		return 0;
	for (int a = KH_DNS_ACT_NXDOMAIN; a <= KH_DNS_ACT_DROP; a++) {
		struct kh_dns_block b = {(enum kh_dns_action)a,
					 60,
					 KH_EDE_BLOCKED,
					 "khien: malware (rule *.example.com)",
					 page4,
					 page6};
		n = kh_dns_build_block(out, sizeof(out), data, &q, &b, 1);
		if (n > (int)sizeof(out) || (n > 0 && kh_be16(out) != q.id))
			abort();
		if (n > 0 && n > (q.edns ? q.edns_udp : 512))
			abort(); /* a UDP answer larger than the client allows */
	}
	return 0;
}
