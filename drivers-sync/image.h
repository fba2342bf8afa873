/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "drivers-sync/sync.h"

/*
 * A guest's disk image (qcow2, raw...) as a target, through libguestfs (lib/guestfs.h): the
 * image is inspected, its operating system's file systems mounted in libguestfs's appliance,
 * and the sync's changes are made there: the new files in one tar stream, renames, removals.
 *
 * Nothing is ever written outside the guest's root. The appliance resolves paths inside the
 * guest, and on top of that every folder of a path is resolved here, link by link, with the
 * semantics of the folder target's openat2(RESOLVE_BENEATH): a link that is absolute or climbs
 * above the guest's root fails the operation with -EXDEV instead of being followed; relative
 * links that stay inside (lib -> usr/lib) are followed. Every operation then works on the
 * resolved path, which holds no link.
 */
struct gpv_ds_image;

extern const struct gpv_ds_target_ops gpv_ds_image_ops;

/*
 * Opens the image at path in libguestfs's appliance (one launch: some seconds), inspects it
 * and mounts the guest's file systems; read-only with readonly (--check, --dry-run: the file
 * is never written). format: "qcow2", "raw"... or NULL: told from the file's first bytes.
 * A Windows guest (its C: drive mounted as /) has its names found whatever their case, and no
 * POSIX modes (every file is seen as 0644); its manifest is GPV_DS_MANIFEST_PATH_WINDOWS.
 * Errors: -EOPNOTSUPP libguestfs cannot be loaded, or the guest is neither Linux nor Windows;
 * -EBUSY another process (a running VM) holds the image;
 * -ENOENT no such file, or no operating system and not one file system in it; -ENOTUNIQ
 * several operating systems. *ret_err (caller frees) says what, for the user, on failure.
 * Caller frees *ret with gpv_ds_image_close() or gpv_ds_image_free().
 */
int gpv_ds_image_open(const char *path, const char *format, bool readonly,
	struct gpv_ds_image **ret, char **ret_err);
/* The same for the n disks of one guest (a VM's, in its order), all given to the appliance:
 * inspection finds the operating system on whichever holds it, as virt-inspector does with a
 * domain. formats[i] NULL or "": from disk i's first bytes. Messages name paths[0]. */
int gpv_ds_image_open_disks(const char *const *paths, const char *const *formats, size_t n,
	bool readonly, struct gpv_ds_image **ret, char **ret_err);
/* The guest's operating system as libguestfs's inspection names it: "linux", or NULL for an
 * image of a single file system with no operating system. */
const char *gpv_ds_image_os_type(const struct gpv_ds_image *img);
/* Its product name ("Debian GNU/Linux 12 (bookworm)"), or NULL when unknown. */
const char *gpv_ds_image_os_name(const struct gpv_ds_image *img);
/* Where the guest's manifest is: GPV_DS_MANIFEST_PATH, or GPV_DS_MANIFEST_PATH_WINDOWS. */
const char *gpv_ds_image_manifest_path(const struct gpv_ds_image *img);
/*
 * A Windows guest: sets the value name of HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce
 * (a REG_SZ, ASCII command) in its SOFTWARE hive, adding the keys missing on the way; Windows
 * runs it once at the next logon of an administrator, then deletes it. The hive file is
 * rewritten whole or not at all. -EOPNOTSUPP not Windows; -EROFS opened read-only.
 */
int gpv_ds_image_run_once(struct gpv_ds_image *img, const char *name, const char *command);
/*
 * Unmounts, writes everything back to the image file and stops the appliance, then frees;
 * the image's write-back errors are returned (*ret_err, caller frees, says what). NULL-safe.
 */
int gpv_ds_image_close(struct gpv_ds_image *img, char **ret_err);
/* The same without reporting. Returns NULL. */
struct gpv_ds_image *gpv_ds_image_free(struct gpv_ds_image *img);
