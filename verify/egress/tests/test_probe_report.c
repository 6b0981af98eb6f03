/* The host's reader of the guest's report: complete and exact, or invalid. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "egress/probe_report.h"

static struct plan plan;
static struct probe_result res[4];

static void setup(void)
{
	const char *s = "BV-PLAN 1\nrun r1 deadline_ms 500\nprobe a tcp 127.0.0.1 80\n"
			"probe b dns-udp 127.0.0.1 53 b.r1.exfil.test\nend 2\n";
	char err[160];
	cr_assert_eq(plan_parse(s, strlen(s), &plan, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
	plan_free(&plan);
}

static int parse(const char *s)
{
	return probe_report_parse(s, strlen(s), &plan, res, NULL);
}

#define OK_A "result a tcp refused errno=111 us=400 rx=0 rcode=-\n"
#define OK_B "result b dns-udp answered errno=0 us=900 rx=60 rcode=0\n"

TestSuite(probe_report, .init = setup, .fini = teardown);

Test(probe_report, reads_a_complete_report_in_plan_order)
{
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_B OK_A "end 2\n"), 0);
	cr_assert_eq(res[0].outcome, OUT_REFUSED);
	cr_assert_eq(res[0].err, 111);
	cr_assert_eq(res[1].outcome, OUT_ANSWERED);
	cr_assert_eq(res[1].rcode, 0);
}

Test(probe_report, truncated_reports_are_invalid)
{
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A OK_B "end 2"), -EINVAL);
	cr_assert_eq(parse(""), -EINVAL);
}

Test(probe_report, missing_duplicate_or_foreign_results_are_invalid)
{
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A "end 1\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A OK_A OK_B "end 3\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A OK_B "result c tcp refused errno=1 us=1 rx=0 rcode=-\nend 3\n"), -EINVAL);
}

Test(probe_report, wrong_run_kind_or_fields_are_invalid)
{
	cr_assert_eq(parse("BV-REPORT 1 run r2\n" OK_A OK_B "end 2\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\nresult a udp refused errno=111 us=400 rx=0 rcode=-\n" OK_B "end 2\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\nresult a tcp blocked errno=111 us=400 rx=0 rcode=-\n" OK_B "end 2\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\nresult a tcp refused errno=-1 us=400 rx=0 rcode=-\n" OK_B "end 2\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A "result b dns-udp answered errno=0 us=900 rx=60 rcode=-\nend 2\n"), -EINVAL);
	cr_assert_eq(parse("BV-REPORT 1 run r1\n" OK_A OK_B "end 2\nextra\n"), -EINVAL);
}

static int parse_conv(const char *report, struct probe_result *out)
{
	const char *s = "BV-PLAN 1\nrun r2 deadline_ms 500\nprobe h http 127.0.0.1 80 4745\n"
			"probe g git 127.0.0.1 9418 /g.git b 6869\nend 2\n";
	struct plan p;
	char err[160];
	cr_assert_eq(plan_parse(s, strlen(s), &p, err, sizeof err), 0, "%s", err);
	int r = probe_report_parse(report, strlen(report), &p, out, NULL);
	plan_free(&p);
	return r;
}

Test(probe_report, reads_http_status_and_git_verdict_with_their_text)
{
	static struct probe_result r2[2];
	const char *rep = "BV-REPORT 1 run r2\n"
			  "result h http replied errno=0 us=5 rx=20 rcode=403\ntext h 48545450\n"
			  "result g git rejected errno=0 us=5 rx=20 rcode=-\ntext g -\nend 2\n";
	cr_assert_eq(parse_conv(rep, r2), 0);
	cr_assert_eq(r2[0].rcode, 403);
	cr_assert_str_eq(r2[0].text, "HTTP");
	cr_assert_eq(r2[1].outcome, OUT_REJECTED);
	cr_assert_str_eq(r2[1].text, "");
}

Test(probe_report, conversations_need_their_text_line_and_clean_text)
{
	static struct probe_result r2[2];
	static const char *bad[] = {
		/* text line missing */
		"BV-REPORT 1 run r2\nresult h http replied errno=0 us=5 rx=2 rcode=200\n"
		"result g git accepted errno=0 us=5 rx=2 rcode=-\ntext g -\nend 2\n",
		/* a control byte smuggled in the text */
		"BV-REPORT 1 run r2\nresult h http replied errno=0 us=5 rx=2 rcode=200\ntext h 1b5b\n"
		"result g git accepted errno=0 us=5 rx=2 rcode=-\ntext g -\nend 2\n",
		/* accepted is a git outcome only */
		"BV-REPORT 1 run r2\nresult h http accepted errno=0 us=5 rx=2 rcode=-\ntext h -\n"
		"result g git accepted errno=0 us=5 rx=2 rcode=-\ntext g -\nend 2\n",
		/* a reply without a status */
		"BV-REPORT 1 run r2\nresult h http replied errno=0 us=5 rx=2 rcode=-\ntext h -\n"
		"result g git accepted errno=0 us=5 rx=2 rcode=-\ntext g -\nend 2\n",
		/* the text line names another probe */
		"BV-REPORT 1 run r2\nresult h http replied errno=0 us=5 rx=2 rcode=200\ntext g -\n"
		"result g git accepted errno=0 us=5 rx=2 rcode=-\ntext g -\nend 2\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse_conv(bad[i], r2), -EINVAL, "accepted case %zu", i);
}
