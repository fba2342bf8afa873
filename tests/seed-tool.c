/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test driver for the unattended-install medium (tests/seed.sh):
 *   seed-tool iso linux|windows --out PATH --name N --hostname H --user U --password-file F|-
 *                  [--ssh-pwauth] [--autologon N] [--locale L] [--keyboard K] [--timezone T]
 *                  [--edition E]
 *   seed-tool verify HASH --password-file F|-     exit 0 when HASH is the password's
 *   seed-tool size -- WHAT VALUE                  prints the size in bytes
 * Errors go to stderr as one line; debug logging is on, so that a leaked password shows.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "lib/crypt.h"
#include "lib/log.h"
#include "lib/util.h"
#include "templates/password.h"
#include "templates/seed.h"
#include "templates/validate.h"

static void log_stderr(void *data, int level, const char *fmt, va_list ap)
{
	fprintf(stderr, "debug: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static int fail(int r, char *why, const char *what)
{
	fprintf(stderr, "seed-tool: %s: %s\n", what, why ? why : strerror(-r));
	free(why);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"name", required_argument, NULL, 'n'},
		{"hostname", required_argument, NULL, 'H'},
		{"user", required_argument, NULL, 'u'},
		{"password-file", required_argument, NULL, 'p'},
		{"ssh-pwauth", no_argument, NULL, 's'},
		{"autologon", required_argument, NULL, 'a'},
		{"locale", required_argument, NULL, 'l'},
		{"keyboard", required_argument, NULL, 'k'},
		{"timezone", required_argument, NULL, 't'},
		{"edition", required_argument, NULL, 'e'},
		{},
	};
	struct gpv_seed s = {0};
	const char *out = NULL, *pwfile = NULL, *cmd;
	_cleanup_password_ char *password = NULL;
	char *why = NULL;
	uint64_t v;
	int c, r;

	gpv_log_set(log_stderr, NULL, GPV_LOG_DEBUG);
	if (argc < 2) {
		fprintf(stderr, "usage: seed-tool iso|verify|size ...\n");
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			s.name = optarg;
			break;
		case 'H':
			s.hostname = optarg;
			break;
		case 'u':
			s.user = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 's':
			s.ssh_pwauth = true;
			break;
		case 'a':
			if (gpv_parse_uint(optarg, 1000, &v) < 0)
				return fail(-EINVAL, NULL, "--autologon");
			s.autologon = (unsigned)v;
			break;
		case 'l':
			s.locale = optarg;
			break;
		case 'k':
			s.keyboard = optarg;
			break;
		case 't':
			s.timezone = optarg;
			break;
		case 'e':
			s.edition = optarg;
			break;
		default:
			return 2;
		}
	}
	if (streq(cmd, "size")) {
		if (optind + 2 != argc)
			return 2;
		r = gpv_parse_size(argv[optind], argv[optind + 1], &v, &why);
		if (r < 0)
			return fail(r, why, "size");
		printf("%" PRIu64 "\n", v);
		return 0;
	}
	if (!pwfile)
		return fail(-EINVAL, NULL, "--password-file is missing");
	r = gpv_password_read(pwfile, &password, &why);
	if (r < 0)
		return fail(r, why, "password");
	if (streq(cmd, "verify")) {
		if (optind + 1 != argc)
			return 2;
		r = gpv_crypt_verify(password, argv[optind]);
		if (r < 0)
			return fail(r, NULL, "verify");
		return 0;
	}
	if (!streq(cmd, "iso") || optind + 1 != argc || !out)
		return 2;
	s.password = password;
	if (streq(argv[optind], "linux"))
		r = gpv_seed_write_iso(&s, GPV_GUEST_LINUX, out, &why);
	else if (streq(argv[optind], "windows"))
		r = gpv_seed_write_iso(&s, GPV_GUEST_WINDOWS, out, &why);
	else
		return 2;
	if (r < 0)
		return fail(r, why, out);
	printf("wrote %s for user %s\n", out, s.user);
	return 0;
}
