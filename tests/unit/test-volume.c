/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/volume.c: a volume told by its first bytes (ext4 and XFS against what mke2fs and
 * mkfs.xfs write, where the machine has them; the other magics as libblkid reads them), the
 * fstab rule that sends an image to inspection, and os-release values.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "lib/volume.h"
#include "tests/unit/spawn.h"
#include "tests/unit/tap.h"

static unsigned char buf[GPV_VOLUME_PROBE_BYTES];

/* A file system made by the real tool (name, then its options) in a 512 MiB file; its first
 * bytes in buf. 0, or GPV_TEST_SKIP when the machine lacks the tool. */
static int made_by(const char *name, const char *const *opts, size_t n_opts)
{
	char path[] = "/tmp/gpv-volume-XXXXXX", *tool = tool_find(name);
	const char *argv[16];
	int fd;

	if (!tool)
		return GPV_TEST_SKIP;
	fd = mkstemp(path);
	check(fd >= 0);
	/* XFS takes no less than 300 MiB; the file stays sparse. */
	check(ftruncate(fd, 512 << 20) == 0);
	argv[0] = tool;
	for (size_t i = 0; i < n_opts; i++)
		argv[1 + i] = opts[i];
	argv[1 + n_opts] = path;
	argv[2 + n_opts] = NULL;
	check(tool_run(argv, NULL) == 0);
	check(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	unlink(path);
	close(fd);
	free(tool);
	return 0;
}

TEST(ext4_from_mke2fs)
{
	static const char *const opts[] = { "-q", "-F", "-t", "ext4" };

	if (made_by("mke2fs", opts, ELEMENTSOF(opts)) == GPV_TEST_SKIP)
		skip("no mke2fs (e2fsprogs)");
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_PLAIN);
	/* Too short to hold the superblock's magic: not told. */
	check_int(gpv_volume_classify(buf, 1081), GPV_VOLUME_NONE);
}

TEST(xfs_from_mkfs_xfs)
{
	static const char *const opts[] = { "-q", "-f" };

	if (made_by("mkfs.xfs", opts, ELEMENTSOF(opts)) == GPV_TEST_SKIP)
		skip("no mkfs.xfs (xfsprogs)");
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_PLAIN);
}

TEST(others)
{
	static const unsigned char md[] = { 0xfc, 0x4e, 0x2b, 0xa9 };

	memset(buf, 0, sizeof(buf));
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_NONE);
	check_int(gpv_volume_classify(buf, 0), GPV_VOLUME_NONE);
	/* LVM's label in the second sector, as pvcreate writes it; in the fourth too. */
	memcpy(buf + 512, "LABELONE", 8);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 1536, "LABELONE", 8);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "LUKS\xba\xbe", 6);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 4096, md, 4);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	check_int(gpv_volume_classify(buf, 4099), GPV_VOLUME_NONE);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 3, "NTFS    ", 8);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	/* An ext4 file system on an LVM label's sector is the LVM volume (the label wins). */
	memset(buf, 0, sizeof(buf));
	buf[1080] = 0x53;
	buf[1081] = 0xef;
	memcpy(buf + 512, "LABELONE", 8);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_OTHER);
	/* Swap: nothing to mount. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 4086, "SWAPSPACE2", 10);
	check_int(gpv_volume_classify(buf, sizeof(buf)), GPV_VOLUME_NONE);
}

static unsigned char disk[GPV_PARTITION_PROBE_BYTES];

/* A 64 MiB disk partitioned by sfdisk from SCRIPT; its first bytes in disk. 0, or
 * GPV_TEST_SKIP when the machine has no sfdisk. */
static int partitioned_by_sfdisk(const char *script)
{
	char path[] = "/tmp/gpv-disk-XXXXXX", cmd[1024], *tool = tool_find("sfdisk");
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int fd;

	if (!tool)
		return GPV_TEST_SKIP;
	fd = mkstemp(path);
	check(fd >= 0);
	check(ftruncate(fd, 64 << 20) == 0);
	snprintf(cmd, sizeof(cmd), "printf '%s' | %s -q %s", script, tool, path);
	check(tool_run(argv, NULL) == 0);
	check(pread(fd, disk, sizeof(disk), 0) == (ssize_t)sizeof(disk));
	unlink(path);
	close(fd);
	free(tool);
	return 0;
}

static enum gpv_partition_table table(struct gpv_partition parts[GPV_PARTITIONS_MAX],
	size_t *n)
{
	return gpv_partition_table(disk, sizeof(disk), parts, n);
}

static uint32_t le32_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

TEST(mbr_from_sfdisk)
{
	struct gpv_partition parts[GPV_PARTITIONS_MAX];
	size_t n = 0;

	if (partitioned_by_sfdisk("label: dos\nstart=2048, size=20480, type=83\n"
				  "start=22528, size=4096, type=82\n") == GPV_TEST_SKIP)
		skip("no sfdisk (fdisk)");
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 2);
	check_int(parts[0].number, 1);
	check(parts[0].start == 2048 * 512);
	check_int(parts[1].number, 2);
	check(parts[1].start == 22528ULL * 512);
	/* An empty first slot: the kernel still calls the second partition 2. */
	memset(disk + 446, 0, 16);
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 1);
	check_int(parts[0].number, 2);
	/* No slot used: a table without partitions. */
	memset(disk + 446, 0, 64);
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 0);
	/* A boot flag other than 0 and 0x80: no MBR the kernel takes (a FAT boot sector...). */
	disk[446] = 0x12;
	check_int(table(parts, &n), GPV_PARTITIONS_UNKNOWN);
	/* Too short to hold the signature. */
	check_int(gpv_partition_table(disk, 511, parts, &n), GPV_PARTITIONS_UNKNOWN);
}

TEST(extended_from_sfdisk)
{
	struct gpv_partition parts[GPV_PARTITIONS_MAX];
	size_t n = 0;

	if (partitioned_by_sfdisk("label: dos\nstart=2048, size=2048, type=83\n"
				  "start=4096, size=20480, type=5\nstart=6144, size=2048, "
				  "type=83\n") == GPV_TEST_SKIP)
		skip("no sfdisk (fdisk)");
	/* Logical partitions are in the extended one's own tables: the appliance is asked. */
	check_int(table(parts, &n), GPV_PARTITIONS_UNKNOWN);
}

TEST(gpt_from_sfdisk)
{
	struct gpv_partition parts[GPV_PARTITIONS_MAX];
	unsigned char *h = disk + 512;
	size_t n = 0;

	if (partitioned_by_sfdisk("label: gpt\nstart=2048, size=2048\nstart=4096, size=8192\n"
				  "start=12288, size=2048\n") == GPV_TEST_SKIP)
		skip("no sfdisk (fdisk)");
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 3);
	for (unsigned i = 0; i < 3; i++)
		check_int(parts[i].number, i + 1);
	check(parts[0].start == 2048 * 512 && parts[1].start == 4096 * 512 &&
		parts[2].start == 12288ULL * 512);
	/* The second entry unused (its CRC made right again): partition 3 keeps its number. */
	memset(disk + 1024 + 128, 0, 128);
	put_le32(h + 88, gpv_crc32(disk + 1024, 128 * le32_at(h + 80)));
	put_le32(h + 16, 0);
	put_le32(h + 16, gpv_crc32(h, le32_at(h + 12)));
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 2);
	check_int(parts[0].number, 1);
	check_int(parts[1].number, 3);
	/* An entry changed behind the CRC's back: the kernel would take the backup GPT. */
	disk[1024 + 32] ^= 1;
	check_int(table(parts, &n), GPV_PARTITIONS_UNKNOWN);
	disk[1024 + 32] ^= 1;
	/* A header changed behind its CRC's back. */
	h[80] ^= 1;
	check_int(table(parts, &n), GPV_PARTITIONS_UNKNOWN);
	h[80] ^= 1;
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	/* The entries past the bytes given. */
	check_int(gpv_partition_table(disk, 4096, parts, &n), GPV_PARTITIONS_UNKNOWN);
	/* No protective MBR entry: the kernel reads the MBR, not the GPT; a GPT header without
	 * an MBR's signature is no disk gpupv tells. */
	disk[446 + 4] = 0x83;
	check_int(table(parts, &n), GPV_PARTITIONS_LISTED);
	check_int(n, 1);
	check_int(parts[0].number, 1);
	disk[510] = 0;
	check_int(table(parts, &n), GPV_PARTITIONS_UNKNOWN);
}

TEST(no_table)
{
	struct gpv_partition parts[GPV_PARTITIONS_MAX];
	static const char *const opts[] = { "-q", "-F", "-t", "ext4" };
	size_t n = 1;

	memset(disk, 0, sizeof(disk));
	check_int(table(parts, &n), GPV_PARTITIONS_NONE);
	check_int(n, 0);
	/* A file system on the whole disk. */
	if (made_by("mke2fs", opts, ELEMENTSOF(opts)) == GPV_TEST_SKIP)
		skip("no mke2fs (e2fsprogs)");
	check_int(gpv_partition_table(buf, sizeof(buf), parts, &n), GPV_PARTITIONS_NONE);
	/* The CRC of UEFI's GPT, as zlib's crc32("123456789"). */
	check(gpv_crc32("123456789", 9) == 0xcbf43926u);
}

static bool splits(const char *text, const char *expect)
{
	const char *at = NULL;
	size_t len = 0;
	bool r = gpv_fstab_splits_root(text, strlen(text), &at, &len);

	if (!r)
		check(!expect);
	else
		check(expect && strlen(expect) == len && strncmp(at, expect, len) == 0);
	return r;
}

TEST(fstab)
{
	/* Debian's installer, one partition, swap, a CD-ROM and an ESP. */
	check(!splits("# /etc/fstab: static file system information.\n"
		      "UUID=0b3c-4f2e / ext4 errors=remount-ro 0 1\n"
		      "UUID=8A3F-11D2  /boot/efi vfat umask=0077 0 1\n"
		      "UUID=77aa none swap sw 0 0\n"
		      "/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n"
		      "tmpfs /tmp tmpfs defaults 0 0\n"
		      "proc /proc proc defaults 0 0\n"
		      "/dev/vdb1\t/home\text4\tdefaults\t0 2\n"
		      "   \n\n",
		NULL));
	check(!splits("", NULL));
	check(!splits("LABEL=root / ext4 errors=remount-ro 0 1", NULL));
	check(splits("LABEL=root / ext4 defaults 0 1\nLABEL=var /var ext4 defaults 0 2\n", "/var"));
	check(splits("/dev/vg/usr /usr xfs defaults 0 2", "/usr"));
	check(splits("UUID=1 /usr/ ext4 defaults 0 2\n", "/usr"));
	check(splits("UUID=1 /var/lib ext4 defaults 0 2\n", "/var/lib"));
	check(splits("/srv/opt /opt none bind 0 0\n", "/opt"));
	/* tmpfs over a folder drivers-sync writes holds nothing of the image's. */
	check(!splits("tmpfs /var/tmp tmpfs defaults 0 0\n", NULL));
	/* Not a prefix by name alone: /variable, /usrdata are other folders. */
	check(!splits("UUID=1 /variable ext4 defaults 0 2\nUUID=2 /usrdata xfs defaults 0 2\n",
		NULL));
	/* A commented line does not mount anything. */
	check(!splits("#UUID=1 /usr ext4 defaults 0 2\n", NULL));
	/* No type given: still a file system there. */
	check(splits("UUID=1 /etc", "/etc"));
}

TEST(os_release)
{
	static const char text[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
				   "NAME='Debian'\nID=debian\nVERSION_ID=\"12\"\nIDX=no";
	char *v;

	v = gpv_os_release_value(text, strlen(text), "PRETTY_NAME");
	check_streq(v, "Debian GNU/Linux 12 (bookworm)");
	free(v);
	v = gpv_os_release_value(text, strlen(text), "NAME");
	check_streq(v, "Debian");
	free(v);
	v = gpv_os_release_value(text, strlen(text), "ID");
	check_streq(v, "debian");
	free(v);
	check(!gpv_os_release_value(text, strlen(text), "VERSION"));
	/* Within len only. */
	check(!gpv_os_release_value(text, 10, "ID"));
}
