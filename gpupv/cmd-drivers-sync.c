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
#include "drivers-sync/store.h"
#include "drivers-sync/sync.h"
#include "drivers-sync/vm.h"
#include "drivers-sync/windows.h"
#include "gpupv/gpupv.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/virt.h"

/*
 * gpupv drivers-sync: the host's driver files, as the vendor profiles describe them, into
 * guests. This file talks to the user; the work is in drivers-sync/.
 */
#define HOST_CACHE "/var/cache/gpupv/drivers-host.json"

enum {
	ARG_DIR = 0x100,
	ARG_VENDOR,
	ARG_CHECK,
	ARG_LIST,
	ARG_KERNEL,
	ARG_IMAGE,
	ARG_FORMAT,
	ARG_ALL,
	ARG_RESTART,
	ARG_TIMEOUT,
	ARG_CONNECT,
};

struct ds {
	struct gpv_opts o;
	gpv_strv dirs;	  /* --dir, in order */
	gpv_strv images;  /* --image */
	gpv_strv vms;	  /* VM names */
	bool all;	  /* --all: every domain with a GPU of this host */
	bool restart;	  /* a running VM is shut down, synced, started again */
	unsigned timeout; /* seconds a shutdown may take */
	const char *format, *uri;
	size_t n_targets; /* of every kind */
	gpv_strv vendors; /* asked for; empty: every profile the host has */
	const char *kernel; /* --kernel: an installed kernel's modules; NULL: the running one */
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
	uint64_t total_bytes; /* what the sync under way writes, for the bar */
	size_t total_files;
	const struct gpv_ds_windows *win; /* the Windows package being synced: its script */
};

static const char help[] =
	"Usage: gpupv drivers-sync [VM... | --all] [--image FILE]... [--dir DIR]...\n"
	"                          [--vendor V]... [--kernel KVER] [--check] [--dry-run]\n"
	"                          [--restart [--timeout SEC]] [--connect URI] [--json]\n"
	"                          [--root DIR]\n"
	"       gpupv drivers-sync --list [--root DIR]\n\n"
	"Brings a guest's copy of the host's GPU driver files in step with the host:\n"
	"kernel modules, the firmware they load, user-space libraries with their SONAME\n"
	"links, programs and ICD files, as the vendor profiles (nvidia, amdgpu, i915, xe)\n"
	"say. Only new and changed files are written, each under a temporary name then\n"
	"renamed; files of the old version the new one lacks are removed; a manifest in\n"
	"the guest (/var/lib/gpupv/drivers.json) records what gpupv put there. An\n"
	"interrupted sync is finished by the next run. Nothing is written outside the\n"
	"guest: a link in it that leads out is refused, not followed. A Windows image\n"
	"gets the driver store's package for the host's driver instead, installed at\n"
	"its next logon (gpupv drivers-store).\n\n"
	"  VM...          libvirt domains: their system disk, the drivers of their GPUs\n"
	"  --all          every domain with a GPU of this host\n"
	"  --image FILE   a guest's disk image, qcow2 or raw (libguestfs); again for more\n"
	"  --dir DIR      a guest's root folder, mounted or unpacked; again for more\n"
	"  --format FMT   the images' format; default: told from the file\n"
	"  --vendor V     only this driver (again for more); default: every driver the\n"
	"                 host has (for a VM: those of its GPUs)\n"
	"  --kernel KVER  the driver as built for that installed kernel (after a kernel\n"
	"                 upgrade, before the reboot); default: the running kernel\n"
	"  --check        compare, write nothing: exit 0 in step, 3 when a sync is needed\n"
	"  --restart      shut a running VM down, sync it, start it again; without it a\n"
	"                 running VM is only looked at\n"
	"  --timeout SEC  how long a shutdown may take (default 300)\n"
	"  --connect URI  the libvirt to ask for VMs (default: libvirt's default)\n"
	"  --list         the profiles, and which drivers this host has\n"
	"  -n, --dry-run  print what a sync would do\n"
	"  -j, --json     one JSON object (schema gpupv.drivers-sync/1)\n"
	"  -r, --root DIR the host recorded in DIR instead of this one\n"
	"  -v, --verbose  log every file chosen, skipped or missing\n\n"
	"Exit status: 0 done (or in step), 3 a guest still needs a sync (--check, or a\n"
	"running VM without --restart), 1 error, 2 usage. See gpupv-drivers-sync(1).\n";

static int parse(struct ds *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, ARG_DIR},
		{"vendor", required_argument, NULL, ARG_VENDOR},
		{"check", no_argument, NULL, ARG_CHECK},
		{"list", no_argument, NULL, ARG_LIST},
		{"kernel", required_argument, NULL, ARG_KERNEL},
		{"image", required_argument, NULL, ARG_IMAGE},
		{"format", required_argument, NULL, ARG_FORMAT},
		{"all", no_argument, NULL, ARG_ALL},
		{"restart", no_argument, NULL, ARG_RESTART},
		{"timeout", required_argument, NULL, ARG_TIMEOUT},
		{"connect", required_argument, NULL, ARG_CONNECT},
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
			if (gpv_strv_push(&s->dirs, optarg) < 0)
				return GPV_EXIT_ERROR;
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
		case ARG_IMAGE:
			if (gpv_strv_push(&s->images, optarg) < 0)
				return GPV_EXIT_ERROR;
			break;
		case ARG_FORMAT:
			s->format = optarg;
			break;
		case ARG_ALL:
			s->all = true;
			break;
		case ARG_RESTART:
			s->restart = true;
			break;
		case ARG_TIMEOUT: {
			uint64_t v;

			if (gpv_parse_uint(optarg, 86400, &v) < 0 || v == 0) {
				gpv_error("drivers-sync: --timeout '%s' is not a number of seconds "
					  "(1 to 86400)",
					optarg);
				return GPV_EXIT_USAGE;
			}
			s->timeout = (unsigned)v;
			break;
		}
		case ARG_CONNECT:
			s->uri = optarg;
			break;
		case ARG_KERNEL:
			if (!*optarg || strchr(optarg, '/') || streq(optarg, ".") || streq(optarg, "..")) {
				gpv_error("drivers-sync: --kernel '%s' is not a kernel release "
					  "(as 'uname -r' prints it)",
					optarg);
				return GPV_EXIT_USAGE;
			}
			s->kernel = optarg;
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
	for (; optind <= argc; optind++) /* optind counts argv - 1's slots */
		if (gpv_strv_push(&s->vms, argv[optind - 1]) < 0)
			return GPV_EXIT_ERROR;
	if (s->all && s->vms.n) {
		gpv_error("drivers-sync: name VMs or say --all, not both");
		return GPV_EXIT_USAGE;
	}
	s->n_targets = s->dirs.n + s->images.n + s->vms.n + (s->all ? 2 : 0);
	if (!s->list && !s->n_targets) {
		gpv_error("drivers-sync: say which guests: VM names, --all, --image FILE or "
			  "--dir DIR; see 'gpupv drivers-sync --help'");
		return GPV_EXIT_USAGE;
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
		r = gpv_ds_discover_for(s->root, p, s->kernel, &set);
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
	int fd = s->win ? gpv_ds_windows_open_script(s->win, f) : -ENOENT;

	if (fd != -ENOENT)
		return fd;
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

/* The regular files a plan copies (links are made, not copied). */
static size_t files_to_copy(const struct gpv_ds_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_ops; i++)
		if ((p->ops[i].kind == GPV_DS_ADD || p->ops[i].kind == GPV_DS_CHANGE) &&
			p->ops[i].file->type == GPV_DS_REG)
			n++;
	return n;
}

static void progress(void *ud, uint64_t bytes, size_t files)
{
	struct ds *s = ud;
	struct timespec now;
	char bar[21], left[32] = "";
	double secs, rate;
	size_t fill;

	if (!s->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - s->started.tv_sec) +
	       (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
	rate = secs > 0 ? (double)bytes / secs : 0.0;
	fill = s->total_bytes ? (size_t)((double)bytes / (double)s->total_bytes * 20.0) : 20;
	if (fill > 20)
		fill = 20;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 20 - fill);
	bar[20] = '\0';
	/* Time left once a second of copying gives a rate to go by. */
	if (secs >= 1.0 && rate > 0 && s->total_bytes > bytes)
		snprintf(left, sizeof(left), ", %.0f s left",
			(double)(s->total_bytes - bytes) / rate + 0.5);
	fprintf(stderr, "\r\033[K  [%s] %zu/%zu files, %.1f/%.1f MiB, %.1f MiB/s%s", bar, files,
		s->total_files, (double)bytes / 1048576.0, (double)s->total_bytes / 1048576.0,
		rate / 1048576.0, left);
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

/* A target, opened: the ops and their handle. */
struct target {
	const char *kind;  /* "dir", "image", "vm" */
	const char *label; /* as the user named it */
	const struct gpv_ds_target_ops *ops;
	void *t;
	int (*close)(void *t, char **ret_err); /* errors of writing back (an image) */
	const unsigned *vendors; /* a VM's GPU vendors: the profiles that apply; NULL: all */
	size_t n_vendors;
	const char *manifest;	   /* the guest's manifest path */
	struct gpv_ds_image *win; /* a Windows image: it gets the driver store's packages */
};

static int close_dir(void *t, char **ret_err)
{
	*ret_err = NULL;
	gpv_ds_dir_free(t);
	return 0;
}

static int close_image(void *t, char **ret_err)
{
	return gpv_ds_image_close(t, ret_err);
}

/* What a target that is an image needs beyond its ops: its manifest, whether it is Windows. */
static void image_target(struct gpv_ds_image *img, struct target *tg)
{
	const char *type = gpv_ds_image_os_type(img);

	tg->manifest = gpv_ds_image_manifest_path(img);
	tg->win = type && streq(type, "windows") ? img : NULL;
}

/* A guest's image: opened read-only for --check and --dry-run, which write nothing. */
static int open_image(struct ds *s, const char *path, const char *label, struct target *ret)
{
	struct gpv_ds_image *img = NULL;
	_cleanup_free_ char *err = NULL;
	int r = gpv_ds_image_open(path, s->format, s->check || s->o.dry_run, &img, &err);

	if (r < 0) {
		gpv_error("drivers-sync: %s: %s", label, err ? err : strerror(-r));
		return r;
	}
	*ret = (struct target){ .kind = "image", .label = label, .ops = &gpv_ds_image_ops,
		.t = img, .close = close_image };
	image_target(img, ret);
	return 0;
}

static int open_dir(struct ds *s, const char *dir, struct target *ret)
{
	struct gpv_ds_dir *t = NULL;
	int r = gpv_ds_dir_open(dir, &t);

	(void)s;
	if (r < 0) {
		gpv_error("drivers-sync: --dir '%s': %s", dir, strerror(-r));
		return r;
	}
	*ret = (struct target){ .kind = "dir", .label = dir, .ops = &gpv_ds_dir_ops, .t = t,
		.close = close_dir, .manifest = GPV_DS_MANIFEST_PATH };
	return 0;
}

static bool profile_applies(const struct ds *s, size_t i, const struct target *tg)
{
	if (!tg->vendors)
		return true;
	for (size_t v = 0; v < tg->n_vendors; v++)
		for (size_t k = 0; k < s->profiles[i]->n_pci_vendors; k++)
			if (s->profiles[i]->pci_vendors[k] == tg->vendors[v])
				return true;
	return false;
}

static int read_manifest(const struct target *tg, struct gpv_ds_manifest **ret)
{
	_cleanup_free_ char *text = NULL, *err = NULL;
	size_t len = 0;
	int r = tg->ops->read_manifest(tg->t, &text, &len);

	if (r == -ENOENT) {
		*ret = calloc(1, sizeof(**ret));
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0) {
		gpv_error("drivers-sync: %s: cannot read the guest's manifest %s: %s", tg->label,
			tg->manifest,
			r == -EXDEV ? "a link in the guest leads out of it" : strerror(-r));
		return r;
	}
	r = gpv_ds_manifest_parse(text, len, ret, &err);
	if (r < 0)
		gpv_error("drivers-sync: %s: the guest's manifest %s is refused: %s; move it away "
			  "to sync as if gpupv had never synced this guest (files of older "
			  "versions are then left)",
			tg->label, tg->manifest, err ? err : strerror(-r));
	return r;
}

/*
 * A Windows guest: the driver store's package for the host's driver of profile i, synced as a
 * file set (the package, its install script); when its version is new to the guest, a RunOnce
 * value that runs the script is written first, so that no interruption leaves the package
 * there without it (a sync interrupted after it writes it again).
 */
static int sync_windows(struct ds *s, const struct target *tg, size_t i,
	struct gpv_ds_manifest *m, struct gpv_json *drivers, bool *differs)
{
	const struct gpv_ds_set *host = s->sets[i];
	_cleanup_free_ char *version = NULL, *why = NULL, *perr = NULL, *aerr = NULL;
	struct gpv_ds_windows *w = NULL;
	struct gpv_ds_plan *p = NULL;
	const char *state;
	bool install;
	int r = gpv_ds_store_match(s->root, s->profiles[i], host->version, &version, &why);

	if (r < 0) {
		gpv_error("drivers-sync: %s: a Windows guest (%s) gets the driver store's package "
			  "for the host's %s %s: %s",
			tg->label, gpv_ds_image_os_name(tg->win) ? gpv_ds_image_os_name(tg->win) :
								  "unknown version",
			host->vendor, host->version, why ? why : strerror(-r));
		return r;
	}
	r = gpv_ds_windows_new(s->root, host->vendor, version, &w);
	if (r >= 0)
		r = gpv_ds_hash_host(s->root, w->set, NULL, NULL);
	if (r < 0) {
		gpv_error("drivers-sync: cannot read the driver store's %s package %s: %s",
			host->vendor, version, strerror(-r));
		gpv_ds_windows_free(w);
		return r;
	}
	gpv_debug("drivers-sync: %s: the %s package %s for the host's driver %s: %zu files",
		tg->label, host->vendor, version, host->version, w->set->n);
	r = gpv_ds_plan_make(tg->ops, tg->t, w->set, m, &p, &perr);
	if (r < 0) {
		gpv_error("drivers-sync: %s: %s: %s", tg->label, host->vendor, perr);
		gpv_ds_windows_free(w);
		return r;
	}
	gpv_ds_windows_plan_fix(p);
	state = gpv_ds_plan_empty(p) ? "in-step" : "needs-sync";
	*differs |= !gpv_ds_plan_empty(p);
	if (!s->o.json) {
		if (s->n_targets > 1)
			printf("%s: ", tg->label);
		printf("(Windows package) ");
		print_plan(s, p, s->check || s->o.dry_run || s->o.verbose);
	}
	install = !gpv_ds_plan_empty(p) && (p->resume || !streq_ptr(p->from_version, version));
	if (install && (s->check || s->o.dry_run) && !s->o.json) {
		_cleanup_free_ char *name = NULL, *cmd = NULL;

		/* The plan's last step, said as the others are. */
		if (gpv_ds_windows_run_once(w, p->from_version, &name, &cmd) >= 0)
			printf("  RunOnce %s = %s\n", name, cmd);
	}
	if (!s->check && !s->o.dry_run && !gpv_ds_plan_empty(p)) {
		struct gpv_ds_apply_opts ao = { .open_src = open_src, .ud = s, .before = before,
			.progress = progress };

		if (install) {
			_cleanup_free_ char *name = NULL, *cmd = NULL;

			r = gpv_ds_windows_run_once(w, p->from_version, &name, &cmd);
			if (r >= 0)
				r = gpv_ds_image_run_once(tg->win, name, cmd);
			if (r < 0)
				aerr = gpv_strf("cannot write the RunOnce value that installs the "
						"package into the guest's registry: %s",
					strerror(-r));
			else
				gpv_debug("drivers-sync: %s: RunOnce %s: %s", tg->label, name, cmd);
		}
		if (r >= 0) {
			s->win = w;
			s->total_bytes = p->bytes;
			s->total_files = files_to_copy(p);
			clock_gettime(CLOCK_MONOTONIC, &s->started);
			r = gpv_ds_apply(tg->ops, tg->t, w->set, m, p, &ao, &aerr);
			s->win = NULL;
			if (s->progress)
				fputs("\r\033[K", stderr);
		}
		if (r < 0)
			gpv_error("drivers-sync: %s package %s into %s: %s", p->vendor, version,
				tg->label, aerr ? aerr : strerror(-r));
		else if (!s->o.json)
			printf("%s%s%s %s: synced%s\n", s->n_targets > 1 ? tg->label : "",
				s->n_targets > 1 ? ": " : "", p->vendor, version,
				install ? "; installed at the next administrator logon" : "");
		state = r < 0 ? "failed" : "synced";
	}
	if (drivers)
		(void)json_plan(drivers, p, state);
	gpv_ds_plan_free(p);
	gpv_ds_windows_free(w);
	return r;
}

/* Plans, and unless --check or --dry-run applies, every driver that applies to one target.
 * *differs: some driver was not in step. The target's JSON goes into targets. */
static int sync_target(struct ds *s, const struct target *tg, struct gpv_json *targets,
	bool *differs)
{
	struct gpv_ds_manifest *m = NULL;
	struct gpv_json *drivers = NULL, *o = NULL;
	int r = read_manifest(tg, &m);

	if (r >= 0 && targets)
		r = gpv_json_new_array(&drivers);
	for (size_t i = 0; i < s->n && r >= 0; i++) {
		struct gpv_ds_plan *p = NULL;
		_cleanup_free_ char *perr = NULL, *aerr = NULL;
		const char *state;

		if (!profile_applies(s, i, tg))
			continue;
		if (tg->win) {
			r = sync_windows(s, tg, i, m, drivers, differs);
			continue;
		}
		r = gpv_ds_plan_make(tg->ops, tg->t, s->sets[i], m, &p, &perr);
		if (r < 0) {
			gpv_error("drivers-sync: %s: %s: %s", tg->label, s->sets[i]->vendor, perr);
			break;
		}
		state = gpv_ds_plan_empty(p) ? "in-step" : "needs-sync";
		*differs |= !gpv_ds_plan_empty(p);
		if (!s->o.json) {
			if (s->n_targets > 1)
				printf("%s: ", tg->label);
			print_plan(s, p, s->check || s->o.dry_run || s->o.verbose);
		}
		if (!s->check && !s->o.dry_run && !gpv_ds_plan_empty(p)) {
			struct gpv_ds_apply_opts ao = { .open_src = open_src, .ud = s,
				.before = before, .progress = progress };

			s->total_bytes = p->bytes;
			s->total_files = files_to_copy(p);
			clock_gettime(CLOCK_MONOTONIC, &s->started);
			r = gpv_ds_apply(tg->ops, tg->t, s->sets[i], m, p, &ao, &aerr);
			if (s->progress)
				fputs("\r\033[K", stderr);
			if (r < 0)
				gpv_error("drivers-sync: %s into %s: %s", p->vendor, tg->label, aerr);
			else if (!s->o.json)
				printf("%s%s%s %s: synced\n", s->n_targets > 1 ? tg->label : "",
					s->n_targets > 1 ? ": " : "", p->vendor, p->to_version);
			state = r < 0 ? "failed" : "synced";
		}
		if (drivers)
			(void)json_plan(drivers, p, state);
		gpv_ds_plan_free(p);
	}
	if (targets && drivers && gpv_json_new_object(&o) >= 0 &&
		gpv_json_add_string(o, "target", tg->label) >= 0 &&
		gpv_json_add_string(o, "kind", tg->kind) >= 0 &&
		gpv_json_add(o, "drivers", TAKE_PTR(drivers)) >= 0)
		(void)gpv_json_array_append(targets, TAKE_PTR(o));
	gpv_json_free(o);
	gpv_json_free(drivers);
	gpv_ds_manifest_free(m);
	return r;
}

static int print_json(struct ds *s, struct gpv_json *targets)
{
	struct gpv_json *doc = NULL;
	_cleanup_free_ char *out = NULL;
	int r = gpv_json_new_object(&doc);

	if (r >= 0)
		r = gpv_json_add_string(doc, "schema", "gpupv.drivers-sync/1");
	if (r >= 0)
		r = gpv_json_add_bool(doc, "dry_run", s->o.dry_run || s->check);
	if (r >= 0)
		r = gpv_json_add(doc, "targets", targets);
	else
		gpv_json_free(targets);
	if (r >= 0)
		r = gpv_json_to_string(doc, true, &out);
	if (r >= 0)
		printf("%s\n", out);
	gpv_json_free(doc);
	return r;
}

/* Closes a target, reporting what writing it back says. */
static int finish_target(struct target *tg)
{
	_cleanup_free_ char *err = NULL;
	int r = tg->close(tg->t, &err);

	if (r < 0)
		gpv_error("drivers-sync: %s: %s", tg->label, err ? err : strerror(-r));
	return r;
}

/* Waits for a domain to stop, up to the timeout. */
static int wait_stopped(struct gpv_virt *v, const char *name, unsigned timeout)
{
	struct timespec start, now, nap = { 0, 200 * 1000 * 1000 };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		r = gpv_virt_domain_active(v, name);
		if (r <= 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
}

/*
 * One VM: its first disk (the system disk), the drivers of its GPUs. A running VM is looked
 * at read-only; it is changed only with --restart, shut down first and started again after.
 * *needs: it still needs a sync (a running VM without --restart, or --check).
 */
static int sync_vm(struct ds *s, struct gpv_virt *v, const struct gpv_ds_vm *vm, bool named,
	struct gpv_json *targets, bool *needs)
{
	struct target tg;
	bool readonly = s->check || s->o.dry_run, stopped = false, differs = false;
	bool saved_check = s->check;
	int r;

	if (vm->disks.n == 0) {
		if (named)
			gpv_error("drivers-sync: %s has no disk image gpupv can open", vm->name);
		return named ? -ENOENT : 0;
	}
	if (vm->n_vendors == 0 && s->vendors.n == 0) {
		if (named)
			gpv_error("drivers-sync: %s has no GPU of this host (no PCI or mdev hostdev "
				  "here); give --vendor to sync a driver into it anyway",
				vm->name);
		else
			gpv_debug("drivers-sync: %s: no GPU of this host, skipped", vm->name);
		return named ? -ENOENT : 0;
	}
	if (vm->disks.n > 1)
		gpv_debug("drivers-sync: %s: its %zu disks, the guest found on whichever holds it",
			vm->name, vm->disks.n);
	if (vm->active && !readonly) {
		if (!s->restart) {
			/* Looked at read-only: say whether it needs a sync, change nothing. */
			readonly = true;
			s->check = true;
		} else {
			if (!s->o.json)
				printf("%s: shutting down (up to %u s)\n", vm->name, s->timeout);
			r = gpv_virt_domain_shutdown(v, vm->name);
			if (r >= 0)
				r = wait_stopped(v, vm->name, s->timeout);
			if (r < 0) {
				gpv_error("drivers-sync: %s did not shut down%s: %s; nothing was "
					  "changed (shut it down yourself, or give a longer --timeout)",
					vm->name, r == -ETIMEDOUT ? " in time" : "",
					r == -ETIMEDOUT ? "still running" : gpv_virt_error(v));
				return r;
			}
			stopped = true;
		}
	}
	{
		struct gpv_ds_image *img = NULL;
		_cleanup_free_ char *err = NULL;

		r = gpv_ds_image_open_disks((const char *const *)vm->disks.v,
			(const char *const *)vm->formats.v, vm->disks.n, readonly, &img, &err);
		if (r == -EBUSY && vm->active && !stopped) {
			/* qemu holds the disk: it cannot even be read consistently. */
			gpv_error("drivers-sync: %s is running and its disk is in use: not compared; "
				  "shut it down, or give --restart",
				vm->name);
			s->check = saved_check;
			*needs = true;
			return 0;
		}
		if (r < 0)
			gpv_error("drivers-sync: %s: %s", vm->name, err ? err : strerror(-r));
		else
			tg = (struct target){ .label = vm->name, .ops = &gpv_ds_image_ops, .t = img,
				.close = close_image };
		if (r >= 0)
			image_target(img, &tg);
	}
	if (r >= 0) {
		tg.kind = "vm";
		tg.vendors = s->vendors.n ? NULL : vm->vendors;
		tg.n_vendors = vm->n_vendors;
		r = sync_target(s, &tg, targets, &differs);
		if (finish_target(&tg) < 0)
			r = r < 0 ? r : -EIO;
	}
	if (vm->active && !s->restart && !saved_check && !s->o.dry_run && differs) {
		gpv_error("drivers-sync: %s is running: not synced; shut it down, or give --restart",
			vm->name);
	}
	s->check = saved_check;
	*needs |= differs && (readonly || r < 0);
	if (stopped) {
		int st = gpv_virt_domain_start(v, vm->name);

		if (st < 0) {
			gpv_error("drivers-sync: %s: cannot start it again: %s", vm->name,
				gpv_virt_error(v));
			r = r < 0 ? r : st;
		} else if (!s->o.json) {
			printf("%s: started again\n", vm->name);
		}
	}
	return r;
}

static int sync_vms(struct ds *s, struct gpv_json *targets, bool *needs, bool *failed)
{
	struct gpv_virt *v = NULL;
	_cleanup_free_ char *err = NULL;
	char **xmls = NULL;
	size_t n = 0;
	int r = gpv_virt_open(s->uri, &v, &err);

	if (r < 0) {
		gpv_error("drivers-sync: cannot connect to libvirt%s%s: %s", s->uri ? " at " : "",
			s->uri ? s->uri : "", err ? err : strerror(-r));
		*failed = true;
		return r;
	}
	if (s->all) {
		r = gpv_virt_domain_xmls(v, &xmls, &n);
		if (r < 0) {
			gpv_error("drivers-sync: cannot list the domains of %s: %s", gpv_virt_uri(v),
				gpv_virt_error(v));
			*failed = true;
		}
	} else {
		xmls = calloc(s->vms.n + 1, sizeof(*xmls));
		if (!xmls)
			r = -ENOMEM;
		for (size_t i = 0; i < s->vms.n && r >= 0; i++) {
			if (gpv_virt_domain_xml(v, s->vms.v[i], &xmls[n]) < 0) {
				gpv_error("drivers-sync: there is no VM '%s' in %s", s->vms.v[i],
					gpv_virt_uri(v));
				*failed = true;
				continue;
			}
			n++;
		}
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct gpv_ds_vm vm = {0};

		if (gpv_ds_vm_from_xml(v, s->root, xmls[i], &vm) < 0) {
			gpv_error("drivers-sync: cannot read a domain's XML from libvirt");
			*failed = true;
			continue;
		}
		if (sync_vm(s, v, &vm, !s->all, targets, needs) < 0)
			*failed = true;
		gpv_ds_vm_clear(&vm);
	}
	gpv_names_free(xmls);
	gpv_virt_close(v);
	return r;
}

static int sync_all(struct ds *s, int *status)
{
	struct gpv_json *targets = NULL;
	bool differs = false, failed = false;
	int r = 0;

	if (s->o.json && (r = gpv_json_new_array(&targets)) < 0)
		return r;
	for (size_t i = 0; i < s->dirs.n + s->images.n; i++) {
		struct target tg;
		bool dir = i < s->dirs.n;
		const char *path = dir ? s->dirs.v[i] : s->images.v[i - s->dirs.n];

		if ((dir ? open_dir(s, path, &tg) : open_image(s, path, path, &tg)) < 0) {
			failed = true;
			continue;
		}
		if (sync_target(s, &tg, targets, &differs) < 0)
			failed = true;
		if (finish_target(&tg) < 0)
			failed = true;
	}
	if (s->vms.n || s->all)
		(void)sync_vms(s, targets, &differs, &failed);
	if (targets)
		r = print_json(s, targets);
	*status = failed || r < 0	     ? GPV_EXIT_ERROR :
		  (s->check || s->all) && differs ? GPV_EXIT_NEEDS_ACTION :
						    GPV_EXIT_OK;
	return 0;
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
	struct ds s = { .o = *gopts, .timeout = 300 };
	int status = GPV_EXIT_ERROR, r = parse(&s, argc, argv);
	const char *kill_at = getenv("GPUPV_TEST_KILL_AT");

	if (r >= 0) {
		gpv_strv_clear(&s.vendors);
		gpv_strv_clear(&s.dirs);
		gpv_strv_clear(&s.images);
		gpv_strv_clear(&s.vms);
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
	if (s.kernel) {
		_cleanup_free_ char *dir = gpv_strf("/lib/modules/%s/modules.dep.bin", s.kernel);

		if (!dir || gpv_root_exists(s.root, dir) < 0) {
			gpv_error("drivers-sync: --kernel %s: the host has no module index for that "
				  "kernel (/lib/modules/%s); is it installed, and depmod run?",
				s.kernel, s.kernel);
			goto out;
		}
	}
	if (find_drivers(&s) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		for (size_t k = 0; k < s.sets[i]->missing.n; k++)
			fprintf(stderr, "gpupv: warning: drivers-sync: %s %s: the host has no %s\n",
				s.sets[i]->vendor, s.sets[i]->version, s.sets[i]->missing.v[k]);
	if (sync_all(&s, &status) < 0)
		status = GPV_EXIT_ERROR;
out:
	for (size_t i = 0; i < s.n; i++) {
		gpv_ds_set_free(s.sets[i]);
		gpv_ds_profile_free(s.profiles[i]);
	}
	free(s.sets);
	free(s.profiles);
	gpv_strv_clear(&s.vendors);
	gpv_strv_clear(&s.dirs);
	gpv_strv_clear(&s.images);
	gpv_strv_clear(&s.vms);
	gpv_root_free(s.root);
	return status;
}
