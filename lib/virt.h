/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * The one wrapper around libvirt, opened on first use (lib/dl.h): libvirt brings GnuTLS, GLib
 * and more, which no command but deploy and undeploy needs. Every function returns >= 0 or a
 * negative errno; the connection keeps libvirt's own message of the last failure, which
 * gpv_virt_error() returns (libvirt never prints: its error callback is silenced).
 *
 * Errors: -ENOENT no such domain, volume, pool or node device; -EEXIST a domain of that name
 * exists; -EOPNOTSUPP libvirt cannot be loaded, or the driver cannot do it; -EIO any other
 * failure libvirt reports.
 */
struct gpv_virt;

/* Opens a connection to uri (NULL: libvirt's default). On failure *ret_error (may be NULL)
 * gets libvirt's message, which the caller frees. */
int gpv_virt_open(const char *uri, struct gpv_virt **ret, char **ret_error);
struct gpv_virt *gpv_virt_close(struct gpv_virt *v);

/* libvirt's message for the last failure on v, or "" when there was none. Owned by v. */
const char *gpv_virt_error(const struct gpv_virt *v);
/* The connection's URI, as libvirt canonicalised it. Owned by v. */
const char *gpv_virt_uri(const struct gpv_virt *v);

/* The host's memory (KiB) and logical CPUs. */
int gpv_virt_node_info(struct gpv_virt *v, unsigned long long *ret_kib, unsigned *ret_cpus);

/* 1 when the hypervisor offers KVM, 0 when only emulation (TCG) or another kind. */
int gpv_virt_has_kvm(struct gpv_virt *v);

/* 1 when a domain of that name exists, 0 when not. */
int gpv_virt_domain_exists(struct gpv_virt *v, const char *name);
/* 1 when running, 0 when not. */
int gpv_virt_domain_active(struct gpv_virt *v, const char *name);
/* Defines a persistent domain, with libvirt validating the XML against its schema. */
int gpv_virt_domain_define(struct gpv_virt *v, const char *xml);
int gpv_virt_domain_start(struct gpv_virt *v, const char *name);
/* Asks the guest to shut down (ACPI or agent), returning at once: poll
 * gpv_virt_domain_active() to see it go. -ENOENT when there is no such domain. */
int gpv_virt_domain_shutdown(struct gpv_virt *v, const char *name);
/* Stops it at once (a power cut, not a shutdown); 0 when it was not running. */
int gpv_virt_domain_destroy(struct gpv_virt *v, const char *name);
/* Removes the definition, with its UEFI variables and TPM state. */
int gpv_virt_domain_undefine(struct gpv_virt *v, const char *name);
/* The persistent definition; caller frees *ret. */
int gpv_virt_domain_xml(struct gpv_virt *v, const char *name, char **ret);

/* Stores xml (one element, no namespace: libvirt gives it uri's) in the persistent
 * definition's metadata, and reads it back (caller frees *ret; -ENODATA when there is none). */
int gpv_virt_domain_set_metadata(struct gpv_virt *v, const char *name, const char *xml,
	const char *prefix, const char *uri);
int gpv_virt_domain_get_metadata(struct gpv_virt *v, const char *name, const char *uri, char **ret);

/* Creates a volume from xml in pool; *ret_path (may be NULL) gets its path, to free. */
int gpv_virt_volume_create(struct gpv_virt *v, const char *pool, const char *xml, char **ret_path);
/* 1 when the pool has a volume of that name, 0 when not; *ret_path as above. */
int gpv_virt_volume_find(struct gpv_virt *v, const char *pool, const char *name, char **ret_path);
int gpv_virt_volume_delete(struct gpv_virt *v, const char *pool, const char *name);
/* The pool's target folder (where its volumes are files); caller frees *ret. */
int gpv_virt_pool_path(struct gpv_virt *v, const char *pool, char **ret);

/* A persistent node device (an mdev) from xml, then started; *ret_name gets its name. */
int gpv_virt_nodedev_define_start(struct gpv_virt *v, const char *xml, char **ret_name);
/* Stops and undefines the node device; 0 when it was gone. */
int gpv_virt_nodedev_remove(struct gpv_virt *v, const char *name);

/* The XML of every PCI node device, a NULL-terminated array (free with gpv_names_free()). */
int gpv_virt_nodedev_pci(struct gpv_virt *v, char ***ret, size_t *ret_n);
/* A PCI function ("0000:01:00.0") to vfio-pci through libvirt (virNodeDeviceDetachFlags), and
 * back to its host driver (virNodeDeviceReAttach): how a GPU moves on a host gpupv cannot
 * write itself. */
int gpv_virt_pci_detach(struct gpv_virt *v, const char *addr);
int gpv_virt_pci_reattach(struct gpv_virt *v, const char *addr);
/* Forgets the last failure (one the caller handled, e.g. -EOPNOTSUPP and a fallback). */
void gpv_virt_clear_error(struct gpv_virt *v);

/* The persistent XML of every domain, running or not, a NULL-terminated array (free with
 * gpv_names_free()). */
int gpv_virt_domain_xmls(struct gpv_virt *v, char ***ret, size_t *ret_n);
