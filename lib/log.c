/* SPDX-License-Identifier: MIT */
/*
 * Portable half of logging: level filtering and formatting into a bounded
 * stack buffer. The platform sink (platform/log.h) decides where lines go.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "platform/log.h"

static enum kh_log_level g_level = KH_LOG_INFO;
static const char *g_ident = "khien";

void kh_log_set_level(enum kh_log_level level)
{
	g_level = level;
}

enum kh_log_level kh_log_get_level(void)
{
	return g_level;
}

void kh_log_set_ident(const char *ident)
{
	g_ident = ident ? ident : "khien";
}

int kh_log_parse_level(const char *s)
{
	static const char *const names[] = {"error", "warn", "notice", "info", "debug"};
	size_t i;

	if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	for (i = 0; i < KH_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void kh_log_write(enum kh_log_level level, int err, const char *fmt, ...)
{
	char line[CONFIG_LOG_LINE_MAX];
	va_list ap;
	int n;

	if (level > g_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", kh_strerror(err));
	kh_platform_log(level, g_ident, line);
}
