/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for lib/volume.c: the input is taken as a volume's first bytes, as fstab
 * text and as os-release text. The answers are one of the kinds, a mount point inside the
 * text, a value that is a copy of part of it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "ID", "PRETTY_NAME", "VERSION_ID" };
	const char *text = (const char *)data, *at = NULL;
	enum gpv_volume v = gpv_volume_classify(data, size);
	size_t len = 0;

	assert(v == GPV_VOLUME_NONE || v == GPV_VOLUME_PLAIN || v == GPV_VOLUME_OTHER);
	if (gpv_fstab_splits_root(text, size, &at, &len)) {
		assert(at >= text && len > 0 && at + len <= text + size);
		assert(at[0] == '/');
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *value = gpv_os_release_value(text, size, keys[i]);

		assert(!value || strlen(value) < size);
		free(value);
	}
	return 0;
}
