/* SPDX-License-Identifier: MIT */
/*
 * lwip_poll for the event loop, with its two quirks absorbed: it wants a
 * NULL array when there is nothing to watch (else EINVAL), and it fails
 * without setting errno when an entry is not an lwIP socket (so a caller
 * would read "nothing ready"): that becomes EBADF.
 */
#define _DEFAULT_SOURCE
#include <errno.h>

#include "lwip/sockets.h"
#include "lwip/sys.h"

#include "lib/compiler.h"
#include "platform/lwip/loop_poll.h"

unsigned kh_lwip_fd_limit(void)
{
	/* Debian's lwIP numbers from the lowest free slot; a static table is
	 * NUM_SOCKETS long: either way below offset + twice our budget */
	return (unsigned)LWIP_SOCKET_OFFSET + 2u * CONFIG_LWIP_MAX_SOCKETS + 16u;
}

int kh_lwip_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int r;

	if (n == 0) {
		if (timeout_ms > 0)
			sys_msleep((u32_t)timeout_ms);
		return 0;
	}
	errno = 0;
	r = lwip_poll(fds, n, timeout_ms);
	if (r < 0 && errno == 0)
		errno = EBADF;
	return r;
}
