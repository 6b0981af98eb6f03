/* What `bottle-launch up` decides before anything changes: smolvm's argv per version,
 * the one-address allowlist, and the refusals of setups known to be broken. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "launch/plan.h"

static struct bv_version ver(unsigned a, unsigned b, unsigned c)
{
	struct bv_version v = { .major = a, .minor = b, .patch = c, .known = true };
	return v;
}

static void joined(const char *const argv[], char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; argv[i]; i++) {
		strncat(out, i ? " " : "", cap - strlen(out) - 1);
		strncat(out, argv[i], cap - strlen(out) - 1);
	}
}

/* At v, r's create argv (allowing allow) and smolvm's delete argv, joined, read create and del. */
static void expect_create_delete(const struct launch_req *r, struct bv_version v, const char *allow,
				 const char *create, const char *del)
{
	const char *argv[LAUNCH_ARGV_MAX];
	char s[256];
	launch_create_argv(r, &v, allow, NULL, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, create);
	launch_delete_argv("smolvm", r->name, &v, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, del, "always -f: without it smolvm deletes nothing");
}

Test(launch_plan, create_takes_the_name_positionally_before_1_0_2)
{
	struct launch_req r = { .name = "b", .from = "p.smolmachine", .smolvm = "smolvm" };
	expect_create_delete(&r, ver(0, 8, 0), "127.0.0.16/32",
			     "smolvm machine create b --from p.smolmachine --net --allow-cidr 127.0.0.16/32",
			     "smolvm machine delete b -f");
}

Test(launch_plan, create_and_delete_use_name_flags_from_1_0_2)
{
	struct launch_req r = { .name = "b", .image = "alpine", .smolvm = "/x/smolvm" };
	expect_create_delete(&r, ver(1, 0, 2), "192.0.2.10/32",
			     "/x/smolvm machine create --name b --image alpine --net --allow-cidr 192.0.2.10/32",
			     "smolvm machine delete --name b -f");
}

Test(launch_plan, verify_argv_carries_the_control_and_test_paths)
{
	struct launch_req r = { .name = "b", .smolvm = "smolvm", .verify = "bv", .kvm_device = "/k" };
	const char *argv[LAUNCH_ARGV_MAX];
	char s[256];
	launch_verify_argv(&r, "127.0.0.16/32", "tcp:127.0.0.16:8888", NULL, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, "bv all b --expect 127.0.0.16/32 --smolvm smolvm --policy builtin --full-window --allow-dest tcp:127.0.0.16:8888 --kvm-device /k");
}

Test(launch_plan, a_guarded_bottle_is_created_with_dns_and_verified_against_its_guard)
{
	struct launch_req r = { .name = "b", .smolvm = "smolvm", .verify = "bv", .from = "p.smolmachine" };
	struct dnsguard g = { .addr = "127.83.7.53", .log = "/l/dnsguard-b.log" };
	struct bv_version v = { .known = true, .major = 1, .minor = 9, .patch = 3 };
	const char *argv[LAUNCH_ARGV_MAX];
	char s[512];
	launch_create_argv(&r, &v, "192.0.2.10/32", g.addr, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, "smolvm machine create --name b --from p.smolmachine --net --allow-cidr 192.0.2.10/32 --dns 127.83.7.53");
	launch_verify_argv(&r, "192.0.2.10/32", NULL, &g, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, "bv all b --expect 192.0.2.10/32 --smolvm smolvm --policy builtin --full-window --dns-guard 127.83.7.53 --dns-guard-log /l/dnsguard-b.log");
}

Test(launch_plan, the_watch_stops_on_a_finding_and_knows_the_guard_and_the_interval)
{
	struct launch_req r = { .name = "b", .smolvm = "smolvm", .verify = "bv", .watch = true, .watch_interval = "300",
				.db = "/d/smolvm.db" };
	struct dnsguard g = { .addr = "127.83.7.53", .log = "/l/dnsguard-b.log" };
	const char *argv[LAUNCH_ARGV_MAX];
	char s[512];
	launch_watch_argv(&r, "192.0.2.10/32", &g, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, "bv watch b --expect 192.0.2.10/32 --smolvm smolvm --stop-on-finding --interval 300 --db /d/smolvm.db --dns-guard 127.83.7.53");
	launch_watch_argv(&(struct launch_req){ .name = "b", .smolvm = "s", .verify = "bv" }, "192.0.2.10/32", NULL, argv);
	joined(argv, s, sizeof s);
	cr_assert_str_eq(s, "bv watch b --expect 192.0.2.10/32 --smolvm s --stop-on-finding");
}

Test(launch_plan, require_dns_guard_refuses_a_smolvm_without_dns)
{
	struct launch_req r = { .name = "b", .require_dns_guard = true };
	struct bv_version old = { .known = true, .major = 1, .minor = 2, .patch = 4 };
	struct bv_version new = { .known = true, .major = 1, .minor = 2, .patch = 5 };
	struct bv_cidr c;
	struct bv_error err = { 0 };
	cr_assert_eq(launch_allowlist("192.0.2.10/32", &c, NULL), 0);
	cr_assert_eq(launch_refusal(&r, &old, &c, &err), -EPERM);
	cr_assert(strstr(err.msg, ">= 1.2.5"));
	cr_assert_eq(launch_refusal(&r, &new, &c, &err), 0);
	cr_assert(launch_wants_guard(&r, &new));
	r.no_dns_guard = true;
	cr_assert_not(launch_wants_guard(&r, &new));
}

Test(launch_plan, allowlist_is_exactly_one_address)
{
	struct bv_cidr c;
	cr_assert_eq(launch_allowlist("192.0.2.10", &c, NULL), 0);
	cr_assert_eq(c.prefix, 32);
	cr_assert_eq(launch_allowlist("192.0.2.0/24", &c, NULL), -EPERM);
	cr_assert_eq(launch_allowlist("2001:db8::1/64", &c, NULL), -EPERM);
	cr_assert_eq(launch_allowlist("nonsense", &c, NULL), -EINVAL);
}

Test(launch_plan, a_loopback_allowlist_is_refused_where_127_stays_in_the_guest)
{
	struct launch_req r = { .name = "b", .from = "p" };
	struct bv_cidr c;
	struct bv_error err = { 0 };
	cr_assert_eq(launch_allowlist("127.0.0.16/32", &c, NULL), 0);
	struct bv_version old = ver(0, 8, 0), new = ver(1, 1, 3);
	cr_assert_eq(launch_refusal(&r, &old, &c, NULL), 0, "TSI: a guest 127.x reaches the host");
	cr_assert_eq(launch_refusal(&r, &new, &c, &err), -EPERM);
	cr_assert(strstr(err.msg, "guest's own loopback"), "%s", err.msg);
	cr_assert_eq(launch_allowlist("192.0.2.10/32", &c, NULL), 0);
	cr_assert_eq(launch_refusal(&r, &new, &c, NULL), 0);
}

Test(launch_plan, an_image_with_a_policy_is_refused_on_virtio_versions)
{
	struct launch_req r = { .name = "b", .image = "alpine", .policy = "p.json" };
	struct bv_cidr c;
	cr_assert_eq(launch_allowlist("192.0.2.10/32", &c, NULL), 0);
	struct bv_version v = ver(1, 9, 2);
	cr_assert_eq(launch_refusal(&r, &v, &c, NULL), -EPERM);
}
