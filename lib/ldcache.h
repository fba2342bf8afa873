/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gpv_root;

/*
 * glibc's /etc/ld.so.cache, read the way the dynamic loader reads it (glibc
 * sysdeps/generic/dl-cache.h): the new format ("glibc-ld.so.cache1.1", the only one ldconfig
 * writes by default since glibc 2.32), the old one ("ld.so-1.7.0", libc5 to glibc 2.1) and the
 * old one with the new one behind it (what ldconfig wrote by default before glibc 2.32). When
 * both are present the new one is read, as ld.so does.
 *
 * Entries keep the cache's order: ldconfig sorts them by name, then for one name the x86-64
 * entry before the i386 one, and entries in glibc-hwcaps subdirectories before the plain one.
 */

/* The entry's flags word: the low byte is the kind of library, the high byte its ABI. */
#define GPV_LDCACHE_FLAG_TYPE_MASK 0x00ffu
#define GPV_LDCACHE_FLAG_ELF_LIBC6 0x0003u
#define GPV_LDCACHE_FLAG_ABI_MASK 0xff00u
#define GPV_LDCACHE_FLAG_X8664_LIB64 0x0300u

struct gpv_ldcache_entry {
	const char *key;  /* the soname: "libcuda.so.1" */
	const char *path; /* "/usr/lib/x86_64-linux-gnu/libcuda.so.1", as seen in the root */
	unsigned flags;	  /* GPV_LDCACHE_FLAG_* */
	/* Not 0 for a library only some CPUs load: one in a glibc-hwcaps subdirectory (bit 62
	 * set) or, written by glibc < 2.37, in a legacy hwcap one ("haswell/"). Always 0 in the
	 * old format. */
	uint64_t hwcap;
};

struct gpv_ldcache;

/*
 * Parses len bytes of a cache, which are copied: buf may go once this returns. On success
 * *ret is owned by the caller (gpv_ldcache_free()). -EBADMSG when the buffer is not a cache or
 * is cut short or corrupt (every offset is checked, every string must end inside the buffer),
 * -ENOMEM.
 */
int gpv_ldcache_parse(const void *buf, size_t len, struct gpv_ldcache **ret);
/* ROOT/etc/ld.so.cache, read through the root. -ENOENT when there is none, -EFBIG over 64 MiB,
 * or gpv_ldcache_parse()'s errors. */
int gpv_ldcache_read(struct gpv_root *root, struct gpv_ldcache **ret);
/* NULL-safe; returns NULL. Every entry and string dies with the cache. */
struct gpv_ldcache *gpv_ldcache_free(struct gpv_ldcache *c);

size_t gpv_ldcache_count(const struct gpv_ldcache *c);
/* The i-th entry in the cache's order, or NULL when i is out of range. Owned by c. */
const struct gpv_ldcache_entry *gpv_ldcache_get(const struct gpv_ldcache *c, size_t i);

/* A 64-bit x86 library (flags libc6,x86-64), as opposed to an i386 or x32 one. */
bool gpv_ldcache_entry_is_x86_64(const struct gpv_ldcache_entry *e);

/*
 * The path of the first entry for soname key that every CPU of the architecture can load
 * (hwcap 0: entries in glibc-hwcaps subdirectories are skipped, as a guest's CPU may lack what
 * they need), and of the x86-64 kind when x86_64 is true; NULL when there is none. Owned by c.
 */
const char *gpv_ldcache_lookup(const struct gpv_ldcache *c, const char *key, bool x86_64);
