/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Foreign libraries that only some commands need are opened on first use instead of linked:
 * each linked library costs every run of gpupv its loading, and libkmod's alone (libcrypto,
 * liblzma, libzstd) costs more than a bind's sysfs writes. systemd does the same.
 *
 * A wrapper declares a pointer per function, with the library's own prototype, so that the
 * compiler still checks every call:
 *
 *	static GPV_DL_SYM(udev_new);
 *	...
 *	static const struct gpv_dl_sym syms[] = { GPV_DL_ENTRY(udev_new), ... };
 *	r = gpv_dl_open("libudev.so.1", syms, ELEMENTSOF(syms), &state);
 *	... sym_udev_new() ...
 */
#define GPV_DL_SYM(name) __typeof__(&name) sym_##name
#define GPV_DL_ENTRY(name) { #name, (void **)&sym_##name }

struct gpv_dl_sym {
	const char *name;
	void **fn;
};

/*
 * Opens soname once and fills every pointer of syms; *state (0 at first) remembers the
 * outcome, so later calls cost nothing. Returns 0, or -EOPNOTSUPP when the library or one of
 * the functions is missing (logged at debug level), with no pointer left set.
 */
int gpv_dl_open(const char *soname, const struct gpv_dl_sym *syms, size_t n, int *state);
