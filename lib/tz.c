/* SPDX-License-Identifier: MIT */
/*
 * POSIX TZ strings and TZif files (see tz.h). Every count and offset read
 * from a file is checked against the bytes there before it is used; offsets
 * are limited to +-25 hours and rule times to +-167 hours (RFC 8536 3.3.1).
 */
#include <errno.h>
#include <string.h>

#include "lib/civil.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/tz.h"

#define MAX_OFF (25 * 3600)

static uint64_t tzif_be64(const uint8_t *p)
{
	return (uint64_t)kh_be32(p) << 32 | kh_be32(p + 4);
}

void kh_tz_utc(struct kh_tz *tz)
{
	memset(tz, 0, sizeof(*tz));
	tz->has_rule = 1;
}

struct rd {
	const char *p, *end;
};

static int peek(const struct rd *r)
{
	return r->p < r->end ? (unsigned char)*r->p : 0;
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static int abbr(struct rd *r)
{
	unsigned n = 0;

	if (peek(r) == '<') {
		r->p++;
		while (is_alpha(peek(r)) || is_digit(peek(r)) || peek(r) == '+' || peek(r) == '-') {
			r->p++;
			n++;
		}
		if (peek(r) != '>')
			return -1;
		r->p++;
	} else {
		while (is_alpha(peek(r))) {
			r->p++;
			n++;
		}
	}
	return n >= 3 ? 0 : -1;
}

static int number(struct rd *r, unsigned max_digits, int *out)
{
	unsigned n = 0;
	int v = 0;

	while (is_digit(peek(r)) && n < max_digits) {
		v = v * 10 + (peek(r) - '0');
		r->p++;
		n++;
	}
	if (!n || is_digit(peek(r)))
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]], hours up to max_h: seconds (sign as written). */
static int hms(struct rd *r, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (peek(r) == '+' || peek(r) == '-')
		sign = *r->p++ == '-' ? -1 : 1;
	if (number(r, 3, &h) < 0 || h > max_h)
		return -1;
	if (peek(r) == ':') {
		r->p++;
		if (number(r, 2, &m) < 0 || m > 59)
			return -1;
		if (peek(r) == ':') {
			r->p++;
			if (number(r, 2, &s) < 0 || s > 59)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int rule(struct rd *r, struct kh_tz_rule *out)
{
	int a, b, c;

	memset(out, 0, sizeof(*out));
	out->time = 2 * 3600;
	if (peek(r) == 'M') {
		r->p++;
		if (number(r, 2, &a) < 0 || a < 1 || a > 12 || peek(r) != '.')
			return -1;
		r->p++;
		if (number(r, 1, &b) < 0 || b < 1 || b > 5 || peek(r) != '.')
			return -1;
		r->p++;
		if (number(r, 1, &c) < 0 || c > 6)
			return -1;
		out->kind = 'M';
		out->m = (uint8_t)a;
		out->w = (uint8_t)b;
		out->d = (uint8_t)c;
	} else if (peek(r) == 'J') {
		r->p++;
		if (number(r, 3, &a) < 0 || a < 1 || a > 365)
			return -1;
		out->kind = 'J';
		out->n = (uint16_t)a;
	} else {
		if (number(r, 3, &a) < 0 || a > 365)
			return -1;
		out->kind = 'n';
		out->n = (uint16_t)a;
	}
	if (peek(r) == '/') {
		r->p++;
		if (hms(r, 167, &out->time) < 0)
			return -1;
	}
	return 0;
}

int kh_tz_parse_posix(const char *s, size_t len, struct kh_tz *tz, const char **why)
{
	struct rd r = {s, s + len};
	int32_t off;

	kh_tz_utc(tz);
	*why = "not a POSIX TZ string (e.g. <+07>-7 or CET-1CEST,M3.5.0,M10.5.0/3)";
	if (len == 0 || len > KH_TZ_TEXT_MAX || memchr(s, 0, len))
		return -EINVAL;
	if (abbr(&r) < 0 || hms(&r, 24, &off) < 0)
		return -EINVAL;
	tz->std_off = -off;
	tz->dst_off = tz->std_off;
	if (r.p == r.end)
		return 0;
	if (abbr(&r) < 0)
		return -EINVAL;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (peek(&r) && peek(&r) != ',') {
		if (hms(&r, 24, &off) < 0)
			return -EINVAL;
		tz->dst_off = -off;
	}
	if (r.p == r.end) {
		/* no rule: the US rule, as glibc and musl assume */
		tz->start = (struct kh_tz_rule){'M', 3, 2, 0, 0, 7200};
		tz->end = (struct kh_tz_rule){'M', 11, 1, 0, 0, 7200};
		return 0;
	}
	if (peek(&r) != ',')
		return -EINVAL;
	r.p++;
	if (rule(&r, &tz->start) < 0 || peek(&r) != ',')
		return -EINVAL;
	r.p++;
	if (rule(&r, &tz->end) < 0 || r.p != r.end)
		return -EINVAL;
	*why = "ok";
	return 0;
}

static int leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970 of rule day in year y (local midnight). */
static int64_t rule_day(const struct kh_tz_rule *ru, int64_t y)
{
	int64_t jan1 = kh_days_from_civil(y, 1, 1);

	if (ru->kind == 'J') /* 1-365, February 29 never counted */
		return jan1 + ru->n - 1 + (leap(y) && ru->n >= 60);
	if (ru->kind == 'n')
		return jan1 + ru->n;
	{
		static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int64_t first = kh_days_from_civil(y, ru->m, 1);
		int wd1 = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		int day = 1 + (ru->d - wd1 + 7) % 7 + 7 * (ru->w - 1);
		int dim = mdays[ru->m - 1] + (ru->m == 2 && leap(y));
		while (day > dim)
			day -= 7;
		return first + day - 1;
	}
}

/* The offset under the POSIX rule at t. */
static int32_t rule_offset(const struct kh_tz *tz, int64_t t)
{
	struct kh_civil c;
	int64_t start, end;

	if (!tz->has_dst)
		return tz->std_off;
	kh_civil_from_unix(t + tz->std_off, &c);
	start = rule_day(&tz->start, c.year) * 86400 + tz->start.time - tz->std_off;
	end = rule_day(&tz->end, c.year) * 86400 + tz->end.time - tz->dst_off;
	if (start < end)
		return t >= start && t < end ? tz->dst_off : tz->std_off;
	return t >= end && t < start ? tz->std_off : tz->dst_off; /* southern hemisphere */
}

int32_t kh_tz_offset(const struct kh_tz *tz, int64_t t)
{
	unsigned lo = 0, hi = tz->ntrans;

	if (tz->ntrans && t < tz->trans[tz->ntrans - 1]) {
		if (t < tz->trans[0])
			return tz->before_off;
		while (hi - lo > 1) { /* the last transition at or before t */
			unsigned mid = (lo + hi) / 2;
			if (tz->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		return tz->trans_off[lo];
	}
	if (!tz->has_rule)
		return tz->last_off;
	return rule_offset(tz, t);
}

void kh_tz_local(const struct kh_tz *tz, int64_t t, unsigned *wday, unsigned *minute)
{
	int64_t l = t + kh_tz_offset(tz, t), days = l / 86400, secs = l % 86400;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	*wday = (unsigned)(((days + 4) % 7 + 7) % 7);
	*minute = (unsigned)(secs / 60);
}

int kh_tz_is_iana_name(const char *name)
{
	struct kh_tz tz;
	const char *why;

	/* a POSIX string if it parses as one ("EST5EDT" is both, and means the same) */
	return kh_tz_parse_posix(name, strlen(name), &tz, &why) < 0;
}

/* ---------------------------------------------------------------- TZif */

struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chr;
};

static int tzif_header(const uint8_t *p, size_t len, struct tzif_hdr *h, int *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	*version = p[4] ? p[4] - '0' : 1;
	h->isut = kh_be32(p + 20);
	h->isstd = kh_be32(p + 24);
	h->leap = kh_be32(p + 28);
	h->time = kh_be32(p + 32);
	h->type = kh_be32(p + 36);
	h->chr = kh_be32(p + 40);
	/* RFC 8536 3.1: at least one type, at most 256; the indicator counts are 0 or typecnt */
	if (h->type == 0 || h->type > 256 || h->chr == 0 || h->chr > 65536 || h->time > 100000 ||
	    h->leap > 100000 || (h->isut && h->isut != h->type) ||
	    (h->isstd && h->isstd != h->type))
		return -1;
	return 0;
}

static size_t tzif_block(const struct tzif_hdr *h, unsigned tsize)
{
	return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 + h->chr +
	       (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

int kh_tz_parse_tzif(const uint8_t *buf, size_t len, struct kh_tz *tz, const char **why)
{
	struct tzif_hdr h;
	int version;
	unsigned tsize = 4;
	const uint8_t *p = buf, *times, *idx, *types;
	size_t n;
	unsigned keep_from = 0, last;

	kh_tz_utc(tz);
	*why = "not a TZif file";
	if (len > KH_TZIF_MAX || tzif_header(p, len, &h, &version) < 0)
		return -EINVAL;
	n = 44 + tzif_block(&h, 4);
	if (n > len)
		return -EINVAL;
	if (version >= 2) { /* skip the 32-bit block: the 64-bit one follows */
		p += n;
		len -= n;
		if (tzif_header(p, len, &h, &version) < 0 || 44 + tzif_block(&h, 8) > len)
			return -EINVAL;
		tsize = 8;
	}
	times = p + 44;
	idx = times + (size_t)h.time * tsize;
	types = idx + h.time;
	for (uint32_t i = 0; i < h.time; i++) {
		int32_t off;
		if (idx[i] >= h.type)
			return -EINVAL;
		off = (int32_t)kh_be32(types + 6 * idx[i]);
		if (off < -MAX_OFF || off > MAX_OFF)
			return -EINVAL;
		if (i && (tsize == 8 ? (int64_t)tzif_be64(times + 8 * i) <=
					       (int64_t)tzif_be64(times + 8 * (i - 1))
				     : (int32_t)kh_be32(times + 4 * i) <=
					       (int32_t)kh_be32(times + 4 * (i - 1))))
			return -EINVAL; /* transitions must ascend */
	}
	for (uint32_t i = 0; i < h.type; i++) {
		int32_t off = (int32_t)kh_be32(types + 6 * i);
		if (off < -MAX_OFF || off > MAX_OFF || types[6 * i + 5] >= h.chr)
			return -EINVAL;
	}
	/* the offset before any transition: type 0 (RFC 8536 3.2) */
	tz->before_off = (int32_t)kh_be32(types);
	tz->last_off = h.time ? (int32_t)kh_be32(types + 6 * idx[h.time - 1]) : tz->before_off;
	tz->has_rule = 0;
	if (version >= 2) {
		const uint8_t *f = p + 44 + tzif_block(&h, 8), *e;
		size_t left = len - (size_t)(f - p);
		if (left < 2 || f[0] != '\n')
			return -EINVAL;
		e = memchr(f + 1, '\n', left - 1);
		if (!e)
			return -EINVAL;
		if (e > f + 1) { /* an empty footer: no rule after the last transition */
			struct kh_tz rule_tz;
			if (kh_tz_parse_posix((const char *)f + 1, (size_t)(e - f - 1), &rule_tz,
					      why) < 0) {
				*why = "TZif footer is not a POSIX TZ string";
				return -EINVAL;
			}
			tz->std_off = rule_tz.std_off;
			tz->dst_off = rule_tz.dst_off;
			tz->has_dst = rule_tz.has_dst;
			tz->start = rule_tz.start;
			tz->end = rule_tz.end;
			tz->has_rule = 1;
		}
	}
	/*
	 * Transitions the rule already describes need not be kept: walk back
	 * from the last while each agrees with the rule, then keep the latest
	 * KH_TZ_MAX_TRANS before that point (and that point itself).
	 */
	last = h.time;
	if (tz->has_rule)
		while (last > 0) {
			int64_t at = tsize == 8 ? (int64_t)tzif_be64(times + 8 * (last - 1))
						: (int32_t)kh_be32(times + 4 * (last - 1));
			int32_t off = (int32_t)kh_be32(types + 6 * idx[last - 1]);
			if (rule_offset(tz, at) != off || rule_offset(tz, at - 1) == off)
				break;
			last--;
		}
	if (tz->has_rule && last < h.time)
		last++; /* the first transition the rule describes ends the kept ones */
	if (last > KH_TZ_MAX_TRANS)
		keep_from = last - KH_TZ_MAX_TRANS;
	if (keep_from)
		tz->before_off = (int32_t)kh_be32(types + 6 * idx[keep_from - 1]);
	for (unsigned i = keep_from; i < last; i++) {
		tz->trans[tz->ntrans] = tsize == 8 ? (int64_t)tzif_be64(times + 8 * i)
						   : (int32_t)kh_be32(times + 4 * i);
		tz->trans_off[tz->ntrans++] = (int32_t)kh_be32(types + 6 * idx[i]);
	}
	/* No rule: after the kept ones the last offset stays (version 1, or an empty footer). */
	*why = "ok";
	return 0;
}
