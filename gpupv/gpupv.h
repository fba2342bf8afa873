/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "probes/precheck.h"

/* Exit codes shared by every command. */
enum {
	GPV_EXIT_OK = 0,
	GPV_EXIT_ERROR = 1,
	GPV_EXIT_USAGE = 2,
	GPV_EXIT_NEEDS_ACTION = 3,
	GPV_EXIT_BLOCKED = 4,
};

struct gpv_opts {
	const char *root;
	bool json;
	bool color;
	int verbose;
};

/* Output, in gpupv/output-text.c and gpupv/output-json.c (the one file that uses json-c). */
void gpv_print_precheck_text(FILE *f, const struct gpv_precheck *p, bool color);
int gpv_print_precheck_json(FILE *f, const struct gpv_precheck *p);
void gpv_print_list_text(FILE *f, const struct gpv_precheck *p, bool color);
int gpv_print_list_json(FILE *f, const struct gpv_precheck *p);
