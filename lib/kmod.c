/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include <libkmod.h>

#include "lib/dl.h"
#include "lib/kmod.h"
#include "lib/log.h"
#include "lib/util.h"

/* Where modprobe reads its configuration, highest priority first (modprobe.d(5)). */
static const char *const conf_dirs[] = {
	"/etc/modprobe.d",
	"/run/modprobe.d",
	"/usr/local/lib/modprobe.d",
	"/lib/modprobe.d",
	"/usr/lib/modprobe.d",
};

/* libkmod is opened on first use (lib/dl.h): most commands never touch a module. */
static GPV_DL_SYM(kmod_new);
static GPV_DL_SYM(kmod_unref);
static GPV_DL_SYM(kmod_set_log_fn);
static GPV_DL_SYM(kmod_set_log_priority);
static GPV_DL_SYM(kmod_list_next);
static GPV_DL_SYM(kmod_module_new_from_lookup);
static GPV_DL_SYM(kmod_module_get_module);
static GPV_DL_SYM(kmod_module_get_name);
static GPV_DL_SYM(kmod_module_get_path);
static GPV_DL_SYM(kmod_module_unref);
static GPV_DL_SYM(kmod_module_unref_list);
static GPV_DL_SYM(kmod_module_apply_filter);
static GPV_DL_SYM(kmod_module_probe_insert_module);
static GPV_DL_SYM(kmod_module_new_from_name);
static GPV_DL_SYM(kmod_module_get_info);
static GPV_DL_SYM(kmod_module_info_get_key);
static GPV_DL_SYM(kmod_module_info_get_value);
static GPV_DL_SYM(kmod_module_info_free_list);
static int kmod_state;

static int kmod_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(kmod_new),
		GPV_DL_ENTRY(kmod_unref),
		GPV_DL_ENTRY(kmod_set_log_fn),
		GPV_DL_ENTRY(kmod_set_log_priority),
		GPV_DL_ENTRY(kmod_list_next),
		GPV_DL_ENTRY(kmod_module_new_from_lookup),
		GPV_DL_ENTRY(kmod_module_get_module),
		GPV_DL_ENTRY(kmod_module_get_name),
		GPV_DL_ENTRY(kmod_module_get_path),
		GPV_DL_ENTRY(kmod_module_unref),
		GPV_DL_ENTRY(kmod_module_unref_list),
		GPV_DL_ENTRY(kmod_module_apply_filter),
		GPV_DL_ENTRY(kmod_module_probe_insert_module),
		GPV_DL_ENTRY(kmod_module_new_from_name),
		GPV_DL_ENTRY(kmod_module_get_info),
		GPV_DL_ENTRY(kmod_module_info_get_key),
		GPV_DL_ENTRY(kmod_module_info_get_value),
		GPV_DL_ENTRY(kmod_module_info_free_list),
	};

	return gpv_dl_open(GPV_LIBKMOD_SONAME, syms, ELEMENTSOF(syms), &kmod_state);
}

/* kmod_list_foreach(), through the loaded library. */
#define list_foreach(it, first) for (it = (first); it; it = sym_kmod_list_next((first), it))

void gpv_kmod_info_clear(struct gpv_kmod_info *info)
{
	free(info->blacklist_file);
	free(info->path);
	free(info->kernel);
	*info = (struct gpv_kmod_info){0};
}

static void kmod_log_fn(void *data, int prio, const char *file, int line, const char *fn,
	const char *format, va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), format, args);
	gpv_debug("libkmod: %s", gpv_strip(buf));
}

static void normalize(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

/* /proc/modules: "name size refs deps state address" per line. */
static bool is_loaded(struct gpv_root *root, const char *modname)
{
	_cleanup_free_ char *text = NULL;
	size_t nl = strlen(modname);

	if (gpv_root_read(root, "/proc/modules", 4 * 1024 * 1024, &text, NULL) < 0)
		return false;
	for (const char *p = text; *p;) {
		if (strncmp(p, modname, nl) == 0 && p[nl] == ' ')
			return true;
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	return false;
}

/* libkmod says whether a module is blacklisted, not where: find the file that says so. */
static char *find_blacklist_file(struct gpv_root *root, const char *modname)
{
	for (size_t i = 0; i < ELEMENTSOF(conf_dirs); i++) {
		char **names = NULL;

		if (gpv_root_list(root, conf_dirs[i], &names, NULL) < 0)
			continue;
		for (char **n = names; *n; n++) {
			_cleanup_free_ char *path = NULL, *text = NULL;

			if (!strstr(*n, ".conf") ||
				gpv_asprintf(&path, "%s/%s", conf_dirs[i], *n) < 0)
				continue;
			if (gpv_root_read(root, path, 1024 * 1024, &text, NULL) < 0)
				continue;
			for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
				char word[32], mod[256];

				if (sscanf(line, " %31s %255s", word, mod) != 2 ||
					!streq(word, "blacklist"))
					continue;
				normalize(mod);
				if (streq(mod, modname)) {
					char *found = TAKE_PTR(path);

					gpv_names_free(names);
					return found;
				}
			}
		}
		gpv_names_free(names);
	}
	return NULL;
}

int gpv_kmod_lookup(struct gpv_root *root, const char *name, struct gpv_kmod_info *ret)
{
	_cleanup_free_ char *release = NULL, *moddir = NULL, *depbin = NULL, *modrel = NULL;
	char *conf[ELEMENTSOF(conf_dirs) + 1] = {0};
	struct gpv_kmod_info info = {0};
	struct kmod_ctx *ctx = NULL;
	struct kmod_list *list = NULL, *filtered = NULL, *it;
	char modname[256];
	int r;

	if (strlen(name) >= sizeof(modname))
		return -EINVAL;
	strcpy(modname, name);
	normalize(modname);

	r = gpv_root_read(root, "/proc/sys/kernel/osrelease", 4096, &release, NULL);
	if (r < 0)
		return r;
	gpv_strip(release);
	if (!*release || strchr(release, '/'))
		return -EINVAL;
	r = gpv_asprintf(&depbin, "/lib/modules/%s/modules.dep.bin", release);
	if (r < 0)
		return r;
	r = gpv_root_exists(root, depbin);
	if (r < 0) {
		gpv_debug("no module index %s: %s", depbin, strerror(-r));
		return -ENOENT;
	}
	r = gpv_asprintf(&modrel, "/lib/modules/%s", release);
	if (r < 0)
		return r;
	r = gpv_root_host_path(root, modrel, &moddir);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(conf_dirs); i++)
		if (gpv_root_host_path(root, conf_dirs[i], &conf[i]) < 0) {
			r = -ENOMEM;
			goto out;
		}

	r = kmod_open();
	if (r < 0)
		goto out;
	ctx = sym_kmod_new(moddir, (const char *const *)conf);
	if (!ctx) {
		r = -ENOMEM;
		goto out;
	}
	sym_kmod_set_log_fn(ctx, kmod_log_fn, NULL);
	sym_kmod_set_log_priority(ctx, 7);

	r = sym_kmod_module_new_from_lookup(ctx, modname, &list);
	if (r < 0)
		goto out;
	info.kernel = strdup(release);
	info.loaded = is_loaded(root, modname);
	list_foreach(it, list)
	{
		struct kmod_module *mod = sym_kmod_module_get_module(it);
		const char *path = sym_kmod_module_get_path(mod);

		if (streq(sym_kmod_module_get_name(mod), modname)) {
			info.state = path ? GPV_KMOD_MODULE : GPV_KMOD_BUILTIN;
			if (path) {
				const char *rel = startswith(path, moddir);

				info.path = strdup(rel && *rel == '/' ? rel + 1 : path);
			}
		}
		sym_kmod_module_unref(mod);
	}
	if (info.state != GPV_KMOD_MISSING) {
		r = sym_kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &filtered);
		if (r < 0)
			goto out;
		/* Built-in modules cannot be blacklisted; a module that the filter drops is. */
		info.blacklisted = info.state == GPV_KMOD_MODULE && !filtered;
		if (info.blacklisted)
			info.blacklist_file = find_blacklist_file(root, modname);
	}
	*ret = info;
	info = (struct gpv_kmod_info){0};
	r = 0;
out:
	gpv_kmod_info_clear(&info);
	if (ctx) { /* else libkmod may not be open, and there is nothing of it to free */
		sym_kmod_module_unref_list(filtered);
		sym_kmod_module_unref_list(list);
		sym_kmod_unref(ctx);
	}
	for (size_t i = 0; i < ELEMENTSOF(conf_dirs); i++)
		free(conf[i]);
	return r;
}

int gpv_kmod_load(struct gpv_root *root, const char *name)
{
	struct kmod_ctx *ctx;
	struct kmod_list *list = NULL, *it;
	int r;

	if (!gpv_root_is_host(root))
		return -EOPNOTSUPP;
	r = kmod_open();
	if (r < 0)
		return r;
	ctx = sym_kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	sym_kmod_set_log_fn(ctx, kmod_log_fn, NULL);
	r = sym_kmod_module_new_from_lookup(ctx, name, &list);
	if (r == 0 && !list)
		r = -ENOENT;
	list_foreach(it, list) {
		struct kmod_module *mod = sym_kmod_module_get_module(it);

		if (r == 0) {
			r = sym_kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL,
				NULL, NULL, NULL);
			/* A positive answer names the filter that stopped it: the blacklist. */
			if (r > 0)
				r = -EPERM;
			gpv_debug("load %s: %s", sym_kmod_module_get_name(mod), r < 0 ? strerror(-r) : "ok");
		}
		sym_kmod_module_unref(mod);
	}
	sym_kmod_module_unref_list(list);
	sym_kmod_unref(ctx);
	return r;
}

void gpv_kmod_modinfo_clear(struct gpv_kmod_modinfo *m)
{
	free(m->name);
	free(m->path);
	free(m->version);
	gpv_strv_clear(&m->depends);
	gpv_strv_clear(&m->firmware);
	free(m->kernel);
	*m = (struct gpv_kmod_modinfo){0};
}

/* depends=a,b: each name once, in order. */
static int split_depends(gpv_strv *out, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = strtok_r(copy, ",", &save); p && r >= 0; p = strtok_r(NULL, ",", &save))
		if (*p && !gpv_strv_contains(out, p))
			r = gpv_strv_push(out, p);
	return r;
}

int gpv_kmod_modinfo(struct gpv_root *root, const char *name, struct gpv_kmod_modinfo *ret)
{
	return gpv_kmod_modinfo_for(root, NULL, name, ret);
}

int gpv_kmod_modinfo_for(struct gpv_root *root, const char *kernel, const char *name,
	struct gpv_kmod_modinfo *ret)
{
	_cleanup_free_ char *release = NULL, *modrel = NULL, *moddir = NULL, *depbin = NULL;
	struct gpv_kmod_modinfo m = {0};
	struct kmod_ctx *ctx = NULL;
	struct kmod_module *mod = NULL;
	struct kmod_list *info = NULL, *it;
	const char *path;
	char modname[256];
	int r = 0;

	if (strlen(name) >= sizeof(modname) || strchr(name, '/'))
		return -EINVAL;
	strcpy(modname, name);
	normalize(modname);
	if (kernel)
		release = strdup(kernel);
	else
		r = gpv_root_read(root, "/proc/sys/kernel/osrelease", 4096, &release, NULL);
	if (r < 0)
		return r;
	if (!release)
		return -ENOMEM;
	gpv_strip(release);
	if (!*release || strchr(release, '/') || streq(release, "..") || streq(release, "."))
		return -EINVAL;
	if (gpv_asprintf(&modrel, "/lib/modules/%s", release) < 0 ||
		gpv_asprintf(&depbin, "%s/modules.dep.bin", modrel) < 0)
		return -ENOMEM;
	if (gpv_root_exists(root, depbin) < 0)
		return -ENOENT;
	r = gpv_root_host_path(root, modrel, &moddir);
	if (r < 0)
		return r;
	r = kmod_open();
	if (r < 0)
		return r;
	/* No configuration: only the index and the files matter here. */
	ctx = sym_kmod_new(moddir, (const char *const[]){ "/dev/null", NULL });
	if (!ctx)
		return -ENOMEM;
	sym_kmod_set_log_fn(ctx, kmod_log_fn, NULL);
	sym_kmod_set_log_priority(ctx, 7);
	r = sym_kmod_module_new_from_name(ctx, modname, &mod);
	if (r < 0)
		goto out;
	path = sym_kmod_module_get_path(mod);
	if (!path) {
		/* Neither in modules.dep nor modules.builtin: the index has no such module. */
		r = -ENOENT;
		goto out;
	}
	m.name = strdup(modname);
	m.kernel = strdup(release);
	if (!m.name || !m.kernel) {
		r = -ENOMEM;
		goto out;
	}
	{
		const char *rel = startswith(path, moddir);

		if (!rel || *rel != '/') {
			r = -EXDEV; /* the index points outside the root's module directory */
			goto out;
		}
		if (gpv_asprintf(&m.path, "%s%s", modrel, rel) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = sym_kmod_module_get_info(mod, &info);
	if (r < 0)
		goto out;
	r = 0;
	list_foreach(it, info)
	{
		const char *key = sym_kmod_module_info_get_key(it);
		const char *value = sym_kmod_module_info_get_value(it);

		if (!key || !value)
			continue;
		if (streq(key, "version") && !m.version) {
			if (!(m.version = strdup(value)))
				r = -ENOMEM;
		} else if (streq(key, "firmware")) {
			if (!gpv_strv_contains(&m.firmware, value))
				r = gpv_strv_push(&m.firmware, value);
		} else if (streq(key, "depends")) {
			r = split_depends(&m.depends, value);
		}
		if (r < 0)
			goto out;
	}
	*ret = m;
	m = (struct gpv_kmod_modinfo){0};
out:
	gpv_kmod_modinfo_clear(&m);
	if (info)
		sym_kmod_module_info_free_list(info);
	if (mod)
		sym_kmod_module_unref(mod);
	sym_kmod_unref(ctx);
	return r;
}
