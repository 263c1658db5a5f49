/* SPDX-License-Identifier: MIT */
/*
 * Platform log sink. lib/log.c formats and filters; the backend only
 * delivers one finished line (no trailing newline) to wherever the platform
 * keeps logs: stderr, syslog, a UART.
 */
#ifndef KHIEN_PLATFORM_LOG_H
#define KHIEN_PLATFORM_LOG_H

#include "lib/log.h"

/* Deliver one line. Must not allocate; may be called from any context. */
void kh_platform_log(enum kh_log_level level, const char *ident, const char *line);

/*
 * Switch the sink to the system log (Linux: syslog(3) with LOG_DAEMON) once
 * a daemon leaves the foreground. No-op where there is no system log.
 */
void kh_platform_log_use_syslog(const char *ident);

#endif
