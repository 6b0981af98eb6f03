/* verdict.c - see verdict.h */
#include "egress/verdict.h"

static const char *const names[] = { "open", "denied-active", "denied-silent", "inconclusive" };

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < 4 ? names[v] : "?";
}

enum verdict verdict_of(const struct verdict_input *in)
{
	/* The sink is ground truth: a nonce that arrived is an escape even when the guest
	 * (or a bug, or a liar) says "blocked". */
	if (in->sink_saw_nonce || (in->outside && in->census_saw))
		return VERDICT_OPEN;
	/* On a smolvm bottle only the enforcement point's record proves a denial; a guest
	 * that did not send, or says "connected" with nothing seen outside, proves nothing,
	 * and its report (or the lack of one) changes nothing. */
	if (in->outside)
		return (in->refused && !in->never_denied) || in->contained ? VERDICT_DENIED_ACTIVE : VERDICT_INCONCLUSIVE;
	if (!in->result)
		return VERDICT_INCONCLUSIVE;
	bool opened = in->result->outcome == OUT_CONNECTED || in->result->outcome == OUT_REPLIED ||
		      in->result->outcome == OUT_ANSWERED;
	if (in->never_denied && !opened)
		return VERDICT_INCONCLUSIVE;
	switch (in->result->outcome) {
	case OUT_CONNECTED:
	case OUT_REPLIED:
	case OUT_ANSWERED:
		return VERDICT_OPEN;
	case OUT_REFUSED:
	case OUT_DENIED:
	case OUT_UNREACHABLE:
		/* A refusal proves nothing when nothing was listening to be reached. */
		return in->sink_up ? VERDICT_DENIED_ACTIVE : VERDICT_INCONCLUSIVE;
	case OUT_TIMEOUT:
		return in->sink_up ? VERDICT_DENIED_SILENT : VERDICT_INCONCLUSIVE;
	case OUT_SENT:
	case OUT_BAD_ANSWER:
	case OUT_ERROR:
	default:
		return VERDICT_INCONCLUSIVE;
	}
}

bool verdict_apply_controls(enum verdict *v, const bool *allowed, size_t n)
{
	bool control_open = false;
	for (size_t i = 0; i < n; i++)
		control_open = control_open || (allowed[i] && v[i] == VERDICT_OPEN);
	if (!control_open)
		for (size_t i = 0; i < n; i++)
			v[i] = VERDICT_INCONCLUSIVE;
	return control_open;
}
