/* SPDX-License-Identifier: MIT */
/* Log sink on lwIP: the board's console; there is no system log. */
#include "platform/log.h"
#include "platform/lwip/board.h"

void kh_platform_log(enum kh_log_level level, const char *ident, const char *line)
{
	kh_board_console((int)level, ident, line);
}

void kh_platform_log_use_syslog(const char *ident)
{
	(void)ident;
}
