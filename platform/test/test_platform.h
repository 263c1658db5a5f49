/* SPDX-License-Identifier: MIT */
/*
 * Controls of the test backend: a fake clock that only moves when a test (or
 * an idle event loop) advances it, and a deterministic random generator.
 * Link platform-test instead of platform-linux to use them.
 */
#ifndef KHIEN_PLATFORM_TEST_H
#define KHIEN_PLATFORM_TEST_H

#include <stdint.h>

/* Move both clocks forward by ms milliseconds. */
void kh_test_clock_advance(uint64_t ms);
/* Set the wall clock (seconds since the epoch); monotonic is untouched. */
void kh_test_clock_set_wall(int64_t secs);
/* Restart the random sequence from seed. */
void kh_test_rand_seed(uint64_t seed);

#endif
