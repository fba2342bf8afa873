/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Templates and the domain XML gpupv defines.
 *
 * A template is a libvirt domain XML skeleton in templates/NAME.xml whose <metadata> holds a
 * <gpupv:template> element (namespace GPV_TEMPLATE_NS) describing it. Templates are looked up,
 * first found wins, in:
 *   1. every folder of $GPUPV_TEMPLATES (colon-separated; for tests and trials),
 *   2. /etc/gpupv/templates inside the root (a person's own: no rebuild needed; through the
 *      root like every /etc read, so that --root DIR sees that machine's templates),
 *   3. the installed ones, $(pkgdatadir)/templates,
 *   4. the copies built into gpupv (windows11, linux), so that a build tree works uninstalled.
 * Vendor quirks come from the data file quirks.ids (probes/data.h: built in, GPUPV_DATADIR
 * overrides it).
 */
#define GPV_TEMPLATE_NS "urn:gpupv:template:1"

struct gpv_root;
struct gpv_template;

enum gpv_template_os {
	GPV_TEMPLATE_OS_LINUX,
	GPV_TEMPLATE_OS_WINDOWS,
};

/* What a template's metadata says; strings belong to the template. */
struct gpv_template_info {
	const char *name;	 /* the file name less ".xml" */
	const char *path;	 /* where it was read from; "(built-in)" for the built-in copies */
	const char *description; /* one line */
	enum gpv_template_os os;
	const char *seed;	       /* "autounattend" or "cloud-init" */
	const char *const *sets;       /* what it sets, NULL-terminated, in the file's order */
	unsigned long long memory_mib; /* defaults */
	unsigned vcpus;
	unsigned long long disk_gib;
	bool smt; /* the vCPUs are given as cores with 2 threads each, when even */
};

/* Where a template failed to load: the file, and the line (0 when not a parse error). */
struct gpv_template_error {
	char path[4096];
	int line;
	char message[256];
};

/*
 * Finds and parses template name (see above for where). root may be NULL: no /etc lookup.
 * -ENOENT when no folder has it, -EINVAL when the file is not valid XML or not a gpupv
 * template (err, which may be NULL, says which file, line and why), -EOPNOTSUPP when libxml2
 * cannot be loaded, another -errno when the file cannot be read (err names it, line 0). On success *ret is owned by the caller (gpv_template_free()).
 */
int gpv_template_load(struct gpv_root *root, const char *name, struct gpv_template **ret,
	struct gpv_template_error *err);
/*
 * Every template, sorted by name, each name once (the first found, as gpv_template_load()
 * would). A broken file fails the whole list with -EINVAL and err filled in: a person who
 * added a template wants to hear that it is broken. The caller frees with
 * gpv_template_list_free().
 */
int gpv_template_list(struct gpv_root *root, struct gpv_template ***ret, size_t *ret_n,
	struct gpv_template_error *err);
void gpv_template_list_free(struct gpv_template **list, size_t n);
struct gpv_template *gpv_template_free(struct gpv_template *t);
/* Owned by t. */
const struct gpv_template_info *gpv_template_info(const struct gpv_template *t);

/* What a VM gets of a GPU. */
enum gpv_slice_kind {
	GPV_SLICE_NONE,
	GPV_SLICE_WHOLE, /* every function of a GPU, GPU first, on one guest slot */
	GPV_SLICE_VF,	 /* one SR-IOV virtual function: addrs[0] */
	GPV_SLICE_MDEV,	 /* a mediated device: mdev_uuid of mdev_type */
	GPV_SLICE_VGPU,	 /* an NVIDIA SR-IOV vGPU: the VF addrs[0], holding a vGPU type, which
			  * stays on NVIDIA's driver (a VFIO variant driver) */
};

#define GPV_SLICE_MAX_FUNCTIONS 8

struct gpv_slice {
	enum gpv_slice_kind kind;
	char addrs[GPV_SLICE_MAX_FUNCTIONS][13]; /* host PCI addresses, "dddd:bb:ss.f" */
	size_t n_addrs;
	char mdev_uuid[37];
	const char *mdev_type; /* "i915-GVTg_V5_4"; for the nodedev XML */
	char mdev_parent[13];  /* the parent's PCI address; for the nodedev XML */
	bool mdev_display;     /* the type has a display (mdev sysfs 'display' capability) */
	uint16_t vendor, device, subsystem_vendor; /* of the GPU, for the quirks */
	bool geforce_like;			   /* an NVIDIA consumer card (Code 43) */
};

struct gpv_domain_spec {
	const char *name;
	unsigned long long memory_bytes; /* 0: the template's default */
	unsigned vcpus;			 /* 0: the template's default */
	unsigned long long disk_bytes;	 /* for whoever creates the volume; not in the XML */
	/* The system disk: an absolute file or block device path, or "POOL/VOLUME"; NULL: none. */
	const char *disk;
	/* Its <driver type>, "qcow2" or "raw", for an image that is not the template's kind (an
	 * imported one); NULL: the template's (raw for a block device). */
	const char *disk_format;
	/* Direct kernel boot: the firmware loads kernel (an absolute path) with initrd (absolute,
	 * or NULL) and cmdline (or NULL) instead of booting a disk. NULL: none; initrd or
	 * cmdline without a kernel is -EINVAL. */
	const char *kernel, *initrd, *cmdline;
	/* An absolute file the first serial port's output is logged to (<log file=...>), kept
	 * after the domain stops; NULL: none. */
	const char *serial_log;
	const char *iso;	/* installer ISO, or NULL */
	const char *virtio_iso; /* virtio-win drivers ISO, or NULL */
	const char *seed_iso;	/* autounattend or cloud-init seed ISO, or NULL */
	const char *network;	/* libvirt network name; "none": no interface; NULL: the template's */
	bool looking_glass;
	unsigned lg_width, lg_height; /* 0: 1920x1080 */
	bool kvm; /* false: TCG (type='qemu'), without host-passthrough and KVM-only features */
	struct gpv_slice slice;
};

/* The IVSHMEM size Looking Glass needs for a resolution, in MiB: width*height*4*2 bytes, plus
 * 10 MiB, rounded up to a power of two (1920x1080: 32). */
unsigned long long gpv_looking_glass_mib(unsigned width, unsigned height);

/*
 * The domain XML for spec from template t, with the quirks of quirks.ids applied. -EINVAL
 * when the spec is inconsistent (no name, a slice without addresses, an address or UUID
 * that is not one), -errno otherwise. On success the caller frees *ret_xml.
 */
int gpv_domain_build(
	const struct gpv_template *t, const struct gpv_domain_spec *spec, char **ret_xml);

/* The nodedev XML that defines slice's mediated device (virNodeDeviceDefineXML()). -EINVAL
 * when slice is not an mdev with a type, a UUID and a parent. The caller frees *ret_xml. */
int gpv_nodedev_build(const struct gpv_slice *slice, char **ret_xml);
