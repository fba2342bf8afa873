/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Returns a pointer past prefix in s, or NULL when s does not start with it. */
static inline const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* A NULL-terminated, heap-allocated string vector. */
typedef struct {
	char **v;
	size_t n, cap;
} gpv_strv;

int gpv_strv_push(gpv_strv *s, const char *str);
int gpv_strv_push_take(gpv_strv *s, char *str);
bool gpv_strv_contains(const gpv_strv *s, const char *str);
/* The strings joined by sep, in a new string the caller frees; NULL when out of memory. */
char *gpv_strv_join(const gpv_strv *s, const char *sep);
void gpv_strv_clear(gpv_strv *s);

/* Strips trailing whitespace in place; returns s. */
char *gpv_strip(char *s);

/* Parsing that rejects garbage: the whole string (less trailing whitespace) must be the number. */
int gpv_parse_hex(const char *s, uint64_t max, uint64_t *ret);
int gpv_parse_uint(const char *s, uint64_t max, uint64_t *ret);

/* Sorting and formatting helpers for PCI addresses "dddd:bb:ss.f". */
bool gpv_pci_addr_valid(const char *s);
/* Normalises "01:00.0" to "0000:01:00.0"; ret must hold 13 bytes. */
int gpv_pci_addr_normalize(const char *s, char ret[static 13]);

/* A formatted string the caller frees; NULL when out of memory. */
char *gpv_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* asprintf that returns -ENOMEM and leaves *ret untouched on failure. */
int gpv_asprintf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands a file descriptor over, leaving -1 behind (for _cleanup_close_ variables). */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* Hands a pointer over, leaving NULL behind (for _cleanup_ variables). */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
