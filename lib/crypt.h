/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one libcrypt (libxcrypt) wrapper: password hashes in crypt(3) form, as /etc/shadow and
 * cloud-init's "passwd" hold them. libcrypt is opened on first use (lib/dl.h).
 */

/*
 * Hashes password with SHA-512 ("$6$", the default rounds) and a random salt from the
 * kernel. On success *ret is the hash, owned by the caller (plain free()). Returns 0, -EINVAL
 * for an empty password, -EOPNOTSUPP when libcrypt or SHA-512 is missing, -ENOMEM, or -EIO.
 */
int gpv_crypt_sha512(const char *password, char **ret);

/* 0 when hash is password's crypt(3) hash, -EACCES when not, -EINVAL for a malformed hash,
 * -EOPNOTSUPP when libcrypt is missing. */
int gpv_crypt_verify(const char *password, const char *hash);
