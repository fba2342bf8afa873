/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the ld.so.cache reader (lib/ldcache.c): the input is a cache file, in
 * any of glibc's formats or none. The reader returns 0 with entries whose strings all end
 * inside the cache, or -EBADMSG, and frees everything.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/ldcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpv_ldcache *c = NULL;
	int r = gpv_ldcache_parse(data, size, &c);

	assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0) {
		assert(!c);
		return 0;
	}
	for (size_t i = 0; i < gpv_ldcache_count(c); i++) {
		const struct gpv_ldcache_entry *e = gpv_ldcache_get(c, i);
		const char *any = gpv_ldcache_lookup(c, e->key, false);
		const char *x86_64 = gpv_ldcache_lookup(c, e->key, true);

		/* Reading every byte of both strings is what ASan checks. Strings may share
		 * bytes (a key is often the tail of its path), so each alone fits. */
		assert(strlen(e->key) < size && strlen(e->path) < size);
		if (e->hwcap == 0)
			assert(any);
		if (e->hwcap == 0 && gpv_ldcache_entry_is_x86_64(e))
			assert(x86_64);
		if (x86_64)
			assert(any);
	}
	assert(gpv_ldcache_get(c, gpv_ldcache_count(c)) == NULL);
	gpv_ldcache_free(c);
	return 0;
}
