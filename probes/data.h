/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Vendor knowledge lives in data files (probes/data/NAME), each line with its source. They
 * are built into gpupv; GPUPV_DATADIR points it at a folder of edited copies instead.
 * *ret is owned by the module and stays valid until exit. -ENOENT for an unknown name.
 */
int gpv_data_get(const char *name, const char **ret);

#include "lib/util.h"

/* Appends to *names the built-in data files whose names end in suffix (".profile"). */
int gpv_data_list(const char *suffix, gpv_strv *names);
