/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "drivers-sync/manifest.h"
#include "drivers-sync/set.h"

/*
 * Bringing a guest in step with the host's file set of a driver.
 *
 * A target is where a guest's files are: a folder (a mounted guest root, drivers-sync/dir.c)
 * or a disk image through libguestfs. The engine plans from the host's set, the guest's
 * manifest and what is really in the guest (a file the guest changed is found by its size and
 * mtime, then its hash), then changes the guest in an order that any interruption leaves
 * recoverable:
 *   1. the manifest marks the driver in progress, listing what may be in the guest;
 *   2. every new and changed file is written under a temporary name beside its place (a
 *      failure here, ENOSPC included, removes them all and leaves the guest as it was);
 *   3. each is renamed onto its place; 4. files of the old version the new one lacks are
 *   removed; 5. the data reaches the disk; 6. the manifest says complete.
 * A run that finds the driver in progress finishes the job. Nothing is ever written outside
 * the guest's root: paths come checked (gpv_ds_path_valid()) and targets refuse links that
 * lead out.
 */

struct gpv_ds_target_ops {
	/* The manifest's text; -ENOENT when the guest has none. Caller frees. */
	int (*read_manifest)(void *t, char **ret, size_t *ret_len);
	/* Replaces the manifest, durably (the data written before it reaches the disk first). */
	int (*write_manifest)(void *t, const char *text);
	/* What is at path: type, mode, size, mtime, link target (owned by *ret; the caller
	 * clears it). -ENOENT when nothing; -EISDIR for a folder or anything else that is not
	 * a file or a link; -EXDEV when the path leads out of the guest through a link. */
	int (*lstat)(void *t, const char *path, struct gpv_ds_file *ret);
	/* Optional: every path the plan will lstat, at once, before it does (a target whose
	 * round trips are slow reads each folder once). What it read serves lstat until the
	 * first change to the guest; a failure only loses the speed-up. */
	void (*prefetch)(void *t, const char *const *paths, size_t n);
	/* XXH3-128 of the regular file at path. */
	int (*hash)(void *t, const char *path, uint8_t out[GPV_DS_HASH_LEN]);
	/* Writes every file of files (regular ones from the host, read with open_src; links)
	 * under its temporary name, with the host's mode and mtime. On failure, what it wrote
	 * may remain: the engine calls unstage for all of them. */
	int (*stage)(void *t, const struct gpv_ds_file *const *files, size_t n,
		int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud);
	/* Removes path's temporary file if there is one (0 when none). */
	int (*unstage)(void *t, const char *path);
	/* Renames path's temporary file onto path. */
	int (*commit)(void *t, const char *path);
	/* Removes the file or link at path (0 when none; a folder is left, -EISDIR). */
	int (*remove)(void *t, const char *path);
	/* Everything written so far reaches the disk. */
	int (*flush)(void *t);
	/* Free bytes for new files at path's folder; NULL or -EOPNOTSUPP: unknown. */
	int (*free_bytes)(void *t, const char *path, uint64_t *ret);
	/* Removes the folder at path if it is empty (0 when it was removed or is not there;
	 * -ENOTEMPTY when it holds something). NULL: folders are left. */
	int (*remove_dir)(void *t, const char *path);
	/* Where the manifest is in this guest (for messages); NULL: GPV_DS_MANIFEST_PATH. */
	const char *(*manifest_path)(void *t);
};

enum gpv_ds_op_kind { GPV_DS_KEEP, GPV_DS_ADD, GPV_DS_CHANGE, GPV_DS_REMOVE };
const char *gpv_ds_op_kind_str(enum gpv_ds_op_kind k);

struct gpv_ds_op {
	enum gpv_ds_op_kind kind;
	const struct gpv_ds_file *file; /* the host's (keep, add, change); owned by the host set */
	char *path;			/* remove: the guest's path */
	char *why;			/* change: what differs ("content", "mode", "link target") */
};

struct gpv_ds_plan {
	char *vendor;
	char *from_version; /* the guest's, NULL when it has none */
	char *to_version;
	bool resume;	    /* the guest's last sync of it was interrupted */
	bool manifest_only; /* nothing to write, but the manifest is not up to date */
	struct gpv_ds_op *ops;
	size_t n_ops;
	size_t n_add, n_change, n_remove, n_keep;
	uint64_t bytes; /* to write */
	uint64_t hashed_guest; /* guest files read to compare (their size matched, mtime not) */
};

struct gpv_ds_plan *gpv_ds_plan_free(struct gpv_ds_plan *p);
/* True when the guest is in step: nothing to add, change or remove, manifest current. */
bool gpv_ds_plan_empty(const struct gpv_ds_plan *p);

/*
 * Plans the sync of host (hashed: gpv_ds_hash_host()) into the guest behind ops/t, whose
 * manifest is m (NULL: none). -EXDEV when a path the sync would write leads out of the guest
 * through a link (*ret_err says which). Caller frees *ret.
 */
int gpv_ds_plan_make(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_set *host,
	const struct gpv_ds_manifest *m, struct gpv_ds_plan **ret, char **ret_err);

struct gpv_ds_apply_opts {
	/* Opens the host's content of a regular file (its src or path, inside the root). */
	int (*open_src)(void *ud, const struct gpv_ds_file *f);
	void *ud;
	/* Called before each change to the guest (a test hook to kill the sync at any step);
	 * what is "manifest", "stage", "commit", "remove" or "flush". NULL: none. */
	void (*before)(void *ud, const char *what, const char *path);
	/* Progress, after each file written: bytes and files so far of the plan's. NULL: none. */
	void (*progress)(void *ud, uint64_t bytes, size_t files);
};

/*
 * Applies a plan: the order above. m is the guest's manifest (updated in place: on success it
 * is what was written). On failure the guest holds either what it had or the interrupted
 * state a later run finishes; *ret_err (caller frees) says what failed, naming the file.
 */
int gpv_ds_apply(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_set *host,
	struct gpv_ds_manifest *m, const struct gpv_ds_plan *plan,
	const struct gpv_ds_apply_opts *o, char **ret_err);
