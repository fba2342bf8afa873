/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the JSON wrapper (lib/json.c, over json-c opened at run time): the
 * input is a document. What parses is walked value by value through every reader, written
 * out (plain and pretty), and must parse again and write out the same; what does not parse is
 * refused with -EBADMSG and nothing leaks.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct gpv_json *v)
{
	struct gpv_json_iter it = {0};
	struct gpv_json *child;
	const char *key, *s;
	int64_t i;
	bool b;
	size_t n = 0;

	switch (gpv_json_type(v)) {
	case GPV_JSON_NULL:
		assert(!v);
		assert(gpv_json_string(v, &s) == -ENOENT);
		break;
	case GPV_JSON_BOOL:
		assert(gpv_json_bool(v, &b) == 0);
		assert(gpv_json_int64(v, &i) == -EINVAL);
		break;
	case GPV_JSON_INT:
		assert(gpv_json_int64(v, &i) == 0);
		assert(gpv_json_bool(v, &b) == -EINVAL);
		break;
	case GPV_JSON_DOUBLE:
		assert(gpv_json_int64(v, &i) == -EINVAL);
		break;
	case GPV_JSON_STRING:
		if (gpv_json_string(v, &s) == 0)
			(void)strlen(s);
		break;
	case GPV_JSON_OBJECT:
		while (gpv_json_object_next(v, &it, &key, &child)) {
			/* A key given twice was kept once, with its last value. */
			assert(gpv_json_get(v, key) == child);
			walk(child);
			n++;
		}
		assert(gpv_json_array_len(v) == 0);
		break;
	case GPV_JSON_ARRAY:
		n = gpv_json_array_len(v);
		for (size_t k = 0; k < n; k++)
			walk(gpv_json_array_get(v, k));
		assert(!gpv_json_array_get(v, n));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpv_json *v = NULL, *again = NULL;
	char *plain = NULL, *pretty = NULL, *plain2 = NULL;
	int r = gpv_json_parse((const char *)data, size, &v);

	assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0)
		return 0;
	walk(v);
	if (gpv_json_to_string(v, false, &plain) < 0 || gpv_json_to_string(v, true, &pretty) < 0)
		goto out;
	assert(gpv_json_parse(pretty, strlen(pretty), &again) == 0);
	gpv_json_free(again);
	again = NULL;
	assert(gpv_json_parse(plain, strlen(plain), &again) == 0);
	if (gpv_json_to_string(again, false, &plain2) == 0)
		assert(strcmp(plain, plain2) == 0);
out:
	free(plain);
	free(pretty);
	free(plain2);
	gpv_json_free(again);
	gpv_json_free(v);
	return 0;
}
