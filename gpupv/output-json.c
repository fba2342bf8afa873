/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks json-c. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include <fcntl.h>

#include "gpupv/gpupv.h"
#include "lib/vfio.h"
#include "probes/bind.h"

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *jstrv(const gpv_strv *v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < v->n; i++)
		json_object_array_add(a, json_object_new_string(v->v[i]));
	return a;
}

static json_object *jhex4(unsigned v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04x", v & 0xffff);
	return json_object_new_string(buf);
}

/* Two decimals at most, so that 12.5 prints as 12.5 and 100/3 as 33.33. */
static json_object *jpercent(double v)
{
	char buf[32];
	size_t n;

	snprintf(buf, sizeof(buf), "%.2f", round(v * 100) / 100);
	n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return json_object_new_double_s(round(v * 100) / 100, buf);
}

#define add(o, k, v) json_object_object_add((o), (k), (v))

static json_object *host_json(const struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	json_object *o = json_object_new_object(), *io = json_object_new_object(),
		    *cl = json_object_new_object();

	add(o, "cpu_vendor", jstr(gpv_cpu_vendor_str(h->cpu.vendor)));
	add(o, "cpu_model", jstr(h->cpu.model));
	add(o, "virtualization", json_object_new_boolean(h->cpu.vmx || h->cpu.svm));
	add(o, "hypervisor", json_object_new_boolean(h->cpu.hypervisor));
	add(o, "kvm", json_object_new_boolean(h->kvm));
	add(o, "kernel", jstr(h->kernel));
	add(io, "active", json_object_new_boolean(h->iommu_active));
	add(io, "groups", json_object_new_int(h->groups));
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
	json_object *o = json_object_new_object();

	add(o, "id", jstr(t->id));
	add(o, "name", jstr(t->name));
	add(o, "description", jstr(t->description));
	add(o, "available_instances", json_object_new_int64(t->available_instances));
	add(o, "device_api", jstr(t->device_api));
	add(o, "framebuffer_mib",
		t->framebuffer_mib >= 0 ? json_object_new_int64(t->framebuffer_mib) : NULL);
	add(o, "share_percent", t->share_percent >= 0 ? jpercent(t->share_percent) : NULL);
	return o;
}

static json_object *gpu_json(const struct gpv_gpu *g)
{
	const struct gpv_pci_dev *d = g->dev;
	json_object *o = json_object_new_object(), *members = json_object_new_array(),
		    *part = json_object_new_object(), *types = json_object_new_array(),
		    *problems = json_object_new_array();
	char cls[8];

	snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(d));
	add(o, "address", jstr(d->addr));
	add(o, "vendor_id", jhex4(d->vendor));
	add(o, "device_id", jhex4(d->device));
	add(o, "class", jstr(cls));
	add(o, "name", jstr(g->name));
	add(o, "driver", jstr(d->driver));
	add(o, "boot_vga", d->boot_vga >= 0 ? json_object_new_boolean(d->boot_vga) : NULL);
	add(o, "bmc", json_object_new_boolean(g->bmc));
	add(o, "iommu_group", d->iommu_group >= 0 ? json_object_new_int(d->iommu_group) : NULL);
	add(o, "functions", jstrv(&g->functions));
	for (size_t i = 0; i < g->n_members; i++) {
		const struct gpv_member *m = &g->members[i];
		json_object *mo = json_object_new_object();

		snprintf(cls, sizeof(cls), "%04x", gpv_pci_class16(m->dev));
		add(mo, "address", jstr(m->dev->addr));
		add(mo, "group", json_object_new_int(m->group));
		add(mo, "class", jstr(cls));
		add(mo, "role", jstr(gpv_role_str(m->role)));
		add(mo, "driver", jstr(m->dev->driver));
		json_object_array_add(members, mo);
	}
	add(o, "group_members", members);
	add(o, "isolated", json_object_new_boolean(g->isolated));
	add(o, "reset_methods", jstrv(&d->reset_methods));
	add(part, "modes", jstrv(&g->modes));
	add(part, "sriov_total_vfs",
		json_object_new_int(d->sriov_total_vfs > 0 ? d->sriov_total_vfs : 0));
	add(part, "sriov_num_vfs",
		json_object_new_int(d->sriov_num_vfs > 0 ? d->sriov_num_vfs : 0));
	add(part, "vfs", jstrv(&d->vfs));
	for (size_t i = 0; i < d->n_mdev_types; i++)
		json_object_array_add(types, mdev_json(&d->mdev_types[i]));
	add(part, "mdev_types", types);
	add(part, "nvidia_vgpu_types", jstrv(&d->vgpu_types));
	add(o, "partitioning", part);
	add(o, "verdict", jstr(gpv_verdict_str(g->verdict)));
	for (size_t i = 0; i < g->n_problems; i++) {
		const struct gpv_problem *pr = &g->problems[i];
		json_object *po = json_object_new_object();

		add(po, "code", jstr(pr->code));
		add(po, "severity", jstr(gpv_severity_str(pr->severity)));
		add(po, "message", jstr(pr->message));
		add(po, "fix", jstr(pr->fix));
		json_object_array_add(problems, po);
	}
	add(o, "problems", problems);
	if (d->notes.n)
		add(o, "unreadable", jstrv(&d->notes));
	return o;
}

static int emit(FILE *f, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = s && fprintf(f, "%s\n", s) > 0 ? 0 : -EIO;

	json_object_put(o);
	return r;
}

/* Devices that could not be read in full, whatever their class: a broken tree must show. */
static json_object *unreadable_json(const struct gpv_precheck *p)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < p->pci->n; i++) {
		const struct gpv_pci_dev *d = &p->pci->devs[i];
		json_object *o;

		if (!d->notes.n)
			continue;
		o = json_object_new_object();
		add(o, "address", jstr(d->addr));
		add(o, "notes", jstrv(&d->notes));
		json_object_array_add(a, o);
	}
	return a;
}

int gpv_print_precheck_json(FILE *f, const struct gpv_precheck *p)
{
	json_object *o = json_object_new_object(), *checks = json_object_new_array(),
		    *gpus = json_object_new_array();

	if (!o || !checks || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.precheck/1"));
	add(o, "verdict", jstr(gpv_verdict_str(p->verdict)));
	add(o, "host", host_json(p));
	for (size_t i = 0; i < p->n_checks; i++) {
		json_object *c = json_object_new_object();

		add(c, "id", jstr(p->checks[i].id));
		add(c, "status", jstr(gpv_status_str(p->checks[i].status)));
		add(c, "message", jstr(p->checks[i].message));
		add(c, "fix", jstr(p->checks[i].fix));
		json_object_array_add(checks, c);
	}
	add(o, "checks", checks);
	for (size_t i = 0; i < p->n_gpus; i++)
		json_object_array_add(gpus, gpu_json(&p->gpus[i]));
	add(o, "gpus", gpus);
	add(o, "unreadable_devices", unreadable_json(p));
	return emit(f, o);
}

int gpv_print_list_json(FILE *f, const struct gpv_precheck *p)
{
	json_object *o = json_object_new_object(), *gpus = json_object_new_array();

	if (!o || !gpus)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.list/1"));
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct gpv_gpu *g = &p->gpus[i];
		json_object *go = json_object_new_object();

		add(go, "index", json_object_new_int((int)i));
		add(go, "address", jstr(g->dev->addr));
		add(go, "vendor_id", jhex4(g->dev->vendor));
		add(go, "device_id", jhex4(g->dev->device));
		add(go, "name", jstr(g->name));
		add(go, "driver", jstr(g->dev->driver));
		add(go, "iommu_group",
			g->dev->iommu_group >= 0 ? json_object_new_int(g->dev->iommu_group) : NULL);
		add(go, "isolated", json_object_new_boolean(g->isolated));
		add(go, "bmc", json_object_new_boolean(g->bmc));
		add(go, "modes", jstrv(&g->modes));
		add(go, "verdict", jstr(gpv_verdict_str(g->verdict)));
		json_object_array_add(gpus, go);
	}
	add(o, "gpus", gpus);
	return emit(f, o);
}

static json_object *binding_devs_json(const struct gpv_binding *b)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < b->n_devs; i++) {
		json_object *d = json_object_new_object();

		add(d, "address", jstr(b->devs[i].addr));
		add(d, "group", json_object_new_int(b->devs[i].group));
		add(d, "original_driver", jstr(b->devs[i].orig_driver));
		add(d, "original_override", jstr(b->devs[i].orig_override));
		json_object_array_add(a, d);
	}
	return a;
}

int gpv_print_plan_json(FILE *f, const char *command, const char *gpu, const struct gpv_plan *plan,
	bool dry_run, int err, size_t failed_step)
{
	json_object *o = json_object_new_object(), *steps = json_object_new_array();

	if (!o || !steps)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.bind/1"));
	add(o, "command", jstr(command));
	add(o, "gpu", jstr(gpu));
	add(o, "dry_run", json_object_new_boolean(dry_run));
	add(o, "result", jstr(err < 0 ? "failed"
			      : !plan || plan->nothing_to_do   ? "nothing-to-do"
			      : dry_run			       ? "planned"
			      : streq(command, "bind")	       ? "bound"
							       : "unbound"));
	add(o, "devices", plan ? binding_devs_json(&plan->binding) : json_object_new_array());
	for (size_t i = 0; plan && i < plan->n_steps; i++) {
		const struct gpv_step *s = &plan->steps[i];
		json_object *so = json_object_new_object();

		add(so, "action", jstr(gpv_step_kind_str(s->kind)));
		add(so, "path", jstr(s->path));
		add(so, "value", jstr(s->value));
		add(so, "address", s->addr[0] ? jstr(s->addr) : NULL);
		add(so, "group", s->group >= 0 ? json_object_new_int(s->group) : NULL);
		json_object_array_add(steps, so);
	}
	add(o, "steps", steps);
	add(o, "warnings", plan ? jstrv(&plan->warnings) : json_object_new_array());
	if (err < 0) {
		json_object *e = json_object_new_object();

		add(e, "step", json_object_new_int((int)failed_step + 1));
		add(e, "message", jstr(strerror(-err)));
		add(e, "rolled_back", json_object_new_boolean(plan && plan->rolled_back));
		add(e, "detail", jstr(plan ? plan->failure_detail : NULL));
		add(o, "error", e);
	} else {
		add(o, "error", NULL);
	}
	return emit(f, o);
}

int gpv_print_refusal_json(FILE *f, const char *command, const char *gpu,
	const struct gpv_refusal *r)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();

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

int gpv_print_status_json(FILE *f, struct gpv_root *root, const struct gpv_binding *all, size_t n)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	if (!o || !a)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.status/1"));
	for (size_t i = 0; i < n; i++) {
		json_object *b = json_object_new_object(), *devs = binding_devs_json(&all[i]),
			    *groups = json_object_new_array();

		add(b, "gpu", jstr(all[i].gpu));
		add(b, "state", jstr(gpv_binding_state_str(all[i].state)));
		add(b, "since", json_object_new_int64(all[i].since));
		add(b, "persistent", json_object_new_boolean(all[i].persistent));
		add(b, "this_boot", json_object_new_boolean(all[i].this_boot));
		for (size_t j = 0; j < all[i].n_devs; j++) {
			json_object *d = json_object_array_get_idx(devs, j);
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
				json_object *g = json_object_new_object();
				int v = gpv_vfio_group_viable(root, all[i].devs[j].group);

				add(g, "group", json_object_new_int(all[i].devs[j].group));
				add(g, "viable", v >= 0 ? json_object_new_boolean(v) : NULL);
				add(g, "in_use", json_object_new_boolean(v == -EBUSY));
				json_object_array_add(groups, g);
			}
		}
		add(b, "devices", devs);
		add(b, "groups", groups);
		json_object_array_add(a, b);
	}
	add(o, "bindings", a);
	return emit(f, o);
}

int gpv_print_bootcfg_json(FILE *f, const gpv_strv *add, const gpv_strv *remove, bool grub,
	const char *before, const char *after, const char *const *update, bool apply, bool applied)
{
	json_object *o = json_object_new_object(), *g = NULL;

	if (!o)
		return -ENOMEM;
	add(o, "schema", jstr("gpupv.boot-config/1"));
	add(o, "add", jstrv(add));
	add(o, "remove", jstrv(remove));
	if (grub) {
		json_object *cmd = json_object_new_array();

		g = json_object_new_object();
		add(g, "file", jstr("/etc/default/grub"));
		add(g, "before", jstr(before));
		add(g, "after", jstr(after));
		for (size_t i = 0; update && update[i]; i++)
			json_object_array_add(cmd, json_object_new_string(update[i]));
		add(g, "update_command", cmd);
	}
	add(o, "grub", g);
	add(o, "apply", json_object_new_boolean(apply));
	add(o, "applied", json_object_new_boolean(applied));
	return emit(f, o);
}
