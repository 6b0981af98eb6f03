/* check.h - `bottle-verify egress`: what the bottle can reach, proven by sinks.
 * Starts a sink per policy destination, runs bottle-probe in the bottle, joins the report
 * with the sink log into verdicts, and adds one TAP point per destination class. */
#ifndef BV_VERIFY_EGRESS_CHECK_H
#define BV_VERIFY_EGRESS_CHECK_H

#include "egress/policy.h"
#include "core/report.h"
#include "egress/transport.h"

/* Adds the points (egress.control, egress.denied.CLASS); 0, or -errno when the run
 * could not be set up at all (also reported as an error in r). */
/* The run's census point (id "egress.census" / "gate.census"); nothing off a smolvm bottle. */
struct egress_run;
void egress_census_point(struct bv_report *r, const struct egress_run *e, const char *id);
/* egress.pressure: when the policy asks for flow_pressure, did the census see that many VMM
 * sockets to the control open at once (the load the denied classes were probed under)? */
void egress_pressure_point(struct bv_report *r, const struct egress_run *e, const char *id);

int check_egress(struct bv_report *r, const struct policy *p, const struct transport *t);

#endif
