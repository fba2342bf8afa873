/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "lib/root.h"
#include "lib/util.h"
#include "probes/parse.h"
#include "probes/pci.h"

/*
 * What precheck found: the host checks, every GPU with its group and partitioning, and the
 * verdicts. Pure data: the front end decides how to print it.
 */
enum gpv_status { GPV_PASS, GPV_WARN, GPV_FAIL, GPV_SKIP };
enum gpv_severity { GPV_INFO, GPV_WARNING, GPV_BLOCKER };
/* Ordered best first. */
enum gpv_verdict { GPV_READY, GPV_NEEDS_ACTION, GPV_BLOCKED, GPV_NOT_A_CANDIDATE };

const char *gpv_status_str(enum gpv_status s);
const char *gpv_severity_str(enum gpv_severity s);
const char *gpv_verdict_str(enum gpv_verdict v);

struct gpv_check {
	const char *id;
	enum gpv_status status;
	char *message;
	char *fix; /* NULL on pass */
};

struct gpv_problem {
	const char *code;
	enum gpv_severity severity;
	char *message;
	char *fix;
};

enum gpv_role { GPV_ROLE_GPU, GPV_ROLE_FUNCTION, GPV_ROLE_BRIDGE, GPV_ROLE_OTHER };
const char *gpv_role_str(enum gpv_role r);

struct gpv_member {
	const struct gpv_pci_dev *dev;
	int group;
	enum gpv_role role;
};

struct gpv_gpu {
	const struct gpv_pci_dev *dev;
	char *name; /* from pci.ids, NULL when unknown */
	bool bmc;
	gpv_strv functions;
	struct gpv_member *members;
	size_t n_members;
	bool isolated;
	gpv_strv modes;
	enum gpv_verdict verdict;
	struct gpv_problem *problems;
	size_t n_problems;
};

enum gpv_bootloader { GPV_BOOT_UNKNOWN, GPV_BOOT_GRUB, GPV_BOOT_SYSTEMD_BOOT };

struct gpv_host {
	struct gpv_cpuinfo cpu;
	bool cpu_ok;
	bool kvm;
	char *kernel;
	bool iommu_active;
	int groups;
	const char *firmware_table; /* "DMAR", "IVRS" or NULL */
	struct gpv_cmdline cmdline;
	bool cmdline_ok;
	enum gpv_bootloader bootloader;
};

#define GPV_MAX_CHECKS 12

struct gpv_precheck {
	struct gpv_host host;
	struct gpv_check checks[GPV_MAX_CHECKS];
	size_t n_checks;
	struct gpv_pci *pci;
	struct gpv_gpu *gpus;
	size_t n_gpus;
	enum gpv_verdict verdict;
	bool host_examined; /* host and the host checks filled in */
};

struct gpv_pci_names;

/*
 * Runs every check against the machine in root. names may be NULL (no device names). With
 * focus (a normalised address), it examines only what bears on that GPU (see gpv_pci_scan())
 * and leaves the host checks out: p->gpus then holds that GPU, and the other display
 * controllers only when it is the boot display. Caller frees *ret with gpv_precheck_free().
 */
int gpv_precheck_run(struct gpv_root *root, struct gpv_pci_names *names, const char *focus,
	struct gpv_precheck **ret);
/* The GPUs' analysis of devices read elsewhere (libvirt's node devices: probes/nodedev.h),
 * without host checks. Takes pci (freed on failure too). Caller frees *ret. */
int gpv_precheck_from_pci(struct gpv_pci *pci, struct gpv_pci_names *names,
	struct gpv_precheck **ret);
/* Probes the host and adds its checks, if gpv_precheck_run() left them out. */
int gpv_precheck_host(struct gpv_root *root, struct gpv_precheck *p);
struct gpv_precheck *gpv_precheck_free(struct gpv_precheck *p);

const struct gpv_check *gpv_precheck_check(const struct gpv_precheck *p, const char *id);

/* Exit status for a verdict: 0 ready, 3 needs-action, 4 blocked. */
int gpv_verdict_exit_code(enum gpv_verdict v);
