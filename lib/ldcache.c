/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A reader of glibc's ld.so.cache. The layouts are glibc's (sysdeps/generic/dl-cache.h), read
 * field by field at fixed offsets so that nothing depends on this compiler's struct layout:
 *
 *	old:	"ld.so-1.7.0" (11 bytes), pad (1), u32 nlibs, then nlibs entries of
 *		{ i32 flags; u32 key, value; } (12 bytes). String offsets count from the end of
 *		the entries.
 *	new:	"glibc-ld.so.cache" "1.1" (20 bytes), u32 nlibs, u32 len_strings, u8 flags
 *		(byte order), pad (3), u32 extension_offset, unused (12), then nlibs entries of
 *		{ i32 flags; u32 key, value; u32 osversion; u64 hwcap; } (24 bytes) and the
 *		string table. String offsets count from the start of this header, wherever it
 *		lies in the file; extension_offset counts from the start of the file.
 *
 * When the old format comes first, the new header follows its entries at the next multiple
 * of 8, hidden at the start of the old format's string table (ldconfig -c compat).
 */
#include <errno.h>

#include "lib/ldcache.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"

#define OLD_MAGIC "ld.so-1.7.0"
#define OLD_HEADER 16
#define OLD_ENTRY 12
#define NEW_MAGIC "glibc-ld.so.cache1.1"
#define NEW_HEADER 48
#define NEW_ENTRY 24
/* __alignof__(struct cache_file_new): its entries hold a u64. */
#define NEW_ALIGN 8
/* Byte order in the new header's flags (0: written before glibc 2.33, unknown). */
#define ENDIAN_MASK 3
#define ENDIAN_CURRENT (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 2 : 3)
/* The extension directory: u32 magic, u32 count, then count { u32 tag, flags, offset, size }. */
#define EXT_MAGIC 0xeaa42174u
#define EXT_HEADER 8
#define EXT_SECTION 16

/* A cache holds one entry per library file: 64 MiB is far beyond any real system's. */
#define LDCACHE_MAX (64 * 1024 * 1024)

struct gpv_ldcache {
	char *buf; /* the whole file; entries point into it */
	size_t len;
	struct gpv_ldcache_entry *entries;
	size_t n;
};

static uint32_t get_u32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get_u64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The string at base + off, which must end inside the buffer. */
static const char *string_at(const struct gpv_ldcache *c, size_t base, uint32_t off)
{
	size_t start = base + off;

	if (start < base || start >= c->len || !memchr(c->buf + start, '\0', c->len - start))
		return NULL;
	return c->buf + start;
}

/* The extension directory must lie inside the file, as must every section it lists. */
static bool extensions_valid(const struct gpv_ldcache *c, uint32_t off)
{
	uint64_t end;
	uint32_t count;

	if (off == 0)
		return true;
	if (off % 4 || (uint64_t)off + EXT_HEADER > c->len || get_u32(c->buf + off) != EXT_MAGIC)
		return false;
	count = get_u32(c->buf + off + 4);
	end = (uint64_t)off + EXT_HEADER + (uint64_t)count * EXT_SECTION;
	if (end > c->len)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		const char *s = c->buf + off + EXT_HEADER + (size_t)i * EXT_SECTION;

		if ((uint64_t)get_u32(s + 8) + get_u32(s + 12) > c->len)
			return false;
	}
	return true;
}

static int alloc_entries(struct gpv_ldcache *c, uint32_t n)
{
	c->entries = calloc(n ? n : 1, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;
	c->n = n;
	return 0;
}

static int parse_new(struct gpv_ldcache *c, size_t at)
{
	const char *h = c->buf + at;
	uint32_t nlibs, len_strings;
	size_t avail = c->len - at;
	int r;

	if (avail < NEW_HEADER || memcmp(h, NEW_MAGIC, strlen(NEW_MAGIC)) != 0)
		return -EBADMSG;
	nlibs = get_u32(h + 20);
	len_strings = get_u32(h + 24);
	if (h[28] != 0 && (h[28] & ENDIAN_MASK) != ENDIAN_CURRENT) {
		gpv_debug("ld.so.cache: written for another byte order (flags %#x)",
			(unsigned char)h[28]);
		return -EBADMSG;
	}
	/* The entries, then the string table, must fit; divisions keep this overflow-free. */
	if ((avail - NEW_HEADER) / NEW_ENTRY < nlibs ||
		avail - NEW_HEADER - (size_t)nlibs * NEW_ENTRY < len_strings)
		return -EBADMSG;
	if (!extensions_valid(c, get_u32(h + 32)))
		return -EBADMSG;
	r = alloc_entries(c, nlibs);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < nlibs; i++) {
		const char *e = h + NEW_HEADER + (size_t)i * NEW_ENTRY;
		struct gpv_ldcache_entry *out = &c->entries[i];

		out->flags = get_u32(e);
		out->key = string_at(c, at, get_u32(e + 4));
		out->path = string_at(c, at, get_u32(e + 8));
		out->hwcap = get_u64(e + 16);
		if (!out->key || !out->path)
			return -EBADMSG;
	}
	return 0;
}

static int parse_old(struct gpv_ldcache *c)
{
	uint32_t nlibs;
	size_t strings;
	int r;

	if (c->len < OLD_HEADER || memcmp(c->buf, OLD_MAGIC, strlen(OLD_MAGIC)) != 0)
		return -EBADMSG;
	nlibs = get_u32(c->buf + 12);
	if ((c->len - OLD_HEADER) / OLD_ENTRY < nlibs)
		return -EBADMSG;
	strings = OLD_HEADER + (size_t)nlibs * OLD_ENTRY;

	/* The new format behind the old one supersedes it, as in ld.so. */
	{
		size_t at = (strings + NEW_ALIGN - 1) & ~(size_t)(NEW_ALIGN - 1);

		if (at <= c->len && c->len - at >= NEW_HEADER &&
			memcmp(c->buf + at, NEW_MAGIC, strlen(NEW_MAGIC)) == 0)
			return parse_new(c, at);
	}

	r = alloc_entries(c, nlibs);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < nlibs; i++) {
		const char *e = c->buf + OLD_HEADER + (size_t)i * OLD_ENTRY;
		struct gpv_ldcache_entry *out = &c->entries[i];

		out->flags = get_u32(e);
		out->key = string_at(c, strings, get_u32(e + 4));
		out->path = string_at(c, strings, get_u32(e + 8));
		if (!out->key || !out->path)
			return -EBADMSG;
	}
	return 0;
}

/* Takes buf (len bytes, malloc'd) in every case. */
static int parse_take(char *buf, size_t len, struct gpv_ldcache **ret)
{
	struct gpv_ldcache *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		free(buf);
		return -ENOMEM;
	}
	c->buf = buf;
	c->len = len;
	if (len >= strlen(OLD_MAGIC) && memcmp(buf, OLD_MAGIC, strlen(OLD_MAGIC)) == 0)
		r = parse_old(c);
	else
		r = parse_new(c, 0);
	if (r < 0) {
		gpv_debug("ld.so.cache: %s",
			r == -EBADMSG ? "not a cache, or a corrupt one" : strerror(-r));
		gpv_ldcache_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int gpv_ldcache_parse(const void *buf, size_t len, struct gpv_ldcache **ret)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, buf, len);
	return parse_take(copy, len, ret);
}

int gpv_ldcache_read(struct gpv_root *root, struct gpv_ldcache **ret)
{
	char *buf = NULL;
	size_t len = 0;
	int r = gpv_root_read(root, "/etc/ld.so.cache", LDCACHE_MAX, &buf, &len);

	if (r < 0) {
		gpv_debug("cannot read /etc/ld.so.cache: %s", strerror(-r));
		return r;
	}
	return parse_take(buf, len, ret);
}

struct gpv_ldcache *gpv_ldcache_free(struct gpv_ldcache *c)
{
	if (!c)
		return NULL;
	free(c->entries);
	free(c->buf);
	free(c);
	return NULL;
}

size_t gpv_ldcache_count(const struct gpv_ldcache *c)
{
	return c ? c->n : 0;
}

const struct gpv_ldcache_entry *gpv_ldcache_get(const struct gpv_ldcache *c, size_t i)
{
	return c && i < c->n ? &c->entries[i] : NULL;
}

bool gpv_ldcache_entry_is_x86_64(const struct gpv_ldcache_entry *e)
{
	return e && (e->flags & GPV_LDCACHE_FLAG_TYPE_MASK) == GPV_LDCACHE_FLAG_ELF_LIBC6 &&
	       (e->flags & GPV_LDCACHE_FLAG_ABI_MASK) == GPV_LDCACHE_FLAG_X8664_LIB64;
}

const char *gpv_ldcache_lookup(const struct gpv_ldcache *c, const char *key, bool x86_64)
{
	for (size_t i = 0; c && key && i < c->n; i++) {
		const struct gpv_ldcache_entry *e = &c->entries[i];

		if (e->hwcap == 0 && streq(e->key, key) &&
			(!x86_64 || gpv_ldcache_entry_is_x86_64(e)))
			return e->path;
	}
	return NULL;
}
