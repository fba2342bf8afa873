/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/kmod.h"
#include "lib/log.h"
#include "probes/host.h"

int gpv_host_probe(struct gpv_root *root, const struct gpv_pci *pci, struct gpv_host *ret)
{
	_cleanup_free_ char *cpuinfo = NULL, *cmdline = NULL, *release = NULL;
	struct gpv_host h = {0};
	int r;

	r = gpv_root_read(root, "/proc/cpuinfo", 16 * 1024 * 1024, &cpuinfo, NULL);
	if (r == 0)
		h.cpu_ok = gpv_cpuinfo_parse(cpuinfo, &h.cpu) == 0;
	else
		gpv_debug("/proc/cpuinfo: %s", strerror(-r));

	if (gpv_root_read(root, "/proc/sys/kernel/osrelease", 4096, &release, NULL) == 0 &&
		*gpv_strip(release))
		h.kernel = TAKE_PTR(release);

	h.kvm = gpv_root_exists(root, "/dev/kvm") == 0;

	if (gpv_root_exists(root, "/sys/firmware/acpi/tables/DMAR") == 0)
		h.firmware_table = "DMAR";
	else if (gpv_root_exists(root, "/sys/firmware/acpi/tables/IVRS") == 0)
		h.firmware_table = "IVRS";

	h.groups = (int)pci->n_groups;
	h.iommu_active = h.groups > 0;

	r = gpv_root_read(root, "/proc/cmdline", 1024 * 1024, &cmdline, NULL);
	if (r == 0) {
		r = gpv_cmdline_parse(cmdline, &h.cmdline);
		if (r < 0) {
			gpv_host_clear(&h);
			return r;
		}
		h.cmdline_ok = true;
	} else {
		gpv_debug("/proc/cmdline: %s", strerror(-r));
	}

	if (gpv_root_exists(root, "/etc/default/grub") == 0)
		h.bootloader = GPV_BOOT_GRUB;
	else if (gpv_root_exists(root, "/etc/kernel/cmdline") == 0 ||
		 gpv_root_exists(root, "/boot/loader/entries") == 0 ||
		 gpv_root_exists(root, "/boot/efi/loader/entries") == 0)
		h.bootloader = GPV_BOOT_SYSTEMD_BOOT;
	*ret = h;
	return 0;
}

void gpv_host_clear(struct gpv_host *h)
{
	gpv_cpuinfo_clear(&h->cpu);
	gpv_cmdline_clear(&h->cmdline);
	free(h->kernel);
	*h = (struct gpv_host){0};
}

int gpv_host_param_fix(const struct gpv_host *h, const char *verb, const char *params, char **ret)
{
	const char *k = h->kernel ? h->kernel : "$(uname -r)";

	switch (h->bootloader) {
	case GPV_BOOT_GRUB:
		return gpv_asprintf(ret,
			"%s '%s' %s GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run "
			"'update-grub' (Fedora: 'grub2-mkconfig -o /boot/grub2/grub.cfg') and "
			"reboot",
			verb, params, streq(verb, "add") ? "to" : "from");
	case GPV_BOOT_SYSTEMD_BOOT:
		return gpv_asprintf(ret,
			"%s '%s' %s /etc/kernel/cmdline, run 'kernel-install add %s "
			"/boot/vmlinuz-%s' to rewrite the systemd-boot entry and reboot",
			verb, params, streq(verb, "add") ? "to" : "from", k, k);
	default:
		return gpv_asprintf(ret,
			"%s '%s' %s the kernel command line and reboot: with GRUB in "
			"GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub, then 'update-grub'; "
			"with systemd-boot in /etc/kernel/cmdline, then 'kernel-install add %s "
			"/boot/vmlinuz-%s'",
			verb, params, streq(verb, "add") ? "to" : "from", k, k);
	}
}

static int add_check(
	struct gpv_precheck *p, const char *id, enum gpv_status status, char *message, char *fix)
{
	struct gpv_check *c;

	if (!message || p->n_checks >= GPV_MAX_CHECKS) {
		free(message);
		free(fix);
		return -ENOMEM;
	}
	c = &p->checks[p->n_checks++];
	c->id = id;
	c->status = status;
	c->message = message;
	c->fix = fix;
	return 0;
}

static int check_cpu(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;

	if (!h->cpu_ok)
		return add_check(p, "cpu.virt", GPV_SKIP,
			gpv_strf("cannot read the CPU flags from /proc/cpuinfo"), NULL);
	if (h->cpu.vmx)
		return add_check(p, "cpu.virt", GPV_PASS,
			gpv_strf("Intel VT-x (vmx) is enabled on the CPU"), NULL);
	if (h->cpu.svm)
		return add_check(p, "cpu.virt", GPV_PASS,
			gpv_strf("AMD-V (svm) is enabled on the CPU"), NULL);
	if (h->cpu.hypervisor)
		return add_check(p, "cpu.virt", GPV_FAIL,
			gpv_strf("the CPU shows neither vmx nor svm, and this host is itself a "
				 "virtual machine"),
			gpv_strf(
				"enable nested virtualization on the outer hypervisor: on KVM load "
				"kvm_intel or kvm_amd with 'nested=1' and give this VM the "
				"host's CPU model ('-cpu host', or 'host-passthrough' in "
				"libvirt); on VMware tick 'Expose hardware assisted "
				"virtualization to the guest OS'; on Hyper-V run "
				"'Set-VMProcessor -ExposeVirtualizationExtensions $true'"));
	switch (h->cpu.vendor) {
	case GPV_CPU_INTEL:
		return add_check(p, "cpu.virt", GPV_FAIL,
			gpv_strf("the CPU shows no vmx flag: VT-x is disabled or absent"),
			gpv_strf("enable 'Intel Virtualization Technology' (VT-x) in the firmware "
				 "setup (UEFI/BIOS, usually under Advanced > CPU "
				 "Configuration), save and power the machine off and on"));
	case GPV_CPU_AMD:
		return add_check(p, "cpu.virt", GPV_FAIL,
			gpv_strf("the CPU shows no svm flag: AMD-V is disabled or absent"),
			gpv_strf("enable 'SVM Mode' (AMD-V) in the firmware setup (UEFI/BIOS, "
				 "usually under Advanced > CPU Configuration or OC > Advanced "
				 "CPU Settings), save and power the machine off and on"));
	default:
		return add_check(p, "cpu.virt", GPV_FAIL,
			gpv_strf("the CPU shows neither vmx nor svm: no hardware virtualization"),
			gpv_strf("enable hardware virtualization in the firmware setup; KVM on x86 "
				 "needs Intel VT-x or AMD-V"));
	}
}

static const char *kvm_module(const struct gpv_host *h)
{
	return h->cpu.vendor == GPV_CPU_AMD || h->cpu.svm ? "kvm_amd" : "kvm_intel";
}

static int check_kvm(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;

	if (h->kvm)
		return add_check(p, "kvm.device", GPV_PASS, gpv_strf("/dev/kvm is present"), NULL);
	if (h->cpu.vmx || h->cpu.svm)
		return add_check(p, "kvm.device", GPV_FAIL,
			gpv_strf("/dev/kvm is missing although the CPU supports virtualization"),
			gpv_strf("load the KVM module: 'modprobe %s'; if that fails, 'dmesg | grep "
				 "-i kvm' says why",
				kvm_module(h)));
	return add_check(p, "kvm.device", GPV_FAIL,
		gpv_strf("/dev/kvm is missing: the kernel cannot run hardware-accelerated VMs"),
		gpv_strf("follows from cpu.virt: once the CPU shows %s, 'modprobe %s' creates "
			 "/dev/kvm",
			h->cpu.vendor == GPV_CPU_AMD ? "svm" : "vmx", kvm_module(h)));
}

static char *firmware_fix(const struct gpv_host *h)
{
	if (h->cpu.hypervisor)
		return gpv_strf(
			"this host is a virtual machine: its hypervisor must give it an IOMMU "
			"(QEMU: '-machine q35,kernel-irqchip=split -device "
			"intel-iommu,intremap=on,caching-mode=on'; libvirt: <iommu "
			"model='intel'/> in <devices>) and pass a GPU through to it");
	if (h->cpu.vendor == GPV_CPU_AMD)
		return gpv_strf("enable 'IOMMU' (AMD-Vi) in the firmware setup, usually under "
				"Advanced > AMD CBS > NBIO Common Options, and set it to "
				"'Enabled' rather than 'Auto'");
	if (h->cpu.vendor == GPV_CPU_INTEL)
		return gpv_strf(
			"enable 'VT-d' (Intel Virtualization Technology for Directed I/O) in the "
			"firmware setup, usually under Advanced > System Agent or Chipset "
			"Configuration");
	return gpv_strf("enable the IOMMU (Intel VT-d or AMD-Vi) in the firmware setup");
}

static int check_firmware(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;

	if (h->firmware_table)
		return add_check(p, "iommu.firmware", GPV_PASS,
			gpv_strf("the firmware describes an IOMMU (ACPI %s table, %s)",
				h->firmware_table,
				streq(h->firmware_table, "DMAR") ? "Intel VT-d" : "AMD-Vi"),
			NULL);
	return add_check(p, "iommu.firmware", GPV_WARN,
		gpv_strf("the firmware describes no IOMMU: no ACPI DMAR or IVRS table"),
		firmware_fix(h));
}

/* The parameters that turn the IOMMU off, as the user wrote them. */
static char *disabling_params(const struct gpv_cmdline *c)
{
	char buf[512] = "";

	if (c->intel_iommu && gpv_option_has(c->intel_iommu, "off"))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%sintel_iommu=%s",
			*buf ? " " : "", c->intel_iommu);
	if (c->amd_iommu && gpv_option_has(c->amd_iommu, "off"))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%samd_iommu=%s",
			*buf ? " " : "", c->amd_iommu);
	if (c->iommu && (gpv_option_has(c->iommu, "off") || gpv_option_has(c->iommu, "soft")))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%siommu=%s",
			*buf ? " " : "", c->iommu);
	return *buf ? strdup(buf) : NULL;
}

static bool intel_needs_param(const struct gpv_host *h)
{
	return h->cpu.vendor == GPV_CPU_INTEL && !h->iommu_active &&
	       !gpv_option_has(h->cmdline.intel_iommu, "on");
}

static int check_active(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	_cleanup_free_ char *off = disabling_params(&h->cmdline);
	char *fix = NULL, *fw;
	int r;

	if (h->iommu_active)
		return add_check(p, "iommu.active", GPV_PASS,
			gpv_strf("the IOMMU is active: %d IOMMU groups", h->groups), NULL);
	if (off) {
		r = gpv_host_param_fix(h, "remove", off, &fix);
	} else if (!h->firmware_table) {
		fw = firmware_fix(h);
		if (!fw)
			return -ENOMEM;
		if (intel_needs_param(h)) {
			_cleanup_free_ char *param = NULL;

			r = gpv_host_param_fix(h, "add", "intel_iommu=on iommu=pt", &param);
			if (r == 0)
				r = gpv_asprintf(&fix, "%s; then %s", fw, param);
			free(fw);
		} else {
			fix = fw;
			r = 0;
		}
	} else if (intel_needs_param(h)) {
		r = gpv_host_param_fix(h, "add", "intel_iommu=on iommu=pt", &fix);
	} else {
		r = gpv_asprintf(&fix,
			"the firmware has an %s table but the kernel made no groups: 'dmesg | grep "
			"-i -e DMAR -e AMD-Vi -e IOMMU' says why; check that the kernel is built "
			"with %s",
			h->firmware_table,
			streq(h->firmware_table, "DMAR") ? "CONFIG_INTEL_IOMMU"
							 : "CONFIG_AMD_IOMMU");
	}
	if (r < 0)
		return r;
	return add_check(p, "iommu.active", GPV_FAIL,
		gpv_strf("the IOMMU is not active: the kernel created no IOMMU groups%s%s",
			off ? ", it is turned off by " : "", off ? off : ""),
		fix);
}

static int check_cmdline(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	const struct gpv_cmdline *c = &h->cmdline;
	_cleanup_free_ char *off = NULL;
	char *fix = NULL;
	int r;

	if (!h->cmdline_ok)
		return add_check(
			p, "iommu.cmdline", GPV_SKIP, gpv_strf("cannot read /proc/cmdline"), NULL);
	off = disabling_params(c);
	if (off) {
		r = gpv_host_param_fix(h, "remove", off, &fix);
		if (r < 0)
			return r;
		return add_check(p, "iommu.cmdline", GPV_WARN,
			gpv_strf("the kernel command line turns the IOMMU off: %s", off), fix);
	}
	if (intel_needs_param(h)) {
		r = gpv_host_param_fix(h, "add", "intel_iommu=on iommu=pt", &fix);
		if (r < 0)
			return r;
		return add_check(p, "iommu.cmdline", GPV_WARN,
			gpv_strf("this kernel does not turn the Intel IOMMU on by itself and the "
				 "command line has no intel_iommu=on"),
			fix);
	}
	if (c->bad_vfio_ids.n > 0) {
		_cleanup_free_ char *bad = NULL;

		r = gpv_asprintf(
			&bad, "%s%s", c->bad_vfio_ids.v[0], c->bad_vfio_ids.n > 1 ? ", ..." : "");
		if (r < 0)
			return r;
		return add_check(p, "iommu.cmdline", GPV_WARN,
			gpv_strf("vfio-pci.ids holds '%s', which is not a VENDOR:DEVICE pair; the "
				 "kernel ignores the whole list",
				bad),
			gpv_strf("write vfio-pci.ids as comma-separated hexadecimal IDs, e.g. "
				 "'vfio-pci.ids=10de:1b80,10de:10f0'"));
	}
	if (!c->intel_iommu && !c->amd_iommu && !c->iommu)
		return add_check(p, "iommu.cmdline", GPV_PASS,
			gpv_strf("no IOMMU parameters%s",
				h->iommu_active ? "; this kernel turns the IOMMU on by itself"
						: ""),
			NULL);
	return add_check(p, "iommu.cmdline", GPV_PASS,
		gpv_strf("IOMMU parameters:%s%s%s%s%s%s", c->intel_iommu ? " intel_iommu=" : "",
			c->intel_iommu ? c->intel_iommu : "", c->amd_iommu ? " amd_iommu=" : "",
			c->amd_iommu ? c->amd_iommu : "", c->iommu ? " iommu=" : "",
			c->iommu ? c->iommu : ""),
		NULL);
}

static int check_acs(struct gpv_precheck *p)
{
	const struct gpv_host *h = &p->host;
	char *fix = NULL;
	int r;

	if (!h->cmdline_ok)
		return add_check(p, "iommu.acs_override", GPV_SKIP,
			gpv_strf("cannot read /proc/cmdline"), NULL);
	if (!h->cmdline.acs_override)
		return add_check(p, "iommu.acs_override", GPV_PASS,
			gpv_strf("no ACS override: IOMMU groups are as the hardware isolates them"),
			NULL);
	r = gpv_asprintf(&fix,
		"prefer a slot whose group is isolated without it (usually the CPU-attached x16 "
		"slot); if you keep it, know that devices in the split groups can still reach "
		"each other's memory. To drop it: %s",
		"remove 'pcie_acs_override' from the kernel command line");
	if (r < 0)
		return r;
	return add_check(p, "iommu.acs_override", GPV_WARN,
		gpv_strf("pcie_acs_override=%s: the kernel splits IOMMU groups the hardware does "
			 "not isolate, so they are not enforced",
			h->cmdline.acs_override),
		fix);
}

static int check_vfio(struct gpv_root *root, struct gpv_precheck *p)
{
	struct gpv_kmod_info info;
	int r = gpv_kmod_lookup(root, "vfio-pci", &info);

	if (r == -ENOENT) {
		const char *k = p->host.kernel ? p->host.kernel : "(unknown)";

		if (gpv_root_is_host(root))
			return add_check(p, "vfio.module", GPV_SKIP,
				gpv_strf("no module index for the running kernel %s "
					 "(/lib/modules/%s/modules.dep.bin is missing): cannot "
					 "tell whether vfio-pci is available",
					k, k),
				NULL);
		return add_check(p, "vfio.module", GPV_SKIP,
			gpv_strf("no module index for kernel %s in this recorded machine: cannot "
				 "tell whether vfio-pci is available",
				k),
			NULL);
	}
	if (r < 0)
		return add_check(p, "vfio.module", GPV_SKIP,
			gpv_strf("cannot read the module index: %s", strerror(-r)), NULL);
	if (info.blacklisted)
		r = add_check(p, "vfio.module", GPV_FAIL,
			gpv_strf("vfio_pci is blacklisted%s%s", info.blacklist_file ? " in " : "",
				info.blacklist_file ? info.blacklist_file : ""),
			gpv_strf("remove the 'blacklist vfio_pci' line from %s",
				info.blacklist_file ? info.blacklist_file
						    : "the modprobe.d files"));
	else if (info.loaded)
		r = add_check(p, "vfio.module", GPV_PASS, gpv_strf("vfio_pci is loaded"), NULL);
	else if (info.state == GPV_KMOD_BUILTIN)
		r = add_check(p, "vfio.module", GPV_PASS,
			gpv_strf("vfio-pci is built into kernel %s", info.kernel), NULL);
	else if (info.state == GPV_KMOD_MODULE)
		r = add_check(p, "vfio.module", GPV_PASS,
			gpv_strf("vfio-pci is available as a module (%s)", info.path), NULL);
	else
		r = add_check(p, "vfio.module", GPV_FAIL,
			gpv_strf("kernel %s has no vfio-pci module", info.kernel),
			gpv_strf("install the modules of kernel %s (Debian: the linux-image "
				 "package; some distributions split them into "
				 "linux-modules-extra), or build the kernel with CONFIG_VFIO_PCI=m",
				info.kernel));
	gpv_kmod_info_clear(&info);
	return r;
}

int gpv_host_checks(struct gpv_root *root, struct gpv_precheck *p)
{
	int r;

	if ((r = check_cpu(p)) < 0 || (r = check_kvm(p)) < 0 || (r = check_firmware(p)) < 0 ||
		(r = check_active(p)) < 0 || (r = check_cmdline(p)) < 0 || (r = check_acs(p)) < 0 ||
		(r = check_vfio(root, p)) < 0)
		return r;
	return 0;
}
