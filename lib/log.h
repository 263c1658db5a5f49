/* SPDX-License-Identifier: MIT */
/*
 * Levelled logging. Messages go to the platform's sink (stderr in the
 * foreground, syslog for daemons on Linux). Levels above CONFIG_LOG_LEVEL
 * compile away together with their strings. kh_log_err() appends the text
 * of a negative errno value, so failures say why.
 */
#ifndef KHIEN_LIB_LOG_H
#define KHIEN_LIB_LOG_H

#include "lib/compiler.h"

enum kh_log_level {
	KH_LOG_ERROR = 0,
	KH_LOG_WARN = 1,
	KH_LOG_NOTICE = 2,
	KH_LOG_INFO = 3,
	KH_LOG_DEBUG = 4,
};

/* Runtime threshold (<= CONFIG_LOG_LEVEL); default KH_LOG_INFO. */
void kh_log_set_level(enum kh_log_level level);
enum kh_log_level kh_log_get_level(void);
/* Parse "error".."debug" or a digit; returns -EINVAL if unknown. */
int kh_log_parse_level(const char *s);
/* Prefix for every line, e.g. the program name; the string is not copied. */
void kh_log_set_ident(const char *ident);

void kh_log_write(enum kh_log_level level, int err, const char *fmt, ...) KH_PRINTF(3, 4);

#define KH__LOG(level, err, ...)                                   \
	do {                                                       \
		if ((level) <= CONFIG_LOG_LEVEL)                   \
			kh_log_write((level), (err), __VA_ARGS__); \
	} while (0)

#define log_error(...) KH__LOG(KH_LOG_ERROR, 0, __VA_ARGS__)
#define log_warn(...) KH__LOG(KH_LOG_WARN, 0, __VA_ARGS__)
#define log_notice(...) KH__LOG(KH_LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) KH__LOG(KH_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) KH__LOG(KH_LOG_DEBUG, 0, __VA_ARGS__)
/* Same, with ": <strerror(err)>" appended; err is a negative errno. */
#define log_error_err(err, ...) KH__LOG(KH_LOG_ERROR, (err), __VA_ARGS__)
#define log_warn_err(err, ...) KH__LOG(KH_LOG_WARN, (err), __VA_ARGS__)

#endif
