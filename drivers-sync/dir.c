/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "drivers-sync/dir.h"
#include "lib/hash.h"
#include "lib/root.h"

#define TMP_PREFIX ".gpupv-new."
#define MANIFEST_MAX (64 * 1024 * 1024)

struct gpv_ds_dir {
	int fd; /* the guest's root, O_PATH */
};

int gpv_ds_dir_open(const char *dir, struct gpv_ds_dir **ret)
{
	struct gpv_ds_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		int r = -errno;

		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct gpv_ds_dir *gpv_ds_dir_free(struct gpv_ds_dir *d)
{
	if (d) {
		close(d->fd);
		free(d);
	}
	return NULL;
}

/* rel (relative to the guest's root, "" for the root) opened beneath it, never out of it. */
static int open_beneath(struct gpv_ds_dir *d, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, d->fd, *rel ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/*
 * The folder of path (absolute in the guest), opened O_PATH beneath the guest's root, and the
 * last component. With create, missing folders are made (0755) one at a time, each beneath.
 */
static int open_parent(struct gpv_ds_dir *d, const char *path, bool create, const char **base)
{
	_cleanup_free_ char *rel = NULL;
	const char *slash;
	int fd;

	if (!gpv_ds_path_valid(path))
		return -EINVAL;
	slash = strrchr(path, '/');
	*base = slash + 1;
	rel = strndup(path + 1, (size_t)(slash - path) - (slash > path ? 1 : 0));
	if (!rel)
		return -ENOMEM;
	fd = open_beneath(d, rel, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT || !create)
		return fd;
	/* Make the missing folders, from the top. */
	for (char *c = rel;; c++) {
		if (*c == '/' || !*c) {
			char save = *c, *name;
			_cleanup_close_ int pfd = -1;

			*c = '\0';
			name = strrchr(rel, '/');
			if (name) {
				*name = '\0';
				pfd = open_beneath(d, rel, O_PATH | O_DIRECTORY);
				*name = '/';
				name++;
			} else {
				pfd = open_beneath(d, "", O_PATH | O_DIRECTORY);
				name = rel;
			}
			if (pfd < 0)
				return pfd;
			if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
				return -errno;
			*c = save;
			if (!save)
				break;
		}
	}
	return open_beneath(d, rel, O_PATH | O_DIRECTORY);
}

static int tmp_name(const char *base, char out[static 256])
{
	if (strlen(TMP_PREFIX) + strlen(base) >= 256)
		return -ENAMETOOLONG;
	snprintf(out, 256, TMP_PREFIX "%s", base);
	return 0;
}

static int dir_lstat(void *t, const char *path, struct gpv_ds_file *ret)
{
	struct gpv_ds_dir *d = t;
	_cleanup_close_ int pfd = -1;
	struct gpv_ds_file f = {0};
	const char *base;
	struct stat st;
	int r;

	pfd = open_parent(d, path, false, &base);
	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (S_ISLNK(st.st_mode)) {
		f.type = GPV_DS_LINK;
		f.mode = 0777;
		r = gpv_readlink_at(pfd, base, &f.target);
		if (r < 0)
			return r;
	} else if (S_ISREG(st.st_mode)) {
		f.type = GPV_DS_REG;
		f.mode = st.st_mode & 07777;
		f.size = (uint64_t)st.st_size;
	} else {
		return -EISDIR;
	}
	*ret = f;
	return 0;
}

static int dir_hash(void *t, const char *path, uint8_t out[GPV_DS_HASH_LEN])
{
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *base;

	pfd = open_parent(t, path, false, &base);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return gpv_hash_fd(fd, out);
}

/* Copies src into dst, in the kernel where it can. */
static int copy_fd(int src, int dst)
{
	static const size_t chunk = 8 << 20;
	bool plain = false;

	for (;;) {
		ssize_t n;

		if (!plain) {
			n = copy_file_range(src, NULL, dst, NULL, chunk, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
					     errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			char buf[1 << 16];
			ssize_t w = 0;

			n = read(src, buf, sizeof(buf));
			for (ssize_t off = 0; n > 0 && off < n; off += w) {
				w = write(dst, buf + off, (size_t)(n - off));
				if (w < 0)
					return -errno;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
	}
}

static int stage_one(struct gpv_ds_dir *d, const struct gpv_ds_file *f,
	int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud)
{
	_cleanup_close_ int pfd = -1, fd = -1, src = -1;
	struct timespec times[2] = { { .tv_sec = f->mtime_ns / 1000000000,
					     .tv_nsec = f->mtime_ns % 1000000000 } };
	const char *base;
	char tmp[256];
	int r;

	times[1] = times[0];
	pfd = open_parent(d, f->path, true, &base);
	if (pfd < 0)
		return pfd;
	r = tmp_name(base, tmp);
	if (r < 0)
		return r;
	if (unlinkat(pfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	if (f->type == GPV_DS_LINK) {
		if (symlinkat(f->target, pfd, tmp) < 0)
			return -errno;
		(void)utimensat(pfd, tmp, times, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	src = open_src(ud, f);
	if (src < 0)
		return src;
	r = copy_fd(src, fd);
	if (r < 0)
		return r;
	if (fchmod(fd, f->mode) < 0 || futimens(fd, times) < 0)
		return -errno;
	r = close(TAKE_FD(fd));
	return r < 0 ? -errno : 0;
}

static int dir_stage(void *t, const struct gpv_ds_file *const *files, size_t n,
	int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud)
{
	for (size_t i = 0; i < n; i++) {
		int r = stage_one(t, files[i], open_src, ud);

		if (r < 0)
			return r;
	}
	return 0;
}

static int dir_unstage(void *t, const char *path)
{
	_cleanup_close_ int pfd = -1;
	const char *base;
	char tmp[256];
	int r;

	pfd = open_parent(t, path, false, &base);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return pfd;
	r = tmp_name(base, tmp);
	if (r < 0)
		return r;
	return unlinkat(pfd, tmp, 0) < 0 && errno != ENOENT ? -errno : 0;
}

static int dir_commit(void *t, const char *path)
{
	_cleanup_close_ int pfd = -1;
	const char *base;
	char tmp[256];
	int r;

	pfd = open_parent(t, path, false, &base);
	if (pfd < 0)
		return pfd;
	r = tmp_name(base, tmp);
	if (r < 0)
		return r;
	return renameat(pfd, tmp, pfd, base) < 0 ? -errno : 0;
}

/* unlinkat(2) of path with flags (0, or AT_REMOVEDIR for a folder): 0 when nothing is there. */
static int remove_entry(struct gpv_ds_dir *d, const char *path, int flags)
{
	_cleanup_close_ int pfd = -1;
	const char *base;

	pfd = open_parent(d, path, false, &base);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return pfd;
	if (unlinkat(pfd, base, flags) == 0 || errno == ENOENT)
		return 0;
	if (flags & AT_REMOVEDIR)
		return errno == EEXIST ? -ENOTEMPTY : -errno;
	return errno == EISDIR || errno == EPERM ? -EISDIR : -errno;
}

static int dir_remove(void *t, const char *path)
{
	return remove_entry(t, path, 0);
}

static int dir_remove_dir(void *t, const char *path)
{
	return remove_entry(t, path, AT_REMOVEDIR);
}

static int dir_flush(void *t)
{
	_cleanup_close_ int fd = open_beneath(t, "", O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return fd;
	return syncfs(fd) < 0 ? -errno : 0;
}

static int dir_free_bytes(void *t, const char *path, uint64_t *ret)
{
	_cleanup_close_ int fd = open_beneath(t, "", O_RDONLY | O_DIRECTORY);
	struct statvfs sv;

	(void)path;
	if (fd < 0)
		return fd;
	if (fstatvfs(fd, &sv) < 0)
		return -errno;
	*ret = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static int dir_read_manifest(void *t, char **ret, size_t *ret_len)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *base;

	pfd = open_parent(t, GPV_DS_MANIFEST_PATH, false, &base);
	if (pfd < 0)
		return pfd == -ENOTDIR ? -ENOENT : pfd;
	fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return gpv_read_fd(fd, MANIFEST_MAX, ret, ret_len);
}

static int dir_write_manifest(void *t, const char *text)
{
	_cleanup_close_ int pfd = -1, fd = -1, dfd = -1;
	const char *base;
	char tmp[256];
	size_t len = strlen(text);
	int r;

	pfd = open_parent(t, GPV_DS_MANIFEST_PATH, true, &base);
	if (pfd < 0)
		return pfd;
	r = tmp_name(base, tmp);
	if (r < 0)
		return r;
	(void)unlinkat(pfd, tmp, 0);
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0) {
			r = -errno;
			(void)unlinkat(pfd, tmp, 0);
			return r;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0) {
		r = -errno;
		(void)unlinkat(pfd, tmp, 0);
		return r;
	}
	if (renameat(pfd, tmp, pfd, base) < 0)
		return -errno;
	dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd >= 0 && fsync(dfd) < 0 ? -errno : 0;
}

const struct gpv_ds_target_ops gpv_ds_dir_ops = {
	.read_manifest = dir_read_manifest,
	.write_manifest = dir_write_manifest,
	.lstat = dir_lstat,
	.hash = dir_hash,
	.stage = dir_stage,
	.unstage = dir_unstage,
	.commit = dir_commit,
	.remove = dir_remove,
	.remove_dir = dir_remove_dir,
	.flush = dir_flush,
	.free_bytes = dir_free_bytes,
};
