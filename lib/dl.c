/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>

#include "lib/dl.h"
#include "lib/log.h"

int gpv_dl_open(const char *soname, const struct gpv_dl_sym *syms, size_t n, int *state)
{
	void *dl;

	if (*state)
		return *state > 0 ? 0 : *state;
	*state = -EOPNOTSUPP;
	dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		gpv_debug("cannot load %s: %s", soname, dlerror());
		return *state;
	}
	for (size_t i = 0; i < n; i++) {
		*syms[i].fn = dlsym(dl, syms[i].name);
		if (!*syms[i].fn) {
			gpv_debug("%s has no %s: %s", soname, syms[i].name, dlerror());
			for (size_t j = 0; j <= i; j++)
				*syms[j].fn = NULL;
			dlclose(dl);
			return *state;
		}
	}
	/* Left open for the life of the process, as a linked library would be. */
	*state = 1;
	return 0;
}
