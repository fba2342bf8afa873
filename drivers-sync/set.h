/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/util.h"

/*
 * A driver's file set: what the host has (drivers-sync/discover.h) or what a guest's manifest
 * says it was given (drivers-sync/manifest.h). Paths are absolute as the guest sees them
 * ("/usr/lib/x86_64-linux-gnu/libcuda.so.550.127.05"), and the same on the host.
 */

#define GPV_DS_HASH_LEN 16

enum gpv_ds_type {
	GPV_DS_REG,  /* a regular file */
	GPV_DS_LINK, /* a symbolic link, kept as one */
};

struct gpv_ds_file {
	char *path;
	enum gpv_ds_type type;
	uint32_t mode;	  /* permission bits (07777) */
	uint64_t size;	  /* regular files */
	int64_t mtime_ns; /* the host's, kept on the copy */
	char *target;	  /* a link's */
	char *src;	  /* host only: the file whose content this is, when not path (a file
			   * rule's link to a regular file is copied as the file); NULL: path */
	uint8_t hash[GPV_DS_HASH_LEN]; /* XXH3-128 of a regular file's content */
	bool hashed;
	const char *why; /* the profile rule that chose it ("library libcuda.so.{version}");
			  * static or owned by the profile; NULL for a manifest's */
};

struct gpv_ds_set {
	char *vendor;
	char *version; /* the driver's version */
	char *kernel;  /* the host kernel release it was taken from */
	struct gpv_ds_file *files; /* sorted by path, each path once */
	size_t n, cap;
	gpv_strv missing; /* "library libcuda.so.{version}": rules that found nothing */
	/* gpv_ds_set_add's index of paths: slots hold a file's index + 1 (0 is empty). It covers
	 * files[0..indexed) and is rebuilt when that is not n, or after a sort. */
	size_t *index, index_cap, indexed;
};

struct gpv_ds_set *gpv_ds_set_new(void);
struct gpv_ds_set *gpv_ds_set_free(struct gpv_ds_set *s);
void gpv_ds_file_clear(struct gpv_ds_file *f);
/* Adds a copy of f (path, target copied) unless its path is there already (0, nothing added:
 * the first rule that chose a file keeps it). */
int gpv_ds_set_add(struct gpv_ds_set *s, const struct gpv_ds_file *f);
/* Sorts by path (after adds); returns the file of path, or NULL, once sorted. */
void gpv_ds_set_sort(struct gpv_ds_set *s);
const struct gpv_ds_file *gpv_ds_set_find(const struct gpv_ds_set *s, const char *path);
/* The bytes of its regular files. */
uint64_t gpv_ds_set_bytes(const struct gpv_ds_set *s);

/*
 * A path a guest may hold: absolute, at most 4095 bytes, no empty, "." or ".." components,
 * no trailing '/', no control characters. Anything read from a guest (its manifest) passes
 * this before it is used.
 */
bool gpv_ds_path_valid(const char *path);
/* A link target a guest may hold: relative or absolute, no control characters, not empty. */
bool gpv_ds_target_valid(const char *target);
