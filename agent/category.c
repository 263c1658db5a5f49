/* SPDX-License-Identifier: MIT */
/*
 * The category table (see category.h): the built-in meaning of the
 * category names lists use, and its resolution against the configuration.
 * Security categories weigh more (the ISP must warn those customers first)
 * and make events by default; authority orders answer "Censored"; anything
 * else is a filter the user or the ISP chose ("Filtered"), with no event.
 */
#include <string.h>

#include "agent/category.h"
#include "agent/dns_wire.h"
#include "lib/compiler.h"
#include "lib/severity.h"

static const struct known_category {
	const char *name;
	uint8_t security, severity, household;
	uint16_t ede;
} known[] = {
	/* DoH/DoT/VPN endpoints: off unless a profile blocks it (child profiles do, agent/profile.h) */
	{.name = "bypass", .severity = KH_SEV_LOW, .household = 1, .ede = KH_EDE_FILTERED},
	{.name = "malware", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "botnet", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "c2", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "ransomware", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "exploit", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "spyware", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "cryptojacking", .security = 1, .severity = KH_SEV_HIGH, .ede = KH_EDE_BLOCKED},
	{.name = "phishing", .security = 1, .severity = KH_SEV_MEDIUM, .ede = KH_EDE_BLOCKED},
	{.name = "scam", .security = 1, .severity = KH_SEV_MEDIUM, .ede = KH_EDE_BLOCKED},
	{.name = "fraud", .security = 1, .severity = KH_SEV_MEDIUM, .ede = KH_EDE_BLOCKED},
	{.name = "threat", .security = 1, .severity = KH_SEV_MEDIUM, .ede = KH_EDE_BLOCKED},
	{.name = "security", .security = 1, .severity = KH_SEV_MEDIUM, .ede = KH_EDE_BLOCKED},
	{.name = "authority", .severity = KH_SEV_LOW, .ede = KH_EDE_CENSORED},
	{.name = "government", .severity = KH_SEV_LOW, .ede = KH_EDE_CENSORED},
	{.name = "court", .severity = KH_SEV_LOW, .ede = KH_EDE_CENSORED},
	{.name = "legal", .severity = KH_SEV_LOW, .ede = KH_EDE_CENSORED},
};

void kh_category_resolve(const struct kh_agent_config *cfg, const char *name,
			 struct kh_category *out)
{
	const struct kh_cat_policy *p = NULL;

	*out = (struct kh_category){
		.severity = KH_SEV_LOW,
		.ede = KH_EDE_FILTERED,
		.action = (uint8_t)cfg->default_action,
	};
	for (size_t i = 0; i < KH_ARRAY_SIZE(known); i++)
		if (strcmp(name, known[i].name) == 0) {
			out->security = known[i].security;
			out->severity = known[i].severity;
			out->ede = known[i].ede;
			out->household = known[i].household;
			break;
		}
	out->event = out->security;
	for (unsigned i = 0; i < cfg->ncats && !p; i++)
		if (strcmp(cfg->cats[i].name, name) == 0)
			p = &cfg->cats[i];
	if (p && p->action == KH_DNS_ACT_ALLOW)
		out->household = 1; /* and blocked (by a profile) with the default answer */
	else if (p && p->action >= 0) {
		out->action = (uint8_t)p->action;
		out->household = 0; /* an action of its own: the ISP blocks it for everyone */
	}
	if (p && p->ede >= 0)
		out->ede = (uint16_t)p->ede;
	if (p && p->event >= 0)
		out->event = (uint8_t)p->event;
}
