/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/ldcache.c against caches the real ldconfig writes (in each format it offers) from a small
 * root of shared objects built by cc, read back by `ldconfig -p`; and against caches made here
 * byte by byte, broken on purpose.
 */
#include "lib/ldcache.h"
#include "lib/root.h"
#include "lib/util.h"
#include "tests/unit/spawn.h"
#include "tests/unit/tree.h"

#define X86_64_LIBC6 (GPV_LDCACHE_FLAG_X8664_LIB64 | GPV_LDCACHE_FLAG_ELF_LIBC6)
#define HWCAP_EXTENSION (1ULL << 62)

/* Hand-made caches. */

struct bytes {
	unsigned char b[4096];
	size_t n;
};

static void put(struct bytes *x, const void *p, size_t n)
{
	check(x->n + n <= sizeof(x->b));
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void put32(struct bytes *x, uint32_t v)
{
	put(x, &v, sizeof(v));
}

static void put64(struct bytes *x, uint64_t v)
{
	put(x, &v, sizeof(v));
}

static void set32(struct bytes *x, size_t at, uint32_t v)
{
	check(at + sizeof(v) <= x->n);
	memcpy(x->b + at, &v, sizeof(v));
}

struct hand {
	unsigned flags;
	const char *key, *path;
	uint64_t hwcap;
};

static uint32_t strings_len(const struct hand *e, size_t n)
{
	uint32_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += (uint32_t)(strlen(e[i].key) + strlen(e[i].path) + 2);
	return len;
}

static void put_strings(struct bytes *x, const struct hand *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put(x, e[i].key, strlen(e[i].key) + 1);
		put(x, e[i].path, strlen(e[i].path) + 1);
	}
}

/* The new format, from x's end: header (48 bytes), entries (24 each), strings; string offsets
 * count from the header. */
static void put_new(struct bytes *x, const struct hand *e, size_t n, uint8_t flags)
{
	uint32_t off = (uint32_t)(48 + 24 * n);
	static const unsigned char zero[12];

	put(x, "glibc-ld.so.cache1.1", 20);
	put32(x, (uint32_t)n);
	put32(x, strings_len(e, n));
	put(x, &flags, 1);
	put(x, zero, 3);
	put32(x, 0); /* no extension directory */
	put(x, zero, 12);
	for (size_t i = 0; i < n; i++) {
		put32(x, e[i].flags);
		put32(x, off);
		off += (uint32_t)strlen(e[i].key) + 1;
		put32(x, off);
		off += (uint32_t)strlen(e[i].path) + 1;
		put32(x, 0);
		put64(x, e[i].hwcap);
	}
	put_strings(x, e, n);
}

/* The old format: header (16 bytes), entries (12 each), strings; offsets count from the end
 * of the entries. */
static void put_old(struct bytes *x, const struct hand *e, size_t n)
{
	uint32_t off = 0;

	put(x, "ld.so-1.7.0", 12);
	put32(x, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(x, e[i].flags);
		put32(x, off);
		off += (uint32_t)strlen(e[i].key) + 1;
		put32(x, off);
		off += (uint32_t)strlen(e[i].path) + 1;
	}
	put_strings(x, e, n);
}

static const struct hand gl[] = {
	{0x0003, "libGL.so.1", "/usr/lib/i386-linux-gnu/libGL.so.1", 0},
	{X86_64_LIBC6, "libGL.so.1", "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libGL.so.1",
		HWCAP_EXTENSION | 0},
	{X86_64_LIBC6, "libGL.so.1", "/usr/lib/x86_64-linux-gnu/libGL.so.1", 0},
	{0x0803, "libGL.so.1", "/usr/libx32/libGL.so.1", 0},
	{X86_64_LIBC6, "libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.1", 0},
};

static int parse_bytes(const struct bytes *x, size_t len)
{
	struct gpv_ldcache *c = NULL;
	int r = gpv_ldcache_parse(x->b, len, &c);

	check(r < 0 ? c == NULL : c != NULL);
	gpv_ldcache_free(c);
	return r;
}

TEST(new_format_by_hand)
{
	struct bytes x = {0};
	struct gpv_ldcache *c = NULL;
	const struct gpv_ldcache_entry *e;

	put_new(&x, gl, ELEMENTSOF(gl), 2);
	check_int(gpv_ldcache_parse(x.b, x.n, &c), 0);
	check_int(gpv_ldcache_count(c), ELEMENTSOF(gl));
	for (size_t i = 0; i < ELEMENTSOF(gl); i++) {
		e = gpv_ldcache_get(c, i);
		check(e != NULL);
		check_streq(e->key, gl[i].key);
		check_streq(e->path, gl[i].path);
		check_int(e->flags, gl[i].flags);
		check(e->hwcap == gl[i].hwcap);
	}
	check(gpv_ldcache_get(c, ELEMENTSOF(gl)) == NULL);
	check(!gpv_ldcache_entry_is_x86_64(gpv_ldcache_get(c, 0)));
	check(gpv_ldcache_entry_is_x86_64(gpv_ldcache_get(c, 2)));
	check(!gpv_ldcache_entry_is_x86_64(gpv_ldcache_get(c, 3))); /* x32 */
	gpv_ldcache_free(c);
}

TEST(lookup_picks_architecture_and_skips_hwcaps)
{
	struct bytes x = {0};
	struct gpv_ldcache *c = NULL;

	put_new(&x, gl, ELEMENTSOF(gl), 2);
	check_int(gpv_ldcache_parse(x.b, x.n, &c), 0);
	check_streq(
		gpv_ldcache_lookup(c, "libGL.so.1", true), "/usr/lib/x86_64-linux-gnu/libGL.so.1");
	check_streq(
		gpv_ldcache_lookup(c, "libGL.so.1", false), "/usr/lib/i386-linux-gnu/libGL.so.1");
	check_streq(gpv_ldcache_lookup(c, "libcuda.so.1", true),
		"/usr/lib/x86_64-linux-gnu/libcuda.so.1");
	check(gpv_ldcache_lookup(c, "libGL.so", true) == NULL);
	check(gpv_ldcache_lookup(c, "libGL.so.1.0", false) == NULL);
	check(gpv_ldcache_lookup(c, NULL, false) == NULL);
	check(gpv_ldcache_lookup(NULL, "libGL.so.1", false) == NULL);
	check_int(gpv_ldcache_count(NULL), 0);
	gpv_ldcache_free(c);
}

TEST(old_format_by_hand)
{
	struct bytes x = {0};
	struct gpv_ldcache *c = NULL;
	const struct gpv_ldcache_entry *e;

	put_old(&x, gl + 2, 3);
	check_int(gpv_ldcache_parse(x.b, x.n, &c), 0);
	check_int(gpv_ldcache_count(c), 3);
	e = gpv_ldcache_get(c, 1);
	check_streq(e->key, "libGL.so.1");
	check_streq(e->path, "/usr/libx32/libGL.so.1");
	check_int(e->flags, 0x0803);
	check(e->hwcap == 0);
	check_streq(
		gpv_ldcache_lookup(c, "libGL.so.1", true), "/usr/lib/x86_64-linux-gnu/libGL.so.1");
	check_streq(gpv_ldcache_lookup(c, "libcuda.so.1", true),
		"/usr/lib/x86_64-linux-gnu/libcuda.so.1");
	gpv_ldcache_free(c);
}

TEST(byte_order_flag)
{
	struct bytes x = {0};

	put_new(&x, gl, ELEMENTSOF(gl), 0); /* before glibc 2.33: unknown */
	check_int(parse_bytes(&x, x.n), 0);
	x.b[28] = 2; /* little-endian */
	check_int(parse_bytes(&x, x.n), 0);
	x.b[28] = 3; /* big-endian */
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x.b[28] = 1; /* marked invalid */
	check_int(parse_bytes(&x, x.n), -EBADMSG);
}

TEST(corrupt_new_format_fails_cleanly)
{
	struct bytes good = {0}, x;

	put_new(&good, gl, ELEMENTSOF(gl), 2);
	check_int(parse_bytes(&good, good.n), 0);

	x = good; /* a key past the end */
	set32(&x, 48 + 24 * 1 + 4, (uint32_t)x.n);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* a path offset that wraps around */
	set32(&x, 48 + 24 * 4 + 8, 0xffffffffu);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* the last string runs off the end */
	x.b[x.n - 1] = 'x';
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* more entries than the file holds */
	set32(&x, 20, 0xffffffffu);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	set32(&x, 20, (uint32_t)ELEMENTSOF(gl) + 10);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* a string table longer than the file */
	set32(&x, 24, strings_len(gl, ELEMENTSOF(gl)) + 1);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* an extension directory past the end, misaligned, or without its magic */
	set32(&x, 32, (uint32_t)x.n + 4);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	set32(&x, 32, 2);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	set32(&x, 32, 48);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good; /* another version */
	memcpy(x.b + 17, "1.0", 3);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
}

TEST(extension_directory_is_checked)
{
	struct bytes x = {0};
	size_t dir;

	put_new(&x, gl, 1, 2);
	while (x.n % 4)
		put(&x, "", 1);
	dir = x.n;
	put32(&x, 0xeaa42174u);
	put32(&x, 1);
	/* one section: tag 0 (generator), flags, offset, size */
	put32(&x, 0);
	put32(&x, 0);
	put32(&x, (uint32_t)x.n + 8);
	put32(&x, 4);
	put(&x, "test", 4);
	set32(&x, 32, (uint32_t)dir);
	check_int(parse_bytes(&x, x.n), 0);
	/* the section's data runs past the end */
	set32(&x, dir + 8 + 12, 5);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	/* more sections than the file holds */
	set32(&x, dir + 8 + 12, 4);
	set32(&x, dir + 4, 0x10000000u);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
}

TEST(corrupt_old_format_fails_cleanly)
{
	struct bytes good = {0}, x;

	put_old(&good, gl, ELEMENTSOF(gl));
	check_int(parse_bytes(&good, good.n), 0);
	x = good;
	set32(&x, 12, 0xffffffffu);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good;
	set32(&x, 16 + 12 * 2 + 8, (uint32_t)x.n);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	x = good;
	x.b[x.n - 1] = 'x';
	check_int(parse_bytes(&x, x.n), -EBADMSG);
	/* every cut is caught */
	for (size_t n = 0; n < good.n; n++)
		check_int(parse_bytes(&good, n), -EBADMSG);
}

TEST(compat_with_broken_new_part_fails)
{
	struct bytes x = {0};
	size_t at;

	/* Two old entries end at 16 + 24 = 40, a multiple of 8: the new header follows. */
	put(&x, "ld.so-1.7.0", 12);
	put32(&x, 2);
	for (int i = 0; i < 2; i++) {
		put32(&x, X86_64_LIBC6);
		put32(&x, 0);
		put32(&x, 0);
	}
	at = x.n;
	check_int(at, 40);
	put_new(&x, gl, ELEMENTSOF(gl), 2);
	check_int(parse_bytes(&x, x.n), 0);
	set32(&x, at + 20, 0xffffffffu);
	check_int(parse_bytes(&x, x.n), -EBADMSG);
}

TEST(not_a_cache)
{
	struct gpv_ldcache *c = NULL;

	check_int(gpv_ldcache_parse("", 0, &c), -EBADMSG);
	check_int(gpv_ldcache_parse(NULL, 0, &c), -EBADMSG);
	check_int(gpv_ldcache_parse("hello, world", 12, &c), -EBADMSG);
	check_int(gpv_ldcache_parse("ld.so-1.7.0", 11, &c), -EBADMSG);
	check_int(gpv_ldcache_parse("glibc-ld.so.cache1.1", 20, &c), -EBADMSG);
	check(c == NULL);
	check(gpv_ldcache_free(NULL) == NULL);
}

static void write_bytes(const char *root, const char *rel, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	tree_parent(root, rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	check(f != NULL);
	check(fwrite(p, 1, n, f) == n);
	check(fclose(f) == 0);
}

TEST(read_through_root)
{
	char *t = tree_new();
	struct gpv_root *root = NULL;
	struct gpv_ldcache *c = NULL;
	struct bytes x = {0};

	check_int(gpv_root_new(t, &root), 0);
	check_int(gpv_ldcache_read(root, &c), -ENOENT);
	put_new(&x, gl, ELEMENTSOF(gl), 2);
	write_bytes(t, "etc/ld.so.cache.real", x.b, x.n);
	tree_link(t, "etc/ld.so.cache", "/etc/ld.so.cache.real");
	check_int(gpv_ldcache_read(root, &c), 0);
	check_int(gpv_ldcache_count(c), ELEMENTSOF(gl));
	gpv_ldcache_free(c);
	write_bytes(t, "etc/ld.so.cache.real", "garbage", 7);
	check_int(gpv_ldcache_read(root, &c), -EBADMSG);
	gpv_root_free(root);
	tree_free(t);
}

/* Caches from the real ldconfig. */

struct tools {
	char *cc, *ldconfig;
};

static void tools_find(struct tools *t)
{
	t->cc = tool_find("cc");
	if (!t->cc)
		t->cc = tool_find("gcc");
	t->ldconfig = tool_find("ldconfig");
	if (!t->cc || !t->ldconfig)
		skip("needs cc and ldconfig (%s missing)", t->cc ? "ldconfig" : "cc");
}

static void tools_free(struct tools *t)
{
	free(t->cc);
	free(t->ldconfig);
}

/* An empty shared object named soname, at rel inside root. */
static void make_so(const struct tools *t, const char *root, const char *rel, const char *soname)
{
	char path[4096], opt[256];
	const char *argv[] = {
		t->cc, "-shared", "-fPIC", opt, "-o", path, "-x", "c", "/dev/null", NULL};

	tree_parent(root, rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(opt, sizeof(opt), "-Wl,-soname,%s", soname);
	check_int(tool_run(argv, NULL), 0);
}

/* A root with a few libraries: a versioned file behind its soname link, one in a glibc-hwcaps
 * subdirectory, one in a folder of its own that ld.so.conf names. */
static char *make_root(const struct tools *t)
{
	char *root = tree_new();

	make_so(t, root, "usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3", "libfoo.so.1");
	make_so(t, root, "usr/lib/x86_64-linux-gnu/libbar.so.2", "libbar.so.2");
	make_so(t, root, "usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libfoo.so.1",
		"libfoo.so.1");
	make_so(t, root, "opt/nvidia/lib/libnvidia-ml.so.550.54.14", "libnvidia-ml.so.1");
	tree_file(root, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
	tree_file(root, "etc/ld.so.conf.d/nvidia.conf", "/opt/nvidia/lib\n");
	tree_file(root, "etc/ld.so.conf.d/x86_64-linux-gnu.conf", "/usr/lib/x86_64-linux-gnu\n");
	return root;
}

/* Writes ROOT/etc/ld.so.cache in format (NULL: ldconfig's default) and returns its bytes. */
static char *make_cache(const struct tools *t, const char *root, const char *format, size_t *len)
{
	char path[4096];
	const char *argv[] = {t->ldconfig, "-r", root, "-C", "/etc/ld.so.cache",
		format ? "-c" : NULL, format, NULL};

	check_int(tool_run(argv, NULL), 0);
	snprintf(path, sizeof(path), "%s/etc/ld.so.cache", root);
	return file_slurp(path, len);
}

/* The cache as `ldconfig -p -C FILE` lists it, entry by entry, against the parser's. */
static void compare_with_ldconfig(
	const struct tools *t, const char *root, const struct gpv_ldcache *c)
{
	char cache[4096], out[4096], *text;
	const char *argv[] = {t->ldconfig, "-p", "-C", cache, NULL};
	size_t i = 0, n;

	snprintf(cache, sizeof(cache), "%s/etc/ld.so.cache", root);
	snprintf(out, sizeof(out), "%s/ldconfig-p", root);
	check_int(tool_run(argv, out), 0);
	text = file_slurp(out, NULL);
	check(sscanf(text, "%zu libs found", &n) == 1);
	check_int(n, gpv_ldcache_count(c));
	check(n >= 4);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
		line = strtok_r(NULL, "\n", &save)) {
		const struct gpv_ldcache_entry *e;
		char *desc, *path;

		/* "\tKEY (libc6,x86-64[, hwcap: ...]) => PATH" */
		if (line[0] != '\t')
			continue;
		desc = strstr(line, " (");
		path = strstr(line, ") => ");
		check(desc && path && desc < path);
		*desc = '\0';
		*path = '\0';
		desc += 2;
		path += 5;
		e = gpv_ldcache_get(c, i++);
		check(e != NULL);
		printf("# %s (%s) => %s\n", line + 1, desc, path);
		check_streq(e->key, line + 1);
		check_streq(e->path, path);
		check_int(gpv_ldcache_entry_is_x86_64(e), strstr(desc, "libc6,x86-64") == desc);
		check_int(e->hwcap != 0, strstr(desc, "hwcap:") != NULL);
	}
	check_int(i, n);
	free(text);
}

/* Every shorter prefix of a real cache is refused. */
static void check_truncations(const char *buf, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		struct gpv_ldcache *c = NULL;

		check_int(gpv_ldcache_parse(buf, n, &c), -EBADMSG);
		check(c == NULL);
	}
}

static void check_real_format(const char *format, const char *magic)
{
	struct tools t;
	struct gpv_ldcache *c = NULL;
	struct gpv_root *root = NULL;
	char *dir, *buf;
	size_t len;

	tools_find(&t);
	dir = make_root(&t);
	buf = make_cache(&t, dir, format, &len);
	check(len > strlen(magic) && memcmp(buf, magic, strlen(magic)) == 0);
	check_int(gpv_root_new(dir, &root), 0);
	check_int(gpv_ldcache_read(root, &c), 0);
	compare_with_ldconfig(&t, dir, c);
	check_streq(gpv_ldcache_lookup(c, "libbar.so.2", true),
		"/usr/lib/x86_64-linux-gnu/libbar.so.2");
	check_streq(gpv_ldcache_lookup(c, "libnvidia-ml.so.1", true),
		"/opt/nvidia/lib/libnvidia-ml.so.1");
	check(gpv_ldcache_lookup(c, "libnvidia-ml.so", false) == NULL);
	/* The old format has no hwcap field: glibc 2.36 lists the glibc-hwcaps copy there as a
	 * plain entry (before the plain one). The others mark it, and the lookup skips it. */
	if (!streq(format, "old"))
		check_streq(gpv_ldcache_lookup(c, "libfoo.so.1", true),
			"/usr/lib/x86_64-linux-gnu/libfoo.so.1");
	check_truncations(buf, len);
	gpv_ldcache_free(c);
	gpv_root_free(root);
	free(buf);
	tree_free(dir);
	tools_free(&t);
}

TEST(real_cache_new_format)
{
	check_real_format(NULL, "glibc-ld.so.cache1.1");
}

TEST(real_cache_old_format)
{
	check_real_format("old", "ld.so-1.7.0");
}

TEST(real_cache_compat_format)
{
	check_real_format("compat", "ld.so-1.7.0");
}
