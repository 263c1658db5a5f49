/* SPDX-License-Identifier: MIT */
/*
 * The address helpers of platform/net.h that need no network stack:
 * parsing "IP:PORT" / "[IPv6]:PORT" and formatting them back. Shared by
 * every backend (BSD sockets, lwIP), so both accept exactly the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/ipaddr.h"
#include "platform/net.h"

int kh_addr_parse_ip(const char *s, struct kh_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (kh_ip4_parse(s, out->ip) == 0) {
		out->family = KH_AF_INET;
		return 0;
	}
	if (kh_ip6_parse(s, out->ip) == 0) {
		out->family = KH_AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int kh_addr_parse(const char *s, uint16_t default_port, struct kh_addr *out)
{
	char host[64];
	const char *port = NULL;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -EINVAL;
		n = (size_t)(end - s - 1);
		memcpy(host, s + 1, n);
		host[n] = 0;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != 0)
			return -EINVAL;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon && strchr(s, ':') == colon) {
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s); /* bare IPv4 or bare IPv6 */
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
	}
	if (kh_addr_parse_ip(host, out) < 0)
		return -EINVAL;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p > 65535 || port[0] == '-' || port[0] == '+')
			return -EINVAL;
		out->port = (uint16_t)p;
	} else {
		if (!default_port)
			return -EINVAL;
		out->port = default_port;
	}
	return 0;
}

void kh_addr_format(const struct kh_addr *a, char *buf, size_t len)
{
	char ip[48];

	kh_ip_format(a->ip, a->family == KH_AF_INET6, ip, sizeof(ip));
	if (a->family == KH_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
}

int kh_addr_equal(const struct kh_addr *a, const struct kh_addr *b)
{
	size_t n = a->family == KH_AF_INET6 ? 16 : 4;

	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}
