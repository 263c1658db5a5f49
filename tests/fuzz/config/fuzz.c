/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the khiend configuration parser in both forms: JSON through cJSON,
 * and UCI through policy/uci.c, then the same schema checks. Oracle: it
 * never crashes, on failure it always says why, a UCI failure names its
 * line, and no list exceeds its bound.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_agent_config c;
	char err[512];

	if (size > 65536)
		return 0;
	kh_config_defaults(&c);
	err[0] = 0;
	if (kh_config_parse(&c, (const char *)data, size, "fuzz", err, sizeof(err)) < 0 && !err[0])
		abort();
	if (c.nlisten > CONFIG_DNS_MAX_LISTENERS || c.nupstream > CONFIG_DNS_MAX_UPSTREAMS ||
	    c.ncats > CONFIG_INDEX_MAX_CATEGORIES)
		abort();
	kh_config_defaults(&c);
	err[0] = 0;
	if (kh_config_parse_uci(&c, (const char *)data, size, "fuzz", NULL, err, sizeof(err)) < 0 &&
	    strncmp(err, "fuzz:", 5) != 0)
		abort();
	if (c.nlisten > CONFIG_DNS_MAX_LISTENERS || c.nupstream > CONFIG_DNS_MAX_UPSTREAMS ||
	    c.ncats > CONFIG_INDEX_MAX_CATEGORIES || c.nallow > KH_CFG_MAX_ALLOW)
		abort();
	return 0;
}
