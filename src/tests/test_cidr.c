/* CIDR parsing as smolvm's ipnet stores it, and set comparison with host bits kept. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static struct bv_cidr P(const char *s)
{
	struct bv_cidr c;
	struct bv_error err = { 0 };
	cr_assert_eq(cidr_parse(s, &c, &err), 0, "%s: %s", s, err.msg);
	return c;
}

static char *fmt(const struct bv_cidr *c)
{
	static char buf[CIDR_TEXT_MAX];
	cidr_format(c, buf);
	return buf;
}

Test(cidr, bare_ipv4_gets_32)
{
	struct bv_cidr c = P("192.0.2.10");
	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 32);
	cr_assert_str_eq(fmt(&c), "192.0.2.10/32");
}

Test(cidr, bare_ipv6_gets_128_and_prints_compressed)
{
	struct bv_cidr c = P("2001:0db8:0:0:0:0:0:1");
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 128);
	cr_assert_str_eq(fmt(&c), "2001:db8::1/128");
}

Test(cidr, host_bits_are_kept_as_written)
{
	struct bv_cidr c = P("127.0.0.17/28");
	char net[CIDR_TEXT_MAX];
	cr_assert(cidr_has_host_bits(&c));
	cr_assert_str_eq(fmt(&c), "127.0.0.17/28");
	cidr_format_network(&c, net);
	cr_assert_str_eq(net, "127.0.0.16/28");
}

Test(cidr, host_bits_mean_the_wider_network)
{
	struct bv_cidr a = P("127.0.0.17/28"), b = P("127.0.0.16/28"), c = P("127.0.0.17/32");
	cr_assert(cidr_equal(&a, &b));
	cr_assert_not(cidr_equal(&a, &c));
	cr_assert(cidr_contains(&a, &c));
}

Test(cidr, rejects_malformed_text)
{
	const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4/33",
			      "1.2.3.4/08", "1.2.3.4/+8", " 1.2.3.4", "1.2.3.4/", "::1/129",
			      "fe80::1%eth0", "1.2.3.4/32 ", "1.2.3.4/-1", "a.b.c.d", "::g",
			      "1.2.3.4/3 2", "/32", "1..2.3" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct bv_cidr c;
		cr_assert_eq(cidr_parse(bad[i], &c, NULL), -EINVAL, "accepted \"%s\"", bad[i]);
	}
}

Test(cidr, prefix_bounds_are_inclusive)
{
	cr_assert_eq(P("0.0.0.0/0").prefix, 0);
	cr_assert_eq(P("::/0").prefix, 0);
	cr_assert_eq(P("::1/128").prefix, 128);
}

Test(cidr, ipv4_mapped_stays_ipv6_and_outside_v4_prefixes)
{
	struct bv_cidr m = P("::ffff:127.0.0.1"), lo = P("127.0.0.0/8");
	cr_assert_eq(m.family, AF_INET6);
	cr_assert_not(cidr_contains(&lo, &m));
	cr_assert_not(cidr_is_loopback(&m));
}

Test(cidr, containment_is_directional)
{
	struct bv_cidr lo8 = P("127.0.0.0/8"), a = P("127.0.0.16/32");
	cr_assert(cidr_contains(&lo8, &a));
	cr_assert_not(cidr_contains(&a, &lo8));
}

Test(cidr, default_routes_contain_only_their_family)
{
	struct bv_cidr v4 = P("0.0.0.0/0"), v6 = P("::/0");
	struct bv_cidr a = P("198.51.100.1"), b = P("2001:db8::1");
	cr_assert(cidr_contains(&v4, &a));
	cr_assert_not(cidr_contains(&v4, &b));
	cr_assert(cidr_contains(&v6, &b));
	cr_assert_not(cidr_contains(&v6, &a));
}

Test(cidr, loopback_forms)
{
	struct bv_cidr a = P("127.0.0.16/32"), b = P("127.0.0.0/8"), c = P("::1"), d = P("0.0.0.0/0");
	cr_assert(cidr_is_loopback(&a));
	cr_assert(cidr_is_loopback(&b));
	cr_assert(cidr_is_loopback(&c));
	cr_assert_not(cidr_is_loopback(&d));
}

static void set_of(struct bv_cidr_set *s, const char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(cidr_set_add_text(s, items[i], NULL), 0);
}

Test(cidr_set, reordered_and_duplicated_sets_are_equal)
{
	struct bv_cidr_set a = { 0 }, b = { 0 };
	const char *x[] = { "192.0.2.10/32", "192.0.2.11/32" };
	const char *y[] = { "192.0.2.11", "192.0.2.10/32", "192.0.2.11/32" };
	set_of(&a, x, 2);
	set_of(&b, y, 3);
	cr_assert(cidr_set_equal(&a, &b));
	cidr_set_free(&a);
	cidr_set_free(&b);
}

static void diff(const char *const *have, size_t nh, const char *const *want, size_t nw,
		 size_t n_missing, size_t n_extra)
{
	struct bv_cidr_set a = { 0 }, e = { 0 }, m = { 0 }, x = { 0 };
	set_of(&a, have, nh);
	set_of(&e, want, nw);
	cr_assert_eq(cidr_set_diff(&a, &e, &m, &x, NULL), 0);
	cr_assert_eq(m.len, n_missing, "missing %zu", m.len);
	cr_assert_eq(x.len, n_extra, "extra %zu", x.len);
	cr_assert_eq(cidr_set_equal(&a, &e), n_missing == 0 && n_extra == 0);
	cidr_set_free(&a);
	cidr_set_free(&e);
	cidr_set_free(&m);
	cidr_set_free(&x);
}

Test(cidr_set, identical_sets_have_no_diff)
{
	const char *a[] = { "192.0.2.10/32" };
	diff(a, 1, a, 1, 0, 0);
}

Test(cidr_set, an_extra_resolver_is_extra)
{
	const char *have[] = { "192.0.2.10/32", "198.51.100.53/32" }, *want[] = { "192.0.2.10/32" };
	diff(have, 2, want, 1, 0, 1);
}

Test(cidr_set, a_wider_prefix_is_both_missing_and_extra)
{
	const char *have[] = { "192.0.2.0/24" }, *want[] = { "192.0.2.10/32" };
	diff(have, 1, want, 1, 1, 1);
}

Test(cidr_set, host_bits_widen_a_32)
{
	const char *have[] = { "192.0.2.10/28" }, *want[] = { "192.0.2.10/32" };
	diff(have, 1, want, 1, 1, 1);
}

Test(cidr_set, a_missing_entry_is_missing)
{
	const char *have[] = { "192.0.2.10/32" }, *want[] = { "192.0.2.10/32", "192.0.2.11/32" };
	diff(have, 1, want, 2, 1, 0);
}

Test(cidr_set, empty_against_non_empty)
{
	const char *want[] = { "192.0.2.10/32" };
	diff(NULL, 0, want, 1, 1, 0);
}
