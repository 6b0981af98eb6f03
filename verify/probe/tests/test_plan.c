/* The probe plan format: what parses, what is refused. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "probe/plan.h"

static int parse(const char *s, struct plan *p)
{
	char err[160];
	return plan_parse(s, strlen(s), p, err, sizeof err);
}

#define HEAD "BV-PLAN 1\nrun r1 deadline_ms 500\n"

Test(plan, parses_every_kind_and_family)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "probe a tcp 127.0.0.1 80\nprobe b udp ::1 53\n"
			   "probe c dns-udp 127.0.0.1 53 c.r1.exfil.test\n"
			   "probe d dns-tcp ::ffff:127.0.0.1 53 d.r1.exfil.test\nend 4\n", &p), 0);
	cr_assert_eq(p.n_probes, 4);
	cr_assert_str_eq(p.run, "r1");
	cr_assert_eq(p.deadline_ms, 500);
	cr_assert_eq(p.probes[0].kind, PROBE_TCP);
	cr_assert_eq(p.probes[1].addr.ss_family, AF_INET6);
	cr_assert_str_eq(p.probes[3].qname, "d.r1.exfil.test");
	plan_free(&p);
}

Test(plan, end_must_match_the_count)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "probe a tcp 127.0.0.1 80\nend 2\n", &p), -1);
	plan_free(&p);
}

Test(plan, refuses_truncation_and_trailing_bytes)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "probe a tcp 127.0.0.1 80\n", &p), -1);
	plan_free(&p);
	cr_assert_eq(parse(HEAD "probe a tcp 127.0.0.1 80\nend 1", &p), -1);
	plan_free(&p);
	cr_assert_eq(parse(HEAD "end 0\nprobe a tcp 127.0.0.1 80\n", &p), -1);
	plan_free(&p);
}

Test(plan, refuses_bad_fields)
{
	const char *bad[] = {
		HEAD "probe a tcp 127.0.0.1 0\nend 1\n",         HEAD "probe a tcp 127.0.0.1 65536\nend 1\n",
		HEAD "probe a tcp localhost 80\nend 1\n",        HEAD "probe a/b tcp 127.0.0.1 80\nend 1\n",
		HEAD "probe a icmp 127.0.0.1 80\nend 1\n",       HEAD "probe a dns-udp 127.0.0.1 53\nend 1\n",
		HEAD "probe a dns-udp 127.0.0.1 53 a..b\nend 1\n", HEAD "probe a tcp 127.0.0.1 80 x\nend 1\n",
		HEAD "probe a tcp 127.0.0.1 080\nend 1\n",
		"BV-PLAN 2\nrun r deadline_ms 5\nend 0\n",      "BV-PLAN 1\nrun r deadline_ms 0\nend 0\n",
		"BV-PLAN 1\nrun r deadline_ms 120001\nend 0\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct plan p;
		cr_assert_eq(parse(bad[i], &p), -1, "accepted: %s", bad[i]);
		plan_free(&p);
	}
}

Test(plan, refuses_a_nul_byte)
{
	struct plan p;
	char err[80];
	const char s[] = HEAD "end 0\n\0";
	cr_assert_eq(plan_parse(s, sizeof s - 1, &p, err, sizeof err), -1);
	plan_free(&p);
}

Test(plan, error_names_the_line)
{
	struct plan p;
	char err[160];
	const char *s = HEAD "probe a tcp 127.0.0.1 80\nprobe b tcp nowhere 80\nend 2\n";
	cr_assert_eq(plan_parse(s, strlen(s), &p, err, sizeof err), -1);
	cr_assert(strstr(err, "line 4"), "%s", err);
	plan_free(&p);
}

Test(plan, parses_http_and_git_conversations)
{
	const char *s = "BV-PLAN 1\nrun r1 deadline_ms 500\n"
			"probe h http 127.0.0.1 8888 474554\n"
			"probe g git 127.0.0.1 9418 /gate.git b-1 6869\nend 2\n";
	struct plan p;
	char err[160];
	cr_assert_eq(plan_parse(s, strlen(s), &p, err, sizeof err), 0, "%s", err);
	cr_assert_eq(p.probes[0].kind, PROBE_HTTP);
	cr_assert_eq(p.probes[0].data_len, 3);
	cr_assert_eq(memcmp(p.probes[0].data, "GET", 3), 0);
	cr_assert_str_eq(p.probes[1].repo, "/gate.git");
	cr_assert_str_eq(p.probes[1].ref, "b-1");
	plan_free(&p);
}

Test(plan, refuses_bad_conversations)
{
	static const char *bad[] = {
		"probe h http 127.0.0.1 8888 47455\n",            /* odd hex */
		"probe h http 127.0.0.1 8888 47G5\n",             /* not hex */
		"probe h http 127.0.0.1 8888 4745 extra\n",       /* extra word */
		"probe g git 127.0.0.1 9418 gate.git b 6869\n",   /* repo not absolute */
		"probe g git 127.0.0.1 9418 /../etc b 6869\n",    /* repo escapes */
		"probe g git 127.0.0.1 9418 /g.git b/c 6869\n",   /* ref not a token */
		"probe g git 127.0.0.1 9418 /g.git b\n",          /* no README */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[512], err[160];
		struct plan p;
		snprintf(text, sizeof text, "BV-PLAN 1\nrun r1 deadline_ms 500\n%send 1\n", bad[i]);
		cr_expect_eq(plan_parse(text, strlen(text), &p, err, sizeof err), -1, "accepted: %s", bad[i]);
		plan_free(&p);
	}
}

Test(plan, tries_again_and_pressure_are_read_before_the_probes)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "attempts 3 gap_ms 150\npressure c 200\nprobe c tcp 192.0.2.10 8888\nend 1\n", &p), 0);
	cr_assert_eq(p.attempts, 3);
	cr_assert_eq(p.gap_ms, 150);
	cr_assert_str_eq(p.pressure_id, "c");
	cr_assert_eq(p.pressure, 200);
	plan_free(&p);
}

Test(plan, without_options_each_probe_is_tried_once_and_nothing_pressed)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "probe c tcp 192.0.2.10 8888\nend 1\n", &p), 0);
	cr_assert_eq(p.attempts, 1);
	cr_assert_eq(p.pressure, 0);
	plan_free(&p);
}

Test(plan, refuses_bad_tries_and_pressure)
{
	const char *bad[] = {
		HEAD "attempts 0 gap_ms 100\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "attempts 6 gap_ms 100\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "attempts 2 gap_ms 9\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "attempts 2 gap_ms 10001\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "attempts 2\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "attempts 2 gap_ms 100\nattempts 2 gap_ms 100\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "probe c tcp 192.0.2.10 1\nattempts 2 gap_ms 100\nend 1\n",
		HEAD "pressure c 0\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "pressure c 1001\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "pressure x 10\nprobe c tcp 192.0.2.10 1\nend 1\n",
		HEAD "pressure c 10\nprobe c udp 192.0.2.10 1\nend 1\n",
		HEAD "pressure c 10\npressure c 10\nprobe c tcp 192.0.2.10 1\nend 1\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct plan p;
		cr_assert_eq(parse(bad[i], &p), -1, "accepted: %s", bad[i]);
		plan_free(&p);
	}
}

Test(plan, an_echo_has_no_port)
{
	struct plan p;
	cr_assert_eq(parse(HEAD "probe e icmp 198.51.100.1 0\nprobe f icmp 2001:db8::1 0\nend 2\n", &p), 0);
	cr_assert_eq(p.probes[0].kind, PROBE_ICMP);
	cr_assert_eq(p.probes[1].addr.ss_family, AF_INET6);
	cr_assert_str_eq(probe_kind_name(PROBE_ICMP), "icmp");
	plan_free(&p);
	const char *bad[] = { HEAD "probe e icmp 198.51.100.1 7\nend 1\n", HEAD "probe e icmp 198.51.100.1\nend 1\n",
			      HEAD "probe e icmp resolv 0\nend 1\n", HEAD "pressure e 5\nprobe e icmp 198.51.100.1 0\nend 1\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(parse(bad[i], &p), -1, "accepted: %s", bad[i]);
		plan_free(&p);
	}
}
