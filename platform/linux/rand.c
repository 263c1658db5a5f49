/* SPDX-License-Identifier: MIT */
/* Linux random bytes: the kernel's pool (platform/linux/entropy.c). */
#include "platform/linux/entropy.h"
#include "platform/rand.h"

int kh_rand_bytes(void *buf, size_t len)
{
	return kh_linux_entropy(buf, len);
}
