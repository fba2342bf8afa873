/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for gpv_cpuinfo_parse(): the input is a whole /proc/cpuinfo. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);
	struct gpv_cpuinfo c;
	int r;

	if (!text)
		return 0;
	r = gpv_cpuinfo_parse(text, &c);
	assert(r == 0 || r == -ENODATA || r == -ENOMEM);
	if (r < 0)
		return 0;
	assert(c.vendor == GPV_CPU_OTHER || c.vendor == GPV_CPU_INTEL || c.vendor == GPV_CPU_AMD);
	assert(gpv_cpu_vendor_str(c.vendor));
	/* The model is one stripped line: no newline, no trailing whitespace. */
	if (c.model) {
		size_t n = strlen(c.model);

		assert(!strchr(c.model, '\n'));
		assert(n == 0 || !strchr(" \t\r\v\f", c.model[n - 1]));
	}
	gpv_cpuinfo_clear(&c);
	assert(!c.model && c.processors == 0);
	return 0;
}
