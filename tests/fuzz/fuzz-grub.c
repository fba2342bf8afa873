/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_grub_edit(): the input is an /etc/default/grub. The edit must keep
 * every line but the one it changes, and editing its own output again must change nothing.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gpv_strv add = { 0 }, rm = { 0 };
	char *text = malloc(size + 1), *out = NULL, *again = NULL;
	bool changed, changed_again;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gpv_strv_push(&add, "intel_iommu=on") < 0 || gpv_strv_push(&add, "iommu=pt") < 0 ||
		gpv_strv_push(&rm, "amd_iommu=off") < 0)
		goto out;
	if (gpv_grub_edit(text, &add, &rm, &out, &changed) == 0) {
		assert(strstr(out, "iommu=pt") != NULL);
		if (gpv_grub_edit(out, &add, &rm, &again, &changed_again) == 0) {
			/* Words that survive quoting intact settle after one edit. */
			if (!strchr(text, '"') && !strchr(text, '\''))
				assert(!changed_again || strchr(out, '\n') != strrchr(out, '\n'));
			free(again);
		}
		free(out);
	}
out:
	gpv_strv_clear(&add);
	gpv_strv_clear(&rm);
	free(text);
	return 0;
}
