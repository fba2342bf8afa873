/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/plan-alloc [GPUS [REQUESTS [RUNS]]]: times the share allocator (probes/share.c) on
 * REQUESTS requests (default 10000) over GPUS synthetic GPUs (default 1000) of mixed kinds,
 * RUNS times (default 15), and prints the median, min and max of each run's allocation time,
 * and of building the inventory. bench/plan runs it; see bench/README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "lib/util.h"
#include "probes/share.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Six kinds in turn: a plain GPU, Intel GVT-g (4 pooled types), SR-IOV with VFs off (16
 * possible), SR-IOV with 8 VFs on and 2 of them given to VMs, NVIDIA time-sliced mdev (8
 * P40 types, one type per GPU), NVIDIA SR-IOV vGPU (A100, 7 types on 16 VFs); every 50th GPU
 * is blocked. */
static int build(size_t n_gpus, struct gpv_share_inventory **ret)
{
	static const int p40[] = {1, 2, 3, 4, 6, 8, 12, 24};
	static const int a100[] = {4, 5, 8, 10, 20, 40};
	struct gpv_share_inventory *inv = NULL;
	int r = gpv_share_inventory_new_empty(&inv);

	for (size_t i = 0; r >= 0 && i < n_gpus; i++) {
		struct gpv_share_gpu *g;
		char addr[13], id[32], name[32];
		char vfs[8][13];
		const char *vfp[8];

		snprintf(addr, sizeof(addr), "%04x:%02x:00.0", (unsigned)(i / 256) & 0xffffu,
			(unsigned)(i % 256));
		r = gpv_share_add_gpu(inv, addr, i % 50 == 49 ? "precheck blocks it: group-shared"
							       : NULL,
			&g);
		if (r < 0 || i % 50 == 49)
			continue;
		switch (i % 6) {
		case 1:
			for (int t = 0; t < 4 && r >= 0; t++) {
				snprintf(id, sizeof(id), "i915-GVTg_V5_%d", 1 << t);
				r = gpv_share_add_mdev(g, id, NULL, 100.0 / (1 << t), 1 << t, 0);
			}
			break;
		case 2:
			r = gpv_share_add_vfs(g, 16, 0, NULL, 0);
			break;
		case 3:
			for (int v = 0; v < 6; v++) {
				snprintf(vfs[v], sizeof(vfs[v]), "%04x:%02x:01.%d",
					(unsigned)(i / 256) & 0xffffu, (unsigned)(i % 256), v + 2);
				vfp[v] = vfs[v];
			}
			r = gpv_share_add_vfs(g, 16, 8, vfp, 6);
			break;
		case 4:
			for (size_t t = 0; t < ELEMENTSOF(p40) && r >= 0; t++) {
				snprintf(id, sizeof(id), "nvidia-%zu", 46 + t);
				snprintf(name, sizeof(name), "GRID P40-%dQ", 24 / p40[t]);
				r = gpv_share_add_mdev(g, id, name, 100.0 / p40[t], p40[t], 0);
			}
			break;
		case 5:
			for (int v = 0; v < 8; v++) {
				snprintf(vfs[v], sizeof(vfs[v]), "%04x:%02x:01.%d",
					(unsigned)(i / 256) & 0xffffu, (unsigned)(i % 256), v);
				vfp[v] = vfs[v];
			}
			r = gpv_share_add_vfs(g, 16, 8, vfp, 8);
			for (size_t t = 0; t < ELEMENTSOF(a100) && r >= 0; t++) {
				snprintf(id, sizeof(id), "%zu", 550 + t);
				snprintf(name, sizeof(name), "NVIDIA A100-%dC", a100[t]);
				r = gpv_share_add_vgpu(g, 0x10de, id, name, 100.0 * a100[t] / 40);
			}
			break;
		}
	}
	if (r < 0) {
		gpv_share_inventory_free(inv);
		return r;
	}
	*ret = inv;
	return 0;
}

static int parse(const char *s, uint64_t max, size_t *ret)
{
	uint64_t v;
	int r = gpv_parse_uint(s, max, &v);

	if (r < 0 || v == 0)
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const double shares[] = {4, 5, 6, 8, 10, 12.5, 15, 20, 25, 33, 50, 100};
	size_t n_gpus = 1000, n_req = 10000, runs = 15, met = 0;
	double *alloc_t, *build_t;
	unsigned seed = 1;

	if (argc > 4 || (argc > 1 && parse(argv[1], 1000000, &n_gpus) < 0) ||
		(argc > 2 && parse(argv[2], 10000000, &n_req) < 0) ||
		(argc > 3 && parse(argv[3], 1000, &runs) < 0)) {
		fputs("usage: bench/plan-alloc [GPUS [REQUESTS [RUNS]]] (positive numbers)\n",
			stderr);
		return 2;
	}
	alloc_t = calloc(runs, sizeof(*alloc_t));
	build_t = calloc(runs, sizeof(*build_t));
	if (!alloc_t || !build_t)
		return 1;
	for (size_t run = 0; run < runs; run++) {
		struct gpv_share_inventory *inv = NULL;
		double t0 = now(), t1;
		int r = build(n_gpus, &inv);

		if (r < 0) {
			fprintf(stderr, "bench/plan-alloc: building the inventory: %s\n",
				strerror(-r));
			return 1;
		}
		t1 = now();
		build_t[run] = t1 - t0;
		met = 0;
		seed = 1;
		for (size_t i = 0; i < n_req; i++) {
			struct gpv_share_result res;

			/* The same pseudo-random mix of shares every run. */
			seed = seed * 1103515245u + 12345u;
			r = gpv_share_allocate(inv, shares[(seed >> 16) % ELEMENTSOF(shares)], &res);
			if (r == 0) {
				met++;
				gpv_share_result_clear(&res);
			} else if (r != -ENOSPC) {
				fprintf(stderr, "bench/plan-alloc: request %zu: %s\n", i + 1,
					strerror(-r));
				return 1;
			}
		}
		alloc_t[run] = now() - t1;
		gpv_share_inventory_free(inv);
	}
	qsort(alloc_t, runs, sizeof(*alloc_t), cmp_double);
	qsort(build_t, runs, sizeof(*build_t), cmp_double);
	printf("requests %zu\ngpus %zu\nruns %zu\nmet %zu\n", n_req, n_gpus, runs, met);
	printf("allocate_median_ms %.3f\nallocate_min_ms %.3f\nallocate_max_ms %.3f\n",
		alloc_t[runs / 2] * 1e3, alloc_t[0] * 1e3, alloc_t[runs - 1] * 1e3);
	printf("inventory_median_ms %.3f\n", build_t[runs / 2] * 1e3);
	free(alloc_t);
	free(build_t);
	return 0;
}
