/* The verdict table of docs/trust.md, one row per test, and the control rule. */
#include <criterion/criterion.h>

#include "egress/verdict.h"

static enum verdict v(enum probe_outcome o, bool saw, bool up)
{
	struct probe_result r = { .outcome = o, .rcode = -1 };
	struct verdict_input in = { .result = &r, .sink_saw_nonce = saw, .sink_up = up };
	return verdict_of(&in);
}

/* Each of outs[0..n), with saw and up, gives want. */
static void expect_verdicts(const enum probe_outcome *outs, size_t n, bool saw, bool up,
			    enum verdict want)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v(outs[i], saw, up), want, "outcome %d", (int)outs[i]);
}

Test(verdict, a_completed_connect_is_open)
{
	cr_assert_eq(v(OUT_CONNECTED, false, true), VERDICT_OPEN);
	cr_assert_eq(v(OUT_ANSWERED, false, false), VERDICT_OPEN);
	cr_assert_eq(v(OUT_REPLIED, false, true), VERDICT_OPEN);
}

Test(verdict, a_nonce_at_the_sink_is_open_whatever_the_guest_says)
{
	const enum probe_outcome outs[] = { OUT_REFUSED, OUT_TIMEOUT, OUT_ERROR };
	expect_verdicts(outs, 3, true, true, VERDICT_OPEN);
	struct verdict_input missing = { .result = NULL, .sink_saw_nonce = true, .sink_up = true };
	cr_assert_eq(verdict_of(&missing), VERDICT_OPEN);
}

Test(verdict, no_report_is_a_denial_where_the_enforcement_point_answers_itself)
{
	const enum probe_outcome outs[] = { OUT_TIMEOUT, OUT_REFUSED, OUT_UNREACHABLE, OUT_DENIED };
	for (size_t i = 0; i < 4; i++) {
		struct probe_result r = { .outcome = outs[i], .rcode = -1 };
		struct verdict_input in = { .result = &r, .sink_up = true, .never_denied = true };
		cr_assert_eq(verdict_of(&in), VERDICT_INCONCLUSIVE, "outcome %d", (int)outs[i]);
		in.sink_saw_nonce = true;
		cr_assert_eq(verdict_of(&in), VERDICT_OPEN, "a nonce at the sink still decides");
	}
}

/* On a smolvm bottle (outside evidence): the verdict for outcome o, with what was seen. */
static enum verdict outside(enum probe_outcome o, bool census_saw, bool refused)
{
	struct probe_result r = { .outcome = o, .rcode = -1 };
	struct verdict_input in = { .result = &r, .sink_up = true, .outside = true,
				    .census_saw = census_saw, .refused = refused };
	return verdict_of(&in);
}

Test(verdict, outside_a_refusal_the_gateway_did_not_record_is_unproven)
{
	const enum probe_outcome outs[] = { OUT_REFUSED, OUT_DENIED, OUT_UNREACHABLE, OUT_TIMEOUT };
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(outside(outs[i], false, false), VERDICT_INCONCLUSIVE, "outcome %d", (int)outs[i]);
}

Test(verdict, outside_the_gateways_record_is_a_denial_whatever_the_guest_says)
{
	cr_assert_eq(outside(OUT_TIMEOUT, false, true), VERDICT_DENIED_ACTIVE);
	cr_assert_eq(outside(OUT_REFUSED, false, true), VERDICT_DENIED_ACTIVE);
}

Test(verdict, outside_a_connected_nothing_saw_is_not_open)
{
	cr_assert_eq(outside(OUT_CONNECTED, false, false), VERDICT_INCONCLUSIVE);
}

Test(verdict, outside_a_vmm_socket_is_open_even_when_the_guest_says_refused_and_a_refusal_is_logged)
{
	cr_assert_eq(outside(OUT_REFUSED, true, false), VERDICT_OPEN);
	cr_assert_eq(outside(OUT_REFUSED, true, true), VERDICT_OPEN);
}

/* A run that ended early (or a guest that printed garbage) has no report: on a smolvm
 * bottle the outside evidence judges alone. */
Test(verdict, outside_the_evidence_judges_without_a_report)
{
	struct verdict_input in = { .result = NULL, .sink_up = true, .outside = true, .refused = true };
	cr_assert_eq(verdict_of(&in), VERDICT_DENIED_ACTIVE);
	in.refused = false, in.census_saw = true;
	cr_assert_eq(verdict_of(&in), VERDICT_OPEN);
	in.census_saw = false;
	cr_assert_eq(verdict_of(&in), VERDICT_INCONCLUSIVE, "no report and no evidence proves nothing");
}

Test(verdict, a_refusal_with_a_live_sink_is_denied_active)
{
	const enum probe_outcome outs[] = { OUT_REFUSED, OUT_DENIED, OUT_UNREACHABLE };
	expect_verdicts(outs, 3, false, true, VERDICT_DENIED_ACTIVE);
}

Test(verdict, a_timeout_with_a_live_sink_is_denied_silent)
{
	cr_assert_eq(v(OUT_TIMEOUT, false, true), VERDICT_DENIED_SILENT);
}

Test(verdict, a_denial_without_a_sink_proves_nothing)
{
	const enum probe_outcome outs[] = { OUT_REFUSED, OUT_TIMEOUT };
	expect_verdicts(outs, 2, false, false, VERDICT_INCONCLUSIVE);
}

Test(verdict, probe_failures_and_missing_reports_are_inconclusive)
{
	const enum probe_outcome outs[] = { OUT_ERROR, OUT_BAD_ANSWER };
	expect_verdicts(outs, 2, false, true, VERDICT_INCONCLUSIVE);
	struct verdict_input missing = { .result = NULL, .sink_saw_nonce = false, .sink_up = true };
	cr_assert_eq(verdict_of(&missing), VERDICT_INCONCLUSIVE);
}

Test(verdict, an_open_control_keeps_the_verdicts)
{
	enum verdict vs[3] = { VERDICT_OPEN, VERDICT_DENIED_ACTIVE, VERDICT_DENIED_SILENT };
	bool allowed[3] = { true, false, false };
	cr_assert(verdict_apply_controls(vs, allowed, 3));
	cr_assert_eq(vs[1], VERDICT_DENIED_ACTIVE);
}

Test(verdict, a_dead_control_makes_every_verdict_inconclusive)
{
	enum verdict vs[3] = { VERDICT_DENIED_SILENT, VERDICT_DENIED_ACTIVE, VERDICT_OPEN };
	bool allowed[3] = { true, false, false };
	cr_assert_not(verdict_apply_controls(vs, allowed, 3));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(vs[i], VERDICT_INCONCLUSIVE);
}

Test(verdict, no_control_at_all_is_inconclusive)
{
	enum verdict vs[1] = { VERDICT_DENIED_ACTIVE };
	bool allowed[1] = { false };
	cr_assert_not(verdict_apply_controls(vs, allowed, 1));
	cr_assert_eq(vs[0], VERDICT_INCONCLUSIVE);
}
