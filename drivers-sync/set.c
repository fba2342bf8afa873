/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers-sync/set.h"

struct gpv_ds_set *gpv_ds_set_new(void)
{
	return calloc(1, sizeof(struct gpv_ds_set));
}

void gpv_ds_file_clear(struct gpv_ds_file *f)
{
	free(f->path);
	free(f->target);
	free(f->src);
	*f = (struct gpv_ds_file){0};
}

struct gpv_ds_set *gpv_ds_set_free(struct gpv_ds_set *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		gpv_ds_file_clear(&s->files[i]);
	free(s->files);
	free(s->vendor);
	free(s->version);
	free(s->kernel);
	gpv_strv_clear(&s->missing);
	free(s->index);
	free(s);
	return NULL;
}

static size_t path_hash(const char *p)
{
	size_t h = 14695981039346656037ULL & SIZE_MAX; /* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * (sizeof(size_t) > 4 ? 1099511628211ULL : 16777619U);
	return h;
}

/* The slot of path: the one holding it, or the empty one where it would go. */
static size_t *index_slot(const struct gpv_ds_set *s, const char *path)
{
	size_t mask = s->index_cap - 1;

	for (size_t i = path_hash(path) & mask;; i = (i + 1) & mask)
		if (!s->index[i] || streq(s->files[s->index[i] - 1].path, path))
			return &s->index[i];
}

/* Makes the index cover every file, with room for one more at most half full. */
static int index_update(struct gpv_ds_set *s)
{
	if (s->index && s->indexed == s->n && (s->n + 1) * 2 <= s->index_cap)
		return 0;
	if (!s->index || (s->n + 1) * 2 > s->index_cap) {
		size_t cap = s->index_cap ? s->index_cap : 128;

		while ((s->n + 1) * 2 > cap)
			cap *= 2;
		free(s->index);
		s->index = NULL;
		s->index_cap = 0;
		s->index = calloc(cap, sizeof(*s->index));
		if (!s->index)
			return -ENOMEM;
		s->index_cap = cap;
		s->indexed = 0;
	}
	if (s->indexed > s->n) {
		memset(s->index, 0, s->index_cap * sizeof(*s->index));
		s->indexed = 0;
	}
	for (; s->indexed < s->n; s->indexed++) {
		size_t *slot = index_slot(s, s->files[s->indexed].path);

		if (!*slot)
			*slot = s->indexed + 1;
	}
	return 0;
}

int gpv_ds_set_add(struct gpv_ds_set *s, const struct gpv_ds_file *f)
{
	struct gpv_ds_file copy = *f;
	size_t *slot;
	int r;

	/* The first rule that chose a path keeps it. A hash index, since a library rule may
	 * look at thousands of names. */
	r = index_update(s);
	if (r < 0)
		return r;
	slot = index_slot(s, f->path);
	if (*slot)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct gpv_ds_file *files = realloc(s->files, cap * sizeof(*files));

		if (!files)
			return -ENOMEM;
		s->files = files;
		s->cap = cap;
	}
	copy.path = strdup(f->path);
	copy.target = f->target ? strdup(f->target) : NULL;
	copy.src = f->src ? strdup(f->src) : NULL;
	if (!copy.path || (f->target && !copy.target) || (f->src && !copy.src)) {
		free(copy.path);
		free(copy.target);
		free(copy.src);
		return -ENOMEM;
	}
	s->files[s->n++] = copy;
	*slot = s->n;
	s->indexed = s->n;
	return 1;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct gpv_ds_file *)a)->path, ((const struct gpv_ds_file *)b)->path);
}

void gpv_ds_set_sort(struct gpv_ds_set *s)
{
	if (s->n)
		qsort(s->files, s->n, sizeof(*s->files), cmp_file);
	/* The files moved: the index is rebuilt by the next add. */
	if (s->index)
		memset(s->index, 0, s->index_cap * sizeof(*s->index));
	s->indexed = 0;
}

const struct gpv_ds_file *gpv_ds_set_find(const struct gpv_ds_set *s, const char *path)
{
	struct gpv_ds_file key = { .path = (char *)path };

	return s->n ? bsearch(&key, s->files, s->n, sizeof(*s->files), cmp_file) : NULL;
}

uint64_t gpv_ds_set_bytes(const struct gpv_ds_set *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->files[i].type == GPV_DS_REG)
			n += s->files[i].size;
	return n;
}

static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool gpv_ds_path_valid(const char *path)
{
	size_t n;

	if (!path || path[0] != '/' || (n = strlen(path)) < 2 || n > 4095 || path[n - 1] == '/' ||
		!no_controls(path))
		return false;
	for (const char *c = path + 1;;) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[len])
			return true;
		c += len + 1;
	}
}

bool gpv_ds_target_valid(const char *target)
{
	return target && *target && strlen(target) <= 4095 && no_controls(target);
}
