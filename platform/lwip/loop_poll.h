/* SPDX-License-Identifier: MIT */
/*
 * Readiness for the shared event loop (platform/posix/loop.c) on lwIP:
 * lwip_poll over lwIP sockets. struct pollfd is the one lwIP's socket
 * headers use (the C library's on the host port, lwIP's own on an RTOS).
 */
#ifndef KHIEN_PLATFORM_LWIP_LOOP_POLL_H
#define KHIEN_PLATFORM_LWIP_LOOP_POLL_H

#include <poll.h>

/* poll() semantics: ready count, 0 on timeout, -1 with errno set on failure. */
int kh_lwip_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif
