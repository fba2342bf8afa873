/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "probes/precheck.h"

/* Reads what the host checks need: cpuinfo, kernel, /dev/kvm, ACPI tables, the command line,
 * the bootloader. Unreadable parts are left unset for the checks to report. */
int gpv_host_probe(struct gpv_root *root, const struct gpv_pci *pci, struct gpv_host *ret);
void gpv_host_clear(struct gpv_host *h);

/* Appends every host check but gpu.found to p->checks. */
int gpv_host_checks(struct gpv_root *root, struct gpv_precheck *p);

/* "add 'PARAMS' to ..." for the host's bootloader; caller frees *ret. */
int gpv_host_param_fix(const struct gpv_host *h, const char *verb, const char *params, char **ret);
