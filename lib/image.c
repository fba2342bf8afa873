/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Disk image formats by their magic numbers (qemu's block/qcow2.c, vmdk.c, vhdx.h, vdi.c,
 * qed.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/util.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Exactly n bytes at offset of fd: -ERANGE where the file ends first. */
static int read_at(int fd, void *buf, size_t n, uint64_t offset)
{
	for (size_t done = 0; done < n;) {
		ssize_t k;

		if (offset + done > (uint64_t)INT64_MAX)
			return -ERANGE;
		k = pread(fd, (char *)buf + done, n - done, (off_t)(offset + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ERANGE;
		done += (size_t)k;
	}
	return 0;
}

/* An L1 or L2 entry's host offset (bits 9 to 55). */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ULL
#define QCOW2_COMPRESSED (1ULL << 62)
#define QCOW2_ZERO 1ULL /* version 3: the cluster reads as zeroes */
/* Incompatible features: dirty (bit 0) changes nothing for a reader; corrupt (1), external
 * data file (2), compression type (3; only compressed clusters, refused anyway, care) and
 * extended L2 entries (4) are not read here. */
#define QCOW2_INCOMPAT_DIRTY 1ULL

static int qcow2_pread(int fd, void *buf, size_t n, uint64_t offset)
{
	unsigned char h[104];
	uint32_t version, cluster_bits, l1_size;
	uint64_t size, l1_offset, cluster, l2_entries;
	int r = read_at(fd, h, 72, 0);

	if (r < 0)
		return r == -ERANGE ? -EINVAL : r;
	version = be32(h + 4);
	if (memcmp(h, "QFI\xfb", 4) != 0 || (version != 2 && version != 3))
		return -EINVAL;
	if (version == 3) {
		r = read_at(fd, h + 72, 32, 72);
		if (r < 0)
			return r == -ERANGE ? -EINVAL : r;
		if (be64(h + 72) & ~QCOW2_INCOMPAT_DIRTY)
			return -EOPNOTSUPP;
	}
	if (be64(h + 8) != 0 || be32(h + 32) != 0)
		return -EOPNOTSUPP; /* a backing file; encryption */
	cluster_bits = be32(h + 20);
	size = be64(h + 24);
	l1_size = be32(h + 36);
	l1_offset = be64(h + 40);
	if (cluster_bits < 9 || cluster_bits > 21)
		return -EINVAL;
	if (offset > size || n > size - offset)
		return -ERANGE;
	cluster = 1ULL << cluster_bits;
	l2_entries = cluster / 8;
	while (n > 0) {
		uint64_t index = offset >> cluster_bits, in = offset & (cluster - 1), data = 0;
		uint64_t l1i = index / l2_entries, l2i = index % l2_entries;
		size_t chunk = cluster - in < n ? (size_t)(cluster - in) : n;
		unsigned char e[8];

		if (l1i >= l1_size)
			return -EINVAL;
		r = read_at(fd, e, 8, l1_offset + l1i * 8);
		if (r < 0)
			return r == -ERANGE ? -EINVAL : r;
		if (be64(e) & QCOW2_OFFSET_MASK) {
			r = read_at(fd, e, 8, (be64(e) & QCOW2_OFFSET_MASK) + l2i * 8);
			if (r < 0)
				return r == -ERANGE ? -EINVAL : r;
			if (be64(e) & QCOW2_COMPRESSED)
				return -EOPNOTSUPP;
			if (!(version == 3 && (be64(e) & QCOW2_ZERO)))
				data = be64(e) & QCOW2_OFFSET_MASK;
			if (data & (cluster - 1))
				return -EINVAL;
		}
		if (data) {
			r = read_at(fd, buf, chunk, data + in);
			if (r < 0)
				return r == -ERANGE ? -EINVAL : r;
		} else {
			memset(buf, 0, chunk);
		}
		buf = (char *)buf + chunk;
		offset += chunk;
		n -= chunk;
	}
	return 0;
}

int gpv_image_pread(const char *path, const char *format, void *buf, size_t n, uint64_t offset)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (strcmp(format, "qcow2") == 0)
		return qcow2_pread(fd, buf, n, offset);
	if (strcmp(format, "raw") == 0)
		return read_at(fd, buf, n, offset);
	return -EOPNOTSUPP;
}

int gpv_image_probe(const char *path, const char **ret_format, const char **ret_other)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	unsigned char h[72] = {0};
	const char *other = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	n = pread(fd, h, sizeof(h), 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENODATA;
	if (memcmp(h, "QFI\xfb", 4) == 0) {
		uint32_t version = be32(h + 4);

		if (version == 2 || version == 3) {
			*ret_format = "qcow2";
			return 0;
		}
		other = version == 1 ? "qcow (version 1)" : "qcow (unknown version)";
	} else if (memcmp(h, "KDMV", 4) == 0 || memcmp(h, "# Disk DescriptorFile", 21) == 0) {
		other = "vmdk";
	} else if (memcmp(h, "vhdxfile", 8) == 0) {
		other = "vhdx";
	} else if (le32(h + 64) == 0xbeda107f) {
		other = "vdi";
	} else if (memcmp(h, "QED\0", 4) == 0) {
		other = "qed";
	}
	if (other) {
		if (ret_other)
			*ret_other = other;
		return -EMEDIUMTYPE;
	}
	*ret_format = "raw";
	return 0;
}
