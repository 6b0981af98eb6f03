/* The byte-exact splice behind bottle-launch enforce (the DB protocol is exercised end
 * to end by integration/launch/enforce.t). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "enforce.h"

static char *splice(const char *rec, const char *const *cidrs, size_t n, int *rc)
{
	struct bv_cidr_set set = { 0 };
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(cidr_set_add_text(&set, cidrs[i], NULL), 0);
	unsigned char *out = NULL;
	size_t len = 0;
	*rc = enforce_splice((const unsigned char *)rec, strlen(rec), &set, &out, &len, NULL);
	cidr_set_free(&set);
	if (*rc == 0)
		cr_assert_eq(strlen((char *)out), len);
	return (char *)out;
}

Test(enforce_splice, replaces_only_the_value)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("{\"name\":\"a\",\"allowed_cidrs\":null,\"mem\":512}", c, 1, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "{\"name\":\"a\",\"allowed_cidrs\":[\"192.0.2.10/32\"],\"mem\":512}");
	free(out);
}

Test(enforce_splice, keeps_whitespace_and_unknown_keys_verbatim)
{
	const char *c[] = { "192.0.2.10/32", "2001:db8::1" };
	int rc;
	char *out = splice("{ \"x\" : 1.50 ,\"allowed_cidrs\" : [ \"0.0.0.0/0\" ] , \"deny_cidrs\":[] }", c, 2, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "{ \"x\" : 1.50 ,\"allowed_cidrs\" : [\"192.0.2.10/32\",\"2001:db8::1/128\"] , \"deny_cidrs\":[] }");
	free(out);
}

Test(enforce_splice, appends_the_member_when_absent)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("{\"name\":\"a\"}", c, 1, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "{\"name\":\"a\",\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
	free(out);
}

Test(enforce_splice, appends_into_an_empty_object)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("{}", c, 1, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "{\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
	free(out);
}

Test(enforce_splice, ignores_a_nested_allowed_cidrs)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("{\"r\":{\"allowed_cidrs\":[]},\"allowed_cidrs\":null}", c, 1, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "{\"r\":{\"allowed_cidrs\":[]},\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
	free(out);
}

Test(enforce_splice, refuses_a_record_with_duplicate_keys)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("{\"allowed_cidrs\":null,\"allowed_cidrs\":[]}", c, 1, &rc);
	cr_assert_eq(rc, -EINVAL);
	cr_assert_null(out);
}

Test(enforce_splice, refuses_a_non_object)
{
	const char *c[] = { "192.0.2.10/32" };
	int rc;
	char *out = splice("[1]", c, 1, &rc);
	cr_assert_eq(rc, -EINVAL);
	cr_assert_null(out);
}
