/* check_egress.h - `bottle-verify egress`: what the bottle can reach, proven by sinks.
 * Starts a sink per policy destination, runs bottle-probe in the bottle, joins the report
 * with the sink log into verdicts, and adds one TAP point per destination class. */
#ifndef BV_CHECK_EGRESS_H
#define BV_CHECK_EGRESS_H

#include "policy.h"
#include "report.h"
#include "transport.h"

/* Adds the points (egress.control, egress.denied.CLASS); 0, or -errno when the run
 * could not be set up at all (also reported as an error in r). */
int check_egress(struct bv_report *r, const struct policy *p, const struct transport *t);

#endif
