/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * Pure parsers for the text files precheck reads. Each takes the whole file as a
 * NUL-terminated string, never reads past it, and fills a struct the caller clears.
 */

enum gpv_cpu_vendor {
	GPV_CPU_OTHER,
	GPV_CPU_INTEL,
	GPV_CPU_AMD,
};

struct gpv_cpuinfo {
	enum gpv_cpu_vendor vendor;
	bool vmx, svm, hypervisor;
	char *model; /* first "model name", or NULL */
	unsigned processors;
};

/* -ENODATA when the text has no processor entry at all. */
int gpv_cpuinfo_parse(const char *text, struct gpv_cpuinfo *ret);
void gpv_cpuinfo_clear(struct gpv_cpuinfo *c);
const char *gpv_cpu_vendor_str(enum gpv_cpu_vendor v);

/* The kernel parameters precheck cares about; NULL when absent. The last occurrence wins,
 * as it does in the kernel. */
struct gpv_cmdline {
	char *intel_iommu, *amd_iommu, *iommu, *acs_override;
	gpv_strv vfio_pci_ids; /* "10de:1b80", lower case */
	gpv_strv bad_vfio_ids; /* entries of vfio-pci.ids that are not VVVV:DDDD */
};

int gpv_cmdline_parse(const char *text, struct gpv_cmdline *ret);
void gpv_cmdline_clear(struct gpv_cmdline *c);
/* Whether a comma-separated option value holds word ("on" in "on,sm_on"). */
bool gpv_option_has(const char *value, const char *word);

/* Looks key up in a uevent file ("KEY=value" lines); caller frees *ret; -ENOENT if absent. */
int gpv_uevent_get(const char *text, const char *key, char **ret);

/* An mdev type's description, as the vendor drivers write it. */
struct gpv_mdev_desc {
	long max_instance;    /* NVIDIA "max_instance=N", or -1 */
	long framebuffer_mib; /* NVIDIA "framebuffer=2048M", or -1 */
	long weight;	      /* Intel GVT-g "weight: N", or -1 */
	char *resolution;     /* "max_resolution=" or "resolution:", or NULL */
};

int gpv_mdev_desc_parse(const char *text, struct gpv_mdev_desc *ret);
void gpv_mdev_desc_clear(struct gpv_mdev_desc *d);

/* Looks up (vendor, device) in a vendor data file: lines of "VVVV DDDD[-DDDD] rest", '#'
 * comments. Returns 1 and the rest of the line (caller frees, may be NULL) when found. */
int gpv_ids_lookup(const char *text, uint16_t vendor, uint16_t device, char **ret_rest);
