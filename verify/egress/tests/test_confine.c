/* The report parser's confinement: same answers as the plain parser, and a forbidden
 * syscall in the child kills it, which the caller sees as an error (inconclusive). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "egress/confine.h"

static struct plan plan;

static void setup(void)
{
	const char *s = "BV-PLAN 1\nrun r1 deadline_ms 500\nprobe a tcp 127.0.0.1 80\nend 1\n";
	char err[160];
	cr_assert_eq(plan_parse(s, strlen(s), &plan, err, sizeof err), 0);
}

static void teardown(void)
{
	plan_free(&plan);
}

static const char good[] = "BV-REPORT 1 run r1\nresult a tcp refused errno=111 us=4 rx=0 rcode=-\nend 1\n";

TestSuite(confine, .init = setup, .fini = teardown);

Test(confine, parses_a_valid_report_in_the_child)
{
	struct probe_result res[1];
	struct bv_error err = { 0 };
	cr_assert_eq(probe_report_parse_confined(good, sizeof good - 1, &plan, res, &err), 0, "%s", err.msg);
	cr_assert_eq(res[0].outcome, OUT_REFUSED);
	cr_assert_eq(res[0].probe, &plan.probes[0]);
}

Test(confine, passes_on_the_parsers_refusal)
{
	struct probe_result res[1];
	struct bv_error err = { 0 };
	const char bad[] = "BV-REPORT 1 run r1\n";
	cr_assert_eq(probe_report_parse_confined(bad, sizeof bad - 1, &plan, res, &err), -EINVAL);
	cr_assert(strstr(err.msg, "truncated"), "%s", err.msg);
}

static void forbidden(void)
{
	/* openat is not on the list: the kernel must kill the child here. */
	int fd = open("/etc/hostname", O_RDONLY);
	(void)fd;
}

Test(confine, a_forbidden_syscall_kills_the_child_and_fails_the_parse)
{
	struct probe_result res[1];
	struct bv_error err = { 0 };
	confine_test_hook = forbidden;
	int r = probe_report_parse_confined(good, sizeof good - 1, &plan, res, &err);
	confine_test_hook = NULL;
	cr_assert_eq(r, -ECHILD, "a killed parser must never yield a result (got %d: %s)", r, err.msg);
	cr_assert(strstr(err.msg, "signal 31"), "killed by SIGSYS: %s", err.msg);
}
