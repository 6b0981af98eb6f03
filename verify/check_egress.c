/* check_egress.c - see check_egress.h */
#include "check_egress.h"

#include <stdio.h>
#include <string.h>

#include "egress_run.h"

/* One point per class: not ok if anything got out, inconclusive if anything could not be
 * judged, ok only when every destination of the class was denied. */
static void class_point(struct bv_report *r, const struct egress_run *e, const char *cls)
{
	char id[64], evidence[2048] = "";
	bool open = false, inconclusive = false, all_gaps = true, control = false;
	const char *gap = NULL;
	for (size_t i = 0; i < e->p->n_dests; i++) {
		const struct policy_dest *d = &e->p->dests[i];
		if (strcmp(d->cls, cls))
			continue;
		control = d->control;
		egress_evidence_line(e, i, evidence, sizeof evidence);
		bool is_open = e->v[i] == VERDICT_OPEN;
		open = open || (!control && is_open);
		inconclusive = inconclusive || e->v[i] == VERDICT_INCONCLUSIVE || (control && !is_open);
		if (!control && is_open && !d->accept_gap)
			all_gaps = false;
		if (d->accept_gap)
			gap = d->gap_reason;
	}
	snprintf(id, sizeof id, control ? "egress.control" : "egress.denied.%s", cls);
	enum bv_status st = egress_group_status(open, all_gaps, inconclusive);
	struct bv_point *p = report_addf(r, id, st, control ? "the allowed destinations are reachable (control)"
						 : "class %s is denied from inside the bottle", cls);
	if (st == BV_OK)
		return;
	point_field(p, "expected", control ? "every control OPEN" : "every destination DENIED-ACTIVE or DENIED-SILENT, no nonce at any sink");
	point_field(p, "actual", open ? "a destination of this class is OPEN" : "not every destination could be judged");
	point_field(p, "evidence", evidence);
	if (!e->report_ok)
		point_field(p, "report", e->report_err);
	point_field(p, "remediation", open ? "tighten the allowlist (bottle-launch enforce) and check the backend: this class escapes the bottle"
					   : "make the run judgeable: the control must be reachable, the sinks up and the probe's report complete");
	if (st == BV_TODO)
		point_set_reason(p, gap ? gap : "accepted gap");
}

static void class_points(struct bv_report *r, const struct egress_run *e)
{
	for (size_t i = 0; i < e->p->n_dests; i++) {
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = strcmp(e->p->dests[j].cls, e->p->dests[i].cls) != 0;
		if (first)
			class_point(r, e, e->p->dests[i].cls);
	}
}

int check_egress(struct bv_report *r, const struct policy *p, const struct transport *t)
{
	struct egress_run e = { 0 };
	struct bv_error err = { 0 };
	int rc = egress_run_exec(&e, p, t, &err);
	if (rc == 0) {
		report_note(r, "egress run %s: %zu destinations, %zu sinks, deadline %u ms", e.run,
			    p->n_dests, e.n_specs, p->deadline_ms);
		class_points(r, &e);
	} else {
		report_error(r, &err);
	}
	egress_run_free(&e);
	return rc;
}
