/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the input rules of a deploy (templates/validate.c): gpv_parse_size() and
 * the name validators. The input is a name or size; a ',' splits it into a user name and the
 * guest name for gpv_valid_user_name().
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "templates/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal comes with a message of one line, with no raw control character in it. */
static void check_refusal(int r, char *why)
{
	assert(r == -EINVAL || r == -ENOMEM);
	if (r == -ENOMEM) {
		assert(!why);
		return;
	}
	assert(why && *why);
	for (const char *p = why; *p; p++)
		assert((unsigned char)*p >= 0x20 && *p != 0x7f);
	free(why);
}

static bool label_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static void check_label(const char *s, size_t max, int r, char *why)
{
	size_t n = strlen(s);

	if (r < 0) {
		check_refusal(r, why);
		return;
	}
	assert(!why);
	assert(n >= 1 && n <= max && label_chars(s));
	assert(s[0] != '-' && s[n - 1] != '-');
	assert(strspn(s, "0123456789") < n);
}

static void check_size(const char *s)
{
	uint64_t v = 0, unit = 1, digits = 0;
	char *why = NULL;
	size_t n = strlen(s), d;
	int r = gpv_parse_size("--disk", s, &v, &why);

	if (r < 0) {
		check_refusal(r, why);
		return;
	}
	assert(!why && v > 0);
	/* digits, then at most one suffix letter; the value is their product */
	d = strspn(s, "0123456789");
	assert(d >= 1 && (d == n || d + 1 == n));
	if (d + 1 == n) {
		const char *u = strchr("kKmMgGtT", s[d]);

		assert(u);
		unit = UINT64_C(1) << (10 * (1 + (u - "kKmMgGtT") / 2));
	}
	for (size_t i = 0; i < d; i++)
		digits = digits * 10 + (uint64_t)(s[i] - '0');
	assert(digits != 0 && v / unit == digits && v % unit == 0);
}

static void check_user(const char *user, const char *name, enum gpv_guest_os os)
{
	char *why = NULL;
	int r = gpv_valid_user_name(user, name, os, &why);
	size_t n = strlen(user);

	if (r < 0) {
		check_refusal(r, why);
		return;
	}
	assert(!why && n >= 1 && n <= (os == GPV_GUEST_WINDOWS ? 20u : 32u));
	assert((user[0] >= 'a' && user[0] <= 'z') || (user[0] >= 'A' && user[0] <= 'Z'));
	for (const char *p = user; *p; p++)
		assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			(os == GPV_GUEST_WINDOWS && *p >= 'A' && *p <= 'Z'));
	assert(strcasecmp(user, name) != 0);
	assert(strcasecmp(user, os == GPV_GUEST_WINDOWS ? "administrator" : "root") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = strndup((const char *)data, size);
	_cleanup_free_ char *user = NULL;
	const char *comma;
	char *why = NULL;
	int r;

	if (!s)
		return 0;
	check_size(s);

	r = gpv_valid_computer_name(s, &why);
	check_label(s, 15, r, why);
	why = NULL;
	r = gpv_valid_hostname(s, &why);
	check_label(s, 63, r, why);
	why = NULL;

	r = gpv_valid_domain_name(s, &why);
	if (r < 0) {
		check_refusal(r, why);
	} else {
		assert(!why && *s && strlen(s) <= GPV_DOMAIN_NAME_MAX);
		assert(!strchr(s, '/') && s[0] != '-' && s[0] != '.');
		assert(gpv_valid_utf8(s));
		for (const char *p = s; *p; p++)
			assert((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	why = NULL;

	comma = strchr(s, ',');
	user = comma ? strndup(s, (size_t)(comma - s)) : strdup(s);
	if (!user)
		return 0;
	check_user(user, comma ? comma + 1 : "", GPV_GUEST_LINUX);
	check_user(user, comma ? comma + 1 : "", GPV_GUEST_WINDOWS);
	return 0;
}
