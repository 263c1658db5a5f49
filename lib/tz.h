/* SPDX-License-Identifier: MIT */
/*
 * Local time without the C library's time-zone machinery (an RTOS libc has
 * none, and the daemon's zone is its configuration's, not the process's
 * TZ): a POSIX TZ string ("<+07>-7", "CET-1CEST,M3.5.0,M10.5.0/3", the form
 * OpenWrt keeps in /etc/config/system) and a TZif file (RFC 8536, what
 * /usr/share/zoneinfo holds) parsed into one small struct that converts a
 * Unix time to the UTC offset in force, DST included. Pure: reading the
 * zone file is the platform's (platform/zone.h).
 *
 * TZif: the footer's POSIX string gives the rule for times after the last
 * transition; the transitions before it are kept (the latest
 * KH_TZ_MAX_TRANS of those the footer does not already describe), so
 * past dates come out right as far back as those reach. Version 1 files
 * (no footer) use their transitions and then the last offset.
 */
#ifndef KHIEN_LIB_TZ_H
#define KHIEN_LIB_TZ_H

#include <stddef.h>
#include <stdint.h>

#define KH_TZ_MAX_TRANS 64
#define KH_TZ_TEXT_MAX 64     /* longest POSIX TZ string accepted */
#define KH_TZIF_MAX (1 << 20) /* largest TZif file read */

/* A DST rule's day: Jn (1-365, no Feb 29), n (0-365), or Mm.w.d. */
struct kh_tz_rule {
	uint8_t kind; /* 'J', 'n' or 'M' */
	uint8_t m, w, d;
	uint16_t n;
	int32_t time; /* seconds after local midnight (may be negative or over 24 h) */
};

struct kh_tz {
	int32_t std_off, dst_off; /* seconds east of UTC (POSIX writes the opposite sign) */
	uint8_t has_dst;
	struct kh_tz_rule start, end;
	/* TZif transitions before the footer applies, oldest first */
	uint8_t ntrans;
	int32_t before_off;		    /* the offset before the first kept transition */
	int64_t trans[KH_TZ_MAX_TRANS];	    /* UTC instants */
	int32_t trans_off[KH_TZ_MAX_TRANS]; /* offset from each instant on */
	uint8_t has_rule; /* 0: a version 1 file, no footer: the last offset stays */
	int32_t last_off;
};

/* The UTC zone. */
void kh_tz_utc(struct kh_tz *tz);

/* Parse a POSIX TZ string (len bytes). 0, or -EINVAL with a static reason in *why. */
int kh_tz_parse_posix(const char *s, size_t len, struct kh_tz *tz, const char **why);

/* Parse a TZif file (RFC 8536, versions 1 to 4). 0, or -EINVAL with *why. */
int kh_tz_parse_tzif(const uint8_t *buf, size_t len, struct kh_tz *tz, const char **why);

/* The offset (seconds east of UTC) in force at Unix time t. */
int32_t kh_tz_offset(const struct kh_tz *tz, int64_t t);

/* Local weekday (0 Sunday .. 6 Saturday) and minute of the day (0-1439) at Unix time t. */
void kh_tz_local(const struct kh_tz *tz, int64_t t, unsigned *wday, unsigned *minute);

/* 1 if name looks like an IANA zone name ("Asia/Ho_Chi_Minh", "UTC"), not a POSIX string. */
int kh_tz_is_iana_name(const char *name);

#endif
