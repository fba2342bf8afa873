/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks json-c. */
#include <errno.h>
#include <limits.h>

#include <json-c/json.h>

#include "lib/dl.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

/* libjson-c is opened on first use (lib/dl.h): only --json and drivers-sync need it. */
static GPV_DL_SYM(json_tokener_new);
static GPV_DL_SYM(json_tokener_free);
static GPV_DL_SYM(json_tokener_set_flags);
static GPV_DL_SYM(json_tokener_parse_ex);
static GPV_DL_SYM(json_tokener_get_error);
static GPV_DL_SYM(json_tokener_error_desc);
static GPV_DL_SYM(json_object_put);
static GPV_DL_SYM(json_object_get_type);
static GPV_DL_SYM(json_object_object_get_ex);
static GPV_DL_SYM(json_object_object_add);
static GPV_DL_SYM(json_object_get_string);
static GPV_DL_SYM(json_object_get_string_len);
static GPV_DL_SYM(json_object_get_int64);
static GPV_DL_SYM(json_object_get_boolean);
static GPV_DL_SYM(json_object_array_length);
static GPV_DL_SYM(json_object_array_get_idx);
static GPV_DL_SYM(json_object_array_add);
static GPV_DL_SYM(json_object_iter_begin);
static GPV_DL_SYM(json_object_iter_end);
static GPV_DL_SYM(json_object_iter_next);
static GPV_DL_SYM(json_object_iter_equal);
static GPV_DL_SYM(json_object_iter_peek_name);
static GPV_DL_SYM(json_object_iter_peek_value);
static GPV_DL_SYM(json_object_new_object);
static GPV_DL_SYM(json_object_new_array);
static GPV_DL_SYM(json_object_new_string);
static GPV_DL_SYM(json_object_new_int64);
static GPV_DL_SYM(json_object_new_boolean);
static GPV_DL_SYM(json_object_new_double);
static GPV_DL_SYM(json_object_new_double_s);
static GPV_DL_SYM(json_object_to_json_string_ext);
static int json_state;

int gpv_json_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(json_tokener_new),
		GPV_DL_ENTRY(json_tokener_free),
		GPV_DL_ENTRY(json_tokener_set_flags),
		GPV_DL_ENTRY(json_tokener_parse_ex),
		GPV_DL_ENTRY(json_tokener_get_error),
		GPV_DL_ENTRY(json_tokener_error_desc),
		GPV_DL_ENTRY(json_object_put),
		GPV_DL_ENTRY(json_object_get_type),
		GPV_DL_ENTRY(json_object_object_get_ex),
		GPV_DL_ENTRY(json_object_object_add),
		GPV_DL_ENTRY(json_object_get_string),
		GPV_DL_ENTRY(json_object_get_string_len),
		GPV_DL_ENTRY(json_object_get_int64),
		GPV_DL_ENTRY(json_object_get_boolean),
		GPV_DL_ENTRY(json_object_array_length),
		GPV_DL_ENTRY(json_object_array_get_idx),
		GPV_DL_ENTRY(json_object_array_add),
		GPV_DL_ENTRY(json_object_iter_begin),
		GPV_DL_ENTRY(json_object_iter_end),
		GPV_DL_ENTRY(json_object_iter_next),
		GPV_DL_ENTRY(json_object_iter_equal),
		GPV_DL_ENTRY(json_object_iter_peek_name),
		GPV_DL_ENTRY(json_object_iter_peek_value),
		GPV_DL_ENTRY(json_object_new_object),
		GPV_DL_ENTRY(json_object_new_array),
		GPV_DL_ENTRY(json_object_new_string),
		GPV_DL_ENTRY(json_object_new_int64),
		GPV_DL_ENTRY(json_object_new_boolean),
		GPV_DL_ENTRY(json_object_new_double),
		GPV_DL_ENTRY(json_object_new_double_s),
		GPV_DL_ENTRY(json_object_to_json_string_ext),
	};

	return gpv_dl_open(GPV_LIBJSONC_SONAME, syms, ELEMENTSOF(syms), &json_state);
}

/* The public type is json-c's own, behind a name that keeps json-c out of every header. */
#define J(v) ((json_object *)(v))
#define GJ(v) ((struct gpv_json *)(v))

/* Every reader takes values it was handed, which exist only once json-c is loaded; a NULL is a
 * null and needs no json-c. */
static bool is_type(const struct gpv_json *v, json_type t)
{
	return v && sym_json_object_get_type(J(v)) == t;
}

int gpv_json_parse(const char *text, size_t len, struct gpv_json **ret)
{
	_cleanup_free_ char *copy = NULL;
	struct json_tokener *tok;
	json_object *o;
	enum json_tokener_error err;
	int flags = JSON_TOKENER_STRICT, r = gpv_json_open();

	if (r < 0)
		return r;
	if (!text && len)
		return -EINVAL;
	if (len >= INT_MAX)
		return -EFBIG;
	/* json-c reads up to a NUL: one inside the text would end it early. */
	if (len && memchr(text, '\0', len))
		return -EBADMSG;
	/* A NUL-terminated copy, parsed with length -1, so that the end of the text ends a number
	 * at the top level ("12") instead of leaving json-c waiting for more digits. */
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	tok = sym_json_tokener_new();
	if (!tok)
		return -ENOMEM;
#ifdef JSON_TOKENER_VALIDATE_UTF8
	flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
	sym_json_tokener_set_flags(tok, flags);
	o = sym_json_tokener_parse_ex(tok, copy, -1);
	err = sym_json_tokener_get_error(tok);
	sym_json_tokener_free(tok);
	if (err != json_tokener_success) {
		sym_json_object_put(o);
		gpv_debug("malformed JSON: %s", sym_json_tokener_error_desc(err));
		return -EBADMSG;
	}
	*ret = GJ(o);
	return 0;
}

struct gpv_json *gpv_json_free(struct gpv_json *v)
{
	/* Values exist only once json-c was loaded. */
	if (v)
		sym_json_object_put(J(v));
	return NULL;
}

enum gpv_json_type gpv_json_type(const struct gpv_json *v)
{
	if (!v)
		return GPV_JSON_NULL;
	switch (sym_json_object_get_type(J(v))) {
	case json_type_boolean:
		return GPV_JSON_BOOL;
	case json_type_int:
		return GPV_JSON_INT;
	case json_type_double:
		return GPV_JSON_DOUBLE;
	case json_type_string:
		return GPV_JSON_STRING;
	case json_type_object:
		return GPV_JSON_OBJECT;
	case json_type_array:
		return GPV_JSON_ARRAY;
	default:
		return GPV_JSON_NULL;
	}
}

struct gpv_json *gpv_json_get(const struct gpv_json *obj, const char *key)
{
	json_object *v = NULL;

	if (!key || !is_type(obj, json_type_object) ||
		!sym_json_object_object_get_ex(J(obj), key, &v))
		return NULL;
	return GJ(v);
}

int gpv_json_string(const struct gpv_json *v, const char **ret)
{
	const char *s;

	if (!v)
		return -ENOENT;
	if (!is_type(v, json_type_string))
		return -EINVAL;
	s = sym_json_object_get_string(J(v));
	if (!s || strlen(s) != (size_t)sym_json_object_get_string_len(J(v)))
		return -EINVAL;
	*ret = s;
	return 0;
}

int gpv_json_int64(const struct gpv_json *v, int64_t *ret)
{
	if (!v)
		return -ENOENT;
	if (!is_type(v, json_type_int))
		return -EINVAL;
	*ret = sym_json_object_get_int64(J(v));
	return 0;
}

int gpv_json_bool(const struct gpv_json *v, bool *ret)
{
	if (!v)
		return -ENOENT;
	if (!is_type(v, json_type_boolean))
		return -EINVAL;
	*ret = sym_json_object_get_boolean(J(v));
	return 0;
}

size_t gpv_json_array_len(const struct gpv_json *v)
{
	return is_type(v, json_type_array) ? sym_json_object_array_length(J(v)) : 0;
}

struct gpv_json *gpv_json_array_get(const struct gpv_json *v, size_t i)
{
	if (i >= gpv_json_array_len(v))
		return NULL;
	return GJ(sym_json_object_array_get_idx(J(v), i));
}

bool gpv_json_object_next(const struct gpv_json *obj, struct gpv_json_iter *it,
	const char **ret_key, struct gpv_json **ret_value)
{
	struct json_object_iterator cur, end;

	if (!it || !is_type(obj, json_type_object))
		return false;
	if (!it->started) {
		cur = sym_json_object_iter_begin(J(obj));
		it->started = true;
	} else {
		cur.opaque_ = it->pos;
	}
	end = sym_json_object_iter_end(J(obj));
	if (sym_json_object_iter_equal(&cur, &end)) {
		it->pos = cur.opaque_;
		return false;
	}
	if (ret_key)
		*ret_key = sym_json_object_iter_peek_name(&cur);
	if (ret_value)
		*ret_value = GJ(sym_json_object_iter_peek_value(&cur));
	sym_json_object_iter_next(&cur);
	it->pos = cur.opaque_;
	return true;
}

/* Building. */

static int take(json_object *o, struct gpv_json **ret)
{
	if (!o)
		return -ENOMEM;
	*ret = GJ(o);
	return 0;
}

int gpv_json_new_object(struct gpv_json **ret)
{
	int r = gpv_json_open();

	return r < 0 ? r : take(sym_json_object_new_object(), ret);
}

int gpv_json_new_array(struct gpv_json **ret)
{
	int r = gpv_json_open();

	return r < 0 ? r : take(sym_json_object_new_array(), ret);
}

int gpv_json_new_string(const char *s, struct gpv_json **ret)
{
	int r = gpv_json_open();

	if (r < 0)
		return r;
	if (!s)
		return -EINVAL;
	return take(sym_json_object_new_string(s), ret);
}

int gpv_json_new_int64(int64_t v, struct gpv_json **ret)
{
	int r = gpv_json_open();

	return r < 0 ? r : take(sym_json_object_new_int64(v), ret);
}

int gpv_json_new_bool(bool v, struct gpv_json **ret)
{
	int r = gpv_json_open();

	return r < 0 ? r : take(sym_json_object_new_boolean(v), ret);
}

/* RFC 8259's number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

int gpv_json_new_double(double v, const char *text, struct gpv_json **ret)
{
	int r = gpv_json_open();

	if (r < 0)
		return r;
	if (!text)
		return take(sym_json_object_new_double(v), ret);
	if (!is_json_number(text))
		return -EINVAL;
	return take(sym_json_object_new_double_s(v, text), ret);
}

int gpv_json_add(struct gpv_json *obj, const char *key, struct gpv_json *value)
{
	if (!key || !is_type(obj, json_type_object) || obj == value) {
		gpv_json_free(value);
		return -EINVAL;
	}
	/* json-c keeps value only when the member was stored. */
	if (sym_json_object_object_add(J(obj), key, J(value)) < 0) {
		gpv_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

int gpv_json_array_append(struct gpv_json *arr, struct gpv_json *value)
{
	if (!is_type(arr, json_type_array) || arr == value) {
		gpv_json_free(value);
		return -EINVAL;
	}
	if (sym_json_object_array_add(J(arr), J(value)) < 0) {
		gpv_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

int gpv_json_add_string(struct gpv_json *obj, const char *key, const char *s)
{
	struct gpv_json *v = NULL;
	int r;

	if (s) {
		r = gpv_json_new_string(s, &v);
		if (r < 0)
			return r;
	}
	return gpv_json_add(obj, key, v);
}

int gpv_json_add_int64(struct gpv_json *obj, const char *key, int64_t v)
{
	struct gpv_json *j;
	int r = gpv_json_new_int64(v, &j);

	return r < 0 ? r : gpv_json_add(obj, key, j);
}

int gpv_json_add_bool(struct gpv_json *obj, const char *key, bool v)
{
	struct gpv_json *j;
	int r = gpv_json_new_bool(v, &j);

	return r < 0 ? r : gpv_json_add(obj, key, j);
}

int gpv_json_to_string(const struct gpv_json *v, bool pretty, char **ret)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE, r = gpv_json_open();
	const char *s;
	char *copy;

	if (r < 0)
		return r;
	if (pretty)
		flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	/* The text lives in the object until the next call: a copy for the caller. */
	s = sym_json_object_to_json_string_ext(J(v), flags);
	if (!s)
		return -ENOMEM;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}
