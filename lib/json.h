/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one json-c wrapper (lib/json.c), opened on first use (lib/dl.h): JSON documents parsed,
 * walked, built and written without json-c's types leaving this file.
 *
 * A struct gpv_json is one value. The JSON null is the NULL pointer, as in json-c: every reader
 * accepts NULL. A value inside an object or array belongs to it and dies with the root, which
 * alone is freed (gpv_json_free()); pointers handed out by the readers are borrowed.
 */
struct gpv_json;

enum gpv_json_type {
	GPV_JSON_NULL,
	GPV_JSON_BOOL,
	GPV_JSON_INT,
	GPV_JSON_DOUBLE,
	GPV_JSON_STRING,
	GPV_JSON_OBJECT,
	GPV_JSON_ARRAY,
};

/* Loads json-c now: 0, or -EOPNOTSUPP when it cannot be loaded. Every other function loads it
 * on first use too; this is for a front end that wants to say so before doing any work. */
int gpv_json_open(void);

/*
 * Parses len bytes of text holding exactly one JSON value (RFC 8259: no comments, no trailing
 * commas or text, UTF-8, at most 32 levels deep). On success *ret is the root, owned by the
 * caller (gpv_json_free()), NULL for the document "null". -EBADMSG for anything else (a NUL
 * byte included), with nothing allocated; -EFBIG over 2 GiB; -ENOMEM; -EOPNOTSUPP.
 */
int gpv_json_parse(const char *text, size_t len, struct gpv_json **ret);
/* Frees a root and everything in it; NULL-safe, returns NULL. Never a value held by another. */
struct gpv_json *gpv_json_free(struct gpv_json *v);

/* Reading. */

enum gpv_json_type gpv_json_type(const struct gpv_json *v);
/* obj's member key; NULL when obj is not an object, has no such key, or its value is null.
 * Replacing or removing the member ends the borrowed value. */
struct gpv_json *gpv_json_get(const struct gpv_json *obj, const char *key);
/*
 * The value as a C type: 0, -ENOENT when v is NULL (a missing member or a null, so that
 * gpv_json_string(gpv_json_get(o, "k"), &s) tells a missing key), -EINVAL when v has another
 * type. No conversions: "1" is not an integer, 1 is not a string. *ret is set only on success.
 * A string belongs to v; one holding a NUL (\u0000) is -EINVAL. Integers beyond the int64
 * range were clamped by json-c when the text was parsed.
 */
int gpv_json_string(const struct gpv_json *v, const char **ret);
int gpv_json_int64(const struct gpv_json *v, int64_t *ret);
int gpv_json_bool(const struct gpv_json *v, bool *ret);

/* An array's length (0 for anything else), and its i-th element (NULL when i is out of range,
 * v is not an array, or the element is null). */
size_t gpv_json_array_len(const struct gpv_json *v);
struct gpv_json *gpv_json_array_get(const struct gpv_json *v, size_t i);

/*
 * An object's members in order:
 *
 *	struct gpv_json_iter it = {0};
 *	while (gpv_json_object_next(obj, &it, &key, &value)) ...
 *
 * false at the end, or at once when obj is not an object. key and value are borrowed; value
 * is NULL for a null. The object must not change during the walk.
 */
struct gpv_json_iter {
	const void *pos; /* private */
	bool started;
};
bool gpv_json_object_next(const struct gpv_json *obj, struct gpv_json_iter *it,
	const char **ret_key, struct gpv_json **ret_value);

/* Building. Each new value is owned by the caller until it is added to a container. */

int gpv_json_new_object(struct gpv_json **ret);
int gpv_json_new_array(struct gpv_json **ret);
/* -EINVAL when s is NULL (a null needs no value: NULL is one). */
int gpv_json_new_string(const char *s, struct gpv_json **ret);
int gpv_json_new_int64(int64_t v, struct gpv_json **ret);
int gpv_json_new_bool(bool v, struct gpv_json **ret);
/* A number written as text says ("12.5": the caller's own rounding), or as json-c writes
 * doubles when text is NULL. text must be a JSON number, else -EINVAL. */
int gpv_json_new_double(double v, const char *text, struct gpv_json **ret);

/*
 * Sets obj's member key (replacing one already there), or appends to an array. Both take
 * value, NULL being a null, whatever they return: on failure it is freed. value must not be
 * held by another container, nor contain obj. -EINVAL when obj is not an object (arr not an
 * array), -ENOMEM.
 */
int gpv_json_add(struct gpv_json *obj, const char *key, struct gpv_json *value);
int gpv_json_array_append(struct gpv_json *arr, struct gpv_json *value);
/* Shorthands for gpv_json_add() of a new value; s NULL adds a null. */
int gpv_json_add_string(struct gpv_json *obj, const char *key, const char *s);
int gpv_json_add_int64(struct gpv_json *obj, const char *key, int64_t v);
int gpv_json_add_bool(struct gpv_json *obj, const char *key, bool v);

/* v as text: one line, or indented by two spaces with a space after ':' (pretty); '/' is not
 * escaped. On success *ret is owned by the caller (free()). */
int gpv_json_to_string(const struct gpv_json *v, bool pretty, char **ret);
