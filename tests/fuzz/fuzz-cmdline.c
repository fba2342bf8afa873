/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for gpv_cmdline_parse() and gpv_option_has(): the input is /proc/cmdline. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strv(const gpv_strv *s)
{
	assert(s->n == 0 || s->v);
	assert(s->n <= s->cap);
	if (s->v)
		assert(!s->v[s->n]);
	for (size_t i = 0; i < s->n; i++)
		assert(s->v[i]);
}

static void check_option(const char *value)
{
	static const char *const words[] = { "on", "off", "pt", "sm_on", "force", "" };

	assert(!gpv_option_has(NULL, "on"));
	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		bool has = gpv_option_has(value, words[i]);

		/* A word found is a substring of the value. */
		if (has && *words[i])
			assert(strstr(value, words[i]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);
	struct gpv_cmdline c;
	int r;

	if (!text)
		return 0;
	r = gpv_cmdline_parse(text, &c);
	assert(r == 0 || r == -ENOMEM);
	if (r < 0)
		return 0;
	check_strv(&c.vfio_pci_ids);
	check_strv(&c.bad_vfio_ids);
	/* Good ids are exactly "vvvv:dddd" in lower-case hex. */
	for (size_t i = 0; i < c.vfio_pci_ids.n; i++) {
		const char *id = c.vfio_pci_ids.v[i];

		assert(strlen(id) == 9 && id[4] == ':');
		for (size_t j = 0; j < 9; j++)
			assert(j == 4 || (isxdigit((unsigned char)id[j]) &&
					  !isupper((unsigned char)id[j])));
	}
	/* Bad ids are non-empty, truncated to 31 bytes, and never hold the separator. */
	for (size_t i = 0; i < c.bad_vfio_ids.n; i++) {
		size_t n = strlen(c.bad_vfio_ids.v[i]);

		assert(n > 0 && n <= 31);
		assert(!strchr(c.bad_vfio_ids.v[i], ','));
	}
	if (c.intel_iommu)
		check_option(c.intel_iommu);
	if (c.amd_iommu)
		check_option(c.amd_iommu);
	if (c.iommu)
		check_option(c.iommu);
	if (c.acs_override)
		check_option(c.acs_override);
	gpv_cmdline_clear(&c);
	assert(!c.intel_iommu && !c.vfio_pci_ids.n && !c.bad_vfio_ids.v);
	return 0;
}
