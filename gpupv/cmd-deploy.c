/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpupv/gpupv.h"
#include "lib/image.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"
#include "lib/virt.h"
#include "lib/xml.h"
#include "probes/bind.h"
#include "probes/nodedev.h"
#include "probes/share.h"
#include "templates/domain.h"
#include "templates/password.h"
#include "templates/seed.h"
#include "templates/validate.h"

/*
 * deploy and undeploy. deploy plans every change first (the steps below), prints the plan
 * with --dry-run, and otherwise makes the changes in order, undoing those already made, in
 * reverse, when one fails. What gpupv made for a domain is recorded in the domain's own
 * metadata (namespace META_URI), which is what undeploy reads: the GPU or VF it bound, the mdev
 * it created (and its libvirt node device), the VFs it enabled, the NVIDIA vGPU type it gave a
 * VF.
 */
#define META_URI "https://gpupv.org/deploy/1"
#define META_PREFIX "gpupv"

enum step_kind {
	STEP_REPLACE,	  /* undeploy the existing domain of that name (--replace) */
	STEP_ENABLE_VFS,  /* sriov_numvfs of the PF, for a VF slice on a PF with none enabled */
	STEP_BIND,	  /* the whole GPU, or the VF, to vfio-pci, through bind's plan */
	STEP_DETACH,	  /* the whole GPU to vfio-pci through libvirt (a host gpupv cannot write) */
	STEP_CREATE_MDEV, /* the mdev slice: through libvirt's node devices, else sysfs */
	STEP_CREATE_VGPU, /* the NVIDIA vGPU slice: the type written to a VF (current_vgpu_type) */
	STEP_VOLUME,	  /* the disk, in the pool */
	STEP_SEED,	  /* the unattended-install medium, beside the disk */
	STEP_DEFINE,	  /* the domain, with its metadata */
	STEP_START,
};

struct step {
	enum step_kind kind;
	char *what; /* printed with --dry-run; never holds the password */
	bool done;
};

struct deploy {
	/* what was asked */
	const char *name, *template, *gpu_arg, *uri, *pool, *network, *iso, *virtio_iso;
	const char *user, *password_file;
	const char *import_arg, *kernel_arg, *initrd_arg, *cmdline, *serial_log_arg;
	uint64_t memory, disk;
	unsigned cpus, share, autologon;
	bool no_start, replace, looking_glass, dry_run, disk_given;
	char *password;
	/* The person's files, as the absolute paths the domain gets (resolve_files()). */
	char *import_path, *kernel, *initrd, *serial_log;
	const char *import_format; /* "qcow2" or "raw", from the image's first bytes */
	/* --replace of a domain whose volume is the image --import boots: the volume stays. */
	bool replace_keeps_disk;
	/* what was found and planned */
	struct gpv_virt *virt;
	bool kvm;
	char gpu[13];
	struct gpv_slice slice;
	char *volume, *volume_path, *xml, *seed_path;
	enum gpv_guest_os os;
	struct step steps[8];
	size_t n_steps;
	struct gpv_root *root;
	struct gpv_plan *bind_plan;
	/* the slice, when the share allocator chose it (--share below 100, or --gpu auto) */
	char *share_why;	  /* the allocator's one line */
	char *mdev_type;	  /* owns d->slice.mdev_type */
	char *nodedev;		  /* the mdev's libvirt node device, once created through libvirt */
	char pf[13];		  /* VF and vGPU slices: the PF */
	int enable_vfs;		  /* VF slice: sriov_numvfs to write (the PF had none); 0: none */
	int vf_index;		  /* VF slice: virtfnN of the PF */
	char *vgpu_type;	  /* vGPU slice: the type id ("557"), written to the VF (d->gpu) */
	char *vgpu_name;	  /* vGPU slice: the type's name ("NVIDIA A100-4C") */
	bool vgpu_made;		  /* vGPU slice: the VF took the type and holds it */
	struct gpv_template *tpl; /* kept to rebuild the XML once the VF exists */
	/* The GPUs come from libvirt's node device API (a remote host, or the test driver), not
	 * from this machine's sysfs; a whole GPU then moves through libvirt. */
	bool from_libvirt;
	gpv_strv detach;    /* the functions to detach, in order; the GPU last */
	size_t detached;    /* how many of them are */
	size_t failed_step; /* from 1; 0 none */
	bool quiet;	    /* --json: the steps are not printed as they are done */
};

static const char *step_kind_str(enum step_kind k)
{
	static const char *const names[] = {
		[STEP_REPLACE] = "remove-existing",
		[STEP_ENABLE_VFS] = "enable-vfs",
		[STEP_BIND] = "bind",
		[STEP_DETACH] = "detach",
		[STEP_CREATE_MDEV] = "create-mdev",
		[STEP_CREATE_VGPU] = "create-vgpu",
		[STEP_VOLUME] = "create-volume",
		[STEP_SEED] = "write-seed",
		[STEP_DEFINE] = "define",
		[STEP_START] = "start",
	};

	return names[k];
}

static int print_json(const struct deploy *d)
{
	struct gpv_deploy_step_out out[ELEMENTSOF(d->steps)];

	for (size_t i = 0; i < d->n_steps; i++)
		out[i] = (struct gpv_deploy_step_out){ step_kind_str(d->steps[i].kind),
			d->steps[i].what, d->steps[i].done };
	return gpv_print_deploy_json(stdout, d->name, out, d->n_steps, d->xml, d->dry_run,
		d->failed_step);
}

static int add_step(struct deploy *d, enum step_kind kind, char *what)
{
	if (!what || d->n_steps >= ELEMENTSOF(d->steps)) {
		free(what);
		return -ENOMEM;
	}
	d->steps[d->n_steps++] = (struct step){ .kind = kind, .what = what };
	return 0;
}

static void deploy_clear(struct deploy *d)
{
	for (size_t i = 0; i < d->n_steps; i++)
		free(d->steps[i].what);
	gpv_strv_clear(&d->detach);
	free(d->volume);
	free(d->volume_path);
	free(d->import_path);
	free(d->kernel);
	free(d->initrd);
	free(d->serial_log);
	free(d->seed_path);
	free(d->xml);
	gpv_password_free(d->password);
	gpv_plan_free(d->bind_plan);
	free(d->share_why);
	free(d->mdev_type);
	free(d->nodedev);
	free(d->vgpu_type);
	free(d->vgpu_name);
	gpv_template_free(d->tpl);
	gpv_root_free(d->root);
	gpv_virt_close(d->virt);
}

/* The names: a libvirt domain name, which also becomes the guest's computer name (Windows:
 * 15 letters, digits or hyphens) or host name (Linux). */
static int check_names(const struct deploy *d)
{
	_cleanup_free_ char *why = NULL;
	int r = gpv_valid_domain_name(d->name, &why);

	if (r == 0)
		r = d->os == GPV_GUEST_WINDOWS ? gpv_valid_computer_name(d->name, &why)
					       : gpv_valid_hostname(d->name, &why);
	if (r == 0 && d->user)
		r = gpv_valid_user_name(d->user, d->name, d->os, &why);
	if (r < 0)
		gpv_error("deploy: %s", why ? why : strerror(-r));
	return r;
}

/* The domain type: kvm where libvirt offers it, qemu (TCG) otherwise. */
static bool host_has_kvm(const struct deploy *d)
{
	return gpv_virt_has_kvm(d->virt) > 0;
}

/* A random (version 4) UUID for an mdev. */
static int new_uuid(char out[static 37])
{
	uint8_t b[16];
	ssize_t n = getrandom(b, sizeof(b), 0);

	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		b[14], b[15]);
	return 0;
}

/* The address VF index of pf will have once enabled, for the plan: the PF's routing ID plus
 * First VF Offset plus index times VF Stride, taken as 1 and 1 (Intel's integrated GPUs).
 * Applying reads the real one from the PF's virtfnN link. */
static int vf_guess(const char *pf, int index, char out[static 13])
{
	unsigned dom, bus, slot, fn, rid;

	if (sscanf(pf, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) != 4)
		return -EINVAL;
	rid = (bus << 8 | slot << 3 | fn) + 1 + (unsigned)index;
	if (rid > 0xffff)
		return -EINVAL;
	snprintf(out, 13, "%04x:%02x:%02x.%x", dom, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
	return 0;
}

/* The share allocator's choice among the GPUs of p, or only `only` when one was named. On
 * success *ret_gpu is the chosen GPU, in p. */
/*
 * A whole GPU another domain of this libvirt has as a hostdev is not free, even though it sits
 * on vfio-pci with no VM running: the inventory hears it from the domains' XML. (Partitions
 * need no such care: the kernel counts mdev instances, and VFs on vfio-pci count as given.)
 */
static int mark_given(struct deploy *d, struct gpv_share_inventory *inv)
{
	char **xmls = NULL;
	size_t n = 0;
	int r = gpv_virt_domain_xmls(d->virt, &xmls, &n);

	if (r < 0) {
		gpv_error("deploy: cannot read the domains of '%s': %s", gpv_virt_uri(d->virt),
			gpv_virt_error(d->virt));
		return r;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct gpv_xml_doc *doc = NULL;
		struct gpv_xml_node *dom, *devs, *h, *a;
		_cleanup_free_ char *name = NULL;

		if (gpv_xml_parse_memory(xmls[i], strlen(xmls[i]), "domain", &doc, NULL) < 0)
			continue; /* libvirt's own XML: nothing to learn from a bad one */
		dom = gpv_xml_root(doc);
		if ((a = gpv_xml_find(dom, "name")))
			(void)gpv_xml_text(a, &name);
		devs = gpv_xml_find(dom, "devices");
		for (h = devs ? gpv_xml_child(devs, "hostdev") : NULL; h && r >= 0;
			h = gpv_xml_next(h, "hostdev")) {
			char addr[13];

			if (!streq_ptr(gpv_xml_attr(h, "type"), "pci") ||
				!(a = gpv_xml_find(h, "source/address")) ||
				gpv_nodedev_address(a, addr) < 0)
				continue;
			for (size_t g = 0; g < inv->n; g++)
				if (streq(inv->gpus[g].addr, addr) && !inv->gpus[g].blocked &&
					!(inv->gpus[g].blocked = gpv_strf("given to the domain '%s'",
						  name ? name : "?")))
					r = -ENOMEM;
		}
		gpv_xml_free(doc);
	}
	gpv_names_free(xmls);
	return r;
}

/* The GPU of p an allocation is on; NULL when p does not have it. */
static const struct gpv_gpu *result_gpu(const struct gpv_precheck *p,
	const struct gpv_share_inventory *inv, const struct gpv_share_result *res)
{
	for (size_t i = 0; i < p->n_gpus; i++)
		if (streq(p->gpus[i].dev->addr, inv->gpus[res->gpu].addr))
			return &p->gpus[i];
	return NULL;
}

/* Whether gpupv can make the slice on a host it reaches only through libvirt: not VFs to
 * enable (sriov_numvfs), not an NVIDIA vGPU or one of its VFs (current_vgpu_type). */
static bool libvirt_can_give(const struct gpv_precheck *p, const struct gpv_share_inventory *inv,
	const struct gpv_share_result *res)
{
	const struct gpv_gpu *g = result_gpu(p, inv, res);

	switch (res->kind) {
	case GPV_SHARE_VF:
		return g && g->dev->vendor != 0x10de && !startswith(res->partition, "VF to enable");
	case GPV_SHARE_VGPU:
		return false;
	default:
		return true;
	}
}

static int plan_share(struct deploy *d, struct gpv_precheck *p, const struct gpv_gpu *only,
	const struct gpv_gpu **ret_gpu, struct gpv_share_result *res)
{
	struct gpv_precheck one;
	struct gpv_share_inventory *inv = NULL;
	struct gpv_share_result first = { 0 };
	int r;

	if (only) {
		one = *p;
		one.gpus = (struct gpv_gpu *)only;
		one.n_gpus = 1;
	}
	r = gpv_share_inventory_new(only ? &one : p, &inv);
	if (r < 0) {
		gpv_error("deploy: cannot list the slices this host can give: %s", strerror(-r));
		return r;
	}
	r = mark_given(d, inv);
	if (r < 0) {
		gpv_share_inventory_free(inv);
		return r;
	}
	/* Through libvirt, a slice gpupv cannot make there is passed over for the next one the
	 * allocator picks; when none is left, the first is kept, for plan_gpu() to refuse it
	 * with why. */
	while ((r = gpv_share_allocate(inv, d->share, res)) == 0 && d->from_libvirt &&
		!libvirt_can_give(p, inv, res)) {
		gpv_debug("deploy: --share %u: %s, which gpupv cannot make through libvirt; the "
			  "next",
			d->share, res->why);
		if (!first.why)
			first = *res;
		else
			gpv_share_result_clear(res);
		*res = (struct gpv_share_result){ 0 };
	}
	if (r == -ENOSPC && first.why) {
		*res = first;
		first = (struct gpv_share_result){ 0 };
		r = 0;
	}
	gpv_share_result_clear(&first);
	if (r == -ENOSPC) {
		_cleanup_free_ char *why = NULL;

		if (gpv_share_no_fit(inv, d->share, &why) == 0)
			gpv_error("deploy: --share %u%s%s: %s", d->share, only ? " on " : "",
				only ? only->dev->addr : "", why);
	} else if (r < 0) {
		gpv_error("deploy: --share %u: %s", d->share, strerror(-r));
	} else if (!(*ret_gpu = result_gpu(p, inv, res))) {
		r = -ENODEV;
	}
	gpv_share_inventory_free(inv);
	return r;
}

/* A VF of a host gpupv reaches only through libvirt: detached through it, with the other
 * members of its IOMMU group (which leave the host with it), the VF last. A group that holds
 * the PF is refused: detaching the PF would take every VF from the host. */
static int plan_detach_vf(struct deploy *d, struct gpv_precheck *p, const struct gpv_pci_dev *vf)
{
	const struct gpv_iommu_group *grp = gpv_pci_group(p->pci, vf->iommu_group);
	int r = 0;

	for (size_t i = 0; grp && i < grp->members.n && r >= 0; i++) {
		const struct gpv_pci_dev *m = gpv_pci_find(p->pci, grp->members.v[i]);

		if (!m || m == vf || gpv_pci_is_bridge(m) || streq_ptr(m->driver, "vfio-pci"))
			continue;
		if (streq(m->addr, vf->physfn)) {
			gpv_error("deploy: the VF %s shares IOMMU group %d with its PF %s, which "
				  "would have to leave the host with it and take every VF along; "
				  "the host needs ACS between the PF and its VFs (see 'gpupv "
				  "precheck' on that host)",
				vf->addr, vf->iommu_group, m->addr);
			return -EPERM;
		}
		r = gpv_strv_push(&d->detach, m->addr);
	}
	if (r >= 0 && !streq_ptr(vf->driver, "vfio-pci"))
		r = gpv_strv_push(&d->detach, vf->addr);
	return r;
}

/* A VF slice: an enabled free VF, or VFs to enable first (the chosen one: virtfn0). On a host
 * gpupv reaches only through libvirt, only an enabled VF: libvirt has no API for
 * sriov_numvfs. */
static int plan_vf(struct deploy *d, struct gpv_precheck *p, const struct gpv_gpu *g,
	const char *partition)
{
	struct gpv_refusal refusal = { 0 };
	const struct gpv_pci_dev *vf;
	int r;

	memcpy(d->pf, g->dev->addr, 13);
	d->slice.kind = GPV_SLICE_VF;
	d->slice.n_addrs = 1;
	if (d->from_libvirt && startswith(partition, "VF to enable: ")) {
		gpv_error("deploy: --share %u would get a VF of %s, which has none enabled; VFs "
			  "are enabled by writing the PF's sriov_numvfs, which libvirt has no API "
			  "for and gpupv can only write on this machine: run gpupv on that host, "
			  "or enable the VFs there first (a free enabled VF is detached through "
			  "libvirt), or ask for a share a whole GPU gives",
			d->share, d->pf);
		return -EOPNOTSUPP;
	}
	if (startswith(partition, "VF to enable: sriov_numvfs ")) {
		const char *num = partition + strlen("VF to enable: sriov_numvfs ");
		uint64_t n;

		if (gpv_parse_uint(num, 4096, &n) < 0 || n == 0)
			return -EINVAL;
		d->enable_vfs = (int)n;
		d->vf_index = 0;
		/* The VF does not exist yet: bound once enabled (apply). */
		return vf_guess(d->pf, 0, d->slice.addrs[0]);
	}
	vf = gpv_pci_find(p->pci, partition);
	if (!vf || gpv_pci_addr_normalize(partition, d->slice.addrs[0]) < 0)
		return -ENODEV;
	d->slice.vendor = vf->vendor;
	d->slice.device = vf->device;
	memcpy(d->gpu, vf->addr, 13);
	if (d->from_libvirt)
		return plan_detach_vf(d, p, vf);
	r = gpv_bind_plan(d->root, p, vf->addr, GPV_BIND_VF, &d->bind_plan, &refusal);
	if (r < 0) {
		gpv_error("deploy: cannot bind the VF %s: %s", vf->addr,
			refusal.message ? refusal.message : strerror(-r));
		if (refusal.fix)
			fprintf(stderr, "gpupv: fix: %s\n", refusal.fix);
	}
	gpv_refusal_clear(&refusal);
	return r;
}

/* An NVIDIA vGPU on a host gpupv reaches only through libvirt: refused. */
static int refuse_remote_vgpu(const struct deploy *d, const char *type)
{
	if (type)
		gpv_error("deploy: --share %u would get an NVIDIA vGPU of type %s on a VF of %s; "
			  "a vGPU is made by writing the VF's nvidia/current_vgpu_type, which "
			  "libvirt has no API for and gpupv can only write on this machine: run "
			  "gpupv on that host, or ask for a share a whole GPU or another GPU "
			  "gives",
			d->share, type, d->gpu);
	else
		gpv_error("deploy: --share %u would get a VF of %s, an NVIDIA GPU whose VFs are "
			  "vGPU VFs: a VM can use one only once a vGPU type is written to its "
			  "nvidia/current_vgpu_type, which libvirt neither shows nor has an API "
			  "for, and gpupv can only write on this machine: run gpupv on that host, "
			  "or ask for a share a whole GPU or another GPU gives",
			d->share, d->gpu);
	return -EOPNOTSUPP;
}

/* Whether a VF's nvidia/creatable_vgpu_types ("557 : NVIDIA A100-4C", as probes/pci.c keeps
 * them) lists type; *ret_name points at the type's name in it. */
static bool vgpu_listed(const struct gpv_pci_dev *vf, const char *type, const char **ret_name)
{
	for (size_t i = 0; i < vf->vgpu_types.n; i++) {
		const char *rest = startswith(vf->vgpu_types.v[i], type);

		if (rest && startswith(rest, " : ")) {
			*ret_name = rest + 3;
			return true;
		}
	}
	return false;
}

/*
 * An NVIDIA SR-IOV vGPU of type (the allocator's partition) on the GPU g: the first VF, in
 * virtfnN order, that holds no type (current_vgpu_type 0) and lists type among the types it
 * can create now. The VFs are NVIDIA's to enable (its sriov-manage): a PF with none is
 * refused with that fix, as the types are only known from the VFs.
 */
static int plan_vgpu(struct deploy *d, struct gpv_precheck *p, const struct gpv_gpu *g,
	const char *type)
{
	int r = 0;

	memcpy(d->pf, g->dev->addr, 13);
	d->slice.kind = GPV_SLICE_VGPU;
	d->slice.n_addrs = 1;
	if (!(d->vgpu_type = strdup(type)))
		return -ENOMEM;
	for (int i = 0; i < 4096; i++) {
		_cleanup_free_ char *link = gpv_strf("/sys/bus/pci/devices/%s/virtfn%d", d->pf, i);
		_cleanup_free_ char *canon = NULL;
		const struct gpv_pci_dev *vf;
		const char *base, *name = NULL;
		char addr[13];
		bool listed;

		if (!link)
			return -ENOMEM;
		r = gpv_root_resolve(d->root, link, &canon);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		base = strrchr(canon, '/') ? strrchr(canon, '/') + 1 : canon;
		if (gpv_pci_addr_normalize(base, addr) < 0 || !(vf = gpv_pci_find(p->pci, addr)))
			continue;
		listed = vgpu_listed(vf, type, &name);
		if (vf->vgpu_current != 0 || !listed) {
			gpv_debug("deploy: VF virtfn%d (%s) of %s: current_vgpu_type %ld, type %s "
				  "%s",
				i, addr, d->pf, vf->vgpu_current, type,
				listed ? "creatable" : "not creatable");
			continue;
		}
		memcpy(d->gpu, addr, 13);
		memcpy(d->slice.addrs[0], addr, 13);
		d->slice.vendor = vf->vendor;
		d->slice.device = vf->device;
		return (d->vgpu_name = strdup(name)) ? 0 : -ENOMEM;
	}
	if (g->dev->sriov_num_vfs <= 0) {
		gpv_error("deploy: --share %u would get an NVIDIA vGPU of type %s on %s, which has "
			  "no VFs enabled; enable them with NVIDIA's '/usr/lib/nvidia/sriov-manage "
			  "-e %s' and deploy again",
			d->share, type, d->pf, d->pf);
		return -EOPNOTSUPP;
	}
	gpv_error("deploy: --share %u would get an NVIDIA vGPU of type %s on %s, but none of its "
		  "VFs is free for it (each holds a vGPU type, or does not list %s in its "
		  "nvidia/creatable_vgpu_types now); 'gpupv plan' shows what is free, 'gpupv "
		  "undeploy' frees the VF of a domain gpupv deployed",
		d->share, type, d->pf, type);
	return -ENOSPC;
}

/* A URI of another machine (one with a host part), or of libvirt's test driver: its GPUs are
 * what libvirt says, not this machine's. */
static bool uri_not_here(const char *uri)
{
	const char *p = uri ? strstr(uri, "://") : NULL;

	if (!uri)
		return false;
	if (startswith(uri, "test:"))
		return true;
	return p && p[3] && p[3] != '/';
}

/* The precheck's GPU analysis over libvirt's node devices. */
static int examine_libvirt(struct deploy *d, struct gpv_precheck **ret)
{
	char **xmls = NULL, *why = NULL;
	struct gpv_pci *pci = NULL;
	size_t n = 0;
	int r = gpv_virt_nodedev_pci(d->virt, &xmls, &n);

	if (r < 0) {
		gpv_error("deploy: cannot list the host's PCI devices through libvirt: %s",
			gpv_virt_error(d->virt));
		return r;
	}
	r = gpv_pci_from_nodedev(xmls, n, &pci, &why);
	gpv_names_free(xmls);
	if (r < 0) {
		gpv_error("deploy: libvirt's node devices: %s", why ? why : strerror(-r));
		free(why);
		return r;
	}
	r = gpv_precheck_from_pci(pci, NULL, ret);
	if (r < 0)
		gpv_error("deploy: cannot examine the host's GPUs: %s", strerror(-r));
	return r;
}

/* Every function of the GPU's groups that must leave the host and is not on vfio-pci yet,
 * the GPU last (its driver may reach for its audio function while it goes). */
static int plan_detach(struct deploy *d, const struct gpv_gpu *g)
{
	int r = 0;

	for (int pass = 0; pass < 2 && r >= 0; pass++)
		for (size_t i = 0; i < g->n_members && r >= 0; i++) {
			const struct gpv_member *m = &g->members[i];

			if (!m->dev || m->role == GPV_ROLE_BRIDGE ||
				(m->role == GPV_ROLE_GPU) != (pass == 1) ||
				streq_ptr(m->dev->driver, "vfio-pci"))
				continue;
			r = gpv_strv_push(&d->detach, m->dev->addr);
		}
	return r;
}

static int plan_gpu(struct deploy *d, const struct gpv_opts *o)
{
	struct gpv_precheck *p = NULL;
	struct gpv_refusal refusal = { 0 };
	struct gpv_share_result res = { 0 };
	const struct gpv_gpu *g = NULL;
	bool any;
	int r;

	if (!d->gpu_arg || streq(d->gpu_arg, "none")) {
		d->slice.kind = GPV_SLICE_NONE;
		return 0;
	}
	any = streq(d->gpu_arg, "auto");
	if (!any && gpv_pci_addr_normalize(d->gpu_arg, d->gpu) < 0) {
		gpv_error("deploy: --gpu '%s' is not a PCI address (0000:01:00.0 or 01:00.0), "
			  "'auto' or 'none'",
			d->gpu_arg);
		return -EINVAL;
	}
	r = d->from_libvirt ? examine_libvirt(d, &p) : gpv_examine(d->root, false, NULL, &p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_gpus && !any && !g; i++)
		if (streq(p->gpus[i].dev->addr, d->gpu))
			g = &p->gpus[i];
	if (!any && !g) {
		gpv_error("deploy: there is no GPU at that address; 'gpupv precheck' shows the "
			  "GPUs and what blocks them");
		gpv_precheck_free(p);
		return -ENODEV;
	}
	/* 1. The precheck of the chosen GPU: a blocked one is refused with its reasons. */
	if (g && g->verdict == GPV_BLOCKED) {
		gpv_error("deploy: GPU %s is blocked:", d->gpu);
		for (size_t i = 0; i < g->n_problems; i++)
			if (g->problems[i].severity == GPV_BLOCKER)
				fprintf(stderr, "  %s\n    fix: %s\n", g->problems[i].message,
					g->problems[i].fix ? g->problems[i].fix : "-");
		gpv_precheck_free(p);
		return -EPERM;
	}
	/* Planned again under the lock: start from nothing. */
	gpv_plan_free(TAKE_PTR(d->bind_plan));
	gpv_strv_clear(&d->detach);
	free(TAKE_PTR(d->share_why));
	free(TAKE_PTR(d->mdev_type));
	free(TAKE_PTR(d->vgpu_type));
	free(TAKE_PTR(d->vgpu_name));
	d->enable_vfs = 0;
	d->pf[0] = '\0';
	/* 2. The slice: the smallest that holds the share (the allocator), or the whole GPU. */
	if (any || d->share < 100) {
		r = plan_share(d, p, g, &g, &res);
		if (r < 0)
			goto out;
		d->share_why = TAKE_PTR(res.why);
	}
	memcpy(d->gpu, g->dev->addr, 13);
	d->slice = (struct gpv_slice){ .kind = GPV_SLICE_WHOLE };
	d->slice.vendor = g->dev->vendor;
	d->slice.device = g->dev->device;
	if (d->share_why && res.kind == GPV_SHARE_MDEV) {
		d->slice.kind = GPV_SLICE_MDEV;
		d->mdev_type = TAKE_PTR(res.partition);
		d->slice.mdev_type = d->mdev_type;
		memcpy(d->slice.mdev_parent, d->gpu, 13);
		r = new_uuid(d->slice.mdev_uuid);
		goto out;
	}
	if (d->share_why && res.kind == GPV_SHARE_VF) {
		/* NVIDIA's VFs are vGPU VFs, of no use to a VM without a vGPU type: one that
		 * lists none (as libvirt shows them, or as sysfs does when no type fits) is
		 * not given as a plain VF. */
		if (g->dev->vendor == 0x10de && d->from_libvirt) {
			r = refuse_remote_vgpu(d, NULL);
			goto out;
		}
		if (g->dev->vendor == 0x10de) {
			gpv_error("deploy: --share %u would get a VF of %s, an NVIDIA GPU whose "
				  "VFs are vGPU VFs, and none of them lists a vGPU type it can "
				  "take now (nvidia/creatable_vgpu_types); 'gpupv plan' shows "
				  "what is free, or ask for a share another GPU gives",
				d->share, d->gpu);
			r = -ENOSPC;
			goto out;
		}
		r = plan_vf(d, p, g, res.partition);
		goto out;
	}
	if (d->share_why && res.kind == GPV_SHARE_VGPU) {
		r = d->from_libvirt ? refuse_remote_vgpu(d, res.partition)
				    : plan_vgpu(d, p, g, res.partition);
		goto out;
	}
	memcpy(d->slice.addrs[d->slice.n_addrs++], g->dev->addr, 13);
	for (size_t i = 0; i < g->functions.n && d->slice.n_addrs < ELEMENTSOF(d->slice.addrs); i++)
		if (!streq(g->functions.v[i], g->dev->addr))
			memcpy(d->slice.addrs[d->slice.n_addrs++], g->functions.v[i], 13);
	/* The whole GPU: through libvirt on a host that is not this one, else through bind's
	 * plan (nothing to do when bound already). */
	if (d->from_libvirt) {
		r = plan_detach(d, g);
		goto out;
	}
	r = gpv_bind_plan(d->root, p, d->gpu, 0, &d->bind_plan, &refusal);
	if (r < 0) {
		gpv_error("deploy: cannot bind %s: %s", d->gpu,
			refusal.message ? refusal.message : strerror(-r));
		if (refusal.fix)
			fprintf(stderr, "gpupv: fix: %s\n", refusal.fix);
	}
	gpv_refusal_clear(&refusal);
out:
	gpv_share_result_clear(&res);
	gpv_precheck_free(p);
	return r;
}

static int build_xml(struct deploy *d, const struct gpv_template *t)
{
	struct gpv_domain_spec spec = {
		.name = d->name,
		.memory_bytes = d->memory,
		.vcpus = d->cpus,
		.disk_bytes = d->disk,
		.disk = d->import_path ? d->import_path : d->volume_path,
		.disk_format = d->import_path ? d->import_format : NULL,
		.kernel = d->kernel,
		.initrd = d->initrd,
		.cmdline = d->cmdline,
		.serial_log = d->serial_log,
		.iso = d->iso,
		.virtio_iso = d->virtio_iso,
		.seed_iso = d->seed_path,
		.network = d->network,
		.looking_glass = d->looking_glass,
		.kvm = d->kvm,
		.slice = d->slice,
	};

	return gpv_domain_build(t, &spec, &d->xml);
}

/* The record undeploy reads: what gpupv made for the domain. */
static int metadata_xml(const struct deploy *d, char **ret)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_node *n;
	int r = gpv_xml_new("deploy", &doc);

	if (r < 0)
		return r;
	n = gpv_xml_root(doc);
	if ((r = gpv_xml_set_attr(n, "template", d->template)) < 0 ||
		(d->volume && (r = gpv_xml_set_attr(n, "pool", d->pool)) < 0) ||
		(d->volume && (r = gpv_xml_set_attr(n, "volume", d->volume)) < 0) ||
		(d->seed_path && (r = gpv_xml_set_attr(n, "seed", d->seed_path)) < 0) ||
		/* The person's own image: recorded to say so, never removed by undeploy. */
		(d->import_path && (r = gpv_xml_set_attr(n, "import", d->import_path)) < 0) ||
		((d->slice.kind == GPV_SLICE_WHOLE || d->slice.kind == GPV_SLICE_VF ||
			 d->slice.kind == GPV_SLICE_VGPU) &&
			(r = gpv_xml_set_attr(n, "gpu", d->gpu)) < 0) ||
		(d->bind_plan && !d->bind_plan->nothing_to_do &&
			(r = gpv_xml_set_attr(n, "bound", "yes")) < 0))
		goto out;
	if (d->detach.n) {
		_cleanup_free_ char *list = gpv_strv_join(&d->detach, ",");

		if (!list || (r = gpv_xml_set_attr(n, "detached", list)) < 0) {
			r = list ? r : -ENOMEM;
			goto out;
		}
	}
	/* The slice gpupv made: the mdev (and its libvirt node device), the VFs it enabled, the
	 * vGPU type it gave a VF. */
	if (d->slice.kind == GPV_SLICE_MDEV &&
		((r = gpv_xml_set_attr(n, "mdev", d->slice.mdev_uuid)) < 0 ||
			(d->nodedev && (r = gpv_xml_set_attr(n, "mdev-nodedev", d->nodedev)) < 0)))
		goto out;
	if (d->slice.kind == GPV_SLICE_VGPU &&
		((r = gpv_xml_set_attr(n, "pf", d->pf)) < 0 ||
			(r = gpv_xml_set_attr(n, "vgpu-vf", d->gpu)) < 0 ||
			(r = gpv_xml_set_attr(n, "vgpu-type", d->vgpu_type)) < 0))
		goto out;
	if (d->slice.kind == GPV_SLICE_VF && d->enable_vfs) {
		char num[16];

		snprintf(num, sizeof(num), "%d", d->enable_vfs);
		if ((r = gpv_xml_set_attr(n, "pf", d->pf)) < 0 ||
			(r = gpv_xml_set_attr(n, "vfs-enabled", num)) < 0)
			goto out;
	}
	r = gpv_xml_format(doc, ret);
out:
	gpv_xml_free(doc);
	return r;
}

/* The steps that prepare the slice, each saying why the allocator chose it (--share). */
static int add_slice_steps(struct deploy *d)
{
	_cleanup_free_ char *why = d->share_why ? gpv_strf("; --share %u: %s", d->share,
							  d->share_why)
						: strdup("");
	bool bind = d->bind_plan && !d->bind_plan->nothing_to_do;
	int r;

	if (!why)
		return -ENOMEM;
	switch (d->slice.kind) {
	case GPV_SLICE_MDEV:
		return add_step(d, STEP_CREATE_MDEV,
			gpv_strf("create the mdev %s of type %s on %s%s", d->slice.mdev_uuid,
				d->slice.mdev_type, d->slice.mdev_parent, why));
	case GPV_SLICE_VGPU:
		return add_step(d, STEP_CREATE_VGPU,
			gpv_strf("create a vGPU of type %s (%s) on the VF %s of %s (its "
				 "nvidia/current_vgpu_type)%s",
				d->vgpu_type, d->vgpu_name ? d->vgpu_name : "?", d->gpu, d->pf,
				why));
	case GPV_SLICE_VF:
		if (d->detach.n) {
			_cleanup_free_ char *list = gpv_strv_join(&d->detach, ", ");
			const char *with = d->detach.n > 1 ? ", with its IOMMU group" : "";

			if (!list)
				return -ENOMEM;
			return add_step(d, STEP_DETACH,
				gpv_strf("detach %s from the host to vfio-pci through libvirt "
					 "(the VF %s of %s%s)%s",
					list, d->gpu, d->pf, with, why));
		}
		if (d->enable_vfs) {
			r = add_step(d, STEP_ENABLE_VFS,
				gpv_strf("enable %d VFs on %s (sriov_numvfs %d)%s", d->enable_vfs,
					d->pf, d->enable_vfs, why));
			if (r < 0)
				return r;
			return add_step(d, STEP_BIND,
				gpv_strf("bind its VF virtfn%d (%s, the address read once enabled) "
					 "to vfio-pci",
					d->vf_index, d->slice.addrs[0]));
		}
		return !bind ? 0
			     : add_step(d, STEP_BIND, gpv_strf("bind the VF %s of %s to vfio-pci%s",
							     d->gpu, d->pf, why));
	case GPV_SLICE_WHOLE:
		if (d->detach.n) {
			_cleanup_free_ char *list = gpv_strv_join(&d->detach, ", ");

			return list ? add_step(d, STEP_DETACH,
					      gpv_strf("detach %s from the host to vfio-pci through "
						       "libvirt%s",
						      list, why))
				    : -ENOMEM;
		}
		if (!bind)
			return 0;
		return add_step(d, STEP_BIND,
			gpv_strf("bind %s and its functions to vfio-pci (%zu devices)%s", d->gpu,
				d->bind_plan->binding.n_devs, why));
	default:
		return 0;
	}
}

/*
 * The system disk and the seed: a new qcow2 volume in the pool, unless --import boots the
 * person's image where it is, or a direct kernel boot was asked for without --disk (a VM that
 * runs from its initramfs needs no disk, and then no pool either). The seed medium is written
 * in the pool's folder, beside the disk.
 */
static int plan_disk(struct deploy *d)
{
	bool make_volume = !d->import_path && !(d->kernel && !d->disk_given);
	_cleanup_free_ char *dir = NULL;
	int r;

	if (make_volume) {
		d->volume = gpv_strf("%s.qcow2", d->name);
		if (!d->volume)
			return -ENOMEM;
		r = gpv_virt_volume_find(d->virt, d->pool, d->volume, NULL);
		if (r < 0) {
			gpv_error("deploy: storage pool '%s': %s; --pool names another", d->pool,
				gpv_virt_error(d->virt));
			return r;
		}
		if (r > 0 && !d->replace) {
			gpv_error("deploy: pool '%s' already holds a volume '%s'; remove it, or "
				  "--replace",
				d->pool, d->volume);
			return -EEXIST;
		}
	}
	if (!make_volume && !d->user)
		return 0;
	r = gpv_virt_pool_path(d->virt, d->pool, &dir);
	if (r < 0) {
		if (make_volume)
			gpv_error("deploy: cannot find where pool '%s' keeps its volumes", d->pool);
		else
			gpv_error("deploy: storage pool '%s', where the unattended-install medium "
				  "goes: %s; --pool names another",
				d->pool, gpv_virt_error(d->virt));
		return r;
	}
	if (make_volume) {
		d->volume_path = gpv_strf("%s/%s", dir, d->volume);
		if (!d->volume_path)
			return -ENOMEM;
		r = add_step(d, STEP_VOLUME,
			gpv_strf("create the %llu %s qcow2 volume '%s' in pool '%s'",
				(unsigned long long)(d->disk % (1ULL << 30) ? d->disk >> 20
									    : d->disk >> 30),
				d->disk % (1ULL << 30) ? "MiB" : "GiB", d->volume, d->pool));
		if (r < 0)
			return r;
	}
	if (!d->user)
		return 0;
	d->seed_path = gpv_strf("%s/%s-seed.iso", dir, d->name);
	if (!d->seed_path)
		return -ENOMEM;
	return add_step(d, STEP_SEED,
		gpv_strf("write the %s medium %s (user '%s'%s)",
			d->os == GPV_GUEST_WINDOWS ? "autounattend" : "cloud-init", d->seed_path,
			d->user, d->autologon ? ", autologon" : ""));
}

/* The define step, saying what the domain boots from when that is not a new volume. */
static char *define_what(const struct deploy *d)
{
	_cleanup_free_ char *disk = NULL, *boot = NULL, *log = NULL;

	if (d->import_path)
		disk = gpv_strf("; its disk: the %s image %s, imported (undeploy leaves it)",
			d->import_format, d->import_path);
	else
		disk = strdup(d->volume ? "" : "; no disk");
	if (d->kernel)
		boot = gpv_strf("; direct kernel boot: %s%s%s%s%s%s", d->kernel,
			d->initrd ? ", initrd " : "", d->initrd ? d->initrd : "",
			d->cmdline ? ", command line '" : "", d->cmdline ? d->cmdline : "",
			d->cmdline ? "'" : "");
	else
		boot = strdup("");
	log = d->serial_log ? gpv_strf("; serial console logged to %s", d->serial_log) : strdup("");
	if (!disk || !boot || !log)
		return NULL;
	return gpv_strf("define the domain '%s' (%s, %s%s%s%s)", d->name, d->template,
		d->kvm ? "KVM" : "TCG: libvirt offers no KVM here", disk, boot, log);
}

/* Whether the volume gpupv made for the domain --replace removes is the image --import boots
 * (a domain deployed again from its own disk): that volume then stays. */
static int replace_keeps_image(struct deploy *d, const char *meta)
{
	_cleanup_free_ char *path = NULL, *real = NULL;
	struct gpv_xml_doc *doc = NULL;
	const char *pool, *volume;
	int r = gpv_xml_parse_memory(meta, strlen(meta), "metadata", &doc, NULL);

	if (r < 0)
		return r;
	pool = gpv_xml_attr(gpv_xml_root(doc), "pool");
	volume = gpv_xml_attr(gpv_xml_root(doc), "volume");
	if (pool && volume && gpv_virt_volume_find(d->virt, pool, volume, &path) > 0 && path) {
		real = realpath(path, NULL);
		d->replace_keeps_disk =
			streq(path, d->import_path) || (real && streq(real, d->import_path));
	}
	gpv_virt_clear_error(d->virt);
	gpv_xml_free(doc);
	return 0;
}

static int plan(struct deploy *d, const struct gpv_opts *o)
{
	struct gpv_template *t = NULL;
	struct gpv_template_error terr = { 0 };
	const struct gpv_template_info *info;
	unsigned long long host_kib = 0;
	unsigned host_cpus = 0;
	char *err = NULL, *why = NULL;
	int r;

	r = gpv_template_load(d->root, d->template, &t, &terr);
	if (r < 0) {
		if (r == -ENOENT)
			gpv_error("deploy: no template '%s'; 'gpupv templates' lists them", d->template);
		else
			gpv_error("deploy: %s:%d: broken template: %s", terr.path, terr.line,
				terr.message);
		return r == -ENOENT ? -EINVAL : r;
	}
	info = gpv_template_info(t);
	d->os = info->os == GPV_TEMPLATE_OS_WINDOWS ? GPV_GUEST_WINDOWS : GPV_GUEST_LINUX;
	r = check_names(d);
	if (r < 0)
		goto out;
	if (d->kernel && d->os == GPV_GUEST_WINDOWS) {
		gpv_error(
			"deploy: --boot-kernel boots a Linux kernel directly, and template '%s' "
			"is a Windows guest (its firmware would refuse an unsigned kernel); use a "
			"Linux template ('gpupv templates')",
			d->template);
		r = -EINVAL;
		goto out;
	}
	if (!d->memory)
		d->memory = info->memory_mib << 20;
	if (!d->cpus)
		d->cpus = info->vcpus;
	if (!d->disk)
		d->disk = info->disk_gib << 30;
	r = gpv_virt_open(d->uri, &d->virt, &err);
	if (r < 0) {
		gpv_error("deploy: cannot connect to libvirt at '%s': %s", d->uri ? d->uri : "default",
			err ? err : strerror(-r));
		free(err);
		goto out;
	}
	r = gpv_virt_node_info(d->virt, &host_kib, &host_cpus);
	if (r < 0) {
		gpv_error("deploy: cannot read the host's size: %s", gpv_virt_error(d->virt));
		goto out;
	}
	r = gpv_check_resources(d->memory, d->cpus, (uint64_t)host_kib << 10, host_cpus, &why);
	if (r < 0) {
		gpv_error("deploy: %s", why);
		free(why);
		r = -EINVAL;
		goto out;
	}
	r = gpv_virt_domain_exists(d->virt, d->name);
	if (r < 0) {
		gpv_error("deploy: %s", gpv_virt_error(d->virt));
		goto out;
	}
	if (r > 0 && !d->replace) {
		gpv_error("deploy: a domain named '%s' exists; pick another name, or --replace it "
			  "(which removes it and what gpupv made for it)",
			d->name);
		r = -EEXIST;
		goto out;
	}
	if (r > 0) {
		_cleanup_free_ char *meta = NULL;

		/* --replace removes what gpupv made, and only that. */
		r = gpv_virt_domain_get_metadata(d->virt, d->name, META_URI, &meta);
		if (r < 0) {
			if (r == -ENODATA)
				gpv_error("deploy: the domain '%s' was not deployed by gpupv, so "
					  "--replace leaves it alone; remove it with 'virsh undefine' "
					  "or pick another name",
					d->name);
			else
				gpv_error("deploy: %s", gpv_virt_error(d->virt));
			r = r == -ENODATA ? -EEXIST : r;
			goto out;
		}
		if (d->import_path && (r = replace_keeps_image(d, meta)) < 0)
			goto out;
		r = add_step(d, STEP_REPLACE,
			gpv_strf("remove the existing domain '%s' and what gpupv made for it%s",
				d->name,
				d->replace_keeps_disk ? ", but its volume: the image --import boots"
						      : ""));
		if (r < 0)
			goto out;
	}
	d->kvm = host_has_kvm(d);
	r = plan_gpu(d, o);
	if (r < 0)
		goto out;
	r = add_slice_steps(d);
	if (r < 0)
		goto out;

	r = plan_disk(d);
	if (r < 0)
		goto out;
	r = build_xml(d, t);
	if (r < 0) {
		gpv_error("deploy: cannot build the domain from template '%s': %s", d->template,
			strerror(-r));
		goto out;
	}
	if ((r = add_step(d, STEP_DEFINE, define_what(d))) < 0)
		goto out;
	if (!d->no_start && (r = add_step(d, STEP_START, gpv_strf("start '%s'", d->name))) < 0)
		goto out;
out:
	if (r == 0)
		d->tpl = TAKE_PTR(t); /* a VF enabled while applying rebuilds the XML */
	gpv_template_free(t);
	return r;
}

static int volume_xml(const struct deploy *d, char **ret)
{
	struct gpv_xml_doc *doc = NULL;
	struct gpv_xml_node *n, *cap;
	char size[32];
	int r = gpv_xml_new("volume", &doc);

	if (r < 0)
		return r;
	n = gpv_xml_root(doc);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)d->disk);
	if ((r = gpv_xml_add(n, "name", d->volume, NULL)) < 0 ||
		(r = gpv_xml_add(n, "capacity", size, &cap)) < 0 ||
		(r = gpv_xml_set_attr(cap, "unit", "bytes")) < 0 ||
		(r = gpv_xml_ensure(n, "target/format", &cap)) < 0 ||
		(r = gpv_xml_set_attr(cap, "type", "qcow2")) < 0)
		goto out;
	r = gpv_xml_format(doc, ret);
out:
	gpv_xml_free(doc);
	return r;
}

static int write_numvfs(struct deploy *d, const char *pf, int n)
{
	_cleanup_free_ char *path = gpv_strf("/sys/bus/pci/devices/%s/sriov_numvfs", pf);
	char num[16];

	snprintf(num, sizeof(num), "%d", n);
	return path ? gpv_root_write(d->root, path, num) : -ENOMEM;
}

/* sriov_numvfs, and the chosen VF's link on the PF once the kernel has made it. */
static int enable_vfs(struct deploy *d)
{
	_cleanup_free_ char *link = gpv_strf("/sys/bus/pci/devices/%s/virtfn%d", d->pf,
		d->vf_index);
	int r = write_numvfs(d, d->pf, d->enable_vfs);

	if (r < 0) {
		gpv_error("deploy: cannot enable %d VFs on %s (writing its sriov_numvfs): %s",
			d->enable_vfs, d->pf, strerror(-r));
		return r;
	}
	if (!link)
		return -ENOMEM;
	if (gpv_root_exists(d->root, link) < 0) {
		gpv_error("deploy: %s took sriov_numvfs %d but shows no virtfn%d", d->pf,
			d->enable_vfs, d->vf_index);
		return -ENODEV;
	}
	return 0;
}

/* The VF just enabled: its real address, its bind plan, and the domain XML with it. */
static int plan_new_vf(struct deploy *d)
{
	_cleanup_free_ char *link = gpv_strf("/sys/bus/pci/devices/%s/virtfn%d", d->pf,
		d->vf_index);
	_cleanup_free_ char *canon = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_refusal refusal = { 0 };
	const struct gpv_pci_dev *vf;
	const char *base;
	int r;

	if (!link)
		return -ENOMEM;
	r = gpv_root_resolve(d->root, link, &canon);
	if (r < 0)
		return r;
	base = strrchr(canon, '/') ? strrchr(canon, '/') + 1 : canon;
	if (gpv_pci_addr_normalize(base, d->gpu) < 0)
		return -ENODEV;
	r = gpv_examine(d->root, false, NULL, &p);
	if (r < 0)
		return r;
	vf = gpv_pci_find(p->pci, d->gpu);
	if (!vf) {
		gpv_precheck_free(p);
		return -ENODEV;
	}
	memcpy(d->slice.addrs[0], d->gpu, 13);
	d->slice.vendor = vf->vendor;
	d->slice.device = vf->device;
	gpv_plan_free(TAKE_PTR(d->bind_plan));
	r = gpv_bind_plan(d->root, p, d->gpu, GPV_BIND_VF, &d->bind_plan, &refusal);
	if (r < 0)
		gpv_error("deploy: cannot bind the VF %s: %s", d->gpu,
			refusal.message ? refusal.message : strerror(-r));
	gpv_refusal_clear(&refusal);
	gpv_precheck_free(p);
	if (r < 0)
		return r;
	free(TAKE_PTR(d->xml));
	r = build_xml(d, d->tpl);
	if (r < 0)
		gpv_error("deploy: cannot build the domain with the VF %s: %s", d->gpu,
			strerror(-r));
	return r;
}

/* Through libvirt's node devices where the connection can (a persistent mdev, which libvirt
 * starts again at boot), else by writing the UUID to the type's create. */
static int create_mdev(struct deploy *d)
{
	_cleanup_free_ char *xml = NULL, *path = NULL, *dev = NULL;
	int r = gpv_nodedev_build(&d->slice, &xml);

	if (r < 0)
		return r;
	r = gpv_virt_nodedev_define_start(d->virt, xml, &d->nodedev);
	if (r != -EOPNOTSUPP)
		return r;
	gpv_debug("deploy: libvirt cannot define node devices here (%s); writing the UUID to "
		  "the type's create",
		gpv_virt_error(d->virt));
	gpv_virt_clear_error(d->virt);
	path = gpv_strf("/sys/bus/pci/devices/%s/mdev_supported_types/%s/create",
		d->slice.mdev_parent, d->slice.mdev_type);
	dev = gpv_strf("/sys/bus/mdev/devices/%s", d->slice.mdev_uuid);
	if (!path || !dev)
		return -ENOMEM;
	r = gpv_root_write(d->root, path, d->slice.mdev_uuid);
	if (r < 0) {
		gpv_error("deploy: cannot create the mdev %s: writing %s: %s", d->slice.mdev_uuid,
			path, strerror(-r));
		return r;
	}
	if (gpv_root_exists(d->root, dev) < 0) {
		gpv_error("deploy: %s took the UUID %s but shows no %s", d->slice.mdev_parent,
			d->slice.mdev_uuid, dev);
		return -ENODEV;
	}
	return 0;
}

static int remove_mdev(struct gpv_virt *v, struct gpv_root *root, const char *uuid,
	const char *nodedev)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (nodedev)
		return gpv_virt_nodedev_remove(v, nodedev);
	path = gpv_strf("/sys/bus/mdev/devices/%s/remove", uuid);
	if (!path)
		return -ENOMEM;
	r = gpv_root_write(root, path, "1");
	return r == -ENOENT ? 0 : r;
}

#define VGPU_ATTR "/sys/bus/pci/devices/%s/nvidia/current_vgpu_type"

/* The vGPU type a VF holds: its nvidia/current_vgpu_type, 0 none. */
static int vgpu_current(struct gpv_root *root, const char *vf, uint64_t *ret)
{
	_cleanup_free_ char *path = gpv_strf(VGPU_ATTR, vf), *text = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = gpv_root_read(root, path, GPV_ATTR_MAX, &text, NULL);
	return r < 0 ? r : gpv_parse_uint(gpv_strip(text), UINT32_MAX, ret);
}

static int write_vgpu(struct gpv_root *root, const char *vf, const char *type)
{
	_cleanup_free_ char *path = gpv_strf(VGPU_ATTR, vf);

	return path ? gpv_root_write(root, path, type) : -ENOMEM;
}

/* Writing the type id to the VF's current_vgpu_type makes the vGPU (NVIDIA's vendor-specific
 * VFIO framework, vGPU 17 and later); it is read back to be sure the VF holds it. */
static int create_vgpu(struct deploy *d)
{
	uint64_t want, got = 0;
	int r = gpv_parse_uint(d->vgpu_type, UINT32_MAX, &want);

	if (r < 0)
		return r;
	r = write_vgpu(d->root, d->gpu, d->vgpu_type);
	if (r == -EBUSY) {
		gpv_error("deploy: cannot create the vGPU of type %s on the VF %s: it holds a vGPU "
			  "type already (taken since the plan was made, by another gpupv or by "
			  "hand); deploy again to pick another VF",
			d->vgpu_type, d->gpu);
		return r;
	}
	if (r == -EINVAL) {
		gpv_error("deploy: cannot create the vGPU of type %s on the VF %s: NVIDIA's driver "
			  "refuses the type there now (no longer in its creatable_vgpu_types); "
			  "'gpupv plan' shows what is free now",
			d->vgpu_type, d->gpu);
		return r;
	}
	if (r < 0) {
		gpv_error("deploy: cannot create the vGPU of type %s on the VF %s (writing its "
			  "nvidia/current_vgpu_type): %s",
			d->vgpu_type, d->gpu, strerror(-r));
		return r;
	}
	d->vgpu_made = true;
	r = vgpu_current(d->root, d->gpu, &got);
	if (r >= 0 && got == want)
		return 0;
	if (r < 0)
		gpv_error("deploy: the VF %s took vGPU type %s, but its nvidia/current_vgpu_type "
			  "cannot be read back: %s",
			d->gpu, d->vgpu_type, strerror(-r));
	else
		gpv_error("deploy: the VF %s took vGPU type %s, but its nvidia/current_vgpu_type "
			  "reads back %llu",
			d->gpu, d->vgpu_type, (unsigned long long)got);
	/* This step failed: what it made is undone here, the earlier steps by apply(). */
	if (write_vgpu(d->root, d->gpu, "0") == 0)
		d->vgpu_made = false;
	return r < 0 ? r : -EIO;
}

static int do_step(struct deploy *d, struct step *s)
{
	_cleanup_free_ char *xml = NULL;
	size_t failed = 0;
	int r;

	switch (s->kind) {
	case STEP_REPLACE:
		return gpv_undeploy(d->virt, d->root, d->name, d->replace_keeps_disk);
	case STEP_ENABLE_VFS:
		return enable_vfs(d);
	case STEP_BIND:
		if (d->slice.kind == GPV_SLICE_VF && d->enable_vfs && (r = plan_new_vf(d)) < 0)
			return r;
		r = gpv_plan_apply(d->root, d->bind_plan, &failed);
		if (r < 0 && d->bind_plan->failure_detail)
			gpv_error("%s", d->bind_plan->failure_detail);
		return r;
	case STEP_CREATE_MDEV:
		return create_mdev(d);
	case STEP_CREATE_VGPU:
		return create_vgpu(d);
	case STEP_DETACH:
		for (; d->detached < d->detach.n; d->detached++) {
			r = gpv_virt_pci_detach(d->virt, d->detach.v[d->detached]);
			if (r < 0) {
				/* What this step moved goes back before the others are undone. */
				while (d->detached > 0)
					(void)gpv_virt_pci_reattach(d->virt,
						d->detach.v[--d->detached]);
				return r;
			}
		}
		return 0;
	case STEP_VOLUME:
		r = volume_xml(d, &xml);
		return r < 0 ? r : gpv_virt_volume_create(d->virt, d->pool, xml, NULL);
	case STEP_SEED: {
		struct gpv_seed seed = {
			.name = d->name,
			.hostname = d->name,
			.user = d->user,
			.password = d->password,
			.autologon = d->autologon,
		};
		_cleanup_free_ char *why = NULL;

		r = gpv_seed_write_iso(&seed, d->os, d->seed_path, &why);
		if (r < 0 && why)
			gpv_error("deploy: %s", why);
		return r;
	}
	case STEP_DEFINE:
		r = gpv_virt_domain_define(d->virt, d->xml);
		if (r < 0)
			return r;
		r = metadata_xml(d, &xml);
		return r < 0 ? r
			     : gpv_virt_domain_set_metadata(d->virt, d->name, xml, META_PREFIX,
				       META_URI);
	case STEP_START:
		return gpv_virt_domain_start(d->virt, d->name);
	}
	return -EINVAL;
}

static void undo_step(struct deploy *d, struct step *s)
{
	struct gpv_plan *back = NULL;
	struct gpv_refusal refusal = { 0 };
	int r = 0;

	switch (s->kind) {
	case STEP_REPLACE:
		return; /* what was removed stays removed: it was asked for */
	case STEP_BIND:
		r = gpv_unbind_plan(d->root, d->gpu, 0, &back, &refusal);
		if (r == 0)
			r = gpv_plan_apply(d->root, back, NULL);
		gpv_plan_free(back);
		gpv_refusal_clear(&refusal);
		break;
	case STEP_ENABLE_VFS:
		r = write_numvfs(d, d->pf, 0);
		break;
	case STEP_DETACH:
		while (d->detached > 0 && r >= 0)
			r = gpv_virt_pci_reattach(d->virt, d->detach.v[--d->detached]);
		break;
	case STEP_CREATE_MDEV:
		r = remove_mdev(d->virt, d->root, d->slice.mdev_uuid, d->nodedev);
		break;
	case STEP_CREATE_VGPU:
		r = write_vgpu(d->root, d->gpu, "0");
		if (r >= 0)
			d->vgpu_made = false;
		break;
	case STEP_VOLUME:
		r = gpv_virt_volume_delete(d->virt, d->pool, d->volume);
		break;
	case STEP_SEED:
		r = unlink(d->seed_path) < 0 && errno != ENOENT ? -errno : 0;
		break;
	case STEP_DEFINE:
		r = gpv_virt_domain_undefine(d->virt, d->name);
		break;
	case STEP_START:
		r = gpv_virt_domain_destroy(d->virt, d->name);
		break;
	}
	if (r < 0)
		gpv_error("deploy: could not undo '%s': %s", s->what,
			*gpv_virt_error(d->virt) ? gpv_virt_error(d->virt) : strerror(-r));
	else {
		s->done = false;
		fprintf(stderr, "gpupv: undone: %s\n", s->what);
	}
}

/* After a rollback: ask libvirt whether anything of the domain is left, and say so. */
static void check_nothing_left(struct deploy *d)
{
	bool replaced = d->steps[0].kind == STEP_REPLACE && d->steps[0].done;
	int dom = gpv_virt_domain_exists(d->virt, d->name);
	/* (An imported image, or no disk at all: no volume was made.) */
	int vol = d->volume ? gpv_virt_volume_find(d->virt, d->pool, d->volume, NULL) : 0;

	if (dom == 0 && vol == 0 && d->volume)
		fprintf(stderr, "gpupv: checked: no domain '%s' and no volume '%s' in pool '%s' "
				"are left%s\n",
			d->name, d->volume, d->pool,
			replaced ? " (the domain --replace removed stays removed)" : "");
	else if (dom == 0 && vol == 0)
		fprintf(stderr, "gpupv: checked: no domain '%s' is left%s\n", d->name,
			replaced ? " (the domain --replace removed stays removed)" : "");
	else
		gpv_error("deploy: left behind after the rollback:%s%s; remove %s by hand",
			dom != 0 ? " the domain" : "", vol != 0 ? " the volume" : "",
			dom != 0 && vol != 0 ? "them" : "it");
	if (d->slice.kind == GPV_SLICE_MDEV && !d->nodedev) {
		_cleanup_free_ char *dev = gpv_strf("/sys/bus/mdev/devices/%s", d->slice.mdev_uuid);

		if (dev && gpv_root_exists(d->root, dev) < 0)
			fprintf(stderr, "gpupv: checked: no mdev %s is left\n", d->slice.mdev_uuid);
		else
			gpv_error("deploy: left behind after the rollback: the mdev %s; remove it "
				  "by writing 1 to %s/remove",
				d->slice.mdev_uuid, dev ? dev : "its folder");
	}
	if (d->slice.kind == GPV_SLICE_VGPU) {
		uint64_t cur = 0;

		if (vgpu_current(d->root, d->gpu, &cur) == 0 && cur == 0)
			fprintf(stderr, "gpupv: checked: the VF %s holds no vGPU type "
					"(current_vgpu_type 0)\n",
				d->gpu);
		else if (d->vgpu_made)
			gpv_error("deploy: left behind after the rollback: the vGPU of type %s on "
				  "the VF %s; release it by writing 0 to "
				  "/sys/bus/pci/devices/%s/nvidia/current_vgpu_type",
				d->vgpu_type, d->gpu, d->gpu);
	}
}

static int apply(struct deploy *d)
{
	const char *fail = getenv("GPUPV_TEST_FAIL_STEP");
	size_t fail_at = fail ? strtoul(fail, NULL, 10) : 0;

	for (size_t i = 0; i < d->n_steps; i++) {
		struct step *s = &d->steps[i];
		/* Fault injection for the tests: step N (from 1) fails as if libvirt said no. */
		int r = fail_at == i + 1 ? -EIO : do_step(d, s);

		if (r < 0) {
			d->failed_step = i + 1;
			gpv_error("deploy: step %zu (%s) failed: %s", i + 1, s->what,
				fail_at == i + 1 ? "injected failure (GPUPV_TEST_FAIL_STEP)"
				: *gpv_virt_error(d->virt) ? gpv_virt_error(d->virt)
							   : strerror(-r));
			while (i-- > 0)
				undo_step(d, &d->steps[i]);
			check_nothing_left(d);
			return r;
		}
		s->done = true;
		if (!d->quiet)
			printf("%s\n", s->what);
	}
	return 0;
}

/* Whether a VF of pf is on vfio-pci (a VM has it, or is about to). */
static bool vfs_in_use(struct gpv_root *root, const char *pf)
{
	for (int i = 0; i < 4096; i++) {
		_cleanup_free_ char *vf = gpv_strf("/sys/bus/pci/devices/%s/virtfn%d", pf, i);
		_cleanup_free_ char *link = gpv_strf("%s/driver", vf ? vf : "");
		_cleanup_free_ char *drv = NULL;

		if (!link || !vf)
			return true;
		if (gpv_root_exists(root, vf) < 0)
			return false;
		if (gpv_root_resolve(root, link, &drv) == 0 && strrchr(drv, '/') &&
			streq(strrchr(drv, '/'), "/vfio-pci"))
			return true;
	}
	return false;
}

/* The vGPU gpupv gave a VF goes: 0 to its current_vgpu_type, when it still holds that type (a
 * VF gone with its VFs, or holding another type by now, is left as it is). */
static int release_vgpu(struct gpv_root *root, const char *vf, const char *type)
{
	uint64_t want, cur;
	int r = vgpu_current(root, vf, &cur);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (gpv_parse_uint(type, UINT32_MAX, &want) < 0 || cur != want) {
		gpv_debug("undeploy: the VF %s holds vGPU type %llu, not %s: left as it is", vf,
			(unsigned long long)cur, type);
		return 0;
	}
	return write_vgpu(root, vf, "0");
}

int gpv_undeploy(struct gpv_virt *v, struct gpv_root *root, const char *name, bool keep_disk)
{
	_cleanup_free_ char *meta = NULL, *pool = NULL, *volume = NULL, *gpu = NULL, *seed = NULL,
			   *detached = NULL;
	_cleanup_free_ char *mdev = NULL, *nodedev = NULL, *pf = NULL, *vgpu_vf = NULL,
			   *vgpu_type = NULL;
	struct gpv_xml_doc *doc = NULL;
	int r = gpv_virt_domain_get_metadata(v, name, META_URI, &meta);

	if (r == -ENODATA)
		return -EPERM; /* not gpupv's */
	if (r < 0)
		return r;
	r = gpv_xml_parse_memory(meta, strlen(meta), "metadata", &doc, NULL);
	if (r < 0)
		return r;
	{
		struct gpv_xml_node *n = gpv_xml_root(doc);
		const char *a;

		if ((a = gpv_xml_attr(n, "pool")))
			pool = strdup(a);
		if ((a = gpv_xml_attr(n, "volume")))
			volume = strdup(a);
		if ((a = gpv_xml_attr(n, "seed")))
			seed = strdup(a);
		if ((a = gpv_xml_attr(n, "detached")))
			detached = strdup(a);
		if ((a = gpv_xml_attr(n, "bound")) && streq(a, "yes") && (a = gpv_xml_attr(n, "gpu")))
			gpu = strdup(a);
		if ((a = gpv_xml_attr(n, "mdev")))
			mdev = strdup(a);
		if ((a = gpv_xml_attr(n, "mdev-nodedev")))
			nodedev = strdup(a);
		if ((a = gpv_xml_attr(n, "vfs-enabled")) && (a = gpv_xml_attr(n, "pf")))
			pf = strdup(a);
		if ((a = gpv_xml_attr(n, "vgpu-vf")))
			vgpu_vf = strdup(a);
		if ((a = gpv_xml_attr(n, "vgpu-type")))
			vgpu_type = strdup(a);
	}
	gpv_xml_free(doc);
	r = gpv_virt_domain_destroy(v, name);
	if (r >= 0)
		r = gpv_virt_domain_undefine(v, name);
	/* Only the volume gpupv made goes: an image deploy --import booted (the metadata's
	 * import=) is the person's, never removed. */
	if (r >= 0 && pool && volume && !keep_disk) {
		r = gpv_virt_volume_delete(v, pool, volume);
		if (r == -ENOENT)
			r = 0;
	}
	/* Functions detached through libvirt go back through it, the GPU first. */
	if (r >= 0 && detached) {
		for (char *c = detached + strlen(detached); r >= 0 && c >= detached; c--)
			if (c == detached || c[-1] == ',') {
				r = gpv_virt_pci_reattach(v, c);
				if (c > detached)
					c[-1] = '\0';
			}
	}
	/* The seed medium is gpupv's own file, beside the disk: only on this machine. */
	if (r >= 0 && seed && unlink(seed) < 0 && errno != ENOENT)
		r = -errno;
	if (r >= 0 && gpu && root) {
		struct gpv_plan *back = NULL;
		struct gpv_refusal refusal = { 0 };

		/* The GPU goes back to the host unless it is not bound by gpupv any more. */
		if (gpv_unbind_plan(root, gpu, 0, &back, &refusal) == 0)
			r = gpv_plan_apply(root, back, NULL);
		gpv_plan_free(back);
		gpv_refusal_clear(&refusal);
	}
	if (r >= 0 && mdev && (nodedev || root))
		r = remove_mdev(v, root, mdev, nodedev);
	/* The VF leaves the domain with the vGPU type gpupv gave it, once the domain is gone. */
	if (r >= 0 && vgpu_vf && vgpu_type && root)
		r = release_vgpu(root, vgpu_vf, vgpu_type);
	/* The VFs gpupv enabled go when none of them is given to a VM any more. */
	if (r >= 0 && pf && root && !vfs_in_use(root, pf)) {
		_cleanup_free_ char *path = gpv_strf("/sys/bus/pci/devices/%s/sriov_numvfs", pf);

		r = path ? gpv_root_write(root, path, "0") : -ENOMEM;
	}
	return r;
}

/* Options ----------------------------------------------------------------------------------- */

enum {
	ARG_TEMPLATE = 0x100,
	ARG_GPU,
	ARG_SHARE,
	ARG_MEMORY,
	ARG_CPUS,
	ARG_DISK,
	ARG_ISO,
	ARG_VIRTIO_ISO,
	ARG_LOOKING_GLASS,
	ARG_CONNECT,
	ARG_POOL,
	ARG_NETWORK,
	ARG_NO_START,
	ARG_REPLACE,
	ARG_KEEP_DISK,
	ARG_USER,
	ARG_PASSWORD_FILE,
	ARG_AUTOLOGON,
	ARG_IMPORT,
	ARG_BOOT_KERNEL,
	ARG_BOOT_INITRD,
	ARG_BOOT_CMDLINE,
	ARG_SERIAL_LOG,
};

static const char deploy_help[] =
	"Usage: gpupv deploy NAME --template TEMPLATE [--gpu GPU|auto|none] [--share PERCENT]\n"
	"                   [--memory SIZE] [--cpus N] [--disk SIZE] [--iso FILE]\n"
	"                   [--import IMAGE] [--virtio-iso FILE] [--looking-glass]\n"
	"                   [--boot-kernel FILE [--boot-initrd FILE] [--boot-cmdline TEXT]]\n"
	"                   [--serial-log FILE] [--connect URI] [--pool POOL]\n"
	"                   [--network NET|none] [--user NAME --password-file FILE|-]\n"
	"                   [--autologon] [--no-start] [--replace] [--dry-run] [--json]\n"
	"                   [--root DIR]\n\n"
	"Creates the libvirt domain NAME from TEMPLATE ('gpupv templates'), with a GPU or none,\n"
	"a qcow2 disk in POOL, and starts it. --share below 100 (or --gpu auto) gives the VM the\n"
	"smallest slice of at least PERCENT of one GPU that is free, as 'gpupv plan' picks it:\n"
	"a whole GPU (bound to vfio-pci), an SR-IOV VF (VFs enabled as needed, the VF bound to\n"
	"vfio-pci), an NVIDIA vGPU (the type written to a free VF, which stays on NVIDIA's\n"
	"driver) or a mediated device (created); nothing fitting exits 4 with the shares this\n"
	"host can give. Every change is planned first (--dry-run prints the plan and the domain\n"
	"XML); a failure undoes what was done. Sizes take K, M, G or T (powers of 1024); a bare\n"
	"number is bytes.\n"
	"--user writes an unattended-install medium beside the disk (autounattend.xml for\n"
	"Windows, a cloud-init seed for Linux) making that user, with the password read\n"
	"from FILE (mode 0600) or standard input; it is never printed or logged.\n"
	"--import boots an existing qcow2 or raw IMAGE where it is instead of a new disk and an\n"
	"installer (not with --disk or --iso); undeploy leaves it. --boot-kernel boots FILE\n"
	"directly (with --boot-initrd, --boot-cmdline; no disk is made unless --disk is given).\n"
	"--serial-log keeps the serial console's output in FILE, also after the VM stops.\n"
	"Defaults: --gpu none, --share 100, --pool default, --network default, the template's\n"
	"memory, CPUs and disk size, libvirt's default URI.\n";

static const char undeploy_help[] =
	"Usage: gpupv undeploy NAME [--keep-disk] [--connect URI] [--dry-run] [--root DIR]\n\n"
	"Stops and removes the domain NAME that gpupv deployed, its disk (unless\n"
	"--keep-disk; never an image deploy --import booted, nor a --serial-log file), and\n"
	"gives its GPU back to the host when gpupv bound it; removes the mdev\n"
	"gpupv made for it, releases the NVIDIA vGPU type it gave a VF, and disables the VFs\n"
	"gpupv enabled once none is given to a VM.\n";

static int parse(int argc, char **argv, const char *cmd, struct gpv_opts *o, struct deploy *d,
	bool *keep_disk, int *ret_status)
{
	static const struct option deploy_opts[] = {
		{"template", required_argument, NULL, ARG_TEMPLATE},
		{"gpu", required_argument, NULL, ARG_GPU},
		{"share", required_argument, NULL, ARG_SHARE},
		{"memory", required_argument, NULL, ARG_MEMORY},
		{"cpus", required_argument, NULL, ARG_CPUS},
		{"disk", required_argument, NULL, ARG_DISK},
		{"iso", required_argument, NULL, ARG_ISO},
		{"virtio-iso", required_argument, NULL, ARG_VIRTIO_ISO},
		{"looking-glass", no_argument, NULL, ARG_LOOKING_GLASS},
		{"connect", required_argument, NULL, ARG_CONNECT},
		{"pool", required_argument, NULL, ARG_POOL},
		{"network", required_argument, NULL, ARG_NETWORK},
		{"no-start", no_argument, NULL, ARG_NO_START},
		{"replace", no_argument, NULL, ARG_REPLACE},
		{"user", required_argument, NULL, ARG_USER},
		{"password-file", required_argument, NULL, ARG_PASSWORD_FILE},
		{"autologon", no_argument, NULL, ARG_AUTOLOGON},
		{"import", required_argument, NULL, ARG_IMPORT},
		{"boot-kernel", required_argument, NULL, ARG_BOOT_KERNEL},
		{"boot-initrd", required_argument, NULL, ARG_BOOT_INITRD},
		{"boot-cmdline", required_argument, NULL, ARG_BOOT_CMDLINE},
		{"serial-log", required_argument, NULL, ARG_SERIAL_LOG},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"root", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	static const struct option undeploy_opts[] = {
		{"keep-disk", no_argument, NULL, ARG_KEEP_DISK},
		{"connect", required_argument, NULL, ARG_CONNECT},
		{"dry-run", no_argument, NULL, 'n'},
		{"root", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	bool deploy = streq(cmd, "deploy");
	int c;

	*ret_status = GPV_EXIT_USAGE;
	optind = 0;
	while ((c = getopt_long(argc + 1, argv - 1, deploy ? "njr:vh" : "nr:vh", deploy ? deploy_opts : undeploy_opts,
			NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case ARG_TEMPLATE:
			d->template = optarg;
			break;
		case ARG_GPU:
			d->gpu_arg = optarg;
			break;
		case ARG_SHARE:
			if (gpv_parse_uint(optarg, 100, &v) < 0 || v == 0) {
				gpv_error("deploy: --share '%s' is not a percentage from 1 to 100", optarg);
				return -EINVAL;
			}
			d->share = (unsigned)v;
			break;
		case ARG_MEMORY:
		case ARG_DISK: {
			_cleanup_free_ char *why = NULL;

			if (gpv_parse_size(c == ARG_MEMORY ? "--memory" : "--disk", optarg, &v,
				    &why) < 0) {
				gpv_error("deploy: %s", why);
				return -EINVAL;
			}
			*(c == ARG_MEMORY ? &d->memory : &d->disk) = v;
			d->disk_given |= c == ARG_DISK;
			break;
		}
		case ARG_IMPORT:
			d->import_arg = optarg;
			break;
		case ARG_BOOT_KERNEL:
			d->kernel_arg = optarg;
			break;
		case ARG_BOOT_INITRD:
			d->initrd_arg = optarg;
			break;
		case ARG_BOOT_CMDLINE:
			d->cmdline = optarg;
			break;
		case ARG_SERIAL_LOG:
			d->serial_log_arg = optarg;
			break;
		case ARG_USER:
			d->user = optarg;
			break;
		case ARG_PASSWORD_FILE:
			d->password_file = optarg;
			break;
		case ARG_AUTOLOGON:
			d->autologon = 1;
			break;
		case ARG_CPUS:
			if (gpv_parse_uint(optarg, 4096, &v) < 0 || v == 0) {
				gpv_error("deploy: --cpus '%s' is not a number of vCPUs from 1 to 4096",
					optarg);
				return -EINVAL;
			}
			d->cpus = (unsigned)v;
			break;
		case ARG_ISO:
		case ARG_VIRTIO_ISO:
			if (access(optarg, R_OK) < 0) {
				gpv_error("deploy: %s '%s': %s", c == ARG_ISO ? "--iso" : "--virtio-iso",
					optarg, strerror(errno));
				return -EINVAL;
			}
			*(c == ARG_ISO ? &d->iso : &d->virtio_iso) = optarg;
			break;
		case ARG_LOOKING_GLASS:
			d->looking_glass = true;
			break;
		case ARG_CONNECT:
			d->uri = optarg;
			break;
		case ARG_POOL:
			d->pool = optarg;
			break;
		case ARG_NETWORK:
			d->network = optarg;
			break;
		case ARG_NO_START:
			d->no_start = true;
			break;
		case ARG_REPLACE:
			d->replace = true;
			break;
		case ARG_KEEP_DISK:
			*keep_disk = true;
			break;
		case 'n':
			o->dry_run = d->dry_run = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'v':
			o->verbose++;
			gpv_log_set_level(GPV_LOG_DEBUG);
			break;
		case 'h':
			fputs(deploy ? deploy_help : undeploy_help, stdout);
			*ret_status = GPV_EXIT_OK;
			return 1;
		default:
			fprintf(stderr, "Try 'gpupv %s --help'.\n", cmd);
			return -EINVAL;
		}
	}
	if (optind != argc) { /* optind counts argv - 1's slots: one operand leaves it at argc */
		gpv_error("%s: give one domain NAME; see 'gpupv %s --help'", cmd, cmd);
		return -EINVAL;
	}
	d->name = argv[optind - 1];
	if (deploy && !d->template) {
		gpv_error("deploy: --template is needed; 'gpupv templates' lists them");
		return -EINVAL;
	}
	if (deploy && !d->user != !d->password_file) {
		gpv_error("deploy: --user and --password-file go together (the password comes "
			  "from a file, or '-' for standard input, never the command line)");
		return -EINVAL;
	}
	if (deploy && d->autologon && !d->user) {
		gpv_error("deploy: --autologon needs --user");
		return -EINVAL;
	}
	if (deploy && d->import_arg && d->disk_given) {
		gpv_error("deploy: --import IMAGE and --disk SIZE both give the system disk: "
			  "--import boots the existing image, --disk sizes a new volume; drop "
			  "--disk to boot '%s', or drop --import to install on a new disk",
			d->import_arg);
		return -EINVAL;
	}
	if (deploy && d->import_arg && d->iso) {
		gpv_error("deploy: --import IMAGE and --iso FILE do not go together: --import "
			  "boots an installed system, --iso installs one on a new disk; drop --iso "
			  "to boot '%s', or drop --import to install from '%s' on a new disk",
			d->import_arg, d->iso);
		return -EINVAL;
	}
	if (deploy && !d->kernel_arg && (d->initrd_arg || d->cmdline)) {
		gpv_error("deploy: %s needs --boot-kernel FILE: the initrd and the command line "
			  "go with a kernel the VM boots directly",
			d->initrd_arg ? "--boot-initrd" : "--boot-cmdline");
		return -EINVAL;
	}
	return 0;
}

/* A file of the person's named by opt, as the absolute path libvirt gets (it opens it on the
 * host, from a folder of its own): read here, not under --root. */
static int existing_file(const char *opt, const char *arg, bool block_ok, char **ret)
{
	_cleanup_free_ char *abs = realpath(arg, NULL);
	struct stat st;

	if (!abs || stat(abs, &st) < 0 || access(abs, R_OK) < 0) {
		gpv_error("deploy: %s '%s': %s", opt, arg, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode))) {
		gpv_error("deploy: %s '%s' is %s, not a file", opt, arg,
			S_ISDIR(st.st_mode) ? "a folder" : "a special file");
		return -EINVAL;
	}
	*ret = TAKE_PTR(abs);
	return 0;
}

/* A file libvirt will write (--serial-log): its folder must exist; the path, absolute. */
static int new_file(const char *opt, const char *arg, char **ret)
{
	const char *slash = strrchr(arg, '/'), *base = slash ? slash + 1 : arg;
	_cleanup_free_ char *dir =
		slash ? strndup(arg, slash == arg ? 1 : (size_t)(slash - arg)) : strdup(".");
	_cleanup_free_ char *real = NULL, *path = NULL;
	struct stat st;

	if (!dir)
		return -ENOMEM;
	if (!*base || streq(base, ".") || streq(base, "..")) {
		gpv_error("deploy: %s '%s' names a folder, not a file", opt, arg);
		return -EINVAL;
	}
	real = realpath(dir, NULL);
	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		gpv_error("deploy: %s '%s': its folder '%s': %s", opt, arg, dir,
			real ? strerror(ENOTDIR) : strerror(errno));
		return -EINVAL;
	}
	path = gpv_strf("%s/%s", streq(real, "/") ? "" : real, base);
	if (!path)
		return -ENOMEM;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		gpv_error("deploy: %s '%s' is a folder, not a file", opt, arg);
		return -EINVAL;
	}
	*ret = TAKE_PTR(path);
	return 0;
}

/* The files of --import, --boot-kernel, --boot-initrd and --serial-log, checked before
 * anything is planned: a missing one is bad input, and nothing is defined. */
static int resolve_files(struct deploy *d)
{
	const char *other = NULL;
	int r;

	if (d->kernel_arg &&
		(r = existing_file("--boot-kernel", d->kernel_arg, false, &d->kernel)) < 0)
		return r;
	if (d->initrd_arg &&
		(r = existing_file("--boot-initrd", d->initrd_arg, false, &d->initrd)) < 0)
		return r;
	if (d->serial_log_arg &&
		(r = new_file("--serial-log", d->serial_log_arg, &d->serial_log)) < 0)
		return r;
	if (!d->import_arg)
		return 0;
	r = existing_file("--import", d->import_arg, true, &d->import_path);
	if (r < 0)
		return r;
	r = gpv_image_probe(d->import_path, &d->import_format, &other);
	if (r == -EMEDIUMTYPE)
		gpv_error("deploy: --import '%s' is a %s image; gpupv boots qcow2 and raw images: "
			  "convert it with 'qemu-img convert -O qcow2 %s NEW.qcow2'",
			d->import_arg, other, d->import_arg);
	else if (r == -ENODATA)
		gpv_error("deploy: --import '%s' is empty, not a disk image", d->import_arg);
	else if (r < 0)
		gpv_error("deploy: --import '%s': %s", d->import_arg, strerror(-r));
	return r < 0 ? -EINVAL : 0;
}

int gpv_cmd_deploy(const struct gpv_opts *gopts, int argc, char **argv)
{
	struct gpv_opts o = *gopts;
	struct deploy d = { .share = 100, .pool = "default", .network = "default" };
	bool keep = false;
	int lock = -1, status, r = parse(argc, argv, "deploy", &o, &d, &keep, &status);

	if (r != 0)
		return status;
	r = resolve_files(&d);
	if (r < 0) {
		deploy_clear(&d);
		return r == -EINVAL ? GPV_EXIT_USAGE : GPV_EXIT_ERROR;
	}
	if (gpv_open_machine(&o, &d.root, NULL) < 0) {
		deploy_clear(&d);
		return GPV_EXIT_ERROR;
	}
	/* --root names this machine's recording: its GPUs are read there whatever the URI. */
	d.from_libvirt = !o.root && uri_not_here(d.uri);
	if (d.password_file) {
		_cleanup_free_ char *why = NULL;

		if (streq(d.password_file, "-") && isatty(STDIN_FILENO)) {
			gpv_error("deploy: --password-file -: standard input is a terminal, which "
				  "would echo the password; pipe it in, or give a file of mode 0600");
			deploy_clear(&d);
			return GPV_EXIT_USAGE;
		}
		r = gpv_password_read(d.password_file, &d.password, &why);
		if (r < 0) {
			gpv_error("deploy: %s", why ? why : strerror(-r));
			deploy_clear(&d);
			return GPV_EXIT_USAGE;
		}
	}
	r = plan(&d, &o);
	/* A bind is planned again under bind's lock, from what the host is once no other gpupv
	 * is changing it (a deploy that binds nothing takes no lock). */
	if (r == 0 && !d.dry_run && !d.from_libvirt &&
		((d.bind_plan && !d.bind_plan->nothing_to_do) || d.slice.kind == GPV_SLICE_MDEV ||
			d.slice.kind == GPV_SLICE_VF || d.slice.kind == GPV_SLICE_VGPU)) {
		lock = gpv_take_lock(d.root, &o);
		if (lock < 0) {
			r = lock;
		} else if (d.slice.kind == GPV_SLICE_WHOLE) {
			/* (An mdev, a VF or a vGPU is checked again as it is made.) */
			r = plan_gpu(&d, &o);
		}
	}
	if (r < 0) {
		if (lock >= 0)
			close(lock);
		deploy_clear(&d);
		return r == -EINVAL || r == -EEXIST	 ? GPV_EXIT_USAGE
		       : r == -EPERM || r == -ENOSPC ? GPV_EXIT_BLOCKED
						     : GPV_EXIT_ERROR;
	}
	d.quiet = o.json;
	if (d.dry_run && o.json) {
		r = print_json(&d);
		deploy_clear(&d);
		return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
	}
	if (d.dry_run) {
		printf("gpupv deploy %s would, in order:\n", d.name);
		for (size_t i = 0; i < d.n_steps; i++)
			printf("  %zu  %s\n", i + 1, d.steps[i].what);
		printf("\nthe domain:\n%s", d.xml);
		deploy_clear(&d);
		return GPV_EXIT_OK;
	}
	r = apply(&d);
	if (lock >= 0)
		close(lock);
	if (o.json)
		(void)print_json(&d);
	else if (r == 0)
		printf("deployed '%s'%s\n", d.name, d.no_start ? " (not started: --no-start)" : "");
	deploy_clear(&d);
	return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
}

int gpv_cmd_undeploy(const struct gpv_opts *gopts, int argc, char **argv)
{
	struct gpv_opts o = *gopts;
	struct deploy d = { 0 };
	struct gpv_root *root = NULL;
	struct gpv_virt *v = NULL;
	char *err = NULL;
	bool keep = false;
	int status, r = parse(argc, argv, "undeploy", &o, &d, &keep, &status);

	if (r != 0)
		return status;
	if (gpv_open_machine(&o, &root, NULL) < 0)
		return GPV_EXIT_ERROR;
	r = gpv_virt_open(d.uri, &v, &err);
	if (r < 0) {
		gpv_error("undeploy: cannot connect to libvirt: %s", err ? err : strerror(-r));
		free(err);
		gpv_root_free(root);
		return GPV_EXIT_ERROR;
	}
	r = gpv_virt_domain_exists(v, d.name);
	if (r == 0) {
		gpv_error("undeploy: there is no domain '%s'", d.name);
		r = -ENOENT;
	} else if (r > 0 && o.dry_run) {
		printf("gpupv undeploy %s would stop and remove it%s\n", d.name,
			keep ? ", keeping its disk" : ", its disk, and give back a GPU gpupv bound");
		r = 0;
	} else if (r > 0) {
		r = gpv_undeploy(v, root, d.name, keep);
		if (r == -EPERM)
			gpv_error("undeploy: '%s' was not deployed by gpupv (no gpupv metadata): "
				  "remove it with virsh",
				d.name);
		else if (r < 0)
			gpv_error("undeploy: %s", *gpv_virt_error(v) ? gpv_virt_error(v)
								   : strerror(-r));
		else
			printf("removed '%s'\n", d.name);
	}
	gpv_virt_close(v);
	gpv_root_free(root);
	return r < 0 ? GPV_EXIT_ERROR : GPV_EXIT_OK;
}
