/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gpupv plan: which GPU and which partition each share request would get; changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpupv/gpupv.h"
#include "lib/log.h"
#include "lib/root.h"
#include "probes/share.h"

#define MAX_REQUESTS 1000000

/* "25", "12.5", "33.33%": a percent of one GPU from 1 to 100, at most 4 decimals. */
static int parse_share(const char *s, double *ret)
{
	size_t int_digits = strspn(s, "0123456789"), dec_digits = 0;
	const char *p = s + int_digits;
	char *end;
	double v;

	if (int_digits == 0 || int_digits > 3)
		return -EINVAL;
	if (*p == '.') {
		dec_digits = strspn(p + 1, "0123456789");
		if (dec_digits == 0 || dec_digits > 4)
			return -EINVAL;
		p += 1 + dec_digits;
	}
	if (*p == '%')
		p++;
	if (*p != '\0')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 1.0 || v > 100.0)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int push_request(struct gpv_share_request **v, size_t *n, size_t *cap, double share,
	const char *label)
{
	struct gpv_share_request *nv;

	if (*n >= MAX_REQUESTS)
		return -E2BIG;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;

		if (!(nv = realloc(*v, nc * sizeof(*nv))))
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*n] = (struct gpv_share_request){.share = share};
	if (label && !((*v)[*n].label = strdup(label)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void requests_free(struct gpv_share_request *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].label);
		free(v[i].why_not);
		gpv_share_result_clear(&v[i].result);
	}
	free(v);
}

/* One request a line, "SHARE [LABEL]"; '#' starts a comment; "-" is standard input. Prints
 * its own errors. */
static int read_requests(const char *path, struct gpv_share_request **v, size_t *n, size_t *cap)
{
	bool is_stdin = streq(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t len = 0, lineno = 0;
	int r = 0;

	if (!f) {
		r = -errno;
		gpv_error("plan: cannot read the requests file '%s': %s", path, strerror(-r));
		return r;
	}
	while (getline(&line, &len, f) >= 0) {
		char *s = line, *hash = strchr(line, '#'), *label, *tok;
		double share;

		lineno++;
		if (hash)
			*hash = '\0';
		gpv_strip(s);
		s += strspn(s, " \t");
		if (!*s)
			continue;
		tok = s;
		label = s + strcspn(s, " \t");
		if (*label) {
			*label++ = '\0';
			label += strspn(label, " \t");
		}
		if (parse_share(tok, &share) < 0) {
			gpv_error("plan: %s:%zu: '%s' is not a share: start the line with a "
				  "percentage of one GPU from 1 to 100, then an optional label "
				  "(e.g. '25 web'); '#' starts a comment",
				name, lineno, tok);
			r = -EINVAL;
			break;
		}
		r = push_request(v, n, cap, share, *label ? label : NULL);
		if (r == -E2BIG)
			gpv_error("plan: %s:%zu: more than %d requests", name, lineno, MAX_REQUESTS);
		if (r < 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		r = -EIO;
		gpv_error("plan: cannot read the requests file '%s': %s", name, strerror(EIO));
	}
	if (r == 0 && *n == 0) {
		r = -EINVAL;
		gpv_error("plan: %s holds no request: write one a line, e.g. '25 web'", name);
	}
	if (!is_stdin)
		fclose(f);
	return r;
}

static void print_text(const struct gpv_share_inventory *inv, const struct gpv_share_request *v,
	size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gpv_share_request *q = &v[i];
		char a[16], p[16];

		printf("%zu", i + 1);
		if (q->label)
			printf(" %s", q->label);
		printf(" %s%%: ", gpv_share_percent_str(q->share, a));
		if (!q->met) {
			printf("none: %s\n", q->why_not);
			continue;
		}
		printf("%s %s %s (%s%%): %s\n", inv->gpus[q->result.gpu].addr,
			gpv_share_kind_str(q->result.kind),
			*q->result.partition ? q->result.partition : "-",
			gpv_share_percent_str(q->result.percent, p), q->result.why);
	}
}

int gpv_cmd_plan(const struct gpv_opts *o, int argc, char **argv)
{
	struct gpv_share_request *v = NULL;
	struct gpv_share_inventory *inv = NULL;
	struct gpv_precheck *p = NULL;
	struct gpv_root *root = NULL;
	size_t n = 0, cap = 0, unmet = 0;
	uint64_t count = 1;
	double share = 0;
	int r, ret = GPV_EXIT_ERROR;

	if (argc > 0) {
		gpv_error("plan: unexpected argument '%s'; see 'gpupv plan --help'", argv[0]);
		return GPV_EXIT_USAGE;
	}
	if (!o->share == !o->requests) {
		gpv_error("plan: give either --share PERCENT (with --count N) or --requests FILE; "
			  "see 'gpupv plan --help'");
		return GPV_EXIT_USAGE;
	}
	if (o->count && !o->share) {
		gpv_error("plan: --count goes with --share; in a requests file, write one line a "
			  "request");
		return GPV_EXIT_USAGE;
	}
	if (o->share && parse_share(o->share, &share) < 0) {
		gpv_error("plan: --share '%s' is not a share: give the percentage of one GPU the "
			  "VM gets, from 1 to 100 (e.g. --share 25)",
			o->share);
		return GPV_EXIT_USAGE;
	}
	if (o->count && (gpv_parse_uint(o->count, MAX_REQUESTS, &count) < 0 || count == 0)) {
		gpv_error("plan: --count '%s' is not a number of requests from 1 to %d", o->count,
			MAX_REQUESTS);
		return GPV_EXIT_USAGE;
	}
	if (o->share) {
		for (uint64_t i = 0; i < count; i++)
			if ((r = push_request(&v, &n, &cap, share, NULL)) < 0) {
				gpv_error("plan: %s", strerror(-r));
				goto out;
			}
	} else if (read_requests(o->requests, &v, &n, &cap) < 0) {
		ret = GPV_EXIT_USAGE;
		goto out;
	}

	/* Partitions need no device names: precheck without them is much cheaper. */
	if (gpv_open_machine(o, &root, NULL) < 0 || gpv_examine(root, false, NULL, &p) < 0)
		goto out;
	r = gpv_share_inventory_new(p, &inv);
	if (r < 0) {
		gpv_error("plan: cannot list the partitions of the machine in '%s': %s",
			gpv_root_dir(root), strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = gpv_share_allocate(inv, v[i].share, &v[i].result);
		if (r == -ENOSPC) {
			r = gpv_share_no_fit(inv, v[i].share, &v[i].why_not);
			unmet++;
		} else if (r == 0) {
			v[i].met = true;
		}
		if (r < 0) {
			gpv_error("plan: request %zu: %s", i + 1, strerror(-r));
			goto out;
		}
	}
	if (o->json) {
		double *offered = NULL;
		size_t n_offered = 0;

		r = gpv_share_offered(inv, &offered, &n_offered);
		if (r >= 0)
			r = gpv_print_share_plan_json(stdout, inv, v, n, offered, n_offered);
		free(offered);
		if (r < 0)
			goto out;
	} else {
		print_text(inv, v, n);
	}
	if (unmet)
		gpv_error("plan: %zu of %zu request%s cannot be met on this host", unmet, n,
			n == 1 ? "" : "s");
	ret = unmet ? GPV_EXIT_BLOCKED : GPV_EXIT_OK;
out:
	requests_free(v, n);
	gpv_share_inventory_free(inv);
	gpv_precheck_free(p);
	gpv_root_free(root);
	return ret;
}
