/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for gpv_mdev_desc_parse(): the input is an mdev type's description. */
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
	struct gpv_mdev_desc d;
	int r;

	if (!text)
		return 0;
	r = gpv_mdev_desc_parse(text, &d);
	assert(r == 0 || r == -ENOMEM);
	if (r < 0)
		return 0;
	/* Numbers are -1 (absent or unparsable) or non-negative. */
	assert(d.max_instance >= -1);
	assert(d.framebuffer_mib >= -1);
	assert(d.weight >= -1);
	/* The resolution is one stripped value: it never spans a separator. */
	if (d.resolution) {
		size_t n = strlen(d.resolution);

		assert(!strpbrk(d.resolution, ",\n"));
		assert(n == 0 || !strchr(" \t\r\v\f", d.resolution[n - 1]));
		assert(strstr(text, d.resolution));
	}
	gpv_mdev_desc_clear(&d);
	assert(!d.resolution && d.max_instance == -1 && d.framebuffer_mib == -1 && d.weight == -1);
	return 0;
}
