/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

/*
 * Library code never prints: it hands messages to one callback that the front end installs.
 * Without a callback, messages are dropped.
 */
enum gpv_log_level {
	GPV_LOG_ERR = 3,
	GPV_LOG_WARNING = 4,
	GPV_LOG_INFO = 6,
	GPV_LOG_DEBUG = 7,
};

typedef void (*gpv_log_fn)(void *data, int level, const char *fmt, va_list args);

void gpv_log_set(gpv_log_fn fn, void *data, int max_level);
/* Changes the level only (a command's own -v, after main set the log up). */
void gpv_log_set_level(int max_level);
int gpv_log_level(void);
void gpv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gpv_debug(...) gpv_log(GPV_LOG_DEBUG, __VA_ARGS__)
#define gpv_info(...) gpv_log(GPV_LOG_INFO, __VA_ARGS__)
