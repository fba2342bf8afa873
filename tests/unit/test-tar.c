/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * drivers-sync/tar.c: the tar stream the image target sends to libguestfs's appliance, unpacked
 * here by GNU tar as the appliance unpacks it (as root there: -p keeps the modes here too), and
 * every member checked: bytes, mode, mtime to the nanosecond, link targets; long names and link
 * targets (pax records, one of them at the length where the record's own length gains a digit).
 */
#include <signal.h>
#include <sys/stat.h>

#include "drivers-sync/tar.h"
#include "lib/util.h"
#include "tests/unit/spawn.h"
#include "tests/unit/tree.h"

struct src {
	const char *dir; /* where the members' bytes are, by member index */
	int fail_at;	 /* open_src fails for this index (-1: never) */
	const struct gpv_ds_file *files;
};

static int open_src(void *ud, const struct gpv_ds_file *f)
{
	struct src *s = ud;
	char path[8192];
	long i = f - s->files;
	int fd;

	if (i == s->fail_at)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/src%ld", s->dir, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A name of len bytes under dir/: components of at most 200 bytes. */
static char *long_name(const char *last, size_t len)
{
	char *s = malloc(len + 1);
	size_t at = 0, tail = strlen(last);

	check(s && len > tail + 2);
	while (at < len - tail - 1) {
		size_t part = len - tail - 1 - at;

		if (part > 200)
			part = 200;
		if (part > 1 && len - tail - 1 - at - part == 1)
			part--; /* no empty component */
		memset(s + at, 'd', part);
		at += part;
		s[at++] = '/';
	}
	memcpy(s + at, last, tail + 1);
	check(strlen(s) == len);
	return s;
}

TEST(gnu_tar_unpacks_every_member)
{
	_cleanup_free_ char *tar = tool_find("tar"), *n_long = NULL, *n_1001 = NULL,
			    *t_long = NULL;
	char *root = tree_new(), stream[8192], out[8192], path[8192];
	struct gpv_ds_file files[7] = {0};
	const struct gpv_ds_file *list[7];
	const char *names[7];
	struct src s = { .dir = root, .fail_at = -1, .files = files };
	size_t sizes[7] = { 1000, 512, 0, 0, 0, 300001, 77 };
	int fd;

	if (!tar)
		skip("no tar");
	n_long = long_name(".gpupv-new.a-library-with-a-long-name.so.565.57.01", 260);
	/* "1001 path=NAME\n": NAME of 990 bytes makes the record 1001 bytes, not 1000. */
	n_1001 = long_name(".gpupv-new.x", 990);
	t_long = long_name("target", 150);
	names[0] = "usr/lib/.gpupv-new.libshort.so.1";
	names[1] = n_long;
	names[2] = "usr/lib/.gpupv-new.empty";
	names[3] = "usr/lib/.gpupv-new.libshort.so";
	names[4] = "usr/lib/.gpupv-new.far";
	names[5] = n_1001;
	names[6] = "usr/lib/.gpupv-new.odd-mode";
	for (size_t i = 0; i < 7; i++) {
		files[i] = (struct gpv_ds_file){ .path = (char *)names[i], .type = GPV_DS_REG,
			.mode = 0644, .size = sizes[i], .mtime_ns = 1690304400LL * 1000000000 };
		list[i] = &files[i];
	}
	files[1].mode = 0755;
	files[1].mtime_ns = 1700000000LL * 1000000000 + 123456789;
	files[2].mode = 0600;
	files[3].type = GPV_DS_LINK;
	files[3].target = (char *)"libshort.so.1";
	files[4].type = GPV_DS_LINK;
	files[4].target = t_long;
	files[5].mtime_ns = 1000000000LL * 1000000000 + 1;
	/* setuid, as nvidia-modprobe is: restored by a root tar only. */
	files[6].mode = geteuid() == 0 ? 04751 : 0751;
	for (size_t i = 0; i < 7; i++) {
		FILE *f;

		if (files[i].type != GPV_DS_REG)
			continue;
		snprintf(path, sizeof(path), "%s/src%zu", root, i);
		f = fopen(path, "w");
		check(f != NULL);
		for (size_t k = 0; k < sizes[i]; k++)
			fputc((int)((k * 7 + i) & 0xff), f);
		fclose(f);
	}
	snprintf(stream, sizeof(stream), "%s/stream.tar", root);
	fd = open(stream, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	check(fd >= 0);
	check_int(gpv_ds_tar_write(fd, list, names, 7, open_src, &s), 0);
	close(fd);
	snprintf(out, sizeof(out), "%s/out", root);
	check(mkdir(out, 0755) == 0);
	{
		const char *argv[] = { tar, "-C", out, "-xpf", stream, NULL };

		check_int(tool_run(argv, NULL), 0);
	}
	for (size_t i = 0; i < 7; i++) {
		struct stat st;

		check((size_t)snprintf(path, sizeof(path), "%s/%s", out, names[i]) < sizeof(path));
		check(lstat(path, &st) == 0);
		if (files[i].type == GPV_DS_LINK) {
			char t[4096];
			ssize_t n = readlink(path, t, sizeof(t) - 1);

			check(S_ISLNK(st.st_mode) && n > 0);
			t[n] = '\0';
			check_streq(t, files[i].target);
			continue;
		}
		check(S_ISREG(st.st_mode));
		check_int(st.st_mode & 07777, files[i].mode);
		check_int(st.st_size, sizes[i]);
		check_int((long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
			files[i].mtime_ns);
		{
			char srcp[8192];
			_cleanup_free_ char *a = NULL, *b = NULL;
			size_t la = 0, lb = 0;

			snprintf(srcp, sizeof(srcp), "%s/src%zu", root, i);
			a = file_slurp(srcp, &la);
			b = file_slurp(path, &lb);
			check(a && b && la == lb && memcmp(a, b, la) == 0);
		}
	}
	tree_free(root);
}

TEST(open_src_error_stops_the_stream)
{
	char *root = tree_new(), stream[8192];
	struct gpv_ds_file files[2] = {
		{ .path = (char *)"/a", .type = GPV_DS_LINK, .target = (char *)"b" },
		{ .path = (char *)"/b", .type = GPV_DS_REG, .mode = 0644 },
	};
	const struct gpv_ds_file *list[2] = { &files[0], &files[1] };
	const char *names[2] = { "a", "b" };
	struct src s = { .dir = root, .fail_at = 1, .files = files };
	int fd;

	snprintf(stream, sizeof(stream), "%s/stream.tar", root);
	fd = open(stream, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	check(fd >= 0);
	check_int(gpv_ds_tar_write(fd, list, names, 2, open_src, &s), -ENOENT);
	close(fd);
	tree_free(root);
}

TEST(a_reader_gone_is_epipe)
{
	struct gpv_ds_file f = { .path = (char *)"/a", .type = GPV_DS_LINK, .target = (char *)"b" };
	const struct gpv_ds_file *list[1] = { &f };
	const char *names[1] = { "a" };
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	check(pipe(fds) == 0);
	close(fds[0]);
	check_int(gpv_ds_tar_write(fds[1], list, names, 1, open_src, NULL), -EPIPE);
	close(fds[1]);
}
