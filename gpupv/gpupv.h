/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "probes/precheck.h"
#include "probes/share.h"

/* Exit codes shared by every command. */
enum {
	GPV_EXIT_OK = 0,
	GPV_EXIT_ERROR = 1,
	GPV_EXIT_USAGE = 2,
	GPV_EXIT_NEEDS_ACTION = 3,
	GPV_EXIT_BLOCKED = 4,
};

struct gpv_opts {
	const char *root;
	bool json;
	bool color;
	int verbose;
	bool dry_run, force, recover, no_wait, apply, persist;
	const char *share, *count, *requests; /* plan; as given, checked by the command */
};

struct gpv_root;
struct gpv_plan;
struct gpv_refusal;
struct gpv_binding;
struct gpv_template;

/* Opens the root and, when ret_p is not NULL, runs precheck over it (gpupv/main.c). Prints
 * its own errors. */
int gpv_open_machine(const struct gpv_opts *o, struct gpv_root **ret_root,
	struct gpv_precheck **ret_p);

/* "gpupv: MESSAGE" on standard error: every command reports its errors so. */
void gpv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs precheck over an open root; prints its own errors. */
/* Examines the machine (see gpv_precheck_run(); focus may be NULL), reporting a failure. */
int gpv_examine(struct gpv_root *root, bool with_names, const char *focus, struct gpv_precheck **ret);

/* Bind's lock (/run/gpupv/lock): waits for another gpupv unless --no-wait, and says whom it
 * waits for; returns the lock's fd, or -errno with the error printed. */
int gpv_take_lock(struct gpv_root *root, const struct gpv_opts *o);

/* Commands that change the host, in gpupv/cmd-bind.c. */
int gpv_cmd_bind(const struct gpv_opts *o, int argc, char **argv);
int gpv_cmd_unbind(const struct gpv_opts *o, int argc, char **argv);
int gpv_cmd_status(const struct gpv_opts *o, int argc, char **argv);
int gpv_cmd_boot_config(const struct gpv_opts *o, int argc, char **argv);

/* The templates and what each sets, in gpupv/cmd-templates.c. */
int gpv_cmd_templates(const struct gpv_opts *o, int argc, char **argv);

/* gpupv plan (gpupv/cmd-plan.c): one share request and what it would get. */
struct gpv_share_request {
	double share;
	char *label; /* NULL when none */
	bool met;
	struct gpv_share_result result; /* when met */
	char *why_not;			/* when not */
};
int gpv_cmd_plan(const struct gpv_opts *o, int argc, char **argv);
int gpv_print_share_plan_json(FILE *f, const struct gpv_share_inventory *inv,
	const struct gpv_share_request *v, size_t n, const double *offered, size_t n_offered);

/* drivers-sync, in gpupv/cmd-drivers-sync.c. */
int gpv_cmd_drivers_sync(const struct gpv_opts *o, int argc, char **argv);
int gpv_cmd_drivers_store(const struct gpv_opts *o, int argc, char **argv);

/* deploy and undeploy, in gpupv/cmd-deploy.c. gpv_undeploy() removes a domain gpupv made
 * and what it made for it (-EPERM: not gpupv's); it prints nothing. */
struct gpv_virt;
int gpv_cmd_deploy(const struct gpv_opts *o, int argc, char **argv);
int gpv_cmd_undeploy(const struct gpv_opts *o, int argc, char **argv);
int gpv_undeploy(struct gpv_virt *v, struct gpv_root *root, const char *name, bool keep_disk);
/* deploy's plan and outcome as JSON (schema gpupv.deploy/1): failed_step 0 when none. */
struct gpv_deploy_step_out {
	const char *kind, *what;
	bool done;
};
int gpv_print_deploy_json(FILE *f, const char *name, const struct gpv_deploy_step_out *steps,
	size_t n, const char *xml, bool dry_run, size_t failed_step);

/* Output, in gpupv/output-text.c and gpupv/output-json.c (JSON through lib/json.c). */
void gpv_print_precheck_text(FILE *f, const struct gpv_precheck *p, bool color);
int gpv_print_precheck_json(FILE *f, const struct gpv_precheck *p);
void gpv_print_list_text(FILE *f, const struct gpv_precheck *p, bool color);
int gpv_print_list_json(FILE *f, const struct gpv_precheck *p);
int gpv_print_plan_json(FILE *f, const char *command, const char *gpu, const struct gpv_plan *plan,
	bool dry_run, int err, size_t failed_step);
int gpv_print_refusal_json(FILE *f, const char *command, const char *gpu,
	const struct gpv_refusal *r);
int gpv_print_status_json(FILE *f, struct gpv_root *root, const struct gpv_binding *all, size_t n);
int gpv_print_bootcfg_json(FILE *f, const gpv_strv *add, const gpv_strv *remove, bool grub,
	const char *before, const char *after, const char *const *update, bool apply, bool applied);
int gpv_print_templates_json(FILE *f, struct gpv_template *const *list, size_t n);
