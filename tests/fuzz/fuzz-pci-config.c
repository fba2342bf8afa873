/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the config space parsers in lib/pci.c: the input is a binary config
 * file (sysfs "config", 64 to 4096 bytes), copied into a buffer of exactly its size so that
 * AddressSanitizer catches any read past it.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pci.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel's order; each method at most once. */
	static const char *const order[] = { "flr", "af_flr", "pm" };
	_cleanup_free_ uint8_t *cfg = malloc(size ? size : 1);
	gpv_strv methods = { 0 };
	size_t next = 0;
	int r;

	if (!cfg)
		return 0;
	memcpy(cfg, data, size);

	r = gpv_pci_config_header_type(cfg, size);
	if (size < 64)
		assert(r == -ENODATA);
	else
		assert(r >= 0 && r <= 0x7f);

	r = gpv_pci_config_reset_methods(cfg, size, &methods);
	if (size < 64)
		assert(r == -ENODATA && methods.n == 0);
	else
		assert(r == 0 || r == -ENOMEM);
	assert(methods.n <= ELEMENTSOF(order));
	for (size_t i = 0; i < methods.n; i++) {
		while (next < ELEMENTSOF(order) && !streq(methods.v[i], order[next]))
			next++;
		assert(next < ELEMENTSOF(order));
		next++;
	}
	gpv_strv_clear(&methods);
	/* The parsers only read. */
	assert(memcmp(cfg, data, size) == 0);
	return 0;
}
