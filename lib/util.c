/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/util.h"

char *gpv_strv_join(const gpv_strv *s, const char *sep)
{
	size_t len = 1, sl = strlen(sep);
	char *out, *p;

	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->v[i]) + (i ? sl : 0);
	out = p = malloc(len);
	if (!out)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < s->n; i++)
		p = stpcpy(i ? stpcpy(p, sep) : p, s->v[i]);
	return out;
}

int gpv_strv_push_take(gpv_strv *s, char *str)
{
	if (!str)
		return -ENOMEM;
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(char *));

		if (!v) {
			free(str);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int gpv_strv_push(gpv_strv *s, const char *str)
{
	return gpv_strv_push_take(s, strdup(str));
}

bool gpv_strv_contains(const gpv_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i], str))
			return true;
	return false;
}

void gpv_strv_clear(gpv_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (gpv_strv){0};
}

char *gpv_strip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int parse_base(const char *s, int base, uint64_t max, uint64_t *ret)
{
	const char *p = s;
	char *end;
	unsigned long long v;

	while (isspace((unsigned char)*p))
		p++;
	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno)
		return -errno;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int gpv_parse_hex(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_base(s, 16, max, ret);
}

int gpv_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_base(s, 10, max, ret);
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool gpv_pci_addr_valid(const char *s)
{
	/* dddd:bb:ss.f with slot <= 0x1f and function <= 7 */
	if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
		return false;
	if (!hex_run(s, 4) || !hex_run(s + 5, 2) || !hex_run(s + 8, 2))
		return false;
	if (s[11] < '0' || s[11] > '7')
		return false;
	return strtoul(s + 8, NULL, 16) <= 0x1f;
}

int gpv_pci_addr_normalize(const char *s, char ret[static 13])
{
	char buf[13];

	if (strlen(s) == 7)
		snprintf(buf, sizeof(buf), "0000:%s", s);
	else if (strlen(s) == 12)
		memcpy(buf, s, 13);
	else
		return -EINVAL;
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!gpv_pci_addr_valid(buf))
		return -EINVAL;
	memcpy(ret, buf, 13);
	return 0;
}

int gpv_asprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

char *gpv_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
