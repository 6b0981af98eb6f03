/* run.h - one probe run with its sinks: the engine under `egress` and `gate`.
 * Binds a sink per destination, runs bottle-probe in the bottle with the plan, reads its
 * report in a confined child and joins it with the sink log into one verdict per dest. */
#ifndef BV_VERIFY_EGRESS_RUN_H
#define BV_VERIFY_EGRESS_RUN_H

#include <stdbool.h>

#include "egress/evidence.h"
#include "egress/policy.h"
#include "egress/probe_report.h"
#include "core/report.h"
#include "egress/sink.h"
#include "egress/transport.h"
#include "egress/verdict.h"

#define NO_SINK (-1)      /* the policy asked for none: only the guest's errno speaks */
#define SINK_MISSING (-2) /* the policy asked for one we could not provide: inconclusive */

struct egress_run {
	const struct policy *p;
	char run[PLAN_RUN_MAX + 1]; /* set before egress_run_exec to choose it, or left empty */
	struct sink_spec specs[64];
	long sink_of[POLICY_MAX_DESTS]; /* index into specs; NO_SINK; SINK_MISSING */
	size_t n_specs;
	struct plan plan;
	struct probe_result *results; /* valid when report_ok */
	bool report_ok;
	/* The run ended once every destination had its outside evidence (smolvm): the probe's
	 * report was not waited for, report_err says when. */
	bool ended_early;
	char report_err[BV_ERROR_MSG_MAX];
	enum verdict *v; /* per destination; every one INCONCLUSIVE when no control is OPEN */
	unsigned *need;  /* per destination: the gateway's refusals its denial needs */
	struct sink_set *sinks;
	/* smolvm >= 1.1.3, or a smolvm whose version could not be read: its gateway answers
	 * every UDP/53 itself, so nothing a DNS-over-UDP probe reports is a denial. */
	bool udp53_answered;
	/* A smolvm bottle: the gateway's record and the VMM census judge, not the guest. */
	bool outside;
	struct evidence ev;
	const struct bv_cidr_set *allowed; /* the bottle's allowlist (transport), or NULL */
	long *ready_ms;  /* per ICMP destination: bv_now_ms when the refusals at its address were all in */
	bool pressure_seen; /* the census saw the pressure flows held at once (the run may end) */
};

/* 0 with every verdict set (a failed probe or sink makes them inconclusive, not an
 * error); -errno when the run could not be set up at all. */
int egress_run_exec(struct egress_run *e, const struct policy *p, const struct transport *t,
		    struct bv_error *err);
void egress_run_free(struct egress_run *e);

void egress_new_run_id(char run[PLAN_RUN_MAX + 1]);
/* Called once a run's children are all reaped, before judging (bottle-verify confines
 * itself there); NULL by default. */
void egress_run_set_after(void (*fn)(void));
/* How long the sinks keep listening after the probe has reported. */
#define EGRESS_SETTLE_MS 300
/* After an early end: a few more census passes (CENSUS_INTERVAL_MS) for the flows the
 * probe opened last. */
#define EGRESS_TAIL_MS 60
/* An ICMP destination is not decided by the refusals at its address until this long after
 * they were all in (its last try left with them): a relayed echo has reached a sink and
 * several census passes by then. */
#define EGRESS_ICMP_GRACE_MS 100
/* How often a smolvm run asks whether the outside evidence is all in. */
#define EGRESS_WATCH_MS 10

/* Destination i's DNS name in the plan: "dI.RUN.exfil.test". */
#define EGRESS_QNAME_MAX 96
void egress_qname(const struct egress_run *e, size_t i, char *buf, size_t cap);
/* d's accept_gap, unless a DNS guard closed that gap (a guarded bottle's DNS classes must
 * be proven contained). */
bool egress_gap_accepted(const struct egress_run *e, const struct policy_dest *d);

/* Did any sink log destination i's nonce or its token (a leak is a leak wherever it lands)? */
bool egress_sink_saw(const struct egress_run *e, size_t i);
/* Did destination i's own sink log its token (a control's evidence must be its own)? */
bool egress_sink_saw_own(const struct egress_run *e, size_t i);
/* The one rule for a group of destinations (an egress class, a gate entry): an escape
 * outside the accepted gaps is a finding; then anything unjudged is inconclusive (a gap
 * must not hide it); then the gaps' TODO; else ok. */
static inline enum bv_status egress_group_status(bool open, bool all_gaps, bool unsure)
{
	return open && !all_gaps ? BV_NOT_OK : unsure ? BV_INCONCLUSIVE : open ? BV_TODO : BV_OK;
}

/* A group of destinations (an egress class, a gate entry) folded into what its point
 * needs: how many, whether any got out (not counting controls), whether any could not be
 * judged (or a control did not get out), whether every escape is an accepted gap. */
struct egress_group {
	size_t n;
	size_t guest_local; /* members left out: the guest's own loopback (evidence_guest_local) */
	bool open, unsure, all_gaps, control;
	bool echo;           /* an ICMP echo is a member */
	const char *gap;     /* the last accepted gap's reason, or NULL */
	bool dns_gap;        /* an accepted gap is DNS (the carve-out a DNS guard closes) */
	char evidence[3072]; /* one egress_evidence_line per member */
};
/* Fold the destinations for which member(d, key) is true into *g (zeroed first). */
void egress_group_fold(const struct egress_run *e,
		       bool (*member)(const struct policy_dest *d, const void *key), const void *key,
		       struct egress_group *g);

/* What a TODO for the DNS carve-out tells the operator. */
#define EGRESS_DNS_GAP_REMEDIATION "close the DNS carve-out with a DNS guard: bottle-launch up gives every bottle one on smolvm >= 1.2.5 (upgrade an older smolvm; docs/launch.md, The DNS guard)"

#define EGRESS_GUEST_LOCAL_REASON "on this smolvm (virtio-net) the guest's 127.x and ::1 are its own loopback: a probe of them never reaches the gateway; host loopback is probed through the gateway address"

/* Append "kind addr port P: outcome errno us sink verdict" for destination i to buf. */
void egress_evidence_line(const struct egress_run *e, size_t i, char *buf, size_t cap);

#endif
