/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Disk images a person hands gpupv (deploy --import): told apart by their first bytes, as
 * qemu-img would, without asking qemu to guess. The path is the person's own file, opened as
 * given: not a file of the machine under --root.
 */

/*
 * The format of the image at path: "qcow2" (the QFI\xfb magic, version 2 or 3) or "raw"
 * (anything else that is not one of the formats below), as a static string in *ret_format.
 * -errno when path cannot be opened or read, -EISDIR for a folder, -EINVAL for what is neither
 * a regular file nor a block device, -ENODATA for an empty file, -EMEDIUMTYPE for a format
 * qemu knows but gpupv does not take (qcow version 1, VMDK, VHDX, VDI, QED): its name is then
 * in *ret_other (static; may be NULL), to be converted with qemu-img.
 */
int gpv_image_probe(const char *path, const char **ret_format, const char **ret_other);

/*
 * Reads n bytes at offset of the disk that the image at path (format "raw" or "qcow2") holds,
 * as a virtual machine sees it, into buf: so that a disk's first bytes are known without
 * starting anything. A qcow2 image is read through its L1 and L2 tables (qemu's
 * docs/interop/qcow2.txt), unallocated clusters as zeroes. -EOPNOTSUPP for what only qemu
 * reads: a backing file, encryption, compressed clusters, an external data file, extended L2
 * entries; -ERANGE for bytes past the disk's end; -EINVAL for tables that point outside the
 * image or a header out of range; -errno when the file cannot be read.
 */
int gpv_image_pread(const char *path, const char *format, void *buf, size_t n, uint64_t offset);
