/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * The one libisofs wrapper: small ISO 9660 images (with Rock Ridge and Joliet) made from files
 * held in memory, such as an unattended-install medium. libisofs is opened on first use
 * (lib/dl.h).
 */
struct gpv_iso_file {
	const char *name;	/* in the image's root folder: no '/', at most 64 bytes */
	const void *data;	/* borrowed; may hold secrets: every copy made is wiped */
	size_t size;
};

/*
 * Writes an image labelled volume_id (at most 32 bytes, kept as given: "cidata" stays lower
 * case) holding files to path. The image is written to a temporary file, mode 0600, next to
 * path and renamed over it once complete, so path never holds half an image. Returns 0,
 * -EINVAL for a bad name or label, -EOPNOTSUPP when libisofs cannot be loaded, -ENOMEM, -EIO
 * when libisofs fails, or the -errno of a failed file operation.
 */
int gpv_iso_write(const char *path, const char *volume_id, const struct gpv_iso_file *files,
	size_t n);
