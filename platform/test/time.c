/* SPDX-License-Identifier: MIT */
/*
 * Fake clock for tests. Monotonic time starts at 1000 ms and moves only
 * through kh_test_clock_advance() or when the event loop would have slept:
 * then the loop polls without blocking and jumps the clock to its deadline.
 */
#include "platform/loop_priv.h"
#include "platform/test/test_platform.h"
#include "platform/time.h"

static uint64_t g_mono = 1000;
static int64_t g_wall = 1767225600; /* 2026-01-01T00:00:00Z */

uint64_t kh_time_mono_ms(void)
{
	return g_mono;
}

uint64_t kh_time_mono_ns(void)
{
	return g_mono * 1000000u;
}

int64_t kh_time_wall(void)
{
	return g_wall + (int64_t)((g_mono - 1000) / 1000);
}

void kh_time_sleep_ms(uint32_t ms)
{
	g_mono += ms;
}

void kh_test_clock_advance(uint64_t ms)
{
	g_mono += ms;
}

void kh_test_clock_set_wall(int64_t secs)
{
	g_wall = secs - (int64_t)((g_mono - 1000) / 1000);
}

int kh_loop_backend_timeout(int timeout_ms)
{
	(void)timeout_ms;
	return 0;
}

void kh_loop_backend_idle(int timeout_ms)
{
	if (timeout_ms > 0)
		g_mono += (uint64_t)timeout_ms;
}
