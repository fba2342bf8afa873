/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for gpv_root_resolve(), which parses link text while it walks a path
 * inside a root. A small sysfs-like tree is made once under $TMPDIR. The input is
 * "TARGET\nPATH": TARGET becomes both a real symlink (/sys/fuzz-link) and a recorded link
 * (/sys/fuzz-rec, a regular file holding the target), then PATH is resolved as given and below
 * each of the two links. Without a newline the whole input is PATH.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/root.h"
#include "lib/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *root_dir;
static struct gpv_root *root;
static int root_fd = -1;

#define DEV "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void teardown(void)
{
	root = gpv_root_free(root);
	if (root_fd >= 0)
		close(root_fd);
	if (root_dir)
		nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(root_dir);
	root_dir = NULL;
}

static void put_file(const char *name, const char *content)
{
	int fd = openat(root_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t n = strlen(content);

	if (fd < 0)
		abort();
	if (write(fd, content, n) != (ssize_t)n)
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dirs[] = { "sys", "sys/devices", "sys/devices/pci0000:00",
					    "sys/devices/pci0000:00/0000:00:01.0", DEV, "sys/bus",
					    "sys/bus/pci", "sys/bus/pci/devices", "sys/bus/pci/drivers",
					    "sys/bus/pci/drivers/vfio-pci", "proc" };
	const char *tmp = getenv("TMPDIR");

	if (gpv_asprintf(&root_dir, "%s/gpv-fuzz-root.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(root_dir))
		abort();
	atexit(teardown);
	root_fd = open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		abort();
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdirat(root_fd, dirs[i], 0755) < 0)
			abort();
	put_file(DEV "/driver_override", "(null)\n");
	put_file("proc/cmdline", "ro quiet\n");
	/* A recorded link, as tools that cannot keep symlinks store one. */
	put_file(DEV "/driver", "../../../../bus/pci/drivers/vfio-pci");
	if (symlinkat("../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0", root_fd,
		      "sys/bus/pci/devices/0000:01:00.0") < 0 ||
	    symlinkat("loop-b", root_fd, "sys/loop-a") < 0 ||
	    symlinkat("loop-a", root_fd, "sys/loop-b") < 0 ||
	    symlinkat("/sys/devices", root_fd, "sys/abs") < 0 ||
	    symlinkat("../../..", root_fd, "sys/escape") < 0)
		abort();
	if (gpv_root_new(root_dir, &root) < 0)
		abort();
	return 0;
}

/* A successful answer is canonical and names something that exists and is no symlink. */
static void check_resolve(const char *path)
{
	_cleanup_free_ char *canon = NULL;
	struct stat st;
	size_t n;
	int r;

	r = gpv_root_resolve(root, path, &canon);
	assert(r <= 0);
	if (r < 0) {
		assert(!canon);
		return;
	}
	n = strlen(canon);
	assert(canon[0] == '/' && n < PATH_MAX);
	assert(n == 1 || canon[n - 1] != '/');
	assert(!strstr(canon, "//"));
	assert(!strstr(canon, "/./") && !strstr(canon, "/../"));
	assert(n < 2 || strcmp(canon + n - 2, "/.") != 0);
	assert(n < 3 || strcmp(canon + n - 3, "/..") != 0);
	assert(fstatat(root_fd, n == 1 ? "." : canon + 1, &st, AT_SYMLINK_NOFOLLOW) == 0);
	assert(!S_ISLNK(st.st_mode));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);
	_cleanup_free_ char *below_link = NULL, *below_rec = NULL;
	char *path, *nl;
	int fd;

	if (!text)
		return 0;
	nl = strchr(text, '\n');
	path = text;
	unlinkat(root_fd, "sys/fuzz-link", 0);
	unlinkat(root_fd, "sys/fuzz-rec", 0);
	if (nl) {
		*nl = '\0';
		path = nl + 1;
		/* Either may fail (empty or overlong target): then the name is absent. */
		symlinkat(text, root_fd, "sys/fuzz-link");
		fd = openat(root_fd, "sys/fuzz-rec", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, text, strlen(text)) < 0)
				abort();
			close(fd);
		}
	}
	check_resolve(path);
	if (gpv_asprintf(&below_link, "/sys/fuzz-link/%s", path) >= 0)
		check_resolve(below_link);
	if (gpv_asprintf(&below_rec, "/sys/fuzz-rec/%s", path) >= 0)
		check_resolve(below_rec);
	return 0;
}
