/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"

#define MAX_LINK_HOPS 40

struct gpv_root {
	char *dir;
	int fd;
	/* Canonical paths already seen to be real directories: the walk need not stat them
	 * again. Open addressing, FNV-1a, grown at half load. */
	char **dirs;
	size_t n_dirs, cap_dirs;
};

static uint64_t hash_path(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool known_dir(const struct gpv_root *root, const char *path, size_t n)
{
	if (!root->cap_dirs)
		return false;
	for (size_t i = hash_path(path, n) & (root->cap_dirs - 1);;
		i = (i + 1) & (root->cap_dirs - 1)) {
		const char *d = root->dirs[i];

		if (!d)
			return false;
		if (strlen(d) == n && memcmp(d, path, n) == 0)
			return true;
	}
}

/* Remembering is an optimisation: running out of memory just means stat'ing again. */
static void remember_dir(struct gpv_root *root, const char *path, size_t n)
{
	size_t i;

	if (known_dir(root, path, n))
		return;
	if ((root->n_dirs + 1) * 2 > root->cap_dirs) {
		size_t cap = root->cap_dirs ? root->cap_dirs * 2 : 1024;
		char **nd = calloc(cap, sizeof(char *));

		if (!nd)
			return;
		for (size_t j = 0; j < root->cap_dirs; j++) {
			char *d = root->dirs[j];

			if (!d)
				continue;
			for (i = hash_path(d, strlen(d)) & (cap - 1); nd[i];
				i = (i + 1) & (cap - 1))
				;
			nd[i] = d;
		}
		free(root->dirs);
		root->dirs = nd;
		root->cap_dirs = cap;
	}
	for (i = hash_path(path, n) & (root->cap_dirs - 1); root->dirs[i];
		i = (i + 1) & (root->cap_dirs - 1))
		;
	root->dirs[i] = strndup(path, n);
	if (root->dirs[i])
		root->n_dirs++;
}

int gpv_root_new(const char *dir, struct gpv_root **ret)
{
	struct gpv_root *root;
	char *abs;

	if (!dir || !*dir)
		dir = "/";
	abs = realpath(dir, NULL);
	if (!abs)
		return -errno;
	root = calloc(1, sizeof(*root));
	if (!root) {
		free(abs);
		return -ENOMEM;
	}
	root->dir = abs;
	root->fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root->fd < 0) {
		int r = -errno;

		gpv_root_free(root);
		return r;
	}
	*ret = root;
	return 0;
}

struct gpv_root *gpv_root_free(struct gpv_root *root)
{
	if (!root)
		return NULL;
	if (root->fd >= 0)
		close(root->fd);
	for (size_t i = 0; i < root->cap_dirs; i++)
		free(root->dirs[i]);
	free(root->dirs);
	free(root->dir);
	free(root);
	return NULL;
}

const char *gpv_root_dir(const struct gpv_root *root)
{
	return root->dir;
}

bool gpv_root_is_host(const struct gpv_root *root)
{
	return streq(root->dir, "/");
}

int gpv_root_host_path(const struct gpv_root *root, const char *path, char **ret)
{
	while (*path == '/')
		path++;
	if (gpv_root_is_host(root))
		return gpv_asprintf(ret, "/%s", path);
	return gpv_asprintf(ret, "%s/%s", root->dir, path);
}

/*
 * A regular file standing in for a symlink: short, one line, no newline, and a path that
 * climbs ("../") or starts at the root. Real sysfs attributes always end in a newline.
 */
static int recorded_link(int dirfd, const char *name, const struct stat *st, char **ret)
{
	char buf[PATH_MAX];
	ssize_t n;
	int fd;

	if (!S_ISREG(st->st_mode) || st->st_size < 2 || st->st_size >= PATH_MAX)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2)
		return 0;
	buf[n] = '\0';
	if (!startswith(buf, "../") && !startswith(buf, "./") && buf[0] != '/')
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= ' ')
			return 0;
	*ret = strdup(buf);
	return *ret ? 1 : -ENOMEM;
}

/* Reads a link's target, whether a real symlink or a recorded one. */
static int link_target(int dirfd, const char *name, const struct stat *st, char **ret)
{
	if (S_ISLNK(st->st_mode)) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);

		if (n < 0)
			return -errno;
		buf[n] = '\0';
		*ret = strdup(buf);
		return *ret ? 1 : -ENOMEM;
	}
	return recorded_link(dirfd, name, st, ret);
}

/*
 * Walks path component by component below the root. The canonical result is built in canon
 * (always starting with "/"), the yet-unwalked rest lives in a work buffer that link targets
 * are spliced into.
 */
int gpv_root_resolve(struct gpv_root *root, const char *path, char **ret)
{
	char canon[PATH_MAX] = "/", work[PATH_MAX * 2];
	size_t clen = 1;
	int hops = 0;

	if (strlen(path) >= sizeof(work))
		return -ENAMETOOLONG;
	strcpy(work, path);

	for (;;) {
		char *p = work, comp[NAME_MAX + 1], *target = NULL;
		size_t n, parent_len;
		struct stat st;
		int r;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		memmove(work, p + n, strlen(p + n) + 1);

		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			if (clen == 1)
				return -EXDEV;
			while (clen > 1 && canon[clen - 1] != '/')
				clen--;
			if (clen > 1)
				clen--;
			canon[clen] = '\0';
			continue;
		}
		if (clen + 1 + n >= sizeof(canon))
			return -ENAMETOOLONG;
		parent_len = clen;
		if (clen > 1)
			canon[clen++] = '/';
		memcpy(canon + clen, comp, n + 1);

		if (known_dir(root, canon, clen + n)) {
			clen += n;
			continue;
		}
		if (fstatat(root->fd, canon + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		r = link_target(root->fd, canon + 1, &st, &target);
		if (r < 0)
			return r;
		if (r == 0) {
			clen += n;
			if (S_ISDIR(st.st_mode))
				remember_dir(root, canon, clen);
			/* Only a directory can have components below it. */
			if (!S_ISDIR(st.st_mode) && work[strspn(work, "/")] != '\0')
				return -ENOTDIR;
			continue;
		}
		if (++hops > MAX_LINK_HOPS) {
			free(target);
			return -ELOOP;
		}
		/* Drop the link's own name, then walk its target ahead of the rest. */
		clen = parent_len;
		canon[clen] = '\0';
		if (target[0] == '/') {
			clen = 1;
			canon[1] = '\0';
		}
		if (strlen(target) + 1 + strlen(work) >= sizeof(work)) {
			free(target);
			return -ENAMETOOLONG;
		}
		memmove(work + strlen(target) + 1, work, strlen(work) + 1);
		memcpy(work, target, strlen(target));
		work[strlen(target)] = '/';
		free(target);
	}
	*ret = strdup(canon);
	return *ret ? 0 : -ENOMEM;
}

int gpv_root_open(struct gpv_root *root, const char *path, int flags)
{
	_cleanup_free_ char *canon = NULL;
	int r, fd;

	r = gpv_root_resolve(root, path, &canon);
	if (r < 0)
		return r;
	fd = openat(root->fd, streq(canon, "/") ? "." : canon + 1, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* A short read means the end of the file for sysfs attributes, which the kernel hands over in
 * one piece, and for files on disk; not for /proc, which comes a page at a time. */
static int read_fd(int fd, size_t max, bool short_is_eof, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > max) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int r = errno == EINTR ? 0 : -errno;

			if (r == 0)
				continue;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (short_is_eof && len < cap)
			break;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int gpv_root_read(struct gpv_root *root, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = gpv_root_open(root, path, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return fd;
	return read_fd(fd, max, false, ret, ret_len);
}

int gpv_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	return read_fd(fd, max, true, ret, ret_len);
}

int gpv_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	return read_fd(fd, max, false, ret, ret_len);
}

int gpv_read_attr_at(int dirfd, const char *name, char **ret)
{
	char *s;
	int r = gpv_read_at(dirfd, name, GPV_ATTR_MAX, &s, NULL);

	if (r < 0)
		return r;
	if (memchr(s, '\0', strlen(s)) != NULL) {
		free(s);
		return -EINVAL;
	}
	*ret = gpv_strip(s);
	return 0;
}

int gpv_readlink_at(int dirfd, const char *name, char **ret)
{
	char buf[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	/* Most links are real: try that first, and stat only what is not one. */
	n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
	if (n >= 0) {
		buf[n] = '\0';
		*ret = strdup(buf);
		return *ret ? 0 : -ENOMEM;
	}
	if (errno != EINVAL)
		return -errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	r = link_target(dirfd, name, &st, ret);
	if (r == 0)
		return -EINVAL;
	return r < 0 ? r : 0;
}

int gpv_readlink_base_at(int dirfd, const char *name, char **ret)
{
	_cleanup_free_ char *t = NULL;
	const char *b;
	int r = gpv_readlink_at(dirfd, name, &t);

	if (r < 0)
		return r;
	gpv_strip(t);
	while (strlen(t) > 1 && t[strlen(t) - 1] == '/')
		t[strlen(t) - 1] = '\0';
	b = strrchr(t, '/');
	b = b ? b + 1 : t;
	if (!*b || streq(b, "..") || streq(b, "."))
		return -EINVAL;
	*ret = strdup(b);
	return *ret ? 0 : -ENOMEM;
}

int gpv_root_exists(struct gpv_root *root, const char *path)
{
	_cleanup_free_ char *canon = NULL;

	return gpv_root_resolve(root, path, &canon);
}

bool gpv_exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_fd(int fd, char ***ret, size_t *ret_n)
{
	gpv_strv names = {0};
	struct dirent *de;
	DIR *d = fdopendir(fd);
	int r = 0;

	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = gpv_strv_push(&names, de->d_name);
		if (r < 0)
			break;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r < 0) {
		gpv_strv_clear(&names);
		return r;
	}
	if (!names.v) {
		names.v = calloc(1, sizeof(char *));
		if (!names.v)
			return -ENOMEM;
	}
	qsort(names.v, names.n, sizeof(char *), cmp_names);
	*ret = names.v;
	if (ret_n)
		*ret_n = names.n;
	return 0;
}

int gpv_root_list(struct gpv_root *root, const char *path, char ***ret, size_t *ret_n)
{
	int fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return fd;
	return list_fd(fd, ret, ret_n);
}

int gpv_list_at(int dirfd, const char *name, char ***ret, size_t *ret_n)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	return list_fd(fd, ret, ret_n);
}

void gpv_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int gpv_root_write(struct gpv_root *root, const char *path, const char *value)
{
	_cleanup_close_ int fd = gpv_root_open(root, path, O_WRONLY | O_TRUNC);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return fd;
	/* A sysfs store method sees exactly one write: no retries of partial writes. */
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Splits path into its resolved parent (canonical, inside the root) and its last name. */
static int resolve_parent(struct gpv_root *root, const char *path, char **ret_parent,
	const char **ret_name)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	size_t off;
	int r;

	if (!dir)
		return -ENOMEM;
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	slash = strrchr(dir, '/');
	if (!slash || !slash[1] || streq(slash + 1, ".") || streq(slash + 1, ".."))
		return -EINVAL;
	off = (size_t)(slash - dir) + 1;
	*slash = '\0';
	r = gpv_root_resolve(root, *dir ? dir : "/", ret_parent);
	if (r == 0)
		*ret_name = path + off;
	return r;
}

/* The path openat() wants for name in a canonical parent: relative to the root's fd. */
static int at_path(const char *parent, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s%s", parent + 1, parent[1] ? "/" : "", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The openat() path, relative to the root's fd, of the last component of path in its
 * resolved parent folder. */
static int child_at(struct gpv_root *root, const char *path, char *buf, size_t size)
{
	_cleanup_free_ char *parent = NULL;
	const char *name = NULL;
	int r = resolve_parent(root, path, &parent, &name);

	return r < 0 ? r : at_path(parent, name, buf, size);
}

int gpv_root_mkdir_p(struct gpv_root *root, const char *path, mode_t mode)
{
	_cleanup_free_ char *canon = NULL;
	char buf[PATH_MAX];
	int r = gpv_root_resolve(root, path, &canon);

	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return r;
	r = child_at(root, path, buf, sizeof(buf));
	if (r == -ENOENT) {
		/* Make the parent first, then come back for this one. */
		const char *slash = strrchr(path, '/');
		_cleanup_free_ char *up = slash ? strndup(path, (size_t)(slash - path)) : NULL;

		if (!up)
			return slash ? -ENOMEM : -EINVAL;
		r = gpv_root_mkdir_p(root, *up ? up : "/", mode);
		if (r == 0)
			r = child_at(root, path, buf, sizeof(buf));
	}
	if (r < 0)
		return r;
	if (mkdirat(root->fd, buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* fsyncs the folder that holds the relative path at, so that a rename in it is on disk. */
static int sync_parent(struct gpv_root *root, const char *at)
{
	const char *slash = strrchr(at, '/');
	char dir[PATH_MAX];
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - at) : 1, slash ? at : ".");
	fd = openat(root->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int gpv_root_replace(struct gpv_root *root, const char *path, const char *content, unsigned flags)
{
	char buf[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len = strlen(content), done = 0;
	int fd, r;

	r = child_at(root, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", buf);
	fd = openat(root->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, content + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			close(fd);
			unlinkat(root->fd, tmp, 0);
			return r;
		}
		done += (size_t)n;
	}
	/* A file that must outlive a power cut is on disk before the rename makes it the
	 * file, and the rename is on disk before the change it announces is made. */
	if ((flags & GPV_ROOT_DURABLE) && fsync(fd) < 0) {
		r = -errno;
		close(fd);
		unlinkat(root->fd, tmp, 0);
		return r;
	}
	close(fd);
	if (renameat(root->fd, tmp, root->fd, buf) < 0) {
		r = -errno;
		unlinkat(root->fd, tmp, 0);
		return r;
	}
	if (flags & GPV_ROOT_DURABLE)
		return sync_parent(root, buf);
	return 0;
}

int gpv_root_unlink(struct gpv_root *root, const char *path)
{
	char buf[PATH_MAX];
	int r = child_at(root, path, buf, sizeof(buf));

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (unlinkat(root->fd, buf, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int gpv_root_open_create(struct gpv_root *root, const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX];
	int fd, r = child_at(root, path, buf, sizeof(buf));

	if (r < 0)
		return r;
	fd = openat(root->fd, buf, flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : fd;
}
