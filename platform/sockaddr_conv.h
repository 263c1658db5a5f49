/* SPDX-License-Identifier: MIT */
/*
 * struct kh_addr <-> struct sockaddr, shared by the BSD-socket and lwIP
 * backends. Include it after the stack's own socket header (the C
 * library's, or lwIP's): only field names are used, so the same code fits
 * either layout (lwIP's structures carry an extra length byte).
 */
#ifndef KHIEN_PLATFORM_SOCKADDR_CONV_H
#define KHIEN_PLATFORM_SOCKADDR_CONV_H

#include <string.h>

#include "lib/endian.h"
#include "platform/net.h"

static inline socklen_t kh_to_sockaddr(const struct kh_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == KH_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		kh_put_be16(&s6->sin6_port, a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	kh_put_be16(&s4->sin_port, a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

static inline void kh_from_sockaddr(const struct sockaddr_storage *ss, struct kh_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a->family = KH_AF_INET6;
		a->port = kh_be16(&s6->sin6_port);
		memcpy(a->ip, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = KH_AF_INET;
		a->port = kh_be16(&s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
	}
}

#endif
