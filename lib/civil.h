/* SPDX-License-Identifier: MIT */
/*
 * Time as the tree writes and reads it. UTC calendar arithmetic without the C library's time-zone machinery (an
 * RTOS libc may have none, and crypto/ must not call it): H. Hinnant's
 * days_from_civil / civil_from_days, proleptic Gregorian; the one UTC
 * text form shown to people (status, errors); and the forms operators type
 * on the command line (khien-policy bundle expiry, khien-server certificate
 * validity).
 */
#ifndef KHIEN_LIB_CIVIL_H
#define KHIEN_LIB_CIVIL_H

#include <stddef.h>
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
/* "2026-11-21T13:30:00Z" for Unix time t (clamped to years 1970-9999); cap >= 48. */
void kh_fmt_utc(int64_t t, char *buf, size_t cap);
/*
 * "YYYY-MM-DD[THH:MM:SSZ]", "+30d" (s, m, h, d, w) relative to now, or Unix
 * seconds, into *out. 0, or -EINVAL when s is none of those.
 */
int kh_civil_parse_time(const char *s, int64_t now, int64_t *out);

#endif
