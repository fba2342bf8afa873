/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "drivers-sync/set.h"

/*
 * The guest's manifest (/var/lib/gpupv/drivers.json in a Linux guest): per driver, its vendor,
 * version, the host kernel it came from, and every file gpupv put there with its size, mode,
 * mtime and XXH3-128 hash, or its link target. A sync marks its driver in progress before it
 * changes anything and complete once it is done, so that an interrupted one is finished by
 * the next run.
 *
 * Everything in a manifest comes from the guest and is checked before use: a bad path ("..",
 * not absolute) makes the whole manifest refused (-EBADMSG), never followed.
 */

#define GPV_DS_MANIFEST_PATH "/var/lib/gpupv/drivers.json"
/* A Windows guest's: C:\ProgramData\gpupv\drivers.json. */
#define GPV_DS_MANIFEST_PATH_WINDOWS "/ProgramData/gpupv/drivers.json"

enum gpv_ds_state { GPV_DS_COMPLETE, GPV_DS_IN_PROGRESS };

struct gpv_ds_entry {
	enum gpv_ds_state state;
	struct gpv_ds_set *set;	    /* complete: what the guest has; in progress: what it had, and
				     * what may be there from the interrupted run */
	struct gpv_ds_set *pending; /* in progress: what was being written; NULL otherwise */
	char *synced;		    /* when it was written, RFC 3339 UTC */
};

struct gpv_ds_manifest {
	struct gpv_ds_entry *entries; /* one per vendor */
	size_t n;
};

struct gpv_ds_manifest *gpv_ds_manifest_free(struct gpv_ds_manifest *m);
/* Parses a manifest; -EBADMSG with *ret_err (caller frees) saying what is wrong. */
int gpv_ds_manifest_parse(const char *text, size_t len, struct gpv_ds_manifest **ret,
	char **ret_err);
/* The entry of vendor, or NULL. */
struct gpv_ds_entry *gpv_ds_manifest_find(struct gpv_ds_manifest *m, const char *vendor);
/*
 * Sets vendor's entry (the sets are copied): state complete with set, or in progress with
 * set (what may be in the guest) and pending (what is being written).
 */
int gpv_ds_manifest_put(struct gpv_ds_manifest *m, enum gpv_ds_state state,
	const struct gpv_ds_set *set, const struct gpv_ds_set *pending);
/* The manifest as JSON text. Caller frees. */
int gpv_ds_manifest_format(const struct gpv_ds_manifest *m, char **ret);

/* The host's cache of hashes: files by path with size, mtime and hash. */
int gpv_ds_cache_parse(const char *text, size_t len, struct gpv_ds_set **ret);
int gpv_ds_cache_format(const struct gpv_ds_set *s, char **ret);

/* A copy of a set (files, names, version). */
int gpv_ds_set_copy(const struct gpv_ds_set *s, struct gpv_ds_set **ret);
