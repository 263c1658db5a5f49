/* SPDX-License-Identifier: MIT */
/*
 * The host "board" of the lwIP harness (platform/lwip/board.h): the
 * kernel's entropy, the console on stderr. A real board reads its TRNG and
 * writes to its UART here.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>

#include "platform/linux/entropy.h"
#include "platform/lwip/board.h"

int kh_board_entropy(void *buf, size_t len)
{
	return kh_linux_entropy(buf, len);
}

void kh_board_console(int level, const char *ident, const char *line)
{
	static const char *const tag[] = {"error", "warning", "notice", "info", "debug"};

	fprintf(stderr, "%s: %s: %s\n", ident, level >= 0 && level <= 4 ? tag[level] : "log", line);
}
