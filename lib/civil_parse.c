/* SPDX-License-Identifier: MIT */
/*
 * Times as people write them on a command line (see civil.h). Its own
 * file so the agent, which never parses one, does not link it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/civil.h"

int kh_civil_parse_time(const char *s, int64_t now, int64_t *out)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	char unit, z;
	long long n;
	int used;

	if (s[0] == '+' && sscanf(s + 1, "%lld%c%n", &n, &unit, &used) == 2 && !s[1 + used] &&
	    n >= 0) {
		static const char units[] = "smhdw";
		static const int64_t mult[] = {1, 60, 3600, 86400, 604800};
		const char *u = strchr(units, unit);
		if (!u)
			return -EINVAL;
		*out = now + n * mult[u - units];
		return 0;
	}
	if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &used) == 3 && mo >= 1 && mo <= 12 && d >= 1 &&
	    d <= 31) {
		if (s[used] && (sscanf(s + used, "T%2u:%2u:%2u%c", &h, &mi, &se, &z) != 4 ||
				z != 'Z' || h > 23 || mi > 59 || se > 60 || strlen(s + used) != 10))
			return -EINVAL;
		*out = kh_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
		return 0;
	}
	if (sscanf(s, "%lld%n", &n, &used) == 1 && !s[used] && n >= 0) {
		*out = n;
		return 0;
	}
	return -EINVAL;
}
