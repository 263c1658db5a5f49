/* SPDX-License-Identifier: MIT */
/* UTC calendar arithmetic, and times as people write them (see civil.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/civil.h"

int64_t kh_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? (int64_t)m - 3 : (int64_t)m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t kh_unix_from_civil(const struct kh_civil *c)
{
	return kh_days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 +
	       c->min * 60 + c->sec;
}

void kh_civil_from_unix(int64_t t, struct kh_civil *out)
{
	int64_t days = t / 86400, secs = t % 86400, era, doe, yoe, doy, mp, m;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = mp + (mp < 10 ? 3 : -9);
	out->year = yoe + era * 400 + (m <= 2);
	out->month = (unsigned)m;
	out->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	out->hour = (unsigned)(secs / 3600);
	out->min = (unsigned)(secs / 60 % 60);
	out->sec = (unsigned)(secs % 60);
}

void kh_fmt_utc(int64_t t, char *buf, size_t cap)
{
	struct kh_civil c;

	kh_civil_from_unix(t < 0 ? 0 : t > 253402300799 ? 253402300799 : t, &c); /* 1970 .. 9999 */
	snprintf(buf, cap, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)c.year, c.month, c.day, c.hour,
		 c.min, c.sec);
}

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
