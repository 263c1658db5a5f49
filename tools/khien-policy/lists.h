/* SPDX-License-Identifier: MIT */
/*
 * Blocklist text formats, parsed on the ISP side only (the device never
 * parses list text). One parser per format turns lines into canonical
 * entries and hands them to a sink; a bad line is reported with its line
 * number and a reason and parsing goes on. docs/BLOCKLISTS.md lists exactly
 * what each format accepts.
 *
 * Limits: lines up to KH_LIST_LINE_MAX bytes (longer lines are rejected),
 * names as in policy/name.h, an RPZ record in parentheses up to 64 lines
 * and KH_LIST_LINE_MAX bytes, IP triggers no shorter than the minimum
 * prefixes below.
 */
#ifndef KHIEN_POLICY_LISTS_H
#define KHIEN_POLICY_LISTS_H

#include <stddef.h>
#include <stdint.h>

#define KH_LIST_LINE_MAX 4096
/*
 * Shortest IP trigger prefix accepted (RPZ-IP and IP lists). The broadest
 * real uses are 10.0.0.0/8 and 127.0.0.0/8, and fd00::/8 (IPv6 unique local
 * addresses) against DNS rebinding; anything shorter covers a large part of
 * the Internet and is a mistake (a /0 would block every answer).
 */
#define KH_LIST_IP4_MIN_PREFIX 8
#define KH_LIST_IP6_MIN_PREFIX 8

enum kh_list_format {
	KH_FMT_AUTO = 0,
	KH_FMT_DOMAINS,
	KH_FMT_HOSTS,
	KH_FMT_ADBLOCK,
	KH_FMT_DNSMASQ,
	KH_FMT_UNBOUND,
	KH_FMT_RPZ,
	KH_FMT_IP, /* one IPv4/IPv6 address or CIDR prefix per line */
};

struct kh_list_entry {
	const char *name; /* canonical (policy/name.h), NUL-terminated */
	size_t len;
	uint8_t scope;	   /* KH_SCOPE_* */
	uint8_t action;	   /* enum kh_idx_action */
	uint8_t allow;	   /* 1: an exception (AdBlock @@, RPZ passthru, unbound transparent) */
	uint8_t important; /* AdBlock $important */
	uint8_t badfilter; /* AdBlock $badfilter: disables the same rule, is no entry itself */
};

struct kh_list_ip {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint8_t ip[16];
	uint8_t action;
	uint8_t allow;
};

/* Where parsed lines go. Callbacks return 0, or a negative errno to stop. */
struct kh_list_sink {
	void *arg;
	int (*entry)(void *arg, const struct kh_list_entry *e, unsigned line);
	int (*ip)(void *arg, const struct kh_list_ip *t, unsigned line);
	/* An invalid line (rejected) or a valid rule Khien does not apply (unsupported). */
	void (*problem)(void *arg, unsigned line, int unsupported, const char *reason,
			const char *text);
};

struct kh_list_stats {
	unsigned long lines, entries, allows, ips, badfilters, rejected, unsupported, ignored;
};

/* Guess the format of a list from its first significant lines. */
enum kh_list_format kh_list_detect(const char *buf, size_t len);
const char *kh_list_format_name(enum kh_list_format f);
/* Parse a format name ("auto", "domains", ...); -EINVAL if unknown. */
int kh_list_format_parse(const char *s);

/*
 * Parse buf[0..len) as format f (AUTO detects). Returns 0, or the first
 * negative value a sink callback returned. Statistics are added to *st.
 */
int kh_list_parse(const char *buf, size_t len, enum kh_list_format f,
		  const struct kh_list_sink *sink, struct kh_list_stats *st);

#endif
