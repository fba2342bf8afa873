/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_image_pread() (lib/image.c): the input is an image file, read as
 * qcow2 and as raw at a few places. A read succeeds whole, or fails with one of the errors the
 * header names; never past the buffer, never forever.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t offsets[] = {0, 1, 511, 4096, 65536, 1 << 20, UINT64_MAX - 1};
	static uint8_t buf[17408];
	char path[64];
	int fd = memfd_create("image", MFD_CLOEXEC);

	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		int r = gpv_image_pread(path, "qcow2", buf, sizeof(buf), offsets[i]);

		assert(r == 0 || r == -EOPNOTSUPP || r == -ERANGE || r == -EINVAL);
		r = gpv_image_pread(path, "raw", buf, 512, offsets[i]);
		assert(r == 0 || r == -ERANGE);
		assert(r < 0 || offsets[i] + 512 <= size);
	}
	close(fd);
	return 0;
}
