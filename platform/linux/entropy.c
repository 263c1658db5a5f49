/* SPDX-License-Identifier: MIT */
/* Linux entropy: getrandom(2), which blocks only until the pool is seeded. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <sys/random.h>

#include "platform/linux/entropy.h"

int kh_linux_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
