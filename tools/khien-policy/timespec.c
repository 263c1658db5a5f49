/* SPDX-License-Identifier: MIT */
/*
 * Times as operators write them on the command line ("2027-01-01",
 * "2027-01-01T12:00:00Z", "+30d", Unix seconds), for khien-policy (bundle
 * expiry) and khien-server (certificate validity), and khien-policy's
 * whole-number options, checked rather than read as 0 when mistyped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/civil.h"
#include "lib/err.h"
#include "tools/khien-policy/tool.h"

int kh_tool_parse_time(const char *s, int64_t now, int64_t *out)
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

int kh_tool_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] >= '0' && s[0] <= '9' && !*end && errno == 0 && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	fprintf(stderr, "khien-policy: %s: expected a whole number from %llu to %llu, got '%s'\n",
		opt, (unsigned long long)min, (unsigned long long)max, s);
	return -EINVAL;
}
