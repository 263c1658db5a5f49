/* SPDX-License-Identifier: MIT */
/*
 * Deterministic "entropy" for tests: splitmix64 from a settable seed, so a
 * failing test reproduces bit for bit. Never linked into real programs.
 */
#include <string.h>

#include "platform/rand.h"
#include "platform/test/test_platform.h"

static uint64_t g_state = 0x6b6869656e2d7465ull;

void kh_test_rand_seed(uint64_t seed)
{
	g_state = seed;
}

static uint64_t splitmix64(void)
{
	uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int kh_rand_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		uint64_t v = splitmix64();
		size_t n = len < sizeof(v) ? len : sizeof(v);
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
	return 0;
}
