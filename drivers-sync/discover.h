/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "drivers-sync/profile.h"
#include "drivers-sync/set.h"
#include "lib/root.h"

/*
 * The host's files of a driver, as a profile describes them, read through the root (so a
 * recorded or generated host works as the live one). Every choice is logged at debug level:
 * selected, skipped and why, missing.
 *
 * Returns -ENOENT when the host does not have the driver (the profile's version module is not
 * in the running kernel's module index), -ENOENT too when the root has no module index and
 * the profile needs one. Files are not hashed: see gpv_ds_hash_host(). Caller frees *ret.
 */
int gpv_ds_discover(struct gpv_root *root, const struct gpv_ds_profile *p, struct gpv_ds_set **ret);
/* The same for the kernel release given (installed, not yet running; its module index and
 * firmware folders); NULL: the running kernel. */
int gpv_ds_discover_for(struct gpv_root *root, const struct gpv_ds_profile *p, const char *kernel,
	struct gpv_ds_set **ret);

/*
 * Hashes the set's regular files, taking the hash of a file whose size and mtime are those of
 * the host's own cache (cache_path inside the root, JSON; NULL: no cache), and writes the
 * cache back when something was hashed. *ret_hashed (may be NULL) is how many files were
 * read. A cache that cannot be read or written only costs time (debug log).
 */
int gpv_ds_hash_host(struct gpv_root *root, struct gpv_ds_set *s, const char *cache_path,
	size_t *ret_hashed);
