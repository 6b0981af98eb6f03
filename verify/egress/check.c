/* check.c - see check.h */
#include "egress/check.h"

#include <stdio.h>
#include <string.h>

#include "egress/run.h"

static bool in_class(const struct policy_dest *d, const void *cls)
{
	return strcmp(d->cls, cls) == 0;
}

/* How to close the DNS gap: a bottle started with --dns (bottle-launch's guard, perhaps)
 * is judged by that resolver's record once the verifier is told of it. */
static void dns_gap_remediation(struct bv_point *p, const struct evidence *ev)
{
	if (ev->launched_dns[0] && !ev->guarded)
		point_fieldf(p, "remediation", "the VM was started with --dns %s: if that is bottle-launch's DNS guard, "
			     "pass --dns-guard %s --dns-guard-log FILE and its record judges these queries "
			     "(docs/launch.md, The DNS guard)", ev->launched_dns, ev->launched_dns);
	else
		point_field(p, "remediation", EGRESS_DNS_GAP_REMEDIATION);
}

/* One point per class: not ok if anything got out, inconclusive if anything could not be
 * judged, ok only when every destination of the class was denied. */
static void class_point(struct bv_report *r, const struct egress_run *e, const char *cls)
{
	char id[64];
	struct egress_group g;
	egress_group_fold(e, in_class, cls, &g);
	snprintf(id, sizeof id, g.control ? "egress.control" : "egress.denied.%s", cls);
	enum bv_status st = g.n == 0 ? BV_SKIP : egress_group_status(g.open, g.all_gaps, g.unsure);
	/* An echo's denial is inferred (smolvm records none): an ok point says so. */
	const char *weak = e->outside && g.echo && st == BV_OK
				   ? " (echo: inferred from the gateway's refusals at the same addresses; "
				     "smolvm records no denied echo, and no sink or census saw one)"
				   : "";
	struct bv_point *p = report_addf(r, id, st, g.control ? "the allowed destinations are reachable (control)"
						   : "class %s is denied from inside the bottle%s", cls, weak);
	if (st == BV_SKIP)
		point_set_reason(p, EGRESS_GUEST_LOCAL_REASON);
	if (st == BV_OK || st == BV_SKIP)
		return;
	point_field(p, "expected", g.control ? "every control OPEN" : "every destination DENIED-ACTIVE or DENIED-SILENT, no nonce at any sink");
	point_field(p, "actual", g.open ? "a destination of this class is OPEN" : "not every destination could be judged");
	point_field(p, "evidence", g.evidence);
	if (!e->report_ok)
		point_field(p, "report", e->report_err);
	if (st == BV_TODO && g.dns_gap)
		dns_gap_remediation(p, &e->ev);
	else
		point_field(p, "remediation", g.open ? "tighten the allowlist (bottle-launch enforce) and check the backend: this class escapes the bottle"
					       : "make the run judgeable: the control must be reachable, the sinks up and the probe's report complete");
	if (st == BV_TODO)
		point_set_reason(p, g.gap ? g.gap : "accepted gap");
}

void egress_census_point(struct bv_report *r, const struct egress_run *e, const char *id)
{
	static const char desc[] = "every socket the bottle's VMM opened went to an allowed destination (census)";
	if (!e->outside)
		return;
	const struct evidence *ev = &e->ev;
	char evidence[2048] = "";
	size_t carveout = 0;
	const char *upstream = evidence_upstream(ev, e->p->dns_upstream);
	size_t leaks = evidence_leaks(ev, e->p, e->allowed, upstream, &carveout, evidence, sizeof evidence);
	enum bv_status st = leaks ? BV_NOT_OK : !ev->census_ok ? BV_INCONCLUSIVE : carveout ? BV_TODO : BV_OK;
	struct bv_point *p = report_add(r, id, st, desc);
	if (st == BV_OK)
		return;
	point_field(p, "expected", "no VMM socket to a destination outside the allowlist and the controls");
	if (leaks) {
		point_fieldf(p, "actual", "%zu VMM socket(s) to destinations nothing allows", leaks);
		point_field(p, "evidence", evidence);
		point_field(p, "remediation", "the bottle's egress escapes its allowlist whatever the guest reported: stop the machine, check the backend and the allowlist (bottle-verify db)");
	} else if (st == BV_INCONCLUSIVE) {
		point_field(p, "actual", ev->census_why);
		point_field(p, "remediation", "run bottle-verify as the VMM's user or root, on a running machine whose agent.pid names its VMM");
	} else {
		point_fieldf(p, "actual", "%zu VMM socket(s) to the DNS upstream %s:53 only", carveout, upstream);
		point_set_reason(p, "smolvm >= 1.1.3 forwards every guest UDP/53 to its upstream (the DNS carve-out)");
		dns_gap_remediation(p, ev);
	}
}

void egress_pressure_point(struct bv_report *r, const struct egress_run *e, const char *id)
{
	const struct policy *pol = e->p;
	if (!pol->flow_pressure)
		return;
	long c = policy_pressure_control(pol);
	size_t peak = c >= 0 && e->outside ? evidence_census_peak(&e->ev, &pol->dests[c]) : 0;
	enum bv_status st = peak >= pol->flow_pressure ? BV_OK : BV_INCONCLUSIVE;
	struct bv_point *p = report_addf(r, id, st, "the bottle's VMM held %u flows to the control at once during the run", pol->flow_pressure);
	if (st == BV_OK)
		return;
	point_fieldf(p, "expected", "%u VMM sockets to the control open at once (census)", pol->flow_pressure);
	if (c < 0)
		point_field(p, "actual", "the policy has no tcp control to hold the flows to");
	else if (!e->outside)
		point_field(p, "actual", "only the census of a smolvm VMM counts the flows held (the guest's count is not evidence)");
	else if (!e->ev.census_ok)
		point_field(p, "actual", e->ev.census_why);
	else
		point_fieldf(p, "actual", "at most %zu open at once", peak);
	point_field(p, "remediation", "the gateway was not under the load asked: the denied classes' results hold for a lighter load only; "
				      "lower flow_pressure below what the bottle's other flows leave of smolvm's 256-flow table, or check the control");
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
		egress_pressure_point(r, &e, "egress.pressure");
		egress_census_point(r, &e, "egress.census");
	} else {
		report_error(r, &err);
	}
	egress_run_free(&e);
	return rc;
}
