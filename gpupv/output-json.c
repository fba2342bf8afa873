/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks json-c. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include <fcntl.h>

#include "gpupv/gpupv.h"
#include "lib/dl.h"
#include "lib/vfio.h"
#include "probes/bind.h"
#include "templates/domain.h"

/* libjson-c is opened on first use (lib/dl.h): only --json needs it. */
static GPV_DL_SYM(json_object_array_add);
static GPV_DL_SYM(json_object_array_get_idx);
static GPV_DL_SYM(json_object_new_array);
static GPV_DL_SYM(json_object_new_boolean);
static GPV_DL_SYM(json_object_new_double_s);
static GPV_DL_SYM(json_object_new_int);
static GPV_DL_SYM(json_object_new_int64);
static GPV_DL_SYM(json_object_new_object);
static GPV_DL_SYM(json_object_new_string);
static GPV_DL_SYM(json_object_object_add);
static GPV_DL_SYM(json_object_put);
static GPV_DL_SYM(json_object_to_json_string_ext);
static int json_state;

static int json_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(json_object_array_add),
		GPV_DL_ENTRY(json_object_array_get_idx),
		GPV_DL_ENTRY(json_object_new_array),
		GPV_DL_ENTRY(json_object_new_boolean),
		GPV_DL_ENTRY(json_object_new_double_s),
		GPV_DL_ENTRY(json_object_new_int),
		GPV_DL_ENTRY(json_object_new_int64),
		GPV_DL_ENTRY(json_object_new_object),
		GPV_DL_ENTRY(json_object_new_string),
		GPV_DL_ENTRY(json_object_object_add),
		GPV_DL_ENTRY(json_object_put),
		GPV_DL_ENTRY(json_object_to_json_string_ext),
	};
	int r = gpv_dl_open(GPV_LIBJSONC_SONAME, syms, ELEMENTSOF(syms), &json_state);

	if (r < 0)
		gpv_error("--json needs %s (Debian package libjson-c5), which cannot be loaded",
			GPV_LIBJSONC_SONAME);
	return r;
}

static json_object *jstr(const char *s)
{
	return s ? sym_json_object_new_string(s) : NULL;
}

static json_object *jstrv(const gpv_strv *v)
{
	json_object *a = sym_json_object_new_array();

	for (size_t i = 0; a && i < v->n; i++)
		sym_json_object_array_add(a, sym_json_object_new_string(v->v[i]));
	return a;
}

static json_object *jhex4(unsigned v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04x", v & 0xffff);
	return sym_json_object_new_string(buf);
}

/* Two decimals at most, so that 12.5 prints as 12.5 and 100/3 as 33.33. */
static json_object *jpercent(double v)
{
	char buf[32];
	size_t n;

	/* Rounded half away from zero, as round() would, without linking libm for it. */
	v = (double)(long long)(v * 100 + (v < 0 ? -0.5 : 0.5)) / 100;
	snprintf(buf, sizeof(buf), "%.2f", v);
	n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return sym_json_object_new_double_s(v, buf);
}

#define add(o, k, v) sym_json_object_object_add((o), (k), (v))

static json_object *host_json(const struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	json_object *o = sym_json_object_new_object(), *io = sym_json_object_new_object(),
		    *cl = sym_json_object_new_object();

	add(o, "cpu_vendor", jstr(gpv_cpu_vendor_str(h->cpu.vendor)));
	add(o, "cpu_model", jstr(h->cpu.model));
	add(o, "virtualization", sym_json_object_new_boolean(h->cpu.vmx || h->cpu.svm));
	add(o, "hypervisor", sym_json_object_new_boolean(h->cpu.hypervisor));
	add(o, "kvm", sym_json_object_new_boolean(h->kvm));
	add(o, "kernel", jstr(h->kernel));
	add(io, "active", sym_json_object_new_boolean(h->iommu_active));
	add(io, "groups", sym_json_object_new_int(h->groups));
	add(io, "firmware_table", jstr(h->firmware_table));
	add(cl, "intel_iommu", jstr(h->cmdline.intel_iommu));
	add(cl, "amd_iommu", jstr(h->cmdline.amd_iommu));
	add(cl, "iommu", jstr(h->cmdline.iommu));
	add(cl, "acs_override", jstr(h->cmdline.acs_override));
	add(cl, "vfio_pci_ids", jstrv(&h->cmdline.vfio_pci_ids));
	add(io, "cmdline", cl);
	add(o, "iommu", io);
	add(o, "bootloader",
		jstr(h->bootloader == GPV_BOOT_GRUB		 ? "grub"
			: h->bootloader == GPV_BOOT_SYSTEMD_BOOT ? "systemd-boot"
								 : NULL));
	return o;
}

static json_object *mdev_json(const struct gpv_mdev_type *t)
{
	json_object *o = sym_json_object_new_object();

	add(o, "id", jstr(t->id));
	add(o, "name", jstr(t->name));
	add(o, "description", jstr(t->description));
	add(o, "available_instances", sym_json_object_new_int64(t->available_instances));
	add(o, "device_api", jstr(t->device_api));
	add(o, "framebuffer_mib",
		t->framebuffer_mib >= 0 ? sym_json_object_new_int64(t->framebuffer_mib) : NULL);
	add(o, "share_percent", t->share_percent >= 0 ? jpercent(t->share_percent) : NULL);
	return o;
}

static json_object *gpu_json(const struct gpv_gpu *g)
{
	const struct gpv_pci_dev *d = g->dev;
	json_object *o = sym_json_object_new_object(), *members = sym_json_object_new_array(),
		    *part = sym_json_object_new_object(), *types = sym_json_object_new_array(),
		    *problems = sym_json_object_new_array();
	char cls[8];

	snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(d));
	add(o, "address", jstr(d->addr));
	add(o, "vendor_id", jhex4(d->vendor));
	add(o, "device_id", jhex4(d->device));
	add(o, "class", jstr(cls));
	add(o, "name", jstr(g->name));
	add(o, "driver", jstr(d->driver));
	add(o, "boot_vga", d->boot_vga >= 0 ? sym_json_object_new_boolean(d->boot_vga) : NULL);
	add(o, "bmc", sym_json_object_new_boolean(g->bmc));
	add(o, "iommu_group", d->iommu_group >= 0 ? sym_json_object_new_int(d->iommu_group) : NULL);
	add(o, "functions", jstrv(&g->functions));
	for (size_t i = 0; i < g->n_members; i++) {
		const struct gpv_member *m = &g->members[i];
		json_object *mo = sym_json_object_new_object();

		snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(m->dev));
		add(mo, "address", jstr(m->dev->addr));
		add(mo, "group", sym_json_object_new_int(m->group));
		add(mo, "class", jstr(cls));
		add(mo, "role", jstr(gpv_role_str(m->role)));
		add(mo, "driver", jstr(m->dev->driver));
		sym_json_object_array_add(members, mo);
	}
	add(o, "group_members", members);
	add(o, "isolated", sym_json_object_new_boolean(g->isolated));
	add(o, "reset_methods", jstrv(&d->reset_methods));
	add(part, "modes", jstrv(&g->modes));
	add(part, "sriov_total_vfs",
		sym_json_object_new_int(d->sriov_total_vfs > 0 ? d->sriov_total_vfs : 0));
	add(part, "sriov_num_vfs",
		sym_json_object_new_int(d->sriov_num_vfs > 0 ? d->sriov_num_vfs : 0));
	add(part, "vfs", jstrv(&d->vfs));
	for (size_t i = 0; i < d->n_mdev_types; i++)
		sym_json_object_array_add(types, mdev_json(&d->mdev_types[i]));
	add(part, "mdev_types", types);
	add(part, "nvidia_vgpu_types", jstrv(&d->vgpu_types));
	add(o, "partitioning", part);
	add(o, "verdict", jstr(gpv_verdict_str(g->verdict)));
	for (size_t i = 0; i < g->n_problems; i++) {
		const struct gpv_problem *pr = &g->problems[i];
		json_object *po = sym_json_object_new_object();

		add(po, "code", jstr(pr->code));
		add(po, "severity", jstr(gpv_severity_str(pr->severity)));
		add(po, "message", jstr(pr->message));
		add(po, "fix", jstr(pr->fix));
		sym_json_object_array_add(problems, po);
	}
	add(o, "problems", problems);
	if (d->notes.n)
		add(o, "unreadable", jstrv(&d->notes));
	return o;
}

static int emit(FILE *f, json_object *o)
{
	const char *s = sym_json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = s && fprintf(f, "%s\n", s) > 0 ? 0 : -EIO;

	sym_json_object_put(o);
	return r;
}

/* Devices that could not be read in full, whatever their class: a broken tree must show. */
static json_object *unreadable_json(const struct gpv_precheck *p)
{
	json_object *a = sym_json_object_new_array();

	for (size_t i = 0; i < p->pci->n; i++) {
		const struct gpv_pci_dev *d = &p->pci->devs[i];
		json_object *o;

		if (!d->notes.n)
			continue;
		o = sym_json_object_new_object();
		add(o, "address", jstr(d->addr));
		add(o, "notes", jstrv(&d->notes));
		sym_json_object_array_add(a, o);
	}
	return a;
}

static int print_precheck_json(FILE *f, const struct gpv_precheck *p)
{
	json_object *o = sym_json_object_new_object(), *checks = sym_json_object_new_array(),
		    *gpus = sym_json_object_new_array();

	if (!o || !checks || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.precheck/1"));
	add(o, "verdict", jstr(gpv_verdict_str(p->verdict)));
	add(o, "host", host_json(p));
	for (size_t i = 0; i < p->n_checks; i++) {
		json_object *c = sym_json_object_new_object();

		add(c, "id", jstr(p->checks[i].id));
		add(c, "status", jstr(gpv_status_str(p->checks[i].status)));
		add(c, "message", jstr(p->checks[i].message));
		add(c, "fix", jstr(p->checks[i].fix));
		sym_json_object_array_add(checks, c);
	}
	add(o, "checks", checks);
	for (size_t i = 0; i < p->n_gpus; i++)
		sym_json_object_array_add(gpus, gpu_json(&p->gpus[i]));
	add(o, "gpus", gpus);
	add(o, "unreadable_devices", unreadable_json(p));
	return emit(f, o);
}

static int print_list_json(FILE *f, const struct gpv_precheck *p)
{
	json_object *o = sym_json_object_new_object(), *gpus = sym_json_object_new_array();

	if (!o || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.list/1"));
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct gpv_gpu *g = &p->gpus[i];
		json_object *go = sym_json_object_new_object();

		add(go, "index", sym_json_object_new_int((int)i));
		add(go, "address", jstr(g->dev->addr));
		add(go, "vendor_id", jhex4(g->dev->vendor));
		add(go, "device_id", jhex4(g->dev->device));
		add(go, "name", jstr(g->name));
		add(go, "driver", jstr(g->dev->driver));
		add(go, "iommu_group",
			g->dev->iommu_group >= 0 ? sym_json_object_new_int(g->dev->iommu_group) : NULL);
		add(go, "isolated", sym_json_object_new_boolean(g->isolated));
		add(go, "bmc", sym_json_object_new_boolean(g->bmc));
		add(go, "modes", jstrv(&g->modes));
		add(go, "verdict", jstr(gpv_verdict_str(g->verdict)));
		sym_json_object_array_add(gpus, go);
	}
	add(o, "gpus", gpus);
	return emit(f, o);
}

static json_object *binding_devs_json(const struct gpv_binding *b)
{
	json_object *a = sym_json_object_new_array();

	for (size_t i = 0; i < b->n_devs; i++) {
		json_object *d = sym_json_object_new_object();

		add(d, "address", jstr(b->devs[i].addr));
		add(d, "group", sym_json_object_new_int(b->devs[i].group));
		add(d, "original_driver", jstr(b->devs[i].orig_driver));
		add(d, "original_override", jstr(b->devs[i].orig_override));
		sym_json_object_array_add(a, d);
	}
	return a;
}

static int print_plan_json(FILE *f, const char *command, const char *gpu, const struct gpv_plan *plan,
	bool dry_run, int err, size_t failed_step)
{
	json_object *o = sym_json_object_new_object(), *steps = sym_json_object_new_array();

	if (!o || !steps)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.bind/1"));
	add(o, "command", jstr(command));
	add(o, "gpu", jstr(gpu));
	add(o, "dry_run", sym_json_object_new_boolean(dry_run));
	add(o, "result", jstr(err < 0 ? "failed"
			      : !plan || plan->nothing_to_do   ? "nothing-to-do"
			      : dry_run			       ? "planned"
			      : streq(command, "bind")	       ? "bound"
							       : "unbound"));
	add(o, "devices", plan ? binding_devs_json(&plan->binding) : sym_json_object_new_array());
	for (size_t i = 0; plan && i < plan->n_steps; i++) {
		const struct gpv_step *s = &plan->steps[i];
		json_object *so = sym_json_object_new_object();

		add(so, "action", jstr(gpv_step_kind_str(s->kind)));
		add(so, "path", jstr(s->path));
		add(so, "value", jstr(s->value));
		add(so, "address", s->addr[0] ? jstr(s->addr) : NULL);
		add(so, "group", s->group >= 0 ? sym_json_object_new_int(s->group) : NULL);
		sym_json_object_array_add(steps, so);
	}
	add(o, "steps", steps);
	add(o, "warnings", plan ? jstrv(&plan->warnings) : sym_json_object_new_array());
	if (err < 0) {
		json_object *e = sym_json_object_new_object();

		add(e, "step", sym_json_object_new_int((int)failed_step + 1));
		add(e, "message", jstr(strerror(-err)));
		add(e, "rolled_back", sym_json_object_new_boolean(plan && plan->rolled_back));
		add(e, "detail", jstr(plan ? plan->failure_detail : NULL));
		add(o, "error", e);
	} else {
		add(o, "error", NULL);
	}
	return emit(f, o);
}

static int print_refusal_json(FILE *f, const char *command, const char *gpu,
	const struct gpv_refusal *r)
{
	json_object *o = sym_json_object_new_object(), *e = sym_json_object_new_object();

	if (!o || !e)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.bind/1"));
	add(o, "command", jstr(command));
	add(o, "gpu", jstr(gpu));
	add(o, "result", jstr("refused"));
	add(e, "code", jstr(r->code));
	add(e, "message", jstr(r->message));
	add(e, "fix", jstr(r->fix));
	add(o, "refusal", e);
	return emit(f, o);
}

static int print_status_json(FILE *f, struct gpv_root *root, const struct gpv_binding *all, size_t n)
{
	json_object *o = sym_json_object_new_object(), *a = sym_json_object_new_array();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.status/1"));
	for (size_t i = 0; i < n; i++) {
		json_object *b = sym_json_object_new_object(), *devs = binding_devs_json(&all[i]),
			    *groups = sym_json_object_new_array();

		add(b, "gpu", jstr(all[i].gpu));
		add(b, "state", jstr(gpv_binding_state_str(all[i].state)));
		add(b, "since", sym_json_object_new_int64(all[i].since));
		add(b, "persistent", sym_json_object_new_boolean(all[i].persistent));
		add(b, "this_boot", sym_json_object_new_boolean(all[i].this_boot));
		for (size_t j = 0; j < all[i].n_devs; j++) {
			json_object *d = sym_json_object_array_get_idx(devs, j);
			_cleanup_close_ int fd = -1;
			_cleanup_free_ char *cur = NULL;
			char path[64];
			bool seen = false;

			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", all[i].devs[j].addr);
			fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
			if (fd >= 0)
				(void)gpv_readlink_base_at(fd, "driver", &cur);
			add(d, "driver", jstr(cur));
			for (size_t k = 0; k < j; k++)
				seen |= all[i].devs[k].group == all[i].devs[j].group;
			if (!seen) {
				json_object *g = sym_json_object_new_object();
				int v = gpv_vfio_group_viable(root, all[i].devs[j].group);

				add(g, "group", sym_json_object_new_int(all[i].devs[j].group));
				add(g, "viable", v >= 0 ? sym_json_object_new_boolean(v) : NULL);
				add(g, "in_use", sym_json_object_new_boolean(v == -EBUSY));
				sym_json_object_array_add(groups, g);
			}
		}
		add(b, "devices", devs);
		add(b, "groups", groups);
		sym_json_object_array_add(a, b);
	}
	add(o, "bindings", a);
	return emit(f, o);
}

static int print_bootcfg_json(FILE *f, const gpv_strv *add, const gpv_strv *remove, bool grub,
	const char *before, const char *after, const char *const *update, bool apply, bool applied)
{
	json_object *o = sym_json_object_new_object(), *g = NULL;

	if (!o)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.boot-config/1"));
	add(o, "add", jstrv(add));
	add(o, "remove", jstrv(remove));
	if (grub) {
		json_object *cmd = sym_json_object_new_array();

		g = sym_json_object_new_object();
		add(g, "file", jstr("/etc/default/grub"));
		add(g, "before", jstr(before));
		add(g, "after", jstr(after));
		for (size_t i = 0; update && update[i]; i++)
			sym_json_object_array_add(cmd, sym_json_object_new_string(update[i]));
		add(g, "update_command", cmd);
	}
	add(o, "grub", g);
	add(o, "apply", sym_json_object_new_boolean(apply));
	add(o, "applied", sym_json_object_new_boolean(applied));
	return emit(f, o);
}

static int print_templates_json(FILE *f, struct gpv_template *const *list, size_t n)
{
	json_object *o = sym_json_object_new_object(), *a = sym_json_object_new_array();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.templates/1"));
	for (size_t i = 0; i < n; i++) {
		const struct gpv_template_info *t = gpv_template_info(list[i]);
		json_object *j = sym_json_object_new_object(), *d = sym_json_object_new_object(),
			    *sets = sym_json_object_new_array();

		add(j, "name", jstr(t->name));
		add(j, "description", jstr(t->description));
		add(j, "os", jstr(t->os == GPV_TEMPLATE_OS_WINDOWS ? "windows" : "linux"));
		add(j, "seed", jstr(t->seed));
		add(j, "path", jstr(t->path));
		add(d, "memory_mib", sym_json_object_new_int64((int64_t)t->memory_mib));
		add(d, "vcpus", sym_json_object_new_int((int)t->vcpus));
		add(d, "disk_gib", sym_json_object_new_int64((int64_t)t->disk_gib));
		add(d, "smt", sym_json_object_new_boolean(t->smt));
		add(j, "defaults", d);
		for (size_t k = 0; t->sets[k]; k++)
			sym_json_object_array_add(sets, sym_json_object_new_string(t->sets[k]));
		add(j, "sets", sets);
		sym_json_object_array_add(a, j);
	}
	add(o, "templates", a);
	return emit(f, o);
}

static int print_share_plan_json(FILE *f, const struct gpv_share_inventory *inv,
	const struct gpv_share_request *v, size_t n, const double *offered, size_t n_offered)
{
	json_object *o = sym_json_object_new_object(), *reqs = sym_json_object_new_array(),
		    *offer = sym_json_object_new_array();
	size_t met = 0;

	if (!o || !reqs || !offer)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.plan/1"));
	for (size_t i = 0; i < n_offered; i++)
		sym_json_object_array_add(offer, jpercent(offered[i]));
	add(o, "offered", offer);
	for (size_t i = 0; i < n; i++) {
		const struct gpv_share_request *q = &v[i];
		json_object *r = sym_json_object_new_object();

		add(r, "index", sym_json_object_new_int64((int64_t)i + 1));
		add(r, "label", jstr(q->label));
		add(r, "share", jpercent(q->share));
		add(r, "met", sym_json_object_new_boolean(q->met));
		if (q->met) {
			met++;
			add(r, "gpu", jstr(inv->gpus[q->result.gpu].addr));
			add(r, "kind", jstr(gpv_share_kind_str(q->result.kind)));
			add(r, "partition", *q->result.partition ? jstr(q->result.partition) : NULL);
			add(r, "share_percent", jpercent(q->result.percent));
			add(r, "why", jstr(q->result.why));
		} else {
			add(r, "why", jstr(q->why_not));
		}
		sym_json_object_array_add(reqs, r);
	}
	add(o, "requests", reqs);
	add(o, "met", sym_json_object_new_int64((int64_t)met));
	add(o, "unmet", sym_json_object_new_int64((int64_t)(n - met)));
	return emit(f, o);
}

static int print_deploy_json(FILE *f, const char *name, const struct gpv_deploy_step_out *steps,
	size_t n, const char *xml, bool dry_run, size_t failed_step)
{
	json_object *o = sym_json_object_new_object(), *a = sym_json_object_new_array();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.deploy/1"));
	add(o, "name", jstr(name));
	add(o, "dry_run", sym_json_object_new_boolean(dry_run));
	for (size_t i = 0; i < n; i++) {
		json_object *j = sym_json_object_new_object();

		add(j, "kind", jstr(steps[i].kind));
		add(j, "what", jstr(steps[i].what));
		add(j, "done", sym_json_object_new_boolean(steps[i].done));
		sym_json_object_array_add(a, j);
	}
	add(o, "steps", a);
	add(o, "ok", sym_json_object_new_boolean(failed_step == 0));
	add(o, "failed_step", failed_step ? sym_json_object_new_int64((int64_t)failed_step) : NULL);
	add(o, "domain_xml", jstr(xml));
	return emit(f, o);
}

/* The entry points: each opens libjson-c first. */

int gpv_print_precheck_json(FILE *f, const struct gpv_precheck *p)
{
	int r = json_open();

	return r < 0 ? r : print_precheck_json(f, p);
}

int gpv_print_list_json(FILE *f, const struct gpv_precheck *p)
{
	int r = json_open();

	return r < 0 ? r : print_list_json(f, p);
}

int gpv_print_plan_json(FILE *f, const char *command, const char *gpu, const struct gpv_plan *plan,
	bool dry_run, int err, size_t failed_step)
{
	int r = json_open();

	return r < 0 ? r : print_plan_json(f, command, gpu, plan, dry_run, err, failed_step);
}

int gpv_print_refusal_json(FILE *f, const char *command, const char *gpu,
	const struct gpv_refusal *refusal)
{
	int r = json_open();

	return r < 0 ? r : print_refusal_json(f, command, gpu, refusal);
}

int gpv_print_status_json(FILE *f, struct gpv_root *root, const struct gpv_binding *all, size_t n)
{
	int r = json_open();

	return r < 0 ? r : print_status_json(f, root, all, n);
}

int gpv_print_bootcfg_json(FILE *f, const gpv_strv *add, const gpv_strv *remove, bool grub,
	const char *before, const char *after, const char *const *update, bool apply, bool applied)
{
	int r = json_open();

	return r < 0 ? r : print_bootcfg_json(f, add, remove, grub, before, after, update, apply, applied);
}

int gpv_print_templates_json(FILE *f, struct gpv_template *const *list, size_t n)
{
	int r = json_open();

	return r < 0 ? r : print_templates_json(f, list, n);
}

int gpv_print_share_plan_json(FILE *f, const struct gpv_share_inventory *inv,
	const struct gpv_share_request *v, size_t n, const double *offered, size_t n_offered)
{
	int r = json_open();

	return r < 0 ? r : print_share_plan_json(f, inv, v, n, offered, n_offered);
}

int gpv_print_deploy_json(FILE *f, const char *name, const struct gpv_deploy_step_out *steps,
	size_t n, const char *xml, bool dry_run, size_t failed_step)
{
	int r = json_open();

	return r < 0 ? r : print_deploy_json(f, name, steps, n, xml, dry_run, failed_step);
}
