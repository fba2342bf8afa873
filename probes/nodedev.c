/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "lib/xml.h"
#include "probes/nodedev.h"

/* "0x10de" or "16": libvirt writes ids in hex and the address in decimal. */
static int num(const char *s, uint64_t max, uint64_t *ret)
{
	if (!s)
		return -ENODATA;
	if (startswith(s, "0x") || startswith(s, "0X"))
		return gpv_parse_hex(s, max, ret);
	return gpv_parse_uint(s, max, ret);
}

static int child_num(struct gpv_xml_node *n, const char *path, uint64_t max, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	struct gpv_xml_node *c = gpv_xml_find(n, path);
	int r;

	if (!c)
		return -ENODATA;
	r = gpv_xml_text(c, &text);
	return r < 0 ? r : num(text, max, ret);
}

int gpv_nodedev_address(struct gpv_xml_node *a, char ret[static 13])
{
	uint64_t dom, bus, slot, fn;

	if (num(gpv_xml_attr(a, "domain"), 0xffff, &dom) < 0 ||
		num(gpv_xml_attr(a, "bus"), 0xff, &bus) < 0 ||
		num(gpv_xml_attr(a, "slot"), 0x1f, &slot) < 0 ||
		num(gpv_xml_attr(a, "function"), 7, &fn) < 0)
		return -EINVAL;
	snprintf(ret, 13, "%04x:%02x:%02x.%x", (unsigned)dom, (unsigned)bus, (unsigned)slot,
		(unsigned)fn);
	return 0;
}

static int add_group_member(struct gpv_pci *pci, size_t *cap, int id, const char *addr)
{
	struct gpv_iommu_group *g = NULL;

	for (size_t i = 0; i < pci->n_groups && !g; i++)
		if (pci->groups[i].id == id)
			g = &pci->groups[i];
	if (!g) {
		if (pci->n_groups == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct gpv_iommu_group *ng = realloc(pci->groups, nc * sizeof(*ng));

			if (!ng)
				return -ENOMEM;
			pci->groups = ng;
			*cap = nc;
		}
		g = &pci->groups[pci->n_groups++];
		*g = (struct gpv_iommu_group){ .id = id };
	}
	return gpv_strv_contains(&g->members, addr) ? 0 : gpv_strv_push(&g->members, addr);
}

static int mdev_types(struct gpv_xml_node *cap, struct gpv_pci_dev *d)
{
	size_t n = gpv_xml_count(cap, "type");
	struct gpv_xml_node *t;
	int r = 0;

	if (!n)
		return 0;
	d->mdev_types = calloc(n, sizeof(*d->mdev_types));
	if (!d->mdev_types)
		return -ENOMEM;
	for (t = gpv_xml_child(cap, "type"); t && r >= 0; t = gpv_xml_next(t, "type")) {
		struct gpv_mdev_type *m = &d->mdev_types[d->n_mdev_types];
		const char *id = gpv_xml_attr(t, "id");
		struct gpv_xml_node *c;
		uint64_t v;

		if (!id)
			continue;
		*m = (struct gpv_mdev_type){ .available_instances = -1, .instances = -1,
			.framebuffer_mib = -1, .share_percent = -1 };
		d->n_mdev_types++;
		if (!(m->id = strdup(id)))
			return -ENOMEM;
		if ((c = gpv_xml_find(t, "name")) && (r = gpv_xml_text(c, &m->name)) < 0)
			return r;
		if ((c = gpv_xml_find(t, "deviceAPI")) && (r = gpv_xml_text(c, &m->device_api)) < 0)
			return r;
		if (child_num(t, "availableInstances", INT32_MAX, &v) == 0)
			m->available_instances = (long)v;
	}
	return r;
}

/* One <device>: a PCI function, or nothing (-ENOENT) for other kinds. */
static int read_device(struct gpv_xml_node *dev, struct gpv_pci_dev *d, struct gpv_pci *pci,
	size_t *gcap)
{
	struct gpv_xml_node *cap = gpv_xml_find(dev, "capability[@type='pci']"), *n, *a;
	uint64_t dom, bus, slot, fn, v;
	int r;

	if (!cap)
		return -ENOENT;
	*d = (struct gpv_pci_dev){ .header_type = -1, .iommu_group = -1, .boot_vga = -1,
		.sriov_total_vfs = -1, .sriov_num_vfs = -1, .vgpu_current = -1 };
	if (child_num(cap, "domain", 0xffff, &dom) < 0 || child_num(cap, "bus", 0xff, &bus) < 0 ||
		child_num(cap, "slot", 0x1f, &slot) < 0 || child_num(cap, "function", 7, &fn) < 0)
		return -EINVAL;
	snprintf(d->addr, sizeof(d->addr), "%04x:%02x:%02x.%x", (unsigned)dom, (unsigned)bus,
		(unsigned)slot, (unsigned)fn);
	d->class_ok = true;
	if (child_num(cap, "class", 0xffffff, &v) == 0)
		d->class = (uint32_t)v;
	else
		d->class_ok = false;
	if ((n = gpv_xml_find(cap, "vendor")) && num(gpv_xml_attr(n, "id"), 0xffff, &v) == 0)
		d->vendor = (uint16_t)v;
	else
		d->class_ok = false;
	if ((n = gpv_xml_find(cap, "product")) && num(gpv_xml_attr(n, "id"), 0xffff, &v) == 0)
		d->device = (uint16_t)v;
	else
		d->class_ok = false;
	if ((n = gpv_xml_find(dev, "driver/name")) && (r = gpv_xml_text(n, &d->driver)) < 0)
		return r;
	if ((n = gpv_xml_find(cap, "capability[@type='phys_function']/address")) &&
		gpv_nodedev_address(n, d->physfn) == 0)
		d->is_vf = true;
	if ((n = gpv_xml_find(cap, "capability[@type='virt_functions']"))) {
		if (num(gpv_xml_attr(n, "maxCount"), INT32_MAX, &v) == 0)
			d->sriov_total_vfs = (int)v;
		d->sriov_num_vfs = 0;
		for (a = gpv_xml_child(n, "address"); a; a = gpv_xml_next(a, "address")) {
			char vf[13];

			if (gpv_nodedev_address(a, vf) == 0 && (r = gpv_strv_push(&d->vfs, vf)) < 0)
				return r;
			d->sriov_num_vfs++;
		}
	}
	if ((n = gpv_xml_find(cap, "capability[@type='mdev_types']")) && (r = mdev_types(n, d)) < 0)
		return r;
	if ((n = gpv_xml_find(cap, "iommuGroup"))) {
		if (num(gpv_xml_attr(n, "number"), INT32_MAX, &v) < 0)
			return -EINVAL;
		d->iommu_group = (int)v;
		/* The group's members as libvirt lists them, present as devices or not. */
		if ((r = add_group_member(pci, gcap, d->iommu_group, d->addr)) < 0)
			return r;
		for (a = gpv_xml_child(n, "address"); a; a = gpv_xml_next(a, "address")) {
			char m[13];

			if (gpv_nodedev_address(a, m) == 0 &&
				(r = add_group_member(pci, gcap, d->iommu_group, m)) < 0)
				return r;
		}
	}
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct gpv_pci_dev *)a)->addr, ((const struct gpv_pci_dev *)b)->addr);
}

static int cmp_group(const void *a, const void *b)
{
	int x = ((const struct gpv_iommu_group *)a)->id, y = ((const struct gpv_iommu_group *)b)->id;

	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gpv_pci_from_nodedev(char *const *xmls, size_t n, struct gpv_pci **ret, char **ret_error)
{
	struct gpv_pci *pci = calloc(1, sizeof(*pci));
	size_t gcap = 0;
	int r = 0;

	if (!pci)
		return -ENOMEM;
	pci->devs = calloc(n ? n : 1, sizeof(*pci->devs));
	if (!pci->devs) {
		free(pci);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct gpv_xml_doc *doc = NULL;
		struct gpv_xml_error err = { 0 };

		r = gpv_xml_parse_memory(xmls[i], strlen(xmls[i]), "node device", &doc, &err);
		if (r < 0) {
			if (ret_error)
				*ret_error = gpv_strf("node device %zu: line %d: %s", i + 1, err.line,
					err.message);
			break;
		}
		r = read_device(gpv_xml_root(doc), &pci->devs[pci->n], pci, &gcap);
		if (r == 0) {
			bool seen = false;

			/* A function listed twice is read once. */
			for (size_t k = 0; k < pci->n && !seen; k++)
				seen = streq(pci->devs[k].addr, pci->devs[pci->n].addr);
			if (seen)
				gpv_pci_dev_clear(&pci->devs[pci->n]);
			else
				pci->n++;
		} else if (r == -ENOENT) {
			r = 0; /* not a PCI function */
		} else if (r == -EINVAL) {
			const char *name = NULL;
			struct gpv_xml_node *nm = gpv_xml_find(gpv_xml_root(doc), "name");
			_cleanup_free_ char *text = NULL;

			if (nm && gpv_xml_text(nm, &text) == 0)
				name = text;
			if (ret_error)
				*ret_error = gpv_strf("node device '%s': no valid PCI address",
					name ? name : "?");
			/* the half-read device is in devs[n]: count it, for gpv_pci_free() */
			pci->n++;
		} else {
			pci->n++;
		}
		gpv_xml_free(doc);
	}
	if (r < 0) {
		gpv_pci_free(pci);
		return r;
	}
	if (pci->n)
		qsort(pci->devs, pci->n, sizeof(*pci->devs), cmp_dev);
	if (pci->n_groups)
		qsort(pci->groups, pci->n_groups, sizeof(*pci->groups), cmp_group);
	for (size_t i = 0; i < pci->n_groups; i++)
		if (pci->groups[i].members.n)
			qsort(pci->groups[i].members.v, pci->groups[i].members.n, sizeof(char *),
				cmp_str);
	pci->groups_dir = pci->n_groups > 0;
	*ret = pci;
	return 0;
}
