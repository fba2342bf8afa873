/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The sysroot: every read of the host's /sys, /proc, /dev, /lib/modules and /etc goes through
 * one of these, so that a recorded machine (gpupv --root DIR) reads exactly like a live one.
 *
 * Paths passed in are absolute paths as seen on the host ("/sys/bus/pci/devices"). Symlinks
 * are resolved inside the root: ".." never climbs above it and an absolute link target starts
 * again at the root. A link that would leave the root fails with -EXDEV. Trees recorded by
 * tools that cannot keep symlinks store a link as a small regular file holding its target
 * ("../../../devices/pci0000:00/0000:01:00.0", no newline); such files are followed as links.
 */
struct gpv_root;

/* Maximum size of a sysfs attribute gpupv reads; larger files fail with -EFBIG. */
#define GPV_ATTR_MAX (64 * 1024)

/* dir NULL means the live host ("/"). On success *ret is owned by the caller. */
int gpv_root_new(const char *dir, struct gpv_root **ret);
struct gpv_root *gpv_root_free(struct gpv_root *root);

/* The root directory as given, absolute; "/" for the live host. Owned by root. */
const char *gpv_root_dir(const struct gpv_root *root);
bool gpv_root_is_host(const struct gpv_root *root);

/* The path a foreign library must be given to see path inside the root. Caller frees. */
int gpv_root_host_path(const struct gpv_root *root, const char *path, char **ret);

/* Canonical absolute path (inside the root) that path resolves to. Caller frees *ret. */
int gpv_root_resolve(struct gpv_root *root, const char *path, char **ret);

/* Opens path after resolving it inside the root; O_CLOEXEC is always added. */
int gpv_root_open(struct gpv_root *root, const char *path, int flags);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer the caller frees. */
int gpv_root_read(struct gpv_root *root, const char *path, size_t max, char **ret, size_t *ret_len);
/* The same for a sysfs attribute (or a file on disk), relative to an open directory; name is
 * never followed. A short read ends it, as sysfs hands an attribute over in one piece. */
int gpv_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);
/* The rest of an open file (a regular one: read to its end), as gpv_read_at() does. */
int gpv_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* A small attribute: whole file, trailing whitespace stripped. */
int gpv_read_attr_at(int dirfd, const char *name, char **ret);

/* The target text of a link (or of a recorded link). Caller frees *ret. */
int gpv_readlink_at(int dirfd, const char *name, char **ret);
/* Last component of a link's target ("vfio-pci" for a driver link). Caller frees *ret. */
int gpv_readlink_base_at(int dirfd, const char *name, char **ret);

/* 0 when path exists inside the root, -ENOENT when not, other -errno on error. */
int gpv_root_exists(struct gpv_root *root, const char *path);
bool gpv_exists_at(int dirfd, const char *name);

/* Sorted entry names of a directory (without "." and ".."), NULL-terminated; caller frees
 * with gpv_names_free(). */
int gpv_root_list(struct gpv_root *root, const char *path, char ***ret, size_t *ret_n);
int gpv_list_at(int dirfd, const char *name, char ***ret, size_t *ret_n);
void gpv_names_free(char **names);

/*
 * Writing: only the commands that change the host use these, always inside the root. The
 * path is resolved like a read; the last component is never followed.
 */

/* Writes value to an existing file (a sysfs attribute) in one write(2), as the kernel wants. */
int gpv_root_write(struct gpv_root *root, const char *path, const char *value);
/* Creates path and its missing parents as directories. */
int gpv_root_mkdir_p(struct gpv_root *root, const char *path, mode_t mode);
/* Replaces a file's content atomically (a temporary file renamed over it): a process killed at
 * any point leaves the old content or the new. GPV_ROOT_DURABLE also fsyncs the file and its
 * folder, for files that must survive a power cut; files under /run need not (tmpfs). */
enum { GPV_ROOT_DURABLE = 1 << 0 };
int gpv_root_replace(struct gpv_root *root, const char *path, const char *content, unsigned flags);
/* Removes a file; a missing one is not an error. */
int gpv_root_unlink(struct gpv_root *root, const char *path);
/* Opens (creating it if needed) a regular file inside the root; its parent must exist. */
int gpv_root_open_create(struct gpv_root *root, const char *path, int flags, mode_t mode);
