/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * A disk's partitions as the kernel numbers them, read from its first bytes, so that the
 * appliance is not asked (its list_partitions waits for udev first): an MBR's primary
 * partitions (slot N is partition N, an empty slot skipped), or a GPT's entries (entry N is
 * partition N, an unused entry skipped) when a protective MBR and a primary GPT header with
 * both CRCs right are in the bytes given. Anything the kernel would read further than these
 * bytes (an extended partition's logical ones, a BSD disklabel, a GPT with a bad CRC or its
 * entries past the bytes) is not told.
 */
enum gpv_partition_table {
	GPV_PARTITIONS_UNKNOWN, /* ask the appliance */
	GPV_PARTITIONS_NONE,	/* no partition table: the whole disk is the volume */
	GPV_PARTITIONS_LISTED,	/* *ret_n partitions in ret[] */
};
struct gpv_partition {
	unsigned number; /* 1-based: the device is the disk's name followed by it */
	uint64_t start;	 /* in bytes from the disk's start */
};
/* How many of a disk's first bytes gpv_partition_table() needs for a GPT of 128 entries. */
#define GPV_PARTITION_PROBE_BYTES (34 * 512)
/* The most partition numbers it returns (a GPT's usual 128 entries). */
#define GPV_PARTITIONS_MAX 128
enum gpv_partition_table gpv_partition_table(const void *buf, size_t n,
	struct gpv_partition ret[GPV_PARTITIONS_MAX], size_t *ret_n);

/* The CRC-32 of UEFI's GPT (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t gpv_crc32(const void *buf, size_t n);

/*
 * Whether fstab(5) text mounts a file system other than the root at or under a folder
 * drivers-sync writes to (/usr, /var, /etc, /lib, /lib32, /lib64, /libx32, /opt, /bin,
 * /sbin); swap and virtual file systems (tmpfs, proc...) do not count. When it does,
 * *ret_at and *ret_len (both may be NULL) are that mount point, a span of text.
 */
bool gpv_fstab_splits_root(const char *text, size_t len, const char **ret_at, size_t *ret_len);

/* KEY's value in os-release(5) text, its quotes removed, or NULL. Caller frees. */
char *gpv_os_release_value(const char *text, size_t len, const char *key);
