/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers-sync/store.h"
#include "lib/log.h"

#define MAX_DEPTH 16

void gpv_ds_package_clear(struct gpv_ds_package *p)
{
	free(p->vendor);
	free(p->version);
	gpv_strv_clear(&p->infs);
	*p = (struct gpv_ds_package){0};
}

bool gpv_ds_package_version_valid(const char *v)
{
	bool digit = false;
	size_t n = 0;

	if (!v || !*v)
		return false;
	for (; v[n]; n++) {
		if (v[n] >= '0' && v[n] <= '9')
			digit = true;
		else if (v[n] == '.' && digit)
			digit = false;
		else
			return false;
	}
	return digit && n <= 32;
}

int gpv_ds_version_cmp(const char *a, const char *b)
{
	for (;;) {
		char *ea, *eb;
		unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
		bool more_a = *ea == '.', more_b = *eb == '.';

		if (x != y)
			return x < y ? -1 : 1;
		if (!more_a || !more_b)
			return more_a - more_b; /* 1.2 before 1.2.1 */
		a = ea + 1;
		b = eb + 1;
	}
}

static bool is_inf(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcasecmp(name + n - 4, ".inf") == 0;
}

/* Copies the tree under sfd into dfd (both open folders), counting files and bytes and
 * listing the INF files. Links and anything but files and folders are refused. */
static int copy_tree(int sfd, int dfd, const char *rel, int depth, struct gpv_ds_package *pkg)
{
	DIR *dir;
	struct dirent *e;
	int r = 0, fd = dup(sfd);

	if (fd < 0)
		return -errno;
	if (depth > MAX_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);
	while (r >= 0 && (e = readdir(dir))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		sub = *rel ? gpv_strf("%s/%s", rel, e->d_name) : strdup(e->d_name);
		if (!sub) {
			r = -ENOMEM;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s2 = -1, d2 = -1;

			if (mkdirat(dfd, e->d_name, 0755) < 0) {
				r = -errno;
				break;
			}
			s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0) {
				r = -errno;
				break;
			}
			r = copy_tree(s2, d2, sub, depth + 1, pkg);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = -1, out = -1;
			char buf[1 << 16];
			ssize_t n;

			in = openat(sfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			out = openat(dfd, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0644);
			if (in < 0 || out < 0) {
				r = -errno;
				break;
			}
			while ((n = read(in, buf, sizeof(buf))) > 0)
				for (ssize_t off = 0, w; off < n; off += w)
					if ((w = write(out, buf + off, (size_t)(n - off))) < 0) {
						r = -errno;
						break;
					}
			if (n < 0)
				r = -errno;
			if (r >= 0 && close(TAKE_FD(out)) < 0)
				r = -errno;
			pkg->files++;
			pkg->bytes += (uint64_t)st.st_size;
			if (r >= 0 && is_inf(e->d_name))
				r = gpv_strv_push(&pkg->infs, sub);
		} else {
			gpv_debug("drivers-store: %s is not a file or a folder", sub);
			r = -ELOOP;
		}
	}
	closedir(dir);
	return r;
}

/* Removes what is under dfd's entry name, recursively, never following a link. */
static int remove_tree(int dfd, const char *name, int depth)
{
	_cleanup_close_ int fd = -1;
	DIR *dir;
	struct dirent *e;
	int r = 0;

	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir)
		return -errno;
	fd = -1; /* owned by dir now */
	while (r >= 0 && (e = readdir(dir)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			r = remove_tree(dirfd(dir), e->d_name, depth + 1);
	closedir(dir);
	if (r >= 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

static int open_vendor_dir(struct gpv_root *root, const char *vendor, bool create)
{
	_cleanup_free_ char *dir = gpv_strf("%s/%s", GPV_DS_STORE_DIR, vendor);
	int r;

	if (!dir)
		return -ENOMEM;
	if (create && (r = gpv_root_mkdir_p(root, dir, 0755)) < 0)
		return r;
	return gpv_root_open(root, dir, O_RDONLY | O_DIRECTORY);
}

int gpv_ds_store_add(struct gpv_root *root, const char *src, const char *vendor,
	const char *version, struct gpv_ds_package *ret, char **ret_err)
{
	struct gpv_ds_package pkg = {0};
	_cleanup_close_ int sfd = -1, vfd = -1, tfd = -1;
	char tmp[64];
	struct stat st;
	int r;

	*ret_err = NULL;
	if (!gpv_ds_vendor_valid(vendor) || !gpv_ds_package_version_valid(version))
		return -EINVAL;
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	vfd = open_vendor_dir(root, vendor, true);
	if (vfd < 0)
		return vfd;
	if (fstatat(vfd, version, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	snprintf(tmp, sizeof(tmp), ".%s.new-%d", version, (int)getpid());
	(void)remove_tree(vfd, tmp, 0);
	if (mkdirat(vfd, tmp, 0755) < 0)
		return -errno;
	tfd = openat(vfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = tfd < 0 ? -errno : copy_tree(sfd, tfd, "", 0, &pkg);
	if (r >= 0 && pkg.infs.n == 0) {
		*ret_err = gpv_strf("'%s' holds no .inf file: give the folder of an extracted "
				    "driver package (the one with the .inf files, as 'pnputil "
				    "/add-driver' takes)",
			src);
		r = -ENOENT;
	}
	if (r >= 0 && renameat(vfd, tmp, vfd, version) < 0)
		r = -errno;
	if (r < 0) {
		(void)remove_tree(vfd, tmp, 0);
		gpv_ds_package_clear(&pkg);
		return r;
	}
	(void)fsync(vfd);
	pkg.vendor = strdup(vendor);
	pkg.version = strdup(version);
	if (!pkg.vendor || !pkg.version) {
		gpv_ds_package_clear(&pkg);
		return -ENOMEM;
	}
	if (ret)
		*ret = pkg;
	else
		gpv_ds_package_clear(&pkg);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a package in the store: its files, bytes and INFs. */
static int describe(int vfd, const char *vendor, const char *version, struct gpv_ds_package *ret)
{
	struct gpv_ds_package pkg = {0};
	_cleanup_close_ int fd = openat(vfd, version, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	/* A walk that copies nothing: the same counting as an add. */
	{
		struct walk {
			int fd;
			char *rel;
		} stack[MAX_DEPTH + 1];
		size_t n = 0;

		stack[n++] = (struct walk){ .fd = dup(fd), .rel = strdup("") };
		r = 0;
		while (n && r >= 0) {
			struct walk w = stack[--n];
			DIR *dir = w.fd >= 0 ? fdopendir(w.fd) : NULL;
			struct dirent *e;

			if (!dir || !w.rel) {
				r = -ENOMEM;
				if (w.fd >= 0 && !dir)
					close(w.fd);
				free(w.rel);
				break;
			}
			while (r >= 0 && (e = readdir(dir))) {
				struct stat st;
				_cleanup_free_ char *sub = NULL;

				if (streq(e->d_name, ".") || streq(e->d_name, ".."))
					continue;
				if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				sub = *w.rel ? gpv_strf("%s/%s", w.rel, e->d_name) : strdup(e->d_name);
				if (!sub) {
					r = -ENOMEM;
					break;
				}
				if (S_ISDIR(st.st_mode) && n < MAX_DEPTH) {
					stack[n++] = (struct walk){
						.fd = openat(dirfd(dir), e->d_name,
							O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
						.rel = TAKE_PTR(sub)
					};
				} else if (S_ISREG(st.st_mode)) {
					pkg.files++;
					pkg.bytes += (uint64_t)st.st_size;
					if (is_inf(e->d_name))
						r = gpv_strv_push(&pkg.infs, sub);
				}
			}
			closedir(dir);
			free(w.rel);
		}
		while (n) {
			n--;
			if (stack[n].fd >= 0)
				close(stack[n].fd);
			free(stack[n].rel);
		}
	}
	if (r >= 0 && (!(pkg.vendor = strdup(vendor)) || !(pkg.version = strdup(version))))
		r = -ENOMEM;
	if (r < 0) {
		gpv_ds_package_clear(&pkg);
		return r;
	}
	if (pkg.infs.n)
		qsort(pkg.infs.v, pkg.infs.n, sizeof(*pkg.infs.v), cmp_str);
	*ret = pkg;
	return 0;
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct gpv_ds_package *x = a, *y = b;
	int c = strcmp(x->vendor, y->vendor);

	return c ? c : gpv_ds_version_cmp(x->version, y->version);
}

int gpv_ds_store_list(struct gpv_root *root, struct gpv_ds_package **ret, size_t *ret_n)
{
	struct gpv_ds_package *list = NULL;
	char **vendors = NULL;
	size_t n = 0;
	int r = gpv_root_list(root, GPV_DS_STORE_DIR, &vendors, NULL);

	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; vendors[i] && r >= 0; i++) {
		_cleanup_close_ int vfd = -1;
		char **versions = NULL;

		if (!gpv_ds_vendor_valid(vendors[i]))
			continue;
		vfd = open_vendor_dir(root, vendors[i], false);
		if (vfd < 0 || gpv_list_at(vfd, ".", &versions, NULL) < 0)
			continue;
		for (size_t j = 0; versions[j] && r >= 0; j++) {
			struct gpv_ds_package *l;

			if (!gpv_ds_package_version_valid(versions[j]))
				continue; /* a temporary folder of an add in progress */
			l = realloc(list, (n + 1) * sizeof(*l));
			if (!l) {
				r = -ENOMEM;
				break;
			}
			list = l;
			r = describe(vfd, vendors[i], versions[j], &list[n]);
			if (r >= 0)
				n++;
		}
		gpv_names_free(versions);
	}
	gpv_names_free(vendors);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			gpv_ds_package_clear(&list[i]);
		free(list);
		return r;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_pkg);
	*ret = list;
	*ret_n = n;
	return 0;
}

int gpv_ds_store_remove(struct gpv_root *root, const char *vendor, const char *version)
{
	_cleanup_close_ int vfd = -1;
	struct stat st;
	int r;

	if (!gpv_ds_vendor_valid(vendor) || !gpv_ds_package_version_valid(version))
		return -EINVAL;
	vfd = open_vendor_dir(root, vendor, false);
	if (vfd < 0)
		return vfd == -ENOTDIR ? -ENOENT : vfd;
	if (fstatat(vfd, version, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* Renamed away first, so that a removal cut short leaves no half package under its
	 * version's name. */
	{
		char tmp[64];

		snprintf(tmp, sizeof(tmp), ".%s.old-%d", version, (int)getpid());
		if (renameat(vfd, version, vfd, tmp) < 0)
			return -errno;
		r = remove_tree(vfd, tmp, 0);
	}
	return r;
}

int gpv_ds_store_match(struct gpv_root *root, const struct gpv_ds_profile *p,
	const char *host_version, char **ret, char **ret_why)
{
	const struct gpv_ds_windows_rule *rule = NULL;
	struct gpv_ds_package *list = NULL;
	const char *best = NULL;
	size_t n = 0;
	int r;

	*ret_why = NULL;
	for (size_t i = 0; i < p->n_windows && !rule; i++)
		if (fnmatch(p->windows[i].host, host_version, 0) == 0)
			rule = &p->windows[i];
	if (!rule) {
		*ret_why = gpv_strf("the %s profile has no windows-driver rule for the host's "
				    "driver %s",
			p->vendor, host_version);
		return *ret_why ? -ENOENT : -ENOMEM;
	}
	r = gpv_ds_store_list(root, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (streq(list[i].vendor, p->vendor) && fnmatch(rule->guest, list[i].version, 0) == 0 &&
			(!best || gpv_ds_version_cmp(list[i].version, best) > 0))
			best = list[i].version;
	if (best) {
		*ret = strdup(best);
		r = *ret ? 0 : -ENOMEM;
	} else {
		*ret_why = gpv_strf("the store has no %s package of version %s (for the host's "
				    "driver %s); add one with 'gpupv drivers-store add FOLDER "
				    "--vendor %s --version VERSION'",
			p->vendor, rule->guest, host_version, p->vendor);
		r = *ret_why ? -ENOENT : -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		gpv_ds_package_clear(&list[i]);
	free(list);
	return r;
}
