/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 literals to bytes and back, portable (no inet_pton). */
#ifndef KHIEN_LIB_IPADDR_H
#define KHIEN_LIB_IPADDR_H

#include <stddef.h>
#include <stdint.h>

/* Dotted quad, strictly (no leading zeros, no shorthand). 0 or -1. */
int kh_ip4_parse(const char *s, uint8_t out[4]);
/* IPv6 text (RFC 4291 section 2.2, with "::" and a dotted IPv4 tail). 0 or -1. */
int kh_ip6_parse(const char *s, uint8_t out[16]);
/* Text for 4 or 16 bytes (RFC 5952 for IPv6) into buf; cap >= 46. */
void kh_ip_format(const uint8_t *ip, int v6, char *buf, size_t cap);

#endif
