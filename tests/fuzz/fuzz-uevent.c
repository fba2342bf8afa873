/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_uevent_get(): the input is a uevent file. It is searched for the
 * keys precheck asks for, and for the key of its own first line, so that hits are common.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value found for key must be the rest of a line that starts with "key=". */
static void check_get(const char *text, const char *key)
{
	_cleanup_free_ char *val = NULL;
	size_t kl = strlen(key);
	int r;

	r = gpv_uevent_get(text, key, &val);
	assert(r == 0 || r == -ENOENT || r == -ENOMEM);
	if (r < 0)
		return;
	assert(val);
	assert(!strchr(val, '\n'));
	for (const char *p = text; (p = strstr(p, val)); p++) {
		size_t off = (size_t)(p - text);

		if (off >= kl + 1 && text[off - 1] == '=' &&
		    strncmp(text + off - kl - 1, key, kl) == 0 &&
		    (off == kl + 1 || text[off - kl - 2] == '\n'))
			return;
		/* An empty value matches at the terminating NUL: stop there. */
		if (!*p)
			break;
	}
	assert(!"value not found after its key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "DRIVER", "PCI_ID", "PCI_SLOT_NAME", "PCI_CLASS",
					    "MDEV_TYPE", "MODALIAS", "" };
	_cleanup_free_ char *text = strndup((const char *)data, size);
	_cleanup_free_ char *own = NULL;

	if (!text)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		check_get(text, keys[i]);
	own = strndup(text, strcspn(text, "=\n"));
	if (own)
		check_get(text, own);
	return 0;
}
