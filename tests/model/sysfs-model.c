/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A model of the kernel's PCI driver core, loaded with LD_PRELOAD, for tests that change a
 * recorded machine the way gpupv changes a real one.
 *
 * GPV_MODEL_ROOT names a copy of a fixture whose links are real symlinks (tests/model/
 * realize-links) and which tests/model/gpv-model-init has prepared. Writes under that root to the
 * files through which userspace moves a PCI device between drivers (DEV/driver_override,
 * sys/bus/pci/drivers/DRV/unbind and bind, sys/bus/pci/drivers_probe) change the tree the way the
 * kernel would: the driver links move, ROOT/dev/vfio/GROUP appears and disappears, and
 * VFIO_GROUP_GET_STATUS on that file answers from the group's drivers. Writes to an mdev type's
 * create, an mdev's remove and a PF's sriov_numvfs make and remove mediated devices and SR-IOV
 * VFs as the kernel would, and a write to an NVIDIA VF's nvidia/current_vgpu_type makes or
 * releases a vGPU as NVIDIA's driver would. Everything else, and every
 * path outside the root, passes through untouched.
 *
 * The state is the tree itself (links and files), so any number of processes share one model;
 * ROOT/.model/lock serialises the changes as the device lock does in the kernel. Every modeled
 * write is counted (ROOT/.model/count) and logged (ROOT/.model/log), can be made to fail
 * (GPV_MODEL_FAIL, GPV_MODEL_FAIL_AT) and can kill its writer just before or just after the
 * change (GPV_MODEL_KILL_BEFORE, GPV_MODEL_KILL_AFTER). tests/model/README.md is the reference.
 *
 * Like libvirt's tests/virpcimock.c, it decides what a file is from its path; unlike it, it
 * keeps no state in memory, so it works across fork, exec and dup2 (a shell's "> file").
 */
#undef _FORTIFY_SOURCE /* its inline open() would clash with the definitions below */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

/* glibc's entry points for opens that _FORTIFY_SOURCE routes around open(). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_ioctl)(int, unsigned long, ...);
static FILE *(*real_fopen)(const char *, const char *);

static char root[PATH_MAX]; /* canonical GPV_MODEL_ROOT; empty: the model is off */
static size_t root_len;

static void init(void)
{
	static bool done;
	const char *env = getenv("GPV_MODEL_ROOT");

	if (done)
		return;
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_write = dlsym(RTLD_NEXT, "write");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_fopen = dlsym(RTLD_NEXT, "fopen");
	if (!real_openat || !real_write || !real_ioctl || !real_fopen)
		abort();
	/* Never the real machine: a root of "/" leaves the model off. */
	if (env && *env && realpath(env, root) && strcmp(root, "/") != 0)
		root_len = strlen(root);
	else
		root[0] = '\0';
	done = true;
}

__attribute__((constructor)) static void model_init(void)
{
	init();
}

/* ---- paths ----------------------------------------------------------------------------------- */

enum kind {
	K_NONE,
	K_OVERRIDE,
	K_UNBIND,
	K_BIND,
	K_PROBE,
	K_MDEV_CREATE, /* PARENT/mdev_supported_types/TYPE/create */
	K_MDEV_REMOVE, /* MDEV/remove, MDEV a directory with an mdev_type link */
	K_NUMVFS,      /* PF/sriov_numvfs */
	K_VGPU,	       /* VF/nvidia/current_vgpu_type */
	K_GROUP,
	K_CONTAINER,
};

/* What a canonical path is to the model. */
struct target {
	enum kind kind;
	char dev[PATH_MAX];	/* K_OVERRIDE, K_NUMVFS, K_VGPU: the device's directory;
				 * K_MDEV_CREATE: the type's; K_MDEV_REMOVE: the mdev's */
	char drv[NAME_MAX + 1]; /* K_UNBIND, K_BIND: the driver */
	char group[32];		/* K_GROUP: the group number */
};

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && streq(s + n - m, suffix);
}

/* A single path component that cannot climb out: no slash, not "." or "..". */
static bool is_name(const char *s)
{
	return *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..") && strlen(s) <= NAME_MAX;
}

static bool is_number(const char *s)
{
	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The part of an absolute canonical path below the root, or NULL when it is not below it. */
static const char *below_root(const char *path)
{
	if (!root_len || strncmp(path, root, root_len) != 0 || path[root_len] != '/')
		return NULL;
	return path + root_len + 1;
}

static bool fmt(char *buf, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static bool fmt(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

static bool fd_path(int fd, char *out, size_t size)
{
	char proc[64];
	ssize_t n;

	fmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, out, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return false;
	out[n] = '\0';
	return out[0] == '/';
}

/* The canonical path (dirfd, name) opens: the parent's links resolved, and the last component's
 * too when it exists (a file to be created keeps its name). */
static bool resolve_at(int dirfd, const char *name, char *out)
{
	char joined[2 * PATH_MAX], parent[PATH_MAX], base[PATH_MAX];
	char *slash;

	if (name[0] == '/') {
		if (!fmt(joined, sizeof(joined), "%s", name))
			return false;
	} else {
		if (dirfd == AT_FDCWD ? !getcwd(base, sizeof(base))
				      : !fd_path(dirfd, base, sizeof(base)))
			return false;
		if (!fmt(joined, sizeof(joined), "%s/%s", base, name))
			return false;
	}
	if (realpath(joined, out))
		return true;
	slash = strrchr(joined, '/');
	if (!is_name(slash + 1))
		return false;
	*slash = '\0';
	if (!realpath(*joined ? joined : "/", parent))
		return false;
	return fmt(out, PATH_MAX, "%s/%s", streq(parent, "/") ? "" : parent, slash + 1);
}

/* Sorts a canonical path into the files the model handles. */
static enum kind classify(const char *path, struct target *t)
{
	const char *rel = below_root(path), *p;

	memset(t, 0, sizeof(*t));
	if (!rel)
		return K_NONE;
	if (streq(rel, "sys/bus/pci/drivers_probe"))
		return t->kind = K_PROBE;
	if (startswith(rel, "sys/bus/pci/drivers/")) {
		p = rel + strlen("sys/bus/pci/drivers/");
		if (endswith(p, "/unbind"))
			t->kind = K_UNBIND;
		else if (endswith(p, "/bind"))
			t->kind = K_BIND;
		else
			return K_NONE;
		if (!fmt(t->drv, sizeof(t->drv), "%.*s", (int)(strrchr(p, '/') - p), p) ||
			!is_name(t->drv))
			return t->kind = K_NONE;
		return t->kind;
	}
	if (startswith(rel, "sys/devices/") && endswith(rel, "/driver_override")) {
		fmt(t->dev, sizeof(t->dev), "%.*s",
			(int)(strlen(path) - strlen("/driver_override")), path);
		return t->kind = K_OVERRIDE;
	}
	if (startswith(rel, "sys/devices/") && endswith(rel, "/sriov_numvfs")) {
		fmt(t->dev, sizeof(t->dev), "%.*s", (int)(strlen(path) - strlen("/sriov_numvfs")),
			path);
		return t->kind = K_NUMVFS;
	}
	if (startswith(rel, "sys/devices/") && endswith(rel, "/nvidia/current_vgpu_type")) {
		fmt(t->dev, sizeof(t->dev), "%.*s",
			(int)(strlen(path) - strlen("/nvidia/current_vgpu_type")), path);
		return t->kind = K_VGPU;
	}
	if (startswith(rel, "sys/devices/") && endswith(rel, "/create") &&
		strstr(rel, "/mdev_supported_types/")) {
		fmt(t->dev, sizeof(t->dev), "%.*s", (int)(strlen(path) - strlen("/create")), path);
		return t->kind = K_MDEV_CREATE;
	}
	if (startswith(rel, "sys/devices/") && endswith(rel, "/remove")) {
		char link[PATH_MAX + 16];
		struct stat st;

		fmt(t->dev, sizeof(t->dev), "%.*s", (int)(strlen(path) - strlen("/remove")), path);
		/* Only an mdev's remove: a PCI device's is not modeled. */
		if (fmt(link, sizeof(link), "%s/mdev_type", t->dev) && lstat(link, &st) == 0 &&
			S_ISLNK(st.st_mode))
			return t->kind = K_MDEV_REMOVE;
		t->dev[0] = '\0';
		return K_NONE;
	}
	if (streq(rel, "dev/vfio/vfio"))
		return t->kind = K_CONTAINER;
	if (startswith(rel, "dev/vfio/") && is_number(rel + strlen("dev/vfio/"))) {
		fmt(t->group, sizeof(t->group), "%s", rel + strlen("dev/vfio/"));
		return t->kind = K_GROUP;
	}
	return K_NONE;
}

static bool is_store(enum kind k)
{
	return k == K_OVERRIDE || k == K_UNBIND || k == K_BIND || k == K_PROBE ||
	       k == K_MDEV_CREATE || k == K_MDEV_REMOVE || k == K_NUMVFS || k == K_VGPU;
}

/* ---- the tree: every change is checked to stay under the root -------------------------------- */

/* Whether path's parent directory is, after resolving links, inside the root. */
static bool inside(const char *path)
{
	char dir[PATH_MAX], canon[PATH_MAX];
	char *slash;

	if (!fmt(dir, sizeof(dir), "%s", path) || !(slash = strrchr(dir, '/')))
		return false;
	*slash = '\0';
	return realpath(dir, canon) && (streq(canon, root) || below_root(canon));
}

static int tree_write(const char *path, const char *text, int flags)
{
	int fd, r = 0;
	size_t len = strlen(text);

	if (!inside(path))
		return -EPERM;
	fd = real_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0644);
	if (fd < 0)
		return -errno;
	if (real_write(fd, text, len) != (ssize_t)len)
		r = -EIO;
	close(fd);
	return r;
}

static int tree_read(const char *path, char *buf, size_t size)
{
	int fd = real_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

static int tree_symlink(const char *target, const char *path)
{
	if (!inside(path))
		return -EPERM;
	return symlink(target, path) < 0 ? -errno : 0;
}

static int tree_unlink(const char *path)
{
	if (!inside(path))
		return -EPERM;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static void tree_mkdir(const char *path)
{
	if (inside(path))
		mkdir(path, 0755);
}

/* The last component of a link's target ("nvidia" for .../drivers/nvidia); false if no link. */
static bool link_name(const char *path, char *out, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n <= 0 || (size_t)n >= sizeof(target) - 1)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	return is_name(base) && fmt(out, size, "%s", base);
}

/* The link text from directory `from` to `to`, both canonical, the form sysfs_create_link() gives:
 * up to the deepest common directory, then down ("../../../../bus/pci/drivers/nvidia"). */
static bool relative(const char *from, const char *to, char *out, size_t size)
{
	size_t i, common = 0, len = 0;

	for (i = 0; from[i] && from[i] == to[i]; i++)
		if (from[i] == '/')
			common = i;
	if (!from[i] && to[i] == '/')
		common = i;
	out[0] = '\0';
	for (const char *p = from + common; *p; p++)
		if (*p == '/') {
			if (len + 3 >= size)
				return false;
			memcpy(out + len, "../", 4);
			len += 3;
		}
	return fmt(out + len, size - len, "%s", to[common] ? to + common + 1 : "");
}

/* ---- devices and drivers --------------------------------------------------------------------- */

/* The directory of the device with this address: what bus_find_device_by_name() finds. */
static int device_dir(const char *addr, char *dev)
{
	char path[PATH_MAX];
	const char *rel;

	if (!is_name(addr) || !fmt(path, sizeof(path), "%s/sys/bus/pci/devices/%s", root, addr) ||
		!realpath(path, dev))
		return -ENODEV;
	rel = below_root(dev);
	return rel && startswith(rel, "sys/devices/") ? 0 : -ENODEV;
}

static bool device_driver(const char *dev, char *drv, size_t size)
{
	char path[PATH_MAX];

	return fmt(path, sizeof(path), "%s/driver", dev) && link_name(path, drv, size);
}

static bool device_group(const char *dev, char *group, size_t size)
{
	char path[PATH_MAX];

	return fmt(path, sizeof(path), "%s/iommu_group", dev) && link_name(path, group, size) &&
	       is_number(group);
}

/* driver_override as the device holds it; empty when none. */
static void device_override(const char *dev, char *val, size_t size)
{
	char path[PATH_MAX];

	val[0] = '\0';
	if (!fmt(path, sizeof(path), "%s/driver_override", dev) || tree_read(path, val, size) < 0)
		return;
	val[strcspn(val, "\n")] = '\0';
	if (streq(val, "(null)"))
		val[0] = '\0';
}

static bool driver_loaded(const char *drv)
{
	char path[PATH_MAX];
	struct stat st;

	return is_name(drv) && fmt(path, sizeof(path), "%s/sys/bus/pci/drivers/%s", root, drv) &&
	       stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A driver that manages DMA itself (struct device_driver.driver_managed_dma): binding it does not
 * claim the group's DMA ownership, so the group stays viable (drivers/iommu/iommu.c,
 * iommu_device_use_default_domain()). vfio-pci, pci-stub and pcieport set it. */
static bool manages_dma(const char *drv)
{
	return streq(drv, "vfio-pci") || streq(drv, "pci-stub") || streq(drv, "pcieport");
}

/* VFIO_GROUP_FLAGS_VIABLE: no member of the group is bound to a driver that owns its DMA
 * (drivers/vfio/group.c, vfio_group_ioctl_get_status() asking iommu_group_dma_owner_claimed()). */
static bool group_viable(const char *group)
{
	char path[PATH_MAX], drv[NAME_MAX + 1];
	bool viable = true;
	struct dirent *e;
	DIR *d;

	if (!fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups/%s/devices", root, group) ||
		!(d = opendir(path)))
		return false;
	while (viable && (e = readdir(d))) {
		char member[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if (fmt(member, sizeof(member), "%s/%s", path, e->d_name) &&
			device_driver(member, drv, sizeof(drv)) && !manages_dma(drv))
			viable = false;
	}
	closedir(d);
	return viable;
}

/* Whether any member of the group is still bound to vfio-pci. */
static bool group_has_vfio(const char *group)
{
	char path[PATH_MAX], drv[NAME_MAX + 1];
	bool found = false;
	struct dirent *e;
	DIR *d;

	if (!fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups/%s/devices", root, group) ||
		!(d = opendir(path)))
		return false;
	while (!found && (e = readdir(d))) {
		char member[PATH_MAX];

		if (e->d_name[0] != '.' && fmt(member, sizeof(member), "%s/%s", path, e->d_name) &&
			device_driver(member, drv, sizeof(drv)) && streq(drv, "vfio-pci"))
			found = true;
	}
	closedir(d);
	return found;
}

/* really_probe() succeeding (drivers/base/dd.c): driver_sysfs_add() makes DEV/driver and
 * drivers/DRV/ADDR. vfio-pci's probe registers the device with its IOMMU group, which creates
 * the group's character device (drivers/vfio/group.c, vfio_group_find_or_alloc()), and fails
 * without a group (no IOMMU, and no noiommu mode). */
static int attach(const char *dev, const char *addr, const char *drv)
{
	char drvdir[PATH_MAX], link[PATH_MAX], target[PATH_MAX], group[32], node[PATH_MAX];
	bool vfio = streq(drv, "vfio-pci");
	int r;

	if (vfio && !device_group(dev, group, sizeof(group)))
		return -EINVAL;
	if (!fmt(drvdir, sizeof(drvdir), "%s/sys/bus/pci/drivers/%s", root, drv) ||
		!fmt(link, sizeof(link), "%s/%s", drvdir, addr) ||
		!relative(drvdir, dev, target, sizeof(target)))
		return -ENAMETOOLONG;
	r = tree_symlink(target, link);
	if (r < 0)
		return r;
	if (!fmt(link, sizeof(link), "%s/driver", dev) ||
		!relative(dev, drvdir, target, sizeof(target)))
		return -ENAMETOOLONG;
	r = tree_symlink(target, link);
	if (r < 0)
		return r;
	if (vfio) {
		fmt(node, sizeof(node), "%s/dev", root);
		tree_mkdir(node);
		fmt(node, sizeof(node), "%s/dev/vfio", root);
		tree_mkdir(node);
		fmt(node, sizeof(node), "%s/dev/vfio/vfio", root);
		tree_write(node, "", 0);
		fmt(node, sizeof(node), "%s/dev/vfio/%s", root, group);
		tree_write(node, "", 0);
	}
	return 0;
}

/* device_release_driver() (drivers/base/dd.c): driver_sysfs_remove() drops both links. When the
 * group's last vfio device goes, vfio_unregister_group_dev() removes /dev/vfio/GROUP; the
 * container node /dev/vfio/vfio stays while the module is loaded. */
static int detach(const char *dev, const char *addr, const char *drv)
{
	char link[PATH_MAX], group[32];
	int r;

	if (!fmt(link, sizeof(link), "%s/driver", dev))
		return -ENAMETOOLONG;
	r = tree_unlink(link);
	if (r < 0)
		return r;
	if (!fmt(link, sizeof(link), "%s/sys/bus/pci/drivers/%s/%s", root, drv, addr))
		return -ENAMETOOLONG;
	r = tree_unlink(link);
	if (r < 0)
		return r;
	if (streq(drv, "vfio-pci") && device_group(dev, group, sizeof(group)) &&
		!group_has_vfio(group) && fmt(link, sizeof(link), "%s/dev/vfio/%s", root, group))
		return tree_unlink(link);
	return 0;
}

/* ---- the store methods ----------------------------------------------------------------------- */

/* A request: what was written where, and the log line that describes it. */
struct request {
	const struct target *t;
	char addr[NAME_MAX + 1]; /* the device the write is about */
	char value[256];	 /* K_OVERRIDE: the new override, "" to clear */
	char what[512];		 /* "unbind 0000:01:00.0 nvidia" */
	char result[512];	 /* the line logged on success */
};

/* driver_override_store() (drivers/pci/pci-sysfs.c, through driver_set_override() in
 * drivers/base/driver.c): the text up to the first newline becomes the override, an empty one
 * clears it, and reading it back gives "%s\n" or "(null)\n". Binding does not change. */
static int store_override(struct request *q)
{
	char path[PATH_MAX], text[sizeof(q->value) + 2];

	if (!fmt(path, sizeof(path), "%s/driver_override", q->t->dev))
		return -ENAMETOOLONG;
	fmt(text, sizeof(text), "%s\n", q->value[0] ? q->value : "(null)");
	return tree_write(path, text, O_TRUNC);
}

/* unbind_store() (drivers/base/bus.c): ENODEV unless the device exists and is bound to this
 * very driver. */
static int store_unbind(struct request *q)
{
	char dev[PATH_MAX], cur[NAME_MAX + 1];

	if (device_dir(q->addr, dev) < 0 || !device_driver(dev, cur, sizeof(cur)) ||
		!streq(cur, q->t->drv))
		return -ENODEV;
	return detach(dev, q->addr, q->t->drv);
}

/* bind_store() (drivers/base/bus.c): the device must exist and match the driver
 * (driver_match_device(): pci_match_device() in drivers/pci/pci-driver.c honours only
 * driver_override when one is set, and vfio-pci's id table matches only through it), else
 * ENODEV; a device that already has a driver is EBUSY (__driver_probe_device()). Without an
 * override the model takes any other driver as matching: it does not know the id tables. */
static int store_bind(struct request *q)
{
	char dev[PATH_MAX], cur[NAME_MAX + 1], over[256];

	if (device_dir(q->addr, dev) < 0)
		return -ENODEV;
	device_override(dev, over, sizeof(over));
	if (over[0] ? !streq(over, q->t->drv) : streq(q->t->drv, "vfio-pci"))
		return -ENODEV;
	if (device_driver(dev, cur, sizeof(cur)))
		return -EBUSY;
	return attach(dev, q->addr, q->t->drv);
}

/* drivers_probe_store() (drivers/base/bus.c): ENODEV for no such device; a bound device stays
 * as it is; an unbound one gets the first matching driver (device_attach()): its override when
 * set and loaded, else its native driver, as gpv-model-init recorded it. Finding none, or a
 * probe that fails, still succeeds and leaves the device without a driver. */
static int store_probe(struct request *q)
{
	char dev[PATH_MAX], drv[NAME_MAX + 1] = "", over[256], path[PATH_MAX];

	if (device_dir(q->addr, dev) < 0)
		return -ENODEV;
	if (!device_driver(dev, drv, sizeof(drv))) {
		device_override(dev, over, sizeof(over));
		if (over[0])
			fmt(drv, sizeof(drv), "%s", over);
		else if (fmt(path, sizeof(path), "%s/.model/native/%s", root, q->addr) &&
			 tree_read(path, drv, sizeof(drv)) == 0)
			drv[strcspn(drv, "\n")] = '\0';
		if (!driver_loaded(drv) || attach(dev, q->addr, drv) < 0)
			drv[0] = '\0';
	}
	fmt(q->result, sizeof(q->result), "probe %s -> %s", q->addr, drv[0] ? drv : "none");
	return 0;
}

/* ---- mediated devices and SR-IOV ------------------------------------------------------------- */

static int tree_rmdir(const char *path)
{
	if (!inside(path))
		return -EPERM;
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Removes a directory of plain files and links (a device's attributes), then the directory. */
static int tree_rm_flat(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && r >= 0)
		if (!streq(e->d_name, ".") && !streq(e->d_name, "..") &&
			fmt(path, sizeof(path), "%s/%s", dir, e->d_name))
			r = tree_unlink(path);
	closedir(d);
	return r < 0 ? r : tree_rmdir(dir);
}

static long read_number(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[64];

	if (!fmt(path, sizeof(path), "%s/%s", dir, name) || tree_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 0);
}

static int write_number(const char *dir, const char *name, long v)
{
	char path[PATH_MAX], buf[32];

	fmt(buf, sizeof(buf), "%ld\n", v);
	return fmt(path, sizeof(path), "%s/%s", dir, name) ? tree_write(path, buf, O_TRUNC)
							    : -ENAMETOOLONG;
}

/* A link at dir/name to target, relative as sysfs makes it. */
static int tree_link(const char *dir, const char *name, const char *target)
{
	char link[PATH_MAX], text[PATH_MAX];

	if (!fmt(link, sizeof(link), "%s/%s", dir, name) ||
		!relative(dir, target, text, sizeof(text)))
		return -ENAMETOOLONG;
	return tree_symlink(text, link);
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
							     : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* create_store() (drivers/vfio/mdev/mdev_sysfs.c, mdev_device_create()): the UUID must parse
 * (EINVAL) and be new (EEXIST), the type must have an instance left (EUSERS); the mdev appears
 * as PARENT/UUID with its mdev_type link and remove attribute, on the mdev bus
 * (sys/bus/mdev/devices/UUID) and in the type's devices/. Each type counts its own instances:
 * GVT-g's shared pool, which makes the other types lose some too, is not modeled. */
static int store_mdev_create(struct request *q)
{
	char parent[PATH_MAX], mdev[PATH_MAX], dir[PATH_MAX], *slash;
	long avail;
	struct stat st;
	int r;

	if (!uuid_ok(q->addr))
		return -EINVAL;
	for (char *c = q->addr; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	/* TYPE dir: PARENT/mdev_supported_types/TYPE */
	if (!fmt(parent, sizeof(parent), "%s", q->t->dev) || !(slash = strrchr(parent, '/')))
		return -EINVAL;
	*slash = '\0';
	if (!(slash = strrchr(parent, '/')))
		return -EINVAL;
	*slash = '\0';
	avail = read_number(q->t->dev, "available_instances");
	if (avail <= 0)
		return -EUSERS;
	if (!fmt(mdev, sizeof(mdev), "%s/%s", parent, q->addr) ||
		!fmt(dir, sizeof(dir), "%s/sys/bus/mdev/devices/%s", root, q->addr))
		return -ENAMETOOLONG;
	if (lstat(mdev, &st) == 0 || lstat(dir, &st) == 0)
		return -EEXIST;
	if (!inside(mdev) || mkdir(mdev, 0755) < 0)
		return -EIO;
	if ((r = tree_link(mdev, "mdev_type", q->t->dev)) < 0 ||
		(r = write_number(mdev, "remove", 0)) < 0)
		return r;
	fmt(dir, sizeof(dir), "%s/sys/bus/mdev", root);
	tree_mkdir(dir);
	fmt(dir, sizeof(dir), "%s/sys/bus/mdev/devices", root);
	tree_mkdir(dir);
	if ((r = tree_link(dir, q->addr, mdev)) < 0)
		return r;
	fmt(dir, sizeof(dir), "%s/devices", q->t->dev);
	tree_mkdir(dir);
	if ((r = tree_link(dir, q->addr, mdev)) < 0)
		return r;
	fmt(q->result, sizeof(q->result), "mdev-create %s %s", q->addr, strrchr(q->t->dev, '/') + 1);
	return write_number(q->t->dev, "available_instances", avail - 1);
}

/* remove_store() (drivers/vfio/mdev/mdev_sysfs.c): a number, and only a non-zero one removes
 * the mdev (mdev_device_remove()); everything create made goes, and its type gets the instance
 * back. An mdev a VM holds open (EBUSY in the kernel) is not modeled. */
static int store_mdev_remove(struct request *q)
{
	char type[PATH_MAX], path[PATH_MAX], *end;
	long v;
	int r;

	errno = 0;
	v = strtol(q->value, &end, 0);
	if (errno || end == q->value || *end)
		return -EINVAL;
	if (v == 0)
		return 0;
	if (!fmt(path, sizeof(path), "%s/mdev_type", q->t->dev) || !realpath(path, type))
		return -ENODEV;
	fmt(path, sizeof(path), "%s/devices/%s", type, q->addr);
	if ((r = tree_unlink(path)) < 0)
		return r;
	fmt(path, sizeof(path), "%s/sys/bus/mdev/devices/%s", root, q->addr);
	if ((r = tree_unlink(path)) < 0 || (r = tree_rm_flat(q->t->dev)) < 0)
		return r;
	return write_number(type, "available_instances",
		read_number(type, "available_instances") + 1);
}

/* The routing ID of VF i: the PF's plus First VF Offset plus i times VF Stride (PCIe SR-IOV
 * capability); the model takes offset 1 and stride 1, as on Intel's integrated GPUs. */
static bool vf_addr(const char *pf, int i, char *out, size_t size)
{
	unsigned dom, bus, slot, fn, rid;

	if (sscanf(pf, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) != 4)
		return false;
	rid = (bus << 8 | slot << 3 | fn) + 1 + (unsigned)i;
	return rid <= 0xffff &&
	       fmt(out, size, "%04x:%02x:%02x.%x", dom, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
}

/* A new IOMMU group number: one more than the largest. */
static long new_group(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	long max = -1;
	DIR *d;

	if (!fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups", root) || !(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		if (is_number(e->d_name) && strtol(e->d_name, NULL, 10) > max)
			max = strtol(e->d_name, NULL, 10);
	closedir(d);
	return max + 1;
}

static int copy_attr(const char *from, const char *name, const char *to, const char *to_name)
{
	char src[PATH_MAX], dst[PATH_MAX], buf[256];

	if (!fmt(src, sizeof(src), "%s/%s", from, name) || tree_read(src, buf, sizeof(buf)) < 0)
		return 0;
	return fmt(dst, sizeof(dst), "%s/%s", to, to_name) ? tree_write(dst, buf, O_TRUNC)
							     : -ENAMETOOLONG;
}

/* pci_iov_add_virtfn() (drivers/pci/iov.c): the VF's directory beside the PF's, its physfn link
 * and the PF's virtfnI, on the PCI bus, in an IOMMU group of its own (a PF behind ACS), on no
 * driver (the model's VFs have no native driver: sriov_drivers_autoprobe finds none). */
static int add_vf(const char *pf, const char *pfaddr, int i)
{
	char addr[16], vf[PATH_MAX], name[32], dir[PATH_MAX], *slash;
	long group = new_group();
	int r;

	if (!vf_addr(pfaddr, i, addr, sizeof(addr)) || !fmt(vf, sizeof(vf), "%s", pf) ||
		!(slash = strrchr(vf, '/')))
		return -EINVAL;
	*slash = '\0';
	if (!fmt(vf + strlen(vf), sizeof(vf) - strlen(vf), "/%s", addr) || !inside(vf) ||
		mkdir(vf, 0755) < 0)
		return -EIO;
	if ((r = copy_attr(pf, "vendor", vf, "vendor")) < 0 ||
		(r = copy_attr(pf, "sriov_vf_device", vf, "device")) < 0 ||
		(r = copy_attr(pf, "class", vf, "class")) < 0 ||
		!fmt(dir, sizeof(dir), "%s/driver_override", vf) ||
		(r = tree_write(dir, "(null)\n", O_TRUNC)) < 0)
		return r < 0 ? r : -ENAMETOOLONG;
	fmt(dir, sizeof(dir), "%s/device", vf);
	if (access(dir, F_OK) < 0 && (r = copy_attr(pf, "device", vf, "device")) < 0)
		return r;
	fmt(name, sizeof(name), "virtfn%d", i);
	if ((r = tree_link(vf, "physfn", pf)) < 0 || (r = tree_link(pf, name, vf)) < 0)
		return r;
	fmt(dir, sizeof(dir), "%s/sys/bus/pci/devices", root);
	if ((r = tree_link(dir, addr, vf)) < 0)
		return r;
	fmt(dir, sizeof(dir), "%s/sys/kernel/iommu_groups/%ld", root, group);
	tree_mkdir(dir);
	if ((r = tree_link(vf, "iommu_group", dir)) < 0)
		return r;
	fmt(dir, sizeof(dir), "%s/sys/kernel/iommu_groups/%ld/devices", root, group);
	tree_mkdir(dir);
	return tree_link(dir, addr, vf);
}

/* pci_iov_remove_virtfn(): the VF leaves its driver and goes, with its group. */
static int remove_vf(const char *pf, int i)
{
	char link[PATH_MAX], vf[PATH_MAX], drv[NAME_MAX + 1], group[32], path[PATH_MAX];
	const char *addr;
	int r;

	if (!fmt(link, sizeof(link), "%s/virtfn%d", pf, i) || !realpath(link, vf))
		return 0;
	addr = strrchr(vf, '/') + 1;
	if (device_driver(vf, drv, sizeof(drv)) && (r = detach(vf, addr, drv)) < 0)
		return r;
	if (device_group(vf, group, sizeof(group))) {
		fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups/%s/devices/%s", root, group, addr);
		tree_unlink(path);
		fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups/%s/devices", root, group);
		tree_rmdir(path); /* fails, and stays, when the group holds more */
		fmt(path, sizeof(path), "%s/sys/kernel/iommu_groups/%s", root, group);
		tree_rmdir(path);
	}
	fmt(path, sizeof(path), "%s/sys/bus/pci/devices/%s", root, addr);
	if ((r = tree_unlink(path)) < 0 || (r = tree_rm_flat(vf)) < 0)
		return r;
	return tree_unlink(link);
}

/* sriov_numvfs_store() (drivers/pci/iov.c): a number up to sriov_totalvfs (ERANGE); the same
 * number again changes nothing; a PF without a driver cannot (ENOENT); N > 0 while VFs are
 * enabled is EBUSY (write 0 first); 0 removes them all. */
static int store_numvfs(struct request *q)
{
	char drv[NAME_MAX + 1], *end;
	long n, cur, total;
	int r = 0;

	errno = 0;
	n = strtol(q->value, &end, 0);
	if (errno || end == q->value || *end || n < 0)
		return -EINVAL;
	total = read_number(q->t->dev, "sriov_totalvfs");
	cur = read_number(q->t->dev, "sriov_numvfs");
	if (total < 0 || cur < 0)
		return -EIO;
	if (n > total)
		return -ERANGE;
	if (n == cur)
		return 0;
	if (!device_driver(q->t->dev, drv, sizeof(drv)))
		return -ENOENT;
	if (n > 0 && cur > 0)
		return -EBUSY;
	if (n == 0)
		for (long i = cur; i-- > 0 && r >= 0;)
			r = remove_vf(q->t->dev, (int)i);
	else
		for (long i = 0; i < n && r >= 0; i++)
			r = add_vf(q->t->dev, q->addr, (int)i);
	return r < 0 ? r : write_number(q->t->dev, "sriov_numvfs", n);
}

/* ---- NVIDIA SR-IOV vGPU ---------------------------------------------------------------------- */

/* Whether the type id is one of the "ID : Name" lines under creatable_vgpu_types' header. */
static bool vgpu_creatable(const char *nvidia, long id)
{
	char path[PATH_MAX], list[16384], *line, *save = NULL;

	if (!fmt(path, sizeof(path), "%s/creatable_vgpu_types", nvidia) ||
		tree_read(path, list, sizeof(list)) < 0)
		return false;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *end;
		long v;

		errno = 0;
		v = strtol(line, &end, 10);
		if (!errno && end != line && v == id && strchr(" \t:", *end) && *end)
			return true;
	}
	return false;
}

/* current_vgpu_type's store in NVIDIA's vGPU manager (the vendor-specific VFIO framework of
 * vGPU 17 and later, per the vGPU user guide): a type id the VF lists in
 * creatable_vgpu_types makes a vGPU of that type on the VF, and reads back as "ID\n"; 0
 * releases it. Another number is EINVAL, and a type while the VF holds one is EBUSY (0
 * first). The creatable lists do not change (see the README). */
static int store_vgpu(struct request *q)
{
	char nvidia[PATH_MAX], *end;
	long n, cur;

	errno = 0;
	n = strtol(q->value, &end, 10);
	if (errno || end == q->value || *end || n < 0)
		return -EINVAL;
	if (!fmt(nvidia, sizeof(nvidia), "%s/nvidia", q->t->dev))
		return -ENAMETOOLONG;
	cur = read_number(nvidia, "current_vgpu_type");
	if (cur < 0)
		return -EIO;
	if (n == 0)
		return write_number(nvidia, "current_vgpu_type", 0);
	if (cur != 0)
		return -EBUSY;
	if (!vgpu_creatable(nvidia, n))
		return -EINVAL;
	return write_number(nvidia, "current_vgpu_type", n);
}

/* ---- counting, logging, failing and killing -------------------------------------------------- */

static const struct {
	const char *name;
	int err;
} errnos[] = {
	/* clang-format off */
	{"EPERM", EPERM}, {"ENOENT", ENOENT}, {"EINTR", EINTR}, {"EIO", EIO}, {"ENXIO", ENXIO},
	{"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT},
	{"EBUSY", EBUSY}, {"EEXIST", EEXIST}, {"ENODEV", ENODEV}, {"EINVAL", EINVAL},
	{"ENOSPC", ENOSPC}, {"ENOTTY", ENOTTY}, {"ENAMETOOLONG", ENAMETOOLONG},
	{"ENOSYS", ENOSYS}, {"EOPNOTSUPP", EOPNOTSUPP}, {"ETIMEDOUT", ETIMEDOUT},
	{"ERANGE", ERANGE}, {"EUSERS", EUSERS},
	/* clang-format on */
};

static const char *errno_name(int err, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	fmt(buf, size, "E%d", err);
	return buf;
}

/* An errno from its name ("EBUSY") or number; EIO when it is neither. */
static int errno_parse(const char *s, size_t len)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strlen(errnos[i].name) == len && strncmp(errnos[i].name, s, len) == 0)
			return errnos[i].err;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno == 0 && end == s + len && v > 0 && v < 4096 ? (int)v : EIO;
}

static const char *kind_name(enum kind k)
{
	switch (k) {
	case K_OVERRIDE:
		return "override";
	case K_UNBIND:
		return "unbind";
	case K_BIND:
		return "bind";
	case K_PROBE:
		return "probe";
	case K_MDEV_CREATE:
		return "mdev-create";
	case K_MDEV_REMOVE:
		return "mdev-remove";
	case K_NUMVFS:
		return "numvfs";
	case K_VGPU:
		return "vgpu";
	default:
		return "?";
	}
}

/* The errno GPV_MODEL_FAIL (KIND[@ADDR][=ERRNO],...) or GPV_MODEL_FAIL_AT (N,...) sets for the
 * nth modeled write, or 0. */
static int injected(const struct request *q, long nth)
{
	const char *spec = getenv("GPV_MODEL_FAIL"), *at = getenv("GPV_MODEL_FAIL_AT");
	const char *kind = kind_name(q->t->kind);

	while (spec && *spec) {
		size_t len = strcspn(spec, ","), klen = strcspn(spec, "@=,");
		const char *addr = NULL, *err = NULL;
		size_t alen = 0;

		if (spec[klen] == '@') {
			addr = spec + klen + 1;
			alen = strcspn(addr, "=,");
		}
		err = memchr(spec, '=', len);
		if (strlen(kind) == klen && strncmp(spec, kind, klen) == 0 &&
			(!addr || (strlen(q->addr) == alen && strncmp(addr, q->addr, alen) == 0)))
			return err ? errno_parse(err + 1, (size_t)(spec + len - err - 1)) : EIO;
		spec += len + (spec[len] == ',');
	}
	while (at && *at) {
		char *end;
		long n = strtol(at, &end, 10);

		if (end == at)
			break;
		if (n == nth)
			return EIO;
		at = end + strspn(end, ", ");
	}
	return 0;
}

static long env_number(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' ? v : 0;
}

static void log_line(const char *line)
{
	char path[PATH_MAX], text[600];

	if (fmt(path, sizeof(path), "%s/.model/log", root) && fmt(text, sizeof(text), "%s\n", line))
		tree_write(path, text, O_APPEND);
}

/* The number of this modeled write, counted across processes in ROOT/.model/count. */
static long next_count(void)
{
	char path[PATH_MAX], buf[32];
	long n = 0;

	if (!fmt(path, sizeof(path), "%s/.model/count", root))
		return 0;
	if (tree_read(path, buf, sizeof(buf)) == 0)
		n = strtol(buf, NULL, 10);
	fmt(buf, sizeof(buf), "%ld\n", ++n);
	tree_write(path, buf, O_TRUNC);
	return n;
}

static void die_if(long nth, const char *env, const char *when, const char *what)
{
	char line[600];

	if (nth != env_number(env))
		return;
	fmt(line, sizeof(line), "kill %s %s", when, what);
	log_line(line);
	kill(getpid(), SIGKILL);
}

/* One write(2) to a store file: what the kernel's store method would do, with injections. The
 * count, the log and the change are made under ROOT/.model/lock, the model's device lock. */
static ssize_t model_write(const struct target *t, const void *buf, size_t n)
{
	struct request q = {.t = t};
	char text[4096], path[PATH_MAX], name[16];
	int lock, err;
	long nth;

	/* sysfs hands a store method at most a page, NUL-terminated. */
	if (n >= sizeof(text)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(text, buf, n);
	text[n] = '\0';
	if (t->kind == K_OVERRIDE) {
		const char *slash = strrchr(t->dev, '/');

		fmt(q.addr, sizeof(q.addr), "%s", slash + 1);
		fmt(q.value, sizeof(q.value), "%.*s", (int)strcspn(text, "\n"), text);
		fmt(q.what, sizeof(q.what), "override %s %s", q.addr,
			q.value[0] ? q.value : "(null)");
	} else if (t->kind == K_MDEV_CREATE || t->kind == K_MDEV_REMOVE || t->kind == K_NUMVFS ||
		   t->kind == K_VGPU) {
		/* addr: the UUID created, the mdev removed, the PF, the VF; value: what was
		 * written. */
		const char *slash = strrchr(t->dev, '/');

		fmt(q.value, sizeof(q.value), "%.*s", (int)strcspn(text, "\n"), text);
		if (t->kind == K_MDEV_CREATE) {
			fmt(q.addr, sizeof(q.addr), "%s", q.value);
			fmt(q.what, sizeof(q.what), "mdev-create %s %s", q.addr, slash + 1);
		} else {
			fmt(q.addr, sizeof(q.addr), "%s", slash + 1);
			fmt(q.what, sizeof(q.what), "%s %s %s", kind_name(t->kind), q.addr,
				q.value);
		}
	} else {
		/* bus_find_device_by_name() compares with sysfs_streq(): one trailing newline. */
		if (n && text[n - 1] == '\n')
			text[n - 1] = '\0';
		fmt(q.addr, sizeof(q.addr), "%s", text);
		if (t->kind == K_PROBE)
			fmt(q.what, sizeof(q.what), "probe %s", q.addr);
		else
			fmt(q.what, sizeof(q.what), "%s %s %s", kind_name(t->kind), q.addr, t->drv);
	}
	fmt(q.result, sizeof(q.result), "%s", q.what);

	fmt(path, sizeof(path), "%s/.model", root);
	tree_mkdir(path);
	fmt(path, sizeof(path), "%s/.model/lock", root);
	lock = inside(path) ? real_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (lock >= 0)
		flock(lock, LOCK_EX);
	nth = next_count();
	die_if(nth, "GPV_MODEL_KILL_BEFORE", "before", q.what);
	err = injected(&q, nth);
	if (err) {
		fmt(text, sizeof(text), "fail %s %s injected", q.what,
			errno_name(err, name, sizeof(name)));
	} else {
		switch (t->kind) {
		case K_OVERRIDE:
			err = -store_override(&q);
			break;
		case K_UNBIND:
			err = -store_unbind(&q);
			break;
		case K_BIND:
			err = -store_bind(&q);
			break;
		case K_MDEV_CREATE:
			err = -store_mdev_create(&q);
			break;
		case K_MDEV_REMOVE:
			err = -store_mdev_remove(&q);
			break;
		case K_NUMVFS:
			err = -store_numvfs(&q);
			break;
		case K_VGPU:
			err = -store_vgpu(&q);
			break;
		default:
			err = -store_probe(&q);
			break;
		}
		if (err)
			fmt(text, sizeof(text), "fail %s %s", q.what,
				errno_name(err, name, sizeof(name)));
		else
			fmt(text, sizeof(text), "%s", q.result);
	}
	log_line(text);
	die_if(nth, "GPV_MODEL_KILL_AFTER", "after", q.what);
	if (lock >= 0)
		close(lock);
	if (err) {
		errno = err;
		return -1;
	}
	return (ssize_t)n;
}

/* ---- the interposed calls -------------------------------------------------------------------- */

static int model_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	char canon[PATH_MAX];
	struct target t;

	init();
	/* A store file is opened read-only underneath: sysfs never creates or truncates one (a
	 * missing attribute stays ENOENT), and a write that does not come through write() below
	 * (glibc's stdio writes with its internal write, bash's builtins among its users) fails
	 * with EBADF instead of changing the copy behind the model's back. */
	if (root_len && path && (flags & O_ACCMODE) != O_RDONLY && resolve_at(dirfd, path, canon) &&
		is_store(classify(canon, &t)))
		flags &= ~(O_ACCMODE | O_CREAT | O_TRUNC | O_EXCL | O_APPEND);
	return real_openat(dirfd, path, flags, mode);
}

/* The mode argument is there only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last)                                                                     \
	({                                                                                         \
		mode_t m_ = 0;                                                                     \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                           \
			va_list ap_;                                                               \
			va_start(ap_, last);                                                       \
			m_ = (mode_t)va_arg(ap_, int);                                             \
			va_end(ap_);                                                               \
		}                                                                                  \
		m_;                                                                                \
	})

int open(const char *path, int flags, ...)
{
	return model_openat(AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

int open64(const char *path, int flags, ...)
{
	return model_openat(AT_FDCWD, path, flags | O_LARGEFILE, OPEN_MODE(flags, flags));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	return model_openat(dirfd, path, flags, OPEN_MODE(flags, flags));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	return model_openat(dirfd, path, flags | O_LARGEFILE, OPEN_MODE(flags, flags));
}

int __open_2(const char *path, int flags)
{
	return model_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return model_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return model_openat(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return model_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	char path[PATH_MAX];
	struct target t;

	init();
	/* The fd's own path, not a table of opens: the shell's dup2() and exec keep working. */
	if (root_len && fd_path(fd, path, sizeof(path)) && is_store(classify(path, &t)))
		return model_write(&t, buf, n);
	return real_write(fd, buf, n);
}

/* A group or container fd under the root answers the few ioctls gpupv asks; the kernel's
 * handlers answer ENOTTY to anything else (vfio_group_fops_unl_ioctl(),
 * vfio_fops_unl_ioctl()). */
static int model_ioctl(const struct target *t, unsigned long request, void *arg)
{
	if (t->kind == K_GROUP && request == VFIO_GROUP_GET_STATUS) {
		struct vfio_group_status *s = arg;

		if (!s) {
			errno = EFAULT;
			return -1;
		}
		if (s->argsz < sizeof(*s)) {
			errno = EINVAL;
			return -1;
		}
		s->flags = group_viable(t->group) ? VFIO_GROUP_FLAGS_VIABLE : 0;
		return 0;
	}
	if (t->kind == K_CONTAINER && request == VFIO_GET_API_VERSION)
		return VFIO_API_VERSION;
	if (t->kind == K_CONTAINER && request == VFIO_CHECK_EXTENSION)
		return (uintptr_t)arg == VFIO_TYPE1_IOMMU || (uintptr_t)arg == VFIO_TYPE1v2_IOMMU;
	errno = ENOTTY;
	return -1;
}

int ioctl(int fd, unsigned long request, ...)
{
	char path[PATH_MAX];
	struct target t;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	init();
	if (root_len && fd_path(fd, path, sizeof(path))) {
		classify(path, &t);
		if (t.kind == K_GROUP || t.kind == K_CONTAINER)
			return model_ioctl(&t, request, arg);
	}
	return real_ioctl(fd, request, arg);
}

/* stdio writes through glibc's internal write(), out of reach of the write() above: a stream
 * opened for writing on a store file writes through a cookie that calls it. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	return write((int)(intptr_t)cookie, buf, n);
}

static int cookie_close(void *cookie)
{
	return close((int)(intptr_t)cookie);
}

FILE *fopen(const char *path, const char *mode)
{
	cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
	char canon[PATH_MAX];
	struct target t;
	FILE *f;
	int fd;

	init();
	if (!root_len || !path || !strpbrk(mode, "wa+") || !resolve_at(AT_FDCWD, path, canon) ||
		!is_store(classify(canon, &t)))
		return real_fopen(path, mode);
	fd = model_openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	f = fopencookie((void *)(intptr_t)fd, "w", io);
	if (!f)
		close(fd);
	return f;
}

FILE *fopen64(const char *path, const char *mode)
{
	return fopen(path, mode);
}
