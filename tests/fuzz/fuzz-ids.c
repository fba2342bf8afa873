/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_ids_lookup(). The first 4 bytes of the input are the vendor and
 * device looked up (little endian, as in config space), the rest is the data file.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *rest = NULL;
	uint16_t vendor, device;
	int r;

	if (size < 4)
		return 0;
	vendor = (uint16_t)(data[0] | data[1] << 8);
	device = (uint16_t)(data[2] | data[3] << 8);
	text = strndup((const char *)data + 4, size - 4);
	if (!text)
		return 0;

	r = gpv_ids_lookup(text, vendor, device, &rest);
	assert(r == 0 || r == 1 || r == -ENOMEM);
	if (r != 1)
		assert(!rest);
	/* The rest of a matching line: within the text, one line, no leading whitespace. */
	if (rest) {
		assert(*rest && !strchr(" \t\r\v\f", *rest));
		assert(!strchr(rest, '\n'));
		assert(strstr(text, rest));
	}
	/* Without ret_rest the answer is the same. */
	assert(gpv_ids_lookup(text, vendor, device, NULL) == (r == -ENOMEM ? 1 : r));
	return 0;
}
