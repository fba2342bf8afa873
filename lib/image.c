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
