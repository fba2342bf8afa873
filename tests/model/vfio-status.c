/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-status GROUP-FILE: asks VFIO_GROUP_GET_STATUS on a VFIO group file (/dev/vfio/N, or its
 * copy under the kernel model's root) and prints "viable" or "not viable".
 * Exit status: 0 answered, 1 the open or the ioctl failed (the reason on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

int main(int argc, char **argv)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: vfio-status GROUP-FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vfio-status: cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
		fprintf(stderr, "vfio-status: VFIO_GROUP_GET_STATUS on '%s': %s\n", argv[1],
			strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	puts(status.flags & VFIO_GROUP_FLAGS_VIABLE ? "viable" : "not viable");
	return 0;
}
