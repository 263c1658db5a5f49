/* SPDX-License-Identifier: MIT */
/* UTC calendar arithmetic (see civil.h); times as people write them are in lib/civil_parse.c. */
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
