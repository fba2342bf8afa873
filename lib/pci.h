/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/root.h"
#include "lib/util.h"

/*
 * The one wrapper around libpci: device and class names from pci.ids, and the meaning of
 * config space. libpci's sysfs backend is pointed into the root (sysfs.path=ROOT/sys/bus/pci)
 * so that nothing it reads comes from the live host when a root is given.
 */
struct gpv_pci_names;

/* ids_path NULL means the pci.ids found at build time. Caller frees with _free(). */
int gpv_pci_names_new(struct gpv_root *root, const char *ids_path, struct gpv_pci_names **ret);
struct gpv_pci_names *gpv_pci_names_free(struct gpv_pci_names *names);

/* "Vendor Device" from pci.ids; -ENOENT when the vendor is unknown. Caller frees *ret. */
int gpv_pci_device_name(struct gpv_pci_names *names, uint16_t vendor, uint16_t device, char **ret);
/* Class name ("VGA compatible controller") for a 16-bit base+sub class. Caller frees *ret. */
int gpv_pci_class_name(struct gpv_pci_names *names, uint16_t cls, char **ret);

/*
 * Reset methods a function advertises in its config space, in the kernel's order and with
 * the kernel's names ("flr", "af_flr", "pm"); appended to out. Config shorter than the
 * standard header gives -ENODATA; a capability list that loops or runs off the end stops
 * where it breaks.
 */
int gpv_pci_config_reset_methods(const uint8_t *cfg, size_t len, gpv_strv *out);

/* Header type (0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus) or -ENODATA. */
int gpv_pci_config_header_type(const uint8_t *cfg, size_t len);
