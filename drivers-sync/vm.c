/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers-sync/vm.h"
#include "lib/log.h"
#include "lib/virt.h"
#include "lib/xml.h"

void gpv_ds_vm_clear(struct gpv_ds_vm *vm)
{
	free(vm->name);
	gpv_strv_clear(&vm->disks);
	gpv_strv_clear(&vm->formats);
	gpv_strv_clear(&vm->gpus);
	*vm = (struct gpv_ds_vm){0};
}

static void add_vendor(struct gpv_ds_vm *vm, unsigned vendor)
{
	for (size_t i = 0; i < vm->n_vendors; i++)
		if (vm->vendors[i] == vendor)
			return;
	if (vm->n_vendors < ELEMENTSOF(vm->vendors))
		vm->vendors[vm->n_vendors++] = vendor;
}

/* The vendor of a host PCI device ("0000:01:00.0"), from its sysfs vendor attribute. */
static int pci_vendor(struct gpv_root *root, const char *addr, unsigned *ret)
{
	_cleanup_free_ char *path = gpv_strf("/sys/bus/pci/devices/%s/vendor", addr), *text = NULL;
	uint64_t v;
	int r;

	if (!path)
		return -ENOMEM;
	r = gpv_root_read(root, path, 64, &text, NULL);
	if (r < 0)
		return r;
	r = gpv_parse_hex(gpv_strip(text), 0xffff, &v);
	if (r < 0)
		return r;
	*ret = (unsigned)v;
	return 0;
}

/* An mdev's parent: the folder above /sys/bus/mdev/devices/UUID's target. */
static int mdev_vendor(struct gpv_root *root, const char *uuid, unsigned *ret)
{
	_cleanup_free_ char *path = gpv_strf("/sys/bus/mdev/devices/%s", uuid), *real = NULL;
	char *slash, *parent;
	int r;

	if (!path || strchr(uuid, '/'))
		return path ? -EINVAL : -ENOMEM;
	r = gpv_root_resolve(root, path, &real);
	if (r < 0)
		return r;
	slash = strrchr(real, '/');
	if (!slash || slash == real)
		return -ENODEV;
	*slash = '\0';
	parent = strrchr(real, '/') + 1;
	if (!gpv_pci_addr_valid(parent))
		return -ENODEV;
	return pci_vendor(root, parent, ret);
}

static int add_hostdev(struct gpv_ds_vm *vm, struct gpv_root *root, struct gpv_xml_node *h)
{
	const char *type = gpv_xml_attr(h, "type");
	struct gpv_xml_node *a;
	char addr[64];
	unsigned vendor;
	int r;

	if (streq(type, "pci")) {
		unsigned dom = 0, bus, slot, fn;
		const char *d, *b, *s, *f;

		a = gpv_xml_find(h, "source/address");
		if (!a)
			return 0;
		d = gpv_xml_attr(a, "domain");
		b = gpv_xml_attr(a, "bus");
		s = gpv_xml_attr(a, "slot");
		f = gpv_xml_attr(a, "function");
		if (!b || !s || !f || (d && sscanf(d, "%x", &dom) != 1) || sscanf(b, "%x", &bus) != 1 ||
			sscanf(s, "%x", &slot) != 1 || sscanf(f, "%x", &fn) != 1 || dom > 0xffff ||
			bus > 0xff || slot > 0x1f || fn > 7)
			return 0;
		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", dom, bus, slot, fn);
		r = pci_vendor(root, addr, &vendor);
	} else if (streq(type, "mdev")) {
		const char *uuid;

		a = gpv_xml_find(h, "source/address");
		uuid = a ? gpv_xml_attr(a, "uuid") : NULL;
		if (!uuid || strlen(uuid) >= sizeof(addr))
			return 0;
		snprintf(addr, sizeof(addr), "%s", uuid);
		r = mdev_vendor(root, uuid, &vendor);
	} else {
		return 0;
	}
	if (r < 0) {
		gpv_debug("drivers-sync: %s: hostdev %s: not on this host (%s)", vm->name, addr,
			strerror(-r));
		return 0;
	}
	add_vendor(vm, vendor);
	return gpv_strv_push(&vm->gpus, addr);
}

static int add_disk(struct gpv_ds_vm *vm, struct gpv_virt *v, struct gpv_xml_node *disk)
{
	const char *type = gpv_xml_attr(disk, "type");
	struct gpv_xml_node *src = gpv_xml_child(disk, "source"), *driver;
	_cleanup_free_ char *path = NULL;
	const char *format;
	int r;

	if (!streq_ptr(gpv_xml_attr(disk, "device"), "disk") && gpv_xml_attr(disk, "device"))
		return 0; /* a cdrom, a floppy, a lun */
	if (gpv_xml_child(disk, "readonly") || gpv_xml_child(disk, "shareable") || !src)
		return 0;
	if (streq_ptr(type, "file") || !type) {
		const char *f = gpv_xml_attr(src, "file");

		if (f && !(path = strdup(f)))
			return -ENOMEM;
	} else if (streq(type, "block")) {
		const char *dev = gpv_xml_attr(src, "dev");

		if (dev && !(path = strdup(dev)))
			return -ENOMEM;
	} else if (streq(type, "volume")) {
		const char *pool = gpv_xml_attr(src, "pool"), *vol = gpv_xml_attr(src, "volume");

		if (pool && vol && (r = gpv_virt_volume_find(v, pool, vol, &path)) < 0) {
			gpv_debug("drivers-sync: %s: volume %s/%s: %s", vm->name, pool, vol,
				gpv_virt_error(v));
			path = NULL;
		}
	}
	if (!path) {
		gpv_debug("drivers-sync: %s: a disk of type %s is not an image gpupv can open",
			vm->name, type ? type : "?");
		return 0;
	}
	driver = gpv_xml_child(disk, "driver");
	format = driver ? gpv_xml_attr(driver, "type") : NULL;
	r = gpv_strv_push(&vm->formats, format ? format : "");
	return r < 0 ? r : gpv_strv_push(&vm->disks, path);
}

int gpv_ds_vm_from_xml(struct gpv_virt *v, struct gpv_root *root, const char *xml,
	struct gpv_ds_vm *ret)
{
	struct gpv_ds_vm vm = {0};
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_node *dom, *devs, *n;
	int r = gpv_xml_parse_memory(xml, strlen(xml), "domain", &doc, NULL);

	if (r < 0)
		return -EBADMSG;
	dom = gpv_xml_root(doc);
	n = gpv_xml_child(dom, "name");
	if (!streq_ptr(gpv_xml_name(dom), "domain") || !n || gpv_xml_text(n, &vm.name) < 0) {
		r = -EBADMSG;
		goto out;
	}
	devs = gpv_xml_child(dom, "devices");
	for (n = devs ? gpv_xml_child(devs, "disk") : NULL; n && r >= 0; n = gpv_xml_next(n, "disk"))
		r = add_disk(&vm, v, n);
	for (n = devs ? gpv_xml_child(devs, "hostdev") : NULL; n && r >= 0;
		n = gpv_xml_next(n, "hostdev"))
		r = add_hostdev(&vm, root, n);
	if (r >= 0) {
		r = gpv_virt_domain_active(v, vm.name);
		if (r >= 0) {
			vm.active = r > 0;
			r = 0;
		}
	}
out:
	gpv_xml_free(doc);
	if (r < 0) {
		gpv_ds_vm_clear(&vm);
		return r;
	}
	*ret = vm;
	return 0;
}
