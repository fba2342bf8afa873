/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "probes/parse.h"
#include "tests/unit/tap.h"

TEST(cpuinfo_intel_vmx)
{
	struct gpv_cpuinfo c;

	check_int(gpv_cpuinfo_parse("processor\t: 0\nvendor_id\t: GenuineIntel\n"
				    "model name\t: Intel(R) Xeon(R) Gold 6338\n"
				    "flags\t\t: fpu vme vmx ept\n\nprocessor\t: 1\n"
				    "flags\t\t: fpu\n",
			  &c),
		0);
	check(c.vendor == GPV_CPU_INTEL);
	check(c.vmx && !c.svm && !c.hypervisor);
	check_streq(c.model, "Intel(R) Xeon(R) Gold 6338");
	check_int(c.processors, 2);
	gpv_cpuinfo_clear(&c);
}

TEST(cpuinfo_amd_svm_and_hygon)
{
	struct gpv_cpuinfo c;

	check_int(
		gpv_cpuinfo_parse("processor : 0\nvendor_id : AuthenticAMD\nflags : svm npt\n", &c),
		0);
	check(c.vendor == GPV_CPU_AMD && c.svm && !c.vmx);
	gpv_cpuinfo_clear(&c);
	check_int(
		gpv_cpuinfo_parse("processor : 0\nvendor_id : HygonGenuine\nflags : svm\n", &c), 0);
	check(c.vendor == GPV_CPU_AMD);
	gpv_cpuinfo_clear(&c);
}

TEST(cpuinfo_words_not_substrings)
{
	struct gpv_cpuinfo c;

	/* "vmxx" and "nosvm" are not the flags. */
	check_int(gpv_cpuinfo_parse("processor : 0\nflags : vmxx nosvm hypervisor\n", &c), 0);
	check(!c.vmx && !c.svm && c.hypervisor);
	check(c.vendor == GPV_CPU_OTHER);
	gpv_cpuinfo_clear(&c);
}

TEST(cpuinfo_garbage)
{
	struct gpv_cpuinfo c;

	check_int(gpv_cpuinfo_parse("", &c), -ENODATA);
	check_int(gpv_cpuinfo_parse("\x01\x02 no colon here\n::::\n", &c), -ENODATA);
	check_int(gpv_cpuinfo_parse("flags", &c), -ENODATA);
}

TEST(cmdline_iommu_parameters)
{
	struct gpv_cmdline c;

	check_int(gpv_cmdline_parse("BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on,sm_on "
				    "iommu=pt pcie_acs_override=downstream,multifunction\n",
			  &c),
		0);
	check_streq(c.intel_iommu, "on,sm_on");
	check(gpv_option_has(c.intel_iommu, "on"));
	check(gpv_option_has(c.intel_iommu, "sm_on"));
	check(!gpv_option_has(c.intel_iommu, "o"));
	check_streq(c.iommu, "pt");
	check_streq(c.acs_override, "downstream,multifunction");
	check(c.amd_iommu == NULL);
	check_int(c.vfio_pci_ids.n, 0);
	gpv_cmdline_clear(&c);
}

TEST(cmdline_last_wins_quotes_and_init_args)
{
	struct gpv_cmdline c;

	check_int(gpv_cmdline_parse(
			  "amd_iommu=off amd_iommu=on \"iommu=pt\" quiet -- iommu=off\n", &c),
		0);
	check_streq(c.amd_iommu, "on");
	check_streq(c.iommu, "pt");
	gpv_cmdline_clear(&c);
}

TEST(cmdline_vfio_ids)
{
	struct gpv_cmdline c;

	check_int(gpv_cmdline_parse(
			  "vfio-pci.ids=10DE:1B80,10de:10f0 vfio_pci.ids=1002:67df,bad,,1234:56789",
			  &c),
		0);
	/* The last occurrence replaces the first. */
	check_int(c.vfio_pci_ids.n, 1);
	check_streq(c.vfio_pci_ids.v[0], "1002:67df");
	check_int(c.bad_vfio_ids.n, 2);
	check_streq(c.bad_vfio_ids.v[0], "bad");
	gpv_cmdline_clear(&c);
	check_int(gpv_cmdline_parse("vfio-pci.ids=10DE:1B80,10de:10f0", &c), 0);
	check_int(c.vfio_pci_ids.n, 2);
	check_streq(c.vfio_pci_ids.v[0], "10de:1b80");
	gpv_cmdline_clear(&c);
}

TEST(cmdline_empty_and_unterminated_quote)
{
	struct gpv_cmdline c;

	check_int(gpv_cmdline_parse("", &c), 0);
	check(!c.intel_iommu && !c.iommu);
	gpv_cmdline_clear(&c);
	check_int(gpv_cmdline_parse("\"intel_iommu=on iommu=pt", &c), 0);
	check_streq(c.intel_iommu, "on iommu=pt");
	gpv_cmdline_clear(&c);
}

TEST(uevent_lookup)
{
	char *v = NULL;
	const char *ue =
		"DRIVER=nvidia\nPCI_CLASS=30000\nPCI_ID=10DE:21C4\nPCI_SLOT_NAME=0000:01:00.0\n";

	check_int(gpv_uevent_get(ue, "DRIVER", &v), 0);
	check_streq(v, "nvidia");
	free(v);
	check_int(gpv_uevent_get(ue, "PCI_ID", &v), 0);
	check_streq(v, "10DE:21C4");
	free(v);
	check_int(gpv_uevent_get(ue, "PCI", &v), -ENOENT);
	check_int(gpv_uevent_get("DRIVER=", "DRIVER", &v), -ENOENT);
	check_int(gpv_uevent_get("", "DRIVER", &v), -ENOENT);
}

TEST(mdev_description_nvidia)
{
	struct gpv_mdev_desc d;

	check_int(gpv_mdev_desc_parse("num_heads=4, frl_config=60, framebuffer=2048M, "
				      "max_resolution=4096x2160, max_instance=8",
			  &d),
		0);
	check_int(d.max_instance, 8);
	check_int(d.framebuffer_mib, 2048);
	check_int(d.weight, -1);
	check_streq(d.resolution, "4096x2160");
	gpv_mdev_desc_clear(&d);
	check_int(gpv_mdev_desc_parse("framebuffer=4G, max_instance=2", &d), 0);
	check_int(d.framebuffer_mib, 4096);
	gpv_mdev_desc_clear(&d);
}

TEST(mdev_description_gvtg)
{
	struct gpv_mdev_desc d;

	check_int(gpv_mdev_desc_parse("low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n"
				      "resolution: 1920x1200\nweight: 4\n",
			  &d),
		0);
	check_int(d.weight, 4);
	check_int(d.max_instance, -1);
	check_int(d.framebuffer_mib, -1);
	check_streq(d.resolution, "1920x1200");
	gpv_mdev_desc_clear(&d);
}

TEST(mdev_description_garbage)
{
	struct gpv_mdev_desc d;

	check_int(gpv_mdev_desc_parse("max_instance=, weight: x, framebuffer=M, =,:,,\n", &d), 0);
	check_int(d.max_instance, -1);
	check_int(d.weight, -1);
	check_int(d.framebuffer_mib, -1);
	gpv_mdev_desc_clear(&d);
	check_int(gpv_mdev_desc_parse("max_instance=99999999999999999999", &d), 0);
	check_int(d.max_instance, -1);
	gpv_mdev_desc_clear(&d);
}

TEST(ids_lookup_ranges_and_comments)
{
	const char *text = "# comment 1002 67df\n"
			   "1002 67c0-67df  AMD Polaris 10 | vendor-reset\n"
			   "1a03 2000  ASPEED\n"
			   "102b 05zz  broken line\n"
			   "1002 7340-\n";
	char *rest = NULL;

	check_int(gpv_ids_lookup(text, 0x1002, 0x67df, &rest), 1);
	check_streq(rest, "AMD Polaris 10 | vendor-reset");
	free(rest);
	check_int(gpv_ids_lookup(text, 0x1002, 0x67c0, NULL), 1);
	check_int(gpv_ids_lookup(text, 0x1002, 0x67e0, NULL), 0);
	check_int(gpv_ids_lookup(text, 0x1a03, 0x2000, &rest), 1);
	check_streq(rest, "ASPEED");
	free(rest);
	check_int(gpv_ids_lookup(text, 0x1002, 0x7340, NULL), 0);
	check_int(gpv_ids_lookup("", 0x1002, 0x7340, NULL), 0);
}

TEST(pci_addresses)
{
	char a[13];

	check(gpv_pci_addr_valid("0000:01:00.0"));
	check(!gpv_pci_addr_valid("0000:01:00.8"));
	check(!gpv_pci_addr_valid("0000:01:20.0"));
	check(!gpv_pci_addr_valid("0000:01:00"));
	check(!gpv_pci_addr_valid("0000:g1:00.0"));
	check_int(gpv_pci_addr_normalize("01:00.1", a), 0);
	check_streq(a, "0000:01:00.1");
	check_int(gpv_pci_addr_normalize("0000:0A:1F.7", a), 0);
	check_streq(a, "0000:0a:1f.7");
	check_int(gpv_pci_addr_normalize("1:00.1", a), -EINVAL);
}

TEST(number_parsing)
{
	uint64_t v;

	check_int(gpv_parse_hex("0x030000\n", 0xffffff, &v), 0);
	check_int(v, 0x030000);
	check_int(gpv_parse_hex("0x1000000", 0xffffff, &v), -ERANGE);
	check_int(gpv_parse_hex("0x03zz00", 0xffffff, &v), -EINVAL);
	check_int(gpv_parse_hex("", 0xffffff, &v), -EINVAL);
	check_int(gpv_parse_hex("-1", 0xffffff, &v), -EINVAL);
	check_int(gpv_parse_uint("42 \n", 100, &v), 0);
	check_int(v, 42);
	check_int(gpv_parse_uint("4 2", 100, &v), -EINVAL);
	check_int(gpv_parse_uint("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
}
