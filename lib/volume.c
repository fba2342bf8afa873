/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/volume.h"

/*
 * The magic numbers, as util-linux's libblkid reads them (libblkid/src/superblocks/ext.c,
 * xfs.c, lvm.c, luks.c, linux_raid.c, ntfs.c):
 *   ext2/3/4: the superblock at 1024, its s_magic 0xEF53 (little-endian) at 56 in it;
 *   XFS: "XFSB" at 0;
 *   LVM2 physical volume: the label "LABELONE" in one of the first four sectors (the second
 *   by default);
 *   LUKS: "LUKS\xba\xbe" at 0; MD RAID: 0xa92b4efc (little-endian) at 0 (superblock 1.1) or at
 *   4096 (1.2); NTFS: "NTFS    " at 3.
 * The MD superblocks 0.90 and 1.0 are at the end of the device: such a mirror's halves show
 * as two plain file systems, which is no single root either.
 */
enum gpv_volume gpv_volume_classify(const void *buf, size_t n)
{
	static const unsigned char md[] = { 0xfc, 0x4e, 0x2b, 0xa9 };
	const unsigned char *b = buf;

	for (size_t sector = 0; sector < 4; sector++)
		if (n >= sector * 512 + 8 && memcmp(b + sector * 512, "LABELONE", 8) == 0)
			return GPV_VOLUME_OTHER;
	if ((n >= 6 && memcmp(b, "LUKS\xba\xbe", 6) == 0) || (n >= 4 && memcmp(b, md, 4) == 0) ||
		(n >= 4100 && memcmp(b + 4096, md, 4) == 0) ||
		(n >= 11 && memcmp(b + 3, "NTFS    ", 8) == 0))
		return GPV_VOLUME_OTHER;
	if (n >= 1082 && b[1080] == 0x53 && b[1081] == 0xef)
		return GPV_VOLUME_PLAIN;
	if (n >= 4 && memcmp(b, "XFSB", 4) == 0)
		return GPV_VOLUME_PLAIN;
	return GPV_VOLUME_NONE;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Bit by bit: a few KiB per disk. */
uint32_t gpv_crc32(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/*
 * The GPT after a protective MBR, as the kernel's block/partitions/efi.c takes it with
 * 512-byte sectors: the header at LBA 1 ("EFI PART", its size 92 to 512, its CRC over that
 * size with the CRC field zeroed, its own LBA 1), entries of 128 bytes whose CRC matches. The
 * kernel would try the backup header at the disk's end where the primary is bad: not told.
 */
static enum gpv_partition_table gpt(const unsigned char *b, size_t n,
	struct gpv_partition *ret, size_t *ret_n)
{
	unsigned char h[512];
	uint32_t hsize, count, esize;
	uint64_t entries;
	size_t k = 0;

	if (n < 1024 || memcmp(b + 512, "EFI PART", 8) != 0)
		return GPV_PARTITIONS_UNKNOWN;
	hsize = le32(b + 512 + 12);
	if (hsize < 92 || hsize > 512 || le64(b + 512 + 24) != 1)
		return GPV_PARTITIONS_UNKNOWN;
	memcpy(h, b + 512, hsize);
	memset(h + 16, 0, 4);
	if (gpv_crc32(h, hsize) != le32(b + 512 + 16))
		return GPV_PARTITIONS_UNKNOWN;
	entries = le64(b + 512 + 72);
	count = le32(b + 512 + 80);
	esize = le32(b + 512 + 84);
	if (esize != 128 || count == 0 || count > GPV_PARTITIONS_MAX || entries < 2 ||
		entries > n / 512 || (n - entries * 512) / esize < count)
		return GPV_PARTITIONS_UNKNOWN;
	if (gpv_crc32(b + entries * 512, (size_t)count * esize) != le32(b + 512 + 88))
		return GPV_PARTITIONS_UNKNOWN;
	for (uint32_t i = 0; i < count; i++) {
		static const unsigned char unused[16];
		const unsigned char *e = b + entries * 512 + (size_t)i * esize;

		if (memcmp(e, unused, 16) != 0) {
			if (le64(e + 32) > UINT64_MAX / 512)
				return GPV_PARTITIONS_UNKNOWN;
			ret[k].number = i + 1;
			ret[k++].start = le64(e + 32) * 512;
		}
	}
	*ret_n = k;
	return GPV_PARTITIONS_LISTED;
}

/*
 * As the kernel's block/partitions/msdos.c: the signature 0x55 0xaa at 510, every slot's boot
 * flag 0 or 0x80 (else it is no MBR, but perhaps a FAT boot sector: not told), a slot with
 * no sectors skipped. Extended partitions (0x05, 0x0f, 0x85) and the types the kernel reads
 * sub-partitions from (BSD 0xa5, 0xa6, 0xa9; Minix 0x81; UnixWare 0x63) are not told.
 */
enum gpv_partition_table gpv_partition_table(const void *buf, size_t n,
	struct gpv_partition ret[GPV_PARTITIONS_MAX], size_t *ret_n)
{
	static const unsigned char nested[] = { 0x05, 0x0f, 0x85, 0xa5, 0xa6, 0xa9, 0x81, 0x63 };
	const unsigned char *b = buf;
	size_t k = 0;

	*ret_n = 0;
	if (n < 512)
		return GPV_PARTITIONS_UNKNOWN;
	if (b[510] != 0x55 || b[511] != 0xaa) {
		/* No MBR: the kernel finds no partitions, but a GPT without one is no disk's. */
		return n >= 520 && memcmp(b + 512, "EFI PART", 8) == 0 ? GPV_PARTITIONS_UNKNOWN
								       : GPV_PARTITIONS_NONE;
	}
	for (int slot = 0; slot < 4; slot++) {
		const unsigned char *e = b + 446 + slot * 16;

		if (e[0] != 0 && e[0] != 0x80)
			return GPV_PARTITIONS_UNKNOWN;
	}
	for (int slot = 0; slot < 4; slot++)
		if (b[446 + slot * 16 + 4] == 0xee)
			return gpt(b, n, ret, ret_n);
	for (int slot = 0; slot < 4; slot++) {
		const unsigned char *e = b + 446 + slot * 16;

		if (le32(e + 12) == 0)
			continue;
		if (memchr(nested, e[4], sizeof(nested)))
			return GPV_PARTITIONS_UNKNOWN;
		ret[k].number = (unsigned)slot + 1;
		ret[k++].start = (uint64_t)le32(e + 8) * 512;
	}
	*ret_n = k;
	return GPV_PARTITIONS_LISTED;
}

/* The blank-separated field at *p, advancing *p; its length, 0 at the line's end. */
static size_t field(const char **p, const char *end, const char **ret)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (e = s; e < end && *e != ' ' && *e != '\t'; e++)
		;
	*p = e;
	*ret = s;
	return (size_t)(e - s);
}

static bool field_is(const char *f, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(f, word, len) == 0;
}

bool gpv_fstab_splits_root(const char *text, size_t len, const char **ret_at, size_t *ret_len)
{
	static const char *const written[] = { "/usr", "/var", "/etc", "/lib", "/lib32", "/lib64",
		"/libx32", "/opt", "/bin", "/sbin" };
	static const char *const virtual_fs[] = { "swap", "tmpfs", "proc", "sysfs", "devpts",
		"devtmpfs", "efivarfs", "securityfs", "cgroup", "cgroup2", "debugfs", "mqueue",
		"hugetlbfs" };

	for (const char *l = text, *end = text + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *p = l, *spec, *mp, *type;
		size_t mlen, tlen;
		bool skip = false;

		if (!nl)
			nl = end;
		l = nl + 1;
		if (!field(&p, nl, &spec) || *spec == '#')
			continue;
		mlen = field(&p, nl, &mp);
		tlen = field(&p, nl, &type);
		/* A trailing slash names the same folder ("/usr/"). */
		while (mlen > 1 && mp[mlen - 1] == '/')
			mlen--;
		for (size_t i = 0; i < ELEMENTSOF(virtual_fs); i++)
			skip = skip || field_is(type, tlen, virtual_fs[i]);
		if (skip || !mlen || field_is(mp, mlen, "/") || field_is(mp, mlen, "none"))
			continue;
		for (size_t i = 0; i < ELEMENTSOF(written); i++) {
			size_t wlen = strlen(written[i]);

			if (mlen >= wlen && strncmp(mp, written[i], wlen) == 0 &&
				(mlen == wlen || mp[wlen] == '/')) {
				if (ret_at)
					*ret_at = mp;
				if (ret_len)
					*ret_len = mlen;
				return true;
			}
		}
	}
	return false;
}

char *gpv_os_release_value(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text, *end = text + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *v;
		size_t vlen;

		if (!nl)
			nl = end;
		if ((size_t)(nl - l) > klen && strncmp(l, key, klen) == 0 && l[klen] == '=') {
			v = l + klen + 1;
			vlen = (size_t)(nl - v);
			if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
				v++;
				vlen -= 2;
			}
			return strndup(v, vlen);
		}
		l = nl + 1;
	}
	return NULL;
}
