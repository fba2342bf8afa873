/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lib/root.h"
#include "lib/util.h"
#include "probes/nodedev.h"
#include "probes/precheck.h"
#include "probes/share.h"
#include "tests/unit/tap.h"

/* What libvirt's node device API gives for a GPU, its HDMI audio, a root port (as libvirt
 * writes it: bus, slot and function in decimal, ids in hex). */
static const char gpu[] =
	"<device><name>pci_0000_0b_00_0</name><parent>pci_0000_00_03_1</parent>"
	"<driver><name>vfio-pci</name></driver>"
	"<capability type='pci'><class>0x030000</class><domain>0</domain><bus>11</bus>"
	"<slot>0</slot><function>0</function>"
	"<product id='0x1b06'>GP102 [GeForce GTX 1080 Ti]</product>"
	"<vendor id='0x10de'>NVIDIA Corporation</vendor>"
	"<iommuGroup number='30'>"
	"<address domain='0x0000' bus='0x0b' slot='0x00' function='0x0'/>"
	"<address domain='0x0000' bus='0x0b' slot='0x00' function='0x1'/>"
	"</iommuGroup></capability></device>";
static const char audio[] =
	"<device><name>pci_0000_0b_00_1</name><driver><name>snd_hda_intel</name></driver>"
	"<capability type='pci'><class>0x040300</class><domain>0</domain><bus>11</bus>"
	"<slot>0</slot><function>1</function>"
	"<product id='0x10ef'/><vendor id='0x10de'/>"
	"<iommuGroup number='30'>"
	"<address domain='0x0000' bus='0x0b' slot='0x00' function='0x0'/>"
	"<address domain='0x0000' bus='0x0b' slot='0x00' function='0x1'/>"
	"</iommuGroup></capability></device>";
/* An SR-IOV GPU with two VFs enabled and mdev types, and one of its VFs. */
static const char pf[] =
	"<device><name>pci_0000_41_00_0</name><driver><name>nvidia</name></driver>"
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>65</bus>"
	"<slot>0</slot><function>0</function><product id='0x20b0'/><vendor id='0x10de'/>"
	"<capability type='virt_functions' maxCount='16'>"
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x4'/>"
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x5'/></capability>"
	"<capability type='mdev_types'><type id='nvidia-471'><name>GRID A100-4C</name>"
	"<deviceAPI>vfio-pci</deviceAPI><availableInstances>10</availableInstances></type>"
	"<type id='nvidia-472'><name>GRID A100-5C</name><deviceAPI>vfio-pci</deviceAPI>"
	"<availableInstances>8</availableInstances></type></capability>"
	"<iommuGroup number='64'>"
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/>"
	"</iommuGroup></capability></device>";
static const char vf[] =
	"<device><name>pci_0000_41_00_4</name>"
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>65</bus>"
	"<slot>0</slot><function>4</function><product id='0x20b0'/><vendor id='0x10de'/>"
	"<capability type='phys_function'>"
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></capability>"
	"<iommuGroup number='70'/></capability></device>";
static const char usb[] = "<device><name>usb_1</name><capability type='usb_device'>"
			  "<bus>1</bus><device>1</device></capability></device>";

TEST(gpu_and_audio_make_one_group)
{
	char *xmls[] = { (char *)audio, (char *)gpu, (char *)usb };
	struct gpv_pci *pci = NULL;
	const struct gpv_pci_dev *d;
	const struct gpv_iommu_group *g;

	check_int(gpv_pci_from_nodedev(xmls, ELEMENTSOF(xmls), &pci, NULL), 0);
	check_int((int)pci->n, 2); /* the USB device is no PCI function */
	d = gpv_pci_find(pci, "0000:0b:00.0");
	check(d);
	check_int(d->vendor, 0x10de);
	check_int(d->device, 0x1b06);
	check_int((int)d->class, 0x030000);
	check(d->class_ok);
	check_streq(d->driver, "vfio-pci");
	check_int(d->iommu_group, 30);
	check(gpv_pci_is_display(d));
	check_int(d->boot_vga, -1); /* libvirt does not say */
	g = gpv_pci_group(pci, 30);
	check(g);
	check_int((int)g->members.n, 2);
	check_streq(g->members.v[1], "0000:0b:00.1");
	gpv_pci_free(pci);
}

TEST(sriov_and_mdev_types)
{
	char *xmls[] = { (char *)pf, (char *)vf };
	struct gpv_pci *pci = NULL;
	const struct gpv_pci_dev *d;

	check_int(gpv_pci_from_nodedev(xmls, ELEMENTSOF(xmls), &pci, NULL), 0);
	d = gpv_pci_find(pci, "0000:41:00.0");
	check(d);
	check_int(d->sriov_total_vfs, 16);
	check_int(d->sriov_num_vfs, 2);
	check_streq(d->vfs.v[0], "0000:41:00.4");
	check_int((int)d->n_mdev_types, 2);
	check_streq(d->mdev_types[1].id, "nvidia-472");
	check_streq(d->mdev_types[1].name, "GRID A100-5C");
	check_int((int)d->mdev_types[1].available_instances, 8);
	check(d->mdev_types[0].share_percent < 0); /* not in the XML */
	d = gpv_pci_find(pci, "0000:41:00.4");
	check(d);
	check(d->is_vf);
	check_streq(d->physfn, "0000:41:00.0");
	check_int(d->iommu_group, 70);
	gpv_pci_free(pci);
}

TEST(precheck_over_node_devices)
{
	char *xmls[] = { (char *)gpu, (char *)audio, (char *)pf, (char *)vf };
	struct gpv_pci *pci = NULL;
	struct gpv_precheck *p = NULL;

	check_int(gpv_pci_from_nodedev(xmls, ELEMENTSOF(xmls), &pci, NULL), 0);
	check_int(gpv_precheck_from_pci(pci, NULL, &p), 0);
	/* The two physical GPUs; the VF belongs to its PF. */
	check_int((int)p->n_gpus, 2);
	check_streq(p->gpus[0].dev->addr, "0000:0b:00.0");
	check(p->gpus[0].isolated);
	check_int((int)p->gpus[0].functions.n, 2);
	gpv_precheck_free(p);
}

/* An Intel SR-IOV GPU with 2 of 8 VFs enabled, and one with none of 7, as libvirt shows them:
 * the allocator hears of the VFs from virt_functions and phys_function. */
#define INTEL_PF(BUS, DEC, VFS)                                                                    \
	"<device><name>pci_0000_" BUS "_00_0</name><driver><name>i915</name></driver>"           \
	"<capability type='pci'><class>0x038000</class><domain>0</domain><bus>" DEC "</bus>"     \
	"<slot>0</slot><function>0</function><product id='0x56c0'/><vendor id='0x8086'/>" VFS   \
	"<iommuGroup number='" DEC "'><address domain='0x0000' bus='0x" BUS "' slot='0x00' "     \
	"function='0x0'/></iommuGroup></capability></device>"
#define INTEL_VF(FN, GROUP)                                                                        \
	"<device><name>pci_0000_03_00_" FN "</name><capability type='pci'>"                      \
	"<class>0x038000</class><domain>0</domain><bus>3</bus><slot>0</slot>"                    \
	"<function>" FN "</function><product id='0x56c0'/><vendor id='0x8086'/>"                 \
	"<capability type='phys_function'><address domain='0x0000' bus='0x03' slot='0x00' "      \
	"function='0x0'/></capability><iommuGroup number='" GROUP "'><address "                  \
	"domain='0x0000' bus='0x03' slot='0x00' function='0x" FN "'/></iommuGroup>"             \
	"</capability></device>"

TEST(sriov_vfs_reach_the_allocator)
{
	char *xmls[] = {
		(char *)INTEL_PF("03", "3",
			"<capability type='virt_functions' maxCount='8'>"
			"<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>"
			"<address domain='0x0000' bus='0x03' slot='0x00' function='0x2'/>"
			"</capability>"),
		(char *)INTEL_VF("1", "11"),
		(char *)INTEL_VF("2", "12"),
		(char *)INTEL_PF("05", "5", "<capability type='virt_functions' maxCount='7'/>"),
	};
	struct gpv_pci *pci = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_share_inventory *inv = NULL;
	struct gpv_share_result r = { 0 };
	const struct gpv_pci_dev *d;

	check_int(gpv_pci_from_nodedev(xmls, ELEMENTSOF(xmls), &pci, NULL), 0);
	d = gpv_pci_find(pci, "0000:03:00.2");
	check(d && d->is_vf && !d->driver);
	check_int(d->vgpu_current, -1); /* libvirt does not say */
	d = gpv_pci_find(pci, "0000:05:00.0");
	check(d);
	check_int(d->sriov_total_vfs, 7);
	check_int(d->sriov_num_vfs, 0);
	check_int(gpv_precheck_from_pci(pci, NULL, &p), 0);
	check_int((int)p->n_gpus, 2);
	check_int(gpv_share_inventory_new(p, &inv), 0);
	check_int((int)inv->n, 2);
	check_streq(inv->gpus[0].addr, "0000:03:00.0");
	check_int(inv->gpus[0].vfs_total, 8);
	check_int(inv->gpus[0].vfs_enabled, 2);
	check_int((int)inv->gpus[0].free_vfs.n, 2);
	check_int(inv->gpus[1].vfs_total, 7);
	check_int(inv->gpus[1].vfs_enabled, 0);
	/* 50%: an enabled VF; 30%: VFs to enable on the other GPU (3 of them, 33.33%). */
	check_int(gpv_share_allocate(inv, 50, &r), 0);
	check_int(r.kind, GPV_SHARE_VF);
	check_streq(r.partition, "0000:03:00.1");
	gpv_share_result_clear(&r);
	check_int(gpv_share_allocate(inv, 30, &r), 0);
	check_int(r.kind, GPV_SHARE_VF);
	check_streq(r.partition, "VF to enable: sriov_numvfs 3");
	gpv_share_result_clear(&r);
	gpv_share_inventory_free(inv);
	gpv_precheck_free(p);
}

TEST(bad_xml_says_which)
{
	char *xmls[] = { (char *)gpu, (char *)"<device><name>x</name" };
	char *noaddr[] = { (char *)"<device><name>pci_bad</name><capability type='pci'>"
				   "<class>0x030000</class><bus>300</bus></capability></device>" };
	struct gpv_pci *pci = NULL;
	char *why = NULL;

	check_int(gpv_pci_from_nodedev(xmls, ELEMENTSOF(xmls), &pci, &why), -EINVAL);
	check(why && strstr(why, "node device 2"));
	free(why);
	why = NULL;
	check_int(gpv_pci_from_nodedev(noaddr, 1, &pci, &why), -EINVAL);
	check(why && strstr(why, "pci_bad"));
	free(why);
}

TEST(nothing)
{
	struct gpv_pci *pci = NULL;

	check_int(gpv_pci_from_nodedev(NULL, 0, &pci, NULL), 0);
	check_int((int)pci->n, 0);
	check_int((int)pci->n_groups, 0);
	gpv_pci_free(pci);
}
