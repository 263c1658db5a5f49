/* SPDX-License-Identifier: MIT */
/*
 * Clocks on lwIP: monotonic time from sys_now() (32-bit milliseconds,
 * widened here: it wraps after 49.7 days, and the loop reads the clock far
 * more often than that), wall time as an offset the board sets once it
 * knows the time (platform/lwip/board.h).
 */
#define _DEFAULT_SOURCE
#include "lwip/sys.h"

#include "platform/loop_priv.h"
#include "platform/lwip/board.h"
#include "platform/time.h"

static uint32_t g_last;
static uint64_t g_high;
static int64_t g_wall_base; /* wall seconds at monotonic 0 */

uint64_t kh_time_mono_ms(void)
{
	uint32_t now = sys_now();

	if (now < g_last)
		g_high += (uint64_t)1 << 32;
	g_last = now;
	return g_high | now;
}

uint64_t kh_time_mono_ns(void)
{
	return kh_time_mono_ms() * 1000000u;
}

void kh_time_sleep_ms(uint32_t ms)
{
	sys_msleep(ms);
}

void kh_time_lwip_set_wall(int64_t unix_seconds)
{
	g_wall_base = unix_seconds - (int64_t)(kh_time_mono_ms() / 1000);
}

int64_t kh_time_wall(void)
{
	return g_wall_base + (int64_t)(kh_time_mono_ms() / 1000);
}

int kh_loop_backend_timeout(int timeout_ms)
{
	return timeout_ms;
}

void kh_loop_backend_idle(int timeout_ms)
{
	(void)timeout_ms;
}
