/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "probes/precheck.h"
#include "tests/unit/tree.h"

static struct gpv_precheck *run(const char *dir)
{
	struct gpv_root *r = NULL;
	struct gpv_precheck *p = NULL;

	check_int(gpv_root_new(dir, &r), 0);
	check_int(gpv_precheck_run(r, NULL, 0, &p), 0);
	gpv_root_free(r);
	return p;
}

static const struct gpv_gpu *gpu(const struct gpv_precheck *p, const char *addr)
{
	for (size_t i = 0; i < p->n_gpus; i++)
		if (streq(p->gpus[i].dev->addr, addr))
			return &p->gpus[i];
	printf("# no GPU %s\n", addr);
	check(false);
	return NULL;
}

static const struct gpv_problem *problem(const struct gpv_gpu *g, const char *code)
{
	for (size_t i = 0; i < g->n_problems; i++)
		if (streq(g->problems[i].code, code))
			return &g->problems[i];
	return NULL;
}

static enum gpv_status status(const struct gpv_precheck *p, const char *id)
{
	const struct gpv_check *c = gpv_precheck_check(p, id);

	check(c != NULL);
	return c->status;
}

static enum gpv_role role(const struct gpv_gpu *g, const char *addr)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (streq(g->members[i].dev->addr, addr))
			return g->members[i].role;
	printf("# %s is not a member\n", addr);
	check(false);
	return GPV_ROLE_OTHER;
}

TEST(isolated_card_with_audio_and_root_port_is_ready)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:00:00.0", 0x8086, 0x9b53, 0x060000, 0, NULL, 0);
	tree_dev(t, "0000:00:01.0", 0x8086, 0x1901, 0x060400, 1, "pcieport", 1);
	tree_dev(t, "0000:01:00.0", 0x10de, 0x21c4, 0x030000, 1, "nvidia", 0);
	tree_dev(t, "0000:01:00.1", 0x10de, 0x1aeb, 0x040300, 1, "snd_hda_intel", 0);
	p = run(t);
	check(p->host.iommu_active);
	check_int(p->host.groups, 2);
	check_int(p->n_gpus, 1);
	g = gpu(p, "0000:01:00.0");
	check(g->isolated);
	check_int(g->functions.n, 2);
	check_int(role(g, "0000:00:01.0"), GPV_ROLE_BRIDGE);
	check_int(role(g, "0000:01:00.0"), GPV_ROLE_GPU);
	check_int(role(g, "0000:01:00.1"), GPV_ROLE_FUNCTION);
	check_int(g->verdict, GPV_READY);
	check(problem(g, "driver-in-use") != NULL);
	check_int(p->verdict, GPV_READY);
	check_int(gpv_verdict_exit_code(p->verdict), 0);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(shared_group_blocks_and_names_the_members)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;
	const struct gpv_problem *pr;

	tree_host(t, "quiet");
	tree_dev(t, "0000:02:00.0", 0x1022, 0x43ee, 0x0c0330, 15, "xhci_hcd", 0);
	tree_dev(t, "0000:04:00.0", 0x1002, 0x73a5, 0x030000, 15, "amdgpu", 0);
	tree_dev(t, "0000:05:00.0", 0x10ec, 0x8125, 0x020000, 15, "r8169", 0);
	p = run(t);
	g = gpu(p, "0000:04:00.0");
	check(!g->isolated);
	check_int(role(g, "0000:05:00.0"), GPV_ROLE_OTHER);
	pr = problem(g, "group-shared");
	check(pr != NULL);
	check_int(pr->severity, GPV_BLOCKER);
	check(strstr(pr->message, "'0000:05:00.0'") && strstr(pr->message, "r8169"));
	check(strstr(pr->message, "'0000:02:00.0'") && strstr(pr->message, "xhci_hcd"));
	check(pr->fix && strstr(pr->fix, "slot"));
	check_int(g->verdict, GPV_BLOCKED);
	check_int(p->verdict, GPV_BLOCKED);
	check_int(gpv_verdict_exit_code(p->verdict), 4);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(function_in_own_group_is_info_only)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;
	const struct gpv_problem *pr;

	tree_host(t, "quiet");
	tree_dev(t, "0000:08:00.0", 0x1002, 0x73a5, 0x030000, 18, NULL, 0);
	tree_dev(t, "0000:08:00.1", 0x1002, 0xab28, 0x040300, 19, NULL, 0);
	p = run(t);
	g = gpu(p, "0000:08:00.0");
	pr = problem(g, "function-in-other-group");
	check(pr != NULL && pr->severity == GPV_INFO);
	check(problem(g, "function-group-shared") == NULL);
	check(problem(g, "driver-in-use") == NULL);
	check_int(g->n_members, 2);
	check_int(g->verdict, GPV_READY);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(function_sharing_a_group_with_host_devices_warns)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;
	const struct gpv_problem *pr;

	tree_host(t, "quiet");
	tree_dev(t, "0000:08:00.0", 0x1002, 0x73a5, 0x030000, 18, NULL, 0);
	tree_dev(t, "0000:08:00.1", 0x1002, 0xab28, 0x040300, 19, NULL, 0);
	tree_dev(t, "0000:09:00.0", 0x1022, 0x149c, 0x0c0330, 19, "xhci_hcd", 0);
	p = run(t);
	g = gpu(p, "0000:08:00.0");
	check(g->isolated);
	pr = problem(g, "function-group-shared");
	check(pr != NULL && pr->severity == GPV_WARNING);
	check(strstr(pr->message, "0000:09:00.0") != NULL);
	check_int(g->verdict, GPV_NEEDS_ACTION);
	check_int(p->verdict, GPV_NEEDS_ACTION);
	check_int(gpv_verdict_exit_code(p->verdict), 3);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(apu_slot_mates_of_another_vendor_are_not_functions)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:05:00.0", 0x1002, 0x1638, 0x030000, 7, "amdgpu", 0);
	tree_dev(t, "0000:05:00.1", 0x1002, 0x1637, 0x040300, 8, NULL, 0);
	tree_dev(t, "0000:05:00.2", 0x1022, 0x15df, 0x108000, 9, "ccp", 0);
	tree_dev(t, "0000:05:00.3", 0x1022, 0x1639, 0x0c0330, 7, "xhci_hcd", 0);
	p = run(t);
	g = gpu(p, "0000:05:00.0");
	check_int(g->functions.n, 2);
	check(gpv_strv_contains(&g->functions, "0000:05:00.1"));
	check(!gpv_strv_contains(&g->functions, "0000:05:00.2"));
	/* The USB controller of the APU shares the GPU's group: it is "other". */
	check_int(role(g, "0000:05:00.3"), GPV_ROLE_OTHER);
	check(!g->isolated);
	check_int(g->verdict, GPV_BLOCKED);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(bmc_display_is_never_a_candidate)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:03:00.0", 0x1a03, 0x2000, 0x030000, 20, "ast", 0);
	p = run(t);
	g = gpu(p, "0000:03:00.0");
	check(g->bmc);
	check_int(g->verdict, GPV_NOT_A_CANDIDATE);
	check_int(g->modes.n, 0);
	check_int(status(p, "gpu.found"), GPV_FAIL);
	check_int(p->verdict, GPV_BLOCKED);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(matrox_bmc_beside_a_real_gpu)
{
	char *t = tree_new();
	struct gpv_precheck *p;

	tree_host(t, "quiet");
	tree_dev(t, "0000:03:00.0", 0x102b, 0x0538, 0x030000, 20, "mgag200", 0);
	tree_dev(t, "0000:41:00.0", 0x10de, 0x2204, 0x030000, 30, NULL, 0);
	p = run(t);
	check(gpu(p, "0000:03:00.0")->bmc);
	check(!gpu(p, "0000:41:00.0")->bmc);
	check_int(status(p, "gpu.found"), GPV_PASS);
	check_int(p->verdict, GPV_READY);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(sriov_vfs_belong_to_their_pf)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:00:02.0", 0x8086, 0xa7a0, 0x030000, 0, "i915", 0);
	tree_attr(t, "0000:00:02.0", "sriov_totalvfs", "7\n");
	tree_attr(t, "0000:00:02.0", "sriov_numvfs", "2\n");
	tree_dev(t, "0000:00:02.1", 0x8086, 0xa7a0, 0x030000, 21, "vfio-pci", 0);
	tree_dev(t, "0000:00:02.2", 0x8086, 0xa7a0, 0x030000, 22, NULL, 0);
	tree_link(t, "sys/devices/pci0000:00/0000:00:02.1/physfn", "../0000:00:02.0");
	tree_link(t, "sys/devices/pci0000:00/0000:00:02.2/physfn", "../0000:00:02.0");
	tree_link(t, "sys/devices/pci0000:00/0000:00:02.0/virtfn0", "../0000:00:02.1");
	tree_link(t, "sys/devices/pci0000:00/0000:00:02.0/virtfn1", "../0000:00:02.2");
	p = run(t);
	check_int(p->n_gpus, 1);
	g = gpu(p, "0000:00:02.0");
	check_int(g->functions.n, 1);
	check(gpv_strv_contains(&g->modes, "sriov"));
	check(gpv_strv_contains(&g->modes, "passthrough"));
	check_int(g->dev->sriov_total_vfs, 7);
	check_int(g->dev->sriov_num_vfs, 2);
	check_int(g->dev->vfs.n, 2);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(mdev_types_and_shares)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;
	const char *base = "sys/devices/pci0000:00/0000:3b:00.0/mdev_supported_types";
	char rel[512];

	tree_host(t, "quiet");
	tree_dev(t, "0000:3b:00.0", 0x10de, 0x1eb8, 0x030200, 40, "nvidia", 0);
	snprintf(rel, sizeof(rel), "%s/nvidia-222/name", base);
	tree_file(t, rel, "GRID T4-1B\n");
	snprintf(rel, sizeof(rel), "%s/nvidia-222/description", base);
	tree_file(t, rel,
		"num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, "
		"max_instance=16\n");
	snprintf(rel, sizeof(rel), "%s/nvidia-222/available_instances", base);
	tree_file(t, rel, "16\n");
	snprintf(rel, sizeof(rel), "%s/nvidia-222/device_api", base);
	tree_file(t, rel, "vfio-pci\n");
	p = run(t);
	g = gpu(p, "0000:3b:00.0");
	check(gpv_strv_contains(&g->modes, "mdev"));
	check_int(g->dev->n_mdev_types, 1);
	check_streq(g->dev->mdev_types[0].name, "GRID T4-1B");
	check_int(g->dev->mdev_types[0].framebuffer_mib, 1024);
	check_int(g->dev->mdev_types[0].available_instances, 16);
	check(g->dev->mdev_types[0].share_percent > 6.24 &&
		g->dev->mdev_types[0].share_percent < 6.26);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(reset_bug_and_no_reset)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:0a:00.0", 0x1002, 0x67df, 0x030000, 5, "amdgpu", 0);
	tree_attr(t, "0000:0a:00.0", "reset_method", "\n");
	tree_dev(t, "0000:0b:00.0", 0x10de, 0x2204, 0x030000, 6, NULL, 0);
	tree_attr(t, "0000:0b:00.0", "reset_method", "flr bus\n");
	p = run(t);
	g = gpu(p, "0000:0a:00.0");
	check(problem(g, "reset-bug") != NULL);
	check(strstr(problem(g, "reset-bug")->fix, "vendor-reset") != NULL);
	check(strstr(problem(g, "reset-bug")->message, "Polaris") != NULL);
	check(problem(g, "no-reset") != NULL);
	check_int(g->verdict, GPV_NEEDS_ACTION);
	g = gpu(p, "0000:0b:00.0");
	check(problem(g, "reset-bug") == NULL && problem(g, "no-reset") == NULL);
	check_int(g->dev->reset_methods.n, 2);
	check_streq(g->dev->reset_methods.v[0], "flr");
	check_int(p->verdict, GPV_READY);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(acs_override_warns_everywhere)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "intel_iommu=on pcie_acs_override=downstream,multifunction");
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 12, NULL, 0);
	p = run(t);
	check_int(status(p, "iommu.acs_override"), GPV_WARN);
	check_streq(p->host.cmdline.acs_override, "downstream,multifunction");
	g = gpu(p, "0000:01:00.0");
	check(problem(g, "acs-override") != NULL);
	check_int(g->verdict, GPV_NEEDS_ACTION);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(boot_vga_needs_action)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:00:02.0", 0x8086, 0x9bc8, 0x030000, 2, "i915", 0);
	tree_attr(t, "0000:00:02.0", "boot_vga", "1\n");
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 3, NULL, 0);
	tree_attr(t, "0000:01:00.0", "boot_vga", "0\n");
	p = run(t);
	g = gpu(p, "0000:00:02.0");
	check_int(g->dev->boot_vga, 1);
	check(problem(g, "boot-vga") != NULL);
	check_int(g->verdict, GPV_NEEDS_ACTION);
	check_int(gpu(p, "0000:01:00.0")->dev->boot_vga, 0);
	/* The best GPU decides. */
	check_int(p->verdict, GPV_READY);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(no_iommu_groups_blocks_with_the_fix)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;
	const struct gpv_check *c;

	tree_host(t, "quiet");
	tree_file(t, "etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, -1, NULL, 0);
	p = run(t);
	check(!p->host.iommu_active);
	check_int(status(p, "iommu.active"), GPV_FAIL);
	c = gpv_precheck_check(p, "iommu.active");
	check(c->fix && strstr(c->fix, "intel_iommu=on") && strstr(c->fix, "update-grub"));
	check_int(status(p, "iommu.cmdline"), GPV_WARN);
	g = gpu(p, "0000:01:00.0");
	check(problem(g, "no-iommu-group") != NULL);
	check_int(g->verdict, GPV_BLOCKED);
	check_int(p->verdict, GPV_BLOCKED);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(iommu_turned_off_on_the_command_line)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_check *c;

	tree_host(t, "intel_iommu=off");
	tree_file(t, "etc/kernel/cmdline", "root=/dev/sda1 intel_iommu=off\n");
	p = run(t);
	c = gpv_precheck_check(p, "iommu.cmdline");
	check_int(c->status, GPV_WARN);
	check(strstr(c->fix, "remove 'intel_iommu=off'") && strstr(c->fix, "/etc/kernel/cmdline"));
	check_int(status(p, "iommu.active"), GPV_FAIL);
	check_int(status(p, "gpu.found"), GPV_FAIL);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(no_virtualization_and_no_kvm)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_check *c;
	char kvm[4096];

	tree_host(t, "quiet");
	tree_file(t, "proc/cpuinfo", "processor : 0\nvendor_id : AuthenticAMD\nflags : fpu\n");
	snprintf(kvm, sizeof(kvm), "%s/dev/kvm", t);
	check(unlink(kvm) == 0);
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 1, NULL, 0);
	p = run(t);
	c = gpv_precheck_check(p, "cpu.virt");
	check_int(c->status, GPV_FAIL);
	check(strstr(c->fix, "SVM") != NULL);
	check_int(status(p, "kvm.device"), GPV_FAIL);
	check(!p->host.kvm);
	check_int(p->verdict, GPV_BLOCKED);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(garbage_attributes_do_not_make_gpus)
{
	char *t = tree_new();
	struct gpv_precheck *p;

	tree_host(t, "quiet");
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 1, NULL, 0);
	tree_attr(t, "0000:01:00.0", "class", "0xZZ0000\n");
	tree_dev(t, "0000:02:00.0", 0x10de, 0x2204, 0x030000, 2, NULL, 0);
	tree_attr(t, "0000:02:00.0", "vendor", "");
	tree_dev(t, "0000:03:00.0", 0x10de, 0x2204, 0x030000, 3, NULL, 0);
	/* A bus entry whose name is no address is ignored. */
	tree_link(t, "sys/bus/pci/devices/garbage", "../../../devices/pci0000:00/0000:03:00.0");
	p = run(t);
	check_int(p->n_gpus, 1);
	check_streq(p->gpus[0].dev->addr, "0000:03:00.0");
	check(p->pci->n == 3);
	check(gpv_pci_find(p->pci, "0000:01:00.0")->notes.n > 0);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(group_link_outside_root_is_noted_not_followed)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_pci_dev *d;

	tree_host(t, "quiet");
	tree_dev(t, "0000:01:00.0", 0x10de, 0x2204, 0x030000, -1, NULL, 0);
	tree_link(t, "sys/devices/pci0000:00/0000:01:00.0/iommu_group",
		"../../../../../../../../../../tmp");
	tree_link(t, "sys/kernel/iommu_groups/7/devices/0000:01:00.0",
		"../../../../../../../../../../../etc");
	p = run(t);
	d = gpv_pci_find(p->pci, "0000:01:00.0");
	check(d != NULL);
	/* The link's name says nothing usable; the group that lists the device wins. */
	check(d->notes.n > 0);
	check_int(d->iommu_group, 7);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(empty_machine)
{
	char *t = tree_new();
	struct gpv_precheck *p;

	tree_mkdirs(t, "sys");
	p = run(t);
	check_int(p->n_gpus, 0);
	check_int(status(p, "cpu.virt"), GPV_SKIP);
	check_int(status(p, "iommu.cmdline"), GPV_SKIP);
	check_int(status(p, "vfio.module"), GPV_SKIP);
	check_int(p->verdict, GPV_BLOCKED);
	gpv_precheck_free(p);
	tree_free(t);
}

TEST(nvidia_sriov_vgpu_types_come_from_the_vfs)
{
	char *t = tree_new();
	struct gpv_precheck *p;
	const struct gpv_gpu *g;

	tree_host(t, "quiet");
	tree_dev(t, "0000:41:00.0", 0x10de, 0x20b5, 0x030200, 50, "nvidia", 0);
	tree_attr(t, "0000:41:00.0", "sriov_totalvfs", "16\n");
	tree_attr(t, "0000:41:00.0", "sriov_numvfs", "16\n");
	tree_dev(t, "0000:41:00.4", 0x10de, 0x20b5, 0x030200, 51, "nvidia", 0);
	tree_link(t, "sys/devices/pci0000:00/0000:41:00.4/physfn", "../0000:41:00.0");
	tree_link(t, "sys/devices/pci0000:00/0000:41:00.0/virtfn0", "../0000:41:00.4");
	tree_attr(t, "0000:41:00.4", "nvidia/creatable_vgpu_types",
		"ID    : vGPU Name\n557   : NVIDIA A100-4C\n558   : NVIDIA A100-5C\n");
	p = run(t);
	check_int(p->n_gpus, 1);
	g = gpu(p, "0000:41:00.0");
	check(gpv_strv_contains(&g->modes, "sriov"));
	check(gpv_strv_contains(&g->modes, "nvidia-vgpu"));
	check_int(g->dev->vgpu_types.n, 2);
	check_streq(g->dev->vgpu_types.v[0], "557 : NVIDIA A100-4C");
	/* The VF is not a function of the card. */
	check_int(g->functions.n, 1);
	gpv_precheck_free(p);
	tree_free(t);
}
