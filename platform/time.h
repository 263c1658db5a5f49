/* SPDX-License-Identifier: MIT */
/*
 * Clocks. Two kinds, never mixed:
 *  - monotonic milliseconds for timeouts and intervals: never jumps, starts
 *    at an arbitrary point, survives wall-clock changes;
 *  - wall-clock seconds since the Unix epoch for expiry checks and event
 *    timestamps: may be unset (0-ish) on a router that has no RTC and has not
 *    synchronised yet, and may jump.
 * The test backend replaces both with a fake clock the test advances.
 */
#ifndef KHIEN_PLATFORM_TIME_H
#define KHIEN_PLATFORM_TIME_H

#include <stdint.h>

/* Milliseconds from an arbitrary origin; non-decreasing. */
uint64_t kh_time_mono_ms(void);

/* Nanoseconds from an arbitrary origin, for measurements; non-decreasing. */
uint64_t kh_time_mono_ns(void);

/* Block the calling thread for ms milliseconds (command-line tools only; daemons use timers). */
void kh_time_sleep_ms(uint32_t ms);

/* Seconds since 1970-01-01T00:00:00Z as the platform believes it. */
int64_t kh_time_wall(void);

#endif
