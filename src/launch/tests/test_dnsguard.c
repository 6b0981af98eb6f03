/* The DNS guard's plan: where a bottle's guard lives and what is refused before it starts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "launch/dnsguard.h"

Test(dnsguard, names_sharing_a_slug_get_their_own_files)
{
	struct dnsguard a, b;
	cr_assert_eq(dnsguard_plan("/l", "s.x", "127.83.1.53", &a, NULL), 0);
	cr_assert_eq(dnsguard_plan("/l", "s_x", "127.83.1.53", &b, NULL), 0);
	cr_assert_str_neq(a.log, b.log);
	cr_assert_str_neq(a.pidfile, b.pidfile);
	cr_assert(strncmp(a.log, "/l/dnsguard-s-x-", 16) == 0, "%s", a.log);
}

Test(dnsguard, a_chosen_address_must_be_ipv4)
{
	struct dnsguard g;
	struct bv_error err = { 0 };
	cr_assert_eq(dnsguard_plan("/l", "b", "::1", &g, &err), -EINVAL);
	cr_assert(strstr(err.msg, "IPv4"));
	cr_assert_eq(dnsguard_plan("/l", "b", "127.83.9.53", &g, &err), 0);
	cr_assert(g.addr_chosen);
	cr_assert_str_eq(g.addr, "127.83.9.53");
}

Test(dnsguard, stopping_a_guard_that_never_ran_is_nothing)
{
	struct dnsguard g;
	struct bv_error err = { 0 };
	cr_assert_eq(dnsguard_plan("/nonexistent-bv", "b", "127.83.9.53", &g, NULL), 0);
	cr_assert_eq(dnsguard_stop(&g, &err), 0);
}
