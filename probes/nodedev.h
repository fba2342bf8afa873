/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "probes/pci.h"

/*
 * The PCI functions of a host as libvirt's node device API describes them (the XML of each
 * <device> with a 'pci' capability), for hosts gpupv cannot read itself: a remote URI, or the
 * test driver. What the XML does not say stays unknown (-1 / NULL): boot VGA, the header type
 * (bridges are known by class), reset methods, mdev shares. IOMMU groups come with their
 * members as libvirt lists them, devices or not. Devices of other kinds are skipped.
 * Returns 0 and *ret (caller frees with gpv_pci_free()); -EINVAL for a document that is not
 * XML or a PCI device without a valid address, with *ret_error (may be NULL; caller frees)
 * saying which.
 */
int gpv_pci_from_nodedev(char *const *xmls, size_t n, struct gpv_pci **ret, char **ret_error);

struct gpv_xml_node;
/* The "0000:01:00.1" of a libvirt <address domain='0x0000' bus='0x01' slot='0x00'
 * function='0x1'/> (hex or decimal); -EINVAL when an attribute is missing or out of range. */
int gpv_nodedev_address(struct gpv_xml_node *a, char ret[static 13]);
