/* The per-slug bundle subnet: the slug's shape and the octet, checked against values
 * computed independently (Python: int(sha256(slug).hexdigest(), 16) % 254 + 1). */
#include <criterion/criterion.h>

#include "launch/subnet.h"

Test(subnet, slug_lowercases_and_replaces_other_bytes)
{
	char s[64];
	subnet_slug("My_Bottle.v2", s, sizeof s);
	cr_assert_str_eq(s, "my-bottle-v2");
}

Test(subnet, octet_is_the_digest_mod_254_plus_one)
{
	cr_assert_eq(subnet_octet("b1"), 190);
	cr_assert_eq(subnet_octet("agent-bottle"), 249);
	cr_assert_eq(subnet_octet("my-bottle"), 93);
}

Test(subnet, seventeen_is_skipped)
{
	cr_assert_eq(subnet_octet("x272"), 18, "x272 hashes to 17, docker's common 192.168.17.x");
}
