/* Policy parsing, and the built-in policy's shape (parsed only: no test sends traffic to
 * its real-world addresses). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "egress/policy.h"

static int parse(const char *s, struct policy *p)
{
	return policy_parse(s, strlen(s), p, NULL);
}

Test(policy, parses_controls_and_classes)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":7001}],"
			   "\"denied\":{\"gw\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1,\"sink_addr\":\"127.0.0.1\"}]}}", &p), 0);
	cr_assert_eq(p.n_dests, 2);
	cr_assert(p.dests[0].control);
	cr_assert_str_eq(p.dests[0].sink_addr, "192.0.2.1");
	cr_assert_str_eq(p.dests[1].cls, "gw");
	cr_assert_str_eq(p.dests[1].sink_addr, "127.0.0.1");
	policy_free(&p);
}

Test(policy, a_random_port_is_drawn_per_run_in_its_range_and_never_shared)
{
	struct policy p;
	char text[4096];
	int n = snprintf(text, sizeof text, "{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":7001}],\"denied\":{\"x\":[");
	for (int i = 0; i < 60; i++)
		n += snprintf(text + n, sizeof text - (size_t)n, "%s{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":\"random\"}", i ? "," : "");
	snprintf(text + n, sizeof text - (size_t)n, "]}}");
	cr_assert_eq(parse(text, &p), 0);
	bool differ = false;
	for (size_t i = 1; i < p.n_dests; i++) {
		cr_assert(p.dests[i].random_port);
		cr_assert(p.dests[i].port >= POLICY_RANDOM_LO && p.dests[i].port <= POLICY_RANDOM_HI);
		for (size_t j = 1; j < i; j++)
			cr_assert_neq(p.dests[i].port, p.dests[j].port, "two sinks on 192.0.2.9:%u", p.dests[i].port);
		differ |= p.dests[i].port != p.dests[1].port;
	}
	cr_assert(differ);
	policy_free(&p);
}

Test(policy, a_control_cannot_have_a_random_port)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":\"random\"}],"
			   "\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}", &p), -EINVAL);
	policy_free(&p);
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],"
			   "\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":\"any\"}]}}", &p), -EINVAL);
	policy_free(&p);
}

Test(policy, refuses_a_policy_without_a_control)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[],\"denied\":{}}", &p), -EINVAL);
	policy_free(&p);
}

Test(policy, refuses_a_policy_that_denies_nothing)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":7001}],\"denied\":{}}", &p), -EINVAL);
	policy_free(&p);
}

Test(policy, refuses_bad_destinations)
{
	const char *bad[] = {
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"icmp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"example.com\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":0}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1.5}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":0,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"deadline_ms\":9,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct policy p;
		cr_assert_eq(parse(bad[i], &p), -EINVAL, "accepted %s", bad[i]);
		policy_free(&p);
	}
}

Test(policy, builtin_policy_parses_with_the_bottles_destination)
{
	struct policy p;
	struct bv_error err = { 0 };
	cr_assert_eq(policy_load_builtin("tcp:192.0.2.10:443", NULL, &p, &err), 0, "%s", err.msg);
	cr_assert(p.dests[0].control);
	cr_assert_str_eq(p.dests[0].addr, "192.0.2.10");
	size_t gateway = 0;
	for (size_t i = 0; i < p.n_dests; i++)
		gateway += strcmp(p.dests[i].cls, "host-loopback-gateway") == 0 &&
			   (strcmp(p.dests[i].sink_addr, "127.0.0.1") == 0 || strcmp(p.dests[i].sink_addr, "::1") == 0);
	cr_assert_eq(gateway, 3, "the gateway path is caught by sinks on host loopback");
	policy_free(&p);
}

/* How many of the builtin's destinations of this kind are accepted gaps, for version text. */
static size_t builtin_gaps(const char *version, enum probe_kind kind)
{
	struct policy p;
	struct bv_error err = { 0 };
	struct bv_version v = { 0 };
	if (version)
		cr_assert_eq(version_parse(version, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(policy_load_builtin("tcp:192.0.2.10:443", version ? &v : NULL, &p, &err), 0, "%s", err.msg);
	size_t n = 0;
	for (size_t i = 0; i < p.n_dests; i++)
		n += p.dests[i].kind == kind && p.dests[i].accept_gap;
	policy_free(&p);
	return n;
}

Test(policy, builtin_on_a_virtio_smolvm_accepts_every_udp53_as_the_carveout)
{
	cr_assert_eq(builtin_gaps("smolvm 1.9.3", PROBE_DNS_UDP), 5);
	cr_assert_eq(builtin_gaps("smolvm 1.9.3", PROBE_DNS_TCP), 3, "TCP/53 to the gateway (v4, v6, resolv) only");
}

Test(policy, builtin_on_tsi_or_unknown_smolvm_accepts_no_gap)
{
	cr_assert_eq(builtin_gaps("smolvm 0.8.0", PROBE_DNS_UDP), 0);
	cr_assert_eq(builtin_gaps(NULL, PROBE_DNS_UDP), 0);
}

Test(policy, builtin_before_1_2_5_keeps_dns_over_tcp_denied)
{
	cr_assert_eq(builtin_gaps("smolvm 1.2.4", PROBE_DNS_UDP), 5);
	cr_assert_eq(builtin_gaps("smolvm 1.2.4", PROBE_DNS_TCP), 0);
}

Test(policy, builtin_policy_needs_a_destination)
{
	struct policy p;
	cr_assert_eq(policy_load_builtin(NULL, NULL, &p, NULL), -EINVAL);
	cr_assert_eq(policy_load_builtin("192.0.2.10", NULL, &p, NULL), -EINVAL);
}

static const char no_control[] =
	"{\"deadline_ms\":500,\"controls\":[],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}";

Test(policy, a_file_without_controls_is_refused_alone)
{
	struct policy p;
	cr_assert_eq(policy_parse_with(no_control, strlen(no_control), NULL, &p, NULL), -EINVAL);
	policy_free(&p);
}

Test(policy, allow_dest_supplies_the_control_without_a_sink)
{
	struct policy p;
	struct bv_error err = { 0 };
	cr_assert_eq(policy_parse_with(no_control, strlen(no_control), "tcp:127.0.0.16:8888", &p, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(p.n_dests, 2);
	cr_assert(p.dests[1].control);
	cr_assert_str_eq(p.dests[1].addr, "127.0.0.16");
	cr_assert_eq(p.dests[1].port, 8888);
	cr_assert(!p.dests[1].sink, "the bundle is a real service: no sink of ours on its port");
	policy_free(&p);
}

Test(policy, a_malformed_allow_dest_is_refused)
{
	struct policy p;
	cr_assert_eq(policy_parse_with(no_control, strlen(no_control), "127.0.0.16:8888", &p, NULL), -EINVAL);
	policy_free(&p);
	cr_assert_eq(policy_parse_with(no_control, strlen(no_control), "tcp:not-an-ip:1", &p, NULL), -EINVAL);
	policy_free(&p);
}

#define ONE_CLASS "\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}]," \
		  "\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}"

Test(policy, tries_and_pressure_default_to_once_and_none)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500," ONE_CLASS, &p), 0);
	cr_assert_eq(p.attempts, 1);
	cr_assert_eq(p.retry_gap_ms, 100);
	cr_assert_eq(p.flow_pressure, 0);
	policy_free(&p);
	cr_assert_eq(parse("{\"deadline_ms\":500,\"attempts\":3,\"retry_gap_ms\":50,\"flow_pressure\":200," ONE_CLASS, &p), 0);
	cr_assert_eq(p.attempts, 3);
	cr_assert_eq(p.retry_gap_ms, 50);
	cr_assert_eq(p.flow_pressure, 200);
	policy_free(&p);
}

Test(policy, refuses_tries_past_the_deadline_and_bad_load)
{
	const char *bad[] = {
		"{\"deadline_ms\":500,\"attempts\":0," ONE_CLASS,
		"{\"deadline_ms\":500,\"attempts\":6," ONE_CLASS,
		"{\"deadline_ms\":500,\"attempts\":1.5," ONE_CLASS,
		"{\"deadline_ms\":500,\"attempts\":2,\"retry_gap_ms\":9," ONE_CLASS,
		"{\"deadline_ms\":500,\"attempts\":2,\"retry_gap_ms\":500," ONE_CLASS,
		"{\"deadline_ms\":500,\"attempts\":\"2\"," ONE_CLASS,
		"{\"deadline_ms\":500,\"flow_pressure\":1001," ONE_CLASS,
		"{\"deadline_ms\":500,\"flow_pressure\":-1," ONE_CLASS,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct policy p;
		cr_assert_eq(parse(bad[i], &p), -EINVAL, "accepted %s", bad[i]);
		policy_free(&p);
	}
}

Test(policy, builtin_tries_twice_under_half_of_smolvms_flow_table)
{
	struct policy p;
	struct bv_error err = { 0 };
	cr_assert_eq(policy_load_builtin("tcp:192.0.2.10:443", NULL, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.attempts, 2);
	cr_assert_eq(p.flow_pressure, 128, "below smolvm's 256 TCP flows, or denials go unrecorded");
	size_t v6 = 0;
	for (size_t i = 0; i < p.n_dests; i++)
		v6 += strcmp(p.dests[i].cls, "ipv6") == 0;
	cr_assert_geq(v6, 3, "IPv6 beyond one address");
	policy_free(&p);
}

Test(policy, the_pressure_flows_take_a_third_of_the_deadline_from_the_tries)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"attempts\":2,\"retry_gap_ms\":400," ONE_CLASS, &p), 0);
	policy_free(&p);
	cr_assert_eq(parse("{\"deadline_ms\":500,\"attempts\":2,\"retry_gap_ms\":400,\"flow_pressure\":10," ONE_CLASS, &p),
		     -EINVAL, "the second try would start after the 333 ms the pressure leaves");
	policy_free(&p);
}

Test(policy, builtin_takes_no_pressure_without_a_tcp_destination)
{
	struct policy p;
	struct bv_error err = { 0 };
	cr_assert_eq(policy_load_builtin("udp:192.0.2.10:4433", NULL, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.flow_pressure, 0);
	policy_free(&p);
}

Test(policy, an_echo_is_denied_only_and_has_no_port)
{
	struct policy p;
	cr_assert_eq(parse("{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],"
			   "\"denied\":{\"icmp\":[{\"proto\":\"icmp\",\"addr\":\"198.51.100.1\"},{\"proto\":\"icmp\",\"addr\":\"198.51.100.1\"}]}}", &p), 0);
	cr_assert_eq(p.dests[1].kind, PROBE_ICMP);
	cr_assert_eq(p.dests[1].port, 0);
	policy_free(&p);
	const char *bad[] = {
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"icmp\",\"addr\":\"192.0.2.1\"}],\"denied\":{\"x\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"icmp\",\"addr\":\"192.0.2.9\",\"port\":1}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"icmp\",\"addr\":\"resolv\"}]}}",
		"{\"deadline_ms\":500,\"controls\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1\",\"port\":1}],\"denied\":{\"x\":[{\"proto\":\"icmp\",\"addr\":\"::ffff:192.0.2.9\"}]}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(parse(bad[i], &p), -EINVAL, "accepted %s", bad[i]);
		policy_free(&p);
	}
}
