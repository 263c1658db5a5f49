/* SPDX-License-Identifier: MIT */
/* The Linux kernel's entropy, for the Linux backend and the lwIP host board alike. */
#ifndef KHIEN_PLATFORM_LINUX_ENTROPY_H
#define KHIEN_PLATFORM_LINUX_ENTROPY_H

#include <stddef.h>

/* getrandom(2), retried on EINTR; blocks only until the pool is seeded. 0 or -EIO. */
int kh_linux_entropy(void *buf, size_t len);

#endif
