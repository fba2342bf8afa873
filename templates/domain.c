/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain and nodedev XML gpupv defines, built on a template's tree (never from strings). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/util.h"
#include "lib/xml.h"
#include "probes/data.h"
#include "templates/domain.h"
#include "templates/template.h"

/* Where Intel integrated graphics always sit on the host. */
#define IGPU_ADDR "0000:00:02.0"

/* What the quirks of quirks.ids ask for one build. */
struct quirks {
	bool kvm_hidden;
	char vendor_id[13];
	int rom_bar, rom_bar_secondary; /* -1 unset, 0 off, 1 on */
	bool ramfb;
	bool guest_address;
	unsigned gbus, gslot, gfunction;
};

unsigned long long gpv_looking_glass_mib(unsigned width, unsigned height)
{
	unsigned long long bytes, mib, p = 1;

	if (!width || !height) {
		width = 1920;
		height = 1080;
	}
	/* Looking Glass's formula: two frames of 4 bytes a pixel, plus 10 MiB for the cursor
	 * and the headers, rounded up to a power of two (IVSHMEM sizes must be one). */
	bytes = (unsigned long long)width * height * 4 * 2;
	mib = (bytes + (1ULL << 20) - 1) / (1ULL << 20) + 10;
	while (p < mib)
		p <<= 1;
	return p;
}

static bool uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

struct pci_addr {
	unsigned domain, bus, slot, function;
};

static int parse_addr(const char *s, struct pci_addr *a)
{
	if (!gpv_pci_addr_valid(s) ||
		sscanf(s, "%4x:%2x:%2x.%1x", &a->domain, &a->bus, &a->slot, &a->function) != 4)
		return -EINVAL;
	return 0;
}

/* Sets domain, bus, slot and function as libvirt writes them. */
static int set_address(struct gpv_xml_node *n, const struct pci_addr *a)
{
	char buf[4][16];
	int r;

	snprintf(buf[0], sizeof(buf[0]), "0x%04x", a->domain);
	snprintf(buf[1], sizeof(buf[1]), "0x%02x", a->bus);
	snprintf(buf[2], sizeof(buf[2]), "0x%02x", a->slot);
	snprintf(buf[3], sizeof(buf[3]), "0x%x", a->function);
	if ((r = gpv_xml_set_attr(n, "domain", buf[0])) < 0 ||
		(r = gpv_xml_set_attr(n, "bus", buf[1])) < 0 ||
		(r = gpv_xml_set_attr(n, "slot", buf[2])) < 0)
		return r;
	return gpv_xml_set_attr(n, "function", buf[3]);
}

static bool id_matches(const char *field, uint16_t id)
{
	uint64_t v;

	return streq(field, "*") || (gpv_parse_hex(field, 0xffff, &v) == 0 && v == id);
}

static int when_matches(const char *when, const struct gpv_slice *s, bool *ret)
{
	static const char *const known[] = {
		"any", "whole", "vf", "vgpu", "mdev", "mdev-display", "geforce", "igpu"};
	bool ok = false;

	for (size_t i = 0; i < ELEMENTSOF(known); i++)
		ok |= streq(when, known[i]);
	if (!ok)
		return -EBADMSG;
	*ret = (streq(when, "any") && s->kind != GPV_SLICE_NONE) ||
	       (streq(when, "whole") && s->kind == GPV_SLICE_WHOLE) ||
	       (streq(when, "vf") && s->kind == GPV_SLICE_VF) ||
	       (streq(when, "vgpu") && s->kind == GPV_SLICE_VGPU) ||
	       (streq(when, "mdev") && s->kind == GPV_SLICE_MDEV) ||
	       (streq(when, "mdev-display") && s->kind == GPV_SLICE_MDEV && s->mdev_display) ||
	       (streq(when, "geforce") && s->kind == GPV_SLICE_WHOLE && s->geforce_like) ||
	       (streq(when, "igpu") && s->kind == GPV_SLICE_WHOLE && s->n_addrs > 0 &&
		       streq(s->addrs[0], IGPU_ADDR));
	return 0;
}

static int on_off(const char *v, int *ret)
{
	if (streq(v, "on"))
		*ret = 1;
	else if (streq(v, "off"))
		*ret = 0;
	else
		return -EBADMSG;
	return 0;
}

static int apply_action(const char *action, const char *value, struct quirks *q)
{
	if (streq(action, "kvm-hidden")) {
		q->kvm_hidden = true;
		return 0;
	}
	if (!value)
		return -EBADMSG;
	if (streq(action, "hyperv-vendor-id")) {
		if (strlen(value) > 12)
			return -EBADMSG;
		snprintf(q->vendor_id, sizeof(q->vendor_id), "%s", value);
		return 0;
	}
	if (streq(action, "rom-bar"))
		return on_off(value, &q->rom_bar);
	if (streq(action, "rom-bar-secondary"))
		return on_off(value, &q->rom_bar_secondary);
	if (streq(action, "ramfb"))
		return streq(value, "on") ? (q->ramfb = true, 0) : -EBADMSG;
	if (streq(action, "guest-address")) {
		char full[16];
		struct pci_addr a;

		snprintf(full, sizeof(full), "0000:%s", value);
		if (parse_addr(full, &a) < 0 || a.bus != 0)
			return -EBADMSG;
		q->guest_address = true;
		q->gbus = a.bus;
		q->gslot = a.slot;
		q->gfunction = a.function;
		return 0;
	}
	return -EBADMSG;
}

/* Reads quirks.ids and keeps what applies to slice. A malformed rule fails with -EBADMSG:
 * silently skipping it could hand a guest a broken GPU. */
static int load_quirks(const struct gpv_slice *slice, struct quirks *q)
{
	_cleanup_free_ char *copy = NULL;
	const char *text;
	unsigned line = 0;
	int r = gpv_data_get("quirks.ids", &text);

	*q = (struct quirks){.rom_bar = -1, .rom_bar_secondary = -1};
	if (r < 0)
		return r;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (char *l = copy, *next; l; l = next) {
		char *f[6] = {0}, *fsave = NULL;
		size_t n = 0;
		bool match;

		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if (strchr(l, '#'))
			*strchr(l, '#') = '\0';
		for (char *w = strtok_r(l, " \t\r", &fsave); w && n < ELEMENTSOF(f);
			w = strtok_r(NULL, " \t\r", &fsave))
			f[n++] = w;
		if (n == 0)
			continue;
		/* The ramfb action takes no value in the file; it reads as "on". */
		if (n == 4 && streq(f[3], "ramfb"))
			f[n++] = "on";
		if (n < 4 || n > 5 || (r = when_matches(f[2], slice, &match)) < 0) {
			gpv_debug("quirks.ids:%u: not VENDOR DEVICE WHEN ACTION [VALUE]", line);
			return -EBADMSG;
		}
		if (!match || !id_matches(f[0], slice->vendor) || !id_matches(f[1], slice->device))
			continue;
		if ((r = apply_action(f[3], f[4], q)) < 0) {
			gpv_debug("quirks.ids:%u: bad action '%s'", line, f[3]);
			return r;
		}
		gpv_debug("quirks.ids:%u: %s %s", line, f[3], f[4] ? f[4] : "");
	}
	return 0;
}

static int validate(const struct gpv_domain_spec *s)
{
	const struct gpv_slice *sl = &s->slice;
	struct pci_addr a;

	if (!s->name || !*s->name || strchr(s->name, '/') || strlen(s->name) > 200)
		return -EINVAL;
	/* Files libvirt opens on the host: absolute, whatever libvirt's working folder is. */
	if ((s->kernel && s->kernel[0] != '/') || (s->initrd && s->initrd[0] != '/') ||
		(s->serial_log && s->serial_log[0] != '/') ||
		(!s->kernel && (s->initrd || s->cmdline)))
		return -EINVAL;
	if (s->disk_format && !streq(s->disk_format, "qcow2") && !streq(s->disk_format, "raw"))
		return -EINVAL;
	switch (sl->kind) {
	case GPV_SLICE_NONE:
		return 0;
	case GPV_SLICE_WHOLE:
		if (sl->n_addrs < 1 || sl->n_addrs > GPV_SLICE_MAX_FUNCTIONS)
			return -EINVAL;
		break;
	case GPV_SLICE_VF:
	case GPV_SLICE_VGPU:
		if (sl->n_addrs != 1)
			return -EINVAL;
		break;
	case GPV_SLICE_MDEV:
		return uuid_valid(sl->mdev_uuid) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
	for (size_t i = 0; i < sl->n_addrs; i++)
		if (parse_addr(sl->addrs[i], &a) < 0)
			return -EINVAL;
	return 0;
}

static int set_uint(struct gpv_xml_node *n, const char *attr, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return attr ? gpv_xml_set_attr(n, attr, buf) : gpv_xml_set_text(n, buf);
}

/* <memory unit='KiB'>, <currentMemory> too when the template has it. */
static int set_memory(struct gpv_xml_node *dom, unsigned long long kib)
{
	static const char *const names[] = {"memory", "currentMemory"};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		struct gpv_xml_node *n = gpv_xml_find(dom, names[i]);

		if (!n && i > 0)
			continue;
		if (!n && (r = gpv_xml_add(dom, names[i], NULL, &n)) < 0)
			return r;
		if ((r = gpv_xml_set_attr(n, "unit", "KiB")) < 0 ||
			(r = set_uint(n, NULL, kib)) < 0)
			return r;
	}
	return 0;
}

/* <vcpu> and a topology with the same count: one socket, and 2 threads a core when the
 * template asks for SMT and the count is even. */
static int set_vcpus(struct gpv_xml_node *dom, unsigned n, bool smt)
{
	struct gpv_xml_node *v, *topo;
	unsigned threads = smt && n % 2 == 0 ? 2 : 1;
	int r;

	if ((r = gpv_xml_ensure(dom, "vcpu", &v)) < 0 || (r = set_uint(v, NULL, n)) < 0 ||
		(r = gpv_xml_set_attr(v, "placement", "static")) < 0)
		return r;
	if ((r = gpv_xml_ensure(dom, "cpu/topology", &topo)) < 0 ||
		(r = gpv_xml_set_attr(topo, "sockets", "1")) < 0 ||
		(r = gpv_xml_set_attr(topo, "dies", "1")) < 0 ||
		(r = set_uint(topo, "cores", n / threads)) < 0)
		return r;
	return set_uint(topo, "threads", threads);
}

/* TCG can do neither the host's CPU model nor KVM's paravirtual features. */
static int strip_kvm(struct gpv_xml_node *dom)
{
	struct gpv_xml_node *cpu = gpv_xml_find(dom, "cpu"), *n;
	int r;

	if ((r = gpv_xml_set_attr(dom, "type", "qemu")) < 0)
		return r;
	if (cpu && (streq(gpv_xml_attr(cpu, "mode"), "host-passthrough") ||
			   streq(gpv_xml_attr(cpu, "mode"), "host-model"))) {
		if ((r = gpv_xml_set_attr(cpu, "mode", NULL)) < 0 ||
			(r = gpv_xml_set_attr(cpu, "check", NULL)) < 0 ||
			(r = gpv_xml_set_attr(cpu, "migratable", NULL)) < 0)
			return r;
	}
	gpv_xml_remove(gpv_xml_find(dom, "features/hyperv"));
	gpv_xml_remove(gpv_xml_find(dom, "features/kvm"));
	gpv_xml_remove(gpv_xml_find(dom, "features/ioapic[@driver='kvm']"));
	while ((n = gpv_xml_find(dom, "clock/timer[@name='hypervclock']")))
		gpv_xml_remove(n);
	return 0;
}

static int set_disk(struct gpv_xml_node *devices, const char *disk, const char *format)
{
	struct gpv_xml_node *d = gpv_xml_find(devices, "disk[@device='disk']"), *src, *boot, *drv;
	int r;

	if (!disk) {
		gpv_xml_remove(d);
		return 0;
	}
	if (!d) {
		struct gpv_xml_node *target;

		if ((r = gpv_xml_add(devices, "disk", NULL, &d)) < 0 ||
			(r = gpv_xml_set_attr(d, "device", "disk")) < 0 ||
			(r = gpv_xml_add(d, "target", NULL, &target)) < 0 ||
			(r = gpv_xml_set_attr(target, "dev", "vda")) < 0 ||
			(r = gpv_xml_set_attr(target, "bus", "virtio")) < 0)
			return r;
	}
	gpv_xml_remove(gpv_xml_find(d, "source"));
	if ((r = gpv_xml_add(d, "source", NULL, &src)) < 0)
		return r;
	if (disk[0] == '/') {
		bool block = startswith(disk, "/dev/") != NULL;

		if ((r = gpv_xml_set_attr(d, "type", block ? "block" : "file")) < 0 ||
			(r = gpv_xml_set_attr(src, block ? "dev" : "file", disk)) < 0)
			return r;
		if (block && gpv_xml_find(d, "driver"))
			r = gpv_xml_set_attr(gpv_xml_find(d, "driver"), "type", "raw");
		/* An image of its own kind: qemu must be told, never left to guess (a guest
		 * could write a qcow2 header into a raw image). */
		if (r >= 0 && !block && format &&
			((r = gpv_xml_ensure(d, "driver", &drv)) < 0 ||
				(r = gpv_xml_set_attr(drv, "name", "qemu")) < 0 ||
				(r = gpv_xml_set_attr(drv, "type", format)) < 0))
			return r;
	} else {
		const char *slash = strchr(disk, '/');
		_cleanup_free_ char *pool = NULL;

		if (!slash || slash == disk || !slash[1] || strchr(slash + 1, '/'))
			return -EINVAL;
		pool = strndup(disk, (size_t)(slash - disk));
		if (!pool)
			return -ENOMEM;
		if ((r = gpv_xml_set_attr(d, "type", "volume")) < 0 ||
			(r = gpv_xml_set_attr(src, "pool", pool)) < 0 ||
			(r = gpv_xml_set_attr(src, "volume", slash + 1)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	gpv_xml_remove(gpv_xml_find(d, "boot"));
	if ((r = gpv_xml_add(d, "boot", NULL, &boot)) < 0)
		return r;
	return gpv_xml_set_attr(boot, "order", "1");
}

/* Direct kernel boot: <kernel>, <initrd> and <cmdline> in <os>, as libvirt's schema has them
 * (the template's own, if any, replaced). */
static int set_kernel_boot(struct gpv_xml_node *dom, const struct gpv_domain_spec *s)
{
	static const char *const names[] = {"kernel", "initrd", "cmdline"};
	const char *values[] = {s->kernel, s->initrd, s->cmdline};
	struct gpv_xml_node *os;
	int r;

	if (!s->kernel)
		return 0;
	if ((r = gpv_xml_ensure(dom, "os", &os)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		gpv_xml_remove(gpv_xml_find(os, names[i]));
		if (values[i] && (r = gpv_xml_add(os, names[i], values[i], NULL)) < 0)
			return r;
	}
	return 0;
}

/* The first serial port's output, logged to a file by libvirt (virtlogd), which outlives the
 * domain: a test reads what the guest printed after it powered off. A template without a
 * serial port gets one. */
static int set_serial_log(struct gpv_xml_node *devices, const char *path)
{
	struct gpv_xml_node *serial = gpv_xml_find(devices, "serial"), *log;
	int r;

	if (!path)
		return 0;
	if (!serial && ((r = gpv_xml_add(devices, "serial", NULL, &serial)) < 0 ||
			       (r = gpv_xml_set_attr(serial, "type", "pty")) < 0))
		return r;
	gpv_xml_remove(gpv_xml_find(serial, "log"));
	if ((r = gpv_xml_add(serial, "log", NULL, &log)) < 0 ||
		(r = gpv_xml_set_attr(log, "file", path)) < 0)
		return r;
	return gpv_xml_set_attr(log, "append", "off");
}

/* The ISOs, as SATA CD-ROMs sda, sdb, sdc; the installer boots second, after the disk. */
static int add_cdroms(struct gpv_xml_node *devices, const struct gpv_domain_spec *s)
{
	const char *isos[] = {s->iso, s->virtio_iso, s->seed_iso};
	char dev[] = "sda";
	int r;

	for (size_t i = 0; i < ELEMENTSOF(isos); i++) {
		struct gpv_xml_node *d, *n;

		if (!isos[i])
			continue;
		if ((r = gpv_xml_add(devices, "disk", NULL, &d)) < 0 ||
			(r = gpv_xml_set_attr(d, "type", "file")) < 0 ||
			(r = gpv_xml_set_attr(d, "device", "cdrom")) < 0 ||
			(r = gpv_xml_add(d, "driver", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "name", "qemu")) < 0 ||
			(r = gpv_xml_set_attr(n, "type", "raw")) < 0 ||
			(r = gpv_xml_add(d, "source", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "file", isos[i])) < 0 ||
			(r = gpv_xml_add(d, "target", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "dev", dev)) < 0 ||
			(r = gpv_xml_set_attr(n, "bus", "sata")) < 0 ||
			(r = gpv_xml_add(d, "readonly", NULL, NULL)) < 0)
			return r;
		if (i == 0 && ((r = gpv_xml_add(d, "boot", NULL, &n)) < 0 ||
				      (r = gpv_xml_set_attr(n, "order", "2")) < 0))
			return r;
		dev[2]++;
	}
	return 0;
}

static int set_network(struct gpv_xml_node *devices, const char *network)
{
	struct gpv_xml_node *i = gpv_xml_find(devices, "interface"), *n;
	int r;

	if (!network)
		return 0;
	if (streq(network, "none")) { /* no network at all */
		for (; i; i = gpv_xml_find(devices, "interface"))
			gpv_xml_remove(i);
		return 0;
	}
	if (!i) {
		if ((r = gpv_xml_add(devices, "interface", NULL, &i)) < 0 ||
			(r = gpv_xml_add(i, "model", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "type", "virtio")) < 0)
			return r;
	}
	gpv_xml_remove(gpv_xml_find(i, "source"));
	if ((r = gpv_xml_set_attr(i, "type", "network")) < 0 ||
		(r = gpv_xml_add(i, "source", NULL, &n)) < 0)
		return r;
	return gpv_xml_set_attr(n, "network", network);
}

static int add_rom_bar(struct gpv_xml_node *hostdev, int on)
{
	struct gpv_xml_node *rom;
	int r;

	if (on < 0)
		return 0;
	if ((r = gpv_xml_add(hostdev, "rom", NULL, &rom)) < 0)
		return r;
	return gpv_xml_set_attr(rom, "bar", on ? "on" : "off");
}

/* The highest index of the template's PCI controllers; 0 (pcie-root) when none. */
static unsigned max_pci_index(struct gpv_xml_node *devices)
{
	unsigned max = 0;

	for (struct gpv_xml_node *c = gpv_xml_child(devices, "controller"); c;
		c = gpv_xml_next(c, "controller")) {
		uint64_t v;

		if (streq(gpv_xml_attr(c, "type"), "pci") &&
			gpv_parse_uint(gpv_xml_attr(c, "index") ?: "", 255, &v) == 0 && v > max)
			max = (unsigned)v;
	}
	return max;
}

/* A whole GPU: every function on one guest slot, function 0 multifunction, gpupv binding
 * the devices itself (managed='no'). The slot is a root port of its own, unless a quirk puts
 * the GPU on the root bus. */
static int add_whole(
	struct gpv_xml_node *devices, const struct gpv_slice *s, const struct quirks *q)
{
	struct pci_addr guest = {0};
	int r;

	if (q->guest_address) {
		guest = (struct pci_addr){0, q->gbus, q->gslot, q->gfunction};
	} else {
		struct gpv_xml_node *c;

		guest.bus = max_pci_index(devices) + 1;
		if ((r = gpv_xml_add(devices, "controller", NULL, &c)) < 0 ||
			(r = gpv_xml_set_attr(c, "type", "pci")) < 0 ||
			(r = set_uint(c, "index", guest.bus)) < 0 ||
			(r = gpv_xml_set_attr(c, "model", "pcie-root-port")) < 0)
			return r;
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		struct gpv_xml_node *h, *n, *src;
		struct pci_addr host;

		parse_addr(s->addrs[i], &host);
		if ((r = gpv_xml_add(devices, "hostdev", NULL, &h)) < 0 ||
			(r = gpv_xml_set_attr(h, "mode", "subsystem")) < 0 ||
			(r = gpv_xml_set_attr(h, "type", "pci")) < 0 ||
			(r = gpv_xml_set_attr(h, "managed", "no")) < 0 ||
			(r = gpv_xml_add(h, "driver", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "name", "vfio")) < 0 ||
			(r = gpv_xml_add(h, "source", NULL, &src)) < 0 ||
			(r = gpv_xml_add(src, "address", NULL, &n)) < 0 ||
			(r = set_address(n, &host)) < 0 ||
			(r = add_rom_bar(h, i == 0 ? q->rom_bar : q->rom_bar_secondary)) < 0 ||
			(r = gpv_xml_add(h, "address", NULL, &n)) < 0 ||
			(r = gpv_xml_set_attr(n, "type", "pci")) < 0 ||
			(r = set_address(n, &(struct pci_addr){guest.domain, guest.bus, guest.slot,
						    guest.function + (unsigned)i})) < 0)
			return r;
		if (i == 0 && s->n_addrs > 1 &&
			(r = gpv_xml_set_attr(n, "multifunction", "on")) < 0)
			return r;
	}
	return 0;
}

static int add_vf(struct gpv_xml_node *devices, const struct gpv_slice *s, const struct quirks *q)
{
	struct gpv_xml_node *h, *n, *src;
	struct pci_addr host;
	int r;

	parse_addr(s->addrs[0], &host);
	if ((r = gpv_xml_add(devices, "hostdev", NULL, &h)) < 0 ||
		(r = gpv_xml_set_attr(h, "mode", "subsystem")) < 0 ||
		(r = gpv_xml_set_attr(h, "type", "pci")) < 0 ||
		(r = gpv_xml_set_attr(h, "managed", "no")) < 0 ||
		(r = gpv_xml_add(h, "driver", NULL, &n)) < 0 ||
		(r = gpv_xml_set_attr(n, "name", "vfio")) < 0 ||
		(r = gpv_xml_add(h, "source", NULL, &src)) < 0 ||
		(r = gpv_xml_add(src, "address", NULL, &n)) < 0 || (r = set_address(n, &host)) < 0)
		return r;
	return add_rom_bar(h, q->rom_bar);
}

/* An NVIDIA SR-IOV vGPU: the VF as a plain PCI hostdev, as NVIDIA's vGPU guide gives it for
 * its vendor-specific VFIO framework. No <driver name='vfio'/>: the VF stays on NVIDIA's
 * driver, which is itself a VFIO driver, and with managed='no' libvirt does not rebind it. */
static int add_vgpu(struct gpv_xml_node *devices, const struct gpv_slice *s, const struct quirks *q)
{
	struct gpv_xml_node *h, *n, *src;
	struct pci_addr host;
	int r;

	parse_addr(s->addrs[0], &host);
	if ((r = gpv_xml_add(devices, "hostdev", NULL, &h)) < 0 ||
		(r = gpv_xml_set_attr(h, "mode", "subsystem")) < 0 ||
		(r = gpv_xml_set_attr(h, "type", "pci")) < 0 ||
		(r = gpv_xml_set_attr(h, "managed", "no")) < 0 ||
		(r = gpv_xml_add(h, "source", NULL, &src)) < 0 ||
		(r = gpv_xml_add(src, "address", NULL, &n)) < 0 || (r = set_address(n, &host)) < 0)
		return r;
	return add_rom_bar(h, q->rom_bar);
}

static int add_mdev(struct gpv_xml_node *devices, const struct gpv_slice *s, const struct quirks *q)
{
	struct gpv_xml_node *h, *n, *src;
	int r;

	if ((r = gpv_xml_add(devices, "hostdev", NULL, &h)) < 0 ||
		(r = gpv_xml_set_attr(h, "mode", "subsystem")) < 0 ||
		(r = gpv_xml_set_attr(h, "type", "mdev")) < 0 ||
		(r = gpv_xml_set_attr(h, "managed", "no")) < 0 ||
		(r = gpv_xml_set_attr(h, "model", "vfio-pci")) < 0 ||
		(r = gpv_xml_set_attr(h, "display", s->mdev_display ? "on" : "off")) < 0 ||
		(r = gpv_xml_add(h, "source", NULL, &src)) < 0 ||
		(r = gpv_xml_add(src, "address", NULL, &n)) < 0 ||
		(r = gpv_xml_set_attr(n, "uuid", s->mdev_uuid)) < 0)
		return r;
	if (s->mdev_display && q->ramfb)
		return gpv_xml_set_attr(h, "ramfb", "on");
	return 0;
}

static int apply_features(struct gpv_xml_node *dom, const struct quirks *q)
{
	struct gpv_xml_node *n;
	int r;

	if (q->kvm_hidden && ((r = gpv_xml_ensure(dom, "features/kvm/hidden", &n)) < 0 ||
				     (r = gpv_xml_set_attr(n, "state", "on")) < 0))
		return r;
	if (q->vendor_id[0] && ((r = gpv_xml_ensure(dom, "features/hyperv/vendor_id", &n)) < 0 ||
				       (r = gpv_xml_set_attr(n, "state", "on")) < 0 ||
				       (r = gpv_xml_set_attr(n, "value", q->vendor_id)) < 0))
		return r;
	return 0;
}

/* IVSHMEM for Looking Glass; the balloon goes, as Looking Glass's guide says (it fights the
 * pinned frame buffer). */
static int add_looking_glass(struct gpv_xml_node *devices, const struct gpv_domain_spec *s)
{
	struct gpv_xml_node *shmem, *n;
	int r;

	if ((r = gpv_xml_add(devices, "shmem", NULL, &shmem)) < 0 ||
		(r = gpv_xml_set_attr(shmem, "name", "looking-glass")) < 0 ||
		(r = gpv_xml_add(shmem, "model", NULL, &n)) < 0 ||
		(r = gpv_xml_set_attr(n, "type", "ivshmem-plain")) < 0 ||
		(r = gpv_xml_add(shmem, "size", NULL, &n)) < 0 ||
		(r = gpv_xml_set_attr(n, "unit", "M")) < 0 ||
		(r = set_uint(n, NULL, gpv_looking_glass_mib(s->lg_width, s->lg_height))) < 0)
		return r;
	if ((r = gpv_xml_ensure(devices, "memballoon", &n)) < 0)
		return r;
	while (gpv_xml_child(n, NULL))
		gpv_xml_remove(gpv_xml_child(n, NULL));
	return gpv_xml_set_attr(n, "model", "none");
}

/* The template's own description is not the domain's. */
static void drop_template_metadata(struct gpv_xml_node *dom)
{
	struct gpv_xml_node *meta = gpv_xml_find(dom, "metadata"), *c, *next;

	for (c = gpv_xml_child(meta, NULL); c; c = next) {
		next = gpv_xml_next(c, NULL);
		if (streq(gpv_xml_ns(c), GPV_TEMPLATE_NS))
			gpv_xml_remove(c);
	}
	if (meta && !gpv_xml_child(meta, NULL))
		gpv_xml_remove(meta);
}

int gpv_domain_build(
	const struct gpv_template *t, const struct gpv_domain_spec *spec, char **ret_xml)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_node *dom, *devices, *name;
	struct quirks q;
	unsigned long long mem;
	int r = validate(spec);

	if (r < 0)
		return r;
	r = load_quirks(&spec->slice, &q);
	if (r < 0)
		return r;
	if (!spec->kvm) {
		q.kvm_hidden = false;
		q.vendor_id[0] = '\0';
	}
	r = gpv_xml_copy(t->doc, &doc);
	if (r < 0)
		return r;
	dom = gpv_xml_root(doc);
	drop_template_metadata(dom);
	mem = spec->memory_bytes ? spec->memory_bytes / 1024 : t->info.memory_mib * 1024;
	if ((r = gpv_xml_set_attr(dom, "type", "kvm")) < 0 ||
		(r = gpv_xml_ensure(dom, "name", &name)) < 0 ||
		(r = gpv_xml_set_text(name, spec->name)) < 0 || (r = set_memory(dom, mem)) < 0 ||
		(r = set_vcpus(dom, spec->vcpus ? spec->vcpus : t->info.vcpus, t->info.smt)) < 0 ||
		(!spec->kvm && (r = strip_kvm(dom)) < 0) ||
		(r = gpv_xml_ensure(dom, "devices", &devices)) < 0 ||
		(r = set_disk(devices, spec->disk, spec->disk_format)) < 0 ||
		(r = add_cdroms(devices, spec)) < 0 || (r = set_kernel_boot(dom, spec)) < 0 ||
		(r = set_serial_log(devices, spec->serial_log)) < 0 ||
		(r = set_network(devices, spec->network)) < 0 || (r = apply_features(dom, &q)) < 0)
		goto out;
	switch (spec->slice.kind) {
	case GPV_SLICE_WHOLE:
		r = add_whole(devices, &spec->slice, &q);
		break;
	case GPV_SLICE_VF:
		r = add_vf(devices, &spec->slice, &q);
		break;
	case GPV_SLICE_MDEV:
		r = add_mdev(devices, &spec->slice, &q);
		break;
	case GPV_SLICE_VGPU:
		r = add_vgpu(devices, &spec->slice, &q);
		break;
	case GPV_SLICE_NONE:
		break;
	}
	if (r >= 0 && spec->looking_glass)
		r = add_looking_glass(devices, spec);
	if (r >= 0)
		r = gpv_xml_format(doc, ret_xml);
out:
	gpv_xml_free(doc);
	return r;
}

int gpv_nodedev_build(const struct gpv_slice *slice, char **ret_xml)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_node *dev, *cap, *n;
	char name[96], parent[32], addr[13];
	int r;

	if (slice->kind != GPV_SLICE_MDEV || !slice->mdev_type || !*slice->mdev_type ||
		!uuid_valid(slice->mdev_uuid) ||
		gpv_pci_addr_normalize(slice->mdev_parent, addr) < 0)
		return -EINVAL;
	/* libvirt's names: pci_0000_00_02_0 for the parent, mdev_UUID_PARENT for the device. */
	snprintf(parent, sizeof(parent), "pci_%s", addr);
	for (char *c = parent; *c; c++)
		if (*c == ':' || *c == '.')
			*c = '_';
	snprintf(name, sizeof(name), "mdev_%s_%s", slice->mdev_uuid, parent + 4);
	for (char *c = name; *c; c++)
		if (*c == '-')
			*c = '_';
	r = gpv_xml_new("device", &doc);
	if (r < 0)
		return r;
	dev = gpv_xml_root(doc);
	if ((r = gpv_xml_add(dev, "name", name, NULL)) < 0 ||
		(r = gpv_xml_add(dev, "parent", parent, NULL)) < 0 ||
		(r = gpv_xml_add(dev, "capability", NULL, &cap)) < 0 ||
		(r = gpv_xml_set_attr(cap, "type", "mdev")) < 0 ||
		(r = gpv_xml_add(cap, "type", NULL, &n)) < 0 ||
		(r = gpv_xml_set_attr(n, "id", slice->mdev_type)) < 0 ||
		(r = gpv_xml_add(cap, "uuid", slice->mdev_uuid, NULL)) < 0)
		goto out;
	r = gpv_xml_format(doc, ret_xml);
out:
	gpv_xml_free(doc);
	return r;
}
