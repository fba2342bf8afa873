/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers-sync/dir.h"
#include "drivers-sync/discover.h"
#include "drivers-sync/image.h"
#include "drivers-sync/manifest.h"
#include "drivers-sync/profile.h"
#include "drivers-sync/sync.h"
#include "gpupv/gpupv.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/root.h"

/*
 * gpupv drivers-sync: the host's driver files, as the vendor profiles describe them, into
 * guests. This file talks to the user; the work is in drivers-sync/.
 */
#define HOST_CACHE "/var/cache/gpupv/drivers-host.json"

enum {
	ARG_DIR = 0x100,
	ARG_IMAGE,
	ARG_FORMAT,
	ARG_VENDOR,
	ARG_CHECK,
	ARG_LIST,
};

/* A guest to sync: its root folder or its disk image. */
struct target {
	const char *path;
	bool image;
};

struct ds {
	struct gpv_opts o;
	struct target *targets; /* in the order given */
	size_t n_targets;
	const char *format; /* --format: the images' */
	gpv_strv vendors; /* asked for; empty: every profile the host has */
	bool check, list;
	struct gpv_root *root;
	struct gpv_ds_profile **profiles;
	struct gpv_ds_set **sets; /* the host's, per profile found on it */
	size_t n;
	struct gpv_json *out; /* --json: the document */
	bool progress;	      /* a bar on standard error (a terminal, not --json) */
	long kill_at;	      /* GPUPV_TEST_KILL_AT: the Nth change to a guest is never made */
	long changes;
	struct timespec started;
};

static const char help[] =
	"Usage: gpupv drivers-sync (--dir DIR | --image FILE)... [--format FMT]\n"
	"                          [--vendor V]... [--check] [--dry-run] [--json] [--root DIR]\n"
	"       gpupv drivers-sync --list [--root DIR]\n\n"
	"Brings a guest's copy of the host's GPU driver files in step with the host:\n"
	"kernel modules, the firmware they load, user-space libraries with their SONAME\n"
	"links, programs and ICD files, as the vendor profiles (nvidia, amdgpu, i915, xe)\n"
	"say. Only new and changed files are written, each under a temporary name then\n"
	"renamed; files of the old version the new one lacks are removed; a manifest in\n"
	"the guest (/var/lib/gpupv/drivers.json) records what gpupv put there. An\n"
	"interrupted sync is finished by the next run. Nothing is written outside the\n"
	"guest: a link in it that leads out is refused, not followed.\n\n"
	"  --dir DIR      the guest's root, mounted or unpacked (again for more guests)\n"
	"  --image FILE   the guest's disk image, qcow2 or raw, opened with libguestfs\n"
	"                 (again for more); the guest must be shut down\n"
	"  --format FMT   the images' format (qcow2, raw...); default: told from the\n"
	"                 file's first bytes (qcow2 or raw)\n"
	"  --vendor V     only this driver (again for more); default: every driver the\n"
	"                 host has\n"
	"  --check        compare, write nothing: exit 0 in step, 3 when a sync is needed\n"
	"  --list         the profiles, and which drivers this host has\n"
	"  -n, --dry-run  print what a sync would do\n"
	"  -j, --json     one JSON object (schema gpupv.drivers-sync/1)\n"
	"  -r, --root DIR the host recorded in DIR instead of this one\n"
	"  -v, --verbose  log every file chosen, skipped or missing\n\n"
	"Exit status: 0 done (or in step), 3 a sync is needed (--check), 1 error, 2 usage.\n"
	"See gpupv-drivers-sync(1).\n";

static int parse(struct ds *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, ARG_DIR},
		{"image", required_argument, NULL, ARG_IMAGE},
		{"format", required_argument, NULL, ARG_FORMAT},
		{"vendor", required_argument, NULL, ARG_VENDOR},
		{"check", no_argument, NULL, ARG_CHECK},
		{"list", no_argument, NULL, ARG_LIST},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"root", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "njr:vh", opts, NULL)) != -1) {
		switch (c) {
		case ARG_DIR:
		case ARG_IMAGE: {
			struct target *t = realloc(s->targets, (s->n_targets + 1) * sizeof(*t));

			if (!t)
				return GPV_EXIT_ERROR;
			s->targets = t;
			t[s->n_targets++] =
				(struct target){ .path = optarg, .image = c == ARG_IMAGE };
			break;
		}
		case ARG_FORMAT:
			s->format = optarg;
			break;
		case ARG_VENDOR:
			if (!gpv_ds_vendor_valid(optarg)) {
				gpv_error("drivers-sync: --vendor '%s' is not a profile name; "
					  "'gpupv drivers-sync --list' lists them",
					optarg);
				return GPV_EXIT_USAGE;
			}
			if (!gpv_strv_contains(&s->vendors, optarg) &&
				gpv_strv_push(&s->vendors, optarg) < 0)
				return GPV_EXIT_ERROR;
			break;
		case ARG_CHECK:
			s->check = true;
			break;
		case ARG_LIST:
			s->list = true;
			break;
		case 'n':
			s->o.dry_run = true;
			break;
		case 'j':
			s->o.json = true;
			break;
		case 'r':
			s->o.root = optarg;
			break;
		case 'v':
			s->o.verbose++;
			gpv_log_set_level(GPV_LOG_DEBUG);
			break;
		case 'h':
			fputs(help, stdout);
			return GPV_EXIT_OK;
		default:
			fprintf(stderr, "Try 'gpupv drivers-sync --help'.\n");
			return GPV_EXIT_USAGE;
		}
	}
	if (optind <= argc) { /* optind counts argv - 1's slots */
		gpv_error("drivers-sync: '%s': VMs are not targets of this gpupv yet; give the "
			  "guest's root folder with --dir or its disk image with --image",
			argv[optind - 1]);
		return GPV_EXIT_USAGE;
	}
	if (!s->list && !s->n_targets) {
		gpv_error("drivers-sync: say where the guest is: --dir DIR (its root folder) or "
			  "--image FILE (its disk image); see 'gpupv drivers-sync --help'");
		return GPV_EXIT_USAGE;
	}
	if (s->format) {
		bool images = false;

		for (size_t i = 0; i < s->n_targets; i++)
			images |= s->targets[i].image;
		if (!images) {
			gpv_error("drivers-sync: --format is the format of --image files; there is "
				  "none");
			return GPV_EXIT_USAGE;
		}
	}
	if (s->list && (s->n_targets || s->check)) {
		gpv_error("drivers-sync: --list goes alone");
		return GPV_EXIT_USAGE;
	}
	return -1;
}

/* The profiles to use, and the host's set of each driver it has. */
static int find_drivers(struct ds *s)
{
	gpv_strv names = {0};
	bool asked = s->vendors.n > 0;
	int r = asked ? 0 : gpv_ds_profile_names(s->root, &names);
	const gpv_strv *list = asked ? &s->vendors : &names;

	if (r < 0) {
		gpv_error("drivers-sync: cannot list the profiles: %s", strerror(-r));
		return r;
	}
	s->profiles = calloc(list->n + 1, sizeof(*s->profiles));
	s->sets = calloc(list->n + 1, sizeof(*s->sets));
	if (!s->profiles || !s->sets)
		r = -ENOMEM;
	for (size_t i = 0; i < list->n && r >= 0; i++) {
		struct gpv_ds_profile *p = NULL;
		struct gpv_ds_set *set = NULL;
		_cleanup_free_ char *err = NULL;

		r = gpv_ds_profile_load(s->root, list->v[i], &p, &err);
		if (r == -ENOENT) {
			gpv_error("drivers-sync: there is no profile '%s'; 'gpupv drivers-sync "
				  "--list' lists them",
				list->v[i]);
			break;
		}
		if (r < 0) {
			gpv_error("drivers-sync: profile %s: %s", list->v[i], err ? err : strerror(-r));
			break;
		}
		r = gpv_ds_discover(s->root, p, &set);
		if (r == -ENOENT) {
			gpv_debug("drivers-sync: the host has no %s driver", p->vendor);
			if (asked)
				gpv_error("drivers-sync: the host has no %s driver (%s)", p->vendor,
					p->version_from == GPV_DS_VERSION_MODULE ?
						"its kernel module is not in the running kernel's "
						"module index" :
						"no module index for the running kernel");
			gpv_ds_profile_free(p);
			if (!asked)
				r = 0;
			continue;
		}
		if (r < 0) {
			gpv_error("drivers-sync: cannot read the host's %s driver: %s", p->vendor,
				strerror(-r));
			gpv_ds_profile_free(p);
			break;
		}
		s->profiles[s->n] = p;
		s->sets[s->n++] = set;
	}
	gpv_strv_clear(&names);
	if (r >= 0 && s->n == 0) {
		gpv_error("drivers-sync: the host has none of the drivers gpupv has a profile for "
			  "(%s); nothing to sync",
			"nvidia, amdgpu, i915, xe");
		r = -ENOENT;
	}
	for (size_t i = 0; i < s->n && r >= 0; i++) {
		size_t hashed = 0;

		/* A dry run or a check reads the cache but does not write it. */
		r = gpv_ds_hash_host(s->root, s->sets[i],
			s->o.dry_run || s->check ? NULL : HOST_CACHE, &hashed);
		if (r < 0)
			gpv_error("drivers-sync: cannot read the host's %s files: %s",
				s->sets[i]->vendor, strerror(-r));
		else
			gpv_debug("drivers-sync: %s: %zu files, %zu read to hash", s->sets[i]->vendor,
				s->sets[i]->n, hashed);
	}
	return r;
}

static int open_src(void *ud, const struct gpv_ds_file *f)
{
	struct ds *s = ud;

	return gpv_root_open(s->root, f->src ? f->src : f->path, O_RDONLY | O_NOFOLLOW);
}

/* GPUPV_TEST_KILL_AT=N: SIGKILL before the Nth change to a guest, as a crash or a power
 * loss would stop it; the tests use it to interrupt a sync at every step. */
static void before(void *ud, const char *what, const char *path)
{
	struct ds *s = ud;

	s->changes++;
	gpv_debug("drivers-sync: change %ld: %s %s", s->changes, what, path);
	if (s->kill_at && s->changes == s->kill_at)
		kill(getpid(), SIGKILL);
}

static void progress(void *ud, uint64_t bytes, size_t files)
{
	struct ds *s = ud;
	struct timespec now;
	double secs;

	if (!s->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - s->started.tv_sec) + (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
	fprintf(stderr, "\r  %zu files, %.1f MiB, %.1f MiB/s ", files, (double)bytes / 1048576.0,
		secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0);
}

static const char *state_str(const struct gpv_ds_plan *p)
{
	return gpv_ds_plan_empty(p) ? "in-step" : "needs-sync";
}

static void print_plan(const struct ds *s, const struct gpv_ds_plan *p, bool details)
{
	printf("%s %s -> %s: ", p->vendor, p->from_version ? p->from_version : "(none)",
		p->to_version);
	if (gpv_ds_plan_empty(p)) {
		printf("in step (%zu files)\n", p->n_keep);
		return;
	}
	printf("%zu to add, %zu to change, %zu to remove, %zu unchanged; %.1f MiB to write%s\n",
		p->n_add, p->n_change, p->n_remove, p->n_keep, (double)p->bytes / 1048576.0,
		p->resume ? " (finishing an interrupted sync)" : "");
	for (size_t i = 0; details && i < p->n_ops; i++) {
		const struct gpv_ds_op *op = &p->ops[i];

		if (op->kind == GPV_DS_KEEP && s->o.verbose == 0)
			continue;
		printf("  %-6s %s%s%s%s\n", gpv_ds_op_kind_str(op->kind),
			op->file ? op->file->path : op->path, op->why ? " (" : "",
			op->why ? op->why : "", op->why ? ")" : "");
	}
}

static int json_plan(struct gpv_json *arr, const struct gpv_ds_plan *p, const char *state)
{
	struct gpv_json *o = NULL, *l[4] = {0};
	static const char *const keys[] = { "keep", "add", "change", "remove" };
	int r = gpv_json_new_object(&o);

	if (r >= 0)
		r = gpv_json_add_string(o, "vendor", p->vendor);
	if (r >= 0 && p->from_version)
		r = gpv_json_add_string(o, "from", p->from_version);
	if (r >= 0)
		r = gpv_json_add_string(o, "to", p->to_version);
	if (r >= 0)
		r = gpv_json_add_string(o, "state", state);
	if (r >= 0)
		r = gpv_json_add_bool(o, "resume", p->resume);
	if (r >= 0)
		r = gpv_json_add_int64(o, "bytes", (int64_t)p->bytes);
	for (size_t k = 0; k < 4 && r >= 0; k++)
		r = gpv_json_new_array(&l[k]);
	for (size_t i = 0; i < p->n_ops && r >= 0; i++) {
		const struct gpv_ds_op *op = &p->ops[i];
		struct gpv_json *e = NULL;

		r = gpv_json_new_object(&e);
		if (r >= 0)
			r = gpv_json_add_string(e, "path", op->file ? op->file->path : op->path);
		if (r >= 0 && op->why)
			r = gpv_json_add_string(e, "why", op->why);
		if (r >= 0)
			r = gpv_json_array_append(l[op->kind], TAKE_PTR(e));
		gpv_json_free(e);
	}
	for (size_t k = 0; k < 4; k++) {
		if (r >= 0)
			r = gpv_json_add(o, keys[k], TAKE_PTR(l[k]));
		gpv_json_free(l[k]);
	}
	if (r >= 0)
		r = gpv_json_array_append(arr, TAKE_PTR(o));
	gpv_json_free(o);
	return r;
}

/* The guest behind a target, opened: a folder, or an image in libguestfs's appliance
 * (read-only for --check and --dry-run). */
struct guest {
	const struct gpv_ds_target_ops *ops;
	void *t;
	struct gpv_ds_dir *dir;
	struct gpv_ds_image *image;
	char *manifest; /* where its manifest is, for messages */
};

static int guest_open(struct ds *s, const struct target *tg, struct guest *g)
{
	int r;

	if (tg->image) {
		_cleanup_free_ char *err = NULL;

		r = gpv_ds_image_open(
			tg->path, s->format, s->check || s->o.dry_run, &g->image, &err);
		if (r < 0) {
			gpv_error("drivers-sync: %s", err ? err : strerror(-r));
			return r;
		}
		g->ops = &gpv_ds_image_ops;
		g->t = g->image;
		g->manifest = gpv_strf("%s in the image '%s'", GPV_DS_MANIFEST_PATH, tg->path);
	} else {
		r = gpv_ds_dir_open(tg->path, &g->dir);
		if (r < 0) {
			gpv_error("drivers-sync: --dir '%s': %s", tg->path, strerror(-r));
			return r;
		}
		g->ops = &gpv_ds_dir_ops;
		g->t = g->dir;
		g->manifest = gpv_strf("%s%s", tg->path, GPV_DS_MANIFEST_PATH);
	}
	return g->manifest ? 0 : -ENOMEM;
}

/* Closes the guest; an image's changes are written back to its file here, which can fail. */
static int guest_close(struct guest *g)
{
	_cleanup_free_ char *err = NULL;
	int r = gpv_ds_image_close(g->image, &err);

	if (r < 0)
		gpv_error("drivers-sync: %s", err ? err : strerror(-r));
	gpv_ds_dir_free(g->dir);
	free(g->manifest);
	return r;
}

static int sync_target(struct ds *s, const struct target *tg, bool *differs)
{
	struct guest g = {0};
	struct gpv_ds_manifest *m = NULL;
	struct gpv_json *drivers = NULL;
	_cleanup_free_ char *text = NULL, *err = NULL;
	size_t len = 0;
	int r;

	if (s->n_targets > 1 && !s->o.json)
		printf("%s:\n", tg->path);
	r = guest_open(s, tg, &g);
	if (r < 0)
		goto out;
	r = g.ops->read_manifest(g.t, &text, &len);
	if (r == -ENOENT) {
		m = calloc(1, sizeof(*m));
		r = m ? 0 : -ENOMEM;
	} else if (r >= 0) {
		r = gpv_ds_manifest_parse(text, len, &m, &err);
		if (r < 0)
			gpv_error("drivers-sync: the guest's manifest %s is refused: %s; move it "
				  "away to sync as if gpupv had never synced this guest (files of "
				  "older versions are then left)",
				g.manifest, err ? err : strerror(-r));
	} else {
		gpv_error("drivers-sync: cannot read the guest's manifest %s: %s", g.manifest,
			r == -EXDEV ? "a link in the guest leads out of it" : strerror(-r));
	}
	if (r >= 0 && s->o.json)
		r = gpv_json_new_array(&drivers);
	for (size_t i = 0; i < s->n && r >= 0; i++) {
		struct gpv_ds_plan *p = NULL;
		_cleanup_free_ char *perr = NULL, *aerr = NULL;
		const char *state;

		r = gpv_ds_plan_make(g.ops, g.t, s->sets[i], m, &p, &perr);
		if (r < 0) {
			gpv_error("drivers-sync: %s: %s", s->sets[i]->vendor, perr);
			break;
		}
		state = state_str(p);
		*differs |= !gpv_ds_plan_empty(p);
		if (!s->o.json)
			print_plan(s, p, s->check || s->o.dry_run || s->o.verbose);
		if (!s->check && !s->o.dry_run && !gpv_ds_plan_empty(p)) {
			struct gpv_ds_apply_opts ao = { .open_src = open_src, .ud = s,
				.before = before, .progress = progress };

			clock_gettime(CLOCK_MONOTONIC, &s->started);
			r = gpv_ds_apply(g.ops, g.t, s->sets[i], m, p, &ao, &aerr);
			if (s->progress)
				fputs("\r\033[K", stderr);
			if (r < 0)
				gpv_error(
					"drivers-sync: %s into %s: %s", p->vendor, tg->path, aerr);
			else if (!s->o.json)
				printf("%s %s: synced\n", p->vendor, p->to_version);
			state = r < 0 ? "failed" : "synced";
		}
		if (drivers)
			(void)json_plan(drivers, p, state);
		gpv_ds_plan_free(p);
	}
	if (s->o.json && drivers) {
		struct gpv_json *doc = NULL;
		_cleanup_free_ char *out = NULL;

		if (gpv_json_new_object(&doc) >= 0 &&
			gpv_json_add_string(doc, "schema", "gpupv.drivers-sync/1") >= 0 &&
			gpv_json_add_string(doc, "target", tg->path) >= 0 &&
			gpv_json_add_string(doc, "target_type", tg->image ? "image" : "dir") >= 0 &&
			gpv_json_add_bool(doc, "dry_run", s->o.dry_run || s->check) >= 0 &&
			gpv_json_add(doc, "drivers", TAKE_PTR(drivers)) >= 0 &&
			gpv_json_to_string(doc, true, &out) >= 0)
			printf("%s\n", out);
		gpv_json_free(doc);
	}
out:
	gpv_json_free(drivers);
	gpv_ds_manifest_free(m);
	/* Closed also after a failure: what was written reaches the image either way. */
	if (guest_close(&g) < 0 && r >= 0)
		r = -EIO;
	return r;
}

static int list_profiles(struct ds *s)
{
	gpv_strv names = {0};
	int r = gpv_ds_profile_names(s->root, &names);

	if (r < 0) {
		gpv_error("drivers-sync: cannot list the profiles: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < names.n; i++) {
		struct gpv_ds_profile *p = NULL;
		struct gpv_ds_set *set = NULL;
		_cleanup_free_ char *err = NULL;

		r = gpv_ds_profile_load(s->root, names.v[i], &p, &err);
		if (r < 0) {
			printf("%-8s (unusable: %s)\n", names.v[i], err ? err : strerror(-r));
			continue;
		}
		r = gpv_ds_discover(s->root, p, &set);
		if (r >= 0)
			printf("%-8s %-45s on this host: %s, %zu files, %.1f MiB%s\n", p->vendor,
				p->title ? p->title : "", set->version, set->n,
				(double)gpv_ds_set_bytes(set) / 1048576.0,
				set->missing.n ? " (some missing: -v says which)" : "");
		else
			printf("%-8s %-45s not on this host\n", p->vendor, p->title ? p->title : "");
		for (size_t k = 0; set && k < set->missing.n; k++)
			gpv_debug("drivers-sync: %s: missing %s", p->vendor, set->missing.v[k]);
		gpv_ds_set_free(set);
		gpv_ds_profile_free(p);
	}
	gpv_strv_clear(&names);
	return 0;
}

int gpv_cmd_drivers_sync(const struct gpv_opts *gopts, int argc, char **argv)
{
	struct ds s = { .o = *gopts };
	int status = GPV_EXIT_ERROR, r = parse(&s, argc, argv);
	bool differs = false;
	const char *kill_at = getenv("GPUPV_TEST_KILL_AT");

	if (r >= 0) {
		gpv_strv_clear(&s.vendors);
		free(s.targets);
		return r;
	}
	if (kill_at)
		s.kill_at = strtol(kill_at, NULL, 10);
	s.progress = !s.o.json && isatty(STDERR_FILENO);
	if (gpv_open_machine(&s.o, &s.root, NULL) < 0)
		goto out;
	if (s.list) {
		status = list_profiles(&s) < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
		goto out;
	}
	if (find_drivers(&s) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		for (size_t k = 0; k < s.sets[i]->missing.n; k++)
			fprintf(stderr, "gpupv: warning: drivers-sync: %s %s: the host has no %s\n",
				s.sets[i]->vendor, s.sets[i]->version, s.sets[i]->missing.v[k]);
	/* Every guest in turn, also after one failed. */
	status = GPV_EXIT_OK;
	for (size_t i = 0; i < s.n_targets; i++)
		if (sync_target(&s, &s.targets[i], &differs) < 0)
			status = GPV_EXIT_ERROR;
	if (status == GPV_EXIT_OK && s.check && differs)
		status = GPV_EXIT_NEEDS_ACTION;
out:
	for (size_t i = 0; i < s.n; i++) {
		gpv_ds_set_free(s.sets[i]);
		gpv_ds_profile_free(s.profiles[i]);
	}
	free(s.sets);
	free(s.profiles);
	free(s.targets);
	gpv_strv_clear(&s.vendors);
	gpv_root_free(s.root);
	return status;
}
