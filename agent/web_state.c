/* SPDX-License-Identifier: MIT */
/*
 * What the status page keeps across a restart of khiend (see web.h): the
 * infected devices (STATE/spool/infected) and the ISP's notice
 * (STATE/spool/notice), as the text the engine writes and reads back. No
 * I/O: khiend writes the files atomically when they change and reads them
 * through kh_fs_read_private(); these functions make the text and refuse
 * anything but what they make, so a damaged or planted file never reaches
 * the page.
 *
 * The infected list: a header line, then one line a device, at most
 * KH_WEB_THREATS:
 *
 *   khien-infected 1
 *   ADDR FIRST LAST COUNT CATEGORY NAME
 *
 * ADDR as kh_addr_format() writes it with port 0, FIRST and LAST wall
 * seconds, CATEGORY the threat's category name, NAME the last name asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/web.h"
#include "lib/err.h"
#include "lib/str.h"

#define INFECTED_TAG "khien-infected 1\n"

static int same_ip(const struct kh_addr *x, const struct kh_addr *y)
{
	return x->family == y->family &&
	       memcmp(x->ip, y->ip, x->family == KH_AF_INET6 ? 16 : 4) == 0;
}

int kh_web_threat_seen(struct kh_web_threat *t, const struct kh_addr *addr, const char *category,
		       const char *name, int64_t now)
{
	struct kh_web_threat *r = NULL;
	int changed = 1;

	for (unsigned i = 0; i < KH_WEB_THREATS && !r; i++)
		if (t[i].count && same_ip(&t[i].addr, addr))
			r = &t[i];
	if (!r) {
		r = &t[0];
		for (unsigned i = 0; i < KH_WEB_THREATS; i++) {
			if (!t[i].count) {
				r = &t[i];
				break;
			}
			if (t[i].last < r->last)
				r = &t[i];
		}
		memset(r, 0, sizeof(*r));
		r->addr = *addr;
		r->addr.port = 0;
		r->first = now;
		changed = 2;
	} else if (strcmp(r->category, category) != 0) {
		changed = 2;
	}
	if (r->count < UINT32_MAX)
		r->count++;
	r->last = now;
	kh_strlcpy(r->category, category, sizeof(r->category));
	kh_strlcpy(r->name, name, sizeof(r->name));
	return changed;
}

int kh_web_threats_format(const struct kh_web_threat *t, char *out, size_t cap)
{
	size_t n = strlen(INFECTED_TAG);

	if (cap <= n)
		return -E2BIG;
	memcpy(out, INFECTED_TAG, n + 1);
	for (unsigned i = 0; i < KH_WEB_THREATS; i++) {
		char ip[KH_ADDR_STRLEN];
		int w;
		if (!t[i].count)
			continue;
		kh_addr_format(&t[i].addr, ip, sizeof(ip));
		w = snprintf(out + n, cap - n, "%s %lld %lld %u %s %s\n", ip, (long long)t[i].first,
			     (long long)t[i].last, (unsigned)t[i].count, t[i].category, t[i].name);
		if (w < 0 || (size_t)w >= cap - n)
			return -E2BIG;
		n += (size_t)w;
	}
	return (int)n;
}

/* A word of at least 1 and fewer than cap bytes, all from allowed; its length or -1. */
static int word(const char *s, size_t len, const char *allowed, size_t cap)
{
	if (!len || len >= cap || strspn(s, allowed) < len)
		return -1;
	return (int)len;
}

/* A decimal number of at most 19 digits, whole token. */
static int num(const char *s, long long max, long long *out)
{
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 19)
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

#define CAT_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-."

int kh_web_threats_parse(const char *text, struct kh_web_threat *t, char *why, size_t whylen)
{
	const char *p = text;
	unsigned line = 1, k = 0;

	memset(t, 0, sizeof(*t) * KH_WEB_THREATS);
	if (strncmp(p, INFECTED_TAG, strlen(INFECTED_TAG)) != 0) {
		snprintf(why, whylen, "line 1: not \"khien-infected 1\"");
		return -EBADMSG;
	}
	p += strlen(INFECTED_TAG);
	while (*p) {
		const char *nl = strchr(p, '\n');
		char buf[256], *f[6];
		struct kh_web_threat r = {0};
		long long first, last, count;
		unsigned nf = 0;
		const char *bad = NULL;

		line++;
		if (!nl || (size_t)(nl - p) >= sizeof(buf)) {
			snprintf(why, whylen, "line %u: %s", line, nl ? "too long" : "no newline");
			goto fail;
		}
		memcpy(buf, p, (size_t)(nl - p));
		buf[nl - p] = 0;
		p = nl + 1;
		if (k == KH_WEB_THREATS) {
			snprintf(why, whylen, "line %u: more than %d devices", line,
				 KH_WEB_THREATS);
			goto fail;
		}
		/* fields split at single spaces: an empty one (two spaces, an edge) is refused */
		for (char *w = buf; w && !bad;) {
			char *sp = strchr(w, ' ');
			if (sp)
				*sp++ = 0;
			if (!*w || nf == 6)
				bad = "not 6 fields";
			else
				f[nf++] = w;
			w = sp;
		}
		if (!bad && nf != 6)
			bad = "not 6 fields";
		else if (!bad && (kh_addr_parse(f[0], 0, &r.addr) < 0 || r.addr.port != 0))
			bad = "not an address";
		else if (!bad && (num(f[1], INT64_MAX, &first) < 0 ||
				  num(f[2], INT64_MAX, &last) < 0 || first > last))
			bad = "bad first or last seen";
		else if (!bad && (num(f[3], UINT32_MAX, &count) < 0 || count < 1))
			bad = "bad count";
		else if (!bad && word(f[4], strlen(f[4]), CAT_CHARS, sizeof(r.category)) < 0)
			bad = "bad category";
		else if (!bad && word(f[5], strlen(f[5]), NAME_CHARS, sizeof(r.name)) < 0)
			bad = "bad name";
		for (unsigned i = 0; !bad && i < k; i++)
			if (same_ip(&t[i].addr, &r.addr))
				bad = "a device listed twice";
		if (bad) {
			snprintf(why, whylen, "line %u: %s", line, bad);
			goto fail;
		}
		r.first = first;
		r.last = last;
		r.count = (uint32_t)count;
		kh_strlcpy(r.category, f[4], sizeof(r.category));
		kh_strlcpy(r.name, f[5], sizeof(r.name));
		t[k++] = r;
	}
	return 0;
fail:
	memset(t, 0, sizeof(*t) * KH_WEB_THREATS);
	return -EBADMSG;
}

int kh_web_notice_check(const char *text, size_t len)
{
	if (len > KH_WEB_NOTICE_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return -EBADMSG;
	return 0;
}
