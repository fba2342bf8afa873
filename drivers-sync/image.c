/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers-sync/image.h"
#include "drivers-sync/tar.h"
#include "lib/guestfs.h"
#include "lib/hash.h"
#include "lib/image.h"
#include "lib/log.h"

#define TMP_PREFIX ".gpupv-new."
#define MANIFEST_MAX (64 * 1024 * 1024)
/* As the kernel's path walk. */
#define MAX_LINKS 40

struct resolved {
	char *dir;  /* a folder as the sync names it: "/lib/firmware/nvidia" */
	char *real; /* where it is, with no link on the way: "/usr/lib/firmware/nvidia" */
};

/* What a path was when the plan read its folder (gpv_ds_image_ops.prefetch): a stat or an
 * error, until the first change to the guest. */
struct cached {
	char *path;
	int err;
	struct gpv_ds_file f;
};

struct gpv_ds_image {
	struct gpv_guestfs *g;
	struct gpv_guestfs_os os;
	char *path;
	bool readonly;
	bool windows;	      /* names are found whatever their case; no POSIX modes */
	const char *manifest; /* the manifest's path in the guest */
	struct resolved *dirs; /* folders resolved so far (the sync never removes one) */
	size_t n_dirs;
	struct cached *cache; /* sorted by path */
	size_t n_cache;
};

/* A disk's format from its first bytes (qemu's own guess is never asked for): an image gpupv
 * does not read is refused before the appliance starts. */
static int probe(const char *path, const char **ret, char **ret_err)
{
	const char *other = NULL;
	int r = gpv_image_probe(path, ret, &other);

	if (r == -EMEDIUMTYPE)
		*ret_err = gpv_strf("'%s' is a %s image, which drivers-sync does not write; convert "
				    "it (qemu-img convert -O qcow2 '%s' NEW.qcow2) or give --format",
			path, other, path);
	else if (r == -ENODATA)
		*ret_err = gpv_strf("the image '%s' is empty", path);
	else if (r < 0)
		*ret_err = gpv_strf("cannot open the image '%s': %s", path, strerror(-r));
	else
		gpv_debug("drivers-sync: %s: format %s (from its first bytes)", path, *ret);
	return r;
}

static int launch(struct gpv_ds_image *img, const char *const *paths,
	const char *const *formats, size_t n, char **ret_err)
{
	_cleanup_free_ const char **fmt = calloc(n, sizeof(*fmt));
	_cleanup_free_ char *new_err = NULL;
	const char *path = img->path;
	int r;

	if (!fmt)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		fmt[i] = formats && formats[i] && *formats[i] ? formats[i] : NULL;
		if (!fmt[i] && (r = probe(paths[i], &fmt[i], ret_err)) < 0)
			return r;
	}
	r = gpv_guestfs_new(&img->g, &new_err);
	if (r == -EOPNOTSUPP) {
		*ret_err = gpv_strf("cannot load libguestfs (%s); install the Debian package "
				    "libguestfs0",
			GPV_LIBGUESTFS_SONAME);
		return r;
	}
	if (r < 0) {
		*ret_err = gpv_strf("cannot start libguestfs: %s", new_err ? new_err : strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = gpv_guestfs_add_drive(img->g, paths[i], fmt[i], img->readonly);
		if (r < 0) {
			const char *why = gpv_guestfs_last_error(img->g);

			*ret_err = gpv_strf("cannot open the image '%s': %s", paths[i],
				why && r == -EIO ? why : strerror(-r));
			return r;
		}
	}
	gpv_debug("drivers-sync: %s: starting libguestfs's appliance%s", path,
		img->readonly ? " (read-only)" : "");
	r = gpv_guestfs_launch(img->g);
	if (r == -EBUSY) {
		*ret_err = gpv_strf("the image '%s' is in use by another process (a running VM?): "
				    "qemu says '%s'; shut it down first",
			path, gpv_guestfs_last_error(img->g));
		return r;
	}
	if (r < 0) {
		const char *why = gpv_guestfs_last_error(img->g);

		*ret_err = gpv_strf("libguestfs cannot open the image '%s': %s "
				    "('libguestfs-test-tool' says whether libguestfs works on "
				    "this host)",
			path, why ? why : strerror(-r));
		return r;
	}
	return 0;
}

static int inspect(struct gpv_ds_image *img, char **ret_err)
{
	const char *path = img->path;
	int r = gpv_guestfs_mount_os(img->g, img->readonly, &img->os);

	if (r == -ENOENT) {
		*ret_err = gpv_strf("the image '%s' holds no operating system that libguestfs "
				    "recognises, nor a single file system to take as its root",
			path);
		return r;
	}
	if (r == -ENOTUNIQ) {
		*ret_err = gpv_strf("the image '%s' holds several operating systems; gpupv does "
				    "not guess which one to sync",
			path);
		return r;
	}
	if (r < 0) {
		const char *why = gpv_guestfs_last_error(img->g);

		*ret_err = gpv_strf("cannot inspect or mount the image '%s': %s", path,
			why ? why : strerror(-r));
		return r;
	}
	gpv_debug("drivers-sync: %s: %s%s%s, root %s", path,
		img->os.type ? img->os.type : "no operating system, one file system",
		img->os.product ? ": " : "", img->os.product ? img->os.product : "", img->os.root);
	img->manifest = GPV_DS_MANIFEST_PATH;
	if (img->os.type && streq(img->os.type, "windows")) {
		img->windows = true;
		img->manifest = GPV_DS_MANIFEST_PATH_WINDOWS;
		return 0;
	}
	if (img->os.type && !streq(img->os.type, "linux")) {
		*ret_err = gpv_strf("the image '%s' holds a %s guest (%s); drivers-sync supports "
				    "Linux guests",
			path, img->os.type, img->os.product ? img->os.product : "unknown version");
		return -EOPNOTSUPP;
	}
	return 0;
}

int gpv_ds_image_open_disks(const char *const *paths, const char *const *formats, size_t n,
	bool readonly, struct gpv_ds_image **ret, char **ret_err)
{
	struct gpv_ds_image *img;
	int r;

	*ret_err = NULL;
	if (n == 0)
		return -EINVAL;
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(paths[0]))) {
		free(img);
		return -ENOMEM;
	}
	img->readonly = readonly;
	r = launch(img, paths, formats, n, ret_err);
	if (r >= 0)
		r = inspect(img, ret_err);
	if (r < 0) {
		if (!*ret_err)
			*ret_err = gpv_strf("%s", strerror(-r));
		gpv_ds_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}

int gpv_ds_image_open(const char *path, const char *format, bool readonly,
	struct gpv_ds_image **ret, char **ret_err)
{
	return gpv_ds_image_open_disks(&path, &format, 1, readonly, ret, ret_err);
}

const char *gpv_ds_image_os_type(const struct gpv_ds_image *img)
{
	return img->os.type;
}

const char *gpv_ds_image_os_name(const struct gpv_ds_image *img)
{
	return img->os.product;
}

const char *gpv_ds_image_manifest_path(const struct gpv_ds_image *img)
{
	return img->manifest;
}

static void drop_cache(struct gpv_ds_image *img)
{
	for (size_t i = 0; i < img->n_cache; i++) {
		free(img->cache[i].path);
		gpv_ds_file_clear(&img->cache[i].f);
	}
	free(img->cache);
	img->cache = NULL;
	img->n_cache = 0;
}

static void release(struct gpv_ds_image *img)
{
	drop_cache(img);
	for (size_t i = 0; i < img->n_dirs; i++) {
		free(img->dirs[i].dir);
		free(img->dirs[i].real);
	}
	free(img->dirs);
	gpv_guestfs_os_clear(&img->os);
	free(img->path);
	free(img);
}

int gpv_ds_image_close(struct gpv_ds_image *img, char **ret_err)
{
	int r;

	*ret_err = NULL;
	if (!img)
		return 0;
	r = gpv_guestfs_shutdown(img->g);
	if (r < 0) {
		const char *why = gpv_guestfs_last_error(img->g);

		*ret_err = gpv_strf("cannot write the changes back to the image '%s': %s",
			img->path, why ? why : strerror(-r));
	}
	gpv_guestfs_free(img->g);
	release(img);
	return r;
}

struct gpv_ds_image *gpv_ds_image_free(struct gpv_ds_image *img)
{
	if (img) {
		gpv_guestfs_free(img->g);
		release(img);
	}
	return NULL;
}

/* ---- paths: resolved beneath the guest's root ---- */

/* dir + "/" + name, for a dir that is "/" or does not end in '/'. */
static char *join(const char *dir, const char *name)
{
	return gpv_strf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
}

/*
 * Walks todo (relative) from real (a folder with no link on the way: "" for the root, else
 * "/a/b", in a buffer of PATH_MAX + 1), following links as openat2(RESOLVE_BENEATH) would: an
 * absolute one, or ".." above the root, is -EXDEV. With create, a missing folder is made.
 */
static int walk(struct gpv_ds_image *img, char *real, const char *todo_in, bool create)
{
	_cleanup_free_ char *todo = strdup(todo_in);
	size_t len = strlen(real);
	unsigned links = 0;
	const char *p;

	if (!todo)
		return -ENOMEM;
	p = todo;
	for (;;) {
		_cleanup_free_ char *target = NULL;
		const char *c = p, *slash;
		size_t clen, at = len;
		struct stat st;
		char *next;
		int r;

		while (*c == '/')
			c++;
		if (!*c)
			return 0;
		slash = strchr(c, '/');
		clen = slash ? (size_t)(slash - c) : strlen(c);
		p = c + clen;
		if (clen == 1 && c[0] == '.')
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			if (len == 0) {
				gpv_debug("drivers-sync: a link leads above the guest's root");
				return -EXDEV;
			}
			while (len > 0 && real[--len] != '/')
				;
			real[len] = '\0';
			continue;
		}
		if (len + 1 + clen > PATH_MAX)
			return -ENAMETOOLONG;
		real[len] = '/';
		memcpy(real + len + 1, c, clen);
		len += 1 + clen;
		real[len] = '\0';
		r = gpv_guestfs_lstat(img->g, real, &st);
		if (r == -ENOENT && img->windows) {
			/* Windows finds "programdata" as "ProgramData": so does gpupv. */
			_cleanup_free_ char *found = NULL;

			if (gpv_guestfs_case_path(img->g, real, &found) >= 0 &&
				strlen(found) == len && !streq(found, real)) {
				memcpy(real, found, len);
				r = gpv_guestfs_lstat(img->g, real, &st);
			}
		}
		if (r == -ENOENT && create) {
			r = gpv_guestfs_mkdir(img->g, real);
			if (r >= 0)
				continue;
		}
		if (r < 0)
			return r;
		if (S_ISDIR(st.st_mode))
			continue;
		if (!S_ISLNK(st.st_mode))
			return -ENOTDIR;
		if (++links > MAX_LINKS)
			return -ELOOP;
		r = gpv_guestfs_readlink(img->g, real, &target);
		if (r < 0)
			return r;
		if (target[0] == '/') {
			gpv_debug("drivers-sync: %s in the guest is a link to %s: absolute, not "
				  "followed",
				real, target);
			return -EXDEV;
		}
		if (!target[0])
			return -ENOENT;
		/* The link's target, then the rest, from the link's folder. */
		len = at;
		real[len] = '\0';
		next = gpv_strf("%s%s", target, p);
		if (!next)
			return -ENOMEM;
		free(todo);
		todo = next;
		p = todo;
	}
}

/* Where the folder dir (absolute, "/" for the root) is in the guest, with no link on the way.
 * Caller frees *ret. */
static int resolve_dir(struct gpv_ds_image *img, const char *dir, bool create, char **ret)
{
	_cleanup_free_ char *parent = NULL, *pr = NULL, *plain = NULL;
	char real[PATH_MAX + 1];
	const char *slash;
	struct resolved *dirs;
	int r;

	if (streq(dir, "/")) {
		*ret = strdup("/");
		return *ret ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < img->n_dirs; i++)
		if (streq(img->dirs[i].dir, dir)) {
			*ret = strdup(img->dirs[i].real);
			return *ret ? 0 : -ENOMEM;
		}
	/* The parent first (from the cache, mostly), then the last component from there. */
	slash = strrchr(dir, '/');
	parent = slash == dir ? strdup("/") : strndup(dir, (size_t)(slash - dir));
	if (!parent)
		return -ENOMEM;
	r = resolve_dir(img, parent, create, &pr);
	if (r < 0)
		return r;
	snprintf(real, sizeof(real), "%s", streq(pr, "/") ? "" : pr);
	r = walk(img, real, slash + 1, create);
	if (r < 0)
		return r;
	dirs = realloc(img->dirs, (img->n_dirs + 1) * sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	img->dirs = dirs;
	dirs[img->n_dirs].dir = strdup(dir);
	dirs[img->n_dirs].real = strdup(real[0] ? real : "/");
	if (!dirs[img->n_dirs].dir || !dirs[img->n_dirs].real) {
		free(dirs[img->n_dirs].dir);
		free(dirs[img->n_dirs].real);
		return -ENOMEM;
	}
	/* Said where a link was followed ("/lib is /usr/lib"), not for each folder below. */
	plain = join(pr, slash + 1);
	if (plain && !streq(plain, dirs[img->n_dirs].real))
		gpv_debug("drivers-sync: %s is %s in the guest", dir, dirs[img->n_dirs].real);
	*ret = strdup(dirs[img->n_dirs++].real);
	return *ret ? 0 : -ENOMEM;
}

/*
 * The resolved path of path's file (its folder resolved, the last component as it is, never
 * followed) and of its temporary name beside it (ret_tmp may be NULL). Caller frees.
 */
static int locate(struct gpv_ds_image *img, const char *path, bool create, char **ret,
	char **ret_tmp)
{
	_cleanup_free_ char *dir = NULL, *real = NULL, *full = NULL, *tmp = NULL;
	const char *slash, *base;
	int r;

	if (!gpv_ds_path_valid(path))
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash + 1;
	if (strlen(TMP_PREFIX) + strlen(base) > NAME_MAX)
		return -ENAMETOOLONG;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	r = resolve_dir(img, dir, create, &real);
	if (r < 0)
		return r;
	full = join(real, base);
	if (ret_tmp)
		tmp = gpv_strf("%s/" TMP_PREFIX "%s", streq(real, "/") ? "" : real, base);
	if (!full || (ret_tmp && !tmp))
		return -ENOMEM;
	*ret = TAKE_PTR(full);
	if (ret_tmp)
		*ret_tmp = TAKE_PTR(tmp);
	return 0;
}

/* ---- the operations ---- */

/* A guest file's stat as the engine compares it: -EISDIR for anything not a file or a link. */
static int to_file(const struct gpv_ds_image *img, const struct stat *st, char *target,
	struct gpv_ds_file *ret)
{
	struct gpv_ds_file f = {0};

	f.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	if (S_ISLNK(st->st_mode)) {
		f.type = GPV_DS_LINK;
		f.mode = 0777;
		f.target = target;
	} else if (S_ISREG(st->st_mode)) {
		f.type = GPV_DS_REG;
		/* NTFS has no POSIX modes: every file is taken as the mode a Windows set gives. */
		f.mode = img->windows ? 0644 : st->st_mode & 07777;
		f.size = (uint64_t)st->st_size;
	} else {
		return -EISDIR;
	}
	*ret = f;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct cached *)a)->path, ((const struct cached *)b)->path);
}

static int image_lstat(void *t, const char *path, struct gpv_ds_file *ret)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL, *target = NULL;
	const struct cached key = { .path = (char *)path }, *c = NULL;
	struct stat st;
	int r;

	if (img->n_cache)
		c = bsearch(&key, img->cache, img->n_cache, sizeof(*c), by_path);
	if (c) {
		if (c->err < 0)
			return c->err;
		*ret = c->f;
		ret->path = NULL;
		if (c->f.target && !(ret->target = strdup(c->f.target)))
			return -ENOMEM;
		return 0;
	}
	r = locate(img, path, false, &full, NULL);
	if (r < 0)
		return r;
	r = gpv_guestfs_lstat(img->g, full, &st);
	if (r >= 0 && S_ISLNK(st.st_mode))
		r = gpv_guestfs_readlink(img->g, full, &target);
	if (r >= 0)
		r = to_file(img, &st, target, ret);
	if (r >= 0)
		target = NULL;
	return r;
}

/* The folder part of a path ("/usr/lib" of "/usr/lib/libcuda.so.1"); its length. */
static size_t dir_len(const char *path)
{
	size_t l = (size_t)(strrchr(path, '/') - path);

	return l ? l : 1;
}

static int by_folder(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = dir_len(x), ly = dir_len(y);
	int c = strncmp(x, y, lx < ly ? lx : ly);

	if (c)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

/* One folder's paths (same folder, at least one): resolved once, read in one lstat_list. */
static int prefetch_folder(struct gpv_ds_image *img, const char *const *paths, size_t n)
{
	_cleanup_free_ char *dir = strndup(paths[0], dir_len(paths[0])), *real = NULL;
	_cleanup_free_ const char **names = calloc(n, sizeof(*names));
	_cleanup_free_ struct gpv_guestfs_entry *e = calloc(n, sizeof(*e));
	int r;

	if (!dir || !names || !e)
		return -ENOMEM;
	r = resolve_dir(img, dir, false, &real);
	for (size_t i = 0; i < n; i++)
		names[i] = strrchr(paths[i], '/') + 1;
	if (r == -ENOENT || r == -ENOTDIR || r == -EXDEV || r == -ELOOP)
		/* Every path in it would find the same: no such folder, a link out... */
		for (size_t i = 0; i < n; i++)
			e[i].err = r;
	else if (r >= 0) {
		r = gpv_guestfs_lstat_list(img->g, real, names, n, e);
		gpv_debug("drivers-sync: %s: %zu paths read at once (lstatnslist)", dir, n);
	} else {
		return r;
	}
	if (r < 0 && e[0].err == 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct cached *c = &img->cache[img->n_cache];

		*c = (struct cached){ .err = e[i].err };
		if (!(c->path = strdup(paths[i]))) {
			free(e[i].target);
			continue;
		}
		if (!c->err) {
			c->err = to_file(img, &e[i].st, e[i].target, &c->f);
			if (c->err < 0)
				free(e[i].target);
		}
		img->n_cache++;
	}
	return 0;
}

static void image_prefetch(void *t, const char *const *paths_in, size_t n)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ const char **paths = calloc(n ? n : 1, sizeof(*paths));
	size_t k = 0, unique = 0;
	int r = 0;

	drop_cache(img);
	if (!paths || !(img->cache = calloc(n ? n : 1, sizeof(*img->cache))))
		return;
	/* Only the paths locate() takes: any other is left to image_lstat(). */
	for (size_t i = 0; i < n; i++) {
		const char *p = paths_in[i];

		if (gpv_ds_path_valid(p) && strlen(TMP_PREFIX) + strlen(strrchr(p, '/') + 1) <= NAME_MAX)
			paths[k++] = p;
	}
	qsort(paths, k, sizeof(*paths), by_folder);
	/* Once each. */
	for (size_t i = 0; i < k; i++)
		if (!unique || !streq(paths[unique - 1], paths[i]))
			paths[unique++] = paths[i];
	k = unique;
	for (size_t i = 0; i < k && r >= 0;) {
		size_t j = i + 1, l = dir_len(paths[i]);

		while (j < k && dir_len(paths[j]) == l && strncmp(paths[i], paths[j], l) == 0)
			j++;
		r = prefetch_folder(img, paths + i, j - i);
		i = j;
	}
	if (r < 0) {
		gpv_debug("drivers-sync: %s: cannot read the guest's folders at once (%s): one file "
			  "at a time",
			img->path, strerror(-r));
		drop_cache(img);
		return;
	}
	qsort(img->cache, img->n_cache, sizeof(*img->cache), by_path);
}

static int image_hash(void *t, const char *path, uint8_t out[GPV_DS_HASH_LEN])
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r = locate(img, path, false, &full, NULL);

	if (r < 0)
		return r;
	/* A regular file only: a link there is never followed. */
	r = gpv_guestfs_lstat(img->g, full, &st);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -ELOOP;
	fd = memfd_create("gpupv-guest-file", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = gpv_guestfs_download(img->g, full, fd);
	if (r < 0)
		return r;
	return gpv_hash_fd(fd, out);
}

/* ---- stage: one tar stream of every new file, under its temporary name ---- */

struct tar_writer {
	int fd; /* the pipe's writing end, closed by the writer */
	const struct gpv_ds_file *const *files;
	char **names; /* each file's member name: its temporary path, relative */
	size_t n;
	int (*open_src)(void *ud, const struct gpv_ds_file *f);
	void *ud;
	int r;
};

static void *tar_thread(void *arg)
{
	struct tar_writer *w = arg;
	sigset_t pipe_sig;

	/* A reader that stopped early makes write() fail with EPIPE, not kill gpupv. */
	sigemptyset(&pipe_sig);
	sigaddset(&pipe_sig, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL);
	w->r = gpv_ds_tar_write(w->fd, w->files, (const char *const *)w->names, w->n, w->open_src,
		w->ud);
	close(w->fd);
	return NULL;
}

static int image_stage(void *t, const struct gpv_ds_file *const *files, size_t n,
	int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud)
{
	struct gpv_ds_image *img = t;
	struct tar_writer w = { .fd = -1, .files = files, .n = n, .open_src = open_src, .ud = ud };
	_cleanup_close_ int rfd = -1;
	int fds[2], r = 0;
	pthread_t thread;

	drop_cache(img);
	if (!n)
		return 0;
	w.names = calloc(n, sizeof(*w.names));
	if (!w.names)
		return -ENOMEM;
	/* Every folder made and resolved first, so that tar finds no link on the way; an old
	 * temporary file is removed (tar would replace it, but never a folder). */
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *full = NULL, *tmp = NULL;

		r = locate(img, files[i]->path, true, &full, &tmp);
		if (r >= 0) {
			r = gpv_guestfs_rm(img->g, tmp);
			if (r == -ENOENT)
				r = 0;
		}
		if (r >= 0 && !(w.names[i] = strdup(tmp + 1)))
			r = -ENOMEM;
	}
	if (r < 0)
		goto out;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	rfd = fds[0];
	w.fd = fds[1];
	r = -pthread_create(&thread, NULL, tar_thread, &w);
	if (r < 0) {
		close(w.fd);
		goto out;
	}
	gpv_debug("drivers-sync: %s: %zu files in one tar stream", img->path, n);
	r = gpv_guestfs_tar_in(img->g, rfd, "/");
	/* A writer still writing sees the pipe closed and stops. */
	close(TAKE_FD(rfd));
	pthread_join(thread, NULL);
	/* The writer's error is the cause of tar's (a host file it could not read). */
	if (w.r < 0 && w.r != -EPIPE)
		r = w.r;
	else if (r >= 0 && w.r < 0)
		r = w.r;
out:
	for (size_t i = 0; i < n; i++)
		free(w.names[i]);
	free(w.names);
	return r;
}

static int image_unstage(void *t, const char *path)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL, *tmp = NULL;
	int r = locate(img, path, false, &full, &tmp);

	drop_cache(img);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r >= 0)
		r = gpv_guestfs_rm(img->g, tmp);
	return r == -ENOENT ? 0 : r;
}

static int image_commit(void *t, const char *path)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL, *tmp = NULL;
	int r = locate(img, path, false, &full, &tmp);

	drop_cache(img);
	return r < 0 ? r : gpv_guestfs_rename(img->g, tmp, full);
}

/* Removes what is at path if it is a folder (dir) or not (!dir): 0 when nothing is there,
 * -EISDIR or -ENOTDIR when it is the other kind. */
static int remove_entry(struct gpv_ds_image *img, const char *path, bool dir)
{
	_cleanup_free_ char *full = NULL;
	struct stat st;
	int r = locate(img, path, false, &full, NULL);

	drop_cache(img);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r >= 0)
		r = gpv_guestfs_lstat(img->g, full, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (!!S_ISDIR(st.st_mode) != dir)
		return dir ? -ENOTDIR : -EISDIR;
	r = dir ? gpv_guestfs_rmdir(img->g, full) : gpv_guestfs_rm(img->g, full);
	return r == -ENOENT ? 0 : r == -EEXIST && dir ? -ENOTEMPTY : r;
}

static int image_remove(void *t, const char *path)
{
	return remove_entry(t, path, false);
}

static int image_remove_dir(void *t, const char *path)
{
	return remove_entry(t, path, true);
}

static int image_flush(void *t)
{
	return gpv_guestfs_sync(((struct gpv_ds_image *)t)->g);
}

static int image_free_bytes(void *t, const char *path, uint64_t *ret)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *dir = NULL, *real = NULL;
	struct statvfs sv;
	int r;

	/* The file system of path's folder, or of the root when that is not there yet. */
	if (!streq(path, "/") && gpv_ds_path_valid(path)) {
		const char *slash = strrchr(path, '/');

		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		if (resolve_dir(img, dir, false, &real) < 0)
			real = NULL;
	}
	r = gpv_guestfs_statvfs(img->g, real ? real : "/", &sv);
	if (r < 0)
		return r;
	*ret = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static int image_read_manifest(void *t, char **ret, size_t *ret_len)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL;
	int r = locate(img, img->manifest, false, &full, NULL);

	if (r < 0)
		return r == -ENOTDIR ? -ENOENT : r;
	return gpv_guestfs_read_file(img->g, full, MANIFEST_MAX, ret, ret_len);
}

static int image_write_manifest(void *t, const char *text)
{
	struct gpv_ds_image *img = t;
	_cleanup_free_ char *full = NULL, *tmp = NULL;
	int r = locate(img, img->manifest, true, &full, &tmp);

	drop_cache(img);
	if (r < 0)
		return r;
	/* Removed first: an upload would follow a link left there. */
	r = gpv_guestfs_rm(img->g, tmp);
	if (r == -ENOENT)
		r = 0;
	if (r >= 0)
		r = gpv_guestfs_write_file(img->g, tmp, text, strlen(text), 0644);
	/* What was written before (the files) reaches the disk before the manifest says so. */
	if (r >= 0)
		r = gpv_guestfs_sync(img->g);
	if (r >= 0)
		r = gpv_guestfs_rename(img->g, tmp, full);
	if (r < 0) {
		(void)gpv_guestfs_rm(img->g, tmp);
		return r;
	}
	return gpv_guestfs_sync(img->g);
}

static const char *image_manifest_path(void *t)
{
	return ((struct gpv_ds_image *)t)->manifest;
}

int gpv_ds_image_run_once(struct gpv_ds_image *img, const char *name, const char *command)
{
	static const char *const keys[] = { "Microsoft", "Windows", "CurrentVersion", "RunOnce",
		NULL };
	_cleanup_free_ char *hive = NULL;
	struct stat st;
	int r;

	if (!img->windows)
		return -EOPNOTSUPP;
	if (img->readonly)
		return -EROFS;
	drop_cache(img);
	r = gpv_guestfs_case_path(img->g, "/Windows/System32/config/SOFTWARE", &hive);
	if (r >= 0)
		r = gpv_guestfs_lstat(img->g, hive, &st);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -ELOOP;
	gpv_debug("drivers-sync: %s: HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce "
		  "%s = %s (in %s)",
		img->path, name, command, hive);
	r = gpv_guestfs_hive_set_string(img->g, hive, keys, name, command);
	if (r >= 0)
		r = gpv_guestfs_sync(img->g);
	return r;
}

const struct gpv_ds_target_ops gpv_ds_image_ops = {
	.read_manifest = image_read_manifest,
	.write_manifest = image_write_manifest,
	.lstat = image_lstat,
	.prefetch = image_prefetch,
	.hash = image_hash,
	.stage = image_stage,
	.unstage = image_unstage,
	.commit = image_commit,
	.remove = image_remove,
	.remove_dir = image_remove_dir,
	.flush = image_flush,
	.free_bytes = image_free_bytes,
	.manifest_path = image_manifest_path,
};
