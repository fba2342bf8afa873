/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/pci.h"
#include "probes/parse.h"
#include "probes/pci.h"

bool gpv_pci_is_display(const struct gpv_pci_dev *d)
{
	return d->class_ok && (d->class >> 16) == 0x03;
}

bool gpv_pci_is_bridge(const struct gpv_pci_dev *d)
{
	/* Header type 1 is what makes a PCI-to-PCI bridge; fall back on the class when config
	 * space could not be read. */
	if (d->header_type >= 0)
		return d->header_type == 1;
	return d->class_ok && gpv_pci_class16(d) == 0x0604;
}

static int note(struct gpv_pci_dev *d, const char *what, int err)
{
	char *s;

	if (gpv_asprintf(&s, "%s: %s", what, strerror(-err)) < 0)
		return -ENOMEM;
	gpv_debug("%s: %s", d->addr, s);
	return gpv_strv_push_take(&d->notes, s);
}

static int read_hex_attr(int fd, const char *name, uint64_t max, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = gpv_read_attr_at(fd, name, &s);

	if (r < 0)
		return r;
	return gpv_parse_hex(s, max, ret);
}

static int read_int_attr(int fd, const char *name, int *ret)
{
	_cleanup_free_ char *s = NULL;
	uint64_t v;
	int r = gpv_read_attr_at(fd, name, &s);

	if (r < 0)
		return r;
	r = gpv_parse_uint(s, INT32_MAX, &v);
	if (r < 0)
		return r;
	*ret = (int)v;
	return 0;
}

void gpv_mdev_type_clear(struct gpv_mdev_type *t)
{
	free(t->id);
	free(t->name);
	free(t->description);
	free(t->device_api);
	*t = (struct gpv_mdev_type){0};
}

int gpv_mdev_type_read(int typedir, const char *id, struct gpv_mdev_type *ret)
{
	struct gpv_mdev_type t = {.available_instances = -1,
		.instances = -1,
		.framebuffer_mib = -1,
		.share_percent = -1};
	char **devs = NULL;
	size_t n_devs = 0;
	struct gpv_mdev_desc desc;
	int avail, r;

	t.id = strdup(id);
	if (!t.id)
		return -ENOMEM;
	(void)gpv_read_attr_at(typedir, "name", &t.name);
	r = gpv_read_attr_at(typedir, "description", &t.description);
	if (r < 0 && r != -ENOENT)
		gpv_debug("mdev type %s: description: %s", id, strerror(-r));
	if (!t.description && !(t.description = strdup(""))) {
		gpv_mdev_type_clear(&t);
		return -ENOMEM;
	}
	if (read_int_attr(typedir, "available_instances", &avail) == 0)
		t.available_instances = avail;
	(void)gpv_read_attr_at(typedir, "device_api", &t.device_api);
	if (gpv_list_at(typedir, "devices", &devs, &n_devs) == 0) {
		t.instances = (long)n_devs;
		gpv_names_free(devs);
	}

	r = gpv_mdev_desc_parse(t.description, &desc);
	if (r < 0) {
		gpv_mdev_type_clear(&t);
		return r;
	}
	t.framebuffer_mib = desc.framebuffer_mib;
	/* NVIDIA: an instance gets 1 / max_instance of the GPU. GVT-g: the scheduler weight
	 * out of 16 (drivers/gpu/drm/i915/gvt/vgpu.c). */
	if (desc.max_instance > 0)
		t.share_percent = 100.0 / (double)desc.max_instance;
	else if (desc.weight > 0 && desc.weight <= 16)
		t.share_percent = (double)desc.weight / 16.0 * 100.0;
	gpv_mdev_desc_clear(&desc);
	*ret = t;
	return 0;
}

static int read_mdev_types(struct gpv_pci_dev *d, int fd)
{
	char **names = NULL;
	size_t n = 0;
	int r = gpv_list_at(fd, "mdev_supported_types", &names, &n);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return note(d, "mdev_supported_types", r);
	d->mdev_types = calloc(n ? n : 1, sizeof(*d->mdev_types));
	if (!d->mdev_types) {
		gpv_names_free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int tfd = -1;
		char path[512];

		snprintf(path, sizeof(path), "mdev_supported_types/%s", names[i]);
		tfd = openat(fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tfd < 0) {
			r = note(d, path, -errno);
			if (r < 0)
				break;
			continue;
		}
		r = gpv_mdev_type_read(tfd, names[i], &d->mdev_types[d->n_mdev_types]);
		if (r < 0)
			break;
		d->n_mdev_types++;
	}
	gpv_names_free(names);
	return r < 0 ? r : 0;
}

/* An NVIDIA SR-IOV vGPU VF lists "ID : Name" lines under a header ("ID    : vGPU Name");
 * every line past the header is a type that can be created now. */
static int read_vgpu_types(struct gpv_pci_dev *d, int fd)
{
	_cleanup_free_ char *s = NULL;
	char *save = NULL;
	uint64_t cur;
	int r;

	/* The type the VF holds: a VF with one is given (or about to be), whatever its driver. */
	if (gpv_read_attr_at(fd, "nvidia/current_vgpu_type", &s) == 0 &&
		gpv_parse_uint(s, UINT32_MAX, &cur) == 0)
		d->vgpu_current = (long)cur;
	free(TAKE_PTR(s));
	if (gpv_read_at(fd, "nvidia/creatable_vgpu_types", GPV_ATTR_MAX, &s, NULL) < 0)
		return 0;
	for (char *p = strtok_r(s, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(p, ':'), *name, *entry;
		uint64_t id;

		if (!colon)
			continue;
		*colon = '\0';
		name = colon + 1;
		while (*name == ' ' || *name == '\t')
			name++;
		if (gpv_parse_uint(p, UINT32_MAX, &id) < 0 || !*gpv_strip(name))
			continue;
		if (gpv_asprintf(&entry, "%llu : %s", (unsigned long long)id, name) < 0)
			return -ENOMEM;
		r = gpv_strv_push_take(&d->vgpu_types, entry);
		if (r < 0)
			return r;
	}
	d->nvidia_vgpu = d->vgpu_types.n > 0;
	return 0;
}

static int read_device(struct gpv_root *root, const char *name, struct gpv_pci_dev *d)
{
	_cleanup_free_ char *path = NULL, *drv = NULL, *grp = NULL, *cfg = NULL, *rm = NULL;
	_cleanup_close_ int fd = -1;
	char **entries = NULL;
	uint64_t v;
	size_t cfglen = 0;
	int r, bv;

	memcpy(d->addr, name, 13);
	d->header_type = d->iommu_group = d->boot_vga = -1;
	d->sriov_total_vfs = d->sriov_num_vfs = -1;
	d->vgpu_current = -1;

	r = gpv_asprintf(&path, "/sys/bus/pci/devices/%s", name);
	if (r < 0)
		return r;
	r = gpv_root_resolve(root, path, &d->syspath);
	if (r < 0)
		return note(d, "device directory", r);
	fd = gpv_root_open(root, d->syspath, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return note(d, "device directory", fd);

	d->class_ok = true;
	if ((r = read_hex_attr(fd, "vendor", 0xffff, &v)) == 0)
		d->vendor = (uint16_t)v;
	else if ((d->class_ok = false), (r = note(d, "vendor", r)) < 0)
		return r;
	if ((r = read_hex_attr(fd, "device", 0xffff, &v)) == 0)
		d->device = (uint16_t)v;
	else if ((d->class_ok = false), (r = note(d, "device", r)) < 0)
		return r;
	if ((r = read_hex_attr(fd, "class", 0xffffff, &v)) == 0)
		d->class = (uint32_t)v;
	else if ((d->class_ok = false), (r = note(d, "class", r)) < 0)
		return r;

	r = gpv_read_at(fd, "config", 4096, &cfg, &cfglen);
	if (r == 0) {
		d->header_type = gpv_pci_config_header_type((uint8_t *)cfg, cfglen);
		if (d->header_type < 0)
			d->header_type = -1;
	} else if (r != -ENOENT && (r = note(d, "config", r)) < 0) {
		return r;
	}

	r = gpv_readlink_base_at(fd, "iommu_group", &grp);
	if (r == 0) {
		if (gpv_parse_uint(grp, INT32_MAX, &v) == 0)
			d->iommu_group = (int)v;
		else if ((r = note(d, "iommu_group", -EINVAL)) < 0)
			return r;
	} else if (r != -ENOENT && (r = note(d, "iommu_group", r)) < 0) {
		return r;
	}

	r = gpv_readlink_base_at(fd, "driver", &drv);
	if (r == 0) {
		d->driver = TAKE_PTR(drv);
	} else if (r == -ENOENT) {
		_cleanup_free_ char *ue = NULL;

		/* The uevent names the driver too; some captures keep only that. */
		if (gpv_read_at(fd, "uevent", GPV_ATTR_MAX, &ue, NULL) == 0)
			(void)gpv_uevent_get(ue, "DRIVER", &d->driver);
	} else if ((r = note(d, "driver", r)) < 0) {
		return r;
	}

	/* The rest only matters for display controllers: GPUs, and the VFs that belong to
	 * them. Other functions are group members, known by class, header and driver. */
	if (!gpv_pci_is_display(d))
		return 0;

	if (read_int_attr(fd, "boot_vga", &bv) == 0)
		d->boot_vga = bv != 0;

	if (gpv_exists_at(fd, "physfn")) {
		_cleanup_free_ char *pf = NULL;

		d->is_vf = true;
		if (gpv_readlink_base_at(fd, "physfn", &pf) == 0 && gpv_pci_addr_valid(pf))
			memcpy(d->physfn, pf, 13);
	}
	(void)read_int_attr(fd, "sriov_totalvfs", &d->sriov_total_vfs);
	(void)read_int_attr(fd, "sriov_numvfs", &d->sriov_num_vfs);

	if (d->sriov_total_vfs > 0 && gpv_list_at(fd, ".", &entries, NULL) == 0) {
		for (char **e = entries; *e; e++) {
			_cleanup_free_ char *vf = NULL;

			if (!startswith(*e, "virtfn") || gpv_readlink_base_at(fd, *e, &vf) < 0)
				continue;
			if (gpv_pci_addr_valid(vf) && (r = gpv_strv_push(&d->vfs, vf)) < 0)
				break;
		}
		gpv_names_free(entries);
		if (r < 0)
			return r;
	}

	r = gpv_read_attr_at(fd, "reset_method", &rm);
	if (r == 0) {
		d->has_reset_method = true;
		for (char *tok = strtok(rm, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
			if ((r = gpv_strv_push(&d->reset_methods, tok)) < 0)
				return r;
	} else if (cfg) {
		r = gpv_pci_config_reset_methods((uint8_t *)cfg, cfglen, &d->reset_methods);
		if (r < 0 && r != -ENODATA)
			return r;
	}

	if (d->is_vf && (r = read_vgpu_types(d, fd)) < 0)
		return r;
	return read_mdev_types(d, fd);
}

void gpv_pci_dev_clear(struct gpv_pci_dev *d)
{
	free(d->syspath);
	free(d->driver);
	gpv_strv_clear(&d->vfs);
	gpv_strv_clear(&d->reset_methods);
	gpv_strv_clear(&d->notes);
	gpv_strv_clear(&d->vgpu_types);
	for (size_t i = 0; i < d->n_mdev_types; i++)
		gpv_mdev_type_clear(&d->mdev_types[i]);
	free(d->mdev_types);
}

struct gpv_pci *gpv_pci_free(struct gpv_pci *pci)
{
	if (!pci)
		return NULL;
	for (size_t i = 0; i < pci->n; i++)
		gpv_pci_dev_clear(&pci->devs[i]);
	free(pci->devs);
	for (size_t i = 0; i < pci->n_groups; i++)
		gpv_strv_clear(&pci->groups[i].members);
	free(pci->groups);
	free(pci);
	return NULL;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct gpv_pci_dev *)a)->addr, ((const struct gpv_pci_dev *)b)->addr);
}

static int cmp_group(const void *a, const void *b)
{
	int x = ((const struct gpv_iommu_group *)a)->id,
	    y = ((const struct gpv_iommu_group *)b)->id;

	return (x > y) - (x < y);
}

const struct gpv_pci_dev *gpv_pci_find(const struct gpv_pci *pci, const char *addr)
{
	struct gpv_pci_dev key;

	if (strlen(addr) != 12)
		return NULL;
	memcpy(key.addr, addr, 13);
	return bsearch(&key, pci->devs, pci->n, sizeof(key), cmp_dev);
}

const struct gpv_iommu_group *gpv_pci_group(const struct gpv_pci *pci, int id)
{
	struct gpv_iommu_group key = {.id = id};

	return bsearch(&key, pci->groups, pci->n_groups, sizeof(key), cmp_group);
}

/* The groups the kernel made: /sys/kernel/iommu_groups/N. Members come later. */
static int scan_groups(struct gpv_root *root, struct gpv_pci *pci)
{
	char **names = NULL;
	size_t n = 0;
	int r = gpv_root_list(root, "/sys/kernel/iommu_groups", &names, &n);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	pci->groups_dir = true;
	pci->groups = calloc(n ? n : 1, sizeof(*pci->groups));
	if (!pci->groups) {
		gpv_names_free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t id;

		if (gpv_parse_uint(names[i], INT32_MAX, &id) < 0) {
			gpv_debug("iommu_groups: ignoring '%s'", names[i]);
			continue;
		}
		pci->groups[pci->n_groups++].id = (int)id;
	}
	gpv_names_free(names);
	qsort(pci->groups, pci->n_groups, sizeof(*pci->groups), cmp_group);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The kernel's own list of a group: /sys/kernel/iommu_groups/N/devices. It is read for the
 * groups a GPU's verdict depends on, to catch members whose iommu_group link is missing; a
 * device listed there takes the group if it had none.
 */
static int read_group_listing(struct gpv_root *root, struct gpv_pci *pci, struct gpv_iommu_group *g)
{
	char path[128], **members = NULL;
	bool added = false;
	int r;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", g->id);
	r = gpv_root_list(root, path, &members, NULL);
	if (r < 0) {
		gpv_debug("%s: %s", path, strerror(-r));
		return 0;
	}
	for (char **m = members; *m && r >= 0; m++) {
		struct gpv_pci_dev *d;

		if (!gpv_pci_addr_valid(*m) || gpv_strv_contains(&g->members, *m))
			continue;
		r = gpv_strv_push(&g->members, *m);
		added = true;
		d = (struct gpv_pci_dev *)gpv_pci_find(pci, *m);
		if (d && d->iommu_group < 0)
			d->iommu_group = g->id;
	}
	gpv_names_free(members);
	if (added)
		qsort(g->members.v, g->members.n, sizeof(char *), cmp_str);
	return r < 0 ? r : 0;
}

static int group_members(struct gpv_root *root, struct gpv_pci *pci)
{
	bool all = false;
	int r;

	/* Every device names its group through its iommu_group link. */
	for (size_t i = 0; i < pci->n; i++) {
		struct gpv_iommu_group *g;

		if (pci->devs[i].iommu_group < 0)
			continue;
		g = (struct gpv_iommu_group *)gpv_pci_group(pci, pci->devs[i].iommu_group);
		if (g && (r = gpv_strv_push(&g->members, pci->devs[i].addr)) < 0)
			return r;
	}
	/* The groups of display devices and of their slot mates, from the kernel's listing. A
	 * display device with no group link means the listing must be read for every group. */
	for (size_t i = 0; i < pci->n && !all; i++)
		all = gpv_pci_is_display(&pci->devs[i]) && pci->devs[i].iommu_group < 0;
	for (size_t g = 0; g < pci->n_groups; g++) {
		bool wanted = all;

		for (size_t m = 0; m < pci->groups[g].members.n && !wanted; m++) {
			const struct gpv_pci_dev *d =
				gpv_pci_find(pci, pci->groups[g].members.v[m]);

			for (size_t j = 0; d && j < pci->n && !wanted; j++)
				wanted = gpv_pci_is_display(&pci->devs[j]) &&
					 strncmp(pci->devs[j].addr, d->addr, 10) == 0;
		}
		if (wanted && (r = read_group_listing(root, pci, &pci->groups[g])) < 0)
			return r;
	}
	return 0;
}

static bool same_slot(const char *a, const char *b)
{
	return strncmp(a, b, 10) == 0; /* "0000:01:00" of "0000:01:00.1" */
}

static bool read_already(const struct gpv_pci *pci, const char *addr)
{
	for (size_t i = 0; i < pci->n; i++)
		if (streq(pci->devs[i].addr, addr))
			return true;
	return false;
}

static bool names_contain(char **names, const char *s)
{
	for (; *names; names++)
		if (streq(*names, s))
			return true;
	return false;
}

/* Reads the device at addr into the next free entry (room for it is there). */
static int add_device(struct gpv_root *root, struct gpv_pci *pci, const char *addr)
{
	if (!gpv_pci_addr_valid(addr)) {
		gpv_debug("/sys/bus/pci/devices: ignoring '%s'", addr);
		return 0;
	}
	if (read_already(pci, addr))
		return 0;
	return read_device(root, addr, &pci->devs[pci->n++]);
}

/*
 * What one GPU's bind needs, for a fraction of the reads: its slot's functions, the members
 * of their IOMMU groups (from the kernel's listing), and, when the GPU is the boot display,
 * every other display controller (by class). names holds every device of the machine.
 */
static int scan_focus(struct gpv_root *root, struct gpv_pci *pci, char **names, const char *focus)
{
	size_t slot_end;
	bool boot_vga = false;
	int r = 0;

	for (char **n = names; *n && r >= 0; n++)
		if (same_slot(*n, focus))
			r = add_device(root, pci, *n);
	slot_end = pci->n;
	for (size_t i = 0; i < slot_end && r >= 0; i++) {
		char path[128], **members = NULL;

		boot_vga |= pci->devs[i].boot_vga == 1;
		if (pci->devs[i].iommu_group < 0)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
			pci->devs[i].iommu_group);
		if (gpv_root_list(root, path, &members, NULL) < 0)
			continue; /* group_members() says why, if it matters */
		for (char **m = members; *m && r >= 0; m++)
			/* The entry exists only if /sys/bus/pci/devices lists the device. */
			if (names_contain(names, *m))
				r = add_device(root, pci, *m);
		gpv_names_free(members);
	}
	if (!boot_vga || r < 0)
		return r;
	for (char **n = names; *n && r >= 0; n++) {
		_cleanup_free_ char *path = NULL, *cls = NULL;
		uint64_t v;

		if (!gpv_pci_addr_valid(*n) || read_already(pci, *n))
			continue;
		path = gpv_strf("/sys/bus/pci/devices/%s/class", *n);
		if (!path)
			return -ENOMEM;
		/* A class that cannot be read gets the whole device read, which notes why. */
		if (gpv_root_read(root, path, GPV_ATTR_MAX, &cls, NULL) == 0 &&
			gpv_parse_hex(gpv_strip(cls), 0xffffff, &v) == 0 && (v >> 16) != 0x03)
			continue;
		r = add_device(root, pci, *n);
	}
	return r;
}

int gpv_pci_scan(struct gpv_root *root, const char *focus, struct gpv_pci **ret)
{
	struct gpv_pci *pci = calloc(1, sizeof(*pci));
	char **names = NULL;
	size_t n = 0;
	int r;

	if (!pci)
		return -ENOMEM;
	r = gpv_root_list(root, "/sys/bus/pci/devices", &names, &n);
	if (r == -ENOENT) {
		gpv_debug("no /sys/bus/pci/devices: a machine without PCI");
		names = calloc(1, sizeof(char *));
		r = names ? 0 : -ENOMEM;
	}
	if (r < 0)
		goto fail;
	pci->devs = calloc(n ? n : 1, sizeof(*pci->devs));
	if (!pci->devs) {
		r = -ENOMEM;
		goto fail;
	}
	pci->focused = focus != NULL;
	if (focus)
		r = scan_focus(root, pci, names, focus);
	for (size_t i = 0; !focus && i < n && r >= 0; i++)
		r = add_device(root, pci, names[i]);
	if (r < 0)
		goto fail;
	qsort(pci->devs, pci->n, sizeof(*pci->devs), cmp_dev);

	r = scan_groups(root, pci);
	if (r < 0)
		goto fail;
	r = group_members(root, pci);
	if (r < 0)
		goto fail;
	/* A PF offers NVIDIA's SR-IOV vGPU when its VFs list creatable types. */
	for (size_t i = 0; i < pci->n; i++) {
		struct gpv_pci_dev *pf;

		if (!pci->devs[i].nvidia_vgpu || !pci->devs[i].physfn[0])
			continue;
		pf = (struct gpv_pci_dev *)gpv_pci_find(pci, pci->devs[i].physfn);
		if (!pf || pf->nvidia_vgpu)
			continue;
		pf->nvidia_vgpu = true;
		for (size_t t = 0; t < pci->devs[i].vgpu_types.n && r >= 0; t++)
			r = gpv_strv_push(&pf->vgpu_types, pci->devs[i].vgpu_types.v[t]);
		if (r < 0)
			goto fail;
	}
	gpv_names_free(names);
	*ret = pci;
	return 0;
fail:
	gpv_names_free(names);
	gpv_pci_free(pci);
	return r;
}
