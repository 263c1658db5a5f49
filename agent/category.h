/* SPDX-License-Identifier: MIT */
/*
 * What a blocklist category means to the agent, in one place: whether it
 * is a security threat, the RFC 8914 Extended DNS Error a block in it
 * carries, the severity of its events, whether blocked hits make events,
 * and the answer a blocked name gets. Built-in meanings for the category
 * names lists use, overridden per category by the configuration
 * (dns.categories). The DNS filter resolves the table once per index load.
 */
#ifndef KHIEN_AGENT_CATEGORY_H
#define KHIEN_AGENT_CATEGORY_H

#include <stdint.h>

#include "agent/config.h"

struct kh_category {
	uint8_t security; /* a threat to the device or its user (malware, phishing, ...) */
	uint8_t severity; /* enum kh_severity of its events */
	uint8_t event;	  /* 1: blocked hits become events (security categories by default) */
	uint8_t action;	  /* enum kh_dns_action for a blocked name */
	uint16_t ede;	  /* RFC 8914 code: Blocked for threats, Censored for authority orders */
	uint8_t household; /* action "allow": off by default, blocked by the profiles that choose it */
};

/* The meaning of category name under cfg (built-in defaults, then cfg's dns.categories). */
void kh_category_resolve(const struct kh_agent_config *cfg, const char *name,
			 struct kh_category *out);

#endif
