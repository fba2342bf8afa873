/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "drivers-sync/set.h"
#include "drivers-sync/sync.h"
#include "lib/root.h"

/*
 * A Windows guest's drivers: the driver store's package for the host's driver
 * (gpv_ds_store_match()) goes to C:\ProgramData\gpupv\drivers\VERSION\, with a script,
 * C:\ProgramData\gpupv\install-VENDOR-VERSION.cmd, that a RunOnce value runs at the next
 * administrator logon: `pnputil /add-driver ...\*.inf /subdirs /install`. The script counts
 * its attempts (install-VENDOR-VERSION.tries) and registers itself again after a failure only
 * while fewer than GPV_DS_WINDOWS_TRIES were made, so that a failing package can never loop
 * the guest; once the package is installed it removes the previous version's folder (its
 * argument) and its count. The package's files and the script are a file set like a Linux
 * driver's, synced by the same engine (drivers-sync/sync.h) and recorded in the guest's
 * manifest C:\ProgramData\gpupv\drivers.json; the previous version's folder is the script's to
 * remove, not the sync's (gpv_ds_windows_plan_fix()).
 */
#define GPV_DS_WINDOWS_DIR "/ProgramData/gpupv"
#define GPV_DS_WINDOWS_TRIES 3

struct gpv_ds_windows {
	/* vendor, version: the package's; files: the package's under
	 * /ProgramData/gpupv/drivers/VERSION (src: the store's copy, inside the root), and the
	 * script; hashed */
	struct gpv_ds_set *set;
	char *script_path; /* "/ProgramData/gpupv/install-nvidia-553.24.cmd" */
	char *script;	   /* its text, CRLF lines */
};

/*
 * The guest's files of the store's package vendor/version (it must be in the store under
 * root). -ENOENT no such package; -ELOOP a link in it. Caller frees *ret.
 */
int gpv_ds_windows_new(struct gpv_root *root, const char *vendor, const char *version,
	struct gpv_ds_windows **ret);
struct gpv_ds_windows *gpv_ds_windows_free(struct gpv_ds_windows *w);
/* The content of f when it is w's script: a memfd, read from its start (caller closes);
 * -ENOENT for any other file. */
int gpv_ds_windows_open_script(const struct gpv_ds_windows *w, const struct gpv_ds_file *f);
/*
 * The RunOnce value (name "gpupv-drivers-VENDOR" and command, caller frees both) that installs
 * w's package, and then removes the folder of the version prev (NULL or w's own: none).
 */
int gpv_ds_windows_run_once(const struct gpv_ds_windows *w, const char *prev, char **ret_name,
	char **ret_command);
/*
 * Takes out of plan the removals of files under /ProgramData/gpupv/drivers/ (the previous
 * version's package: its install script removes it once the new one is installed; until
 * then it is what the guest's driver came from). Returns how many were taken out.
 */
size_t gpv_ds_windows_plan_fix(struct gpv_ds_plan *plan);
