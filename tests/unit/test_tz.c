/* SPDX-License-Identifier: MIT */
/*
 * lib/tz.c against the C library as the oracle: for Europe/Berlin,
 * America/New_York and Asia/Ho_Chi_Minh, both the zone file (TZif) and the
 * POSIX strings OpenWrt writes give the offset localtime_r gives under
 * TZ=zone, at many timestamps including both sides of every DST change;
 * plus the parser's refusals and a truncated file.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt.h"
#include "lib/civil.h"
#include "lib/err.h"
#include "lib/tz.h"
#include "platform/lan.h"

static int oracle(const char *tzname, int64_t t, long *off)
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* a 32-bit time_t (Debian's 32-bit targets) cannot be the oracle after 2038 */
	if ((int64_t)tt != t)
		return -1;
	setenv("TZ", tzname, 1);
	tzset();
	if (!localtime_r(&tt, &tm))
		return -1;
	*off = tm.tm_gmtoff;
	return 0;
}

/* Compare tz with the oracle from year y0 to y1: every 6 hours, and around each change. */
static void compare(const struct kh_tz *tz, const char *oracle_tz, int y0, int y1)
{
	int64_t t0 = kh_days_from_civil(y0, 1, 1) * 86400,
		t1 = kh_days_from_civil(y1, 1, 1) * 86400;
	long prev = 0, off = 0;
	unsigned bad = 0, n = 0, changes = 0;

	for (int64_t t = t0; t < t1; t += 6 * 3600) {
		if (oracle(oracle_tz, t, &off) < 0)
			continue;
		if (t > t0 && off != prev) {
			/* find the change to the second and check both sides */
			int64_t lo = t - 6 * 3600, hi = t;
			long o = 0;
			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;
				oracle(oracle_tz, mid, &o);
				if (o == prev)
					lo = mid;
				else
					hi = mid;
			}
			bad += kh_tz_offset(tz, lo) != prev;
			bad += kh_tz_offset(tz, hi) != off;
			changes++;
		}
		if (kh_tz_offset(tz, t) != off && bad++ < 3)
			fprintf(stderr, "# %s at %lld: %d, want %ld\n", oracle_tz, (long long)t,
				kh_tz_offset(tz, t), off);
		n++;
		prev = off;
	}
	if (bad)
		fprintf(stderr, "# %s %d-%d: %u of %u wrong (%u changes)\n", oracle_tz, y0, y1, bad,
			n, changes);
	KT_EQ(bad, 0);
	KT_CHECK(n > 1000);
}

static int load_zone(const char *name, struct kh_tz *tz)
{
	uint8_t *buf;
	size_t len;
	const char *why;
	int err = kh_zone_read(name, KH_TZIF_MAX, &buf, &len);

	if (err < 0)
		return err;
	err = kh_tz_parse_tzif(buf, len, tz, &why);
	/* every truncation of a valid file is refused or parsed, never read past */
	for (size_t cut = 0; cut < len; cut += 97) {
		struct kh_tz t2;
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		KT_EQ(kh_tz_parse_tzif(copy, cut, &t2, &why), -EINVAL);
		free(copy);
	}
	free(buf);
	return err;
}

static void test_zone(const char *name, const char *posix, int dst_changes)
{
	struct kh_tz tz;
	const char *why;

	if (load_zone(name, &tz) < 0) {
		KT_SKIP("zone file not installed");
		return;
	}
	compare(&tz, name, 1980, 2040); /* KH_TZ_MAX_TRANS reaches back to about 1975 */
	KT_EQ(kh_tz_parse_posix(posix, strlen(posix), &tz, &why), 0);
	/* the POSIX rule alone: right since the rule took its current form */
	compare(&tz, name, dst_changes, 2040);
}

static void test_berlin(void)
{
	test_zone("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3", 1996);
}

static void test_new_york(void)
{
	test_zone("America/New_York", "EST5EDT,M3.2.0,M11.1.0", 2007);
}

static void test_ho_chi_minh(void)
{
	test_zone("Asia/Ho_Chi_Minh", "<+07>-7", 1976);
}

static void test_posix_forms(void)
{
	struct kh_tz tz;
	const char *why;
	unsigned wday, minute;
	/* 2026-03-29 (Sunday) 00:59:59 UTC: 01:59:59 CET; 01:00:00 UTC is 03:00 CEST */
	int64_t t = kh_days_from_civil(2026, 3, 29) * 86400 + 3599;

	KT_EQ(kh_tz_parse_posix("<+07>-7", 7, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, 0), 7 * 3600);
	KT_EQ(kh_tz_parse_posix("CET-1CEST,M3.5.0,M10.5.0/3", 26, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, t), 3600);
	KT_EQ(kh_tz_offset(&tz, t + 1), 7200);
	kh_tz_local(&tz, t + 1, &wday, &minute);
	KT_EQ(wday, 0);
	KT_EQ(minute, 180);
	KT_EQ(kh_tz_parse_posix("<-03>3", 6, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, 0), -3 * 3600);
	KT_EQ(kh_tz_parse_posix("IST-5:30", 8, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, 0), 5 * 3600 + 1800);
	/* southern hemisphere: DST across the new year */
	KT_EQ(kh_tz_parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", 28, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, kh_days_from_civil(2026, 1, 15) * 86400), 11 * 3600);
	KT_EQ(kh_tz_offset(&tz, kh_days_from_civil(2026, 7, 15) * 86400), 10 * 3600);
	KT_EQ(kh_tz_parse_posix("UTC0", 4, &tz, &why), 0);
	KT_EQ(kh_tz_offset(&tz, 12345), 0);
	static const char *const bad[] = {"",
					  "C-1",
					  "CET",
					  "<+07",
					  "CET-25",
					  "CET-1CEST,M13.1.0,M10.5.0",
					  "CET-1CEST,M3.5",
					  "CET-1CEST,J0,J365",
					  "CET-1x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KT_EQ(kh_tz_parse_posix(bad[i], strlen(bad[i]), &tz, &why), -EINVAL);
	KT_CHECK(kh_tz_is_iana_name("Asia/Ho_Chi_Minh"));
	KT_CHECK(kh_tz_is_iana_name("UTC"));
	KT_CHECK(!kh_tz_is_iana_name("<+07>-7"));
	KT_CHECK(!kh_tz_is_iana_name("CET-1CEST,M3.5.0,M10.5.0/3"));
}

static void test_zone_names(void)
{
	uint8_t *buf;
	size_t len;

	KT_EQ(kh_zone_read("../../etc/passwd", 1024, &buf, &len), -EINVAL);
	KT_EQ(kh_zone_read("/etc/passwd", 1024, &buf, &len), -EINVAL);
	KT_EQ(kh_zone_read("Asia/No_Such_City", 1024, &buf, &len), -ENOENT);
}

int main(void)
{
	KT_RUN(test_posix_forms);
	KT_RUN(test_zone_names);
	KT_RUN(test_berlin);
	KT_RUN(test_new_york);
	KT_RUN(test_ho_chi_minh);
	return KT_DONE();
}
