/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"
#include "probes/precheck.h"

/*
 * The share allocator: every way this host can give a VM a slice of a GPU, and which slice a
 * request for P percent of one GPU gets.
 *
 * An inventory is a plain array of GPUs, each with its slice options. It is built from what
 * precheck found (gpv_share_inventory_new()), or directly (gpv_share_inventory_add_gpu() and
 * the add_* helpers), which is how the tests and bench/plan make 1,000 synthetic GPUs.
 * gpv_share_allocate() picks a slice and records it in the inventory, so that each request
 * sees what the earlier ones took. Nothing here changes the host.
 */

enum gpv_share_kind { GPV_SHARE_WHOLE, GPV_SHARE_VF, GPV_SHARE_MDEV, GPV_SHARE_VGPU };
const char *gpv_share_kind_str(enum gpv_share_kind k);

/* Rules from probes/data/share-rules.ids, per type. */
enum {
	GPV_SHARE_ONE_TYPE = 1 << 0, /* once used on a GPU, the only type there */
	GPV_SHARE_POOL = 1 << 1,     /* all such types draw on one pool of the GPU */
};

/* An mdev type, or an NVIDIA SR-IOV vGPU type. */
struct gpv_share_type {
	char *id;	  /* mdev type id ("i915-GVTg_V5_4"), or the vGPU type number ("557") */
	char *name;	  /* "NVIDIA A100-4C"; NULL when none */
	double percent;	  /* of the GPU an instance gets */
	long available;	  /* mdev: available_instances when read; vGPU: instances of the type
			   * that fit the GPU (100 / percent) */
	long in_use;	  /* instances that existed when read */
	unsigned rules;	  /* GPV_SHARE_* */
	long taken;	  /* instances handed out by gpv_share_allocate() */
};

struct gpv_share_gpu {
	char addr[13];
	char *blocked; /* why the GPU offers nothing (precheck verdict, BMC); NULL if it offers */
	/* SR-IOV. vfs_enabled 0: sriov_numvfs can still be chosen (1 .. vfs_total). */
	int vfs_total, vfs_enabled;
	gpv_strv free_vfs; /* enabled VFs with no driver or the PF's: not given to a VM */
	int vfs_assigned;  /* enabled VFs bound to another driver (vfio-pci): in use */
	struct gpv_share_type *mdev;
	size_t n_mdev;
	struct gpv_share_type *vgpu; /* on VFs; plain VFs are not offered when there are any */
	size_t n_vgpu;

	/* State, kept by gpv_share_allocate(). */
	bool whole_taken;
	int part_kind;	  /* the gpv_share_kind the GPU is partitioned by; -1 none */
	int locked_mdev;  /* a one-type mdev type in use; -1 none */
	int locked_vgpu;  /* a one-type vGPU type in use; -1 none */
	double pool_used; /* fraction of a GPV_SHARE_POOL pool (as it was when read) taken */
	int vfs_chosen;	  /* sriov_numvfs picked for a GPU whose VFs were off; 0 none */
	int vfs_taken;	  /* VFs (plain or for a vGPU) handed out */
};

struct gpv_share_index;

struct gpv_share_inventory {
	struct gpv_share_gpu *gpus;
	size_t n;
	size_t cap;
	struct gpv_share_index *index; /* built on the first allocation */
};

/* An empty inventory. Caller frees *ret with gpv_share_inventory_free(). */
int gpv_share_inventory_new_empty(struct gpv_share_inventory **ret);
/* The inventory of what precheck found: every GPU, blocked ones with why. Caller frees. */
int gpv_share_inventory_new(const struct gpv_precheck *p, struct gpv_share_inventory **ret);
struct gpv_share_inventory *gpv_share_inventory_free(struct gpv_share_inventory *inv);

/* Adds a GPU that offers itself whole and nothing else yet; *ret points into inv->gpus and
 * stays valid until the next add. blocked (copied) may be NULL. */
int gpv_share_add_gpu(struct gpv_share_inventory *inv, const char *addr, const char *blocked,
	struct gpv_share_gpu **ret);
/* SR-IOV: total VFs, how many are enabled, and the enabled VFs that are free (addresses,
 * copied; n_free <= enabled), the others counting as assigned. */
int gpv_share_add_vfs(struct gpv_share_gpu *g, int total, int enabled, const char *const *free_vfs,
	size_t n_free);
/* An mdev type; rules come from share-rules.ids by the type's id. */
int gpv_share_add_mdev(struct gpv_share_gpu *g, const char *id, const char *name, double percent,
	long available, long in_use);
/* An NVIDIA SR-IOV vGPU type; rules from share-rules.ids by vendor. */
int gpv_share_add_vgpu(struct gpv_share_gpu *g, unsigned vendor, const char *id, const char *name,
	double percent);

struct gpv_share_result {
	size_t gpu;		   /* index in inv->gpus */
	enum gpv_share_kind kind;
	char *partition; /* mdev/vGPU type id, VF address, "VF to enable: sriov_numvfs N";
			  * "" for a whole GPU */
	double percent;	 /* of the GPU the slice is */
	char *why;	 /* one line */
};
void gpv_share_result_clear(struct gpv_share_result *r);

/*
 * Picks the slice for a request of percent (0 < percent <= 100): the smallest slice at least
 * as large that is free, on a GPU already partitioned if one has it, and records it in inv.
 * Returns 0 and fills *ret (caller clears it), -ENOSPC when nothing fits (see
 * gpv_share_no_fit()), -EINVAL for a bad percent, -ENOMEM.
 */
int gpv_share_allocate(struct gpv_share_inventory *inv, double percent,
	struct gpv_share_result *ret);

/* Why a request of percent cannot be met: the shares this host can give, those still free,
 * and the GPUs that offer nothing. Caller frees *ret. */
int gpv_share_no_fit(struct gpv_share_inventory *inv, double percent, char **ret);

/* Every distinct share this host can give (as read, before any allocation), largest first;
 * caller frees *ret. */
int gpv_share_offered(struct gpv_share_inventory *inv, double **ret, size_t *ret_n);

/* "12.5", "33.33", "100": a percent with at most two decimals; buf of 16 bytes. */
const char *gpv_share_percent_str(double percent, char buf[static 16]);
