/* Strict JSON: what it accepts, what it refuses, and the member spans it returns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/jsonstrict.h"

static int check(const char *s)
{
	struct bv_error err = { 0 };
	return jsonstrict_validate((const unsigned char *)s, strlen(s), NULL, &err);
}

Test(jsonstrict, accepts_a_record_shaped_object)
{
	cr_assert_eq(check("{\"name\":\"a\",\"allowed_cidrs\":[\"1.2.3.4/32\"],\"pid\":null,\"n\":-1.5e3}"), 0);
}

Test(jsonstrict, accepts_surrounding_whitespace)
{
	cr_assert_eq(check(" \n{\"a\":true}\r\n\t"), 0);
}

Test(jsonstrict, refuses_duplicate_keys)
{
	cr_assert_eq(check("{\"allowed_cidrs\":[],\"allowed_cidrs\":null}"), -EINVAL);
}

Test(jsonstrict, refuses_duplicate_keys_spelled_with_escapes)
{
	cr_assert_eq(check("{\"ab\":1,\"a\\u0062\":2}"), -EINVAL);
}

Test(jsonstrict, refuses_duplicate_keys_in_nested_objects)
{
	cr_assert_eq(check("{\"r\":{\"x\":1,\"x\":2}}"), -EINVAL);
}

Test(jsonstrict, same_key_in_sibling_objects_is_fine)
{
	cr_assert_eq(check("[{\"x\":1},{\"x\":2}]"), 0);
}

Test(jsonstrict, refuses_trailing_bytes)
{
	cr_assert_eq(check("{\"a\":1}{}"), -EINVAL);
	cr_assert_eq(check("{\"a\":1} x"), -EINVAL);
}

Test(jsonstrict, refuses_embedded_nul_after_document)
{
	const unsigned char s[] = "{\"a\":1}\0";
	cr_assert_eq(jsonstrict_validate(s, sizeof s - 1, NULL, NULL), -EINVAL);
}

Test(jsonstrict, refuses_absurd_nesting_without_crashing)
{
	char deep[2 * 100000 + 1];
	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	deep[200000] = '\0';
	cr_assert_eq(check(deep), -EINVAL);
}

Test(jsonstrict, accepts_nesting_at_the_limit)
{
	char s[2 * JSONSTRICT_MAX_DEPTH + 1];
	memset(s, '[', JSONSTRICT_MAX_DEPTH);
	memset(s + JSONSTRICT_MAX_DEPTH, ']', JSONSTRICT_MAX_DEPTH);
	s[2 * JSONSTRICT_MAX_DEPTH] = '\0';
	cr_assert_eq(check(s), 0);
}

Test(jsonstrict, refuses_invalid_utf8)
{
	cr_assert_eq(check("{\"a\":\"\xff\"}"), -EINVAL);
	cr_assert_eq(check("{\"a\":\"\xc0\xaf\"}"), -EINVAL);     /* overlong '/' */
	cr_assert_eq(check("{\"a\":\"\xed\xa0\x80\"}"), -EINVAL); /* raw surrogate */
}

Test(jsonstrict, accepts_valid_utf8)
{
	cr_assert_eq(check("{\"a\":\"caf\xc3\xa9 \xf0\x9f\x94\x92\"}"), 0);
}

Test(jsonstrict, refuses_lone_surrogate_escapes)
{
	cr_assert_eq(check("{\"a\":\"\\ud800\"}"), -EINVAL);
	cr_assert_eq(check("{\"a\":\"\\udc00\"}"), -EINVAL);
	cr_assert_eq(check("{\"a\":\"\\ud83d\\ud83d\"}"), 0 - EINVAL);
	cr_assert_eq(check("{\"a\":\"\\ud83d\\udd12\"}"), 0);
}

Test(jsonstrict, refuses_control_characters_in_strings)
{
	cr_assert_eq(check("{\"a\":\"x\ny\"}"), -EINVAL);
}

Test(jsonstrict, refuses_non_json_numbers_and_literals)
{
	cr_assert_eq(check("[01]"), -EINVAL);
	cr_assert_eq(check("[1.]"), -EINVAL);
	cr_assert_eq(check("[+1]"), -EINVAL);
	cr_assert_eq(check("[NaN]"), -EINVAL);
	cr_assert_eq(check("[tru]"), -EINVAL);
	cr_assert_eq(check("[1,]"), -EINVAL);
	cr_assert_eq(check("{\"a\":1,}"), -EINVAL);
	cr_assert_eq(check("{'a':1}"), -EINVAL);
}

Test(jsonstrict, refuses_empty_and_truncated_input)
{
	cr_assert_eq(check(""), -EINVAL);
	cr_assert_eq(check("{\"a\":"), -EINVAL);
	cr_assert_eq(check("{\"a\":\"x"), -EINVAL);
}

Test(jsonstrict, refuses_oversized_input)
{
	cr_assert_eq(jsonstrict_validate((const unsigned char *)"", JSONSTRICT_MAX_BYTES + 1, NULL, NULL),
		     -E2BIG);
}

Test(jsonstrict, error_names_the_byte)
{
	struct bv_error err = { 0 };
	jsonstrict_validate((const unsigned char *)"{\"a\":x}", 7, NULL, &err);
	cr_assert(strstr(err.msg, "byte 5"), "%s", err.msg);
}

Test(jsonstrict, top_level_spans_point_at_values)
{
	const char *s = "{ \"a\" : [1, 2] , \"b\":null }";
	struct json_top top;
	cr_assert_eq(jsonstrict_validate((const unsigned char *)s, strlen(s), &top, NULL), 0);
	cr_assert(top.is_object);
	cr_assert_eq(top.n_members, 2);
	const struct json_member_span *a = json_top_find(&top, "a");
	cr_assert_not_null(a);
	cr_assert_eq(strncmp(s + a->value_start, "[1, 2]", a->value_end - a->value_start), 0);
	cr_assert_eq(a->value_end - a->value_start, 6);
	cr_assert_eq(s[top.close_brace], '}');
	cr_assert_null(json_top_find(&top, "c"));
	json_top_free(&top);
}

Test(jsonstrict, nested_members_are_not_top_level)
{
	const char *s = "{\"r\":{\"allowed_cidrs\":[]}}";
	struct json_top top;
	cr_assert_eq(jsonstrict_validate((const unsigned char *)s, strlen(s), &top, NULL), 0);
	cr_assert_null(json_top_find(&top, "allowed_cidrs"));
	json_top_free(&top);
}

Test(jsonstrict, refuses_nul_escapes_in_keys_and_values)
{
	cr_assert_eq(check("{\"a\\u0000\":1}"), -EINVAL);
	cr_assert_eq(check("{\"allowed_cidrs\":[\"192.0.2.10/32\\u0000,0.0.0.0/0\"]}"), -EINVAL);
}
