/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "drivers-sync/sync.h"
#include "lib/log.h"

const char *gpv_ds_op_kind_str(enum gpv_ds_op_kind k)
{
	static const char *const names[] = {
		[GPV_DS_KEEP] = "keep",
		[GPV_DS_ADD] = "add",
		[GPV_DS_CHANGE] = "change",
		[GPV_DS_REMOVE] = "remove",
	};

	return k < ELEMENTSOF(names) ? names[k] : "?";
}

struct gpv_ds_plan *gpv_ds_plan_free(struct gpv_ds_plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_ops; i++) {
		free(p->ops[i].path);
		free(p->ops[i].why);
	}
	free(p->ops);
	free(p->vendor);
	free(p->from_version);
	free(p->to_version);
	free(p);
	return NULL;
}

bool gpv_ds_plan_empty(const struct gpv_ds_plan *p)
{
	return !p->n_add && !p->n_change && !p->n_remove && !p->manifest_only && !p->resume;
}

static int add_op(struct gpv_ds_plan *p, enum gpv_ds_op_kind kind, const struct gpv_ds_file *f,
	const char *path, const char *why)
{
	struct gpv_ds_op *ops = realloc(p->ops, (p->n_ops + 1) * sizeof(*ops));
	struct gpv_ds_op *op;

	if (!ops)
		return -ENOMEM;
	p->ops = ops;
	op = &ops[p->n_ops];
	*op = (struct gpv_ds_op){ .kind = kind, .file = f };
	if ((path && !(op->path = strdup(path))) || (why && !(op->why = strdup(why)))) {
		free(op->path);
		return -ENOMEM;
	}
	p->n_ops++;
	switch (kind) {
	case GPV_DS_KEEP:
		p->n_keep++;
		break;
	case GPV_DS_ADD:
		p->n_add++;
		p->bytes += f->type == GPV_DS_REG ? f->size : 0;
		break;
	case GPV_DS_CHANGE:
		p->n_change++;
		p->bytes += f->type == GPV_DS_REG ? f->size : 0;
		break;
	case GPV_DS_REMOVE:
		p->n_remove++;
		break;
	}
	gpv_debug("drivers-sync: %s %s%s%s%s", gpv_ds_op_kind_str(kind), f ? f->path : path,
		why ? " (" : "", why ? why : "", why ? ")" : "");
	return 0;
}

/* Whether the file the guest has at h's path is h: by what the manifest says gpupv wrote
 * there when the guest's copy is untouched since (size and mtime), else by its content. */
static int compare(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_file *h,
	const struct gpv_ds_file *g, const struct gpv_ds_file *mine, struct gpv_ds_plan *p,
	const char **why)
{
	uint8_t hash[GPV_DS_HASH_LEN];
	int r;

	*why = NULL;
	if (h->type != g->type) {
		*why = h->type == GPV_DS_LINK ? "a file where a link belongs" :
						"a link where a file belongs";
		return 0;
	}
	if (h->type == GPV_DS_LINK) {
		if (!streq(h->target, g->target))
			*why = "link target";
		return 0;
	}
	if (g->size != h->size) {
		*why = "content";
		return 0;
	}
	if (g->mode != h->mode) {
		*why = "mode";
		return 0;
	}
	if (mine && mine->type == GPV_DS_REG && mine->hashed && mine->size == g->size &&
		mine->mtime_ns == g->mtime_ns) {
		if (memcmp(mine->hash, h->hash, sizeof(hash)) != 0)
			*why = "content";
		return 0;
	}
	r = ops->hash(t, h->path, hash);
	if (r < 0)
		return r;
	p->hashed_guest++;
	if (memcmp(hash, h->hash, sizeof(hash)) != 0)
		*why = "content";
	return 0;
}

static bool same_set(const struct gpv_ds_set *a, const struct gpv_ds_set *b)
{
	if (a->n != b->n || !streq_ptr(a->version, b->version) || !streq_ptr(a->kernel, b->kernel))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct gpv_ds_file *x = &a->files[i], *y = &b->files[i];

		if (!streq(x->path, y->path) || x->type != y->type || !streq_ptr(x->target, y->target) ||
			(x->type == GPV_DS_REG &&
				(x->size != y->size || x->mode != y->mode || x->mtime_ns != y->mtime_ns ||
					memcmp(x->hash, y->hash, sizeof(x->hash)) != 0)))
			return false;
	}
	return true;
}

static int out_of_guest(char **ret_err, const char *path)
{
	*ret_err = gpv_strf("'%s' leads out of the guest through a link in the guest; "
			    "nothing was changed (remove or fix that link in the guest)",
		path);
	return *ret_err ? -EXDEV : -ENOMEM;
}

/* The guest's old files the host no longer has (from the manifest), once each. */
static int plan_removals(const struct gpv_ds_target_ops *ops, void *t,
	const struct gpv_ds_set *host, const struct gpv_ds_set *old, struct gpv_ds_plan *p)
{
	int r = 0;

	for (size_t i = 0; old && i < old->n && r >= 0; i++) {
		const char *path = old->files[i].path;
		struct gpv_ds_file g = {0};
		bool listed = false;

		if (gpv_ds_set_find(host, path))
			continue;
		for (size_t j = 0; j < p->n_ops && !listed; j++)
			listed = p->ops[j].kind == GPV_DS_REMOVE && streq(p->ops[j].path, path);
		if (listed)
			continue;
		r = ops->lstat(t, path, &g);
		gpv_ds_file_clear(&g);
		if (r == -ENOENT || r == -ENOTDIR) {
			r = 0;
			continue;
		}
		if (r == -EISDIR || r == -EXDEV) {
			/* Never followed, never removed: gpupv did not put that there. */
			gpv_debug("drivers-sync: %s of the old version is not a file of gpupv's now "
				  "(%s): left alone",
				path, strerror(-r));
			r = 0;
			continue;
		}
		if (r >= 0)
			r = add_op(p, GPV_DS_REMOVE, NULL, path, NULL);
	}
	return r;
}

/* Every path the plan reads, handed to the target at once. */
static int prefetch(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_set *host,
	const struct gpv_ds_entry *e)
{
	const struct gpv_ds_set *sets[] = { host, e ? e->set : NULL, e ? e->pending : NULL };
	_cleanup_free_ const char **paths = NULL;
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(sets); i++)
		n += sets[i] ? sets[i]->n : 0;
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < ELEMENTSOF(sets); i++)
		for (size_t j = 0; sets[i] && j < sets[i]->n; j++)
			paths[n++] = sets[i]->files[j].path;
	ops->prefetch(t, paths, n);
	return 0;
}

int gpv_ds_plan_make(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_set *host,
	const struct gpv_ds_manifest *m, struct gpv_ds_plan **ret, char **ret_err)
{
	struct gpv_ds_plan *p = calloc(1, sizeof(*p));
	const struct gpv_ds_entry *e = gpv_ds_manifest_find((struct gpv_ds_manifest *)m, host->vendor);
	bool trust = e && e->state == GPV_DS_COMPLETE;
	int r = 0;

	*ret_err = NULL;
	if (!p || !(p->vendor = strdup(host->vendor)) || !(p->to_version = strdup(host->version)) ||
		(e && !(p->from_version = strdup(e->set->version)))) {
		gpv_ds_plan_free(p);
		return -ENOMEM;
	}
	p->resume = e && e->state == GPV_DS_IN_PROGRESS;
	if (ops->prefetch)
		r = prefetch(ops, t, host, e);
	for (size_t i = 0; i < host->n && r >= 0; i++) {
		const struct gpv_ds_file *h = &host->files[i];
		struct gpv_ds_file g = {0};
		const char *why;

		r = ops->lstat(t, h->path, &g);
		if (r == -ENOENT) {
			r = add_op(p, GPV_DS_ADD, h, NULL, NULL);
		} else if (r == -EXDEV) {
			r = out_of_guest(ret_err, h->path);
		} else if (r == -EISDIR || r == -ENOTDIR) {
			*ret_err = gpv_strf("the guest has a folder (or something else that is not a "
					    "file) at '%s', or above it, where the driver has a file; "
					    "nothing was changed",
				h->path);
			r = *ret_err ? -EISDIR : -ENOMEM;
		} else if (r >= 0) {
			r = compare(ops, t, h, &g,
				trust ? gpv_ds_set_find(e->set, h->path) : NULL, p, &why);
			if (r >= 0)
				r = add_op(p, why ? GPV_DS_CHANGE : GPV_DS_KEEP, h, NULL, why);
		}
		gpv_ds_file_clear(&g);
	}
	if (r >= 0 && e)
		r = plan_removals(ops, t, host, e->set, p);
	if (r >= 0 && e && e->pending)
		r = plan_removals(ops, t, host, e->pending, p);
	if (r < 0) {
		if (!*ret_err)
			*ret_err = gpv_strf("cannot read the guest: %s", strerror(-r));
		gpv_ds_plan_free(p);
		return r;
	}
	p->manifest_only = !p->n_add && !p->n_change && !p->n_remove &&
			   !(trust && same_set(e->set, host));
	*ret = p;
	return 0;
}

/* ---- applying ---- */

struct apply {
	const struct gpv_ds_apply_opts *o;
	uint64_t bytes;
	size_t files;
};

static int open_counted(void *ud, const struct gpv_ds_file *f)
{
	struct apply *a = ud;

	if (a->o->progress)
		a->o->progress(a->o->ud, a->bytes, a->files);
	a->bytes += f->size;
	a->files++;
	return a->o->open_src(a->o->ud, f);
}

static void before(const struct gpv_ds_apply_opts *o, const char *what, const char *path)
{
	if (o->before)
		o->before(o->ud, what, path);
}

static const char *manifest_path(const struct gpv_ds_target_ops *ops, void *t)
{
	return ops->manifest_path ? ops->manifest_path(t) : GPV_DS_MANIFEST_PATH;
}

static int write_manifest(const struct gpv_ds_target_ops *ops, void *t,
	const struct gpv_ds_manifest *m, const struct gpv_ds_apply_opts *o)
{
	_cleanup_free_ char *text = NULL;
	int r = gpv_ds_manifest_format(m, &text);

	if (r < 0)
		return r;
	before(o, "manifest", manifest_path(ops, t));
	return ops->write_manifest(t, text);
}

/* What may be in the guest once this run starts changing it: the old files, those of an
 * interrupted run, and the new ones. */
static int union_set(const struct gpv_ds_entry *e, const struct gpv_ds_set *host,
	struct gpv_ds_set **ret)
{
	struct gpv_ds_set *u = NULL;
	int r = gpv_ds_set_copy(e ? e->set : host, &u);

	if (r < 0)
		return r;
	if (!e) {
		/* The old version, unknown to gpupv: nothing of it is gpupv's to remove. */
		for (size_t i = 0; i < u->n; i++)
			gpv_ds_file_clear(&u->files[i]);
		u->n = 0;
	}
	for (size_t i = 0; e && e->pending && i < e->pending->n && r >= 0; i++)
		r = gpv_ds_set_add(u, &e->pending->files[i]);
	gpv_ds_set_sort(u);
	if (r < 0) {
		gpv_ds_set_free(u);
		return r;
	}
	*ret = u;
	return 0;
}

static int failed(char **ret_err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failed(char **ret_err, int r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (*ret_err)
		return r;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*ret_err = gpv_strf("%s: %s", msg, strerror(-r));
	return r;
}

static bool same_folder(const char *a, const char *b)
{
	size_t la = (size_t)(strrchr(a, '/') - a), lb = (size_t)(strrchr(b, '/') - b);

	return la == lb && strncmp(a, b, la) == 0;
}

/* Removes the folders above path whose names hold the old version (the deepest first), as long
 * as they are empty; a folder named otherwise, or one that still holds something, stops it. */
static int remove_version_dirs(const struct gpv_ds_target_ops *ops, void *t,
	const struct gpv_ds_plan *plan, const char *path, const struct gpv_ds_apply_opts *o,
	char **ret_err)
{
	_cleanup_free_ char *dir = NULL;
	const char *v = plan->from_version;
	char *slash;

	if (!ops->remove_dir || !v || !*v || (plan->to_version && strstr(plan->to_version, v)))
		return 0;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		int r;

		*slash = '\0';
		if (!strstr(strrchr(dir, '/') + 1, v))
			return 0;
		before(o, "remove-dir", dir);
		r = ops->remove_dir(t, dir);
		if (r == -ENOTEMPTY)
			return 0;
		if (r < 0)
			return failed(ret_err, r, "cannot remove the old version's folder '%s'", dir);
		gpv_debug("drivers-sync: removed the old version's folder %s", dir);
	}
	return 0;
}

int gpv_ds_apply(const struct gpv_ds_target_ops *ops, void *t, const struct gpv_ds_set *host,
	struct gpv_ds_manifest *m, const struct gpv_ds_plan *plan,
	const struct gpv_ds_apply_opts *o, char **ret_err)
{
	struct gpv_ds_entry *e = gpv_ds_manifest_find(m, host->vendor);
	struct gpv_ds_entry saved = {0};
	struct gpv_ds_set *may = NULL;
	const struct gpv_ds_file **staged = NULL;
	struct apply a = { .o = o };
	bool had = e != NULL;
	size_t n = 0;
	int r;

	*ret_err = NULL;
	if (gpv_ds_plan_empty(plan))
		return 0;
	/* Room for the new files beside the old ones (both exist until the renames). */
	if (ops->free_bytes && plan->bytes) {
		uint64_t free_b;

		if (ops->free_bytes(t, "/", &free_b) >= 0 && free_b < plan->bytes + (1 << 20)) {
			*ret_err = gpv_strf("the guest has %llu MiB free and this sync writes %llu MiB "
					    "before it removes the old files; nothing was changed "
					    "(make room in the guest, or grow its disk)",
				(unsigned long long)(free_b >> 20),
				(unsigned long long)((plan->bytes + (1 << 20) - 1) >> 20));
			return *ret_err ? -ENOSPC : -ENOMEM;
		}
	}
	if (had) {
		saved.state = e->state;
		r = gpv_ds_set_copy(e->set, &saved.set);
		if (r >= 0 && e->pending)
			r = gpv_ds_set_copy(e->pending, &saved.pending);
		if (r < 0)
			goto out;
	}
	/* 1. In progress, with everything that may be in the guest from now on. */
	r = union_set(e, host, &may);
	if (r >= 0)
		r = gpv_ds_manifest_put(m, GPV_DS_IN_PROGRESS, may, host);
	if (r >= 0)
		r = write_manifest(ops, t, m, o);
	if (r < 0) {
		r = failed(ret_err, r, "cannot write the guest's manifest %s",
			manifest_path(ops, t));
		goto out;
	}
	/* 2. The new and changed files under temporary names, leftovers of an interrupted run
	 * removed first. */
	staged = calloc(plan->n_ops + 1, sizeof(*staged));
	if (!staged) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == GPV_DS_ADD || plan->ops[i].kind == GPV_DS_CHANGE)
			staged[n++] = plan->ops[i].file;
	for (size_t i = 0; plan->resume && i < n && r >= 0; i++)
		r = ops->unstage(t, staged[i]->path);
	if (r >= 0 && n) {
		before(o, "stage", staged[0]->path);
		r = ops->stage(t, staged, n, open_counted, &a);
	}
	if (r < 0) {
		int u = 0;

		for (size_t i = 0; i < n; i++)
			if (ops->unstage(t, staged[i]->path) < 0)
				u = -EIO;
		failed(ret_err, r, "cannot write the new files into the guest%s; nothing was changed",
			r == -ENOSPC ? " (its disk is full)" : "");
		/* Nothing was renamed: the guest is as it was, and its manifest says so again. */
		if (u == 0) {
			if (had) {
				(void)gpv_ds_manifest_put(m, saved.state, saved.set, saved.pending);
			} else {
				/* A guest that had no entry gets none back. */
				for (size_t i = 0; i < m->n; i++)
					if (streq(m->entries[i].set->vendor, host->vendor)) {
						gpv_ds_set_free(m->entries[i].set);
						gpv_ds_set_free(m->entries[i].pending);
						free(m->entries[i].synced);
						m->entries[i] = m->entries[--m->n];
						break;
					}
			}
			(void)write_manifest(ops, t, m, o);
		}
		goto out;
	}
	if (o->progress)
		o->progress(o->ud, a.bytes, a.files);
	/* 3. Into place. */
	for (size_t i = 0; i < n && r >= 0; i++) {
		before(o, "commit", staged[i]->path);
		r = ops->commit(t, staged[i]->path);
		if (r < 0)
			failed(ret_err, r, "cannot put '%s' in place", staged[i]->path);
	}
	/* 4. The old version's leftovers. */
	for (size_t i = 0; i < plan->n_ops && r >= 0; i++) {
		if (plan->ops[i].kind != GPV_DS_REMOVE)
			continue;
		before(o, "remove", plan->ops[i].path);
		r = ops->remove(t, plan->ops[i].path);
		if (r == -EISDIR)
			r = 0;
		if (r < 0)
			failed(ret_err, r, "cannot remove '%s'", plan->ops[i].path);
	}
	/* 4b. The old version's own folders (a name with its version in it, like
	 * /lib/firmware/nvidia/550.127.05), once they are empty. Every old path is looked at,
	 * not only those removed now: a run killed after the removals left them to this one. */
	for (size_t i = 0, last = SIZE_MAX; may && i < may->n && r >= 0; i++) {
		if (gpv_ds_set_find(host, may->files[i].path))
			continue;
		/* The set is sorted: a folder's files are together, and one look is enough. */
		if (last != SIZE_MAX && same_folder(may->files[last].path, may->files[i].path))
			continue;
		last = i;
		r = remove_version_dirs(ops, t, plan, may->files[i].path, o, ret_err);
	}
	/* 5, 6. On the disk, then complete. */
	if (r >= 0) {
		before(o, "flush", "/");
		r = ops->flush(t);
		if (r < 0)
			failed(ret_err, r, "cannot flush the guest's disk");
	}
	if (r >= 0)
		r = gpv_ds_manifest_put(m, GPV_DS_COMPLETE, host, NULL);
	if (r >= 0) {
		r = write_manifest(ops, t, m, o);
		if (r < 0)
			failed(ret_err, r, "cannot write the guest's manifest %s",
				manifest_path(ops, t));
	}
out:
	free(staged);
	gpv_ds_set_free(may);
	gpv_ds_set_free(saved.set);
	gpv_ds_set_free(saved.pending);
	if (r < 0 && !*ret_err)
		*ret_err = gpv_strf("%s", strerror(-r));
	return r;
}
