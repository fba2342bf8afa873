/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* drivers-sync/windows.c: a Windows guest's file set of a store package, its install script,
 * the RunOnce command, and the plan that leaves the previous package to the script. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "drivers-sync/windows.h"
#include "lib/hash.h"
#include "tests/unit/tree.h"

#define PKG "var/lib/gpupv/drivers-store/nvidia/553.24"

TEST(package_set_and_script)
{
	char *dir = tree_new();
	struct gpv_root *root = NULL;
	struct gpv_ds_windows *w = NULL;
	const struct gpv_ds_file *f;
	uint8_t h[GPV_HASH_LEN];
	char buf[8192];
	ssize_t n;
	int fd;

	tree_file(dir, PKG "/Display.Driver/nv_dispi.inf", "[Version]\r\n");
	tree_file(dir, PKG "/setup.cfg", "setup\n");
	check(gpv_root_new(dir, &root) >= 0);
	check_int(gpv_ds_windows_new(root, "nvidia", "553.25", &w), -ENOENT);
	check_int(gpv_ds_windows_new(root, "nvidia", "../x", &w), -EINVAL);
	check(gpv_ds_windows_new(root, "nvidia", "553.24", &w) >= 0);
	check_streq(w->set->vendor, "nvidia");
	check_streq(w->set->version, "553.24");
	check_int(w->set->n, 3);
	f = gpv_ds_set_find(w->set, "/ProgramData/gpupv/drivers/553.24/Display.Driver/nv_dispi.inf");
	check(f && f->mode == 0644 && f->size == 11 && f->mtime_ns % 100 == 0);
	check_streq(f->src, "/" PKG "/Display.Driver/nv_dispi.inf");
	f = gpv_ds_set_find(w->set, "/ProgramData/gpupv/install-nvidia-553.24.cmd");
	check(f && f->hashed && f->size == strlen(w->script));
	check(gpv_hash_buf(w->script, strlen(w->script), h) >= 0 && memcmp(h, f->hash, 16) == 0);
	check(strstr(w->script, "pnputil /add-driver \"%base%\\drivers\\553.24\\*.inf\" /subdirs "
				"/install"));
	check(strstr(w->script, "if %n% geq 3 goto give_up\r\n"));
	/* Its content, as the sync writes it. */
	fd = gpv_ds_windows_open_script(w, f);
	check(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	check(n == (ssize_t)strlen(w->script) && memcmp(buf, w->script, (size_t)n) == 0);
	close(fd);
	check_int(gpv_ds_windows_open_script(w, &w->set->files[0]), -ENOENT);
	gpv_ds_windows_free(w);
	gpv_root_free(root);
	tree_free(dir);
}

TEST(run_once_command)
{
	char *dir = tree_new(), *name = NULL, *cmd = NULL;
	struct gpv_root *root = NULL;
	struct gpv_ds_windows *w = NULL;

	tree_file(dir, PKG "/a.inf", "x");
	check(gpv_root_new(dir, &root) >= 0);
	check(gpv_ds_windows_new(root, "nvidia", "553.24", &w) >= 0);
	check(gpv_ds_windows_run_once(w, NULL, &name, &cmd) >= 0);
	check_streq(name, "gpupv-drivers-nvidia");
	check_streq(cmd, "cmd.exe /c C:\\ProgramData\\gpupv\\install-nvidia-553.24.cmd");
	free(name);
	free(cmd);
	check(gpv_ds_windows_run_once(w, "552.74", &name, &cmd) >= 0);
	check_streq(cmd, "cmd.exe /c C:\\ProgramData\\gpupv\\install-nvidia-553.24.cmd 552.74");
	free(name);
	free(cmd);
	/* Its own version, or one that is no version (from a guest's manifest): no removal. */
	check(gpv_ds_windows_run_once(w, "553.24", &name, &cmd) >= 0);
	check_streq(cmd, "cmd.exe /c C:\\ProgramData\\gpupv\\install-nvidia-553.24.cmd");
	free(name);
	free(cmd);
	check(gpv_ds_windows_run_once(w, "1 & del x", &name, &cmd) >= 0);
	check_streq(cmd, "cmd.exe /c C:\\ProgramData\\gpupv\\install-nvidia-553.24.cmd");
	free(name);
	free(cmd);
	gpv_ds_windows_free(w);
	gpv_root_free(root);
	tree_free(dir);
}

TEST(plan_leaves_the_old_package)
{
	struct gpv_ds_plan *p = calloc(1, sizeof(*p));
	static const char *const paths[] = {
		"/ProgramData/gpupv/drivers/552.74/a.inf",
		"/ProgramData/gpupv/install-nvidia-552.74.cmd",
		"/ProgramData/gpupv/drivers/552.74/b.sys",
	};

	check(p);
	p->ops = calloc(3, sizeof(*p->ops));
	check(p->ops);
	for (size_t i = 0; i < 3; i++)
		p->ops[i] = (struct gpv_ds_op){ .kind = GPV_DS_REMOVE, .path = strdup(paths[i]) };
	p->n_ops = p->n_remove = 3;
	check_int(gpv_ds_windows_plan_fix(p), 2);
	check_int(p->n_ops, 1);
	check_int(p->n_remove, 1);
	check_streq(p->ops[0].path, "/ProgramData/gpupv/install-nvidia-552.74.cmd");
	check(!p->manifest_only);
	check_int(gpv_ds_windows_plan_fix(p), 0);
	gpv_ds_plan_free(p);
}
