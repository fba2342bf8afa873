/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/root.h"
#include "probes/precheck.h"

/*
 * Binding a GPU to vfio-pci and giving it back, the way libvirt does it (virpci.c): set
 * driver_override, unbind from the current driver, ask the kernel to reprobe, check the
 * driver link. Every change is planned first; a journal under /run/gpupv names every device
 * and the driver it had before any change is made, so that a failure, or a crash at any
 * point, can put each device back.
 */

/* A device that moves to vfio-pci, and what it had before. */
struct gpv_bind_dev {
	char addr[13];
	int group;
	char *orig_driver;   /* NULL: it had none */
	char *orig_override; /* NULL: none was set */
};

enum gpv_binding_state { GPV_BINDING_BINDING, GPV_BINDING_BOUND, GPV_BINDING_UNBINDING };
const char *gpv_binding_state_str(enum gpv_binding_state s);

/* One GPU gpupv manages: the journal /run/gpupv/bindings/ADDR. */
struct gpv_binding {
	char gpu[13];
	enum gpv_binding_state state;
	long long since; /* seconds since the epoch */
	struct gpv_bind_dev *devs;
	size_t n_devs;
	char *orig_reset; /* the GPU's reset_method before gpupv chose device_specific, or NULL */
	bool persistent; /* not in the file: a copy is kept under /var/lib/gpupv */
	bool this_boot;  /* not in the file: a journal of this boot exists under /run/gpupv */
};

void gpv_binding_clear(struct gpv_binding *b);
/* The journal's text form, and its parser (-EINVAL with a line number on bad input). */
int gpv_binding_format(const struct gpv_binding *b, char **ret);
int gpv_binding_parse(const char *text, struct gpv_binding *ret, int *ret_line);

/* Every journal under /run/gpupv/bindings, sorted by GPU. Caller frees with _free_all. */
int gpv_bindings_load(struct gpv_root *root, struct gpv_binding **ret, size_t *ret_n);
void gpv_bindings_free(struct gpv_binding *b, size_t n);

/* One step of a plan, for --dry-run and --json. */
enum gpv_step_kind {
	GPV_STEP_LOAD_MODULE, /* value: module name */
	GPV_STEP_JOURNAL,     /* path: journal file, value: state */
	GPV_STEP_WRITE,       /* path, value */
	GPV_STEP_WAIT_DRIVER, /* addr, value: driver (NULL: none) */
	GPV_STEP_WAIT_VFIO,   /* group: /dev/vfio/GROUP appears */
	GPV_STEP_CHECK_VIABLE,/* group */
	GPV_STEP_REMOVE_JOURNAL,
	GPV_STEP_PERSIST,   /* value "add" or "remove": the binding survives reboots, or not */
};
const char *gpv_step_kind_str(enum gpv_step_kind k);

struct gpv_step {
	enum gpv_step_kind kind;
	char *path;
	char *value;
	char addr[13];
	int group;
};

struct gpv_plan {
	struct gpv_binding binding;
	struct gpv_step *steps;
	size_t n_steps;
	gpv_strv warnings;
	bool rollback; /* a failure puts every device back (bind); else the journal stays */
	bool nothing_to_do; /* everything is where the command would put it */
	size_t fail_at; /* tests: step fail_at (1-based) fails with EIO instead of running */
	/* Set by gpv_plan_apply() on failure: */
	bool rolled_back;     /* every device is back where it was, the journal gone */
	char *failure_detail; /* what the kernel said, when there is more to say */
};

struct gpv_plan *gpv_plan_free(struct gpv_plan *plan);

/* Why a command cannot go on: what and how to get past it. */
struct gpv_refusal {
	const char *code;
	char *message;
	char *fix;
};
void gpv_refusal_clear(struct gpv_refusal *r);

enum {
	GPV_BIND_FORCE = 1 << 0,   /* take the host's only display */
	GPV_BIND_PERSIST = 1 << 1, /* keep the binding across reboots */
	GPV_BIND_VF = 1 << 2,	   /* addr may be an SR-IOV VF: bound alone, its PF left as it
				    * is (deploy, for a VF slice); journaled like a GPU */
};

/*
 * Persistence: /var/lib/gpupv/bindings/ADDR holds a copy of a bound journal, and from all of
 * them gpupv writes two files it owns: /etc/udev/rules.d/61-gpupv.rules sets driver_override
 * to vfio-pci as each device appears, and /etc/modprobe.d/gpupv.conf makes vfio-pci load
 * before the devices' own drivers (softdep). Returns whether the GPU is persistent.
 */
bool gpv_binding_persistent(struct gpv_root *root, const char *gpu);
/* Rewrites the two files from the persisted bindings (removing them when there are none). */
int gpv_persist_sync(struct gpv_root *root);

/*
 * Plans the bind of the GPU at addr (normalised "0000:01:00.0") and of everything that must
 * move with it. Returns 0 and a plan (empty of writes when everything is on vfio-pci
 * already), or a negative errno with *refusal filled: -ENODEV no such GPU, -EBUSY a device
 * the host uses, -EPERM the host's only display, -EOPNOTSUPP a VF or a BMC display, -EEXIST
 * an unfinished journal. p may come from gpv_precheck_run() with GPV_PRECHECK_DEVICES: the
 * host checks are added to it when a refusal needs them. A VF is refused unless flags has
 * GPV_BIND_VF.
 */
int gpv_bind_plan(struct gpv_root *root, struct gpv_precheck *p, const char *addr,
	unsigned flags, struct gpv_plan **ret, struct gpv_refusal *refusal);

/* Plans giving the GPU's devices back to their original drivers, from its journal (or, after
 * a reboot, from its persisted copy); with GPV_BIND_PERSIST it also stops persisting. */
int gpv_unbind_plan(struct gpv_root *root, const char *addr, unsigned flags,
	struct gpv_plan **ret, struct gpv_refusal *refusal);

/* Carries a plan out. On failure, every device already changed is put back and the journal
 * removed; *ret_failed (may be NULL) says which step failed. */
int gpv_plan_apply(struct gpv_root *root, struct gpv_plan *plan, size_t *ret_failed);

/* Puts back every device of every unfinished journal (after a crash or a kill). Returns the
 * number of journals recovered. */
int gpv_recover(struct gpv_root *root, gpv_strv *log);

/*
 * One gpupv changes the host at a time: an exclusive lock on /run/gpupv/lock inside the
 * root, holding the owner's pid. Without wait, a held lock gives -EBUSY and its holder's
 * pid in *ret_holder. Returns the lock's fd; closing it releases the lock.
 */
int gpv_bind_lock(struct gpv_root *root, bool wait, long *ret_holder);
