/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/image.c: a disk's bytes read from a raw file and from the qcow2 images qemu-img makes of
 * it (clusters of 512 bytes and of 64 KiB, holes, a cluster qemu-img left unallocated), and
 * what only qemu reads (a backing file, compressed clusters) refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/util.h"
#include "tests/unit/spawn.h"
#include "tests/unit/tap.h"

#define DISK (4 << 20)

static char dir[] = "/tmp/gpv-image-XXXXXX";
static unsigned char *raw;

/* The raw disk: a pattern in its first 256 KiB and at 3 MiB, zeroes between (a hole). */
static void make_raw(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	check(fd >= 0);
	raw = calloc(1, DISK);
	check(raw != NULL);
	for (size_t i = 0; i < 256 << 10; i++)
		raw[i] = (unsigned char)(i * 7 + i / 4096);
	for (size_t i = 3 << 20; i < (3 << 20) + 4096; i++)
		raw[i] = (unsigned char)(i ^ 0x5a);
	check(write(fd, raw, 256 << 10) == 256 << 10);
	check(pwrite(fd, raw + (3 << 20), 4096, 3 << 20) == 4096);
	check(ftruncate(fd, DISK) == 0);
	close(fd);
}

/* qemu-img's full path, and a new temporary folder in dir. */
static char *qemu_img(void)
{
	char *tool = tool_find("qemu-img");

	if (!tool)
		skip("no qemu-img (qemu-utils)");
	check(mkdtemp(dir) != NULL);
	return tool;
}

static int convert(
	const char *tool, const char *from, const char *to, const char *opts, bool compress)
{
	const char *argv[] = {tool, "convert", "-f", "raw", "-O", "qcow2", "-o", opts,
		compress ? "-c" : from, compress ? from : to, compress ? to : NULL, NULL};

	return tool_run(argv, NULL);
}

/* Reads of every size and place agree with the raw disk. */
static void same_as_raw(const char *path, const char *format)
{
	static const size_t offsets[] = {0, 1, 511, 512, 4095, 65535, 65536, 200000,
		(256 << 10) - 10, 1 << 20, (3 << 20) - 100, 3 << 20, DISK - 17408};
	static const size_t sizes[] = {1, 512, 8192, 17408, 70000};
	unsigned char *buf = malloc(70000);

	check(buf != NULL);
	for (size_t i = 0; i < ELEMENTSOF(offsets); i++)
		for (size_t j = 0; j < ELEMENTSOF(sizes); j++) {
			if (offsets[i] + sizes[j] > DISK)
				continue;
			memset(buf, 0xee, sizes[j]);
			check_int(gpv_image_pread(path, format, buf, sizes[j], offsets[i]), 0);
			check(memcmp(buf, raw + offsets[i], sizes[j]) == 0);
		}
	/* Past the disk's end. */
	check_int(gpv_image_pread(path, format, buf, 2, DISK - 1), -ERANGE);
	check_int(gpv_image_pread(path, format, buf, 1, DISK), -ERANGE);
	free(buf);
}

TEST(raw_and_qcow2)
{
	char *tool = qemu_img(), r[64], q[64], s[64];

	snprintf(r, sizeof(r), "%s/disk.raw", dir);
	snprintf(q, sizeof(q), "%s/disk.qcow2", dir);
	snprintf(s, sizeof(s), "%s/small.qcow2", dir);
	make_raw(r);
	same_as_raw(r, "raw");
	check_int(convert(tool, r, q, "cluster_size=65536", false), 0);
	same_as_raw(q, "qcow2");
	/* 512-byte clusters: a read crosses many, and more than one L2 table. */
	check_int(convert(tool, r, s, "cluster_size=512,compat=0.10", false), 0);
	same_as_raw(s, "qcow2");
	check_int(gpv_image_pread(q, "vmdk", raw, 1, 0), -EOPNOTSUPP);
	check_int(gpv_image_pread(r, "qcow2", raw, 1, 0), -EINVAL);
	unlink(r);
	unlink(q);
	unlink(s);
	rmdir(dir);
	free(raw);
	free(tool);
}

TEST(what_only_qemu_reads)
{
	char *tool = qemu_img(), r[64], c[64], o[64];
	unsigned char b[512];

	snprintf(r, sizeof(r), "%s/z.raw", dir);
	snprintf(c, sizeof(c), "%s/z-compressed.qcow2", dir);
	snprintf(o, sizeof(o), "%s/z-overlay.qcow2", dir);
	make_raw(r);
	check_int(convert(tool, r, c, "cluster_size=65536", true), 0);
	check_int(gpv_image_pread(c, "qcow2", b, sizeof(b), 0), -EOPNOTSUPP);
	{
		const char *argv[] = {
			tool, "create", "-f", "qcow2", "-F", "qcow2", "-b", c, o, NULL};

		check_int(tool_run(argv, NULL), 0);
	}
	check_int(gpv_image_pread(o, "qcow2", b, sizeof(b), 0), -EOPNOTSUPP);
	check_int(gpv_image_pread("/nonexistent/x", "raw", b, 1, 0), -ENOENT);
	unlink(r);
	unlink(c);
	unlink(o);
	rmdir(dir);
	free(raw);
	free(tool);
}
