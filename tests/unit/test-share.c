/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "probes/share.h"
#include "tests/unit/tree.h"

static struct gpv_share_inventory *inv_new(void)
{
	struct gpv_share_inventory *inv = NULL;

	check_int(gpv_share_inventory_new_empty(&inv), 0);
	return inv;
}

static struct gpv_share_gpu *gpu(struct gpv_share_inventory *inv, const char *addr)
{
	struct gpv_share_gpu *g = NULL;

	check_int(gpv_share_add_gpu(inv, addr, NULL, &g), 0);
	return g;
}

/* Allocates and checks the GPU, kind, partition and percent; returns the explanation. */
static void expect(struct gpv_share_inventory *inv, double asked, const char *addr,
	enum gpv_share_kind kind, const char *partition, double percent)
{
	struct gpv_share_result r = {0};

	check_int(gpv_share_allocate(inv, asked, &r), 0);
	printf("# %g%% -> %s %s %s: %s\n", asked, inv->gpus[r.gpu].addr, gpv_share_kind_str(r.kind),
		r.partition, r.why);
	check_streq(inv->gpus[r.gpu].addr, addr);
	check_streq(gpv_share_kind_str(r.kind), gpv_share_kind_str(kind));
	check_streq(r.partition, partition);
	check(r.percent > percent - 0.01 && r.percent < percent + 0.01);
	check(r.why && *r.why && !strchr(r.why, '\n'));
	gpv_share_result_clear(&r);
}

static void expect_none(struct gpv_share_inventory *inv, double asked)
{
	struct gpv_share_result r = {0};

	check_int(gpv_share_allocate(inv, asked, &r), -ENOSPC);
}

static char *no_fit(struct gpv_share_inventory *inv, double asked)
{
	char *msg = NULL;

	check_int(gpv_share_no_fit(inv, asked, &msg), 0);
	printf("# %s\n", msg);
	return msg;
}

/* Intel GVT-g as the gvtg-four-types machine shows it. */
static struct gpv_share_gpu *gvtg(struct gpv_share_inventory *inv, const char *addr)
{
	struct gpv_share_gpu *g = gpu(inv, addr);

	check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_1", NULL, 100, 1, 0), 0);
	check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_2", NULL, 50, 2, 0), 0);
	check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_4", NULL, 25, 4, 0), 0);
	check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_8", NULL, 12.5, 8, 0), 0);
	return g;
}

TEST(percent_strings)
{
	char b[16];

	check_streq(gpv_share_percent_str(100, b), "100");
	check_streq(gpv_share_percent_str(12.5, b), "12.5");
	check_streq(gpv_share_percent_str(100.0 / 3, b), "33.33");
	check_streq(gpv_share_percent_str(6.25, b), "6.25");
}

TEST(bad_percent_is_einval)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_result r = {0};

	gpu(inv, "0000:01:00.0");
	check_int(gpv_share_allocate(inv, 0, &r), -EINVAL);
	check_int(gpv_share_allocate(inv, 100.5, &r), -EINVAL);
	check_int(gpv_share_allocate(inv, -5, &r), -EINVAL);
	gpv_share_inventory_free(inv);
}

TEST(rules_come_from_the_data_file)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gvtg(inv, "0000:00:02.0");
	struct gpv_share_gpu *n = gpu(inv, "0000:01:00.0");

	check_int(gpv_share_add_mdev(n, "nvidia-63", "GRID P40-2Q", 100.0 / 12, 12, 0), 0);
	check_int(gpv_share_add_vgpu(n, 0x10de, "557", "NVIDIA A100-4C", 10), 0);
	check(inv->gpus[0].mdev[0].rules & GPV_SHARE_POOL);
	check(!(inv->gpus[0].mdev[0].rules & GPV_SHARE_ONE_TYPE));
	check(n->mdev[0].rules & GPV_SHARE_ONE_TYPE);
	check(!(n->mdev[0].rules & GPV_SHARE_POOL));
	check(n->vgpu[0].rules & GPV_SHARE_ONE_TYPE);
	check_int(n->vgpu[0].available, 10);
	(void)g;
	gpv_share_inventory_free(inv);
}

TEST(smallest_fitting_slice)
{
	struct gpv_share_inventory *inv = inv_new();

	gvtg(inv, "0000:00:02.0");
	/* 30% needs more than 25: the 50% type, not the whole GPU. */
	expect(inv, 30, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_2", 50);
	expect(inv, 10, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	expect(inv, 12.5, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	gpv_share_inventory_free(inv);
}

TEST(whole_gpu_only_for_100_and_preferred_at_equal_size)
{
	struct gpv_share_inventory *inv = inv_new();

	gvtg(inv, "0000:00:02.0");
	gpu(inv, "0000:01:00.0");
	/* 100%: both offer a 100% slice; the GPU with no partitions goes whole first, and
	 * a whole GPU beats a 100% mdev type. */
	expect(inv, 100, "0000:01:00.0", GPV_SHARE_WHOLE, "", 100);
	expect(inv, 100, "0000:00:02.0", GPV_SHARE_WHOLE, "", 100);
	expect_none(inv, 1);
	gpv_share_inventory_free(inv);
}

TEST(whole_excludes_partitions_and_partitions_exclude_whole)
{
	struct gpv_share_inventory *inv = inv_new();

	gvtg(inv, "0000:00:02.0");
	expect(inv, 25, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	/* Partitioned: no whole GPU, nor a 100% type (the pool no longer has it). */
	expect_none(inv, 100);
	expect_none(inv, 80);
	gpv_share_inventory_free(inv);

	inv = inv_new();
	gvtg(inv, "0000:00:02.0");
	expect(inv, 100, "0000:00:02.0", GPV_SHARE_WHOLE, "", 100);
	expect_none(inv, 12.5);
	gpv_share_inventory_free(inv);
}

TEST(packs_onto_the_partitioned_gpu_first)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g;

	gvtg(inv, "0000:00:02.0");
	gvtg(inv, "0000:01:00.0");
	g = gvtg(inv, "0000:02:00.0");
	/* 0000:02:00.0 already runs a 25% instance: it is packed before the others open. */
	g->mdev[0].available = 0;
	g->mdev[1].available = 1;
	g->mdev[2].in_use = 1;
	g->mdev[2].available = 3;
	g->mdev[3].available = 6;
	expect(inv, 20, "0000:02:00.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	expect(inv, 20, "0000:02:00.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	expect(inv, 20, "0000:02:00.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	/* Full now: the next opens the first GPU, then stays there. */
	expect(inv, 20, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	expect(inv, 10, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	/* The second GPU is untouched: it can still go whole. */
	expect(inv, 100, "0000:01:00.0", GPV_SHARE_WHOLE, "", 100);
	gpv_share_inventory_free(inv);
}

TEST(explanation_says_packed_or_opened)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_result r = {0};

	gvtg(inv, "0000:00:02.0");
	check_int(gpv_share_allocate(inv, 25, &r), 0);
	check(strstr(r.why, "starts partitioning") != NULL);
	check(strstr(r.why, "at least 25%") != NULL);
	gpv_share_result_clear(&r);
	check_int(gpv_share_allocate(inv, 25, &r), 0);
	check(strstr(r.why, "already partitioned") != NULL);
	gpv_share_result_clear(&r);
	gpv_share_inventory_free(inv);
}

TEST(mdev_availability_runs_out)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:01:00.0");

	/* A type that is not pooled: only its own count goes down. */
	check_int(gpv_share_add_mdev(g, "acme-half", NULL, 50, 2, 0), 0);
	expect(inv, 50, "0000:01:00.0", GPV_SHARE_MDEV, "acme-half", 50);
	check_int(g->mdev[0].taken, 1);
	expect(inv, 40, "0000:01:00.0", GPV_SHARE_MDEV, "acme-half", 50);
	expect_none(inv, 40);
	gpv_share_inventory_free(inv);
}

TEST(gvtg_pool_lowers_every_type)
{
	struct gpv_share_inventory *inv = inv_new();

	gvtg(inv, "0000:00:02.0");
	/* 50 + 25 taken: the pool has 25 left, so one more 25% or two 12.5%, never a 50%. */
	expect(inv, 50, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_2", 50);
	expect(inv, 25, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	expect_none(inv, 50);
	expect(inv, 12.5, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	expect(inv, 12.5, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	expect_none(inv, 1);
	gpv_share_inventory_free(inv);
}

TEST(gvtg_kernel_counts_are_kept)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:00:02.0");

	/* What the kernel says is a ceiling even when the pool would fit more (the
	 * gvtg-four-types machine: 7 of the 12.5% type, not 8). */
	check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_8", NULL, 12.5, 7, 0), 0);
	for (int i = 0; i < 7; i++)
		expect(inv, 5, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_8", 12.5);
	expect_none(inv, 5);
	gpv_share_inventory_free(inv);
}

TEST(nvidia_one_type_per_gpu)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:01:00.0");
	struct gpv_share_gpu *h;

	check_int(gpv_share_add_mdev(g, "nvidia-61", "GRID P40-1Q", 100.0 / 24, 24, 0), 0);
	check_int(gpv_share_add_mdev(g, "nvidia-63", "GRID P40-4Q", 100.0 / 6, 6, 0), 0);
	check_int(gpv_share_add_mdev(g, "nvidia-65", "GRID P40-12Q", 50, 2, 0), 0);
	h = gpu(inv, "0000:02:00.0");
	check_int(gpv_share_add_mdev(h, "nvidia-61", "GRID P40-1Q", 100.0 / 24, 24, 0), 0);
	check_int(gpv_share_add_mdev(h, "nvidia-63", "GRID P40-4Q", 100.0 / 6, 6, 0), 0);
	check_int(gpv_share_add_mdev(h, "nvidia-65", "GRID P40-12Q", 50, 2, 0), 0);
	expect(inv, 10, "0000:01:00.0", GPV_SHARE_MDEV, "nvidia-63", 16.67);
	/* The first GPU now takes only nvidia-63: a 4% request goes to the second GPU's
	 * nvidia-61 rather than onto the first, and a 50% one too. */
	expect(inv, 4, "0000:02:00.0", GPV_SHARE_MDEV, "nvidia-61", 4.17);
	expect(inv, 16, "0000:01:00.0", GPV_SHARE_MDEV, "nvidia-63", 16.67);
	expect_none(inv, 50);
	gpv_share_inventory_free(inv);
}

TEST(nvidia_type_in_use_when_read_locks_the_gpu)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:01:00.0");

	check_int(gpv_share_add_mdev(g, "nvidia-61", "GRID P40-1Q", 100.0 / 24, 24, 0), 0);
	check_int(gpv_share_add_mdev(g, "nvidia-65", "GRID P40-12Q", 50, 1, 1), 0);
	expect(inv, 3, "0000:01:00.0", GPV_SHARE_MDEV, "nvidia-65", 50);
	expect_none(inv, 3);
	gpv_share_inventory_free(inv);
}

TEST(nvidia_vgpu_one_type_and_vf_slots)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:41:00.0");
	const char *vfs[] = {"0000:41:00.4", "0000:41:00.5", "0000:41:00.6"};

	check_int(gpv_share_add_vfs(g, 16, 3, vfs, 3), 0);
	check_int(gpv_share_add_vgpu(g, 0x10de, "557", "NVIDIA A100-4C", 10), 0);
	check_int(gpv_share_add_vgpu(g, 0x10de, "560", "NVIDIA A100-20C", 50), 0);
	/* Plain VFs are not offered on a vGPU GPU; the vGPU type is. */
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect_none(inv, 30); /* one type per GPU: 560 is out */
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect_none(inv, 8); /* three VFs, three vGPUs */
	gpv_share_inventory_free(inv);
}

TEST(vf_enabling_picks_sriov_numvfs)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:03:00.0");

	check_int(gpv_share_add_vfs(g, 7, 0, NULL, 0), 0);
	/* 30%: 100/3 is the smallest VF slice that is at least 30. */
	expect(inv, 30, "0000:03:00.0", GPV_SHARE_VF, "VF to enable: sriov_numvfs 3", 33.33);
	check_int(g->vfs_chosen, 3);
	/* Once 3 VFs are chosen, 20% gets the next of them (33.33), not 5 VFs. */
	expect(inv, 20, "0000:03:00.0", GPV_SHARE_VF, "VF to enable: sriov_numvfs 3", 33.33);
	expect(inv, 20, "0000:03:00.0", GPV_SHARE_VF, "VF to enable: sriov_numvfs 3", 33.33);
	expect_none(inv, 20);
	gpv_share_inventory_free(inv);
}

TEST(vf_fresh_gpu_smallest_vf_count)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:03:00.0");

	check_int(gpv_share_add_vfs(g, 7, 0, NULL, 0), 0);
	/* 10% would want 10 VFs; at most 7: 14.29%. */
	expect(inv, 10, "0000:03:00.0", GPV_SHARE_VF, "VF to enable: sriov_numvfs 7", 14.29);
	gpv_share_inventory_free(inv);
}

TEST(vf_enabled_hands_out_free_vfs)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = gpu(inv, "0000:03:00.0");
	const char *vfs[] = {"0000:03:00.2", "0000:03:00.3"};

	/* 4 enabled, 2 taken by VMs (vfio-pci), 2 free. */
	check_int(gpv_share_add_vfs(g, 8, 4, vfs, 2), 0);
	check_int(g->vfs_assigned, 2);
	expect_none(inv, 30);
	expect(inv, 10, "0000:03:00.0", GPV_SHARE_VF, "0000:03:00.2", 25);
	expect(inv, 25, "0000:03:00.0", GPV_SHARE_VF, "0000:03:00.3", 25);
	expect_none(inv, 10);
	expect_none(inv, 100); /* VFs are on: the GPU is partitioned */
	gpv_share_inventory_free(inv);
}

TEST(vf_preferred_over_mdev_at_equal_size)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *a = gpu(inv, "0000:01:00.0"), *b;

	check_int(gpv_share_add_mdev(a, "acme-quarter", NULL, 25, 4, 0), 0);
	b = gpu(inv, "0000:02:00.0");
	check_int(gpv_share_add_vfs(b, 4, 0, NULL, 0), 0);
	expect(inv, 25, "0000:02:00.0", GPV_SHARE_VF, "VF to enable: sriov_numvfs 4", 25);
	gpv_share_inventory_free(inv);
}

TEST(blocked_gpus_offer_nothing)
{
	struct gpv_share_inventory *inv = inv_new();
	struct gpv_share_gpu *g = NULL;
	char *msg;

	check_int(gpv_share_add_gpu(inv, "0000:0c:00.0", "precheck blocks it: group-shared", &g),
		0);
	check_int(gpv_share_add_mdev(g, "acme-quarter", NULL, 25, 4, 0), 0);
	expect_none(inv, 25);
	expect_none(inv, 100);
	msg = no_fit(inv, 25);
	check(strstr(msg, "no GPU of this host can give a share") != NULL);
	check(strstr(msg, "'0000:0c:00.0' offers nothing: precheck blocks it: group-shared"));
	free(msg);
	gpv_share_inventory_free(inv);
}

TEST(nothing_fits_lists_the_shares)
{
	struct gpv_share_inventory *inv = inv_new();
	char *msg;

	gvtg(inv, "0000:00:02.0");
	expect(inv, 50, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_2", 50);
	expect(inv, 50, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_2", 50);
	expect_none(inv, 10);
	msg = no_fit(inv, 10);
	check_streq(msg, "no free slice of at least 10%: this host can give 100, 50, 25, 12.5 "
			 "(percent of one GPU); still free: none");
	free(msg);
	gpv_share_inventory_free(inv);

	inv = inv_new();
	gvtg(inv, "0000:00:02.0");
	expect(inv, 50, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_2", 50);
	msg = no_fit(inv, 60);
	check(strstr(msg, "still free: 50, 25, 12.5") != NULL);
	free(msg);
	/* The message follows what later requests take. */
	expect(inv, 25, "0000:00:02.0", GPV_SHARE_MDEV, "i915-GVTg_V5_4", 25);
	msg = no_fit(inv, 70);
	check_streq(msg, "no free slice of at least 70%: this host can give 100, 50, 25, 12.5 "
			 "(percent of one GPU); still free: 25, 12.5");
	free(msg);
	gpv_share_inventory_free(inv);
}

TEST(offered_list)
{
	struct gpv_share_inventory *inv = inv_new();
	double *v = NULL;
	size_t n = 0;

	gvtg(inv, "0000:00:02.0");
	gpu(inv, "0000:01:00.0");
	check_int(gpv_share_offered(inv, &v, &n), 0);
	check_int(n, 4);
	check(v[0] == 100 && v[1] == 50 && v[2] == 25 && v[3] == 12.5);
	free(v);
	gpv_share_inventory_free(inv);
}

/* 10,000 requests over 1,000 GPUs of mixed kinds, as bench/plan does, with a loose bound
 * (10 s, against a goal of 1 s) so that a loaded test machine does not fail it, and a check
 * that the allocator hands out no more than there is. */
TEST(ten_thousand_requests_over_a_thousand_gpus)
{
	static const double asks[] = {100, 50, 25, 12.5, 30, 10, 5, 20};
	struct gpv_share_inventory *inv = inv_new();
	struct timespec t0, t1;
	long met = 0, whole = 0;
	double given = 0;

	for (int i = 0; i < 1000; i++) {
		char addr[13];
		struct gpv_share_gpu *g;

		snprintf(addr, sizeof(addr), "0000:%02x:%02x.0", i / 32, i % 32);
		g = gpu(inv, addr);
		if (i % 4 == 1) {
			check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_2", NULL, 50, 2, 0), 0);
			check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_4", NULL, 25, 4, 0), 0);
			check_int(gpv_share_add_mdev(g, "i915-GVTg_V5_8", NULL, 12.5, 8, 0), 0);
		} else if (i % 4 == 2) {
			check_int(gpv_share_add_vfs(g, 16, 0, NULL, 0), 0);
		} else if (i % 4 == 3) {
			check_int(gpv_share_add_mdev(g, "nvidia-61", NULL, 100.0 / 24, 24, 0), 0);
			check_int(gpv_share_add_mdev(g, "nvidia-63", NULL, 100.0 / 6, 6, 0), 0);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10000; i++) {
		struct gpv_share_result r = {0};
		int rc = gpv_share_allocate(inv, asks[i % ELEMENTSOF(asks)], &r);

		check(rc == 0 || rc == -ENOSPC);
		if (rc == 0) {
			met++;
			given += r.percent;
			whole += r.kind == GPV_SHARE_WHOLE;
			check(r.percent + 1e-6 >= asks[i % ELEMENTSOF(asks)]);
			gpv_share_result_clear(&r);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %ld met, %ld whole, %.1f GPUs given, %.3f s\n", met, whole, given / 100,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	check(met > 1000);
	check(given / 100 <= 1000 + 1e-6);
	check((double)(t1.tv_sec - t0.tv_sec) < 10);
	gpv_share_inventory_free(inv);
}

/* From a machine tree, through precheck. */
TEST(inventory_from_precheck)
{
	char *t = tree_new();
	struct gpv_root *root = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_share_inventory *inv = NULL;

	tree_host(t, "intel_iommu=on");
	tree_dev(t, "0000:03:00.0", 0x8086, 0x56c0, 0x030000, 3, "i915", 0);
	tree_attr(t, "0000:03:00.0", "sriov_totalvfs", "4\n");
	tree_attr(t, "0000:03:00.0", "sriov_numvfs", "2\n");
	tree_dev(t, "0000:03:00.1", 0x8086, 0x56c0, 0x030000, 4, "vfio-pci", 0);
	tree_dev(t, "0000:03:00.2", 0x8086, 0x56c0, 0x030000, 5, NULL, 0);
	tree_link(t, "sys/devices/pci0000:00/0000:03:00.0/virtfn0", "../0000:03:00.1");
	tree_link(t, "sys/devices/pci0000:00/0000:03:00.0/virtfn1", "../0000:03:00.2");
	tree_link(t, "sys/devices/pci0000:00/0000:03:00.1/physfn", "../0000:03:00.0");
	tree_link(t, "sys/devices/pci0000:00/0000:03:00.2/physfn", "../0000:03:00.0");
	/* A GPU sharing its group with a NIC: blocked. */
	tree_dev(t, "0000:05:00.0", 0x10de, 0x1b06, 0x030000, 7, "nouveau", 0);
	tree_dev(t, "0000:05:00.1", 0x8086, 0x1533, 0x020000, 7, "igb", 0);

	check_int(gpv_root_new(t, &root), 0);
	check_int(gpv_precheck_run(root, NULL, NULL, &p), 0);
	check_int(gpv_share_inventory_new(p, &inv), 0);
	check_int(inv->n, 2);
	check_streq(inv->gpus[0].addr, "0000:03:00.0");
	check(inv->gpus[0].blocked == NULL);
	check_int(inv->gpus[0].vfs_total, 4);
	check_int(inv->gpus[0].vfs_enabled, 2);
	check_int(inv->gpus[0].vfs_assigned, 1);
	check_int(inv->gpus[0].free_vfs.n, 1);
	check_streq(inv->gpus[0].free_vfs.v[0], "0000:03:00.2");
	check_streq(inv->gpus[1].addr, "0000:05:00.0");
	check(inv->gpus[1].blocked && strstr(inv->gpus[1].blocked, "group-shared"));
	expect(inv, 40, "0000:03:00.0", GPV_SHARE_VF, "0000:03:00.2", 50);
	expect_none(inv, 40);
	gpv_share_inventory_free(inv);
	gpv_precheck_free(p);
	gpv_root_free(root);
	tree_free(t);
}

/* NVIDIA SR-IOV vGPU from a machine tree: the VFs' creatable_vgpu_types, sized by name. */
TEST(inventory_vgpu_from_precheck)
{
	char *t = tree_new();
	struct gpv_root *root = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_share_inventory *inv = NULL;
	const struct gpv_share_gpu *g;

	tree_host(t, "intel_iommu=on");
	tree_dev(t, "0000:41:00.0", 0x10de, 0x20b0, 0x030200, 20, "nvidia", 0);
	tree_attr(t, "0000:41:00.0", "sriov_totalvfs", "16\n");
	tree_attr(t, "0000:41:00.0", "sriov_numvfs", "2\n");
	for (int i = 0; i < 2; i++) {
		char vf[16], rel[128];

		snprintf(vf, sizeof(vf), "0000:41:00.%d", 4 + i);
		tree_dev(t, vf, 0x10de, 0x20b0, 0x030200, 21 + i, NULL, 0);
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:41:00.0/virtfn%d", i);
		snprintf(vf, sizeof(vf), "../0000:41:00.%d", 4 + i);
		tree_link(t, rel, vf);
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:41:00.%d/physfn", 4 + i);
		tree_link(t, rel, "../0000:41:00.0");
		snprintf(vf, sizeof(vf), "0000:41:00.%d", 4 + i);
		tree_attr(t, vf, "nvidia/creatable_vgpu_types",
			"ID    : vGPU Name\n557   : NVIDIA A100-4C\n560   : NVIDIA A100-40C\n"
			"570   : NVIDIA A100-1-5C\n");
		tree_attr(t, vf, "nvidia/current_vgpu_type", "0\n");
	}
	check_int(gpv_root_new(t, &root), 0);
	check_int(gpv_precheck_run(root, NULL, NULL, &p), 0);
	check_int(gpv_share_inventory_new(p, &inv), 0);
	check_int(inv->n, 1);
	g = &inv->gpus[0];
	check(g->blocked == NULL);
	/* The MIG-backed type (A100-1-5C) is left out; 4 GB of the 40 GB board is 10%. */
	check_int(g->n_vgpu, 2);
	check_streq(g->vgpu[0].id, "557");
	check_streq(g->vgpu[0].name, "NVIDIA A100-4C");
	check(g->vgpu[0].percent > 9.99 && g->vgpu[0].percent < 10.01);
	check_int(g->vgpu[0].available, 10);
	check_streq(g->vgpu[1].id, "560");
	check(g->vgpu[1].percent > 99.99);
	check_int(g->free_vfs.n, 2);
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect_none(inv, 8); /* two VFs */
	gpv_share_inventory_free(inv);
	gpv_precheck_free(p);
	/* A VF that holds a type (current_vgpu_type) is given, though it stays on its driver. */
	tree_attr(t, "0000:41:00.4", "nvidia/current_vgpu_type", "557\n");
	check_int(gpv_precheck_run(root, NULL, NULL, &p), 0);
	check_int(gpv_share_inventory_new(p, &inv), 0);
	check_int(inv->gpus[0].free_vfs.n, 1);
	check_streq(inv->gpus[0].free_vfs.v[0], "0000:41:00.5");
	expect(inv, 8, "0000:41:00.0", GPV_SHARE_VGPU, "557", 10);
	expect_none(inv, 8);
	gpv_share_inventory_free(inv);
	gpv_precheck_free(p);
	gpv_root_free(root);
	tree_free(t);
}
