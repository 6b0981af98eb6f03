/* test_version.c - `smolvm --version` parsing, comparison, and the behaviour thresholds
 * (create --from drops --allow-cidr before 1.8.0; virtio-net default and 127/8 in the
 * guest from 1.1.3; dns_filter_hosts from 0.5.0; gateway dials host loopback from 1.7.2). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "smolvm/version.h"

static struct bv_version V(const char *s)
{
	struct bv_version v;
	struct bv_error err = { 0 };
	cr_assert_eq(version_parse(s, &v, &err), 0, "\"%s\": %s", s, err.msg);
	cr_assert(v.known);
	return v;
}

static void expect_parts(const char *s, unsigned major, unsigned minor, unsigned patch)
{
	struct bv_version v = V(s);
	cr_assert_eq(v.major, major, "\"%s\"", s);
	cr_assert_eq(v.minor, minor, "\"%s\"", s);
	cr_assert_eq(v.patch, patch, "\"%s\"", s);
}

/* pred must decide want (true: holds, false: does not) for v. */
static void expect_decides(bool (*pred)(const struct bv_version *), struct bv_version v, bool want)
{
	if (want)
		cr_assert(pred(&v));
	else
		cr_assert_not(pred(&v));
}

/* ---- accepted forms ---- */

/* One version_parse test per row: text parses to major.minor.patch. */
#define PARSES_TO(name, text, major, minor, patch) \
	Test(version_parse, name) { expect_parts(text, major, minor, patch); }

PARSES_TO(smolvm_prefix, "smolvm 1.9.2", 1, 9, 2)
PARSES_TO(smolvm_prefix_with_newline, "smolvm 1.9.2\n", 1, 9, 2)
PARSES_TO(bare_version, "1.9.2", 1, 9, 2)
PARSES_TO(leading_v, "v0.8.0", 0, 8, 0)
PARSES_TO(leading_v_after_prefix, "smolvm v1.1.3", 1, 1, 3)
PARSES_TO(zeros, "0.0.0", 0, 0, 0)
PARSES_TO(largest_parts, "100000.100000.100000", 100000, 100000, 100000)
PARSES_TO(multi_digit_parts, "12.345.6789", 12, 345, 6789)

Test(version_parse, dash_suffix_is_a_prerelease)
{
	struct bv_version v = V("smolvm 1.9.3-dev");
	cr_assert_eq(v.patch, 3);
	cr_assert(v.prerelease);
}

Test(version_parse, plus_suffix_is_build_metadata)
{
	struct bv_version v = V("smolvm 1.9.3+a5df5001");
	cr_assert_eq(v.patch, 3);
	cr_assert_not(v.prerelease);
}

Test(version_parse, space_suffix_is_commit_and_date)
{
	struct bv_version v = V("smolvm 1.9.3 (a5df5001 2026-08-21)");
	cr_assert_eq(v.patch, 3);
	cr_assert_not(v.prerelease);
}

Test(version_parse, plain_release_is_not_a_prerelease)
{
	cr_assert_not(V("1.8.0").prerelease);
}

Test(version_parse, null_error_is_allowed)
{
	struct bv_version v;
	cr_assert_eq(version_parse("1.2.3", &v, NULL), 0);
	cr_assert_eq(version_parse("x", &v, NULL), -EINVAL);
}

/* ---- rejected forms ---- */

struct bad_text {
	char text[48];
};

ParameterizedTestParameters(version_parse, rejects)
{
	static struct bad_text bad[] = {
		{ "" }, { "smolvm" }, { "smolvm " }, { "smolvm 1.9" }, { "1.9" }, { "1" },
		{ "1.9." }, { "1..2" }, { ".1.2" }, { "1.9.x" }, { "x.9.2" }, { "1.9.2rc1" },
		{ "1.9.2.4" }, { "1.9.2_1" }, { "1.9.2\t" }, { "1.9.2\r\n" }, { "-1.2.3" },
		{ "+1.2.3" }, { "1.-2.3" }, { "1.+2.3" }, { "1.2.-3" }, { "1.2.+3" },
		{ " 1.2.3" }, { "smolvm  1.9.2" }, { "smolvm\t1.9.2" }, { "Smolvm 1.9.2" },
		{ "smolvm-1.9.2" }, { "smolvm1.9.2" }, { "V1.2.3" }, { "vv1.2.3" }, { "v 1.2.3" },
		{ "0x1.2.3" }, { "1.2.0x3" }, { "1 .2.3" }, { "1. 2.3" }, { "100001.0.0" },
		{ "0.100001.0" }, { "0.0.100001" }, { "4294967296.0.0" }, { "4294967297.0.0" },
		{ "99999999999999999999.0.0" }, { "1.2.99999999999999999999" }, { "version 1.2.3" },
	};
	return cr_make_param_array(struct bad_text, bad, sizeof bad / sizeof bad[0]);
}

ParameterizedTest(struct bad_text *b, version_parse, rejects)
{
	struct bv_version v;
	struct bv_error err = { 0 };
	cr_assert_eq(version_parse(b->text, &v, &err), -EINVAL, "accepted \"%s\"", b->text);
	cr_assert_eq(err.code, EINVAL);
	cr_assert_not(v.known, "a rejected text leaves the version unknown");
}

Test(version_parse, rejects_null)
{
	struct bv_version v;
	cr_assert_eq(version_parse(NULL, &v, NULL), -EINVAL);
	cr_assert_not(v.known);
}

Test(version_parse, rejection_leaves_a_known_version_unknown)
{
	struct bv_version v = V("1.9.2");
	cr_assert_eq(version_parse("1.9", &v, NULL), -EINVAL);
	cr_assert_not(v.known);
}

Test(version_parse, error_message_shows_control_bytes_as_question_marks)
{
	struct bv_version v;
	struct bv_error err = { 0 };
	cr_assert_eq(version_parse("smolvm \x1b[31m1.2", &v, &err), -EINVAL);
	cr_assert(strchr(err.msg, '\x1b') == NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "smolvm ?[31m1.2") != NULL, "%s", err.msg);
}

/* ---- comparison ---- */

/* version_cmp of the version parsed from text against major.minor.patch. */
static int cmp(const char *text, unsigned major, unsigned minor, unsigned patch)
{
	struct bv_version v = V(text);
	return version_cmp(&v, major, minor, patch);
}

/* The version parsed from text sorts after lo and before hi ({ major, minor, patch }). */
static void expect_between(const char *text, const unsigned lo[3], const unsigned hi[3])
{
	struct bv_version v = V(text);
	cr_assert_gt(version_cmp(&v, lo[0], lo[1], lo[2]), 0);
	cr_assert_lt(version_cmp(&v, hi[0], hi[1], hi[2]), 0);
}

Test(version_cmp, equal)
{
	cr_assert_eq(cmp("1.8.0", 1, 8, 0), 0);
}

Test(version_cmp, major_decides_first)
{
	expect_between("2.0.0", (unsigned[]){ 1, 99, 99 }, (unsigned[]){ 3, 0, 0 });
}

Test(version_cmp, minor_decides_second)
{
	expect_between("1.2.0", (unsigned[]){ 1, 1, 99 }, (unsigned[]){ 1, 3, 0 });
}

Test(version_cmp, patch_decides_last)
{
	expect_between("1.2.3", (unsigned[]){ 1, 2, 2 }, (unsigned[]){ 1, 2, 4 });
}

Test(version_cmp, numeric_not_lexical)
{
	cr_assert_gt(cmp("1.10.0", 1, 9, 9), 0);
}

Test(version_cmp, prerelease_comes_before_its_release)
{
	cr_assert_lt(cmp("1.8.0-rc1", 1, 8, 0), 0);
}

Test(version_cmp, prerelease_comes_after_the_previous_patch)
{
	cr_assert_gt(cmp("1.8.0-rc1", 1, 7, 99), 0);
}

Test(version_cmp, build_metadata_does_not_change_order)
{
	cr_assert_eq(cmp("1.8.0+abc", 1, 8, 0), 0);
}

/* ---- formatting ---- */

Test(version_format, known)
{
	char buf[32];
	struct bv_version v = V("smolvm 1.9.2 (abc)");
	cr_assert_str_eq(version_format(&v, buf, sizeof buf), "1.9.2");
}

Test(version_format, largest)
{
	char buf[32];
	struct bv_version v = V("100000.100000.100000");
	cr_assert_str_eq(version_format(&v, buf, sizeof buf), "100000.100000.100000");
}

Test(version_format, unknown)
{
	char buf[32];
	struct bv_version v = { 0 };
	cr_assert_str_eq(version_format(&v, buf, sizeof buf), "unknown");
}

/* ---- create --from drops --allow-cidr before 1.8.0 ---- */

Test(version_from_drops_policy, at_1_7_9)
{
	expect_decides(version_from_drops_policy, V("1.7.9"), true);
}

Test(version_from_drops_policy, not_at_1_8_0)
{
	expect_decides(version_from_drops_policy, V("1.8.0"), false);
}

Test(version_from_drops_policy, not_at_1_8_1)
{
	expect_decides(version_from_drops_policy, V("1.8.1"), false);
}

Test(version_from_drops_policy, at_1_8_0_prerelease)
{
	struct bv_version v = V("1.8.0-rc1");
	cr_assert(version_from_drops_policy(&v), "1.8.0-rc1 predates the fix");
}

Test(version_from_drops_policy, at_0_8_0)
{
	expect_decides(version_from_drops_policy, V("0.8.0"), true);
}

Test(version_from_drops_policy, not_at_2_0_0)
{
	expect_decides(version_from_drops_policy, V("2.0.0"), false);
}

/* ---- virtio-net default from 1.1.3 ---- */

Test(version_policy_defaults_virtio, not_at_1_1_2)
{
	expect_decides(version_policy_defaults_virtio, V("1.1.2"), false);
}

Test(version_policy_defaults_virtio, at_1_1_3)
{
	expect_decides(version_policy_defaults_virtio, V("1.1.3"), true);
}

Test(version_policy_defaults_virtio, at_1_1_4)
{
	expect_decides(version_policy_defaults_virtio, V("1.1.4"), true);
}

Test(version_policy_defaults_virtio, not_at_1_1_3_prerelease)
{
	expect_decides(version_policy_defaults_virtio, V("1.1.3-rc1"), false);
}

Test(version_policy_defaults_virtio, not_at_1_0_9)
{
	expect_decides(version_policy_defaults_virtio, V("1.0.9"), false);
}

/* ---- 127/8 stays in the guest from 1.1.3 ---- */

Test(version_loopback_stays_in_guest, not_at_1_1_2)
{
	expect_decides(version_loopback_stays_in_guest, V("1.1.2"), false);
}

Test(version_loopback_stays_in_guest, at_1_1_3)
{
	expect_decides(version_loopback_stays_in_guest, V("1.1.3"), true);
}

Test(version_loopback_stays_in_guest, at_1_2_0)
{
	expect_decides(version_loopback_stays_in_guest, V("1.2.0"), true);
}

Test(version_loopback_stays_in_guest, not_at_1_1_3_prerelease)
{
	expect_decides(version_loopback_stays_in_guest, V("1.1.3-dev"), false);
}

/* ---- dns_filter_hosts from 0.5.0 ---- */

Test(version_has_dns_filter_hosts, not_at_0_4_9)
{
	expect_decides(version_has_dns_filter_hosts, V("0.4.9"), false);
}

Test(version_has_dns_filter_hosts, at_0_5_0)
{
	expect_decides(version_has_dns_filter_hosts, V("0.5.0"), true);
}

Test(version_has_dns_filter_hosts, at_0_5_1)
{
	expect_decides(version_has_dns_filter_hosts, V("0.5.1"), true);
}

Test(version_has_dns_filter_hosts, not_at_0_5_0_prerelease)
{
	expect_decides(version_has_dns_filter_hosts, V("0.5.0-rc1"), false);
}

Test(version_has_dns_filter_hosts, at_1_0_0)
{
	expect_decides(version_has_dns_filter_hosts, V("1.0.0"), true);
}

/* ---- the gateway dials host loopback from 1.7.2 ---- */

Test(version_gateway_dials_host_loopback, not_at_1_7_1)
{
	expect_decides(version_gateway_dials_host_loopback, V("1.7.1"), false);
}

Test(version_gateway_dials_host_loopback, at_1_7_2)
{
	expect_decides(version_gateway_dials_host_loopback, V("1.7.2"), true);
}

Test(version_gateway_dials_host_loopback, at_1_7_3)
{
	expect_decides(version_gateway_dials_host_loopback, V("1.7.3"), true);
}

Test(version_gateway_dials_host_loopback, not_at_1_7_2_prerelease)
{
	expect_decides(version_gateway_dials_host_loopback, V("1.7.2-rc1"), false);
}

Test(version_gateway_dials_host_loopback, not_at_1_6_9)
{
	expect_decides(version_gateway_dials_host_loopback, V("1.6.9"), false);
}

/* ---- machine cp --mode from 1.9.0; the data dir at create from 1.0.2; DNS over TCP at
 * the gateway from 1.2.5 ---- */

Test(version_cp_has_mode, not_at_1_8_3)
{
	expect_decides(version_cp_has_mode, V("1.8.3"), false);
}

Test(version_cp_has_mode, at_1_9_0)
{
	expect_decides(version_cp_has_mode, V("1.9.0"), true);
}

Test(version_data_dir_at_create, not_at_0_9_9)
{
	expect_decides(version_data_dir_at_create, V("0.9.9"), false);
}

Test(version_data_dir_at_create, at_1_0_0)
{
	expect_decides(version_data_dir_at_create, V("1.0.0"), true);
}

Test(version_gateway_serves_dns_tcp, not_at_1_2_4)
{
	expect_decides(version_gateway_serves_dns_tcp, V("1.2.4"), false);
}

Test(version_gateway_serves_dns_tcp, at_1_2_5)
{
	expect_decides(version_gateway_serves_dns_tcp, V("1.2.5"), true);
}

/* ---- the egress denial log from 1.8.1 ---- */

Test(version_has_denial_log, not_at_1_8_0)
{
	expect_decides(version_has_denial_log, V("1.8.0"), false);
}

Test(version_has_denial_log, at_1_8_1)
{
	expect_decides(version_has_denial_log, V("1.8.1"), true);
}

/* ---- an unknown version decides nothing ---- */

Test(version_unknown, from_drops_policy_is_false)
{
	expect_decides(version_from_drops_policy, (struct bv_version){ 0 }, false);
}

Test(version_unknown, policy_defaults_virtio_is_false)
{
	expect_decides(version_policy_defaults_virtio, (struct bv_version){ 0 }, false);
}

Test(version_unknown, loopback_stays_in_guest_is_false)
{
	expect_decides(version_loopback_stays_in_guest, (struct bv_version){ 0 }, false);
}

Test(version_unknown, has_dns_filter_hosts_is_false)
{
	expect_decides(version_has_dns_filter_hosts, (struct bv_version){ 0 }, false);
}

Test(version_unknown, gateway_dials_host_loopback_is_false)
{
	expect_decides(version_gateway_dials_host_loopback, (struct bv_version){ 0 }, false);
}

Test(version_unknown, numbers_without_known_still_decide_nothing)
{
	struct bv_version v = { .major = 1, .minor = 9, .patch = 2, .known = false };
	cr_assert_not(version_from_drops_policy(&v));
	cr_assert_not(version_policy_defaults_virtio(&v));
	cr_assert_not(version_loopback_stays_in_guest(&v));
	cr_assert_not(version_has_dns_filter_hosts(&v));
	cr_assert_not(version_gateway_dials_host_loopback(&v));
}

Test(version_unknown, a_failed_parse_decides_nothing)
{
	struct bv_version v;
	cr_assert_eq(version_parse("smolvm 0.4", &v, NULL), -EINVAL);
	cr_assert_not(version_from_drops_policy(&v));
	cr_assert_not(version_has_dns_filter_hosts(&v));
}
