/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <pci/pci.h>

#include "lib/log.h"
#include "lib/dl.h"
#include "lib/pci.h"

/* libpci is opened on first use (lib/dl.h): only the commands that show names need it. */
static GPV_DL_SYM(pci_alloc);
static GPV_DL_SYM(pci_cleanup);
static GPV_DL_SYM(pci_init);
static GPV_DL_SYM(pci_lookup_name);
static GPV_DL_SYM(pci_set_name_list_path);
static GPV_DL_SYM(pci_set_param);
static int pci_state;

static int pci_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(pci_alloc),
		GPV_DL_ENTRY(pci_cleanup),
		GPV_DL_ENTRY(pci_init),
		GPV_DL_ENTRY(pci_lookup_name),
		GPV_DL_ENTRY(pci_set_name_list_path),
		GPV_DL_ENTRY(pci_set_param),
	};

	return gpv_dl_open(GPV_LIBPCI_SONAME, syms, ELEMENTSOF(syms), &pci_state);
}

struct gpv_pci_names {
	struct pci_access *acc;
	char *ids_path;
	char *sysfs_path;
};

static void pci_log(char *msg, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	gpv_debug("libpci: %s", buf);
}

int gpv_pci_names_new(struct gpv_root *root, const char *ids_path, struct gpv_pci_names **ret)
{
	struct gpv_pci_names *n;
	int r = pci_open();

	if (r < 0)
		return r;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->ids_path = strdup(ids_path ? ids_path : GPV_PCI_IDS);
	r = gpv_root_host_path(root, "/sys/bus/pci", &n->sysfs_path);
	if (!n->ids_path || r < 0) {
		gpv_pci_names_free(n);
		return -ENOMEM;
	}
	n->acc = sym_pci_alloc();
	if (!n->acc) {
		gpv_pci_names_free(n);
		return -ENOMEM;
	}
	n->acc->warning = pci_log;
	n->acc->debug = pci_log;
	n->acc->method = PCI_ACCESS_SYS_BUS_PCI;
	sym_pci_set_param(n->acc, "sysfs.path", n->sysfs_path);
	sym_pci_set_name_list_path(n->acc, n->ids_path, 0);
	sym_pci_init(n->acc);
	gpv_debug("libpci: names from %s, sysfs.path=%s", n->ids_path, n->sysfs_path);
	*ret = n;
	return 0;
}

struct gpv_pci_names *gpv_pci_names_free(struct gpv_pci_names *n)
{
	if (!n)
		return NULL;
	if (n->acc)
		sym_pci_cleanup(n->acc);
	free(n->ids_path);
	free(n->sysfs_path);
	free(n);
	return NULL;
}

#define LOOKUP_FLAGS (PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB)

int gpv_pci_device_name(struct gpv_pci_names *n, uint16_t vendor, uint16_t device, char **ret)
{
	char vbuf[256], dbuf[256];
	const char *v, *d;

	v = sym_pci_lookup_name(n->acc, vbuf, sizeof(vbuf), PCI_LOOKUP_VENDOR | LOOKUP_FLAGS, vendor);
	if (!v)
		return -ENOENT;
	d = sym_pci_lookup_name(
		n->acc, dbuf, sizeof(dbuf), PCI_LOOKUP_DEVICE | LOOKUP_FLAGS, vendor, device);
	if (!d)
		return gpv_asprintf(ret, "%s Device %04x", v, device);
	return gpv_asprintf(ret, "%s %s", v, d);
}

int gpv_pci_class_name(struct gpv_pci_names *n, uint16_t cls, char **ret)
{
	char buf[256];
	const char *c =
		sym_pci_lookup_name(n->acc, buf, sizeof(buf), PCI_LOOKUP_CLASS | LOOKUP_FLAGS, cls);

	if (!c)
		return -ENOENT;
	*ret = strdup(c);
	return *ret ? 0 : -ENOMEM;
}

static uint16_t rd16(const uint8_t *c, size_t pos)
{
	return (uint16_t)(c[pos] | c[pos + 1] << 8);
}

static uint32_t rd32(const uint8_t *c, size_t pos)
{
	return (uint32_t)rd16(c, pos) | (uint32_t)rd16(c, pos + 2) << 16;
}

int gpv_pci_config_header_type(const uint8_t *cfg, size_t len)
{
	if (len < 64)
		return -ENODATA;
	return cfg[PCI_HEADER_TYPE] & 0x7f;
}

int gpv_pci_config_reset_methods(const uint8_t *cfg, size_t len, gpv_strv *out)
{
	bool flr = false, af_flr = false, pm = false;
	unsigned pos, visited = 0;
	int r;

	if (len < 64)
		return -ENODATA;
	if (!(rd16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg[(cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST
									   : PCI_CAPABILITY_LIST];
	/* 48 capabilities fit in the 192 bytes after the header: more means a loop. */
	while (pos >= 0x40 && pos + 2 <= len && visited++ < 48) {
		uint8_t id = cfg[pos];

		pos &= ~3u;
		if (id == PCI_CAP_ID_EXP && pos + PCI_EXP_DEVCAP + 4 <= len)
			flr = rd32(cfg, pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLRESET;
		else if (id == PCI_CAP_ID_AF && pos + PCI_AF_CAP + 1 <= len)
			af_flr = (cfg[pos + PCI_AF_CAP] & (PCI_AF_CAP_TP | PCI_AF_CAP_FLR)) ==
				 (PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
		else if (id == PCI_CAP_ID_PM && pos + PCI_PM_CTRL + 2 <= len)
			pm = !(rd16(cfg, pos + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RST);
		pos = cfg[pos + 1];
	}
	/* The kernel's order of preference (drivers/pci/pci.c, pci_reset_fn_methods). */
	if (flr && (r = gpv_strv_push(out, "flr")) < 0)
		return r;
	if (af_flr && (r = gpv_strv_push(out, "af_flr")) < 0)
		return r;
	if (pm && (r = gpv_strv_push(out, "pm")) < 0)
		return r;
	return 0;
}
