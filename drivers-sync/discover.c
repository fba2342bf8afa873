/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "drivers-sync/discover.h"
#include "lib/kmod.h"
#include "drivers-sync/manifest.h"
#include "lib/hash.h"
#include "lib/ldcache.h"
#include "lib/log.h"

/* Where the kernel's firmware loader looks, in its order (drivers/base/firmware_loader/
 * main.c, fw_path[]); with_release: the kernel release is the last component. */
static const struct {
	const char *dir;
	bool with_release;
} fw_dirs[] = {
	{ "/lib/firmware/updates", true },
	{ "/lib/firmware/updates", false },
	{ "/lib/firmware", true },
	{ "/lib/firmware", false },
};
/* As installed: plain, or compressed for CONFIG_FW_LOADER_COMPRESS_ZSTD / _XZ. */
static const char *const fw_suffixes[] = { "", ".zst", ".xz" };

struct discover {
	struct gpv_root *root;
	const char *kernel; /* NULL: the running one */
	const struct gpv_ds_profile *p;
	struct gpv_ds_set *set;
	struct gpv_ldcache *cache; /* read on the first library rule */
	bool cache_read;
	/* For every library rule, read once with the cache: the file each cache entry leads to
	 * inside the root (NULL: not an x86-64 entry, or it leads nowhere), and the names in
	 * each library folder (NULL: none). A real host's cache has a thousand entries and its
	 * library folder thousands of names; a profile has dozens of library rules. */
	char **cache_files;
	gpv_strv lib_dirs; /* the folders the cache's x86-64 entries are in */
	char ***lib_names; /* lib_dirs.n of them */
};

/* The parent of path resolved inside the root, opened; name points at the last component. */
static int open_parent(struct gpv_root *root, const char *path, const char **name)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*name = slash + 1;
	return gpv_root_open(root, dir, O_RDONLY | O_DIRECTORY);
}

/*
 * Adds path as it is on the host: a regular file, or a link. A link is kept as a link only
 * when keep_links (libraries' SONAME links); otherwise the file it leads to inside the root is
 * taken in its place, under the link's name.
 */
static int add_path(struct discover *d, const char *path, const char *why, bool keep_links)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *target = NULL, *resolved = NULL;
	struct gpv_ds_file f = { .path = (char *)path, .why = why };
	const char *name;
	struct stat st;
	int r;

	dfd = open_parent(d->root, path, &name);
	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode) && keep_links) {
		r = gpv_readlink_at(dfd, name, &target);
		if (r < 0)
			return r;
		f.type = GPV_DS_LINK;
		f.mode = 0777;
		f.target = target;
		f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	} else {
		if (S_ISLNK(st.st_mode)) {
			_cleanup_close_ int fd = -1;

			r = gpv_root_resolve(d->root, path, &resolved);
			if (r < 0)
				return r;
			fd = gpv_root_open(d->root, resolved, O_RDONLY | O_NOFOLLOW);
			if (fd < 0)
				return fd;
			if (fstat(fd, &st) < 0)
				return -errno;
			f.src = resolved;
			gpv_debug("drivers-sync: %s is a link: its file %s is taken", path, resolved);
		}
		if (!S_ISREG(st.st_mode))
			return -EISDIR;
		f.type = GPV_DS_REG;
		f.mode = st.st_mode & 07777;
		f.size = (uint64_t)st.st_size;
		f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	r = gpv_ds_set_add(d->set, &f);
	if (r > 0)
		gpv_debug("drivers-sync: selected %s (%s)", path, why);
	return r < 0 ? r : 0;
}

/* The entries of a folder inside the root that match a pattern (with {version} replaced). */
static int match_dir(struct discover *d, const char *dir, const char *pattern, gpv_strv *ret)
{
	char **names = NULL;
	int r = gpv_root_list(d->root, dir, &names, NULL);

	if (r < 0)
		return r == -ENOENT || r == -ENOTDIR ? 0 : r;
	for (size_t i = 0; names[i] && r >= 0; i++)
		if (fnmatch(pattern, names[i], FNM_PERIOD) == 0)
			r = gpv_strv_push(ret, names[i]);
	gpv_names_free(names);
	return r;
}

/* "{version}" in a rule's argument replaced by the driver's version. */
static char *expand(const struct gpv_ds_set *s, const char *arg)
{
	const char *v = strstr(arg, "{version}");

	if (!v)
		return strdup(arg);
	return gpv_strf("%.*s%s%s", (int)(v - arg), arg, s->version ? s->version : "",
		v + strlen("{version}"));
}

static int missing(struct discover *d, const struct gpv_ds_rule *rule, const char *word)
{
	_cleanup_free_ char *what = gpv_strf("%s %s", word, rule->arg);

	if (!what)
		return -ENOMEM;
	if (rule->flags & GPV_DS_OPTIONAL) {
		gpv_debug("drivers-sync: %s:%u: %s: not on this host (optional)", d->p->source,
			rule->line, what);
		return 0;
	}
	gpv_debug("drivers-sync: %s:%u: %s: MISSING", d->p->source, rule->line, what);
	return gpv_strv_push(&d->set->missing, what);
}

/* One firmware name (as a module's firmware= gives it): the first folder of the loader's
 * search that has it, with each compressed variant there. */
static int add_firmware(struct discover *d, const char *name, const char *why, bool *found)
{
	*found = false;
	if (!name[0] || name[0] == '/' || strstr(name, "..")) {
		gpv_debug("drivers-sync: firmware name '%s' skipped: not a plain relative name", name);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(fw_dirs) && !*found; i++) {
		_cleanup_free_ char *dir = NULL;

		if (fw_dirs[i].with_release)
			dir = gpv_strf("%s/%s", fw_dirs[i].dir, d->set->kernel);
		else
			dir = strdup(fw_dirs[i].dir);
		if (!dir)
			return -ENOMEM;
		for (size_t s = 0; s < ELEMENTSOF(fw_suffixes); s++) {
			_cleanup_free_ char *path = gpv_strf("%s/%s%s", dir, name, fw_suffixes[s]);
			int r;

			if (!path)
				return -ENOMEM;
			r = add_path(d, path, why, false);
			if (r == -ENOENT || r == -ENOTDIR)
				continue;
			if (r < 0) {
				gpv_debug("drivers-sync: firmware %s skipped: %s", path, strerror(-r));
				continue;
			}
			*found = true;
		}
	}
	return 0;
}

static int rule_module(struct discover *d, const struct gpv_ds_rule *rule, bool file_too)
{
	struct gpv_kmod_modinfo m = {0};
	int r = gpv_kmod_modinfo_for(d->root, d->kernel, rule->arg, &m);

	if (r == -ENOENT)
		return missing(d, rule, file_too ? "module" : "firmware-of");
	if (r < 0)
		return r;
	if (file_too && (rule->flags & GPV_DS_OUT_OF_TREE)) {
		_cleanup_free_ char *upd = gpv_strf("/lib/modules/%s/updates/", m.kernel),
				    *extra = gpv_strf("/lib/modules/%s/extra/", m.kernel);

		if (!upd || !extra) {
			r = -ENOMEM;
			goto out;
		}
		if (!startswith(m.path, upd) && !startswith(m.path, extra)) {
			gpv_debug("drivers-sync: module %s skipped: %s is the kernel's own "
				  "(only a DKMS or vendor build is taken)",
				rule->arg, m.path);
			file_too = false;
		}
	}
	if (file_too) {
		r = add_path(d, m.path, rule->arg, false);
		if (r < 0) {
			gpv_debug("drivers-sync: module %s: %s: %s", rule->arg, m.path, strerror(-r));
			r = missing(d, rule, "module");
			if (r < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < m.firmware.n; i++) {
		bool found;

		r = add_firmware(d, m.firmware.v[i], rule->arg, &found);
		if (r < 0)
			goto out;
		/* Modules list firmware for every chip they drive; a host has a few of them. */
		if (!found)
			gpv_debug("drivers-sync: firmware %s (of %s): not installed, skipped",
				m.firmware.v[i], rule->arg);
	}
	r = 0;
out:
	gpv_kmod_modinfo_clear(&m);
	return r;
}

static int rule_firmware(struct discover *d, const struct gpv_ds_rule *rule)
{
	_cleanup_free_ char *pat = expand(d->set, rule->arg), *dir = NULL;
	gpv_strv names = {0};
	const char *slash;
	size_t before = d->set->n;
	int r;

	if (!pat)
		return -ENOMEM;
	slash = strrchr(pat, '/');
	dir = slash ? gpv_strf("/lib/firmware/%.*s", (int)(slash - pat), pat) :
		      strdup("/lib/firmware");
	if (!dir)
		return -ENOMEM;
	r = match_dir(d, dir, slash ? slash + 1 : pat, &names);
	for (size_t i = 0; i < names.n && r >= 0; i++) {
		_cleanup_free_ char *path = gpv_strf("%s/%s", dir, names.v[i]);

		r = path ? add_path(d, path, rule->arg, false) : -ENOMEM;
		if (r == -EISDIR || r == -ENOENT)
			r = 0;
	}
	gpv_strv_clear(&names);
	if (r >= 0 && d->set->n == before)
		r = missing(d, rule, "firmware");
	return r;
}

/*
 * A library folder by its canonical path inside the root: on a merged-/usr host, /lib is a
 * link to usr/lib and the cache lists both /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu;
 * the libraries are taken once, where they really are (which is also a library folder of a
 * guest that has not merged /usr).
 */
static int canonical_dir(struct discover *d, const char *dir, char **ret)
{
	int r = gpv_root_resolve(d->root, dir, ret);

	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = NULL;
		return 0;
	}
	return r;
}

static int add_lib_dir(struct discover *d, const char *dir)
{
	_cleanup_free_ char *canon = NULL;
	int r = canonical_dir(d, dir, &canon);

	if (r < 0 || !canon || gpv_strv_contains(&d->lib_dirs, canon))
		return r;
	return gpv_strv_push(&d->lib_dirs, canon);
}

static int read_cache(struct discover *d)
{
	int r;

	if (d->cache_read)
		return 0;
	d->cache_read = true;
	r = gpv_ldcache_read(d->root, &d->cache);
	if (r < 0) {
		gpv_debug("drivers-sync: no ld.so.cache in the root (%s): libraries are looked for "
			  "in the usual folders only",
			strerror(-r));
		d->cache = NULL;
	}
	for (size_t i = 0; d->cache && i < gpv_ldcache_count(d->cache); i++) {
		const struct gpv_ldcache_entry *e = gpv_ldcache_get(d->cache, i);
		const char *slash = strrchr(e->path, '/');
		_cleanup_free_ char *dir = NULL;

		if (!gpv_ldcache_entry_is_x86_64(e) || !slash || slash == e->path)
			continue;
		dir = strndup(e->path, (size_t)(slash - e->path));
		if (!dir)
			return -ENOMEM;
		if ((r = add_lib_dir(d, dir)) < 0)
			return r;
	}
	/* Where the distributions put 64-bit libraries, whatever the cache says. */
	for (const char *const *dir = (const char *const[]){ "/usr/lib/x86_64-linux-gnu",
		     "/usr/lib64", "/usr/lib", NULL };
		*dir; dir++)
		if ((r = add_lib_dir(d, *dir)) < 0)
			return r;
	if (d->cache && !(d->cache_files = calloc(gpv_ldcache_count(d->cache), sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; d->cache && i < gpv_ldcache_count(d->cache); i++) {
		const struct gpv_ldcache_entry *e = gpv_ldcache_get(d->cache, i);

		if (!gpv_ldcache_entry_is_x86_64(e) || !gpv_ds_path_valid(e->path))
			continue;
		r = gpv_root_resolve(d->root, e->path, &d->cache_files[i]);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			gpv_debug("drivers-sync: ld.so.cache: %s: %s, skipped", e->path, strerror(-r));
	}
	d->lib_names = calloc(d->lib_dirs.n + 1, sizeof(*d->lib_names));
	if (!d->lib_names)
		return -ENOMEM;
	for (size_t i = 0; i < d->lib_dirs.n; i++) {
		r = gpv_root_list(d->root, d->lib_dirs.v[i], &d->lib_names[i], NULL);
		if (r < 0 && r != -ENOENT && r != -ENOTDIR)
			return r;
	}
	return 0;
}

/*
 * Libraries, as libnvidia-container finds them: every x86-64 entry of the root's ld.so.cache
 * whose SONAME, or whose file once its link is followed, matches the pattern gives the file and
 * its SONAME link; then the library folders are searched for matching files the cache does not
 * know (a library whose SONAME is its own file name, a cache not updated).
 */
static int rule_library(struct discover *d, const struct gpv_ds_rule *rule)
{
	_cleanup_free_ char *pat = expand(d->set, rule->arg);
	size_t before = d->set->n;
	int r;

	if (!pat)
		return -ENOMEM;
	r = read_cache(d);
	if (r < 0)
		return r;
	for (size_t i = 0; d->cache && i < gpv_ldcache_count(d->cache) && r >= 0; i++) {
		const struct gpv_ldcache_entry *e = gpv_ldcache_get(d->cache, i);
		const char *real = d->cache_files[i], *base;

		if (!real)
			continue;
		base = strrchr(real, '/') + 1;
		if (fnmatch(pat, base, 0) != 0)
			continue;
		/* The file under its own name in the link's (canonical) folder: links point next
		 * door. */
		{
			const char *slash = strrchr(e->path, '/');
			_cleanup_free_ char *dir = strndup(e->path, (size_t)(slash - e->path)),
					    *canon = NULL, *file = NULL, *link = NULL;

			if (!dir)
				return -ENOMEM;
			r = canonical_dir(d, dir, &canon);
			if (r < 0)
				return r;
			if (!canon)
				continue;
			file = gpv_strf("%s/%s", canon, base);
			link = gpv_strf("%s/%s", canon, slash + 1);
			if (!file || !link)
				return -ENOMEM;
			r = add_path(d, file, rule->arg, false);
			if (r == -ENOENT) /* the link leads to another folder: take that one */
				r = add_path(d, real, rule->arg, false);
			if (r >= 0 && !streq(slash + 1, base))
				r = add_path(d, link, rule->arg, true);
		}
		if (r < 0) {
			gpv_debug("drivers-sync: %s: %s, skipped", e->path, strerror(-r));
			r = 0;
		}
	}
	for (size_t i = 0; i < d->lib_dirs.n && r >= 0; i++) {
		char **names = d->lib_names[i];

		for (size_t j = 0; names && names[j] && r >= 0; j++) {
			_cleanup_free_ char *path = NULL;

			if (fnmatch(pat, names[j], FNM_PERIOD) != 0)
				continue;
			path = gpv_strf("%s/%s", d->lib_dirs.v[i], names[j]);
			r = path ? add_path(d, path, rule->arg, true) : -ENOMEM;
			if (r == -EISDIR || r == -ENOENT)
				r = 0;
		}
	}
	if (r >= 0 && d->set->n == before)
		r = missing(d, rule, "library");
	return r;
}

static int rule_file(struct discover *d, const struct gpv_ds_rule *rule)
{
	_cleanup_free_ char *path = expand(d->set, rule->arg), *dir = NULL;
	const char *slash;
	size_t before = d->set->n;
	int r = 0;

	if (!path)
		return -ENOMEM;
	slash = strrchr(path, '/');
	if (!strpbrk(slash, "*?[")) {
		r = add_path(d, path, rule->arg, false);
		if (r == -ENOENT || r == -ENOTDIR || r == -EISDIR)
			return missing(d, rule, "file");
		return r;
	} else {
		gpv_strv names = {0};

		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		r = match_dir(d, dir, slash + 1, &names);
		for (size_t i = 0; i < names.n && r >= 0; i++) {
			_cleanup_free_ char *p = gpv_strf("%s/%s", streq(dir, "/") ? "" : dir,
				names.v[i]);

			r = p ? add_path(d, p, rule->arg, false) : -ENOMEM;
			if (r == -EISDIR || r == -ENOENT)
				r = 0;
		}
		gpv_strv_clear(&names);
	}
	if (r >= 0 && d->set->n == before)
		r = missing(d, rule, "file");
	return r;
}

static int find_version(struct discover *d)
{
	struct gpv_kmod_modinfo m = {0};
	_cleanup_free_ char *release = NULL;
	int r = 0;

	if (d->kernel)
		release = strdup(d->kernel);
	else
		r = gpv_root_read(d->root, "/proc/sys/kernel/osrelease", 4096, &release, NULL);
	if (r < 0)
		return r;
	if (!release)
		return -ENOMEM;
	gpv_strip(release);
	if (!*release || strchr(release, '/'))
		return -EINVAL;
	d->set->kernel = TAKE_PTR(release);
	if (d->p->version_from == GPV_DS_VERSION_KERNEL) {
		/* An in-tree driver is on the host when the running kernel has its modules. */
		for (size_t i = 0; i < d->p->n_rules; i++) {
			const struct gpv_ds_rule *rule = &d->p->rules[i];

			if ((rule->kind != GPV_DS_RULE_MODULE && rule->kind != GPV_DS_RULE_FIRMWARE_OF) ||
				(rule->flags & GPV_DS_OPTIONAL))
				continue;
			r = gpv_kmod_modinfo_for(d->root, d->kernel, rule->arg, &m);
			gpv_kmod_modinfo_clear(&m);
			if (r < 0) {
				gpv_debug("drivers-sync: %s: module %s: %s: the host has no such driver",
					d->p->vendor, rule->arg, strerror(-r));
				return -ENOENT;
			}
		}
		return (d->set->version = strdup(d->set->kernel)) ? 0 : -ENOMEM;
	}
	r = gpv_kmod_modinfo_for(d->root, d->kernel, d->p->version_module, &m);
	if (r < 0) {
		gpv_debug("drivers-sync: %s: module %s: %s: the host has no such driver",
			d->p->vendor, d->p->version_module, strerror(-r));
		return -ENOENT;
	}
	if (!m.version || !*m.version || strpbrk(m.version, "/*?[ \t\n")) {
		gpv_debug("drivers-sync: %s: module %s has no usable version=", d->p->vendor,
			d->p->version_module);
		gpv_kmod_modinfo_clear(&m);
		return -ENOENT;
	}
	d->set->version = TAKE_PTR(m.version);
	gpv_kmod_modinfo_clear(&m);
	return 0;
}

int gpv_ds_discover(struct gpv_root *root, const struct gpv_ds_profile *p, struct gpv_ds_set **ret)
{
	return gpv_ds_discover_for(root, p, NULL, ret);
}

int gpv_ds_discover_for(struct gpv_root *root, const struct gpv_ds_profile *p, const char *kernel,
	struct gpv_ds_set **ret)
{
	struct discover d = { .root = root, .kernel = kernel, .p = p, .set = gpv_ds_set_new() };
	int r;

	if (!d.set || !(d.set->vendor = strdup(p->vendor))) {
		r = -ENOMEM;
		goto out;
	}
	r = find_version(&d);
	if (r < 0)
		goto out;
	gpv_debug("drivers-sync: %s %s on kernel %s", p->vendor, d.set->version, d.set->kernel);
	for (size_t i = 0; i < p->n_rules && r >= 0; i++) {
		const struct gpv_ds_rule *rule = &p->rules[i];

		switch (rule->kind) {
		case GPV_DS_RULE_MODULE:
			r = rule_module(&d, rule, true);
			break;
		case GPV_DS_RULE_FIRMWARE_OF:
			r = rule_module(&d, rule, false);
			break;
		case GPV_DS_RULE_FIRMWARE:
			r = rule_firmware(&d, rule);
			break;
		case GPV_DS_RULE_LIBRARY:
			r = rule_library(&d, rule);
			break;
		case GPV_DS_RULE_FILE:
			r = rule_file(&d, rule);
			break;
		}
	}
	if (r < 0)
		goto out;
	gpv_ds_set_sort(d.set);
	*ret = TAKE_PTR(d.set);
out:
	gpv_ds_set_free(d.set);
	for (size_t i = 0; d.cache_files && i < gpv_ldcache_count(d.cache); i++)
		free(d.cache_files[i]);
	free(d.cache_files);
	for (size_t i = 0; d.lib_names && i < d.lib_dirs.n; i++)
		gpv_names_free(d.lib_names[i]);
	free(d.lib_names);
	gpv_ldcache_free(d.cache);
	gpv_strv_clear(&d.lib_dirs);
	return r;
}

int gpv_ds_hash_host(struct gpv_root *root, struct gpv_ds_set *s, const char *cache_path,
	size_t *ret_hashed)
{
	_cleanup_free_ char *text = NULL, *out = NULL;
	struct gpv_ds_set *cache = NULL;
	size_t len = 0, hashed = 0;
	int r = 0;

	if (cache_path && gpv_root_read(root, cache_path, 64 * 1024 * 1024, &text, &len) >= 0 &&
		gpv_ds_cache_parse(text, len, &cache) < 0) {
		gpv_debug("drivers-sync: the hash cache %s is not usable: every file is read",
			cache_path);
		cache = NULL;
	}
	for (size_t i = 0; i < s->n && r >= 0; i++) {
		struct gpv_ds_file *f = &s->files[i];
		const struct gpv_ds_file *c;
		_cleanup_close_ int fd = -1;

		if (f->type != GPV_DS_REG || f->hashed)
			continue;
		c = cache ? gpv_ds_set_find(cache, f->path) : NULL;
		if (c && c->size == f->size && c->mtime_ns == f->mtime_ns) {
			memcpy(f->hash, c->hash, sizeof(f->hash));
			f->hashed = true;
			continue;
		}
		fd = gpv_root_open(root, f->src ? f->src : f->path, O_RDONLY | O_NOFOLLOW);
		if (fd < 0) {
			r = fd;
			break;
		}
		r = gpv_hash_fd(fd, f->hash);
		if (r >= 0) {
			f->hashed = true;
			hashed++;
		}
	}
	if (r >= 0 && cache_path && hashed) {
		_cleanup_free_ char *dir = strdup(cache_path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		int w = -ENOMEM;

		struct gpv_ds_set *all = NULL;

		/* Kept with the files of the cache that are not in this set (other vendors). */
		if (slash && slash != dir && (w = gpv_ds_set_copy(s, &all)) >= 0) {
			for (size_t i = 0; cache && i < cache->n && w >= 0; i++)
				if (!gpv_ds_set_find(s, cache->files[i].path))
					w = gpv_ds_set_add(all, &cache->files[i]);
			gpv_ds_set_sort(all);
			*slash = '\0';
			if (w >= 0)
				w = gpv_root_mkdir_p(root, dir, 0755);
			if (w >= 0)
				w = gpv_ds_cache_format(all, &out);
			if (w >= 0)
				w = gpv_root_replace(root, cache_path, out, 0);
			gpv_ds_set_free(all);
		}
		if (w < 0)
			gpv_debug("drivers-sync: cannot write the hash cache %s: %s", cache_path,
				strerror(-w));
	}
	gpv_ds_set_free(cache);
	if (r >= 0 && ret_hashed)
		*ret_hashed = hashed;
	return r;
}
