/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "drivers-sync/set.h"

/*
 * A tar stream of a sync's files, as the image target hands them to libguestfs's appliance
 * (whose GNU tar unpacks it): POSIX ustar headers, with a pax extended header for what ustar
 * cannot hold (a name or link target of 100 bytes or more, a size of 8 GiB or more, an mtime
 * with nanoseconds or out of range). Every member belongs to root, uid and gid 0; regular files
 * have their set's mode and mtime, links are symbolic links. No folder is a member: they must
 * exist where the stream is unpacked.
 */

/*
 * Writes to fd, in order, each of files (n of them) under names[i] (relative, no leading '/'),
 * then the end of the archive. A regular file's bytes come from the fd open_src returns (closed
 * here), exactly as many as it holds when opened. Returns 0, the -errno of a write (-EPIPE when
 * the reader went away), or of open_src; -EIO when a file shrank while being read.
 */
int gpv_ds_tar_write(int fd, const struct gpv_ds_file *const *files, const char *const *names,
	size_t n, int (*open_src)(void *ud, const struct gpv_ds_file *f), void *ud);
