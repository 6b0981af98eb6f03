/* probe_report.h - the host's strict reader of bottle-probe's report.
 * The report comes from inside the guest, where the attacker is: every line is checked
 * against the plan that was sent, and anything unexpected makes the whole report invalid. */
#ifndef BV_VERIFY_EGRESS_PROBE_REPORT_H
#define BV_VERIFY_EGRESS_PROBE_REPORT_H

#include <stddef.h>

#include "core/error.h"
#include "probe/plan.h"

#define REPORT_MAX_BYTES (1u << 20)

enum probe_outcome {
	OUT_CONNECTED,   /* TCP handshake completed */
	OUT_REPLIED,     /* UDP reply received */
	OUT_ANSWERED,    /* DNS answer for this very query */
	OUT_SENT,        /* datagram sent, nothing came back (never final in a report) */
	OUT_REFUSED,     /* ECONNREFUSED: RST or ICMP port unreachable */
	OUT_DENIED,      /* EACCES/EPERM: TSI or a local filter */
	OUT_UNREACHABLE, /* EHOSTUNREACH/ENETUNREACH */
	OUT_TIMEOUT,     /* nothing before the deadline */
	OUT_BAD_ANSWER,  /* a DNS reply that is not an answer to our query */
	OUT_ERROR,       /* the probe itself failed (socket, EMFILE ...) */
	OUT_ACCEPTED,    /* git: the server reported "ok" for the pushed ref */
	OUT_REJECTED,    /* git: the server reported "ng" (or an unpack error) */
};

#define PROBE_TEXT_MAX 1024

struct probe_result {
	const struct plan_probe *probe; /* the plan's entry this result answers */
	enum probe_outcome outcome;
	int err;
	unsigned long long us;
	unsigned long long rx;
	int rcode; /* -1 when none; a DNS rcode, or an http probe's HTTP status */
	char text[PROBE_TEXT_MAX + 1]; /* http: the answer's start; git: the server's messages
					* (printable ASCII and newlines only) */
};

/* Parse text against plan: header "BV-REPORT 1 run RUN", one "result" line per plan probe
 * (each id exactly once, kind matching; http and git results followed by their "text ID HEX|-"
 * line), "end N" last. results must hold plan->n_probes
 * entries and is filled in plan order. 0, or -EINVAL with err naming the line. */
int probe_report_parse(const char *text, size_t len, const struct plan *plan,
		       struct probe_result *results, struct bv_error *err);

const char *probe_outcome_name(enum probe_outcome o);

#endif
