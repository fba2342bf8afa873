/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lib/root.h"

/*
 * Asks the kernel whether an IOMMU group is viable for VFIO: opens /dev/vfio/GROUP inside
 * the root and issues VFIO_GROUP_GET_STATUS. Returns 1 viable, 0 not viable, -ENOENT when
 * the group has no VFIO device node (no member is bound to vfio-pci), -EBUSY when another
 * process holds the group open (a running VM), other -errno on error.
 */
int gpv_vfio_group_viable(struct gpv_root *root, int group);
