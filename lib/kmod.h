/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/root.h"
#include "lib/util.h"

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

/* What a module file says of itself (its .modinfo), for drivers-sync. */
struct gpv_kmod_modinfo {
	char *name;	  /* as the index knows it ("nvidia_drm") */
	char *path;	  /* the module file, absolute inside the root; NULL when built in */
	char *version;	  /* version=; NULL for in-tree modules, which have none */
	gpv_strv depends; /* depends=, split */
	gpv_strv firmware; /* every firmware= */
	char *kernel;	  /* the release whose index was read */
};

/*
 * The module name ("nvidia-drm" or "nvidia_drm") in the module index of the root's running
 * kernel: its file and .modinfo. -ENOENT when the root has no module index or the index no
 * such module. Caller clears *ret.
 */
int gpv_kmod_modinfo(struct gpv_root *root, const char *name, struct gpv_kmod_modinfo *ret);
/* The same for the kernel release given (a kernel installed, not yet running); NULL: the
 * running one. */
int gpv_kmod_modinfo_for(struct gpv_root *root, const char *release, const char *name,
	struct gpv_kmod_modinfo *ret);
void gpv_kmod_modinfo_clear(struct gpv_kmod_modinfo *m);
