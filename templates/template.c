/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding, parsing and listing templates (see templates/domain.h for where they are looked up). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"
#include "lib/xml.h"
#include "templates/domain.h"
#include "templates/template.h"

struct gpv_builtin_data {
	const char *name;
	const char *text;
};
extern const struct gpv_builtin_data gpv_builtin_templates[];

#define BUILTIN "(built-in)"
#define ETC_DIR "/etc/gpupv/templates"
#define MAX_SIZE (1024 * 1024)

static const char *const no_sets[] = {NULL};

struct gpv_template *gpv_template_free(struct gpv_template *t)
{
	if (!t)
		return NULL;
	gpv_xml_free(t->doc);
	free(t->name);
	free(t->path);
	free(t->description);
	free(t->seed);
	gpv_strv_clear(&t->sets);
	free(t);
	return NULL;
}

void gpv_template_list_free(struct gpv_template **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		gpv_template_free(list[i]);
	free(list);
}

const struct gpv_template_info *gpv_template_info(const struct gpv_template *t)
{
	return &t->info;
}

static int fail(struct gpv_template_error *err, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct gpv_template_error *err, const char *path, int line, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->path, sizeof(err->path), "%s", path);
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A file that is there but cannot be read: the caller's error names it. */
static void unreadable(struct gpv_template_error *err, const char *path, int r)
{
	gpv_debug("template %s: %s", path, strerror(-r));
	if (err) {
		snprintf(err->path, sizeof(err->path), "%s", path);
		err->line = 0;
		snprintf(err->message, sizeof(err->message), "%s", strerror(-r));
	}
}

/* A name is a file name without ".xml": letters, digits, '-', '_' and '.', not starting with
 * '.'. Anything else could climb out of the folder. */
static bool name_valid(const char *name)
{
	if (!name || !*name || name[0] == '.' || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
			    *c))
			return false;
	return true;
}

static int meta_text(struct gpv_xml_node *meta, const char *what, char **ret)
{
	struct gpv_xml_node *n = gpv_xml_find(meta, what);

	if (!n)
		return -ENOENT;
	return gpv_xml_text(n, ret);
}

static int meta_number(struct gpv_xml_node *defaults, const char *attr, unsigned long long max,
	unsigned long long *ret)
{
	const char *v = gpv_xml_attr(defaults, attr);
	uint64_t n;

	if (!v || gpv_parse_uint(v, max, &n) < 0 || n == 0)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* Reads the <gpupv:template> element of the document's <metadata>. */
static int read_metadata(struct gpv_template *t, struct gpv_template_error *err)
{
	struct gpv_xml_node *root = gpv_xml_root(t->doc), *meta = NULL, *defaults;
	_cleanup_free_ char *os = NULL;
	unsigned long long n;
	const char *smt;
	int r;

	if (!streq(gpv_xml_name(root), "domain"))
		return fail(err, t->path, 0, "the root element is <%s>, not a libvirt <domain>",
			gpv_xml_name(root));
	for (struct gpv_xml_node *c = gpv_xml_child(gpv_xml_find(root, "metadata"), NULL); c;
		c = gpv_xml_next(c, NULL))
		if (streq(gpv_xml_name(c), "template") && streq(gpv_xml_ns(c), GPV_TEMPLATE_NS))
			meta = c;
	if (!meta)
		return fail(err, t->path, 0, "no <metadata> element <template xmlns='%s'>",
			GPV_TEMPLATE_NS);
	if (meta_text(meta, "description", &t->description) < 0 || !*t->description)
		return fail(err, t->path, 0, "%s", "the template has no <description>");
	if (meta_text(meta, "os", &os) < 0 || (!streq(os, "windows") && !streq(os, "linux")))
		return fail(err, t->path, 0, "%s", "<os> must be 'windows' or 'linux'");
	t->info.os = streq(os, "windows") ? GPV_TEMPLATE_OS_WINDOWS : GPV_TEMPLATE_OS_LINUX;
	if (meta_text(meta, "seed", &t->seed) < 0 ||
		(!streq(t->seed, "autounattend") && !streq(t->seed, "cloud-init")))
		return fail(err, t->path, 0, "%s", "<seed> must be 'autounattend' or 'cloud-init'");
	defaults = gpv_xml_find(meta, "defaults");
	if (!defaults)
		return fail(err, t->path, 0, "%s", "the template has no <defaults>");
	if (meta_number(defaults, "memory-mib", 16 * 1024 * 1024, &t->info.memory_mib) < 0)
		return fail(
			err, t->path, 0, "%s", "<defaults memory-mib=...> must be a number of MiB");
	if (meta_number(defaults, "vcpus", 4096, &n) < 0)
		return fail(err, t->path, 0, "%s", "<defaults vcpus=...> must be 1 to 4096");
	t->info.vcpus = (unsigned)n;
	if (meta_number(defaults, "disk-gib", 1024 * 1024, &t->info.disk_gib) < 0)
		return fail(
			err, t->path, 0, "%s", "<defaults disk-gib=...> must be a number of GiB");
	smt = gpv_xml_attr(defaults, "smt");
	if (smt && !streq(smt, "yes") && !streq(smt, "no"))
		return fail(err, t->path, 0, "%s", "<defaults smt=...> must be 'yes' or 'no'");
	t->info.smt = streq(smt, "yes");
	for (struct gpv_xml_node *i = gpv_xml_child(gpv_xml_find(meta, "sets"), "item"); i;
		i = gpv_xml_next(i, "item")) {
		char *s;

		if ((r = gpv_xml_text(i, &s)) < 0 || (r = gpv_strv_push_take(&t->sets, s)) < 0)
			return r;
	}
	t->info.name = t->name;
	t->info.path = t->path;
	t->info.description = t->description;
	t->info.seed = t->seed;
	t->info.sets = t->sets.v ? (const char *const *)t->sets.v : no_sets;
	return 0;
}

static int parse(const char *name, const char *path, const char *text, size_t len,
	struct gpv_template **ret, struct gpv_template_error *err)
{
	struct gpv_template *t = calloc(1, sizeof(*t));
	struct gpv_xml_error xerr = {0};
	int r;

	if (!t)
		return -ENOMEM;
	t->name = strdup(name);
	t->path = strdup(path);
	if (!t->name || !t->path) {
		gpv_template_free(t);
		return -ENOMEM;
	}
	r = gpv_xml_parse_memory(text, len, path, &t->doc, &xerr);
	if (r == -EINVAL)
		r = fail(err, path, xerr.line, "%s", xerr.message);
	else if (r >= 0)
		r = read_metadata(t, err);
	if (r < 0) {
		gpv_template_free(t);
		return r;
	}
	gpv_debug("template %s from %s", name, path);
	*ret = t;
	return 0;
}

/* A plain file of gpupv's own data (GPUPV_TEMPLATES, pkgdatadir): not host state. */
static int load_file(const char *dir, const char *name, struct gpv_template **ret,
	struct gpv_template_error *err)
{
	_cleanup_free_ char *path = gpv_strf("%s/%s.xml", dir, name), *text = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = gpv_read_at(AT_FDCWD, path, MAX_SIZE, &text, &len);
	if (r < 0) {
		if (r != -ENOENT)
			unreadable(err, path, r);
		return r;
	}
	return parse(name, path, text, len, ret, err);
}

/* A person's own template, under /etc inside the root. */
static int load_etc(struct gpv_root *root, const char *name, struct gpv_template **ret,
	struct gpv_template_error *err)
{
	_cleanup_free_ char *path = gpv_strf("%s/%s.xml", ETC_DIR, name), *text = NULL,
			    *shown = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = gpv_root_read(root, path, MAX_SIZE, &text, &len);
	if (r < 0) {
		if (r != -ENOENT)
			unreadable(err, path, r);
		return r;
	}
	/* Errors name the file as the person can open it: inside --root, with the root. */
	r = gpv_root_host_path(root, path, &shown);
	if (r < 0)
		return r;
	return parse(name, shown, text, len, ret, err);
}

static int load_builtin(const char *name, struct gpv_template **ret, struct gpv_template_error *err)
{
	_cleanup_free_ char *file = gpv_strf("%s.xml", name);

	if (!file)
		return -ENOMEM;
	for (const struct gpv_builtin_data *b = gpv_builtin_templates; b->name; b++)
		if (streq(b->name, file))
			return parse(name, BUILTIN, b->text, strlen(b->text), ret, err);
	return -ENOENT;
}

/* The folders of GPUPV_TEMPLATES, then pkgdatadir's; the caller frees. */
static int plain_dirs(gpv_strv *dirs)
{
	const char *env = getenv("GPUPV_TEMPLATES");
	int r;

	if (env && *env) {
		_cleanup_free_ char *copy = strdup(env);
		char *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			if ((r = gpv_strv_push(dirs, d)) < 0)
				return r;
	}
	return gpv_strv_push(dirs, GPV_DATADIR "/templates");
}

int gpv_template_load(struct gpv_root *root, const char *name, struct gpv_template **ret,
	struct gpv_template_error *err)
{
	gpv_strv dirs = {0};
	int r;

	if (!name_valid(name))
		return -ENOENT;
	r = plain_dirs(&dirs);
	if (r < 0)
		goto out;
	/* GPUPV_TEMPLATES first: it is how tests and trials override everything else. */
	for (size_t i = 0; i + 1 < dirs.n; i++)
		if ((r = load_file(dirs.v[i], name, ret, err)) != -ENOENT)
			goto out;
	if (root && (r = load_etc(root, name, ret, err)) != -ENOENT)
		goto out;
	if ((r = load_file(dirs.v[dirs.n - 1], name, ret, err)) != -ENOENT)
		goto out;
	r = load_builtin(name, ret, err);
out:
	gpv_strv_clear(&dirs);
	return r;
}

/* Adds the template names found in a folder's *.xml files. */
static void add_names(gpv_strv *names, char **entries)
{
	for (size_t i = 0; entries && entries[i]; i++) {
		size_t n = strlen(entries[i]);
		_cleanup_free_ char *name = NULL;

		if (n <= 4 || !streq(entries[i] + n - 4, ".xml"))
			continue;
		name = strndup(entries[i], n - 4);
		if (name && name_valid(name) && !gpv_strv_contains(names, name))
			gpv_strv_push(names, name);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gpv_template_list(struct gpv_root *root, struct gpv_template ***ret, size_t *ret_n,
	struct gpv_template_error *err)
{
	gpv_strv dirs = {0}, names = {0};
	struct gpv_template **list = NULL;
	size_t n = 0;
	char **entries;
	int r;

	r = plain_dirs(&dirs);
	for (size_t i = 0; r >= 0 && i < dirs.n; i++) {
		_cleanup_free_ char *dot = gpv_strf("%s/.", dirs.v[i]);

		/* "DIR/.": gpv_list_at() follows no link in the last component, and a folder of
		 * templates may well be one. */
		if (!dot || gpv_list_at(AT_FDCWD, dot, &entries, NULL) < 0)
			continue;
		add_names(&names, entries);
		gpv_names_free(entries);
	}
	if (r >= 0 && root && gpv_root_list(root, ETC_DIR, &entries, NULL) >= 0) {
		add_names(&names, entries);
		gpv_names_free(entries);
	}
	for (const struct gpv_builtin_data *b = gpv_builtin_templates; r >= 0 && b->name; b++) {
		char *one[] = {(char *)b->name, NULL};

		add_names(&names, one);
	}
	if (r >= 0 && names.n > 0) {
		qsort(names.v, names.n, sizeof(char *), cmp_names);
		list = calloc(names.n, sizeof(*list));
		if (!list)
			r = -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < names.n; i++)
		if ((r = gpv_template_load(root, names.v[i], &list[n], err)) >= 0)
			n++;
	gpv_strv_clear(&dirs);
	gpv_strv_clear(&names);
	if (r < 0) {
		gpv_template_list_free(list, n);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}
