/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "drivers-sync/sync.h"

/*
 * A guest's root as a folder (a mounted image, a container's rootfs, a test tree). Every path
 * is resolved beneath the folder by the kernel (openat2() with RESOLVE_BENEATH): a link in the
 * guest that is absolute or climbs out of it fails the operation with -EXDEV instead of being
 * followed, so nothing is ever read or written outside the folder.
 */
struct gpv_ds_dir;

extern const struct gpv_ds_target_ops gpv_ds_dir_ops;

/* -ENOTDIR when dir is not a folder. Caller frees *ret. */
int gpv_ds_dir_open(const char *dir, struct gpv_ds_dir **ret);
struct gpv_ds_dir *gpv_ds_dir_free(struct gpv_ds_dir *d);
