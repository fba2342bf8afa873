/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/root.h"
#include "lib/util.h"

struct gpv_virt;

/*
 * A libvirt domain as drivers-sync sees it: its disks (the images to sync into) and the PCI
 * vendors of the GPUs the host gives it (which driver profiles apply), from its XML.
 */
struct gpv_ds_vm {
	char *name;
	gpv_strv disks;	     /* image files or block devices, in the domain's order; no cdroms,
			      * no read-only or shareable disks */
	gpv_strv formats;    /* each disk's format as libvirt gives it to qemu (<driver type>),
			      * "" when the domain does not say */
	unsigned vendors[8]; /* PCI vendor IDs of its GPU hostdevs (PCI, mdev), each once */
	size_t n_vendors;
	gpv_strv gpus;	     /* the hostdevs' host addresses (or mdev UUIDs), for messages */
	bool active;
};

void gpv_ds_vm_clear(struct gpv_ds_vm *vm);

/*
 * Reads a domain's XML (from libvirt: disks of type volume are looked up in their pool) and
 * the vendors of its hostdevs from the host's sysfs through root. -EBADMSG when the XML is not
 * a domain. Caller clears *ret.
 */
int gpv_ds_vm_from_xml(struct gpv_virt *v, struct gpv_root *root, const char *xml,
	struct gpv_ds_vm *ret);
