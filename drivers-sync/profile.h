/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/root.h"
#include "lib/util.h"

/*
 * Vendor profiles: which of the host's files make up a GPU driver (drivers-sync/profiles/,
 * gpupv-drivers-sync(1) "PROFILES"). A profile is data: a person can add one under
 * /etc/gpupv/drivers-sync/NAME.profile, or override a shipped one, without rebuilding gpupv.
 */

enum gpv_ds_rule_kind {
	GPV_DS_RULE_MODULE,	 /* the module's file and its firmware= */
	GPV_DS_RULE_FIRMWARE_OF, /* only the firmware= of a module */
	GPV_DS_RULE_FIRMWARE,	 /* firmware by pattern under /lib/firmware */
	GPV_DS_RULE_LIBRARY,	 /* shared libraries by file name, with their SONAME links */
	GPV_DS_RULE_FILE,	 /* any file; the last component may be a pattern */
};

enum {
	GPV_DS_OPTIONAL = 1 << 0,    /* the host may lack it: not a warning */
	GPV_DS_OUT_OF_TREE = 1 << 1, /* a module: only a DKMS or vendor build (updates/, extra/) */
};

struct gpv_ds_rule {
	enum gpv_ds_rule_kind kind;
	char *arg;
	unsigned flags;
	unsigned line;
};

enum gpv_ds_version_from {
	GPV_DS_VERSION_MODULE, /* version= of a module */
	GPV_DS_VERSION_KERNEL, /* the kernel release */
};

struct gpv_ds_profile {
	char *vendor;	  /* "nvidia" */
	char *title;	  /* may be NULL */
	char *source;	  /* where it was read from, for messages */
	unsigned pci_vendors[8];
	size_t n_pci_vendors;
	enum gpv_ds_version_from version_from;
	char *version_module;
	struct gpv_ds_rule *rules;
	size_t n_rules;
	/* windows-driver HOST GUEST: a host driver version pattern, and the pattern of the
	 * Windows guest driver versions that go with it (drivers-sync/store.h). */
	struct gpv_ds_windows_rule {
		char *host, *guest;
		unsigned line;
	} *windows;
	size_t n_windows;
};

/*
 * Parses a profile's text; source names it in errors. On a bad line returns -EINVAL with
 * *ret_err (caller frees) saying which line and why ("nvidia.profile:12: ..."), and *ret
 * untouched. Caller frees *ret with gpv_ds_profile_free().
 */
int gpv_ds_profile_parse(const char *source, const char *text, struct gpv_ds_profile **ret,
	char **ret_err);
struct gpv_ds_profile *gpv_ds_profile_free(struct gpv_ds_profile *p);

/*
 * Loads the profile of vendor: the root's /etc/gpupv/drivers-sync/VENDOR.profile first, else
 * the shipped one (GPUPV_DATADIR overrides it, as for every data file). -ENOENT when there is
 * none; -EINVAL with *ret_err on a bad one.
 */
int gpv_ds_profile_load(struct gpv_root *root, const char *vendor, struct gpv_ds_profile **ret,
	char **ret_err);

/* The names of every profile there is (shipped and the root's), sorted. Caller clears. */
int gpv_ds_profile_names(struct gpv_root *root, gpv_strv *ret);

/* A vendor name is letters, digits, '-' and '_', at most 32 characters. */
bool gpv_ds_vendor_valid(const char *s);
