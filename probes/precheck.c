/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/pci.h"
#include "probes/data.h"
#include "probes/host.h"
#include "probes/precheck.h"

const char *gpv_status_str(enum gpv_status s)
{
	static const char *const names[] = {"pass", "warn", "fail", "skip"};

	return names[s];
}

const char *gpv_severity_str(enum gpv_severity s)
{
	static const char *const names[] = {"info", "warning", "blocker"};

	return names[s];
}

const char *gpv_verdict_str(enum gpv_verdict v)
{
	static const char *const names[] = {"ready", "needs-action", "blocked", "not-a-candidate"};

	return names[v];
}

const char *gpv_role_str(enum gpv_role r)
{
	static const char *const names[] = {"gpu", "function", "bridge", "other"};

	return names[r];
}

int gpv_verdict_exit_code(enum gpv_verdict v)
{
	switch (v) {
	case GPV_READY:
		return 0;
	case GPV_NEEDS_ACTION:
		return 3;
	default:
		return 4;
	}
}

static int add_problem(
	struct gpv_gpu *g, const char *code, enum gpv_severity sev, char *message, char *fix)
{
	struct gpv_problem *np;

	if (!message)
		goto oom;
	np = realloc(g->problems, (g->n_problems + 1) * sizeof(*np));
	if (!np)
		goto oom;
	g->problems = np;
	np[g->n_problems++] = (struct gpv_problem){code, sev, message, fix};
	return 0;
oom:
	free(message);
	free(fix);
	return -ENOMEM;
}

/* Looks the device up in a vendor data file; 1 and the rest of its line when listed. */
static int data_lookup(const char *file, const struct gpv_pci_dev *d, char **rest)
{
	const char *text;
	int r = gpv_data_get(file, &text);

	if (r < 0)
		return r;
	return gpv_ids_lookup(text, d->vendor, d->device, rest);
}

static bool same_slot(const struct gpv_pci_dev *a, const struct gpv_pci_dev *b)
{
	return strncmp(a->addr, b->addr, 10) == 0;
}

/* An HD audio controller (class 0403) at function 1. */
static bool hdmi_audio(const struct gpv_pci_dev *f)
{
	return f->class >> 8 == 0x0403 && f->addr[11] == '1' && f->addr[12] == '\0';
}

static int add_member(struct gpv_gpu *g, const struct gpv_pci_dev *d, int group)
{
	struct gpv_member *nm;
	enum gpv_role role;

	for (size_t i = 0; i < g->n_members; i++)
		if (g->members[i].dev == d)
			return 0;
	if (d == g->dev)
		role = GPV_ROLE_GPU;
	else if (gpv_strv_contains(&g->functions, d->addr))
		role = GPV_ROLE_FUNCTION;
	else if (gpv_pci_is_bridge(d))
		role = GPV_ROLE_BRIDGE;
	else
		role = GPV_ROLE_OTHER;
	nm = realloc(g->members, (g->n_members + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	g->members = nm;
	nm[g->n_members++] = (struct gpv_member){d, group, role};
	return 0;
}

static int add_group_members(struct gpv_gpu *g, const struct gpv_pci *pci, int group)
{
	const struct gpv_iommu_group *grp = gpv_pci_group(pci, group);
	int r;

	if (!grp)
		return 0;
	for (size_t i = 0; i < grp->members.n; i++) {
		const struct gpv_pci_dev *d = gpv_pci_find(pci, grp->members.v[i]);

		/* A group entry with no PCI device behind it is not a PCI function we can
		 * describe; the group listing is still what the kernel enforces. */
		if (!d) {
			gpv_debug("group %d lists %s, which is not under /sys/bus/pci/devices",
				group, grp->members.v[i]);
			continue;
		}
		if ((r = add_member(g, d, group)) < 0)
			return r;
	}
	return 0;
}

/* "0000:02:00.0 (USB controller, xhci_hcd), ..." for the members of a role in a group. */
static char *describe_others(const struct gpv_gpu *g, struct gpv_pci_names *names, int group)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool first = true;

	if (!f)
		return NULL;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct gpv_member *m = &g->members[i];
		_cleanup_free_ char *cls = NULL;

		if (m->group != group || m->role != GPV_ROLE_OTHER)
			continue;
		if (!names || gpv_pci_class_name(names, gpv_pci_class16(m->dev), &cls) < 0)
			cls = gpv_strf("class %04x", gpv_pci_class16(m->dev));
		fprintf(f, "%s'%s' (%s, %s)", first ? "" : ", ", m->dev->addr, cls ? cls : "?",
			m->dev->driver ? m->dev->driver : "no driver");
		first = false;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static bool group_has_other(const struct gpv_gpu *g, int group)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (g->members[i].group == group && g->members[i].role == GPV_ROLE_OTHER)
			return true;
	return false;
}

static int gpu_problems(
	struct gpv_gpu *g, const struct gpv_precheck *p, struct gpv_pci_names *names)
{
	const struct gpv_pci_dev *d = g->dev;
	const struct gpv_host *h = &p->host;
	char *rest = NULL;
	int r;

	if (d->iommu_group < 0) {
		const struct gpv_check *c = gpv_precheck_check(p, "iommu.active");

		r = add_problem(g, "no-iommu-group", GPV_BLOCKER,
			gpv_strf("'%s' is in no IOMMU group: without the IOMMU nothing can be "
				 "passed through",
				d->addr),
			gpv_strf("%s",
				c && c->fix ? c->fix : "turn the IOMMU on (see iommu.active)"));
		if (r < 0)
			return r;
	} else if (!g->isolated) {
		_cleanup_free_ char *others = describe_others(g, names, d->iommu_group);

		if (!others)
			return -ENOMEM;
		r = add_problem(g, "group-shared", GPV_BLOCKER,
			gpv_strf("IOMMU group %d also holds %s: every device of a group must leave "
				 "the host together",
				d->iommu_group, others),
			gpv_strf("move the card to another slot (the CPU-attached x16 slot usually "
				 "has a group of its own); look for an ACS or 'PCIe ARI' option "
				 "in the firmware setup; or, knowing that it weakens isolation, "
				 "add 'pcie_acs_override=downstream,multifunction' (needs a "
				 "kernel with the ACS override patch)"));
		if (r < 0)
			return r;
	}

	if (h->cmdline.acs_override && d->iommu_group >= 0) {
		r = add_problem(g, "acs-override", GPV_WARNING,
			gpv_strf("group %d may only exist because of pcie_acs_override=%s; the "
				 "hardware does not enforce it",
				d->iommu_group, h->cmdline.acs_override),
			gpv_strf("prefer a slot that is isolated without the override"));
		if (r < 0)
			return r;
	}

	if (d->boot_vga == 1) {
		r = add_problem(g, "boot-vga", GPV_WARNING,
			gpv_strf("'%s' is the boot display: the host's firmware and console use "
				 "it, and the host loses its display when it leaves",
				d->addr),
			gpv_strf("connect the monitor to another GPU and make that the primary "
				 "display in the firmware setup, or run the host headless (SSH)"));
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < g->functions.n; i++) {
		const struct gpv_pci_dev *f = gpv_pci_find(p->pci, g->functions.v[i]);

		if (!f || f == d || f->iommu_group == d->iommu_group)
			continue;
		if (f->iommu_group >= 0 && group_has_other(g, f->iommu_group)) {
			_cleanup_free_ char *others = describe_others(g, names, f->iommu_group);

			if (!others)
				return -ENOMEM;
			r = add_problem(g, "function-group-shared", GPV_WARNING,
				gpv_strf("function '%s' of the card is in IOMMU group %d with %s, "
					 "so it must stay with the host",
					f->addr, f->iommu_group, others),
				gpv_strf("pass the GPU without '%s' (the VM loses what it does, "
					 "e.g. HDMI audio), or move the card to another slot",
					f->addr));
		} else {
			r = add_problem(g, "function-in-other-group", GPV_INFO,
				gpv_strf("function '%s' of the card is in its own IOMMU group %d",
					f->addr, f->iommu_group),
				gpv_strf(
					"pass '%s' to the VM as well: its group moves with the GPU",
					f->addr));
		}
		if (r < 0)
			return r;
	}

	r = data_lookup("reset-bugs.ids", d, &rest);
	if (r < 0)
		return r;
	if (r > 0) {
		_cleanup_free_ char *family = rest;
		char *bar = family ? strchr(family, '|') : NULL;
		const char *module = bar ? bar + 1 : "vendor-reset";

		while (*module == ' ')
			module++;
		if (bar) {
			*bar = '\0';
			gpv_strip(family);
		}
		r = add_problem(g, "reset-bug", GPV_WARNING,
			gpv_strf("%s GPUs (%04x:%04x) do not come back from a reset: the VM starts "
				 "once, then the card hangs until the host reboots",
				family ? family : "these", d->vendor, d->device),
			gpv_strf("install %s (https://github.com/gnif/vendor-reset), load it early "
				 "(add it to /etc/modules-load.d/) and set 'device_specific' in "
				 "/sys/bus/pci/devices/%s/reset_method",
				module, d->addr));
		if (r < 0)
			return r;
	}

	if (d->has_reset_method && d->reset_methods.n == 0) {
		r = add_problem(g, "no-reset", GPV_WARNING,
			gpv_strf("the kernel knows no way to reset '%s': after the VM stops, the "
				 "card may keep its state or hang until the host reboots",
				d->addr),
			gpv_strf("use the card for one VM per host boot, or look for a "
				 "device-specific reset (vendor-reset) for it"));
		if (r < 0)
			return r;
	}

	if (d->driver && !streq(d->driver, "vfio-pci")) {
		r = add_problem(g, "driver-in-use", GPV_INFO,
			gpv_strf("'%s' is in use by the host driver '%s'", d->addr, d->driver),
			gpv_strf("stop what uses it; it moves to vfio-pci when it is bound for a "
				 "VM (libvirt does this for a managed hostdev)"));
		if (r < 0)
			return r;
	}
	return 0;
}

static int build_gpu(struct gpv_gpu *g, const struct gpv_precheck *p, const struct gpv_pci_dev *d,
	struct gpv_pci_names *names)
{
	const struct gpv_pci *pci = p->pci;
	int r;

	g->dev = d;
	if (names && d->class_ok)
		(void)gpv_pci_device_name(names, d->vendor, d->device, &g->name);
	r = data_lookup("bmc.ids", d, NULL);
	if (r < 0)
		return r;
	g->bmc = r > 0;

	/* The card's own functions: same slot, same vendor, VFs excluded (an APU's PSP and USB
	 * share the slot under another vendor ID); and the HD audio controller at function 1 of
	 * a display controller's slot whatever its vendor: the card's HDMI/DP audio, which is
	 * function 1 on every discrete card (an APU's own HD audio sits at function 6). */
	for (size_t i = 0; i < pci->n; i++) {
		const struct gpv_pci_dev *f = &pci->devs[i];

		if (same_slot(f, d) && !f->is_vf && f->class_ok &&
			(f->vendor == d->vendor || (hdmi_audio(f) && f != d)) &&
			(r = gpv_strv_push(&g->functions, f->addr)) < 0)
			return r;
	}

	if (d->iommu_group >= 0 && (r = add_group_members(g, pci, d->iommu_group)) < 0)
		return r;
	for (size_t i = 0; i < g->functions.n; i++) {
		const struct gpv_pci_dev *f = gpv_pci_find(pci, g->functions.v[i]);

		if (f && f->iommu_group >= 0 && (r = add_group_members(g, pci, f->iommu_group)) < 0)
			return r;
	}
	g->isolated = d->iommu_group >= 0 && !group_has_other(g, d->iommu_group);

	if (!g->bmc && (r = gpv_strv_push(&g->modes, "passthrough")) < 0)
		return r;
	if (d->sriov_total_vfs > 0 && (r = gpv_strv_push(&g->modes, "sriov")) < 0)
		return r;
	if (d->n_mdev_types > 0 && (r = gpv_strv_push(&g->modes, "mdev")) < 0)
		return r;
	if (d->nvidia_vgpu && (r = gpv_strv_push(&g->modes, "nvidia-vgpu")) < 0)
		return r;

	r = gpu_problems(g, p, names);
	if (r < 0)
		return r;
	if (g->bmc) {
		g->verdict = GPV_NOT_A_CANDIDATE;
		return 0;
	}
	g->verdict = GPV_READY;
	for (size_t i = 0; i < g->n_problems; i++) {
		if (g->problems[i].severity == GPV_BLOCKER)
			g->verdict = GPV_BLOCKED;
		else if (g->problems[i].severity == GPV_WARNING && g->verdict == GPV_READY)
			g->verdict = GPV_NEEDS_ACTION;
	}
	return 0;
}

const struct gpv_check *gpv_precheck_check(const struct gpv_precheck *p, const char *id)
{
	for (size_t i = 0; i < p->n_checks; i++)
		if (streq(p->checks[i].id, id))
			return &p->checks[i];
	return NULL;
}

static int check_gpus(struct gpv_precheck *p)
{
	size_t candidates = 0, bmcs = 0;
	struct gpv_check *c = &p->checks[p->n_checks];

	for (size_t i = 0; i < p->n_gpus; i++) {
		if (p->gpus[i].bmc)
			bmcs++;
		else
			candidates++;
	}
	if (p->n_checks >= GPV_MAX_CHECKS)
		return -ENOMEM;
	c->id = "gpu.found";
	if (candidates > 0) {
		c->status = GPV_PASS;
		c->message = gpv_strf(
			"%zu GPU%s to pass through", candidates, candidates == 1 ? "" : "s");
	} else {
		c->status = GPV_FAIL;
		c->message =
			bmcs ? gpv_strf("no GPU to pass through: the only display adapter%s the "
					"server's management controller (BMC)",
				       bmcs == 1 ? " is" : "s are")
			     : gpv_strf("no GPU to pass through: no PCI display controller (class "
					"03xx) that is not an SR-IOV virtual function");
		c->fix = p->host.cpu.hypervisor ? gpv_strf("this host is a virtual machine: pass a "
							   "GPU through to it from its hypervisor "
							   "first")
						: gpv_strf("install a discrete GPU, or enable the "
							   "integrated one in the firmware setup "
							   "(often 'iGPU Multi-Monitor' or "
							   "'Integrated Graphics: Enabled')");
		if (!c->fix) {
			free(c->message);
			return -ENOMEM;
		}
	}
	if (!c->message)
		return -ENOMEM;
	p->n_checks++;
	return 0;
}

int gpv_precheck_host(struct gpv_root *root, struct gpv_precheck *p)
{
	int r;

	if (p->host_examined)
		return 0;
	r = gpv_host_probe(root, p->pci, &p->host);
	if (r < 0)
		return r;
	p->host_examined = true;
	return gpv_host_checks(root, p);
}

/* The GPUs' analysis over p->pci, and the verdict. */
static int analyse(struct gpv_precheck *p, struct gpv_pci_names *names)
{
	enum gpv_verdict best = GPV_BLOCKED;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < p->pci->n; i++)
		if (gpv_pci_is_display(&p->pci->devs[i]) && !p->pci->devs[i].is_vf)
			n++;
	p->gpus = calloc(n ? n : 1, sizeof(*p->gpus));
	if (!p->gpus) {
		r = -ENOMEM;
		return r;
	}
	for (size_t i = 0; i < p->pci->n; i++) {
		const struct gpv_pci_dev *d = &p->pci->devs[i];

		if (!gpv_pci_is_display(d) || d->is_vf)
			continue;
		r = build_gpu(&p->gpus[p->n_gpus++], p, d, names);
		if (r < 0)
			return r;
	}
	r = check_gpus(p);
	if (r < 0)
		return r;

	for (size_t i = 0; i < p->n_gpus; i++)
		if (p->gpus[i].verdict < best)
			best = p->gpus[i].verdict;
	p->verdict = best;
	for (size_t i = 0; i < p->n_checks; i++)
		if (p->checks[i].status == GPV_FAIL)
			p->verdict = GPV_BLOCKED;
	return 0;
}

int gpv_precheck_run(struct gpv_root *root, struct gpv_pci_names *names, const char *focus,
	struct gpv_precheck **ret)
{
	struct gpv_precheck *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	r = gpv_pci_scan(root, focus, &p->pci);
	if (r < 0)
		goto fail;
	if (!focus) {
		r = gpv_precheck_host(root, p);
		if (r < 0)
			goto fail;
	}

	r = analyse(p, names);
	if (r < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	gpv_precheck_free(p);
	return r;
}

int gpv_precheck_from_pci(struct gpv_pci *pci, struct gpv_pci_names *names,
	struct gpv_precheck **ret)
{
	struct gpv_precheck *p = calloc(1, sizeof(*p));
	int r;

	if (!p) {
		gpv_pci_free(pci);
		return -ENOMEM;
	}
	p->pci = pci;
	r = analyse(p, names);
	if (r < 0) {
		gpv_precheck_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct gpv_precheck *gpv_precheck_free(struct gpv_precheck *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_checks; i++) {
		free(p->checks[i].message);
		free(p->checks[i].fix);
	}
	for (size_t i = 0; i < p->n_gpus; i++) {
		struct gpv_gpu *g = &p->gpus[i];

		free(g->name);
		gpv_strv_clear(&g->functions);
		gpv_strv_clear(&g->modes);
		free(g->members);
		for (size_t j = 0; j < g->n_problems; j++) {
			free(g->problems[j].message);
			free(g->problems[j].fix);
		}
		free(g->problems);
	}
	free(p->gpus);
	gpv_host_clear(&p->host);
	gpv_pci_free(p->pci);
	free(p);
	return NULL;
}
