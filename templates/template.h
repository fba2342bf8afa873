/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The template object, shared by templates/template.c and templates/domain.c only. */
#include "lib/util.h"
#include "lib/xml.h"
#include "templates/domain.h"

struct gpv_template {
	struct gpv_template_info info;
	char *name, *path, *description, *seed;
	gpv_strv sets;
	struct gpv_xml_doc *doc;
};
