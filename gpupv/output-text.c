/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gpupv/gpupv.h"

#define RED "\033[1;31m"
#define YELLOW "\033[1;33m"
#define GREEN "\033[1;32m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *col(bool color, const char *c)
{
	return color ? c : "";
}

static const char *status_color(enum gpv_status s)
{
	return s == GPV_PASS ? GREEN : s == GPV_WARN ? YELLOW : s == GPV_FAIL ? RED : DIM;
}

static const char *verdict_color(enum gpv_verdict v)
{
	return v == GPV_READY	       ? GREEN
	       : v == GPV_NEEDS_ACTION ? YELLOW
	       : v == GPV_BLOCKED      ? RED
				       : DIM;
}

static const char *severity_color(enum gpv_severity s)
{
	return s == GPV_BLOCKER ? RED : s == GPV_WARNING ? YELLOW : DIM;
}

static void print_strv(FILE *f, const gpv_strv *v, const char *none)
{
	if (v->n == 0)
		fputs(none, f);
	for (size_t i = 0; i < v->n; i++)
		fprintf(f, "%s%s", i ? " " : "", v->v[i]);
	fputc('\n', f);
}

static void print_gpu(FILE *f, const struct gpv_gpu *g, bool color)
{
	const struct gpv_pci_dev *d = g->dev;

	fprintf(f, "\n%sGPU %s%s  %s [%04x:%04x]\n", col(color, BOLD), d->addr, col(color, RESET),
		g->name ? g->name : "(unknown device)", d->vendor, d->device);
	fprintf(f, "  verdict       %s%s%s%s\n", col(color, verdict_color(g->verdict)),
		gpv_verdict_str(g->verdict), col(color, RESET),
		g->bmc ? " (display of the server's management controller)" : "");
	fprintf(f, "  class         %04x\n", gpv_pci_class16(d));
	fprintf(f, "  driver        %s\n", d->driver ? d->driver : "(none)");
	fprintf(f, "  boot display  %s\n",
		d->boot_vga < 0 ? "unknown"
		: d->boot_vga	? "yes"
				: "no");
	if (d->iommu_group >= 0)
		fprintf(f, "  IOMMU group   %d (%s)\n", d->iommu_group,
			g->isolated ? "isolated" : "shared with the host");
	else
		fprintf(f, "  IOMMU group   none\n");
	fprintf(f, "  functions     ");
	print_strv(f, &g->functions, "(none)");
	fprintf(f, "  reset         ");
	print_strv(f, &d->reset_methods, d->has_reset_method ? "none" : "unknown");
	fprintf(f, "  partitioning  ");
	print_strv(f, &g->modes, "none");
	if (d->sriov_total_vfs > 0)
		fprintf(f, "  SR-IOV        %d of %d VFs enabled\n",
			d->sriov_num_vfs > 0 ? d->sriov_num_vfs : 0, d->sriov_total_vfs);
	for (size_t i = 0; i < d->n_mdev_types; i++) {
		const struct gpv_mdev_type *t = &d->mdev_types[i];

		fprintf(f, "  mdev type     %s%s%s%s: %ld available", t->id, t->name ? " (" : "",
			t->name ? t->name : "", t->name ? ")" : "", t->available_instances);
		if (t->share_percent >= 0)
			fprintf(f, ", %.4g%% of the GPU each", t->share_percent);
		if (t->framebuffer_mib >= 0)
			fprintf(f, ", %ld MiB", t->framebuffer_mib);
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->vgpu_types.n; i++)
		fprintf(f, "  vGPU type     %s (NVIDIA SR-IOV vGPU, creatable now)\n",
			d->vgpu_types.v[i]);
	if (g->n_members) {
		fprintf(f, "  group members\n");
		for (size_t i = 0; i < g->n_members; i++) {
			const struct gpv_member *m = &g->members[i];

			fprintf(f, "    %-4d %s  %04x  %-9s %s\n", m->group, m->dev->addr,
				gpv_pci_class16(m->dev), gpv_role_str(m->role),
				m->dev->driver ? m->dev->driver : "-");
		}
	}
	if (g->n_problems)
		fprintf(f, "  problems\n");
	for (size_t i = 0; i < g->n_problems; i++) {
		const struct gpv_problem *p = &g->problems[i];

		fprintf(f, "    %s%-7s%s %s: %s\n", col(color, severity_color(p->severity)),
			gpv_severity_str(p->severity), col(color, RESET), p->code, p->message);
		if (p->fix)
			fprintf(f, "            fix: %s\n", p->fix);
	}
}

void gpv_print_precheck_text(FILE *f, const struct gpv_precheck *p, bool color)
{
	const struct gpv_host *h = &p->host;

	fprintf(f, "%sHost%s  %s CPU%s%s, kernel %s\n", col(color, BOLD), col(color, RESET),
		gpv_cpu_vendor_str(h->cpu.vendor), h->cpu.model ? " " : "",
		h->cpu.model ? h->cpu.model : "", h->kernel ? h->kernel : "unknown");
	for (size_t i = 0; i < p->n_checks; i++) {
		const struct gpv_check *c = &p->checks[i];

		fprintf(f, "  %s%-4s%s  %-19s %s\n", col(color, status_color(c->status)),
			gpv_status_str(c->status), col(color, RESET), c->id, c->message);
		if (c->fix)
			fprintf(f, "        %-19s fix: %s\n", "", c->fix);
	}
	for (size_t i = 0; i < p->n_gpus; i++)
		print_gpu(f, &p->gpus[i], color);
	for (size_t i = 0, first = 1; i < p->pci->n; i++) {
		const struct gpv_pci_dev *d = &p->pci->devs[i];

		if (!d->notes.n)
			continue;
		if (first)
			fprintf(f, "\n%sUnreadable devices%s\n", col(color, BOLD),
				col(color, RESET));
		first = 0;
		for (size_t j = 0; j < d->notes.n; j++)
			fprintf(f, "  %s  %s\n", d->addr, d->notes.v[j]);
	}
	fprintf(f, "\n%sVerdict: %s%s%s\n", col(color, BOLD), col(color, verdict_color(p->verdict)),
		gpv_verdict_str(p->verdict), col(color, RESET));
}

void gpv_print_list_text(FILE *f, const struct gpv_precheck *p, bool color)
{
	if (p->n_gpus == 0) {
		fprintf(f, "no GPUs\n");
		return;
	}
	fprintf(f, "%s%-5s %-12s  %-14s %-5s %-8s %-26s %s%s\n", col(color, BOLD), "INDEX",
		"ADDRESS", "DRIVER", "GROUP", "ISOLATED", "MODES", "NAME", col(color, RESET));
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct gpv_gpu *g = &p->gpus[i];
		char group[16], modes[128] = "";

		if (g->dev->iommu_group >= 0)
			snprintf(group, sizeof(group), "%d", g->dev->iommu_group);
		else
			strcpy(group, "-");
		for (size_t m = 0; m < g->modes.n; m++)
			snprintf(modes + strlen(modes), sizeof(modes) - strlen(modes), "%s%s",
				m ? "," : "", g->modes.v[m]);
		fprintf(f, "%-5zu %-12s  %-14s %-5s %-8s %-26s %s%s\n", i, g->dev->addr,
			g->dev->driver ? g->dev->driver : "-", group,
			g->dev->iommu_group < 0 ? "-"
			: g->isolated		? "yes"
						: "no",
			*modes ? modes : "-", g->name ? g->name : "(unknown)",
			g->bmc ? " [BMC]" : "");
	}
}
