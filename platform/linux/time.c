/* SPDX-License-Identifier: MIT */
/* Linux clocks: CLOCK_MONOTONIC for intervals, CLOCK_REALTIME for the wall. */
#define _DEFAULT_SOURCE
#include <time.h>

#include "platform/loop_priv.h"
#include "platform/time.h"

uint64_t kh_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t kh_time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void kh_time_sleep_ms(uint32_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

int64_t kh_time_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int kh_loop_backend_timeout(int timeout_ms)
{
	return timeout_ms;
}

void kh_loop_backend_idle(int timeout_ms)
{
	(void)timeout_ms;
}
