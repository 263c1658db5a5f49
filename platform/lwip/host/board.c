/* SPDX-License-Identifier: MIT */
/*
 * The host "board" of the lwIP harness (platform/lwip/board.h): entropy
 * from getrandom(2), the console on stderr. A real board reads its TRNG and
 * writes to its UART here.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "platform/lwip/board.h"

int kh_board_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void kh_board_console(int level, const char *ident, const char *line)
{
	static const char *const tag[] = {"error", "warning", "notice", "info", "debug"};

	fprintf(stderr, "%s: %s: %s\n", ident, level >= 0 && level <= 4 ? tag[level] : "log", line);
}
