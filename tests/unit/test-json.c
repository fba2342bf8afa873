/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/json.c: parsing, walking, building and writing JSON through json-c. */
#include "lib/json.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

static struct gpv_json *parse_ok(const char *text)
{
	struct gpv_json *v = NULL;

	check_int(gpv_json_parse(text, strlen(text), &v), 0);
	return v;
}

static char *text_of(const struct gpv_json *v, bool pretty)
{
	char *s = NULL;

	check_int(gpv_json_to_string(v, pretty, &s), 0);
	check(s != NULL);
	return s;
}

static const char manifest[] =
	"{\n"
	"  \"schema\": \"gpupv.drivers/1\",\n"
	"  \"count\": 2,\n"
	"  \"complete\": true,\n"
	"  \"note\": null,\n"
	"  \"files\": [\n"
	"    {\"path\": \"/usr/lib/x86_64-linux-gnu/libcuda.so.1\", \"size\": "
	"9223372036854775807, \"exec\": false},\n"
	"    {\"path\": \"/usr/bin/nvidia-smi\", \"size\": -1, \"exec\": true}\n"
	"  ]\n"
	"}\n";

TEST(parse_and_read)
{
	struct gpv_json *root = parse_ok(manifest), *files, *f;
	const char *s = "untouched";
	int64_t i = 42;
	bool b = false;

	check_int(gpv_json_type(root), GPV_JSON_OBJECT);
	check_int(gpv_json_string(gpv_json_get(root, "schema"), &s), 0);
	check_streq(s, "gpupv.drivers/1");
	check_int(gpv_json_int64(gpv_json_get(root, "count"), &i), 0);
	check_int(i, 2);
	check_int(gpv_json_bool(gpv_json_get(root, "complete"), &b), 0);
	check(b);

	/* missing and null members read alike; other types are refused, *ret untouched */
	s = "untouched";
	check(gpv_json_get(root, "note") == NULL);
	check_int(gpv_json_string(gpv_json_get(root, "note"), &s), -ENOENT);
	check_int(gpv_json_string(gpv_json_get(root, "nope"), &s), -ENOENT);
	check_int(gpv_json_string(gpv_json_get(root, "count"), &s), -EINVAL);
	check_int(gpv_json_int64(gpv_json_get(root, "schema"), &i), -EINVAL);
	check_int(gpv_json_bool(gpv_json_get(root, "count"), &b), -EINVAL);
	check_streq(s, "untouched");
	check_int(i, 2);
	check(gpv_json_get(root, NULL) == NULL);
	check(gpv_json_get(gpv_json_get(root, "count"), "x") == NULL);

	files = gpv_json_get(root, "files");
	check_int(gpv_json_type(files), GPV_JSON_ARRAY);
	check_int(gpv_json_array_len(files), 2);
	check_int(gpv_json_array_len(root), 0);
	check(gpv_json_array_get(files, 2) == NULL);
	check(gpv_json_array_get(root, 0) == NULL);
	f = gpv_json_array_get(files, 0);
	check_int(gpv_json_int64(gpv_json_get(f, "size"), &i), 0);
	check(i == INT64_MAX);
	check_int(gpv_json_bool(gpv_json_get(f, "exec"), &b), 0);
	check(!b);
	f = gpv_json_array_get(files, 1);
	check_int(gpv_json_string(gpv_json_get(f, "path"), &s), 0);
	check_streq(s, "/usr/bin/nvidia-smi");
	check_int(gpv_json_int64(gpv_json_get(f, "size"), &i), 0);
	check_int(i, -1);
	gpv_json_free(root);
}

TEST(object_walk_keeps_order)
{
	static const char *const keys[] = {"schema", "count", "complete", "note", "files"};
	struct gpv_json *root = parse_ok(manifest), *v, *e = parse_ok("{}");
	struct gpv_json_iter it = {0};
	const char *k;
	size_t n = 0;

	while (gpv_json_object_next(root, &it, &k, &v)) {
		check(n < ELEMENTSOF(keys));
		check_streq(k, keys[n]);
		check((v == NULL) == (n == 3));
		n++;
	}
	check_int(n, ELEMENTSOF(keys));
	/* the end stays the end */
	check(!gpv_json_object_next(root, &it, &k, &v));
	it = (struct gpv_json_iter){0};
	check(!gpv_json_object_next(e, &it, &k, &v));
	it = (struct gpv_json_iter){0};
	check(!gpv_json_object_next(gpv_json_get(root, "files"), &it, &k, &v));
	it = (struct gpv_json_iter){0};
	check(!gpv_json_object_next(NULL, &it, &k, &v));
	gpv_json_free(e);
	gpv_json_free(root);
}

TEST(top_level_scalars)
{
	struct gpv_json *v;
	int64_t i;
	bool b;
	const char *s;

	v = parse_ok("12");
	check_int(gpv_json_int64(v, &i), 0);
	check_int(i, 12);
	gpv_json_free(v);
	v = parse_ok(" -9223372036854775808\n");
	check_int(gpv_json_int64(v, &i), 0);
	check(i == INT64_MIN);
	gpv_json_free(v);
	v = parse_ok("true");
	check_int(gpv_json_bool(v, &b), 0);
	check(b);
	gpv_json_free(v);
	v = parse_ok("1.5");
	check_int(gpv_json_type(v), GPV_JSON_DOUBLE);
	check_int(gpv_json_int64(v, &i), -EINVAL);
	gpv_json_free(v);
	v = parse_ok("\"\\u00e9t\\u00e9 /x\"");
	check_int(gpv_json_string(v, &s), 0);
	check_streq(s, "\xc3\xa9t\xc3\xa9 /x");
	gpv_json_free(v);
	/* the document null is a NULL root */
	v = (struct gpv_json *)1;
	check_int(gpv_json_parse("null", 4, &v), 0);
	check(v == NULL);
	check_int(gpv_json_type(v), GPV_JSON_NULL);
}

TEST(string_with_nul_is_refused)
{
	struct gpv_json *v = parse_ok("\"a\\u0000b\"");
	const char *s = NULL;

	check_int(gpv_json_string(v, &s), -EINVAL);
	check(s == NULL);
	gpv_json_free(v);
}

TEST(malformed_text_is_refused)
{
	static const char *const bad[] = {
		"",
		"  \n",
		"{",
		"[1,]",
		"{\"a\": 1,}",
		"{a: 1}",
		"'a'",
		"/* c */ 1",
		"1 2",
		"{} {}",
		"[1] x",
		"nul",
		"tru",
		"\"abc",
		"\"\xff\"",
		"\"\xc3\"",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"01",
		"+1",
		".5",
	};
	struct gpv_json *v = (struct gpv_json *)1;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		printf("# case %zu\n", i);
		check_int(gpv_json_parse(bad[i], strlen(bad[i]), &v), -EBADMSG);
	}
	/* A NUL inside the given length, and text that ends before its NUL. */
	check_int(gpv_json_parse("1\0", 2, &v), -EBADMSG);
	check_int(gpv_json_parse("[1, 2]", 4, &v), -EBADMSG);
	check(v == (struct gpv_json *)1);
	check_int(gpv_json_parse(NULL, 1, &v), -EINVAL);
}

TEST(length_bounds_the_text)
{
	struct gpv_json *v = NULL;
	int64_t i;

	/* "12" of "123": the text ends where len says, not at the NUL. */
	check_int(gpv_json_parse("123", 2, &v), 0);
	check_int(gpv_json_int64(v, &i), 0);
	check_int(i, 12);
	gpv_json_free(v);
}

TEST(build_and_write)
{
	struct gpv_json *o = NULL, *a = NULL, *e = NULL, *d = NULL;
	char *s;

	check_int(gpv_json_new_object(&o), 0);
	check_int(gpv_json_add_string(o, "path", "/usr/lib/libcuda.so.1"), 0);
	check_int(gpv_json_add_int64(o, "size", -5), 0);
	check_int(gpv_json_add_bool(o, "exec", true), 0);
	check_int(gpv_json_add_string(o, "none", NULL), 0);
	check_int(gpv_json_new_array(&a), 0);
	check_int(gpv_json_new_int64(INT64_MIN, &e), 0);
	check_int(gpv_json_array_append(a, e), 0);
	check_int(gpv_json_new_string("two \"quoted\"", &e), 0);
	check_int(gpv_json_array_append(a, e), 0);
	check_int(gpv_json_array_append(a, NULL), 0);
	check_int(gpv_json_new_object(&e), 0);
	check_int(gpv_json_array_append(a, e), 0);
	check_int(gpv_json_new_double(12.5, "12.5", &d), 0);
	check_int(gpv_json_array_append(a, d), 0);
	check_int(gpv_json_add(o, "list", a), 0);

	s = text_of(o, false);
	check_streq(s,
		"{\"path\":\"/usr/lib/libcuda.so.1\",\"size\":-5,\"exec\":true,\"none\":null,"
		"\"list\":[-9223372036854775808,\"two \\\"quoted\\\"\",null,{},12.5]}");
	free(s);
	s = text_of(o, true);
	check_streq(s, "{\n"
		       "  \"path\": \"/usr/lib/libcuda.so.1\",\n"
		       "  \"size\": -5,\n"
		       "  \"exec\": true,\n"
		       "  \"none\": null,\n"
		       "  \"list\": [\n"
		       "    -9223372036854775808,\n"
		       "    \"two \\\"quoted\\\"\",\n"
		       "    null,\n"
		       "    {\n"
		       "    },\n"
		       "    12.5\n"
		       "  ]\n"
		       "}");
	free(s);

	/* a member set again is replaced */
	check_int(gpv_json_add_int64(o, "size", 7), 0);
	s = text_of(gpv_json_get(o, "size"), false);
	check_streq(s, "7");
	free(s);
	s = text_of(NULL, false);
	check_streq(s, "null");
	free(s);
	gpv_json_free(o);
}

TEST(written_text_parses_back)
{
	struct gpv_json *a = parse_ok(manifest), *b;
	char *s1 = text_of(a, true), *s2;

	b = parse_ok(s1);
	s2 = text_of(b, true);
	check_streq(s1, s2);
	free(s1);
	free(s2);
	gpv_json_free(a);
	gpv_json_free(b);
}

TEST(number_text_is_checked)
{
	static const char *const good[] = {"0", "-0", "12.5", "-0.25", "1e9", "1.5E-3", "33.33"};
	static const char *const bad[] = {
		"", "12.", ".5", "01", "1e", "1e+", "NaN", "Infinity", "0x10", "1 ", "+1", "--1"};
	struct gpv_json *v = NULL;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		char *s;

		check_int(gpv_json_new_double(0, good[i], &v), 0);
		s = text_of(v, false);
		check_streq(s, good[i]);
		free(s);
		gpv_json_free(v);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		check_int(gpv_json_new_double(0, bad[i], &v), -EINVAL);
	check_int(gpv_json_new_string(NULL, &v), -EINVAL);
}

TEST(failed_adds_free_the_value)
{
	struct gpv_json *o = NULL, *a = NULL, *v = NULL;

	/* Run under the sanitizers, a value not freed here is a leak report. */
	check_int(gpv_json_new_object(&o), 0);
	check_int(gpv_json_new_array(&a), 0);
	check_int(gpv_json_new_string("x", &v), 0);
	check_int(gpv_json_add(NULL, "k", v), -EINVAL);
	check_int(gpv_json_new_string("x", &v), 0);
	check_int(gpv_json_add(a, "k", v), -EINVAL);
	check_int(gpv_json_new_string("x", &v), 0);
	check_int(gpv_json_add(o, NULL, v), -EINVAL);
	check_int(gpv_json_new_string("x", &v), 0);
	check_int(gpv_json_array_append(o, v), -EINVAL);
	check_int(gpv_json_add(o, "self", o), -EINVAL);
	check(gpv_json_free(NULL) == NULL);
	gpv_json_free(a);
}
