/* SPDX-License-Identifier: MIT */
/*
 * IP address literals without the C library's inet_pton/inet_ntop, which an
 * RTOS libc may lack and crypto/ must not call: strict parsing (no leading
 * zeros in IPv4, which some parsers read as octal) and RFC 5952 text.
 */
#include <stdio.h>
#include <string.h>

#include "lib/endian.h"
#include "lib/hex.h"
#include "lib/ipaddr.h"

int kh_ip4_parse(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, nd = 0;

		while (*s >= '0' && *s <= '9') {
			if (nd == 1 && v == 0)
				return -1; /* leading zero: octal to some parsers */
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++nd > 3 || v > 255)
				return -1;
		}
		if (nd == 0)
			return -1;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

static int hexval(char c)
{
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return kh_hex_digit(c);
}

int kh_ip6_parse(const char *s, uint8_t out[16])
{
	uint16_t w[8];
	int n = 0, gap = -1;
	const char *p = s;

	if (strlen(s) > 45)
		return -1;
	if (p[0] == ':') {
		if (p[1] != ':')
			return -1;
		gap = 0;
		p += 2;
	}
	while (*p) {
		const char *colon = strchr(p, ':'), *dot = strchr(p, '.');
		unsigned v = 0, nd = 0;
		int h;

		if (dot && (!colon || dot < colon)) {
			/* dotted IPv4 tail: the last 32 bits */
			uint8_t v4[4];
			if (n > 6 || kh_ip4_parse(p, v4))
				return -1;
			w[n++] = kh_be16(v4);
			w[n++] = kh_be16(v4 + 2);
			break;
		}
		if (n == 8)
			return -1;
		while ((h = hexval(*p)) >= 0) {
			v = v << 4 | (unsigned)h;
			p++;
			if (++nd > 4)
				return -1;
		}
		if (nd == 0)
			return -1;
		w[n++] = (uint16_t)v;
		if (!*p)
			break;
		if (*p++ != ':')
			return -1;
		if (*p == ':') {
			if (gap >= 0)
				return -1;
			gap = n;
			p++;
		} else if (!*p) {
			return -1; /* trailing single colon */
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return -1;
	memset(out, 0, 16);
	for (int i = 0; i < n; i++) {
		int at = gap >= 0 && i >= gap ? 8 - (n - i) : i;
		kh_put_be16(out + 2 * at, w[i]);
	}
	return 0;
}

void kh_ip_format(const uint8_t *ip, int v6, char *buf, size_t cap)
{
	int best = -1, bestlen = 0, i, n = 0;

	if (!v6) {
		snprintf(buf, cap, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	/* RFC 5952: the longest run (>= 2) of zero words becomes "::", the first if tied */
	for (i = 0; i < 8;) {
		int j = i;
		while (j < 8 && !ip[2 * j] && !ip[2 * j + 1])
			j++;
		if (j - i > bestlen && j - i >= 2)
			best = i, bestlen = j - i;
		i = j > i ? j : i + 1;
	}
	buf[0] = 0;
	for (i = 0; i < 8 && (size_t)n < cap; i++) {
		if (i == best) {
			n += snprintf(buf + n, cap - (size_t)n, "::");
			i += bestlen - 1;
			continue;
		}
		n += snprintf(buf + n, cap - (size_t)n, "%s%x", i && i != best + bestlen ? ":" : "",
			      kh_be16(ip + 2 * i));
	}
}
