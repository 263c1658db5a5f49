/* SPDX-License-Identifier: MIT */
/*
 * UTC calendar arithmetic without the C library's time-zone machinery (an
 * RTOS libc may have none, and crypto/ must not call it): H. Hinnant's
 * days_from_civil / civil_from_days, proleptic Gregorian.
 */
#ifndef KHIEN_LIB_CIVIL_H
#define KHIEN_LIB_CIVIL_H

#include <stdint.h>

struct kh_civil {
	int64_t year;
	unsigned month, day, hour, min, sec; /* month 1-12, day 1-31 */
};

/* Days since 1970-01-01 of a date (month 1-12). */
int64_t kh_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Unix seconds of a date and time. */
int64_t kh_unix_from_civil(const struct kh_civil *c);
/* The UTC date and time of Unix seconds t (negative t counts back from 1970). */
void kh_civil_from_unix(int64_t t, struct kh_civil *out);

#endif
