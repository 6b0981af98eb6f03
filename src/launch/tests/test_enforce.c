/* The byte-exact splice behind bottle-launch enforce (the DB protocol is exercised end
 * to end by integration/launch/enforce.t). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "launch/enforce.h"

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

/* Splicing cidrs[0..n) into rec succeeds and gives want, byte for byte. */
static void expect_splice(const char *rec, const char *const *cidrs, size_t n, const char *want)
{
	int rc;
	char *out = splice(rec, cidrs, n, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, want);
	free(out);
}

/* Splicing cidrs[0..n) into rec is refused (-EINVAL) and gives nothing. */
static void expect_refused(const char *rec, const char *const *cidrs, size_t n)
{
	int rc;
	char *out = splice(rec, cidrs, n, &rc);
	cr_assert_eq(rc, -EINVAL);
	cr_assert_null(out);
}

/* The allowlist most cases splice in. */
static const char *const one_cidr[] = { "192.0.2.10/32" };

Test(enforce_splice, replaces_only_the_value)
{
	expect_splice("{\"name\":\"a\",\"allowed_cidrs\":null,\"mem\":512}", one_cidr, 1,
		      "{\"name\":\"a\",\"allowed_cidrs\":[\"192.0.2.10/32\"],\"mem\":512}");
}

Test(enforce_splice, keeps_whitespace_and_unknown_keys_verbatim)
{
	const char *c[] = { "192.0.2.10/32", "2001:db8::1" };
	expect_splice("{ \"x\" : 1.50 ,\"allowed_cidrs\" : [ \"0.0.0.0/0\" ] , \"deny_cidrs\":[] }", c, 2,
		      "{ \"x\" : 1.50 ,\"allowed_cidrs\" : [\"192.0.2.10/32\",\"2001:db8::1/128\"] , \"deny_cidrs\":[] }");
}

Test(enforce_splice, appends_the_member_when_absent)
{
	expect_splice("{\"name\":\"a\"}", one_cidr, 1, "{\"name\":\"a\",\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
}

Test(enforce_splice, appends_into_an_empty_object)
{
	expect_splice("{}", one_cidr, 1, "{\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
}

Test(enforce_splice, ignores_a_nested_allowed_cidrs)
{
	expect_splice("{\"r\":{\"allowed_cidrs\":[]},\"allowed_cidrs\":null}", one_cidr, 1,
		      "{\"r\":{\"allowed_cidrs\":[]},\"allowed_cidrs\":[\"192.0.2.10/32\"]}");
}

Test(enforce_splice, refuses_a_record_with_duplicate_keys)
{
	expect_refused("{\"allowed_cidrs\":null,\"allowed_cidrs\":[]}", one_cidr, 1);
}

Test(enforce_splice, refuses_a_non_object)
{
	expect_refused("[1]", one_cidr, 1);
}
