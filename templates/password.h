/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The guest user's password. It comes from a file or standard input, never from the command
 * line (where ps and the shell's history would show it), and is never logged: no message
 * here or in the callers quotes it. Buffers that held it are wiped before they are freed.
 */

/* Longest password accepted, in bytes (Windows allows 256 characters). */
#define GPV_PASSWORD_MAX 1024

/*
 * Reads the password from the file named by path, or from standard input when path is "-":
 * one line, its line end ("\n" or "\r\n") dropped. Refused, with *why (the caller frees it)
 * naming the file and the fix:
 *   -EACCES  the file can be read or written by its group or others (it says: chmod 600 FILE);
 *   -EINVAL  not a regular file, empty, more than one line, a control character, not UTF-8;
 *   -E2BIG   longer than GPV_PASSWORD_MAX bytes;
 *   other -errno when the file cannot be opened or read.
 * On success *ret is the password, owned by the caller, who frees it with gpv_password_free().
 */
int gpv_password_read(const char *path, char **ret, char **why);

/* Wipes and frees a password; NULL is fine. */
void gpv_password_free(char *password);

static inline void gpv_password_freep(char **p)
{
	gpv_password_free(*p);
}
#define _cleanup_password_ __attribute__((cleanup(gpv_password_freep)))
