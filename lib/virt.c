/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lib/dl.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"
#include "lib/virt.h"

static GPV_DL_SYM(virConnectOpen);
static GPV_DL_SYM(virConnectClose);
static GPV_DL_SYM(virConnectGetURI);
static GPV_DL_SYM(virConnectGetCapabilities);
static GPV_DL_SYM(virSetErrorFunc);
static GPV_DL_SYM(virGetLastError);
static GPV_DL_SYM(virGetLastErrorMessage);
static GPV_DL_SYM(virResetLastError);
static GPV_DL_SYM(virNodeGetInfo);
static GPV_DL_SYM(virDomainLookupByName);
static GPV_DL_SYM(virDomainFree);
static GPV_DL_SYM(virDomainDefineXMLFlags);
static GPV_DL_SYM(virDomainCreate);
static GPV_DL_SYM(virDomainIsActive);
static GPV_DL_SYM(virDomainDestroy);
static GPV_DL_SYM(virDomainShutdown);
static GPV_DL_SYM(virDomainUndefineFlags);
static GPV_DL_SYM(virDomainGetXMLDesc);
static GPV_DL_SYM(virStoragePoolLookupByName);
static GPV_DL_SYM(virStoragePoolFree);
static GPV_DL_SYM(virStoragePoolGetXMLDesc);
static GPV_DL_SYM(virStorageVolCreateXML);
static GPV_DL_SYM(virStorageVolLookupByName);
static GPV_DL_SYM(virStorageVolGetPath);
static GPV_DL_SYM(virStorageVolDelete);
static GPV_DL_SYM(virStorageVolFree);
static GPV_DL_SYM(virDomainSetMetadata);
static GPV_DL_SYM(virDomainGetMetadata);
static GPV_DL_SYM(virNodeDeviceDefineXML);
static GPV_DL_SYM(virNodeDeviceCreate);
static GPV_DL_SYM(virNodeDeviceGetName);
static GPV_DL_SYM(virNodeDeviceLookupByName);
static GPV_DL_SYM(virNodeDeviceDestroy);
static GPV_DL_SYM(virNodeDeviceUndefine);
static GPV_DL_SYM(virNodeDeviceFree);
static GPV_DL_SYM(virConnectListAllNodeDevices);
static GPV_DL_SYM(virConnectListAllDomains);
static GPV_DL_SYM(virNodeDeviceGetXMLDesc);
static GPV_DL_SYM(virNodeDeviceDetachFlags);
static GPV_DL_SYM(virNodeDeviceReAttach);
static int virt_state;

/* libvirt prints every error on stderr unless told otherwise: gpupv reports them itself. */
static void quiet(void *data, virErrorPtr err)
{
	gpv_debug("libvirt: %s", err && err->message ? err->message : "?");
}

static int virt_load(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(virConnectOpen),
		GPV_DL_ENTRY(virConnectClose),
		GPV_DL_ENTRY(virConnectGetURI),
		GPV_DL_ENTRY(virConnectGetCapabilities),
		GPV_DL_ENTRY(virSetErrorFunc),
		GPV_DL_ENTRY(virGetLastError),
		GPV_DL_ENTRY(virGetLastErrorMessage),
		GPV_DL_ENTRY(virResetLastError),
		GPV_DL_ENTRY(virNodeGetInfo),
		GPV_DL_ENTRY(virDomainLookupByName),
		GPV_DL_ENTRY(virDomainFree),
		GPV_DL_ENTRY(virDomainDefineXMLFlags),
		GPV_DL_ENTRY(virDomainCreate),
		GPV_DL_ENTRY(virDomainIsActive),
		GPV_DL_ENTRY(virDomainDestroy),
		GPV_DL_ENTRY(virDomainShutdown),
		GPV_DL_ENTRY(virDomainUndefineFlags),
		GPV_DL_ENTRY(virDomainGetXMLDesc),
		GPV_DL_ENTRY(virStoragePoolLookupByName),
		GPV_DL_ENTRY(virStoragePoolFree),
		GPV_DL_ENTRY(virStoragePoolGetXMLDesc),
		GPV_DL_ENTRY(virStorageVolCreateXML),
		GPV_DL_ENTRY(virStorageVolLookupByName),
		GPV_DL_ENTRY(virStorageVolGetPath),
		GPV_DL_ENTRY(virStorageVolDelete),
		GPV_DL_ENTRY(virStorageVolFree),
		GPV_DL_ENTRY(virDomainSetMetadata),
		GPV_DL_ENTRY(virDomainGetMetadata),
		GPV_DL_ENTRY(virNodeDeviceDefineXML),
		GPV_DL_ENTRY(virNodeDeviceCreate),
		GPV_DL_ENTRY(virNodeDeviceGetName),
		GPV_DL_ENTRY(virNodeDeviceLookupByName),
		GPV_DL_ENTRY(virNodeDeviceDestroy),
		GPV_DL_ENTRY(virNodeDeviceUndefine),
		GPV_DL_ENTRY(virNodeDeviceFree),
		GPV_DL_ENTRY(virConnectListAllNodeDevices),
		GPV_DL_ENTRY(virConnectListAllDomains),
		GPV_DL_ENTRY(virNodeDeviceGetXMLDesc),
		GPV_DL_ENTRY(virNodeDeviceDetachFlags),
		GPV_DL_ENTRY(virNodeDeviceReAttach),
	};
	bool first = virt_state == 0;
	int r = gpv_dl_open(GPV_LIBVIRT_SONAME, syms, ELEMENTSOF(syms), &virt_state);

	if (r == 0 && first)
		sym_virSetErrorFunc(NULL, quiet);
	return r;
}

struct gpv_virt {
	virConnectPtr conn;
	char *uri;
	char *error;
};

/* Keeps libvirt's message and maps its code to an errno. */
static int fail(struct gpv_virt *v)
{
	virErrorPtr e = sym_virGetLastError();
	const char *msg = sym_virGetLastErrorMessage();
	int code = e ? e->code : VIR_ERR_INTERNAL_ERROR;

	if (v) {
		free(v->error);
		v->error = strdup(msg ? msg : "unknown libvirt error");
	}
	sym_virResetLastError();
	switch (code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_NO_STORAGE_POOL:
	case VIR_ERR_NO_STORAGE_VOL:
	case VIR_ERR_NO_NODE_DEVICE:
		return -ENOENT;
	case VIR_ERR_NO_DOMAIN_METADATA:
		return -ENODATA;
	case VIR_ERR_NO_SUPPORT:
		return -EOPNOTSUPP;
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_AUTH_FAILED:
		return -EPERM;
	default:
		return -EIO;
	}
}

int gpv_virt_open(const char *uri, struct gpv_virt **ret, char **ret_error)
{
	struct gpv_virt *v;
	int r = virt_load();

	if (r < 0) {
		if (ret_error)
			*ret_error = gpv_strf("cannot load %s (Debian package libvirt0)",
				GPV_LIBVIRT_SONAME);
		return r;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->conn = sym_virConnectOpen(uri);
	if (!v->conn) {
		r = fail(v);
		if (ret_error)
			*ret_error = TAKE_PTR(v->error);
		gpv_virt_close(v);
		return r;
	}
	v->uri = sym_virConnectGetURI(v->conn);
	*ret = v;
	return 0;
}

struct gpv_virt *gpv_virt_close(struct gpv_virt *v)
{
	if (!v)
		return NULL;
	if (v->conn)
		sym_virConnectClose(v->conn);
	free(v->uri);
	free(v->error);
	free(v);
	return NULL;
}

const char *gpv_virt_error(const struct gpv_virt *v)
{
	return v->error ? v->error : "";
}

const char *gpv_virt_uri(const struct gpv_virt *v)
{
	return v->uri ? v->uri : "";
}

int gpv_virt_node_info(struct gpv_virt *v, unsigned long long *ret_kib, unsigned *ret_cpus)
{
	virNodeInfo info;

	if (sym_virNodeGetInfo(v->conn, &info) < 0)
		return fail(v);
	*ret_kib = info.memory;
	*ret_cpus = info.cpus;
	return 0;
}

int gpv_virt_has_kvm(struct gpv_virt *v)
{
	char *caps = sym_virConnectGetCapabilities(v->conn);
	int r;

	if (!caps)
		return fail(v);
	/* libvirt writes its capabilities itself: <domain type='kvm'/> under a guest. */
	r = strstr(caps, "<domain type='kvm'") != NULL;
	free(caps);
	return r;
}

/* Looks the domain up: 1 found (in *ret), 0 not, or an error. */
static int lookup_domain(struct gpv_virt *v, const char *name, virDomainPtr *ret)
{
	virDomainPtr d = sym_virDomainLookupByName(v->conn, name);
	int r;

	if (d) {
		*ret = d;
		return 1;
	}
	r = fail(v);
	return r == -ENOENT ? 0 : r;
}

int gpv_virt_domain_exists(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r > 0)
		sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_active(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = sym_virDomainIsActive(d);
	if (r < 0)
		r = fail(v);
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_define(struct gpv_virt *v, const char *xml)
{
	virDomainPtr d = sym_virDomainDefineXMLFlags(v->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);

	if (!d)
		return fail(v);
	sym_virDomainFree(d);
	return 0;
}

int gpv_virt_domain_start(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = sym_virDomainCreate(d) < 0 ? fail(v) : 0;
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_shutdown(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = sym_virDomainShutdown(d) < 0 ? fail(v) : 0;
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_destroy(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r;
	r = sym_virDomainIsActive(d);
	if (r > 0)
		r = sym_virDomainDestroy(d) < 0 ? fail(v) : 1;
	else if (r < 0)
		r = fail(v);
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_undefine(struct gpv_virt *v, const char *name)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = sym_virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM |
						  VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
						  VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
						  VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA);
	/* Drivers that know no NVRAM or TPM (the test driver) refuse the flags: ask again. */
	if (r < 0) {
		(void)fail(v);
		r = sym_virDomainUndefineFlags(d, 0);
	}
	r = r < 0 ? fail(v) : 0;
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_xml(struct gpv_virt *v, const char *name, char **ret)
{
	virDomainPtr d = NULL;
	char *xml;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	xml = sym_virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	r = xml ? 0 : fail(v);
	sym_virDomainFree(d);
	if (r == 0)
		*ret = xml;
	return r;
}

int gpv_virt_domain_set_metadata(struct gpv_virt *v, const char *name, const char *xml,
	const char *prefix, const char *uri)
{
	virDomainPtr d = NULL;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = sym_virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, prefix, uri,
		    VIR_DOMAIN_AFFECT_CONFIG) < 0
		    ? fail(v)
		    : 0;
	sym_virDomainFree(d);
	return r;
}

int gpv_virt_domain_get_metadata(struct gpv_virt *v, const char *name, const char *uri, char **ret)
{
	virDomainPtr d = NULL;
	char *xml;
	int r = lookup_domain(v, name, &d);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	xml = sym_virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, uri, VIR_DOMAIN_AFFECT_CONFIG);
	r = xml ? 0 : fail(v);
	sym_virDomainFree(d);
	if (r == 0)
		*ret = xml;
	return r;
}

static int lookup_pool(struct gpv_virt *v, const char *pool, virStoragePoolPtr *ret)
{
	*ret = sym_virStoragePoolLookupByName(v->conn, pool);
	return *ret ? 0 : fail(v);
}

int gpv_virt_volume_create(struct gpv_virt *v, const char *pool, const char *xml, char **ret_path)
{
	virStoragePoolPtr p;
	virStorageVolPtr vol;
	int r = lookup_pool(v, pool, &p);

	if (r < 0)
		return r;
	vol = sym_virStorageVolCreateXML(p, xml, 0);
	if (!vol) {
		r = fail(v);
	} else {
		if (ret_path && !(*ret_path = sym_virStorageVolGetPath(vol)))
			r = fail(v);
		sym_virStorageVolFree(vol);
	}
	sym_virStoragePoolFree(p);
	return r;
}

int gpv_virt_volume_find(struct gpv_virt *v, const char *pool, const char *name, char **ret_path)
{
	virStoragePoolPtr p;
	virStorageVolPtr vol;
	int r = lookup_pool(v, pool, &p);

	if (r < 0)
		return r;
	vol = sym_virStorageVolLookupByName(p, name);
	if (!vol) {
		r = fail(v);
		r = r == -ENOENT ? 0 : r;
	} else {
		r = 1;
		if (ret_path && !(*ret_path = sym_virStorageVolGetPath(vol)))
			r = fail(v);
		sym_virStorageVolFree(vol);
	}
	sym_virStoragePoolFree(p);
	return r;
}

int gpv_virt_volume_delete(struct gpv_virt *v, const char *pool, const char *name)
{
	virStoragePoolPtr p;
	virStorageVolPtr vol;
	int r = lookup_pool(v, pool, &p);

	if (r < 0)
		return r;
	vol = sym_virStorageVolLookupByName(p, name);
	if (!vol) {
		r = fail(v);
	} else {
		r = sym_virStorageVolDelete(vol, 0) < 0 ? fail(v) : 0;
		sym_virStorageVolFree(vol);
	}
	sym_virStoragePoolFree(p);
	return r;
}

int gpv_virt_pool_path(struct gpv_virt *v, const char *pool, char **ret)
{
	virStoragePoolPtr p;
	char *xml, *a, *b;
	int r = lookup_pool(v, pool, &p);

	if (r < 0)
		return r;
	xml = sym_virStoragePoolGetXMLDesc(p, 0);
	sym_virStoragePoolFree(p);
	if (!xml)
		return fail(v);
	/* <target><path>DIR</path>: libvirt writes it itself, one element, no attributes. */
	a = strstr(xml, "<target>");
	a = a ? strstr(a, "<path>") : NULL;
	b = a ? strstr(a, "</path>") : NULL;
	if (!a || !b) {
		free(xml);
		return -EOPNOTSUPP;
	}
	a += strlen("<path>");
	*ret = strndup(a, (size_t)(b - a));
	free(xml);
	return *ret ? 0 : -ENOMEM;
}

int gpv_virt_nodedev_define_start(struct gpv_virt *v, const char *xml, char **ret_name)
{
	virNodeDevicePtr d = sym_virNodeDeviceDefineXML(v->conn, xml, 0);
	const char *name;
	int r = 0;

	if (!d)
		return fail(v);
	if (sym_virNodeDeviceCreate(d, 0) < 0) {
		r = fail(v);
		(void)sym_virNodeDeviceUndefine(d, 0);
	} else if (ret_name) {
		name = sym_virNodeDeviceGetName(d);
		*ret_name = name ? strdup(name) : NULL;
		if (!*ret_name)
			r = -ENOMEM;
	}
	sym_virNodeDeviceFree(d);
	return r;
}

int gpv_virt_nodedev_remove(struct gpv_virt *v, const char *name)
{
	virNodeDevicePtr d = sym_virNodeDeviceLookupByName(v->conn, name);
	int r;

	if (!d) {
		r = fail(v);
		return r == -ENOENT ? 0 : r;
	}
	(void)sym_virNodeDeviceDestroy(d); /* not running is fine */
	sym_virResetLastError();
	r = sym_virNodeDeviceUndefine(d, 0) < 0 ? fail(v) : 0;
	sym_virNodeDeviceFree(d);
	return r;
}

int gpv_virt_nodedev_pci(struct gpv_virt *v, char ***ret, size_t *ret_n)
{
	virNodeDevicePtr *devs = NULL;
	char **xmls;
	int n = sym_virConnectListAllNodeDevices(v->conn, &devs,
		VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
	int r = 0;

	if (n < 0)
		return fail(v);
	xmls = calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (xmls && r == 0 && !(xmls[i] = sym_virNodeDeviceGetXMLDesc(devs[i], 0)))
			r = fail(v);
		sym_virNodeDeviceFree(devs[i]);
	}
	free(devs);
	if (!xmls)
		return -ENOMEM;
	if (r < 0) {
		gpv_names_free(xmls);
		return r;
	}
	*ret = xmls;
	*ret_n = (size_t)n;
	return 0;
}

/* Moves the PCI function at addr (node device pci_0000_01_00_0) to vfio-pci, or back. */
static int pci_move(struct gpv_virt *v, const char *addr, bool to_vfio)
{
	virNodeDevicePtr d;
	char name[20];
	int r;

	snprintf(name, sizeof(name), "pci_%.4s_%.2s_%.2s_%.1s", addr, addr + 5, addr + 8,
		addr + 11);
	d = sym_virNodeDeviceLookupByName(v->conn, name);
	if (!d)
		return fail(v);
	r = to_vfio ? sym_virNodeDeviceDetachFlags(d, "vfio", 0) : sym_virNodeDeviceReAttach(d);
	r = r < 0 ? fail(v) : 0;
	sym_virNodeDeviceFree(d);
	return r;
}

int gpv_virt_pci_detach(struct gpv_virt *v, const char *addr)
{
	return pci_move(v, addr, true);
}

int gpv_virt_pci_reattach(struct gpv_virt *v, const char *addr)
{
	return pci_move(v, addr, false);
}

void gpv_virt_clear_error(struct gpv_virt *v)
{
	free(v->error);
	v->error = NULL;
}

int gpv_virt_domain_xmls(struct gpv_virt *v, char ***ret, size_t *ret_n)
{
	virDomainPtr *doms = NULL;
	char **xmls;
	int n = sym_virConnectListAllDomains(v->conn, &doms, 0);
	int r = 0;

	if (n < 0)
		return fail(v);
	xmls = calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (xmls && r == 0 &&
			!(xmls[i] = sym_virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE)))
			r = fail(v);
		sym_virDomainFree(doms[i]);
	}
	free(doms);
	if (!xmls)
		return -ENOMEM;
	if (r < 0) {
		gpv_names_free(xmls);
		return r;
	}
	*ret = xmls;
	*ret_n = (size_t)n;
	return 0;
}
