/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/util.h"
#include "probes/precheck.h"

/*
 * The kernel command line this host needs for passthrough, from precheck: what to add
 * (intel_iommu=on on Intel, iommu=pt everywhere) and what to take away (parameters that
 * turn the IOMMU off). Both lists are appended to; neither holds what is already right.
 */
int gpv_boot_params(const struct gpv_precheck *p, gpv_strv *add, gpv_strv *remove);

/*
 * Edits the text of /etc/default/grub: in the last GRUB_CMDLINE_LINUX_DEFAULT assignment,
 * drops every word in remove and every word with the same "key=" as one in add, then
 * appends add; without such an assignment, one is appended. Everything else is kept
 * byte for byte. *ret is the new text (caller frees); *changed says whether it differs.
 */
int gpv_grub_edit(const char *text, const gpv_strv *add, const gpv_strv *remove, char **ret,
	bool *changed);
