/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "drivers-sync/discover.h"
#include "drivers-sync/profile.h"
#include "drivers-sync/store.h"
#include "gpupv/gpupv.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/root.h"

/* gpupv drivers-store: the Windows guest driver packages kept on the host. */

enum { ARG_VENDOR = 0x100, ARG_VERSION };

static const char help[] =
	"Usage: gpupv drivers-store add FOLDER --vendor V --version X [--dry-run] [--root DIR]\n"
	"       gpupv drivers-store list [--json] [--root DIR]\n"
	"       gpupv drivers-store remove --vendor V --version X [--dry-run] [--root DIR]\n\n"
	"Keeps Windows guest driver packages on the host, in\n"
	"/var/lib/gpupv/drivers-store/VENDOR/VERSION: FOLDER is an extracted package, the\n"
	"folder with its .inf files (as 'pnputil /add-driver' takes). The vendor profile's\n"
	"windows-driver rules say which package goes with the host's driver; 'list' shows\n"
	"it. See gpupv-drivers-sync(1).\n\n"
	"Exit status: 0 done, 1 error, 2 usage.\n";

struct store_cmd {
	struct gpv_opts o;
	const char *action, *folder, *vendor, *version;
};

static int parse(struct store_cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"vendor", required_argument, NULL, ARG_VENDOR},
		{"version", required_argument, NULL, ARG_VERSION},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"root", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int ch, n;

	optind = 0;
	while ((ch = getopt_long(argc + 1, argv - 1, "njr:vh", opts, NULL)) != -1) {
		switch (ch) {
		case ARG_VENDOR:
			c->vendor = optarg;
			break;
		case ARG_VERSION:
			c->version = optarg;
			break;
		case 'n':
			c->o.dry_run = true;
			break;
		case 'j':
			c->o.json = true;
			break;
		case 'r':
			c->o.root = optarg;
			break;
		case 'v':
			gpv_log_set_level(GPV_LOG_DEBUG);
			break;
		case 'h':
			fputs(help, stdout);
			return GPV_EXIT_OK;
		default:
			fprintf(stderr, "Try 'gpupv drivers-store --help'.\n");
			return GPV_EXIT_USAGE;
		}
	}
	n = argc + 1 - optind; /* optind counts argv - 1's slots */
	c->action = n > 0 ? argv[optind - 1] : NULL;
	if (!c->action || !(streq(c->action, "add") || streq(c->action, "list") ||
				  streq(c->action, "remove"))) {
		gpv_error("drivers-store: say add, list or remove; see 'gpupv drivers-store --help'");
		return GPV_EXIT_USAGE;
	}
	if (streq(c->action, "add")) {
		if (n != 2) {
			gpv_error("drivers-store add: give the package's FOLDER");
			return GPV_EXIT_USAGE;
		}
		c->folder = argv[optind];
	} else if (n != 1) {
		gpv_error("drivers-store %s: takes no operand ('%s')", c->action, argv[optind]);
		return GPV_EXIT_USAGE;
	}
	if (!streq(c->action, "list")) {
		if (!c->vendor || !c->version) {
			gpv_error("drivers-store %s: --vendor and --version are needed", c->action);
			return GPV_EXIT_USAGE;
		}
		if (!gpv_ds_vendor_valid(c->vendor)) {
			gpv_error("drivers-store: --vendor '%s' is not a profile name; 'gpupv "
				  "drivers-sync --list' lists them",
				c->vendor);
			return GPV_EXIT_USAGE;
		}
		if (!gpv_ds_package_version_valid(c->version)) {
			gpv_error("drivers-store: --version '%s' is not a driver version (digits and "
				  "dots, as '553.24')",
				c->version);
			return GPV_EXIT_USAGE;
		}
	}
	return -1;
}

/* The host's driver of vendor and the package the store gives it; NULLs when none. */
static void served(struct gpv_root *root, const char *vendor, char **ret_host, char **ret_pkg)
{
	struct gpv_ds_profile *p = NULL;
	struct gpv_ds_set *set = NULL;
	_cleanup_free_ char *err = NULL, *why = NULL;

	*ret_host = *ret_pkg = NULL;
	if (gpv_ds_profile_load(root, vendor, &p, &err) < 0)
		return;
	if (gpv_ds_discover(root, p, &set) >= 0) {
		*ret_host = strdup(set->version);
		if (gpv_ds_store_match(root, p, set->version, ret_pkg, &why) < 0)
			gpv_debug("drivers-store: %s", why ? why : "no match");
	}
	gpv_ds_set_free(set);
	gpv_ds_profile_free(p);
}

static int list(struct store_cmd *c, struct gpv_root *root)
{
	struct gpv_ds_package *pkgs = NULL;
	struct gpv_json *arr = NULL;
	size_t n = 0;
	int r = gpv_ds_store_list(root, &pkgs, &n);

	if (r < 0) {
		gpv_error("drivers-store: cannot read the store %s: %s", GPV_DS_STORE_DIR,
			strerror(-r));
		return GPV_EXIT_ERROR;
	}
	if (c->o.json)
		r = gpv_json_new_array(&arr);
	else if (n == 0)
		printf("The store is empty (%s).\n", GPV_DS_STORE_DIR);
	else
		printf("%-8s %-16s %10s %6s  %s\n", "VENDOR", "VERSION", "SIZE", "FILES", "USE");
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *host = NULL, *pkg = NULL;
		bool serves;

		served(root, pkgs[i].vendor, &host, &pkg);
		serves = pkg && streq(pkg, pkgs[i].version);
		if (arr) {
			struct gpv_json *o = NULL, *infs = NULL;

			r = gpv_json_new_object(&o);
			if (r >= 0)
				r = gpv_json_add_string(o, "vendor", pkgs[i].vendor);
			if (r >= 0)
				r = gpv_json_add_string(o, "version", pkgs[i].version);
			if (r >= 0)
				r = gpv_json_add_int64(o, "bytes", (int64_t)pkgs[i].bytes);
			if (r >= 0)
				r = gpv_json_add_int64(o, "files", (int64_t)pkgs[i].files);
			if (r >= 0)
				r = gpv_json_new_array(&infs);
			for (size_t k = 0; k < pkgs[i].infs.n && r >= 0; k++) {
				struct gpv_json *s = NULL;

				r = gpv_json_new_string(pkgs[i].infs.v[k], &s);
				if (r >= 0)
					r = gpv_json_array_append(infs, s);
			}
			if (r >= 0)
				r = gpv_json_add(o, "infs", TAKE_PTR(infs));
			gpv_json_free(infs);
			if (r >= 0)
				r = gpv_json_add_string(o, "serves_host_driver", serves ? host : NULL);
			if (r >= 0)
				r = gpv_json_array_append(arr, TAKE_PTR(o));
			gpv_json_free(o);
		} else {
			printf("%-8s %-16s %8.1f M %6zu  %s%s\n", pkgs[i].vendor, pkgs[i].version,
				(double)pkgs[i].bytes / 1048576.0, pkgs[i].files,
				serves ? "for the host's driver " : "-", serves ? host : "");
		}
	}
	if (arr && r >= 0) {
		struct gpv_json *doc = NULL;
		_cleanup_free_ char *out = NULL;

		r = gpv_json_new_object(&doc);
		if (r >= 0)
			r = gpv_json_add_string(doc, "schema", "gpupv.drivers-store/1");
		if (r >= 0)
			r = gpv_json_add(doc, "packages", TAKE_PTR(arr));
		if (r >= 0)
			r = gpv_json_to_string(doc, true, &out);
		if (r >= 0)
			printf("%s\n", out);
		gpv_json_free(doc);
	}
	gpv_json_free(arr);
	for (size_t i = 0; i < n; i++)
		gpv_ds_package_clear(&pkgs[i]);
	free(pkgs);
	return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
}

int gpv_cmd_drivers_store(const struct gpv_opts *gopts, int argc, char **argv)
{
	struct store_cmd c = { .o = *gopts };
	struct gpv_root *root = NULL;
	int status = parse(&c, argc, argv), r;

	if (status >= 0)
		return status;
	status = GPV_EXIT_ERROR;
	if (gpv_open_machine(&c.o, &root, NULL) < 0)
		return status;
	if (streq(c.action, "list")) {
		status = list(&c, root);
	} else if (streq(c.action, "add")) {
		struct gpv_ds_package pkg = {0};
		_cleanup_free_ char *err = NULL;

		if (c.o.dry_run) {
			printf("would add %s as %s %s in %s/%s/%s\n", c.folder, c.vendor, c.version,
				GPV_DS_STORE_DIR, c.vendor, c.version);
			status = GPV_EXIT_OK;
			goto out;
		}
		r = gpv_ds_store_add(root, c.folder, c.vendor, c.version, &pkg, &err);
		if (r == -EEXIST)
			gpv_error("drivers-store add: the store has %s %s already; remove it first "
				  "('gpupv drivers-store remove --vendor %s --version %s')",
				c.vendor, c.version, c.vendor, c.version);
		else if (r == -ELOOP)
			gpv_error("drivers-store add: '%s' holds a link or a special file; a driver "
				  "package has only files and folders",
				c.folder);
		else if (r < 0)
			gpv_error("drivers-store add: %s", err ? err : strerror(-r));
		else {
			printf("added %s %s: %zu files, %.1f MiB, %zu INF file%s\n", c.vendor,
				c.version, pkg.files, (double)pkg.bytes / 1048576.0, pkg.infs.n,
				pkg.infs.n == 1 ? "" : "s");
			status = GPV_EXIT_OK;
		}
		gpv_ds_package_clear(&pkg);
	} else {
		if (c.o.dry_run) {
			printf("would remove %s %s from %s\n", c.vendor, c.version, GPV_DS_STORE_DIR);
			status = GPV_EXIT_OK;
			goto out;
		}
		r = gpv_ds_store_remove(root, c.vendor, c.version);
		if (r == -ENOENT)
			gpv_error("drivers-store remove: the store has no %s %s; 'gpupv "
				  "drivers-store list' shows what it has",
				c.vendor, c.version);
		else if (r < 0)
			gpv_error("drivers-store remove: %s", strerror(-r));
		else {
			printf("removed %s %s\n", c.vendor, c.version);
			status = GPV_EXIT_OK;
		}
	}
out:
	gpv_root_free(root);
	return status;
}
