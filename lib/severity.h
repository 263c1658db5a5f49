/* SPDX-License-Identifier: MIT */
/*
 * Event severities as the protocol names them (docs/PROTOCOL.md): the
 * agent's queue orders drops by them, the server stores and shows them.
 */
#ifndef KHIEN_LIB_SEVERITY_H
#define KHIEN_LIB_SEVERITY_H

#include <errno.h>
#include <string.h>

enum kh_severity {
	KH_SEV_LOW = 0,
	KH_SEV_MEDIUM = 1,
	KH_SEV_HIGH = 2,
	KH_SEV_CRITICAL = 3,
};
#define KH_SEV_COUNT 4

static const char *const kh_severity_names[KH_SEV_COUNT] = {"low", "medium", "high", "critical"};

/* "low", "medium", "high", "critical"; "unknown" out of range. */
static inline const char *kh_severity_name(int s)
{
	return s >= 0 && s < KH_SEV_COUNT ? kh_severity_names[s] : "unknown";
}

/* The severity named s, or -EINVAL. */
static inline int kh_severity_parse(const char *s)
{
	for (int i = 0; s && i < KH_SEV_COUNT; i++)
		if (strcmp(s, kh_severity_names[i]) == 0)
			return i;
	return -EINVAL;
}

#endif
