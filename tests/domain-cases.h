/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The slices tests build domains for (tests/unit/test-domain.c, tests/domain-tool.c). */
#include "templates/domain.h"

static const struct {
	const char *name;
	struct gpv_slice slice;
} domain_cases[] = {
	{"none", {.kind = GPV_SLICE_NONE}},
	/* A GeForce with its HDMI audio function. */
	{"whole-geforce",
		{.kind = GPV_SLICE_WHOLE,
			.addrs = {"0000:01:00.0", "0000:01:00.1"},
			.n_addrs = 2,
			.vendor = 0x10de,
			.device = 0x2184,
			.subsystem_vendor = 0x1462,
			.geforce_like = true}},
	/* A Radeon: no Code 43 quirk. */
	{"whole-radeon",
		{.kind = GPV_SLICE_WHOLE,
			.addrs = {"0000:0c:00.0", "0000:0c:00.1"},
			.n_addrs = 2,
			.vendor = 0x1002,
			.device = 0x73bf}},
	/* Intel integrated graphics, whole. */
	{"whole-igpu",
		{.kind = GPV_SLICE_WHOLE,
			.addrs = {"0000:00:02.0"},
			.n_addrs = 1,
			.vendor = 0x8086,
			.device = 0x3e92}},
	/* An SR-IOV virtual function of an Intel Flex card. */
	{"vf",
		{.kind = GPV_SLICE_VF,
			.addrs = {"0000:4d:00.1"},
			.n_addrs = 1,
			.vendor = 0x8086,
			.device = 0x56c0}},
	/* Intel GVT-g: a type with a display. */
	{"mdev-display",
		{.kind = GPV_SLICE_MDEV,
			.mdev_uuid = "4b20d080-1b54-4048-85b3-a6a62d165c01",
			.mdev_type = "i915-GVTg_V5_4",
			.mdev_parent = "0000:00:02.0",
			.mdev_display = true,
			.vendor = 0x8086,
			.device = 0x3e92}},
	/* An NVIDIA vGPU type without a display. */
	{"mdev",
		{.kind = GPV_SLICE_MDEV,
			.mdev_uuid = "aa618089-8b16-4d01-a136-25a0f3c73123",
			.mdev_type = "nvidia-63",
			.mdev_parent = "0000:41:00.0",
			.vendor = 0x10de,
			.device = 0x1eb8}},
	/* An NVIDIA SR-IOV vGPU: a VF of an A100 that holds a vGPU type. */
	{"vgpu",
		{.kind = GPV_SLICE_VGPU,
			.addrs = {"0000:41:00.4"},
			.n_addrs = 1,
			.vendor = 0x10de,
			.device = 0x20b0}},
};
