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
	free(s);
	return NULL;
}

int gpv_ds_set_add(struct gpv_ds_set *s, const struct gpv_ds_file *f)
{
	struct gpv_ds_file copy = *f;

	/* Sets are small (hundreds of files) and built once: a linear look is enough before the
	 * sort, and keeps the first rule's choice. */
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->files[i].path, f->path))
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
