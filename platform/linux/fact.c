/* SPDX-License-Identifier: MIT */
/*
 * Linux boards report no facts: their configuration is read from the file
 * system itself (file, uci, sysctl rules), so fact rules are "missing".
 */
#include <stddef.h>

#include "platform/fact.h"

const char *kh_fact_get(const char *name)
{
	(void)name;
	return NULL;
}
