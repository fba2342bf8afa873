/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/*
 * The one libguestfs wrapper: a disk image opened in libguestfs's appliance (a small VM that
 * mounts the guest's file systems), and the file operations drivers-sync needs on it. Paths
 * are the guest's, absolute; the appliance resolves them inside the guest's root (/sysroot),
 * so an absolute link in the guest leads back into the guest, never to the host. Callers
 * still check links themselves where a link must not be followed at all.
 *
 * libguestfs is opened on first use (lib/dl.h). Nothing is printed: libguestfs's errors,
 * warnings and the appliance's console go to gpupv's log at debug level, and the last error
 * message is kept for the caller to quote (gpv_guestfs_last_error()). Every function returns
 * 0 (or a count) or -errno: the guest's errno where the appliance reports one, -EIO when it
 * reports none.
 */
struct gpv_guestfs;

/* A handle, not launched yet, set up as the LIBGUESTFS_* variables say. -EOPNOTSUPP when
 * libguestfs cannot be loaded. Caller frees *ret; on failure, *ret_err (NULL or libguestfs's
 * message, caller frees) says why. */
int gpv_guestfs_new(struct gpv_guestfs **ret, char **ret_err);
/* Unmounts, shuts the appliance down and closes; NULL-safe. Returns NULL. Use
 * gpv_guestfs_shutdown() first where a failure to write back must be seen. */
struct gpv_guestfs *gpv_guestfs_free(struct gpv_guestfs *g);
/* The last error libguestfs reported on g (qemu's own line when the appliance did not start),
 * or NULL. Owned by g, valid until its next call. */
const char *gpv_guestfs_last_error(const struct gpv_guestfs *g);

/*
 * Adds a disk image. format "qcow2", "raw"... or NULL: gpupv tells qcow2 from raw by the
 * file's first bytes, and never lets qemu guess (a raw disk whose guest wrote a qcow2 header
 * would otherwise be opened as qcow2, backing file and all). readonly: nothing is ever
 * written to the file (changes go to a throw-away overlay). -ENOENT when path is missing.
 */
int gpv_guestfs_add_drive(struct gpv_guestfs *g, const char *path, const char *format,
	bool readonly);
/* Starts the appliance. -EBUSY when qemu cannot lock an image (another process, a running
 * VM, holds it); gpv_guestfs_last_error() then has qemu's message. */
int gpv_guestfs_launch(struct gpv_guestfs *g);

/* What inspection found in the image. */
struct gpv_guestfs_os {
	char *root;    /* the root file system's device ("/dev/sda1") */
	char *type;    /* "linux", "windows", ...; NULL when the image has no operating system but
			* a single file system, mounted as / */
	char *distro;  /* "debian", ...; NULL when unknown */
	char *product; /* "Debian GNU/Linux 12 (bookworm)"; NULL when unknown */
};
void gpv_guestfs_os_clear(struct gpv_guestfs_os *os);
/*
 * Inspects the launched image and mounts the operating system's file systems (read-only with
 * readonly), shortest mount point first, as virt-inspector does. An image with one ext2/3/4 or
 * XFS file system that has /etc/os-release is taken as a Linux root without the inspection
 * (which reads every file system: seconds under emulation). A file system that will not
 * mount (other than the root) is logged and left out. An image with no operating system but
 * exactly one file system has it mounted as /. -ENOENT: no operating system and not one file
 * system; -ENOTUNIQ: several operating systems. *ret is filled on success (caller clears).
 */
int gpv_guestfs_mount_os(struct gpv_guestfs *g, bool readonly, struct gpv_guestfs_os *ret);

/* The link, not what it leads to: st_mode, st_size, st_mtim, st_ino, st_nlink are set. */
int gpv_guestfs_lstat(struct gpv_guestfs *g, const char *path, struct stat *ret);
/* One entry of a folder, as gpv_guestfs_lstat() and gpv_guestfs_readlink() give it. */
struct gpv_guestfs_entry {
	int err;	/* 0, or -ENOENT: nothing there (or nothing libguestfs could lstat) */
	struct stat st;
	char *target; /* a link's target (NULL for anything else), owned by the entry */
};
/*
 * The entries names[0..n) (single components) of the folder dir, in two round trips to the
 * appliance whatever n is: ret[i] for names[i], never followed. Caller frees each ret[i].target.
 * A failure leaves no target allocated.
 */
int gpv_guestfs_lstat_list(struct gpv_guestfs *g, const char *dir, const char *const *names,
	size_t n, struct gpv_guestfs_entry *ret);
/* A link's target. Caller frees. */
int gpv_guestfs_readlink(struct gpv_guestfs *g, const char *path, char **ret);
/* The file's bytes written to fd (from its current offset). */
int gpv_guestfs_download(struct gpv_guestfs *g, const char *path, int fd);
/* A whole file of at most max bytes, NUL-terminated. Caller frees. -EFBIG when larger. */
int gpv_guestfs_read_file(struct gpv_guestfs *g, const char *path, size_t max, char **ret,
	size_t *ret_len);
/* Creates or replaces path with len bytes of buf, then sets mode. */
int gpv_guestfs_write_file(struct gpv_guestfs *g, const char *path, const void *buf, size_t len,
	mode_t mode);
/* Unpacks the tar stream read from fd (to its end: a pipe will do) into dir, as root,
 * keeping the members' modes and times. */
int gpv_guestfs_tar_in(struct gpv_guestfs *g, int fd, const char *dir);
/* rename(2): a link at to is replaced, never followed. */
int gpv_guestfs_rename(struct gpv_guestfs *g, const char *from, const char *to);
/* unlink(2): -ENOENT when nothing is there, -EISDIR for a folder. */
int gpv_guestfs_rm(struct gpv_guestfs *g, const char *path);
/* rmdir(2) of an empty folder: -ENOTEMPTY when it is not, -ENOENT when nothing is there. */
int gpv_guestfs_rmdir(struct gpv_guestfs *g, const char *path);
/* One folder, mode 0755. -EEXIST when there is something. */
int gpv_guestfs_mkdir(struct gpv_guestfs *g, const char *path);
/* path with each component's case as the guest's file system has it (Windows: /windows/system32
 * is /Windows/System32); components that do not exist are kept as given. Caller frees. */
int gpv_guestfs_case_path(struct gpv_guestfs *g, const char *path, char **ret);
/*
 * Sets the string value (REG_SZ) name of a key in the Windows registry hive file hive (a guest
 * path: "/Windows/System32/config/SOFTWARE"), through libguestfs's hivex calls; keys is the
 * key's path from the hive's root, NULL-terminated, the keys missing on the way are added. The
 * hive file is changed only if every step succeeds (hivex commits it whole). value: ASCII
 * text, else -EINVAL.
 */
int gpv_guestfs_hive_set_string(struct gpv_guestfs *g, const char *hive, const char *const *keys,
	const char *name, const char *value);
/* The file system holding path: f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files,
 * f_ffree, f_favail are set. */
int gpv_guestfs_statvfs(struct gpv_guestfs *g, const char *path, struct statvfs *ret);
/* Everything written so far reaches the image file. */
int gpv_guestfs_sync(struct gpv_guestfs *g);
/* Syncs, unmounts and stops the appliance, reporting what failed (a write-back error). The
 * handle can only be freed after. */
int gpv_guestfs_shutdown(struct gpv_guestfs *g);
