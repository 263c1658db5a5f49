/* SPDX-License-Identifier: MIT */
/*
 * Hooks between the shared POSIX poll loop (platform/posix/loop.c) and the
 * clock of the backend it is linked with. The Linux backend sleeps for real;
 * the test backend never sleeps and instead advances its fake clock, so
 * timer tests are instant and deterministic.
 */
#ifndef KHIEN_PLATFORM_LOOP_PRIV_H
#define KHIEN_PLATFORM_LOOP_PRIV_H

/* Timeout actually passed to poll() for a wanted wait of timeout_ms (-1 = forever). */
int kh_loop_backend_timeout(int timeout_ms);
/* Called after poll() returned nothing although the loop wanted timeout_ms. */
void kh_loop_backend_idle(int timeout_ms);

#endif
