/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gpupv templates: the templates and what each sets. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpupv/gpupv.h"
#include "lib/root.h"
#include "templates/domain.h"

static void print_text(FILE *f, struct gpv_template *const *list, size_t n)
{
	int width = 4;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(gpv_template_info(list[i])->name) > width)
			width = (int)strlen(gpv_template_info(list[i])->name);
	for (size_t i = 0; i < n; i++) {
		const struct gpv_template_info *t = gpv_template_info(list[i]);
		unsigned threads = t->smt && t->vcpus % 2 == 0 ? 2 : 1;

		if (i > 0)
			fputc('\n', f);
		fprintf(f, "%-*s  %s\n", width, t->name, t->description);
		fprintf(f, "%*s  guest: %s, configured by %s\n", width, "",
			t->os == GPV_TEMPLATE_OS_WINDOWS ? "Windows" : "Linux", t->seed);
		fprintf(f,
			"%*s  defaults: %llu MiB, %u vCPUs (%u cores x %u thread%s), %llu GiB disk\n",
			width, "", t->memory_mib, t->vcpus, t->vcpus / threads, threads,
			threads > 1 ? "s" : "", t->disk_gib);
		for (size_t k = 0; t->sets[k]; k++)
			fprintf(f, "%*s  %s %s\n", width, "", k == 0 ? "sets:" : "     ",
				t->sets[k]);
		fprintf(f, "%*s  from: %s\n", width, "", t->path);
	}
}

int gpv_cmd_templates(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_template_error err = {0};
	struct gpv_template **list = NULL;
	struct gpv_root *root = NULL;
	size_t n = 0;
	int r;

	if (argc > 0) {
		gpv_error("templates: unexpected argument '%s'; see 'gpupv templates --help'",
			argv[0]);
		return GPV_EXIT_USAGE;
	}
	/* The root only for /etc/gpupv/templates: a recorded machine's own templates. */
	r = gpv_root_new(o->root, &root);
	if (r < 0) {
		gpv_error("cannot open the root '%s': %s", o->root ? o->root : "/", strerror(-r));
		return GPV_EXIT_ERROR;
	}
	r = gpv_template_list(root, &list, &n, &err);
	gpv_root_free(root);
	if (r == -EINVAL) {
		if (err.line > 0)
			gpv_error("%s:%d: broken template: %s", err.path, err.line, err.message);
		else
			gpv_error("%s: broken template: %s", err.path, err.message);
		gpv_error("fix or remove that file; the shipped templates show the format");
		return GPV_EXIT_ERROR;
	}
	if (r == -EOPNOTSUPP) {
		gpv_error(
			"templates need libxml2 (Debian package libxml2), which cannot be loaded");
		return GPV_EXIT_ERROR;
	}
	if (r < 0 && err.path[0]) {
		gpv_error("cannot read the template %s: %s", err.path, strerror(-r));
		return GPV_EXIT_ERROR;
	}
	if (r < 0) {
		gpv_error("cannot list the templates: %s", strerror(-r));
		return GPV_EXIT_ERROR;
	}
	if (o->json)
		r = gpv_print_templates_json(stdout, list, n);
	else
		print_text(stdout, list, n);
	gpv_template_list_free(list, n);
	return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
}
