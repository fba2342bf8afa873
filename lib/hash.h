/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * The one libxxhash wrapper: XXH3-128 digests of files and buffers, the hash a drivers
 * manifest records for every file. libxxhash is opened on first use (lib/dl.h). A digest is
 * kept as its 16 canonical (big-endian) bytes, the order `xxhsum -H2` prints them in.
 */
#define GPV_HASH_LEN 16
/* The hex form: 32 lower-case digits and a NUL. */
#define GPV_HASH_HEX_LEN (2 * GPV_HASH_LEN + 1)

/*
 * The digest of the whole file open at fd, read from offset 0 with pread (the file offset is
 * left alone), or of len bytes at buf. out is written only on success. Returns 0, -EOPNOTSUPP
 * when libxxhash cannot be loaded, -ENOMEM, or the -errno of a failed read.
 */
int gpv_hash_fd(int fd, uint8_t out[static GPV_HASH_LEN]);
int gpv_hash_buf(const void *buf, size_t len, uint8_t out[static GPV_HASH_LEN]);

/* The digest as 32 lower-case hex digits, as `xxhsum -H2` prints it. */
void gpv_hash_hex(const uint8_t h[static GPV_HASH_LEN], char out[static GPV_HASH_HEX_LEN]);
/* The reverse: s must be exactly 32 hex digits (either case), or -EINVAL; out is written only
 * on success. */
int gpv_hash_from_hex(const char *s, uint8_t out[static GPV_HASH_LEN]);
