/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>

#include "lib/kmod.h"
#include "probes/data.h"
#include "probes/parse.h"
#include "lib/log.h"
#include "lib/udev.h"
#include "lib/vfio.h"
#include "probes/bind.h"

#define BINDINGS_DIR "/run/gpupv/bindings"
#define PERSIST_DIR "/var/lib/gpupv/bindings"
#define UDEV_RULES "/etc/udev/rules.d/61-gpupv.rules"
#define MODPROBE_CONF "/etc/modprobe.d/gpupv.conf"
#define WAIT_MS 5000

const char *gpv_step_kind_str(enum gpv_step_kind k)
{
	static const char *const names[] = { "load-module", "journal", "write", "wait-driver",
		"wait-vfio", "check-viable", "remove-journal", "persist" };

	return names[k];
}

void gpv_refusal_clear(struct gpv_refusal *r)
{
	free(r->message);
	free(r->fix);
	*r = (struct gpv_refusal){ 0 };
}

static int refuse(struct gpv_refusal *r, int err, const char *code, char *message, char *fix)
{
	r->code = code;
	r->message = message;
	r->fix = fix;
	return message ? err : -ENOMEM;
}

/* Journal ----------------------------------------------------------------------------- */

static int journal_path(const char *gpu, char **ret)
{
	return gpv_asprintf(ret, BINDINGS_DIR "/%s", gpu);
}

static int journal_write(struct gpv_root *root, struct gpv_binding *b)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if ((r = journal_path(b->gpu, &path)) < 0 || (r = gpv_binding_format(b, &text)) < 0)
		return r;
	r = gpv_root_mkdir_p(root, BINDINGS_DIR, 0755);
	if (r < 0)
		return r;
	/* /run is a tmpfs, which a power cut empties anyway: the rename alone keeps the journal
	 * whole through a kill, and an fsync would buy nothing. */
	return gpv_root_replace(root, path, text, 0);
}

static int journal_remove(struct gpv_root *root, const char *gpu)
{
	_cleanup_free_ char *path = NULL;
	int r = journal_path(gpu, &path);

	return r < 0 ? r : gpv_root_unlink(root, path);
}

static int read_binding(struct gpv_root *root, const char *path, struct gpv_binding *ret)
{
	_cleanup_free_ char *text = NULL;
	int r, line = 0;

	r = gpv_root_read(root, path, 1024 * 1024, &text, NULL);
	if (r < 0)
		return r;
	r = gpv_binding_parse(text, ret, &line);
	if (r < 0)
		gpv_log(GPV_LOG_WARNING, "%s: line %d: not a gpupv journal", path, line);
	return r;
}

/* The journal of this boot; after a reboot, the persisted copy stands in for it. */
static int journal_read(struct gpv_root *root, const char *gpu, struct gpv_binding *ret)
{
	_cleanup_free_ char *path = NULL;
	int r = journal_path(gpu, &path);

	if (r < 0)
		return r;
	r = read_binding(root, path, ret);
	if (r != -ENOENT)
		return r;
	free(path);
	path = gpv_strf(PERSIST_DIR "/%s", gpu);
	return path ? read_binding(root, path, ret) : -ENOMEM;
}

bool gpv_binding_persistent(struct gpv_root *root, const char *gpu)
{
	_cleanup_free_ char *path = gpv_strf(PERSIST_DIR "/%s", gpu);

	return path && gpv_root_exists(root, path) == 0;
}

/* The module behind a driver (xhci_hcd is xhci_pci's, nvidia-gpu is i2c_nvidia_gpu's):
 * /sys/bus/pci/drivers/DRV/module. NULL for a driver built into the kernel. */
static int driver_module(struct gpv_root *root, const char *drv, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *path = gpv_strf("/sys/bus/pci/drivers/%s", drv);
	int r;

	if (!path)
		return -ENOMEM;
	*ret = NULL;
	fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		/* Not registered now: its name, as modprobe spells modules, is the best guess. */
		char *m = strdup(drv);

		for (char *c = m; c && *c; c++)
			if (*c == '-')
				*c = '_';
		*ret = m;
		return m ? 0 : -ENOMEM;
	}
	r = gpv_readlink_base_at(fd, "module", ret);
	return r == -ENOENT ? 0 : r;
}

int gpv_persist_sync(struct gpv_root *root)
{
	char **names = NULL, *rules = NULL, *conf = NULL;
	size_t rules_len = 0, conf_len = 0;
	gpv_strv drivers = { 0 };
	FILE *fr = NULL, *fc = NULL;
	size_t n = 0, count = 0;
	int r = gpv_root_list(root, PERSIST_DIR, &names, &n);

	if (r == -ENOENT) {
		n = 0;
		r = 0;
	} else if (r < 0) {
		return r;
	}
	fr = open_memstream(&rules, &rules_len);
	fc = open_memstream(&conf, &conf_len);
	if (!fr || !fc) {
		r = -ENOMEM;
		goto out;
	}
	fprintf(fr, "# Written by gpupv from %s; 'gpupv unbind --persist' removes its lines.\n"
		    "# Each device gets vfio-pci as its driver as soon as it appears.\n",
		PERSIST_DIR);
	fprintf(fc, "# Written by gpupv from %s; 'gpupv unbind --persist' removes its lines.\n"
		    "# vfio-pci loads before the drivers of the devices gpupv keeps for VMs.\n",
		PERSIST_DIR);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = NULL;
		struct gpv_binding b = { 0 };

		if (!gpv_pci_addr_valid(names[i]))
			continue;
		path = gpv_strf(PERSIST_DIR "/%s", names[i]);
		if (!path || read_binding(root, path, &b) < 0)
			continue;
		count++;
		for (size_t j = 0; j < b.n_devs && r >= 0; j++) {
			_cleanup_free_ char *mod = NULL;

			fprintf(fr,
				"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", "
				"ATTR{driver_override}=\"vfio-pci\"\n",
				b.devs[j].addr);
			/* A built-in driver has no module to order: the udev rule alone must do. */
			if (!b.devs[j].orig_driver)
				continue;
			r = driver_module(root, b.devs[j].orig_driver, &mod);
			if (r == 0 && mod && !gpv_strv_contains(&drivers, mod))
				r = gpv_strv_push(&drivers, mod);
		}
		gpv_binding_clear(&b);
	}
	for (size_t i = 0; i < drivers.n; i++)
		fprintf(fc, "softdep %s pre: vfio-pci\n", drivers.v[i]);
	if (fclose(fr) != 0 || fclose(fc) != 0) {
		fr = fc = NULL;
		r = -ENOMEM;
		goto out;
	}
	fr = fc = NULL;
	if (r < 0)
		goto out;
	if (count == 0) {
		if ((r = gpv_root_unlink(root, UDEV_RULES)) == 0)
			r = gpv_root_unlink(root, MODPROBE_CONF);
		goto out;
	}
	if ((r = gpv_root_mkdir_p(root, "/etc/udev/rules.d", 0755)) < 0 ||
		(r = gpv_root_mkdir_p(root, "/etc/modprobe.d", 0755)) < 0 ||
		(r = gpv_root_replace(root, UDEV_RULES, rules, GPV_ROOT_DURABLE)) < 0)
		goto out;
	r = gpv_root_replace(root, MODPROBE_CONF, conf, GPV_ROOT_DURABLE);
out:
	if (fr)
		fclose(fr);
	if (fc)
		fclose(fc);
	free(rules);
	free(conf);
	gpv_strv_clear(&drivers);
	gpv_names_free(names);
	return r;
}

static int persist(struct gpv_root *root, struct gpv_binding *b, bool add)
{
	_cleanup_free_ char *path = gpv_strf(PERSIST_DIR "/%s", b->gpu), *text = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	if (add) {
		struct gpv_binding copy = *b;

		copy.state = GPV_BINDING_BOUND;
		if ((r = gpv_binding_format(&copy, &text)) < 0 ||
			(r = gpv_root_mkdir_p(root, PERSIST_DIR, 0755)) < 0 ||
			(r = gpv_root_replace(root, path, text, GPV_ROOT_DURABLE)) < 0)
			return r;
	} else if ((r = gpv_root_unlink(root, path)) < 0) {
		return r;
	}
	r = gpv_persist_sync(root);
	if (r < 0 && add) {
		/* All or nothing: without both files, no copy either. */
		(void)gpv_root_unlink(root, path);
		(void)gpv_persist_sync(root);
	}
	return r;
}

static int cmp_binding(const void *a, const void *b)
{
	return strcmp(((const struct gpv_binding *)a)->gpu, ((const struct gpv_binding *)b)->gpu);
}

static bool have_binding(const struct gpv_binding *all, size_t n, const char *gpu)
{
	for (size_t i = 0; i < n; i++)
		if (streq(all[i].gpu, gpu))
			return true;
	return false;
}

int gpv_bindings_load(struct gpv_root *root, struct gpv_binding **ret, size_t *ret_n)
{
	static const char *const dirs[] = { BINDINGS_DIR, PERSIST_DIR };
	struct gpv_binding *all = NULL;
	size_t count = 0, cap = 0;
	int r = 0;

	/* This boot's journals first; a persisted binding with none is bound by the udev rule. */
	for (size_t d = 0; d < ELEMENTSOF(dirs) && r >= 0; d++) {
		char **names = NULL;
		size_t n = 0;

		r = gpv_root_list(root, dirs[d], &names, &n);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		for (size_t i = 0; i < n && r >= 0; i++) {
			_cleanup_free_ char *path = NULL;

			if (!gpv_pci_addr_valid(names[i]) || have_binding(all, count, names[i]))
				continue; /* a temporary file, something not ours, or seen */
			if (count == cap) {
				struct gpv_binding *na = realloc(all, (cap = cap * 2 + 4) * sizeof(*na));

				if (!na) {
					r = -ENOMEM;
					break;
				}
				all = na;
			}
			path = gpv_strf("%s/%s", dirs[d], names[i]);
			if (!path) {
				r = -ENOMEM;
				break;
			}
			r = read_binding(root, path, &all[count]);
			if (r == 0) {
				all[count].this_boot = d == 0;
				all[count++].persistent = gpv_binding_persistent(root, names[i]);
			}
			if (r != -ENOMEM)
				r = 0;
		}
		gpv_names_free(names);
	}
	if (r < 0) {
		gpv_bindings_free(all, count);
		return r;
	}
	if (count)
		qsort(all, count, sizeof(*all), cmp_binding);
	*ret = all;
	*ret_n = count;
	return 0;
}

void gpv_bindings_free(struct gpv_binding *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gpv_binding_clear(&b[i]);
	free(b);
}

/* Live state ------------------------------------------------------------------------- */

static int dev_driver(struct gpv_root *root, const char *addr, char **ret)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	r = gpv_readlink_base_at(fd, "driver", ret);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

/* The kernel shows an unset override as "(null)". */
static int dev_override(struct gpv_root *root, const char *addr, char **ret)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	char *s = NULL;
	int r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	r = gpv_read_attr_at(fd, "driver_override", &s);
	if (r == -ENOENT || (r == 0 && (!*s || streq(s, "(null)")))) {
		free(s);
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

/* Plans ------------------------------------------------------------------------------ */

struct gpv_plan *gpv_plan_free(struct gpv_plan *plan)
{
	if (!plan)
		return NULL;
	for (size_t i = 0; i < plan->n_steps; i++) {
		free(plan->steps[i].path);
		free(plan->steps[i].value);
	}
	free(plan->steps);
	free(plan->failure_detail);
	gpv_binding_clear(&plan->binding);
	gpv_strv_clear(&plan->warnings);
	free(plan);
	return NULL;
}

static int add_step(struct gpv_plan *plan, enum gpv_step_kind kind, const char *addr, int group,
	char *path, char *value)
{
	struct gpv_step *ns = realloc(plan->steps, (plan->n_steps + 1) * sizeof(*ns));

	if (!ns) {
		free(path);
		free(value);
		return -ENOMEM;
	}
	plan->steps = ns;
	ns = &ns[plan->n_steps++];
	*ns = (struct gpv_step){ .kind = kind, .group = group, .path = path, .value = value };
	if (addr)
		memcpy(ns->addr, addr, 13);
	return 0;
}

static int add_write(struct gpv_plan *plan, const char *addr, char *path, const char *value)
{
	char *v = strdup(value);

	if (!path || !v) {
		free(path);
		free(v);
		return -ENOMEM;
	}
	return add_step(plan, GPV_STEP_WRITE, addr, -1, path, v);
}

static int add_journal(struct gpv_plan *plan, enum gpv_binding_state state)
{
	char *path = NULL, *v = strdup(gpv_binding_state_str(state));

	if (!v || journal_path(plan->binding.gpu, &path) < 0) {
		free(v);
		return -ENOMEM;
	}
	return add_step(plan, GPV_STEP_JOURNAL, NULL, -1, path, v);
}

/* The steps that move one device to vfio-pci: libvirt's virPCIDeviceBindToStub(). */
static int plan_to_vfio(struct gpv_plan *plan, const struct gpv_bind_dev *d)
{
	int r;

	r = add_write(plan, d->addr,
		gpv_strf("/sys/bus/pci/devices/%s/driver_override", d->addr), "vfio-pci");
	if (r == 0 && d->orig_driver)
		r = add_write(plan, d->addr,
			gpv_strf("/sys/bus/pci/drivers/%s/unbind", d->orig_driver), d->addr);
	if (r == 0)
		r = add_write(plan, d->addr, strdup("/sys/bus/pci/drivers_probe"), d->addr);
	if (r == 0) {
		char *v = strdup("vfio-pci");

		r = v ? add_step(plan, GPV_STEP_WAIT_DRIVER, d->addr, d->group, NULL, v) : -ENOMEM;
	}
	return r;
}

/* The steps that give one device back, from where it is now: libvirt's
 * virPCIDeviceUnbindFromStub(), but to the driver it had rather than whatever probes. */
static int plan_restore(struct gpv_root *root, struct gpv_plan *plan, const struct gpv_bind_dev *d)
{
	_cleanup_free_ char *cur = NULL, *ov = NULL;
	int r;

	if ((r = dev_driver(root, d->addr, &cur)) < 0 || (r = dev_override(root, d->addr, &ov)) < 0)
		return r;
	if (!streq_ptr(ov, d->orig_override) &&
		(r = add_write(plan, d->addr,
			 gpv_strf("/sys/bus/pci/devices/%s/driver_override", d->addr),
			 d->orig_override ? d->orig_override : "\n")) < 0)
		return r;
	if (streq_ptr(cur, d->orig_driver))
		return 0;
	if (cur && (r = add_write(plan, d->addr,
			    gpv_strf("/sys/bus/pci/drivers/%s/unbind", cur), d->addr)) < 0)
		return r;
	if (d->orig_driver) {
		char *v = strdup(d->orig_driver);

		r = add_write(plan, d->addr, gpv_strf("/sys/bus/pci/drivers/%s/bind", d->orig_driver),
			d->addr);
		if (r == 0)
			r = v ? add_step(plan, GPV_STEP_WAIT_DRIVER, d->addr, d->group, NULL, v)
			      : -ENOMEM;
		else
			free(v);
	}
	return r;
}

static bool role_moves(enum gpv_role role)
{
	return role != GPV_ROLE_BRIDGE;
}

static bool host_driver(const char *drv)
{
	return drv && !streq(drv, "vfio-pci") && !streq(drv, "pci-stub");
}

/* Processes holding the GPU's DRM nodes open: /proc/PID/fd/N -> /dev/dri/cardX. */
static int drm_clients(struct gpv_root *root, const char *addr, char **ret)
{
	char path[128], **nodes = NULL, **pids = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/drm", addr);
	if (gpv_root_list(root, path, &nodes, NULL) < 0 || !nodes[0]) {
		gpv_names_free(nodes);
		*ret = NULL;
		return 0;
	}
	r = gpv_root_list(root, "/proc", &pids, NULL);
	if (r < 0) {
		gpv_names_free(nodes);
		*ret = NULL;
		return 0;
	}
	f = open_memstream(&out, &len);
	if (!f) {
		gpv_names_free(nodes);
		gpv_names_free(pids);
		return -ENOMEM;
	}
	for (char **pid = pids; *pid; pid++) {
		_cleanup_close_ int fd = -1;
		char **fds = NULL;
		bool holds = false;

		if (!isdigit((unsigned char)**pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", *pid);
		fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || gpv_list_at(fd, ".", &fds, NULL) < 0)
			continue;
		for (char **e = fds; *e && !holds; e++) {
			_cleanup_free_ char *target = NULL;
			const char *dri;

			if (gpv_readlink_at(fd, *e, &target) < 0 ||
				!(dri = startswith(target, "/dev/dri/")))
				continue;
			for (char **node = nodes; *node && !holds; node++)
				holds = streq(dri, *node);
		}
		gpv_names_free(fds);
		if (holds) {
			_cleanup_free_ char *comm = NULL;

			snprintf(path, sizeof(path), "/proc/%s/comm", *pid);
			if (gpv_root_read(root, path, 4096, &comm, NULL) == 0)
				gpv_strip(comm);
			fprintf(f, "%s%s (pid %s)", len ? ", " : "", comm ? comm : "?", *pid);
			fflush(f);
		}
	}
	gpv_names_free(nodes);
	gpv_names_free(pids);
	if (fclose(f) != 0)
		return -ENOMEM;
	if (!*out) {
		free(out);
		out = NULL;
	}
	*ret = out;
	return 0;
}

/* In use by the host ---------------------------------------------------------------- */

/* The entries of /sys/class/CLASS that belong to the PCI device at syspath. -ENODATA when the
 * root has no such class folder: a recording that cannot tell. */
static int class_children(struct gpv_root *root, const char *class, const char *syspath,
	gpv_strv *ret)
{
	char dir[64], **names = NULL;
	size_t plen = strlen(syspath);
	int r;

	snprintf(dir, sizeof(dir), "/sys/class/%s", class);
	r = gpv_root_list(root, dir, &names, NULL);
	if (r == -ENOENT)
		return -ENODATA;
	if (r < 0)
		return r;
	for (char **n = names; *n && r >= 0; n++) {
		_cleanup_free_ char *path = gpv_strf("%s/%s", dir, *n), *canon = NULL;

		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (gpv_root_resolve(root, path, &canon) < 0)
			continue;
		if (strncmp(canon, syspath, plen) == 0 && canon[plen] == '/')
			r = gpv_strv_push(ret, *n);
	}
	gpv_names_free(names);
	return r < 0 ? r : 0;
}

/* Appends "what" to a comma-separated list. */
static int also(char **list, char *what)
{
	char *n;

	if (!what)
		return -ENOMEM;
	n = gpv_strf("%s%s%s", *list ? *list : "", *list ? ", " : "", what);
	free(what);
	free(*list);
	*list = n;
	return n ? 0 : -ENOMEM;
}

/* A mounted filesystem or active swap on one of the device's disks (or on what is built on
 * them: dm, md). */
static int disk_use(struct gpv_root *root, const char *syspath, char **why)
{
	_cleanup_free_ char *mounts = NULL, *swaps = NULL;
	gpv_strv disks = { 0 };
	int r = class_children(root, "block", syspath, &disks);

	if (r < 0 || !disks.n)
		goto out;
	/* What is stacked on the disks counts too: /sys/class/block/X/holders/. */
	for (size_t i = 0; i < disks.n && r >= 0; i++) {
		_cleanup_free_ char *path = gpv_strf("/sys/class/block/%s/holders", disks.v[i]);
		char **holders = NULL;

		if (!path || gpv_root_list(root, path, &holders, NULL) < 0)
			continue;
		for (char **h = holders; *h && r >= 0; h++) {
			_cleanup_free_ char *dm = NULL, *dmpath = gpv_strf("/sys/class/block/%s/dm/name", *h);

			if (!gpv_strv_contains(&disks, *h))
				r = gpv_strv_push(&disks, *h);
			if (r >= 0 && dmpath && gpv_root_read(root, dmpath, 4096, &dm, NULL) == 0)
				r = gpv_strv_push_take(&disks, gpv_strf("mapper/%s", gpv_strip(dm)));
		}
		gpv_names_free(holders);
	}
	if (r < 0)
		goto out;
	/* Mounts by device number (/proc/self/mountinfo), which also catches a root that
	 * /proc/mounts calls "/dev/root"; by name where only /proc/mounts was recorded. */
	if (gpv_root_read(root, "/proc/self/mountinfo", 4 * 1024 * 1024, &mounts, NULL) == 0) {
		char *save = NULL;

		for (size_t i = 0; i < disks.n && r >= 0; i++) {
			_cleanup_free_ char *path = gpv_strf("/sys/class/block/%s/dev", disks.v[i]);
			_cleanup_free_ char *num = NULL;

			if (!path || gpv_root_read(root, path, 64, &num, NULL) < 0)
				continue;
			r = gpv_strv_push_take(&disks, gpv_strf("#%s", gpv_strip(num)));
		}
		for (char *line = strtok_r(mounts, "\n", &save); line && r >= 0;
			line = strtok_r(NULL, "\n", &save)) {
			char num[32], where[512], key[40];

			if (sscanf(line, "%*s %*s %31s %*s %511s", num, where) != 2)
				continue;
			snprintf(key, sizeof(key), "#%s", num);
			if (gpv_strv_contains(&disks, key))
				r = also(why, gpv_strf("a filesystem on it is mounted on %s", where));
		}
	} else {
		char *save = NULL;

		r = gpv_root_read(root, "/proc/mounts", 4 * 1024 * 1024, &mounts, NULL);
		if (r < 0) {
			r = r == -ENOENT ? -ENODATA : r;
			goto out;
		}
		for (char *line = strtok_r(mounts, "\n", &save); line && r >= 0;
			line = strtok_r(NULL, "\n", &save)) {
			char dev[256], where[512];
			const char *name;

			if (sscanf(line, "%255s %511s", dev, where) == 2 && (name = startswith(dev, "/dev/")) &&
				gpv_strv_contains(&disks, name))
				r = also(why, gpv_strf("%s mounted on %s", dev, where));
		}
	}
	if (gpv_root_read(root, "/proc/swaps", 1024 * 1024, &swaps, NULL) == 0) {
		char *save = NULL;

		for (char *line = strtok_r(swaps, "\n", &save); line && r >= 0;
			line = strtok_r(NULL, "\n", &save)) {
			char dev[256];
			const char *name;

			if (sscanf(line, "%255s", dev) == 1 && (name = startswith(dev, "/dev/")) &&
				gpv_strv_contains(&disks, name))
				r = also(why, gpv_strf("swap on %s", dev));
		}
	}
out:
	gpv_strv_clear(&disks);
	return r;
}

/* One of the device's network interfaces carries a default route (IPv4 or IPv6). */
static int route_use(struct gpv_root *root, const char *syspath, char **why)
{
	_cleanup_free_ char *v4 = NULL, *v6 = NULL;
	gpv_strv ifaces = { 0 };
	char *save = NULL;
	int r = class_children(root, "net", syspath, &ifaces);

	if (r < 0 || !ifaces.n)
		goto out;
	/* The route is often on what is built on the NIC: a bridge, a bond (its "master"), a
	 * VLAN (an "upper_" link). Those carry the NIC's traffic too. */
	for (size_t i = 0; i < ifaces.n && r >= 0; i++) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *dir = gpv_strf("/sys/class/net/%s", ifaces.v[i]);
		char **entries = NULL;

		if (!dir || (fd = gpv_root_open(root, dir, O_RDONLY | O_DIRECTORY)) < 0)
			continue;
		if (gpv_list_at(fd, ".", &entries, NULL) < 0)
			continue;
		for (char **e = entries; *e && r >= 0; e++) {
			_cleanup_free_ char *upper = NULL;

			if (!streq(*e, "master") && !startswith(*e, "upper_"))
				continue;
			if (gpv_readlink_base_at(fd, *e, &upper) == 0 && ifaces.n < 64 &&
				!gpv_strv_contains(&ifaces, upper))
				r = gpv_strv_push(&ifaces, upper);
		}
		gpv_names_free(entries);
	}
	if (r < 0)
		goto out;
	r = gpv_root_read(root, "/proc/net/route", 1024 * 1024, &v4, NULL);
	if (r < 0) {
		r = r == -ENOENT ? -ENODATA : r;
		goto out;
	}
	(void)gpv_root_read(root, "/proc/net/ipv6_route", 1024 * 1024, &v6, NULL);
	/* "Iface Destination Gateway ...": a destination of 00000000 is the default route. */
	for (char *line = strtok_r(v4, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		char iface[64], dest[16];

		if (sscanf(line, "%63s %15s", iface, dest) == 2 && streq(dest, "00000000") &&
			gpv_strv_contains(&ifaces, iface))
			r = also(why, gpv_strf("%s carries the default route", iface));
	}
	/* "dest prefixlen src srcprefix nexthop metric refcnt use flags iface": ::/0. */
	for (char *line = v6 ? strtok_r(v6, "\n", &save) : NULL; line && r >= 0;
		line = strtok_r(NULL, "\n", &save)) {
		char dest[40], plen[4], iface[64];

		if (sscanf(line, "%39s %3s %*s %*s %*s %*s %*s %*s %*s %63s", dest, plen, iface) == 3 &&
			strspn(dest, "0") == 32 && streq(plen, "00") && gpv_strv_contains(&ifaces, iface))
			r = also(why, gpv_strf("%s carries the IPv6 default route", iface));
	}
out:
	gpv_strv_clear(&ifaces);
	return r;
}

/* A keyboard hangs off the device: an input device with key events and autorepeat. */
static int keyboard_use(struct gpv_root *root, const char *syspath, char **why)
{
	gpv_strv inputs = { 0 };
	int r = class_children(root, "input", syspath, &inputs);

	for (size_t i = 0; r >= 0 && i < inputs.n; i++) {
		_cleanup_free_ char *ev = NULL, *name = NULL, *path = NULL;
		uint64_t bits;

		if (!startswith(inputs.v[i], "input"))
			continue;
		path = gpv_strf("/sys/class/input/%s/capabilities/ev", inputs.v[i]);
		if (!path || gpv_root_read(root, path, 4096, &ev, NULL) < 0 ||
			gpv_parse_hex(gpv_strip(ev), UINT64_MAX, &bits) < 0)
			continue;
		/* EV_KEY (1) and EV_REP (20): keyboards repeat, mice and buttons do not. */
		if (!(bits & (1u << 1)) || !(bits & (1u << 20)))
			continue;
		free(path);
		path = gpv_strf("/sys/class/input/%s/name", inputs.v[i]);
		if (path)
			(void)gpv_root_read(root, path, 4096, &name, NULL);
		r = also(why, gpv_strf("the keyboard '%s' is on it", name ? gpv_strip(name) : inputs.v[i]));
	}
	gpv_strv_clear(&inputs);
	return r;
}

/*
 * Why the host needs a device it would lose with the GPU's group: the storage behind a
 * mounted filesystem, the NIC with the default route, the USB controller with the keyboard.
 * 0 and *why NULL when it can go; -ENODATA when this root cannot tell (a recording without
 * /sys/class or /proc/mounts), which counts as in use.
 */
static int host_use(struct gpv_root *root, const struct gpv_pci_dev *d, char **why)
{
	int r;

	*why = NULL;
	if (!d->syspath)
		return -ENODATA;
	if ((r = disk_use(root, d->syspath, why)) < 0 || (r = route_use(root, d->syspath, why)) < 0 ||
		(r = keyboard_use(root, d->syspath, why)) < 0) {
		free(*why);
		*why = NULL;
	}
	return r;
}

/*
 * Cards with a reset bug (probes/data/reset-bugs.ids) get the module that fixes it loaded and
 * their reset_method set to device_specific, when the module is installed; the journal keeps
 * the methods they had, for unbind to put back.
 */
static int plan_vendor_reset(struct gpv_root *root, struct gpv_plan *plan, const struct gpv_gpu *g)
{
	_cleanup_free_ char *rest = NULL, *path = NULL, *cur = NULL;
	const struct gpv_pci_dev *d = g->dev;
	struct gpv_kmod_info info = { 0 };
	const char *text, *module;
	char *bar, modname[64];
	int r;

	if (gpv_data_get("reset-bugs.ids", &text) < 0 ||
		gpv_ids_lookup(text, d->vendor, d->device, &rest) <= 0 || !rest)
		return 0;
	bar = strchr(rest, '|');
	module = bar ? bar + 1 : "vendor-reset";
	while (*module == ' ')
		module++;
	snprintf(modname, sizeof(modname), "%s", module);
	gpv_strip(modname);
	path = gpv_strf("/sys/bus/pci/devices/%s/reset_method", d->addr);
	if (!path)
		return -ENOMEM;
	if (plan->binding.orig_reset || gpv_root_read(root, path, 4096, &cur, NULL) < 0)
		return 0; /* chosen already, or a kernel before 5.15 with no reset_method */
	gpv_strip(cur);
	if (strstr(cur, "device_specific"))
		return 0;
	r = gpv_kmod_lookup(root, modname, &info);
	if (r < 0 || (info.state == GPV_KMOD_MISSING && !info.loaded)) {
		gpv_kmod_info_clear(&info);
		return gpv_strv_push_take(&plan->warnings,
			gpv_strf("'%s' has a reset bug and %s is not installed: the VM may start "
				 "only once per host boot (https://github.com/gnif/vendor-reset)",
				d->addr, modname));
	}
	if (!info.loaded) {
		char *v = strdup(modname);

		r = v ? add_step(plan, GPV_STEP_LOAD_MODULE, NULL, -1, NULL, v) : -ENOMEM;
		if (r < 0) {
			gpv_kmod_info_clear(&info);
			return r;
		}
	}
	gpv_kmod_info_clear(&info);
	plan->binding.orig_reset = TAKE_PTR(cur);
	return add_write(plan, d->addr, TAKE_PTR(path), "device_specific");
}

static bool journal_has(const struct gpv_binding *b, const char *addr)
{
	for (size_t i = 0; i < b->n_devs; i++)
		if (streq(b->devs[i].addr, addr))
			return true;
	return false;
}

static const struct gpv_gpu *find_gpu(const struct gpv_precheck *p, const char *addr)
{
	for (size_t i = 0; i < p->n_gpus; i++)
		if (streq(p->gpus[i].dev->addr, addr))
			return &p->gpus[i];
	return NULL;
}

static int add_dev(struct gpv_binding *b, const struct gpv_pci_dev *d, char *override)
{
	struct gpv_bind_dev *nd = realloc(b->devs, (b->n_devs + 1) * sizeof(*nd));

	if (!nd) {
		free(override);
		return -ENOMEM;
	}
	b->devs = nd;
	nd = &nd[b->n_devs++];
	*nd = (struct gpv_bind_dev){ .group = d->iommu_group, .orig_override = override };
	memcpy(nd->addr, d->addr, 13);
	if (d->driver && !(nd->orig_driver = strdup(d->driver)))
		return -ENOMEM;
	return 0;
}

static int check_refusals(struct gpv_root *root, struct gpv_precheck *p,
	const struct gpv_gpu *g, unsigned flags, struct gpv_plan *plan, struct gpv_refusal *refusal)
{
	const struct gpv_pci_dev *d = g->dev;
	_cleanup_free_ char *busy = NULL, *clients = NULL;
	size_t displays = 0;
	int r;

	if (g->bmc)
		return refuse(refusal, -EOPNOTSUPP, "bmc",
			gpv_strf("'%s' is the display of the server's management controller (BMC)",
				d->addr),
			gpv_strf("pass a real GPU; 'gpupv list' shows them"));
	if (d->iommu_group < 0) {
		const struct gpv_check *c;

		/* The way to turn the IOMMU on depends on the host: examine it now. */
		if ((r = gpv_precheck_host(root, p)) < 0)
			return r;
		c = gpv_precheck_check(p, "iommu.active");

		return refuse(refusal, -EOPNOTSUPP, "no-iommu-group",
			gpv_strf("'%s' is in no IOMMU group: without the IOMMU nothing can be "
				 "passed through",
				d->addr),
			gpv_strf("%s", c && c->fix ? c->fix : "turn the IOMMU on"));
	}

	/* Every other device of the groups moves too: refuse when the host is using one. */
	for (size_t i = 0; i < g->n_members; i++) {
		const struct gpv_member *m = &g->members[i];
		_cleanup_free_ char *why = NULL;

		if (m->role != GPV_ROLE_OTHER || !host_driver(m->dev->driver))
			continue;
		r = host_use(root, m->dev, &why);
		if (r == -ENOMEM)
			return r;
		if (r == 0 && !why) {
			r = gpv_strv_push_take(&plan->warnings,
				gpv_strf("'%s' (class %04x, %s) leaves the host too: it shares IOMMU "
					 "group %d",
					m->dev->addr, gpv_pci_class16(m->dev), m->dev->driver, m->group));
			if (r < 0)
				return r;
			continue;
		}
		r = also(&busy, gpv_strf("'%s' (group %d, class %04x, driver %s: %s)", m->dev->addr,
					m->group, gpv_pci_class16(m->dev), m->dev->driver,
					why ? why : "this recording cannot tell whether the host uses it"));
		if (r < 0)
			return r;
	}
	if (busy)
		return refuse(refusal, -EBUSY, "group-in-use",
			gpv_strf("cannot bind '%s' to vfio-pci: the IOMMU groups that move with it "
				 "also hold %s, and every device of a group must leave the host "
				 "together",
				d->addr, busy),
			gpv_strf("move the card to a slot whose group it has to itself (see 'gpupv "
				 "precheck'), or stop the host's use of those devices first"));

	/* The displays the host keeps: every other display controller (a BMC's included: it
	 * carries the console) that a host driver runs. */
	for (size_t i = 0; i < p->n_gpus; i++)
		displays += p->gpus[i].dev != d && host_driver(p->gpus[i].dev->driver);
	if (d->boot_vga == 1 && displays == 0) {
		if (!(flags & GPV_BIND_FORCE))
			return refuse(refusal, -EPERM, "only-display",
				gpv_strf("'%s' is the boot display and the last display the host "
					 "keeps: the console goes dark when it leaves",
					d->addr),
				gpv_strf("run the host headless and use --force, or add a second "
					 "display adapter"));
		r = gpv_strv_push(&plan->warnings,
			"--force: taking the host's only display; the console goes dark");
		if (r < 0)
			return r;
	}

	r = drm_clients(root, d->addr, &clients);
	if (r < 0)
		return r;
	if (clients)
		return refuse(refusal, -EBUSY, "drm-clients",
			gpv_strf("'%s' is in use: %s %s its display nodes open", d->addr, clients,
				strchr(clients, ',') ? "hold" : "holds"),
			gpv_strf("stop them (log out of the graphical session on that GPU, stop the "
				 "display manager) and try again"));
	return 0;
}

/* GPV_BIND_VF: the VF alone, with the other members of its IOMMU group (which must leave
 * the host with it), planned like a GPU; its PF stays where it is. members is freed by the
 * caller. */
static int vf_as_gpu(const struct gpv_precheck *p, const struct gpv_pci_dev *vf,
	struct gpv_gpu *g)
{
	const struct gpv_iommu_group *grp = gpv_pci_group(p->pci, vf->iommu_group);
	size_t n = grp ? grp->members.n : 0;

	*g = (struct gpv_gpu){ .dev = vf, .verdict = GPV_READY };
	g->members = calloc(n + 1, sizeof(*g->members));
	if (!g->members)
		return -ENOMEM;
	g->members[g->n_members++] = (struct gpv_member){ vf, vf->iommu_group, GPV_ROLE_GPU };
	for (size_t i = 0; i < n; i++) {
		const struct gpv_pci_dev *m = gpv_pci_find(p->pci, grp->members.v[i]);

		if (m && m != vf)
			g->members[g->n_members++] = (struct gpv_member){ m, vf->iommu_group,
				gpv_pci_is_bridge(m) ? GPV_ROLE_BRIDGE : GPV_ROLE_OTHER };
	}
	return 0;
}

static int bind_plan(struct gpv_root *root, struct gpv_precheck *p, const struct gpv_gpu *g,
	const char *addr, unsigned flags, struct gpv_plan **ret, struct gpv_refusal *refusal);

int gpv_bind_plan(struct gpv_root *root, struct gpv_precheck *p, const char *addr,
	unsigned flags, struct gpv_plan **ret, struct gpv_refusal *refusal)
{
	const struct gpv_gpu *g = find_gpu(p, addr);
	const struct gpv_pci_dev *dev = gpv_pci_find(p->pci, addr);
	struct gpv_gpu vf;
	int r;

	if (!g && dev && dev->is_vf && (flags & GPV_BIND_VF)) {
		r = vf_as_gpu(p, dev, &vf);
		if (r < 0)
			return r;
		r = bind_plan(root, p, &vf, addr, flags, ret, refusal);
		free(vf.members);
		return r;
	}
	return bind_plan(root, p, g, addr, flags, ret, refusal);
}

static int bind_plan(struct gpv_root *root, struct gpv_precheck *p, const struct gpv_gpu *g,
	const char *addr, unsigned flags, struct gpv_plan **ret, struct gpv_refusal *refusal)
{
	const struct gpv_pci_dev *dev = gpv_pci_find(p->pci, addr);
	struct gpv_binding existing = { 0 };
	struct gpv_plan *plan;
	int *groups = NULL;
	size_t n_groups = 0, moving = 0;
	int r;

	if (!g) {
		if (dev && dev->is_vf)
			return refuse(refusal, -EOPNOTSUPP, "vf",
				gpv_strf("'%s' is an SR-IOV virtual function of '%s'", addr,
					dev->physfn[0] ? dev->physfn : "its GPU"),
				gpv_strf("bind the physical GPU, or give the VF to a VM as a share"));
		return refuse(refusal, -ENODEV, "no-gpu",
			gpv_strf("there is no GPU at '%s'%s", addr, dev ? " (it is not a display controller)" : ""),
			gpv_strf("'gpupv list' shows the GPUs and their addresses"));
	}
	r = journal_read(root, addr, &existing);
	if (r == 0 && existing.state != GPV_BINDING_BOUND) {
		enum gpv_binding_state st = existing.state;

		gpv_binding_clear(&existing);
		return refuse(refusal, -EEXIST, "unfinished",
			gpv_strf("an earlier gpupv left '%s' half %s", addr,
				st == GPV_BINDING_BINDING ? "bound" : "unbound"),
			gpv_strf("run 'gpupv unbind --recover' to put the host back first"));
	} else if (r < 0 && r != -ENOENT) {
		return r;
	}

	plan = calloc(1, sizeof(*plan));
	if (!plan) {
		gpv_binding_clear(&existing);
		return -ENOMEM;
	}
	if (r == 0) {
		/* Bound before, and something has moved back since: the journal still knows
		 * what each device had at first, and keeps knowing it. */
		plan->binding = existing;
		existing = (struct gpv_binding){ 0 };
	} else {
		memcpy(plan->binding.gpu, addr, 13);
		plan->binding.since = (long long)time(NULL);
	}
	plan->rollback = true;
	r = check_refusals(root, p, g, flags, plan, refusal);
	if (r < 0)
		goto fail;

	/* The card's functions, then everything else in their groups, GPU last: its driver
	 * may reach for its audio function while it goes. */
	for (size_t pass = 0; pass < 2 && r >= 0; pass++)
		for (size_t i = 0; i < g->n_members && r >= 0; i++) {
			const struct gpv_member *m = &g->members[i];
			char *ov = NULL;

			if (!role_moves(m->role) || (m->role == GPV_ROLE_GPU) != (pass == 1))
				continue;
			/* A device on no driver does not keep a group from being viable. */
			if (m->role == GPV_ROLE_OTHER && !m->dev->driver)
				continue;
			if (streq_ptr(m->dev->driver, "vfio-pci"))
				continue; /* not ours to change, nor to give back */
			if (journal_has(&plan->binding, m->dev->addr)) {
				moving++;
				continue;
			}
			r = dev_override(root, m->dev->addr, &ov);
			if (r == 0)
				r = add_dev(&plan->binding, m->dev, ov);
			moving++;
		}
	if (r < 0)
		goto fail;
	if (moving == 0) {
		/* Everything is on vfio-pci already: nothing to do, nothing to journal; but a
		 * binding of gpupv's may still be asked to persist. */
		if ((flags & GPV_BIND_PERSIST) && plan->binding.n_devs &&
			!gpv_binding_persistent(root, addr)) {
			char *v = strdup("add");

			r = v ? add_step(plan, GPV_STEP_PERSIST, NULL, -1, NULL, v) : -ENOMEM;
			if (r < 0)
				goto fail;
			plan->rollback = false;
		} else {
			plan->nothing_to_do = true;
		}
		*ret = plan;
		return 0;
	}

	if (gpv_root_exists(root, "/sys/bus/pci/drivers/vfio-pci") < 0) {
		char *v = strdup("vfio-pci");

		r = v ? add_step(plan, GPV_STEP_LOAD_MODULE, NULL, -1, NULL, v) : -ENOMEM;
		if (r < 0)
			goto fail;
	}
	r = add_journal(plan, GPV_BINDING_BINDING);
	for (size_t i = 0; i < plan->binding.n_devs && r >= 0; i++) {
		_cleanup_free_ char *cur = NULL;

		/* Devices the journal knows and that are still on vfio-pci stay put. */
		r = dev_driver(root, plan->binding.devs[i].addr, &cur);
		if (r >= 0 && !streq_ptr(cur, "vfio-pci"))
			r = plan_to_vfio(plan, &plan->binding.devs[i]);
	}
	if (r == 0)
		r = plan_vendor_reset(root, plan, g);
	if (r < 0)
		goto fail;
	groups = calloc(g->n_members + 1, sizeof(int));
	if (!groups) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		bool seen = false;

		for (size_t j = 0; j < n_groups; j++)
			seen |= groups[j] == g->members[i].group;
		if (!seen)
			groups[n_groups++] = g->members[i].group;
	}
	for (size_t i = 0; i < n_groups && r >= 0; i++) {
		r = add_step(plan, GPV_STEP_WAIT_VFIO, NULL, groups[i], gpv_strf("/dev/vfio/%d", groups[i]), NULL);
		if (r == 0)
			r = add_step(plan, GPV_STEP_CHECK_VIABLE, NULL, groups[i], NULL, NULL);
	}
	free(groups);
	if (r == 0)
		r = add_journal(plan, GPV_BINDING_BOUND);
	if (r == 0 && (flags & GPV_BIND_PERSIST)) {
		char *v = strdup("add");

		r = v ? add_step(plan, GPV_STEP_PERSIST, NULL, -1, NULL, v) : -ENOMEM;
	}
	if (r < 0)
		goto fail;
	*ret = plan;
	return 0;
fail:
	gpv_plan_free(plan);
	return r;
}

int gpv_unbind_plan(struct gpv_root *root, const char *addr, unsigned flags,
	struct gpv_plan **ret, struct gpv_refusal *refusal)
{
	struct gpv_plan *plan = calloc(1, sizeof(*plan));
	int r;

	if (!plan)
		return -ENOMEM;
	r = journal_read(root, addr, &plan->binding);
	if (r == -ENOENT) {
		gpv_plan_free(plan);
		return refuse(refusal, -ENODEV, "not-bound",
			gpv_strf("gpupv has not bound '%s'", addr),
			gpv_strf("'gpupv status' lists what gpupv has bound; a device bound by other "
				 "means is not gpupv's to give back"));
	}
	if (r < 0) {
		gpv_plan_free(plan);
		return r;
	}
	if (gpv_binding_persistent(root, addr)) {
		if (flags & GPV_BIND_PERSIST) {
			char *v = strdup("remove");

			/* First: whatever happens next, the next boot leaves the GPU alone. */
			r = v ? add_step(plan, GPV_STEP_PERSIST, NULL, -1, NULL, v) : -ENOMEM;
			if (r < 0) {
				gpv_plan_free(plan);
				return r;
			}
		} else if (gpv_strv_push(&plan->warnings,
				   "this binding persists: the GPU goes back to vfio-pci at the next "
				   "boot unless you unbind it with --persist") < 0) {
			gpv_plan_free(plan);
			return -ENOMEM;
		}
	}
	r = add_journal(plan, GPV_BINDING_UNBINDING);
	/* The reverse order of the bind: the GPU first. */
	for (size_t i = plan->binding.n_devs; i-- > 0 && r >= 0;)
		r = plan_restore(root, plan, &plan->binding.devs[i]);
	if (r == 0 && plan->binding.orig_reset)
		r = add_write(plan, addr, gpv_strf("/sys/bus/pci/devices/%s/reset_method", addr),
			*plan->binding.orig_reset ? plan->binding.orig_reset : "\n");
	if (r == 0) {
		char *path = NULL;

		r = journal_path(addr, &path);
		if (r == 0)
			r = add_step(plan, GPV_STEP_REMOVE_JOURNAL, NULL, -1, path, NULL);
	}
	if (r < 0) {
		gpv_plan_free(plan);
		return r;
	}
	*ret = plan;
	return 0;
}

/* Apply ------------------------------------------------------------------------------ */

/* Waits until cond() holds: on the live host for the kernel's uevent, up to WAIT_MS; in a
 * recorded machine, whose model answers at once, it is checked once. */
static int wait_for(struct gpv_root *root, struct gpv_uevents **ev,
	int (*cond)(struct gpv_root *, const struct gpv_step *), const struct gpv_step *s)
{
	struct timespec start, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long elapsed;

		r = cond(root, s);
		if (r != 0 || !gpv_root_is_host(root))
			return r;
		if (!*ev && gpv_uevents_new(ev) < 0)
			return r; /* no monitor: what we saw is the answer */
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= WAIT_MS)
			return 0;
		r = gpv_uevents_wait(*ev, (int)(WAIT_MS - elapsed));
		if (r < 0)
			return r;
	}
}

static int driver_is(struct gpv_root *root, const struct gpv_step *s)
{
	_cleanup_free_ char *cur = NULL;
	int r = dev_driver(root, s->addr, &cur);

	return r < 0 ? r : streq_ptr(cur, s->value);
}

static int vfio_node(struct gpv_root *root, const struct gpv_step *s)
{
	return gpv_root_exists(root, s->path) == 0;
}

static int run_step(struct gpv_root *root, struct gpv_plan *plan, const struct gpv_step *s,
	struct gpv_uevents **ev)
{
	int r;

	switch (s->kind) {
	case GPV_STEP_LOAD_MODULE:
		return gpv_kmod_load(root, s->value);
	case GPV_STEP_JOURNAL:
		plan->binding.state = streq(s->value, "bound") ? GPV_BINDING_BOUND
			: streq(s->value, "binding")           ? GPV_BINDING_BINDING
								: GPV_BINDING_UNBINDING;
		return journal_write(root, &plan->binding);
	case GPV_STEP_REMOVE_JOURNAL:
		return gpv_root_unlink(root, s->path);
	case GPV_STEP_PERSIST:
		return persist(root, &plan->binding, streq(s->value, "add"));
	case GPV_STEP_WRITE:
		r = gpv_root_write(root, s->path, s->value);
		gpv_debug("write '%s' to %s: %s", streq(s->value, "\n") ? "\\n" : s->value, s->path,
			r < 0 ? strerror(-r) : "ok");
		return r;
	case GPV_STEP_WAIT_DRIVER:
		r = wait_for(root, ev, driver_is, s);
		return r < 0 ? r : r ? 0 : -ETIMEDOUT;
	case GPV_STEP_WAIT_VFIO:
		r = wait_for(root, ev, vfio_node, s);
		return r < 0 ? r : r ? 0 : -ETIMEDOUT;
	case GPV_STEP_CHECK_VIABLE:
		r = gpv_vfio_group_viable(root, s->group);
		return r < 0 ? r : r ? 0 : -EBUSY;
	}
	return -EINVAL;
}

/* Puts every device of the binding back, last changed first; goes on past failures. */
static int restore_all(struct gpv_root *root, struct gpv_binding *b, struct gpv_uevents **ev)
{
	struct gpv_plan undo = { .binding = *b };
	int r = 0, first = 0;

	if (b->orig_reset) {
		_cleanup_free_ char *path = gpv_strf("/sys/bus/pci/devices/%s/reset_method", b->gpu);

		r = path ? gpv_root_write(root, path, *b->orig_reset ? b->orig_reset : "\n") : -ENOMEM;
		if (r < 0) {
			gpv_log(GPV_LOG_ERR, "cannot give '%s' its reset methods back: %s", b->gpu,
				strerror(-r));
			first = r;
		}
	}

	for (size_t i = b->n_devs; i-- > 0;) {
		undo.steps = NULL;
		undo.n_steps = 0;
		r = plan_restore(root, &undo, &b->devs[i]);
		for (size_t j = 0; r >= 0 && j < undo.n_steps; j++)
			r = run_step(root, &undo, &undo.steps[j], ev);
		if (r < 0) {
			gpv_log(GPV_LOG_ERR, "cannot give '%s' back to %s: %s", b->devs[i].addr,
				b->devs[i].orig_driver ? b->devs[i].orig_driver : "no driver",
				strerror(-r));
			if (!first)
				first = r;
		}
		for (size_t j = 0; j < undo.n_steps; j++) {
			free(undo.steps[j].path);
			free(undo.steps[j].value);
		}
		free(undo.steps);
	}
	return first;
}

/* Says more about a failed step than its errno, before a rollback changes what there is to
 * see: which member keeps a group from being viable, which file blacklists a module. */
static void failure_detail(struct gpv_root *root, struct gpv_plan *plan, const struct gpv_step *s,
	int err)
{
	if (s->kind == GPV_STEP_CHECK_VIABLE && err == -EBUSY) {
		char path[64], **members = NULL, *out = NULL;

		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", s->group);
		if (gpv_root_list(root, path, &members, NULL) < 0)
			return;
		for (char **m = members; *m; m++) {
			_cleanup_free_ char *drv = NULL;
			char *n;

			if (dev_driver(root, *m, &drv) < 0 || !drv || streq(drv, "vfio-pci") ||
				streq(drv, "pci-stub") || streq(drv, "pcieport"))
				continue;
			n = gpv_strf("%s%s'%s' is on %s", out ? out : "", out ? ", " : "", *m, drv);
			free(out);
			out = n;
		}
		gpv_names_free(members);
		if (out)
			plan->failure_detail = gpv_strf("IOMMU group %d is not viable: %s", s->group, out);
		free(out);
	} else if (s->kind == GPV_STEP_LOAD_MODULE && err == -EPERM) {
		struct gpv_kmod_info info = { 0 };

		if (gpv_kmod_lookup(root, s->value, &info) == 0 && info.blacklist_file)
			plan->failure_detail = gpv_strf("%s is blacklisted in %s: remove the "
							"'blacklist' line there",
				s->value, info.blacklist_file);
		gpv_kmod_info_clear(&info);
	}
}

int gpv_plan_apply(struct gpv_root *root, struct gpv_plan *plan, size_t *ret_failed)
{
	struct gpv_uevents *ev = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < plan->n_steps; i++) {
		r = plan->fail_at == i + 1 ? -EIO : run_step(root, plan, &plan->steps[i], &ev);
		if (r < 0)
			break;
	}
	if (r < 0) {
		if (ret_failed)
			*ret_failed = i;
		failure_detail(root, plan, &plan->steps[i], r);
		/* A bind undoes itself; an unbind keeps its journal for --recover. */
		if (plan->rollback && restore_all(root, &plan->binding, &ev) == 0)
			plan->rolled_back = journal_remove(root, plan->binding.gpu) == 0;
	}
	gpv_uevents_free(ev);
	return r;
}

int gpv_recover(struct gpv_root *root, gpv_strv *log)
{
	struct gpv_binding *all = NULL;
	struct gpv_uevents *ev = NULL;
	size_t n = 0;
	int r = gpv_bindings_load(root, &all, &n), done = 0, first = 0;

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (all[i].state == GPV_BINDING_BOUND)
			continue;
		r = restore_all(root, &all[i], &ev);
		if (r == 0)
			r = journal_remove(root, all[i].gpu);
		if (log)
			(void)gpv_strv_push_take(log,
				gpv_strf("%s: %s %s", all[i].gpu,
					r < 0 ? "could not recover:" : "recovered from an unfinished",
					r < 0 ? strerror(-r) : gpv_binding_state_str(all[i].state)));
		if (r < 0 && !first)
			first = r;
		else if (r == 0)
			done++;
	}
	gpv_uevents_free(ev);
	gpv_bindings_free(all, n);
	return first ? first : done;
}

int gpv_bind_lock(struct gpv_root *root, bool wait, long *ret_holder)
{
	char buf[32];
	int fd, r, n;

	r = gpv_root_mkdir_p(root, "/run/gpupv", 0755);
	if (r < 0)
		return r;
	fd = gpv_root_open_create(root, "/run/gpupv/lock", O_RDWR, 0644);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r != -EWOULDBLOCK) {
			close(fd);
			return r;
		}
		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (ret_holder)
			*ret_holder = strtol(buf, NULL, 10);
		if (!wait) {
			close(fd);
			return -EBUSY;
		}
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR) {
				r = -errno;
				close(fd);
				return r;
			}
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		gpv_debug("cannot record the lock holder: %s", strerror(errno));
	return fd;
}
