/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include "lib/util.h"
#include "lib/vfio.h"

int gpv_vfio_group_viable(struct gpv_root *root, int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	_cleanup_close_ int fd = -1;
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = gpv_root_open(root, path, O_RDWR);
	if (fd < 0)
		return fd;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return -errno;
	return (status.flags & VFIO_GROUP_FLAGS_VIABLE) ? 1 : 0;
}
