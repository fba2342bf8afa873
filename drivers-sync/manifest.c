/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drivers-sync/manifest.h"
#include "lib/hash.h"
#include "lib/json.h"

#define SCHEMA "gpupv.drivers/1"
#define CACHE_SCHEMA "gpupv.drivers-cache/1"

static void entry_clear(struct gpv_ds_entry *e)
{
	gpv_ds_set_free(e->set);
	gpv_ds_set_free(e->pending);
	free(e->synced);
	*e = (struct gpv_ds_entry){0};
}

struct gpv_ds_manifest *gpv_ds_manifest_free(struct gpv_ds_manifest *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		entry_clear(&m->entries[i]);
	free(m->entries);
	free(m);
	return NULL;
}

struct gpv_ds_entry *gpv_ds_manifest_find(struct gpv_ds_manifest *m, const char *vendor)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (streq(m->entries[i].set->vendor, vendor))
			return &m->entries[i];
	return NULL;
}

int gpv_ds_set_copy(const struct gpv_ds_set *s, struct gpv_ds_set **ret)
{
	struct gpv_ds_set *c = gpv_ds_set_new();
	int r = 0;

	if (!c)
		return -ENOMEM;
	if ((s->vendor && !(c->vendor = strdup(s->vendor))) ||
		(s->version && !(c->version = strdup(s->version))) ||
		(s->kernel && !(c->kernel = strdup(s->kernel))))
		r = -ENOMEM;
	for (size_t i = 0; i < s->n && r >= 0; i++)
		r = gpv_ds_set_add(c, &s->files[i]);
	for (size_t i = 0; i < s->missing.n && r >= 0; i++)
		r = gpv_strv_push(&c->missing, s->missing.v[i]);
	if (r < 0) {
		gpv_ds_set_free(c);
		return r;
	}
	gpv_ds_set_sort(c);
	*ret = c;
	return 0;
}

/* ---- reading ---- */

static int bad(char **ret_err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char **ret_err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(ret_err, fmt, ap);
	va_end(ap);
	if (r < 0) {
		*ret_err = NULL;
		return -ENOMEM;
	}
	return -EBADMSG;
}

static int get_str(const struct gpv_json *o, const char *key, const char **ret)
{
	const struct gpv_json *v = gpv_json_get(o, key);

	return v ? gpv_json_string(v, ret) : -ENOENT;
}

static int get_i64(const struct gpv_json *o, const char *key, int64_t *ret)
{
	const struct gpv_json *v = gpv_json_get(o, key);

	return v ? gpv_json_int64(v, ret) : -ENOENT;
}

/* One file of a manifest or cache: checked, then added. */
static int parse_file(const struct gpv_json *o, struct gpv_ds_set *s, bool cache, char **ret_err)
{
	struct gpv_ds_file f = {0};
	const char *path, *type = "file", *target, *hash;
	int64_t v;

	if (get_str(o, "path", &path) < 0)
		return bad(ret_err, "a file has no path");
	if (!gpv_ds_path_valid(path))
		return bad(ret_err, "the path '%s' is not a plain absolute one", path);
	f.path = (char *)path;
	if (!cache && get_str(o, "type", &type) < 0)
		return bad(ret_err, "'%s' has no type", path);
	if (streq(type, "link")) {
		if (get_str(o, "target", &target) < 0 || !gpv_ds_target_valid(target))
			return bad(ret_err, "the link '%s' has no valid target", path);
		f.type = GPV_DS_LINK;
		f.target = (char *)target;
		f.mode = 0777;
	} else if (streq(type, "file")) {
		f.type = GPV_DS_REG;
		if (get_i64(o, "size", &v) < 0 || v < 0)
			return bad(ret_err, "'%s' has no size", path);
		f.size = (uint64_t)v;
		if (!cache) {
			if (get_i64(o, "mode", &v) < 0 || v < 0 || v > 07777)
				return bad(ret_err, "'%s' has no valid mode", path);
			f.mode = (uint32_t)v;
		}
		if (get_str(o, "hash", &hash) < 0 || gpv_hash_from_hex(hash, f.hash) < 0)
			return bad(ret_err, "'%s' has no valid hash", path);
		f.hashed = true;
	} else {
		return bad(ret_err, "'%s' is of an unknown type", path);
	}
	if (get_i64(o, "mtime", &v) >= 0)
		f.mtime_ns = v;
	else if (cache)
		return bad(ret_err, "'%s' has no mtime", path);
	if (gpv_ds_set_find(s, path) || gpv_ds_set_add(s, &f) == 0)
		return bad(ret_err, "'%s' is listed twice", path);
	return 0;
}

static int parse_files(const struct gpv_json *arr, struct gpv_ds_set *s, bool cache,
	char **ret_err)
{
	int r = 0;

	if (!arr || gpv_json_array_len(arr) == 0)
		return arr ? 0 : bad(ret_err, "no list of files");
	for (size_t i = 0; i < gpv_json_array_len(arr) && r >= 0; i++) {
		r = parse_file(gpv_json_array_get(arr, i), s, cache, ret_err);
		/* Sorted as it goes, so that duplicates are found with a search. */
		gpv_ds_set_sort(s);
	}
	return r;
}

static int parse_set(const struct gpv_json *o, const char *files_key, struct gpv_ds_set **ret,
	char **ret_err)
{
	struct gpv_ds_set *s = gpv_ds_set_new();
	const char *vendor, *version = NULL, *kernel = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	r = get_str(o, "vendor", &vendor);
	if (r < 0)
		r = bad(ret_err, "a driver has no vendor");
	if (r >= 0 && get_str(o, "version", &version) < 0)
		r = bad(ret_err, "the driver %s has no version", vendor);
	if (r >= 0)
		(void)get_str(o, "kernel", &kernel);
	if (r >= 0 && (!(s->vendor = strdup(vendor)) || !(s->version = strdup(version)) ||
			      (kernel && !(s->kernel = strdup(kernel)))))
		r = -ENOMEM;
	if (r >= 0)
		r = parse_files(gpv_json_get(o, files_key), s, false, ret_err);
	if (r < 0) {
		gpv_ds_set_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int gpv_ds_manifest_parse(const char *text, size_t len, struct gpv_ds_manifest **ret,
	char **ret_err)
{
	struct gpv_json *doc = NULL;
	const struct gpv_json *drivers;
	struct gpv_ds_manifest *m = calloc(1, sizeof(*m));
	const char *schema;
	int r;

	*ret_err = NULL;
	if (!m)
		return -ENOMEM;
	r = gpv_json_parse(text, len, &doc);
	if (r < 0) {
		r = r == -ENOMEM ? r : bad(ret_err, "not JSON");
		goto out;
	}
	if (get_str(doc, "schema", &schema) < 0 || !streq(schema, SCHEMA)) {
		r = bad(ret_err, "not a manifest of gpupv (schema '%s' expected)", SCHEMA);
		goto out;
	}
	drivers = gpv_json_get(doc, "drivers");
	if (!drivers) {
		r = bad(ret_err, "no list of drivers");
		goto out;
	}
	m->entries = calloc(gpv_json_array_len(drivers) + 1, sizeof(*m->entries));
	if (!m->entries) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < gpv_json_array_len(drivers) && r >= 0; i++) {
		const struct gpv_json *o = gpv_json_array_get(drivers, i);
		struct gpv_ds_entry *e = &m->entries[m->n];
		const char *state, *synced;

		r = parse_set(o, "files", &e->set, ret_err);
		if (r < 0)
			break;
		m->n++;
		if (gpv_ds_manifest_find(m, e->set->vendor) != e) {
			r = bad(ret_err, "the driver %s is listed twice", e->set->vendor);
			break;
		}
		if (get_str(o, "state", &state) < 0 ||
			!(streq(state, "complete") || streq(state, "in-progress"))) {
			r = bad(ret_err, "the driver %s has no valid state", e->set->vendor);
			break;
		}
		if (get_str(o, "synced", &synced) >= 0 && !(e->synced = strdup(synced))) {
			r = -ENOMEM;
			break;
		}
		if (streq(state, "in-progress")) {
			const struct gpv_json *p = gpv_json_get(o, "pending");

			e->state = GPV_DS_IN_PROGRESS;
			if (!p) {
				r = bad(ret_err, "the driver %s is in progress with nothing pending",
					e->set->vendor);
				break;
			}
			r = parse_set(p, "files", &e->pending, ret_err);
		}
	}
out:
	gpv_json_free(doc);
	if (r < 0) {
		gpv_ds_manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

/* ---- writing ---- */

static int put_file(struct gpv_json *arr, const struct gpv_ds_file *f, bool cache)
{
	struct gpv_json *o = NULL;
	char hex[33];
	int r = gpv_json_new_object(&o);

	if (r < 0)
		return r;
	r = gpv_json_add_string(o, "path", f->path);
	if (r >= 0 && !cache)
		r = gpv_json_add_string(o, "type", f->type == GPV_DS_LINK ? "link" : "file");
	if (f->type == GPV_DS_LINK) {
		if (r >= 0)
			r = gpv_json_add_string(o, "target", f->target);
	} else {
		if (r >= 0)
			r = gpv_json_add_int64(o, "size", (int64_t)f->size);
		if (r >= 0 && !cache)
			r = gpv_json_add_int64(o, "mode", f->mode);
		gpv_hash_hex(f->hash, hex);
		if (r >= 0)
			r = gpv_json_add_string(o, "hash", hex);
	}
	if (r >= 0)
		r = gpv_json_add_int64(o, "mtime", f->mtime_ns);
	if (r >= 0)
		return gpv_json_array_append(arr, o);
	gpv_json_free(o);
	return r;
}

static int put_set(struct gpv_json *o, const struct gpv_ds_set *s)
{
	struct gpv_json *files = NULL;
	int r = gpv_json_add_string(o, "vendor", s->vendor);

	if (r >= 0)
		r = gpv_json_add_string(o, "version", s->version ? s->version : "");
	if (r >= 0 && s->kernel)
		r = gpv_json_add_string(o, "kernel", s->kernel);
	if (r >= 0)
		r = gpv_json_new_array(&files);
	for (size_t i = 0; i < s->n && r >= 0; i++)
		if (s->files[i].type == GPV_DS_LINK || s->files[i].hashed)
			r = put_file(files, &s->files[i], false);
	if (r >= 0)
		return gpv_json_add(o, "files", files);
	gpv_json_free(files);
	return r;
}

int gpv_ds_manifest_put(struct gpv_ds_manifest *m, enum gpv_ds_state state,
	const struct gpv_ds_set *set, const struct gpv_ds_set *pending)
{
	struct gpv_ds_entry *e = gpv_ds_manifest_find(m, set->vendor), fresh = { .state = state };
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	r = gpv_ds_set_copy(set, &fresh.set);
	if (r >= 0 && pending)
		r = gpv_ds_set_copy(pending, &fresh.pending);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (r >= 0 && !(fresh.synced = strdup(when)))
		r = -ENOMEM;
	if (r >= 0 && !e) {
		struct gpv_ds_entry *entries = realloc(m->entries, (m->n + 1) * sizeof(*entries));

		if (!entries)
			r = -ENOMEM;
		else {
			m->entries = entries;
			e = &m->entries[m->n++];
			*e = (struct gpv_ds_entry){0};
		}
	}
	if (r < 0) {
		entry_clear(&fresh);
		return r;
	}
	entry_clear(e);
	*e = fresh;
	return 0;
}

int gpv_ds_manifest_format(const struct gpv_ds_manifest *m, char **ret)
{
	struct gpv_json *doc = NULL, *drivers = NULL;
	int r = gpv_json_new_object(&doc);

	if (r >= 0)
		r = gpv_json_add_string(doc, "schema", SCHEMA);
	if (r >= 0)
		r = gpv_json_new_array(&drivers);
	for (size_t i = 0; i < m->n && r >= 0; i++) {
		const struct gpv_ds_entry *e = &m->entries[i];
		struct gpv_json *o = NULL, *p = NULL;

		r = gpv_json_new_object(&o);
		if (r < 0)
			break;
		r = put_set(o, e->set);
		if (r >= 0)
			r = gpv_json_add_string(o, "state",
				e->state == GPV_DS_COMPLETE ? "complete" : "in-progress");
		if (r >= 0 && e->synced)
			r = gpv_json_add_string(o, "synced", e->synced);
		if (r >= 0 && e->state == GPV_DS_IN_PROGRESS && e->pending) {
			r = gpv_json_new_object(&p);
			if (r >= 0 && (r = put_set(p, e->pending)) >= 0)
				r = gpv_json_add(o, "pending", TAKE_PTR(p));
			gpv_json_free(p);
		}
		if (r >= 0)
			r = gpv_json_array_append(drivers, TAKE_PTR(o));
		gpv_json_free(o);
	}
	if (r >= 0)
		r = gpv_json_add(doc, "drivers", TAKE_PTR(drivers));
	gpv_json_free(drivers);
	if (r >= 0)
		r = gpv_json_to_string(doc, true, ret);
	gpv_json_free(doc);
	return r;
}

int gpv_ds_cache_parse(const char *text, size_t len, struct gpv_ds_set **ret)
{
	struct gpv_json *doc = NULL;
	struct gpv_ds_set *s = gpv_ds_set_new();
	_cleanup_free_ char *err = NULL;
	const char *schema;
	int r;

	if (!s)
		return -ENOMEM;
	r = gpv_json_parse(text, len, &doc);
	if (r >= 0 && (get_str(doc, "schema", &schema) < 0 || !streq(schema, CACHE_SCHEMA)))
		r = -EBADMSG;
	if (r >= 0)
		r = parse_files(gpv_json_get(doc, "files"), s, true, &err);
	gpv_json_free(doc);
	if (r < 0) {
		gpv_ds_set_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int gpv_ds_cache_format(const struct gpv_ds_set *s, char **ret)
{
	struct gpv_json *doc = NULL, *files = NULL;
	int r = gpv_json_new_object(&doc);

	if (r >= 0)
		r = gpv_json_add_string(doc, "schema", CACHE_SCHEMA);
	if (r >= 0)
		r = gpv_json_new_array(&files);
	for (size_t i = 0; i < s->n && r >= 0; i++)
		if (s->files[i].type == GPV_DS_REG && s->files[i].hashed)
			r = put_file(files, &s->files[i], true);
	if (r >= 0)
		r = gpv_json_add(doc, "files", TAKE_PTR(files));
	gpv_json_free(files);
	if (r >= 0)
		r = gpv_json_to_string(doc, false, ret);
	gpv_json_free(doc);
	return r;
}
