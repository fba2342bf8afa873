/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/root.h"
#include "lib/util.h"

/* One mediated device type a parent offers (mdev_supported_types/ID). */
struct gpv_mdev_type {
	char *id;
	char *name; /* NULL when the driver gives none (GVT-g) */
	char *description;
	long available_instances;
	long instances; /* mdevs of the type that exist (devices/), -1 unknown */
	char *device_api;
	long framebuffer_mib; /* -1 unknown */
	double share_percent; /* < 0 unknown */
};

/* One PCI function as sysfs shows it. Fields not shown are -1 / NULL. */
struct gpv_pci_dev {
	char addr[13];
	char *syspath; /* canonical path inside the root */
	uint16_t vendor, device;
	uint32_t class; /* 24 bits: base, sub, prog-if */
	bool class_ok;	/* vendor, device and class all parsed */
	int header_type;
	int iommu_group;
	char *driver;
	int boot_vga;
	bool is_vf;
	char physfn[13];
	int sriov_total_vfs, sriov_num_vfs;
	gpv_strv vfs;		/* addresses of virtfnN */
	bool has_reset_method;	/* the kernel exposes reset_method (5.15+) */
	gpv_strv reset_methods; /* from reset_method, else from config space */
	struct gpv_mdev_type *mdev_types;
	size_t n_mdev_types;
	bool nvidia_vgpu;    /* nvidia/creatable_vgpu_types offers a type */
	gpv_strv vgpu_types; /* "557 : NVIDIA A100-4C", from the VF (or, on a PF, its first VF) */
	long vgpu_current;   /* a VF's nvidia/current_vgpu_type: the vGPU type it holds, 0 none;
			      * -1 unknown (not an NVIDIA vGPU VF) */
	gpv_strv notes;	     /* what could not be read, for the report */
};

struct gpv_iommu_group {
	int id;
	gpv_strv members; /* addresses, sorted */
};

struct gpv_pci {
	struct gpv_pci_dev *devs; /* sorted by address */
	size_t n;
	struct gpv_iommu_group *groups; /* sorted by id */
	size_t n_groups;
	bool groups_dir; /* /sys/kernel/iommu_groups exists */
	bool focused;	 /* only the devices around one GPU were read (gpv_pci_scan's focus) */
};

/* Reads every function under /sys/bus/pci/devices and every IOMMU group. A device that
 * cannot be read is kept with what could be read and a note. With focus (a normalised
 * address), only what bears on that GPU is read: the functions of its slot, the other
 * members of their IOMMU groups, and, when it is the boot display, the other display
 * controllers. Caller frees *ret. */
int gpv_pci_scan(struct gpv_root *root, const char *focus, struct gpv_pci **ret);
struct gpv_pci *gpv_pci_free(struct gpv_pci *pci);
/* Frees what one device holds (gpv_pci_free() does it for each). */
void gpv_pci_dev_clear(struct gpv_pci_dev *d);

const struct gpv_pci_dev *gpv_pci_find(const struct gpv_pci *pci, const char *addr);
const struct gpv_iommu_group *gpv_pci_group(const struct gpv_pci *pci, int id);

/* Class helpers. */
static inline uint16_t gpv_pci_class16(const struct gpv_pci_dev *d)
{
	return (uint16_t)(d->class >> 8);
}
bool gpv_pci_is_display(const struct gpv_pci_dev *d);
bool gpv_pci_is_bridge(const struct gpv_pci_dev *d);

/* Reads an mdev type directory; exposed for tests. */
int gpv_mdev_type_read(int typedir, const char *id, struct gpv_mdev_type *ret);
void gpv_mdev_type_clear(struct gpv_mdev_type *t);
