/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "drivers-sync/profile.h"
#include "lib/root.h"
#include "lib/util.h"

/*
 * The driver store: Windows guest driver packages (an extracted folder with its INF files)
 * kept on the host under /var/lib/gpupv/drivers-store/VENDOR/VERSION, and matched to the host's
 * driver by the profile's windows-driver rules. A Windows guest gets the package matching the
 * host's driver (drivers-sync).
 */
#define GPV_DS_STORE_DIR "/var/lib/gpupv/drivers-store"

struct gpv_ds_package {
	char *vendor;
	char *version;
	uint64_t bytes;
	size_t files;
	gpv_strv infs; /* the INF files, relative to the package ("Display.Driver/nv_dispi.inf") */
};

void gpv_ds_package_clear(struct gpv_ds_package *p);

/* A package version: digits separated by dots ("553.24", "31.0.101.5186"). */
bool gpv_ds_package_version_valid(const char *v);

/*
 * Copies the folder src (a driver package: it must hold at least one .inf) into the store as
 * vendor's version; the copy appears whole or not at all (a temporary folder renamed).
 * -EEXIST when the store has that version; -ENOENT when src holds no .inf (*ret_err says so);
 * -ELOOP for a link inside src (packages have none, and none is followed). On success *ret
 * (may be NULL) describes the package.
 */
int gpv_ds_store_add(struct gpv_root *root, const char *src, const char *vendor,
	const char *version, struct gpv_ds_package *ret, char **ret_err);
/* Every package, sorted by vendor then version. Caller clears each and frees *ret. */
int gpv_ds_store_list(struct gpv_root *root, struct gpv_ds_package **ret, size_t *ret_n);
/* Removes a package; -ENOENT when the store has none such. */
int gpv_ds_store_remove(struct gpv_root *root, const char *vendor, const char *version);

/*
 * The store's package for the host's driver host_version of profile p: the highest version
 * matching the guest pattern of the first windows-driver rule whose host pattern matches.
 * -ENOENT with *ret_why (caller frees) saying why none: no rule for that host version, or no
 * such package in the store. *ret is the version (caller frees).
 */
int gpv_ds_store_match(struct gpv_root *root, const struct gpv_ds_profile *p,
	const char *host_version, char **ret, char **ret_why);

/* Compares two dotted versions numerically, component by component (strcmp-like). */
int gpv_ds_version_cmp(const char *a, const char *b);
