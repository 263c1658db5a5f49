/* SPDX-License-Identifier: MIT */
/*
 * Readiness for the shared event loop (platform/posix/loop.c) on lwIP:
 * lwip_poll over lwIP sockets. struct pollfd is the one lwIP's socket
 * headers use (the C library's on the host port, lwIP's own on an RTOS).
 */
#ifndef KHIEN_PLATFORM_LWIP_LOOP_POLL_H
#define KHIEN_PLATFORM_LWIP_LOOP_POLL_H

#include <poll.h>

/*
 * Socket numbers lwIP can hand out stay below this: LWIP_SOCKET_OFFSET
 * (1 on the host port, often near FD_SETSIZE on an RTOS) plus the budget.
 */
unsigned kh_lwip_fd_limit(void);

/* poll() semantics: ready count, 0 on timeout, -1 with errno set on failure. */
int kh_lwip_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif
