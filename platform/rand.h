/* SPDX-License-Identifier: MIT */
/*
 * Random bytes from the platform's entropy source (Linux: getrandom(2),
 * RTOS: the SoC's TRNG). Used to seed crypto/'s CTR-DRBG and for DNS query
 * ids and ports. The test backend is a deterministic generator so failures
 * reproduce.
 */
#ifndef KHIEN_PLATFORM_RAND_H
#define KHIEN_PLATFORM_RAND_H

#include <stddef.h>

/*
 * Fill buf with len unpredictable bytes. Blocks only until the platform's
 * pool is first initialised. Returns 0, or -EIO if no entropy is available
 * (callers must fail closed, never fall back to a weak source).
 */
int kh_rand_bytes(void *buf, size_t len);

#endif
