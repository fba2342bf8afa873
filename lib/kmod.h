/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/root.h"

/* The one wrapper around libkmod. */
enum gpv_kmod_state {
	GPV_KMOD_MISSING, /* neither a module file nor built in */
	GPV_KMOD_MODULE,  /* a loadable module exists */
	GPV_KMOD_BUILTIN, /* built into the kernel */
};

struct gpv_kmod_info {
	enum gpv_kmod_state state;
	bool loaded;	      /* listed in /proc/modules */
	bool blacklisted;     /* a "blacklist NAME" line applies */
	char *blacklist_file; /* the modprobe.d file that says so, inside the root; may be NULL */
	char *path;	      /* the module file, relative to the module directory */
	char *kernel;	      /* the release whose index was read */
};

/*
 * Looks name ("vfio-pci" or "vfio_pci") up in the module index of the root's running kernel
 * (ROOT/lib/modules/$(ROOT/proc/sys/kernel/osrelease)), with the root's modprobe.d. -ENOENT
 * when the root has no module index (the check cannot be made). Caller clears *ret.
 */
int gpv_kmod_lookup(struct gpv_root *root, const char *name, struct gpv_kmod_info *ret);
void gpv_kmod_info_clear(struct gpv_kmod_info *info);

/* Loads a module and its dependencies on the live host, as modprobe would (blacklist
 * respected: -EPERM). -EOPNOTSUPP for a recorded machine, where nothing can be loaded. */
int gpv_kmod_load(struct gpv_root *root, const char *name);
