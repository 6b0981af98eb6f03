/* smolvm --version parsing and the behaviour thresholds (research/smolvm.md §0). */
#include <criterion/criterion.h>
#include <errno.h>

#include "version.h"

static struct bv_version V(const char *s)
{
	struct bv_version v;
	cr_assert_eq(version_parse(s, &v, NULL), 0, "%s", s);
	cr_assert(v.known);
	return v;
}

Test(version, parses_smolvm_output_forms)
{
	struct bv_version v = V("smolvm 1.9.2\n");
	cr_assert_eq(v.major, 1);
	cr_assert_eq(v.minor, 9);
	cr_assert_eq(v.patch, 2);
	V("1.9.2");
	V("v0.8.0");
	V("smolvm 1.9.3-dev");
	V("smolvm 1.9.3+a5df5001");
	V("smolvm 1.9.3 (a5df5001 2026-08-21)");
}

Test(version, rejects_non_versions)
{
	const char *bad[] = { "", "smolvm", "smolvm 1.9", "1.9.x", "1.9.2rc1", "-1.2.3",
			      "1.2.3.4x", "999999999.0.0", "smolvm  1.9.2", "1..2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct bv_version v;
		cr_assert_eq(version_parse(bad[i], &v, NULL), -EINVAL, "accepted \"%s\"", bad[i]);
	}
}

Test(version, compares_component_wise)
{
	struct bv_version v = V("1.10.0");
	cr_assert_gt(version_cmp(&v, 1, 9, 9), 0);
	cr_assert_eq(version_cmp(&v, 1, 10, 0), 0);
	cr_assert_lt(version_cmp(&v, 2, 0, 0), 0);
}

Test(version, from_drops_policy_before_1_8_0)
{
	struct bv_version a = V("1.7.9"), b = V("1.8.0"), c = V("0.8.0");
	cr_assert(version_from_drops_policy(&a));
	cr_assert_not(version_from_drops_policy(&b));
	cr_assert(version_from_drops_policy(&c));
}

Test(version, virtio_default_and_loopback_in_guest_from_1_1_3)
{
	struct bv_version a = V("1.1.2"), b = V("1.1.3");
	cr_assert_not(version_policy_defaults_virtio(&a));
	cr_assert(version_policy_defaults_virtio(&b));
	cr_assert_not(version_loopback_stays_in_guest(&a));
	cr_assert(version_loopback_stays_in_guest(&b));
}

Test(version, dns_filter_hosts_from_0_5_0)
{
	struct bv_version a = V("0.4.9"), b = V("0.5.0");
	cr_assert_not(version_has_dns_filter_hosts(&a));
	cr_assert(version_has_dns_filter_hosts(&b));
}

Test(version, gateway_dials_host_loopback_from_1_7_2)
{
	struct bv_version a = V("1.7.1"), b = V("1.7.2");
	cr_assert_not(version_gateway_dials_host_loopback(&a));
	cr_assert(version_gateway_dials_host_loopback(&b));
}

Test(version, unknown_version_answers_false_everywhere)
{
	struct bv_version v = { 0 };
	char buf[32];
	cr_assert_not(version_from_drops_policy(&v));
	cr_assert_not(version_policy_defaults_virtio(&v));
	cr_assert_not(version_loopback_stays_in_guest(&v));
	cr_assert_not(version_has_dns_filter_hosts(&v));
	cr_assert_str_eq(version_format(&v, buf, sizeof buf), "unknown");
}

Test(version, a_prerelease_comes_before_its_release)
{
	struct bv_version rc = V("smolvm 1.8.0-rc1"), rel = V("1.8.0");
	cr_assert(rc.prerelease);
	cr_assert(version_from_drops_policy(&rc), "1.8.0-rc1 predates the fix");
	cr_assert_not(version_from_drops_policy(&rel));
}
