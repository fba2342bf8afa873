/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * What a guest disk's volumes and its root's files say about where the guest's files are, so
 * that a plain Linux image is mounted without libguestfs's inspection (lib/guestfs.c). Pure
 * parsing of bytes the caller read: no I/O, nothing printed.
 */

/* What a volume's first bytes say, by the magic numbers blkid knows them by. */
enum gpv_volume {
	GPV_VOLUME_NONE,  /* nothing known: a BIOS boot partition, swap, FAT, zeroes... */
	GPV_VOLUME_PLAIN, /* ext2/3/4 or XFS: a file system a Linux root takes whole */
	GPV_VOLUME_OTHER, /* LVM, LUKS, MD RAID or NTFS: what only inspection sorts out */
};
/* How many of a volume's first bytes gpv_volume_classify() looks at. */
#define GPV_VOLUME_PROBE_BYTES 8192
enum gpv_volume gpv_volume_classify(const void *buf, size_t n);

/*
 * Whether fstab(5) text mounts a file system other than the root at or under a folder
 * drivers-sync writes to (/usr, /var, /etc, /lib, /lib32, /lib64, /libx32, /opt, /bin,
 * /sbin); swap and virtual file systems (tmpfs, proc...) do not count. When it does,
 * *ret_at and *ret_len (both may be NULL) are that mount point, a span of text.
 */
bool gpv_fstab_splits_root(const char *text, size_t len, const char **ret_at, size_t *ret_len);

/* KEY's value in os-release(5) text, its quotes removed, or NULL. Caller frees. */
char *gpv_os_release_value(const char *text, size_t len, const char *key);
