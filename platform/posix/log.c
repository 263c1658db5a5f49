/* SPDX-License-Identifier: MIT */
/* POSIX log sink: stderr in the foreground, syslog(3) once a daemon detaches. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <syslog.h>

#include "platform/log.h"

static int g_syslog;

void kh_platform_log_use_syslog(const char *ident)
{
	if (!IS_ENABLED(CONFIG_LOG_SYSLOG))
		return;
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	g_syslog = 1;
}

void kh_platform_log(enum kh_log_level level, const char *ident, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
	static const char *const tag[] = {"error", "warning", "notice", "info", "debug"};

	if (g_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	fprintf(stderr, "%s: %s: %s\n", ident, tag[level], line);
}
