/* SPDX-License-Identifier: MIT */
/*
 * Linux: the IPv4 neighbour table from /proc/net/arp (IPv6 neighbours need
 * netlink and are not read yet: docs/PROFILES.md), and zone files from
 * /usr/share/zoneinfo or $TZDIR.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "platform/fs.h"
#include "platform/lan.h"

#define ARP_MAX (256 * 1024)

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static int mac_parse(const char *s, size_t n, uint8_t mac[6])
{
	if (n != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int h = hexval((unsigned char)s[3 * i]), l = hexval((unsigned char)s[3 * i + 1]);
		if (h < 0 || l < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

int kh_neigh_read(const char *path, struct kh_neigh *out, unsigned max)
{
	uint8_t *buf;
	size_t len;
	unsigned n = 0;
	char *line, *save = NULL;
	int err = kh_fs_read(path ? path : "/proc/net/arp", ARP_MAX, &buf, &len);

	if (err < 0)
		return err;
	line = strtok_r((char *)buf, "\n", &save); /* the header line */
	while (n < max && line && (line = strtok_r(NULL, "\n", &save))) {
		char ip[48], type[16], flags[16], mac[32];
		unsigned long fl;
		if (sscanf(line, "%47s %15s %15s %31s", ip, type, flags, mac) != 4)
			continue;
		fl = strtoul(flags, NULL, 16);
		if (!(fl & 0x2)) /* ATF_COM: complete */
			continue;
		if (kh_addr_parse_ip(ip, &out[n].ip) < 0 ||
		    mac_parse(mac, strlen(mac), out[n].mac) < 0)
			continue;
		out[n].ip.port = 0;
		n++;
	}
	free(buf);
	return (int)n;
}

static int zone_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 64 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//") ||
	    strstr(name, ".."))
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '+' ||
		      *p == '/' || *p == '.'))
			return 0;
	return name[0] != '.';
}

int kh_zone_read(const char *name, size_t max, uint8_t **buf, size_t *len)
{
	const char *dir = getenv("TZDIR");
	char path[320];

	if (!zone_name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", dir && dir[0] == '/' ? dir : "/usr/share/zoneinfo",
		 name);
	return kh_fs_read(path, max, buf, len);
}
