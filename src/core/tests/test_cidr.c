/* test_cidr.c - CIDR parsing as smolvm's ipnet stores it, comparison with host bits
 * kept, and allowlist set diffs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cidr.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct bv_cidr P(const char *s)
{
	struct bv_cidr c;
	struct bv_error err = { 0 };
	cr_assert_eq(cidr_parse(s, &c, &err), 0, "\"%s\": %s", s, err.msg);
	return c;
}

static const char *fmt(const struct bv_cidr *c)
{
	static char buf[CIDR_TEXT_MAX];
	cidr_format(c, buf);
	return buf;
}

/* The network form of c as text (a static buffer, like fmt). */
static const char *fmt_network(const struct bv_cidr *c)
{
	static char buf[CIDR_TEXT_MAX];
	cidr_format_network(c, buf);
	return buf;
}

/* P(s), which must come out of address family af with prefix length prefix. */
static struct bv_cidr parsed_as(const char *s, int af, unsigned prefix)
{
	struct bv_cidr c = P(s);
	cr_assert_eq(c.family, af, "\"%s\"", s);
	cr_assert_eq(c.prefix, prefix, "\"%s\"", s);
	return c;
}

/* ---- parsing ---- */

Test(cidr_parse, bare_ipv4_gets_32)
{
	struct bv_cidr c = parsed_as("192.0.2.10", AF_INET, 32);
	const unsigned char want[4] = { 192, 0, 2, 10 };
	cr_assert_arr_eq(c.addr, want, 4);
}

Test(cidr_parse, bare_ipv6_gets_128)
{
	struct bv_cidr c = parsed_as("2001:db8::1", AF_INET6, 128);
	cr_assert_eq(c.addr[0], 0x20);
	cr_assert_eq(c.addr[15], 1);
}

Test(cidr_parse, prefix_bounds_are_inclusive)
{
	cr_assert_eq(P("0.0.0.0/0").prefix, 0);
	cr_assert_eq(P("1.2.3.4/32").prefix, 32);
	cr_assert_eq(P("::/0").prefix, 0);
	cr_assert_eq(P("::1/128").prefix, 128);
}

Test(cidr_parse, host_bits_are_kept_as_written)
{
	struct bv_cidr c = P("127.0.0.17/28"), n = P("127.0.0.16/28");
	cr_assert_eq(c.addr[3], 17);
	cr_assert_eq(c.prefix, 28);
	cr_assert(cidr_has_host_bits(&c));
	cr_assert_not(cidr_has_host_bits(&n));
}

struct bad_text {
	char text[48];
};

ParameterizedTestParameters(cidr_parse, rejects_malformed_text)
{
	static struct bad_text bad[] = {
		{ "" }, { "1.2.3" }, { "1.2.3.4.5" }, { "256.0.0.1" }, { "01.2.3.4" },
		{ "1.2.3.04" }, { "00.0.0.0" }, { "1.2.3.4/33" }, { "1.2.3.4/08" },
		{ "1.2.3.4/00" }, { "1.2.3.4/+8" }, { "1.2.3.4/-1" }, { " 1.2.3.4" },
		{ "\t1.2.3.4" }, { "1.2.3.4/" }, { "1.2.3.4/32 " }, { "1.2.3.4 /8" },
		{ "1.2.3.4/ 8" }, { "1.2.3.4/8\n" }, { "1.2.3.4//8" }, { "1.2.3.4/8/8" },
		{ "1.2.3.4/1000" }, { "1.2.3.4/0x8" }, { "0x1.2.3.4" }, { "1..2.3" },
		{ "1.2.3.-4" }, { "a.b.c.d" }, { "/32" }, { "/" }, { "1.2.3.4%eth0" },
		{ "::1/129" }, { "::1/0128" }, { "::1/08" }, { "fe80::1%eth0" },
		{ "fe80::1%1/64" }, { "[::1]" }, { "::g" }, { ":::" }, { "1::2::3" },
		{ "1:2:3:4::5:6:7:8" }, { "1:2:3:4:5:6:7:8:9" }, { "00001::" },
		{ "::ffff:01.2.3.4" }, { "::ffff:1.2.3" }, { "1.2.3.4::" }, { " ::1" },
		{ "\x01\x7f\xff" }, { "\xef\xbc\x91.2.3.4" }, { "garbage" },
	};
	return cr_make_param_array(struct bad_text, bad, N(bad));
}

ParameterizedTest(struct bad_text *b, cidr_parse, rejects_malformed_text)
{
	struct bv_cidr c;
	cr_assert_eq(cidr_parse(b->text, &c, NULL), -EINVAL, "accepted \"%s\"", b->text);
}

Test(cidr_parse, rejects_null)
{
	struct bv_cidr c;
	cr_assert_eq(cidr_parse(NULL, &c, NULL), -EINVAL);
}

Test(cidr_parse, rejection_fills_error_and_leaves_output_alone)
{
	struct bv_cidr c = { .family = 12345 };
	struct bv_error err = { 0 };
	cr_assert_eq(cidr_parse("1.2.3.4/08", &c, &err), -EINVAL);
	cr_assert_eq(err.code, EINVAL);
	cr_assert(strstr(err.msg, "1.2.3.4/08"), "%s", err.msg);
	cr_assert_eq(c.family, 12345);
}

Test(cidr_parse, error_message_escapes_control_bytes)
{
	struct bv_cidr c;
	struct bv_error err = { 0 };
	cr_assert_eq(cidr_parse("1.2.3.4\x1b[2J", &c, &err), -EINVAL);
	cr_assert_null(strchr(err.msg, '\x1b'), "%s", err.msg);
	cr_assert(strstr(err.msg, "\\x1b"), "%s", err.msg);
}

Test(cidr_parse, ipv4_mapped_stays_ipv6)
{
	struct bv_cidr m = parsed_as("::ffff:127.0.0.1", AF_INET6, 128);
	cr_assert_eq(m.addr[10], 0xff);
	cr_assert_eq(m.addr[12], 127);
}

/* ---- networks, equality, containment ---- */

Test(cidr_network, clears_host_bits)
{
	struct bv_cidr c = P("127.0.0.17/28"), n;
	cidr_network(&c, &n);
	cr_assert_eq(n.family, AF_INET);
	cr_assert_eq(n.prefix, 28);
	cr_assert_eq(n.addr[3], 16);
	cr_assert_not(cidr_has_host_bits(&n));
}

Test(cidr_network, clears_host_bits_mid_byte_in_ipv6)
{
	struct bv_cidr c = P("2001:db8::ffff/113"), n;
	cidr_network(&c, &n);
	cr_assert_str_eq(fmt(&n), "2001:db8::8000/113");
}

Test(cidr_network, zero_prefix_is_all_zero)
{
	struct bv_cidr c = P("203.0.113.7/0"), n;
	cidr_network(&c, &n);
	cr_assert_str_eq(fmt(&n), "0.0.0.0/0");
}

Test(cidr_equal, host_bits_denote_the_network)
{
	struct bv_cidr a = P("127.0.0.17/28"), b = P("127.0.0.16/28");
	cr_assert(cidr_equal(&a, &b));
	cr_assert(cidr_equal(&b, &a));
}

Test(cidr_equal, host_bits_are_not_the_host)
{
	struct bv_cidr a = P("127.0.0.17/28"), b = P("127.0.0.17/32");
	cr_assert_not(cidr_equal(&a, &b));
	cr_assert_not(cidr_equal(&b, &a));
}

Test(cidr_equal, families_never_equal)
{
	struct bv_cidr a = P("0.0.0.0/0"), b = P("::/0");
	cr_assert_not(cidr_equal(&a, &b));
}

Test(cidr_contains, is_directional)
{
	struct bv_cidr lo8 = P("127.0.0.0/8"), a = P("127.0.0.16/32");
	cr_assert(cidr_contains(&lo8, &a));
	cr_assert_not(cidr_contains(&a, &lo8));
}

Test(cidr_contains, uses_the_network_not_the_written_address)
{
	struct bv_cidr wide = P("127.0.0.17/28"), a = P("127.0.0.30"), b = P("127.0.0.32");
	cr_assert(cidr_contains(&wide, &a));
	cr_assert_not(cidr_contains(&wide, &b));
}

Test(cidr_contains, v4_default_route_contains_every_v4_prefix)
{
	struct bv_cidr all = P("0.0.0.0/0");
	const char *v4[] = { "0.0.0.0/0", "0.0.0.0", "255.255.255.255", "10.0.0.0/8",
			     "127.0.0.17/28", "198.51.100.1" };
	for (size_t i = 0; i < N(v4); i++) {
		struct bv_cidr c = P(v4[i]);
		cr_assert(cidr_contains(&all, &c), "%s", v4[i]);
	}
}

Test(cidr_contains, v6_default_route_contains_v6_only)
{
	struct bv_cidr v6 = P("::/0"), v4 = P("0.0.0.0/0");
	struct bv_cidr a = P("198.51.100.1"), b = P("2001:db8::1"), m = P("::ffff:198.51.100.1");
	cr_assert(cidr_contains(&v6, &b));
	cr_assert(cidr_contains(&v6, &m));
	cr_assert_not(cidr_contains(&v6, &a));
	cr_assert_not(cidr_contains(&v4, &b));
}

Test(cidr_contains, v4_prefix_never_contains_ipv4_mapped)
{
	struct bv_cidr m = P("::ffff:127.0.0.1"), lo = P("127.0.0.0/8"), all = P("0.0.0.0/0");
	cr_assert_not(cidr_contains(&lo, &m));
	cr_assert_not(cidr_contains(&all, &m));
}

Test(cidr_loopback, inside_127_8_or_exactly_v6_one)
{
	const char *yes[] = { "127.0.0.16/32", "127.0.0.0/8", "127.255.255.255", "127.0.0.17/28", "::1" };
	for (size_t i = 0; i < N(yes); i++) {
		struct bv_cidr c = P(yes[i]);
		cr_assert(cidr_is_loopback(&c), "%s", yes[i]);
	}
}

Test(cidr_loopback, wider_or_outside_is_not)
{
	const char *no[] = { "0.0.0.0/0", "126.0.0.0/7", "127.0.0.1/7", "128.0.0.1", "10.0.0.1",
			     "::1/127", "::/0", "::", "::ffff:127.0.0.1", "::127.0.0.1" };
	for (size_t i = 0; i < N(no); i++) {
		struct bv_cidr c = P(no[i]);
		cr_assert_not(cidr_is_loopback(&c), "%s", no[i]);
	}
}

/* ---- formatting ---- */

Test(cidr_format, round_trips_canonical_text)
{
	const char *canon[] = { "192.0.2.10/32", "127.0.0.17/28", "0.0.0.0/0", "255.255.255.255/32",
				"::/0", "::1/128", "2001:db8::/32", "fd53:4d00::1/64", "fe80::/10",
				"::ffff:127.0.0.1/128", "1:2:3:4:5:6:7:8/128", "2001:db8:0:1::/64" };
	for (size_t i = 0; i < N(canon); i++) {
		struct bv_cidr c = P(canon[i]);
		cr_assert_str_eq(fmt(&c), canon[i]);
	}
}

Test(cidr_format, ipv6_is_printed_compressed_lowercase)
{
	struct bv_cidr a = P("2001:0DB8:0000:0000:0000:0000:0000:0001");
	cr_assert_str_eq(fmt(&a), "2001:db8::1/128");
}

Test(cidr_format, network_form_clears_host_bits)
{
	struct bv_cidr c = P("127.0.0.17/28");
	cr_assert_str_eq(fmt_network(&c), "127.0.0.16/28");
	cr_assert_str_eq(fmt(&c), "127.0.0.17/28");
}

Test(cidr_format, longest_text_fits)
{
	struct bv_cidr c = P("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
	char buf[CIDR_TEXT_MAX];
	cidr_format(&c, buf);
	cr_assert_str_eq(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

/* ---- sets ---- */

static void set_of(struct bv_cidr_set *s, const char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(cidr_set_add_text(s, items[i], NULL), 0, "%s", items[i]);
}

/* The set holds exactly these texts, in this order, as written. */
static void assert_set_is(const struct bv_cidr_set *s, const char *const *want, size_t n)
{
	cr_assert_eq(s->len, n, "have %zu entries, want %zu", s->len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(fmt(&s->items[i]), want[i]);
}

struct diff {
	struct bv_cidr_set actual, expected, missing, extra;
};

static void diff_run(struct diff *d, const char *const *have, size_t nh,
		     const char *const *want, size_t nw)
{
	memset(d, 0, sizeof *d);
	set_of(&d->actual, have, nh);
	set_of(&d->expected, want, nw);
	cr_assert_eq(cidr_set_diff(&d->actual, &d->expected, &d->missing, &d->extra, NULL), 0);
}

/* d reports exactly missing[0..nm) as missing and extra[0..ne) as extra. */
static void assert_diff_is(const struct diff *d, const char *const *missing, size_t nm,
			   const char *const *extra, size_t ne)
{
	assert_set_is(&d->missing, missing, nm);
	assert_set_is(&d->extra, extra, ne);
}

static void diff_free(struct diff *d)
{
	cidr_set_free(&d->actual);
	cidr_set_free(&d->expected);
	cidr_set_free(&d->missing);
	cidr_set_free(&d->extra);
}

Test(cidr_set, identical_sets_have_no_diff)
{
	const char *a[] = { "192.0.2.10/32", "2001:db8::1/128" };
	struct diff d;
	diff_run(&d, a, N(a), a, N(a));
	cr_assert_eq(d.missing.len + d.extra.len, 0);
	cr_assert(cidr_set_equal(&d.actual, &d.expected));
	diff_free(&d);
}

Test(cidr_set, reordered_and_duplicated_sets_are_equal)
{
	const char *x[] = { "192.0.2.10/32", "192.0.2.11/32" };
	const char *y[] = { "192.0.2.11", "192.0.2.10/32", "192.0.2.11/32" };
	struct diff d;
	diff_run(&d, y, N(y), x, N(x));
	cr_assert(cidr_set_equal(&d.actual, &d.expected));
	cr_assert(cidr_set_equal(&d.expected, &d.actual));
	cr_assert_eq(d.missing.len + d.extra.len, 0);
	diff_free(&d);
}

Test(cidr_set, an_extra_resolver_is_extra)
{
	const char *have[] = { "192.0.2.10/32", "198.51.100.53/32" }, *want[] = { "192.0.2.10/32" };
	const char *extra[] = { "198.51.100.53/32" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	assert_diff_is(&d, NULL, 0, extra, N(extra));
	cr_assert_not(cidr_set_equal(&d.actual, &d.expected));
	diff_free(&d);
}

Test(cidr_set, a_wider_prefix_is_both_missing_and_extra)
{
	const char *have[] = { "127.0.0.16/28" }, *want[] = { "127.0.0.16/32" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	assert_diff_is(&d, want, 1, have, 1);
	cr_assert_not(cidr_set_equal(&d.actual, &d.expected));
	diff_free(&d);
}

Test(cidr_set, host_bits_widen_a_32_and_are_reported_as_written)
{
	const char *have[] = { "127.0.0.17/28" }, *want[] = { "127.0.0.17/32" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	assert_diff_is(&d, want, 1, have, 1);
	diff_free(&d);
}

Test(cidr_set, a_missing_entry_is_missing)
{
	const char *have[] = { "192.0.2.10/32" }, *want[] = { "192.0.2.10/32", "192.0.2.11/32" };
	const char *missing[] = { "192.0.2.11/32" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	assert_diff_is(&d, missing, N(missing), NULL, 0);
	diff_free(&d);
}

Test(cidr_set, empty_actual_misses_everything)
{
	const char *want[] = { "192.0.2.10/32" };
	struct diff d;
	diff_run(&d, NULL, 0, want, N(want));
	assert_diff_is(&d, want, 1, NULL, 0);
	cr_assert_not(cidr_set_equal(&d.actual, &d.expected));
	diff_free(&d);
}

Test(cidr_set, empty_expected_makes_everything_extra)
{
	const char *have[] = { "192.0.2.10/32" };
	struct diff d;
	diff_run(&d, have, N(have), NULL, 0);
	assert_diff_is(&d, NULL, 0, have, 1);
	cr_assert_not(cidr_set_equal(&d.actual, &d.expected));
	diff_free(&d);
}

Test(cidr_set, diff_lists_a_repeated_extra_once)
{
	const char *have[] = { "10.0.0.1/8", "10.0.0.0/8", "10.9.9.9/8" }, *want[] = { "10.0.0.1" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	assert_set_is(&d.extra, have, 1);
	diff_free(&d);
}

Test(cidr_set, mapped_address_does_not_satisfy_a_v4_entry)
{
	const char *have[] = { "::ffff:192.0.2.10" }, *want[] = { "192.0.2.10" };
	struct diff d;
	diff_run(&d, have, N(have), want, N(want));
	cr_assert_eq(d.missing.len, 1);
	cr_assert_eq(d.extra.len, 1);
	diff_free(&d);
}

Test(cidr_set, has_matches_by_network)
{
	struct bv_cidr_set s = { 0 };
	struct bv_cidr net = P("127.0.0.16/28"), host = P("127.0.0.17/32");
	const char *items[] = { "127.0.0.17/28" };
	set_of(&s, items, N(items));
	cr_assert(cidr_set_has(&s, &net));
	cr_assert_not(cidr_set_has(&s, &host));
	cidr_set_free(&s);
}

Test(cidr_set, add_keeps_duplicates_and_grows)
{
	struct bv_cidr_set s = { 0 };
	struct bv_cidr c = P("192.0.2.10");
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(cidr_set_add(&s, &c, NULL), 0);
	cr_assert_eq(s.len, 1000);
	cr_assert_geq(s.cap, s.len);
	cr_assert(cidr_equal(&s.items[999], &c));
	cidr_set_free(&s);
	cr_assert_null(s.items);
	cr_assert_eq(s.len + s.cap, 0);
}

Test(cidr_set, add_text_rejects_and_leaves_set_alone)
{
	struct bv_cidr_set s = { 0 };
	struct bv_error err = { 0 };
	cr_assert_eq(cidr_set_add_text(&s, "1.2.3.4/08", &err), -EINVAL);
	cr_assert_eq(err.code, EINVAL);
	cr_assert_eq(s.len, 0);
	cidr_set_free(&s);
}
