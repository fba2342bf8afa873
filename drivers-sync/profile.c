/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "drivers-sync/profile.h"
#include "lib/log.h"
#include "probes/data.h"

#define ETC_DIR "/etc/gpupv/drivers-sync"
#define SUFFIX ".profile"
#define MAX_SIZE (256 * 1024)

bool gpv_ds_vendor_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
			    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
			return false;
	return n <= 32;
}

struct gpv_ds_profile *gpv_ds_profile_free(struct gpv_ds_profile *p)
{
	if (!p)
		return NULL;
	free(p->vendor);
	free(p->title);
	free(p->source);
	free(p->version_module);
	for (size_t i = 0; i < p->n_rules; i++)
		free(p->rules[i].arg);
	free(p->rules);
	for (size_t i = 0; i < p->n_windows; i++) {
		free(p->windows[i].host);
		free(p->windows[i].guest);
	}
	free(p->windows);
	free(p);
	return NULL;
}

static const struct {
	const char *word;
	enum gpv_ds_rule_kind kind;
} rule_words[] = {
	{ "module", GPV_DS_RULE_MODULE },
	{ "firmware-of", GPV_DS_RULE_FIRMWARE_OF },
	{ "firmware", GPV_DS_RULE_FIRMWARE },
	{ "library", GPV_DS_RULE_LIBRARY },
	{ "file", GPV_DS_RULE_FILE },
};

/* A path or pattern in a profile: absolute for file, relative for the others; never "..",
 * ".", "//" or a pattern outside the last component. */
static const char *arg_problem(enum gpv_ds_rule_kind kind, const char *arg)
{
	const char *last = strrchr(arg, '/');

	if (kind == GPV_DS_RULE_FILE && arg[0] != '/')
		return "a file must be an absolute path";
	if (kind != GPV_DS_RULE_FILE && kind != GPV_DS_RULE_FIRMWARE && strchr(arg, '/'))
		return "a module or library is a name, not a path";
	if (kind == GPV_DS_RULE_FIRMWARE && arg[0] == '/')
		return "firmware is relative to /lib/firmware";
	if (strstr(arg, "//") || strstr(arg, "/../") || strstr(arg, "/./") || startswith(arg, "../") ||
		startswith(arg, "./") || streq(arg, "..") || streq(arg, ".") ||
		(last && (streq(last, "/..") || streq(last, "/."))))
		return "no '.', '..' or empty components";
	if (last && strcspn(arg, "*?[") < (size_t)(last - arg))
		return "only the last component may be a pattern";
	if (kind == GPV_DS_RULE_MODULE || kind == GPV_DS_RULE_FIRMWARE_OF) {
		if (strpbrk(arg, "*?[{"))
			return "a module is named, not matched";
	} else if (strchr(arg, '{') && !strstr(arg, "{version}")) {
		return "the only placeholder is {version}";
	}
	return NULL;
}

static int fail(char **ret_err, const char *source, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char **ret_err, const char *source, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*ret_err = line ? gpv_strf("%s:%u: %s", source, line, msg) : gpv_strf("%s: %s", source, msg);
	return *ret_err ? -EINVAL : -ENOMEM;
}

static int parse_line(struct gpv_ds_profile *p, unsigned line, char *text, char **ret_err)
{
	char *save = NULL, *word = strtok_r(text, " \t", &save), *arg, *rest;
	unsigned flags = 0;

	if (!word)
		return 0;
	arg = strtok_r(NULL, " \t", &save);
	if (streq(word, "title")) {
		rest = arg ? arg + strlen(arg) + 1 : NULL;
		if (!arg)
			return fail(ret_err, p->source, line, "%s needs a text", word);
		/* The title is the rest of the line. */
		if (save && *save) {
			char *t = gpv_strf("%s %s", arg, gpv_strip(save));

			if (!t)
				return -ENOMEM;
			free(p->title);
			p->title = t;
			return 0;
		}
		(void)rest;
		free(p->title);
		return (p->title = strdup(arg)) ? 0 : -ENOMEM;
	}
	if (!arg)
		return fail(ret_err, p->source, line, "'%s' needs an argument", word);
	if (streq(word, "vendor")) {
		if (strtok_r(NULL, " \t", &save) || !gpv_ds_vendor_valid(arg))
			return fail(ret_err, p->source, line,
				"vendor '%s' is not a name (letters, digits, '-', '_')", arg);
		if (p->vendor)
			return fail(ret_err, p->source, line, "a second vendor line ('%s')", arg);
		return (p->vendor = strdup(arg)) ? 0 : -ENOMEM;
	}
	if (streq(word, "pci-vendor")) {
		uint64_t v;

		if (gpv_parse_hex(arg, 0xffff, &v) < 0 || strtok_r(NULL, " \t", &save))
			return fail(ret_err, p->source, line, "pci-vendor '%s' is not a hex PCI ID", arg);
		if (p->n_pci_vendors == ELEMENTSOF(p->pci_vendors))
			return fail(ret_err, p->source, line, "too many pci-vendor lines");
		p->pci_vendors[p->n_pci_vendors++] = (unsigned)v;
		return 0;
	}
	if (streq(word, "windows-driver")) {
		char *guest = strtok_r(NULL, " \t", &save);
		struct gpv_ds_windows_rule *w;

		if (!guest || strtok_r(NULL, " \t", &save) || strpbrk(arg, "/ ") ||
			strpbrk(guest, "/ "))
			return fail(ret_err, p->source, line,
				"'windows-driver %s': say 'windows-driver HOST-VERSION GUEST-VERSION' "
				"(patterns)",
				arg);
		w = realloc(p->windows, (p->n_windows + 1) * sizeof(*w));
		if (!w)
			return -ENOMEM;
		p->windows = w;
		w[p->n_windows] = (struct gpv_ds_windows_rule){ .host = strdup(arg),
			.guest = strdup(guest),
			.line = line };
		if (!w[p->n_windows].host || !w[p->n_windows].guest) {
			free(w[p->n_windows].host);
			free(w[p->n_windows].guest);
			return -ENOMEM;
		}
		p->n_windows++;
		return 0;
	}
	if (streq(word, "version")) {
		char *name = strtok_r(NULL, " \t", &save);

		if (streq(arg, "kernel") && !name) {
			p->version_from = GPV_DS_VERSION_KERNEL;
			return 0;
		}
		if (streq(arg, "module") && name && !strtok_r(NULL, " \t", &save) &&
			!arg_problem(GPV_DS_RULE_MODULE, name)) {
			p->version_from = GPV_DS_VERSION_MODULE;
			free(p->version_module);
			return (p->version_module = strdup(name)) ? 0 : -ENOMEM;
		}
		return fail(ret_err, p->source, line,
			"'version %s ...': say 'version module NAME' or 'version kernel'", arg);
	}
	for (size_t i = 0; i < ELEMENTSOF(rule_words); i++) {
		struct gpv_ds_rule *rules;
		const char *problem;
		char *opt;

		if (!streq(word, rule_words[i].word))
			continue;
		while ((opt = strtok_r(NULL, " \t", &save))) {
			if (streq(opt, "optional"))
				flags |= GPV_DS_OPTIONAL;
			else if (streq(opt, "out-of-tree") && rule_words[i].kind == GPV_DS_RULE_MODULE)
				flags |= GPV_DS_OUT_OF_TREE;
			else
				return fail(ret_err, p->source, line,
					"unknown word '%s' (only 'optional', and 'out-of-tree' for a "
					"module)",
					opt);
		}
		if ((problem = arg_problem(rule_words[i].kind, arg)))
			return fail(ret_err, p->source, line, "%s", problem);
		rules = realloc(p->rules, (p->n_rules + 1) * sizeof(*rules));
		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		rules[p->n_rules] = (struct gpv_ds_rule){ .kind = rule_words[i].kind,
			.arg = strdup(arg),
			.flags = flags,
			.line = line };
		if (!rules[p->n_rules].arg)
			return -ENOMEM;
		p->n_rules++;
		return 0;
	}
	return fail(ret_err, p->source, line, "unknown directive '%s'", word);
}

int gpv_ds_profile_parse(const char *source, const char *text, struct gpv_ds_profile **ret,
	char **ret_err)
{
	struct gpv_ds_profile *p = calloc(1, sizeof(*p));
	_cleanup_free_ char *copy = strdup(text);
	unsigned line = 0;
	int r = 0;

	*ret_err = NULL;
	if (!p || !copy || !(p->source = strdup(source))) {
		gpv_ds_profile_free(p);
		return -ENOMEM;
	}
	for (char *s = copy, *nl; s && r >= 0; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		*(s + strcspn(s, "#")) = '\0';
		r = parse_line(p, line, s, ret_err);
	}
	if (r >= 0 && !p->vendor)
		r = fail(ret_err, source, 0, "no 'vendor NAME' line");
	else if (r >= 0 && !p->version_module && p->version_from == GPV_DS_VERSION_MODULE)
		r = fail(ret_err, source, 0,
			"no 'version module NAME' or 'version kernel' line");
	if (r < 0) {
		gpv_ds_profile_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int gpv_ds_profile_load(struct gpv_root *root, const char *vendor, struct gpv_ds_profile **ret,
	char **ret_err)
{
	_cleanup_free_ char *path = NULL, *text = NULL, *file = NULL, *shown = NULL;
	const char *data;
	int r;

	*ret_err = NULL;
	if (!gpv_ds_vendor_valid(vendor))
		return -ENOENT;
	if (gpv_asprintf(&file, "%s%s", vendor, SUFFIX) < 0 ||
		gpv_asprintf(&path, "%s/%s", ETC_DIR, file) < 0)
		return -ENOMEM;
	r = root ? gpv_root_read(root, path, MAX_SIZE, &text, NULL) : -ENOENT;
	if (r >= 0) {
		if (gpv_root_host_path(root, path, &shown) < 0)
			return -ENOMEM;
		gpv_debug("drivers-sync: profile %s from %s", vendor, shown);
		r = gpv_ds_profile_parse(shown, text, ret, ret_err);
	} else if (r == -ENOENT) {
		r = gpv_data_get(file, &data);
		if (r >= 0)
			r = gpv_ds_profile_parse(file, data, ret, ret_err);
	}
	if (r >= 0 && !streq((*ret)->vendor, vendor)) {
		/* The file name is the vendor: a copy renamed without its vendor line changed
		 * would otherwise sync under the wrong name. */
		r = fail(ret_err, (*ret)->source, 0, "says 'vendor %s', but its name says otherwise",
			(*ret)->vendor);
		*ret = gpv_ds_profile_free(*ret);
	}
	return r;
}

static int add_name(gpv_strv *names, const char *file)
{
	size_t n = strlen(file), s = strlen(SUFFIX);
	_cleanup_free_ char *name = NULL;

	if (n <= s || !streq(file + n - s, SUFFIX))
		return 0;
	name = strndup(file, n - s);
	if (!name)
		return -ENOMEM;
	if (!gpv_ds_vendor_valid(name) || gpv_strv_contains(names, name))
		return 0;
	return gpv_strv_push(names, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gpv_ds_profile_names(struct gpv_root *root, gpv_strv *ret)
{
	gpv_strv names = {0}, shipped = {0};
	char **entries = NULL;
	int r = gpv_data_list(SUFFIX, &shipped);

	for (size_t i = 0; i < shipped.n && r >= 0; i++)
		r = add_name(&names, shipped.v[i]);
	gpv_strv_clear(&shipped);
	if (r >= 0 && root && gpv_root_list(root, ETC_DIR, &entries, NULL) >= 0)
		for (size_t i = 0; entries[i] && r >= 0; i++)
			r = add_name(&names, entries[i]);
	gpv_names_free(entries);
	if (r < 0) {
		gpv_strv_clear(&names);
		return r;
	}
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	*ret = names;
	return 0;
}
