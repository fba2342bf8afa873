/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_binding_parse(): the input is a journal from /run/gpupv, which a
 * crash may have cut anywhere. What parses must format and parse back to the same thing.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/bind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpv_binding b, again;
	char *text = malloc(size + 1), *out = NULL;
	int line = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gpv_binding_parse(text, &b, &line) == 0) {
		assert(gpv_pci_addr_valid(b.gpu));
		assert(gpv_binding_format(&b, &out) == 0);
		assert(gpv_binding_parse(out, &again, &line) == 0);
		assert(streq(again.gpu, b.gpu) && again.state == b.state && again.n_devs == b.n_devs);
		assert(again.since == b.since);
		for (size_t i = 0; i < b.n_devs; i++) {
			assert(streq(again.devs[i].addr, b.devs[i].addr));
			assert(streq_ptr(again.devs[i].orig_driver, b.devs[i].orig_driver));
			assert(streq_ptr(again.devs[i].orig_override, b.devs[i].orig_override));
		}
		gpv_binding_clear(&again);
		gpv_binding_clear(&b);
		free(out);
	}
	free(text);
	return 0;
}
