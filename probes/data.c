/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/util.h"
#include "probes/data.h"

struct gpv_builtin_data {
	const char *name;
	const char *text;
};
extern const struct gpv_builtin_data gpv_builtin_data[];

static struct {
	char name[64];
	char *text;
} loaded[8];

static int read_file(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 0;
	char *buf = NULL;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);

			if (!nb || cap > 4 * 1024 * 1024) {
				free(nb ? nb : buf);
				return nb ? -EFBIG : -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, 4096);
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
}

int gpv_data_get(const char *name, const char **ret)
{
	const char *dir = getenv("GPUPV_DATADIR");
	size_t slot;

	for (slot = 0; slot < ELEMENTSOF(loaded) && loaded[slot].text; slot++)
		if (streq(loaded[slot].name, name)) {
			*ret = loaded[slot].text;
			return 0;
		}
	if (dir && *dir && slot < ELEMENTSOF(loaded) && strlen(name) < sizeof(loaded[0].name)) {
		_cleanup_free_ char *path = NULL;
		int r = gpv_asprintf(&path, "%s/%s", dir, name);

		if (r < 0)
			return r;
		r = read_file(path, &loaded[slot].text);
		if (r == 0) {
			strcpy(loaded[slot].name, name);
			gpv_debug("data: %s from %s", name, path);
			*ret = loaded[slot].text;
			return 0;
		}
		gpv_debug("data: %s: %s; using the built-in copy", path, strerror(-r));
	}
	for (const struct gpv_builtin_data *b = gpv_builtin_data; b->name; b++)
		if (streq(b->name, name)) {
			*ret = b->text;
			return 0;
		}
	return -ENOENT;
}

int gpv_data_list(const char *suffix, gpv_strv *names)
{
	size_t s = strlen(suffix);
	int r = 0;

	for (const struct gpv_builtin_data *b = gpv_builtin_data; b->name && r >= 0; b++) {
		size_t n = strlen(b->name);

		if (n > s && streq(b->name + n - s, suffix))
			r = gpv_strv_push(names, b->name);
	}
	return r;
}
