/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --json: every command's result as one JSON document, built through lib/json.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "gpupv/gpupv.h"
#include "lib/json.h"
#include "lib/vfio.h"
#include "probes/bind.h"
#include "templates/domain.h"

static int json_open(void)
{
	int r = gpv_json_open();

	if (r < 0)
		gpv_error("--json needs %s (Debian package libjson-c5), which cannot be loaded",
			GPV_LIBJSONC_SONAME);
	return r;
}

/*
 * Values for the builders below, NULL when out of memory: the member then reads null, as
 * json-c's own constructors had it. A NULL string is a null on purpose.
 */
static struct gpv_json *jobj(void)
{
	struct gpv_json *v = NULL;

	(void)gpv_json_new_object(&v);
	return v;
}

static struct gpv_json *jarr(void)
{
	struct gpv_json *v = NULL;

	(void)gpv_json_new_array(&v);
	return v;
}

static struct gpv_json *jint(int64_t n)
{
	struct gpv_json *v = NULL;

	(void)gpv_json_new_int64(n, &v);
	return v;
}

static struct gpv_json *jbool(bool b)
{
	struct gpv_json *v = NULL;

	(void)gpv_json_new_bool(b, &v);
	return v;
}

static struct gpv_json *jstr(const char *s)
{
	struct gpv_json *v = NULL;

	if (s)
		(void)gpv_json_new_string(s, &v);
	return v;
}

/* Each takes v, freeing it when it cannot be added. */
#define add(o, k, v) (void)gpv_json_add((o), (k), (v))
#define push(a, v) (void)gpv_json_array_append((a), (v))

static struct gpv_json *jstrv(const gpv_strv *v)
{
	struct gpv_json *a = jarr();

	for (size_t i = 0; a && i < v->n; i++)
		push(a, jstr(v->v[i]));
	return a;
}

static struct gpv_json *jhex4(unsigned v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04x", v & 0xffff);
	return jstr(buf);
}

/* Two decimals at most, so that 12.5 prints as 12.5 and 100/3 as 33.33. */
static struct gpv_json *jpercent(double v)
{
	struct gpv_json *j = NULL;
	char buf[32];
	size_t n;

	/* Rounded half away from zero, as round() would, without linking libm for it. */
	v = (double)(long long)(v * 100 + (v < 0 ? -0.5 : 0.5)) / 100;
	snprintf(buf, sizeof(buf), "%.2f", v);
	n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	(void)gpv_json_new_double(v, buf, &j);
	return j;
}

static struct gpv_json *host_json(const struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	struct gpv_json *o = jobj(), *io = jobj(), *cl = jobj();

	add(o, "cpu_vendor", jstr(gpv_cpu_vendor_str(h->cpu.vendor)));
	add(o, "cpu_model", jstr(h->cpu.model));
	add(o, "virtualization", jbool(h->cpu.vmx || h->cpu.svm));
	add(o, "hypervisor", jbool(h->cpu.hypervisor));
	add(o, "kvm", jbool(h->kvm));
	add(o, "kernel", jstr(h->kernel));
	add(io, "active", jbool(h->iommu_active));
	add(io, "groups", jint(h->groups));
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

static struct gpv_json *mdev_json(const struct gpv_mdev_type *t)
{
	struct gpv_json *o = jobj();

	add(o, "id", jstr(t->id));
	add(o, "name", jstr(t->name));
	add(o, "description", jstr(t->description));
	add(o, "available_instances", jint(t->available_instances));
	add(o, "device_api", jstr(t->device_api));
	add(o, "framebuffer_mib", t->framebuffer_mib >= 0 ? jint(t->framebuffer_mib) : NULL);
	add(o, "share_percent", t->share_percent >= 0 ? jpercent(t->share_percent) : NULL);
	return o;
}

static struct gpv_json *gpu_json(const struct gpv_gpu *g)
{
	const struct gpv_pci_dev *d = g->dev;
	struct gpv_json *o = jobj(), *members = jarr(), *part = jobj(), *types = jarr(),
			*problems = jarr();
	char cls[8];

	snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(d));
	add(o, "address", jstr(d->addr));
	add(o, "vendor_id", jhex4(d->vendor));
	add(o, "device_id", jhex4(d->device));
	add(o, "class", jstr(cls));
	add(o, "name", jstr(g->name));
	add(o, "driver", jstr(d->driver));
	add(o, "boot_vga", d->boot_vga >= 0 ? jbool(d->boot_vga) : NULL);
	add(o, "bmc", jbool(g->bmc));
	add(o, "iommu_group", d->iommu_group >= 0 ? jint(d->iommu_group) : NULL);
	add(o, "functions", jstrv(&g->functions));
	for (size_t i = 0; i < g->n_members; i++) {
		const struct gpv_member *m = &g->members[i];
		struct gpv_json *mo = jobj();

		snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(m->dev));
		add(mo, "address", jstr(m->dev->addr));
		add(mo, "group", jint(m->group));
		add(mo, "class", jstr(cls));
		add(mo, "role", jstr(gpv_role_str(m->role)));
		add(mo, "driver", jstr(m->dev->driver));
		push(members, mo);
	}
	add(o, "group_members", members);
	add(o, "isolated", jbool(g->isolated));
	add(o, "reset_methods", jstrv(&d->reset_methods));
	add(part, "modes", jstrv(&g->modes));
	add(part, "sriov_total_vfs", jint(d->sriov_total_vfs > 0 ? d->sriov_total_vfs : 0));
	add(part, "sriov_num_vfs", jint(d->sriov_num_vfs > 0 ? d->sriov_num_vfs : 0));
	add(part, "vfs", jstrv(&d->vfs));
	for (size_t i = 0; i < d->n_mdev_types; i++)
		push(types, mdev_json(&d->mdev_types[i]));
	add(part, "mdev_types", types);
	add(part, "nvidia_vgpu_types", jstrv(&d->vgpu_types));
	add(o, "partitioning", part);
	add(o, "verdict", jstr(gpv_verdict_str(g->verdict)));
	for (size_t i = 0; i < g->n_problems; i++) {
		const struct gpv_problem *pr = &g->problems[i];
		struct gpv_json *po = jobj();

		add(po, "code", jstr(pr->code));
		add(po, "severity", jstr(gpv_severity_str(pr->severity)));
		add(po, "message", jstr(pr->message));
		add(po, "fix", jstr(pr->fix));
		push(problems, po);
	}
	add(o, "problems", problems);
	if (d->notes.n)
		add(o, "unreadable", jstrv(&d->notes));
	return o;
}

static int emit(FILE *f, struct gpv_json *o)
{
	_cleanup_free_ char *s = NULL;
	int r = gpv_json_to_string(o, true, &s);

	gpv_json_free(o);
	if (r < 0)
		return r;
	return fprintf(f, "%s\n", s) > 0 ? 0 : -EIO;
}

/* Devices that could not be read in full, whatever their class: a broken tree must show. */
static struct gpv_json *unreadable_json(const struct gpv_precheck *p)
{
	struct gpv_json *a = jarr();

	for (size_t i = 0; i < p->pci->n; i++) {
		const struct gpv_pci_dev *d = &p->pci->devs[i];
		struct gpv_json *o;

		if (!d->notes.n)
			continue;
		o = jobj();
		add(o, "address", jstr(d->addr));
		add(o, "notes", jstrv(&d->notes));
		push(a, o);
	}
	return a;
}

static int print_precheck_json(FILE *f, const struct gpv_precheck *p)
{
	struct gpv_json *o = jobj(), *checks = jarr(), *gpus = jarr();

	if (!o || !checks || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.precheck/1"));
	add(o, "verdict", jstr(gpv_verdict_str(p->verdict)));
	add(o, "host", host_json(p));
	for (size_t i = 0; i < p->n_checks; i++) {
		struct gpv_json *c = jobj();

		add(c, "id", jstr(p->checks[i].id));
		add(c, "status", jstr(gpv_status_str(p->checks[i].status)));
		add(c, "message", jstr(p->checks[i].message));
		add(c, "fix", jstr(p->checks[i].fix));
		push(checks, c);
	}
	add(o, "checks", checks);
	for (size_t i = 0; i < p->n_gpus; i++)
		push(gpus, gpu_json(&p->gpus[i]));
	add(o, "gpus", gpus);
	add(o, "unreadable_devices", unreadable_json(p));
	return emit(f, o);
}

static int print_list_json(FILE *f, const struct gpv_precheck *p)
{
	struct gpv_json *o = jobj(), *gpus = jarr();

	if (!o || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.list/1"));
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct gpv_gpu *g = &p->gpus[i];
		struct gpv_json *go = jobj();

		add(go, "index", jint((int)i));
		add(go, "address", jstr(g->dev->addr));
		add(go, "vendor_id", jhex4(g->dev->vendor));
		add(go, "device_id", jhex4(g->dev->device));
		add(go, "name", jstr(g->name));
		add(go, "driver", jstr(g->dev->driver));
		add(go, "iommu_group", g->dev->iommu_group >= 0 ? jint(g->dev->iommu_group) : NULL);
		add(go, "isolated", jbool(g->isolated));
		add(go, "bmc", jbool(g->bmc));
		add(go, "modes", jstrv(&g->modes));
		add(go, "verdict", jstr(gpv_verdict_str(g->verdict)));
		push(gpus, go);
	}
	add(o, "gpus", gpus);
	return emit(f, o);
}

static struct gpv_json *binding_devs_json(const struct gpv_binding *b)
{
	struct gpv_json *a = jarr();

	for (size_t i = 0; i < b->n_devs; i++) {
		struct gpv_json *d = jobj();

		add(d, "address", jstr(b->devs[i].addr));
		add(d, "group", jint(b->devs[i].group));
		add(d, "original_driver", jstr(b->devs[i].orig_driver));
		add(d, "original_override", jstr(b->devs[i].orig_override));
		push(a, d);
	}
	return a;
}

static int print_plan_json(FILE *f, const char *command, const char *gpu,
	const struct gpv_plan *plan, bool dry_run, int err, size_t failed_step)
{
	struct gpv_json *o = jobj(), *steps = jarr();

	if (!o || !steps)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.bind/1"));
	add(o, "command", jstr(command));
	add(o, "gpu", jstr(gpu));
	add(o, "dry_run", jbool(dry_run));
	add(o, "result",
		jstr(err < 0			       ? "failed"
			: !plan || plan->nothing_to_do ? "nothing-to-do"
			: dry_run		       ? "planned"
			: streq(command, "bind")       ? "bound"
						       : "unbound"));
	add(o, "devices", plan ? binding_devs_json(&plan->binding) : jarr());
	for (size_t i = 0; plan && i < plan->n_steps; i++) {
		const struct gpv_step *s = &plan->steps[i];
		struct gpv_json *so = jobj();

		add(so, "action", jstr(gpv_step_kind_str(s->kind)));
		add(so, "path", jstr(s->path));
		add(so, "value", jstr(s->value));
		add(so, "address", s->addr[0] ? jstr(s->addr) : NULL);
		add(so, "group", s->group >= 0 ? jint(s->group) : NULL);
		push(steps, so);
	}
	add(o, "steps", steps);
	add(o, "warnings", plan ? jstrv(&plan->warnings) : jarr());
	if (err < 0) {
		struct gpv_json *e = jobj();

		add(e, "step", jint((int)failed_step + 1));
		add(e, "message", jstr(strerror(-err)));
		add(e, "rolled_back", jbool(plan && plan->rolled_back));
		add(e, "detail", jstr(plan ? plan->failure_detail : NULL));
		add(o, "error", e);
	} else {
		add(o, "error", NULL);
	}
	return emit(f, o);
}

static int print_refusal_json(
	FILE *f, const char *command, const char *gpu, const struct gpv_refusal *r)
{
	struct gpv_json *o = jobj(), *e = jobj();

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

static int print_status_json(
	FILE *f, struct gpv_root *root, const struct gpv_binding *all, size_t n)
{
	struct gpv_json *o = jobj(), *a = jarr();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.status/1"));
	for (size_t i = 0; i < n; i++) {
		struct gpv_json *b = jobj(), *devs = binding_devs_json(&all[i]), *groups = jarr();

		add(b, "gpu", jstr(all[i].gpu));
		add(b, "state", jstr(gpv_binding_state_str(all[i].state)));
		add(b, "since", jint(all[i].since));
		add(b, "persistent", jbool(all[i].persistent));
		add(b, "this_boot", jbool(all[i].this_boot));
		for (size_t j = 0; j < all[i].n_devs; j++) {
			struct gpv_json *d = gpv_json_array_get(devs, j);
			_cleanup_close_ int fd = -1;
			_cleanup_free_ char *cur = NULL;
			char path[64];
			bool seen = false;

			snprintf(
				path, sizeof(path), "/sys/bus/pci/devices/%s", all[i].devs[j].addr);
			fd = gpv_root_open(root, path, O_RDONLY | O_DIRECTORY);
			if (fd >= 0)
				(void)gpv_readlink_base_at(fd, "driver", &cur);
			add(d, "driver", jstr(cur));
			for (size_t k = 0; k < j; k++)
				seen |= all[i].devs[k].group == all[i].devs[j].group;
			if (!seen) {
				struct gpv_json *g = jobj();
				int v = gpv_vfio_group_viable(root, all[i].devs[j].group);

				add(g, "group", jint(all[i].devs[j].group));
				add(g, "viable", v >= 0 ? jbool(v) : NULL);
				add(g, "in_use", jbool(v == -EBUSY));
				push(groups, g);
			}
		}
		add(b, "devices", devs);
		add(b, "groups", groups);
		push(a, b);
	}
	add(o, "bindings", a);
	return emit(f, o);
}

static int print_bootcfg_json(FILE *f, const gpv_strv *add, const gpv_strv *remove, bool grub,
	const char *before, const char *after, const char *const *update, bool apply, bool applied)
{
	struct gpv_json *o = jobj(), *g = NULL;

	if (!o)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.boot-config/1"));
	add(o, "add", jstrv(add));
	add(o, "remove", jstrv(remove));
	if (grub) {
		struct gpv_json *cmd = jarr();

		g = jobj();
		add(g, "file", jstr("/etc/default/grub"));
		add(g, "before", jstr(before));
		add(g, "after", jstr(after));
		for (size_t i = 0; update && update[i]; i++)
			push(cmd, jstr(update[i]));
		add(g, "update_command", cmd);
	}
	add(o, "grub", g);
	add(o, "apply", jbool(apply));
	add(o, "applied", jbool(applied));
	return emit(f, o);
}

static int print_templates_json(FILE *f, struct gpv_template *const *list, size_t n)
{
	struct gpv_json *o = jobj(), *a = jarr();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.templates/1"));
	for (size_t i = 0; i < n; i++) {
		const struct gpv_template_info *t = gpv_template_info(list[i]);
		struct gpv_json *j = jobj(), *d = jobj(), *sets = jarr();

		add(j, "name", jstr(t->name));
		add(j, "description", jstr(t->description));
		add(j, "os", jstr(t->os == GPV_TEMPLATE_OS_WINDOWS ? "windows" : "linux"));
		add(j, "seed", jstr(t->seed));
		add(j, "path", jstr(t->path));
		add(d, "memory_mib", jint((int64_t)t->memory_mib));
		add(d, "vcpus", jint((int)t->vcpus));
		add(d, "disk_gib", jint((int64_t)t->disk_gib));
		add(d, "smt", jbool(t->smt));
		add(j, "defaults", d);
		for (size_t k = 0; t->sets[k]; k++)
			push(sets, jstr(t->sets[k]));
		add(j, "sets", sets);
		push(a, j);
	}
	add(o, "templates", a);
	return emit(f, o);
}

static int print_share_plan_json(FILE *f, const struct gpv_share_inventory *inv,
	const struct gpv_share_request *v, size_t n, const double *offered, size_t n_offered)
{
	struct gpv_json *o = jobj(), *reqs = jarr(), *offer = jarr();
	size_t met = 0;

	if (!o || !reqs || !offer)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.plan/1"));
	for (size_t i = 0; i < n_offered; i++)
		push(offer, jpercent(offered[i]));
	add(o, "offered", offer);
	for (size_t i = 0; i < n; i++) {
		const struct gpv_share_request *q = &v[i];
		struct gpv_json *r = jobj();

		add(r, "index", jint((int64_t)i + 1));
		add(r, "label", jstr(q->label));
		add(r, "share", jpercent(q->share));
		add(r, "met", jbool(q->met));
		if (q->met) {
			met++;
			add(r, "gpu", jstr(inv->gpus[q->result.gpu].addr));
			add(r, "kind", jstr(gpv_share_kind_str(q->result.kind)));
			add(r, "partition",
				*q->result.partition ? jstr(q->result.partition) : NULL);
			add(r, "share_percent", jpercent(q->result.percent));
			add(r, "why", jstr(q->result.why));
		} else {
			add(r, "why", jstr(q->why_not));
		}
		push(reqs, r);
	}
	add(o, "requests", reqs);
	add(o, "met", jint((int64_t)met));
	add(o, "unmet", jint((int64_t)(n - met)));
	return emit(f, o);
}

static int print_deploy_json(FILE *f, const char *name, const struct gpv_deploy_step_out *steps,
	size_t n, const char *xml, bool dry_run, size_t failed_step)
{
	struct gpv_json *o = jobj(), *a = jarr();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.deploy/1"));
	add(o, "name", jstr(name));
	add(o, "dry_run", jbool(dry_run));
	for (size_t i = 0; i < n; i++) {
		struct gpv_json *j = jobj();

		add(j, "kind", jstr(steps[i].kind));
		add(j, "what", jstr(steps[i].what));
		add(j, "done", jbool(steps[i].done));
		push(a, j);
	}
	add(o, "steps", a);
	add(o, "ok", jbool(failed_step == 0));
	add(o, "failed_step", failed_step ? jint((int64_t)failed_step) : NULL);
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

int gpv_print_refusal_json(
	FILE *f, const char *command, const char *gpu, const struct gpv_refusal *refusal)
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

	return r < 0 ? r
		     : print_bootcfg_json(
			       f, add, remove, grub, before, after, update, apply, applied);
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
