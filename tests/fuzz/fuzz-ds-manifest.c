/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for what drivers-sync reads from a guest and from the host's data: the
 * guest's manifest (drivers-sync/manifest.c; the guest is not trusted) and a vendor profile
 * (drivers-sync/profile.c). The first byte picks which. A manifest that parses holds only
 * paths a guest may hold, must format and parse back to the same text; a profile that parses
 * has a vendor.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers-sync/manifest.h"
#include "drivers-sync/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void manifest(const char *text, size_t len)
{
	struct gpv_ds_manifest *m = NULL, *again = NULL;
	char *err = NULL, *out = NULL, *out2 = NULL;
	int r = gpv_ds_manifest_parse(text, len, &m, &err);

	if (r < 0) {
		assert(r == -EBADMSG || r == -ENOMEM);
		assert(r == -ENOMEM || err);
		free(err);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct gpv_ds_entry *e = &m->entries[i];

		for (size_t k = 0; k < e->set->n; k++)
			assert(gpv_ds_path_valid(e->set->files[k].path));
		for (size_t k = 0; e->pending && k < e->pending->n; k++)
			assert(gpv_ds_path_valid(e->pending->files[k].path));
	}
	if (gpv_ds_manifest_format(m, &out) == 0) {
		r = gpv_ds_manifest_parse(out, strlen(out), &again, &err);
		assert(r == 0);
		assert(gpv_ds_manifest_format(again, &out2) == 0);
		assert(strcmp(out, out2) == 0);
	}
	free(out);
	free(out2);
	gpv_ds_manifest_free(again);
	gpv_ds_manifest_free(m);
}

static void profile(const char *text)
{
	struct gpv_ds_profile *p = NULL;
	char *err = NULL;
	int r = gpv_ds_profile_parse("fuzz.profile", text, &p, &err);

	if (r < 0) {
		assert(r == -EINVAL || r == -ENOMEM);
		free(err);
		return;
	}
	assert(p->vendor && gpv_ds_vendor_valid(p->vendor));
	for (size_t i = 0; i < p->n_rules; i++)
		assert(p->rules[i].arg && !strstr(p->rules[i].arg, "/../"));
	gpv_ds_profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || size > 1 << 20)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		profile(text);
	else
		manifest(text, size - 1);
	free(text);
	return 0;
}
