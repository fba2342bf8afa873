/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers-sync/profile.h"
#include "drivers-sync/store.h"
#include "drivers-sync/windows.h"
#include "lib/hash.h"
#include "lib/log.h"

#define PACKAGES GPV_DS_WINDOWS_DIR "/drivers"
#define MAX_DEPTH 16

struct gpv_ds_windows *gpv_ds_windows_free(struct gpv_ds_windows *w)
{
	if (!w)
		return NULL;
	gpv_ds_set_free(w->set);
	free(w->script_path);
	free(w->script);
	free(w);
	return NULL;
}

/* Adds every file under the open folder fd (the package's folder rel, "" for its top). */
static int add_tree(struct gpv_ds_windows *w, int fd, const char *store, const char *rel,
	int depth, int64_t *newest)
{
	DIR *dir;
	struct dirent *e;
	int r = 0, dfd;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	dfd = dup(fd);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while (r >= 0 && (e = readdir(dir))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		sub = *rel ? gpv_strf("%s/%s", rel, e->d_name) : strdup(e->d_name);
		if (!sub) {
			r = -ENOMEM;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sfd = openat(fd, e->d_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			r = sfd < 0 ? -errno : add_tree(w, sfd, store, sub, depth + 1, newest);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_free_ char *path = gpv_strf("%s/%s/%s", PACKAGES, w->set->version,
				sub);
			_cleanup_free_ char *src = gpv_strf("%s/%s", store, sub);
			/* NTFS keeps times in 100 ns steps: the host's, so rounded, survive the copy. */
			int64_t mtime = ((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) /
					100 * 100;
			struct gpv_ds_file f = { .path = path, .type = GPV_DS_REG, .mode = 0644,
				.size = (uint64_t)st.st_size, .mtime_ns = mtime, .src = src,
				.why = "driver store package" };

			if (!path || !src) {
				r = -ENOMEM;
				break;
			}
			if (!gpv_ds_path_valid(path)) {
				gpv_debug("drivers-sync: the package's file '%s' has a name a guest "
					  "path cannot have",
					sub);
				r = -EINVAL;
				break;
			}
			if (mtime > *newest)
				*newest = mtime;
			r = gpv_ds_set_add(w->set, &f);
		} else {
			gpv_debug("drivers-sync: the package's '%s' is not a file or a folder", sub);
			r = -ELOOP;
		}
	}
	closedir(dir);
	return r;
}

static char *make_script(const char *vendor, const char *version)
{
	/* cmd.exe reads it: CRLF lines. %1 is the previous version, whose folder goes once this
	 * one is installed; pnputil's 3010 is a success that a reboot completes. */
	return gpv_strf(
		"@echo off\r\n"
		"rem Written by gpupv drivers-sync: installs the %1$s driver package %2$s, run once\r\n"
		"rem from HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce; after a failure it\r\n"
		"rem registers itself again, %3$d attempts in all. %%1: the previous version, whose\r\n"
		"rem folder is removed once this one is installed.\r\n"
		"setlocal\r\n"
		"set \"base=C:\\ProgramData\\gpupv\"\r\n"
		"set \"tries=%%base%%\\install-%1$s-%2$s.tries\"\r\n"
		"set \"log=%%base%%\\install-%1$s-%2$s.log\"\r\n"
		"set n=0\r\n"
		"if exist \"%%tries%%\" set /p n=<\"%%tries%%\"\r\n"
		"set /a n=n+1\r\n"
		">\"%%tries%%\" echo %%n%%\r\n"
		">>\"%%log%%\" echo %%date%% %%time%%: attempt %%n%% of %3$d\r\n"
		"pnputil /add-driver \"%%base%%\\drivers\\%2$s\\*.inf\" /subdirs /install >>\"%%log%%\" 2>&1\r\n"
		"set rc=%%errorlevel%%\r\n"
		"if \"%%rc%%\"==\"0\" goto installed\r\n"
		"if \"%%rc%%\"==\"3010\" goto installed\r\n"
		">>\"%%log%%\" echo pnputil failed with %%rc%%\r\n"
		"if %%n%% geq %3$d goto give_up\r\n"
		"reg add \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\" /v gpupv-drivers-%1$s "
		"/t REG_SZ /d \"cmd.exe /c %%base%%\\install-%1$s-%2$s.cmd %%~1\" /f >nul\r\n"
		"exit /b 1\r\n"
		":give_up\r\n"
		">>\"%%log%%\" echo giving up after %%n%% attempts\r\n"
		"exit /b 1\r\n"
		":installed\r\n"
		">>\"%%log%%\" echo installed\r\n"
		"if not \"%%~1\"==\"\" if /i not \"%%~1\"==\"%2$s\" rd /s /q \"%%base%%\\drivers\\%%~1\"\r\n"
		"del \"%%tries%%\"\r\n"
		"exit /b 0\r\n",
		vendor, version, GPV_DS_WINDOWS_TRIES);
}

int gpv_ds_windows_new(struct gpv_root *root, const char *vendor, const char *version,
	struct gpv_ds_windows **ret)
{
	struct gpv_ds_windows *w = NULL;
	_cleanup_free_ char *store = NULL;
	_cleanup_close_ int fd = -1;
	int64_t newest = 0;
	int r;

	if (!gpv_ds_vendor_valid(vendor) || !gpv_ds_package_version_valid(version))
		return -EINVAL;
	store = gpv_strf("%s/%s/%s", GPV_DS_STORE_DIR, vendor, version);
	if (!store)
		return -ENOMEM;
	fd = gpv_root_open(root, store, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd == -ENOTDIR ? -ENOENT : fd;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->set = gpv_ds_set_new()) || !(w->set->vendor = strdup(vendor)) ||
		!(w->set->version = strdup(version))) {
		gpv_ds_windows_free(w);
		return -ENOMEM;
	}
	r = add_tree(w, fd, store, "", 0, &newest);
	if (r >= 0) {
		w->script_path = gpv_strf("%s/install-%s-%s.cmd", GPV_DS_WINDOWS_DIR, vendor,
			version);
		w->script = make_script(vendor, version);
		if (!w->script_path || !w->script)
			r = -ENOMEM;
	}
	if (r >= 0) {
		/* The script's time is the package's: the same on every sync. */
		struct gpv_ds_file f = { .path = w->script_path, .type = GPV_DS_REG, .mode = 0644,
			.size = strlen(w->script), .mtime_ns = newest, .hashed = true,
			.why = "driver store package's install script" };

		r = gpv_hash_buf(w->script, strlen(w->script), f.hash);
		if (r >= 0)
			r = gpv_ds_set_add(w->set, &f);
	}
	if (r < 0) {
		gpv_ds_windows_free(w);
		return r;
	}
	gpv_ds_set_sort(w->set);
	*ret = w;
	return 0;
}

int gpv_ds_windows_open_script(const struct gpv_ds_windows *w, const struct gpv_ds_file *f)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(w->script);

	if (!streq(f->path, w->script_path))
		return -ENOENT;
	fd = memfd_create("gpupv-install-script", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, w->script + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int gpv_ds_windows_run_once(const struct gpv_ds_windows *w, const char *prev, char **ret_name,
	char **ret_command)
{
	_cleanup_free_ char *name = NULL, *cmd = NULL, *win = NULL;

	if (prev && (!gpv_ds_package_version_valid(prev) || streq(prev, w->set->version)))
		prev = NULL;
	win = strdup(w->script_path);
	if (!win)
		return -ENOMEM;
	for (char *c = win; *c; c++)
		if (*c == '/')
			*c = '\\';
	name = gpv_strf("gpupv-drivers-%s", w->set->vendor);
	cmd = gpv_strf("cmd.exe /c C:%s%s%s", win, prev ? " " : "", prev ? prev : "");
	if (!name || !cmd)
		return -ENOMEM;
	*ret_name = TAKE_PTR(name);
	*ret_command = TAKE_PTR(cmd);
	return 0;
}

size_t gpv_ds_windows_plan_fix(struct gpv_ds_plan *plan)
{
	size_t kept = 0, out = 0;

	for (size_t i = 0; i < plan->n_ops; i++) {
		struct gpv_ds_op *op = &plan->ops[i];

		if (op->kind == GPV_DS_REMOVE && op->path &&
			strncmp(op->path, PACKAGES "/", strlen(PACKAGES "/")) == 0) {
			gpv_debug("drivers-sync: %s: left for the install script to remove", op->path);
			free(op->path);
			free(op->why);
			plan->n_remove--;
			out++;
			continue;
		}
		plan->ops[kept++] = *op;
	}
	plan->n_ops = kept;
	/* The manifest still lists them: it is rewritten without. */
	if (out && !plan->n_add && !plan->n_change && !plan->n_remove)
		plan->manifest_only = true;
	return out;
}
