/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lib/log.h"

static gpv_log_fn log_fn;
static void *log_data;
static int log_max = GPV_LOG_WARNING;

void gpv_log_set(gpv_log_fn fn, void *data, int max_level)
{
	log_fn = fn;
	log_data = data;
	log_max = max_level;
}

void gpv_log_set_level(int max_level)
{
	log_max = max_level;
}

int gpv_log_level(void)
{
	return log_fn ? log_max : -1;
}

void gpv_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (!log_fn || level > log_max)
		return;
	va_start(ap, fmt);
	log_fn(log_data, level, fmt, ap);
	va_end(ap);
}
