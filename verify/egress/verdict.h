/* verdict.h - evidence, not claims: join what the guest reported with what the host's
 * sinks saw. A nonce at a sink makes a destination OPEN whatever the guest said. On a
 * smolvm bottle only the gateway's record denies and the census opens (docs/trust.md). */
#ifndef BV_VERIFY_EGRESS_VERDICT_H
#define BV_VERIFY_EGRESS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "egress/probe_report.h"

enum verdict {
	VERDICT_OPEN,          /* a sink saw the nonce or the census a socket (outside); else
	                        * the guest's connected/replied/answered */
	VERDICT_DENIED_ACTIVE, /* outside: the gateway recorded refusing it; else the guest's
	                        * refused/denied/unreachable and no sink saw the nonce */
	VERDICT_DENIED_SILENT, /* timed out and no sink saw the nonce */
	VERDICT_INCONCLUSIVE,  /* the probe failed, its sink was down, or the run has no control */
};

struct verdict_input {
	const struct probe_result *result; /* NULL when the report was invalid */
	bool sink_saw_nonce;               /* any sink logged this probe's nonce */
	bool sink_up;                      /* the sink meant to catch it was listening */
	/* The enforcement point answers this kind of traffic itself whatever its policy
	 * (smolvm >= 1.1.3 answers every UDP/53): no refusal, unreachable or silence the
	 * guest reports can be a denial, only open or unproven. */
	bool never_denied;
	/* A smolvm bottle, whose enforcement point keeps evidence outside the guest: then the
	 * guest's outcome alone makes nothing open or denied (docs/trust.md). */
	bool outside;
	bool census_saw; /* outside: a VMM host socket went to it */
	bool refused;    /* outside: the gateway recorded refusing it during the run */
	bool contained;  /* outside: its DNS name reached the bottle's DNS guard and went no
	                  * further (the guard's record) */
};

enum verdict verdict_of(const struct verdict_input *in);

/* Controls: a run in which no allowed destination came out OPEN proves nothing (a dead
 * network looks like a perfect sandbox). allowed[i] marks controls. Returns true when at
 * least one control is OPEN; otherwise every verdict is set to INCONCLUSIVE. */
bool verdict_apply_controls(enum verdict *v, const bool *allowed, size_t n);

const char *verdict_name(enum verdict v); /* "open", "denied-active", ... */

#endif
