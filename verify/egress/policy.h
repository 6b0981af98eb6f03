/* policy.h - what an egress run expects of a bottle (docs/policy.md).
 * Controls (destinations that must be OPEN), denied classes with their destinations,
 * DNS expectations, and the run's deadline. Each destination gets a host-side sink. */
#ifndef BV_VERIFY_EGRESS_POLICY_H
#define BV_VERIFY_EGRESS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "smolvm/version.h"
#include "probe/plan.h"

#define POLICY_MAX_DESTS 1024
/* "port": "random" draws from here, per run: above the usual ephemeral range's start,
 * below the service ports anyone lists */
#define POLICY_RANDOM_LO 40000
#define POLICY_RANDOM_HI 59999

struct policy_dest {
	char cls[PLAN_ID_MAX + 1]; /* class id ("control" for controls) */
	bool control;
	enum probe_kind kind;
	char addr[64];
	unsigned port;
	bool random_port; /* "port": "random": drawn for this run */
	bool sink;       /* bind a recording sink on the host side ... */
	char sink_addr[64]; /* ... at this address (default: addr), same port: smolvm's gateway
			     * 100.96.0.1:P dials host 127.0.0.1:P, so that is where it lands */
	bool accept_gap; /* a known, accepted gap (e.g. smolvm's DNS carve-out): TODO */
	char gap_reason[160];
	/* Set by the gate for the probes it adds (http, git), never read from a file: */
	unsigned sink_port;     /* the sink's port when it differs from port (an upstream) */
	bool scan;              /* the sink is an upstream stand-in (SINK_SCAN) */
	char token[48];         /* the token the probe carries; a sink that logs it = OPEN */
	unsigned char *data;    /* http: the request; git: the README (owned) */
	size_t data_len;
	char repo[PLAN_REPO_MAX + 1], ref[PLAN_ID_MAX + 1];
};

/* The bottle's parts the gate attacks through, from the policy's optional "gate" object
 * (docs/policy.md). An endpoint with set false is a part the bottle lacks: its points SKIP. */
struct gate_endpoint {
	bool set;
	char addr[64];
	unsigned port;
};

struct gate_spec {
	struct gate_endpoint proxy, proxy_upstream, git, git_upstream;
	char allowed_host[128], denied_host[128], denied_ip[64];
	unsigned denied_ip_port;
	char repo[PLAN_REPO_MAX + 1], scanner[64];
	char allowed_addr[64];       /* where host services on 0.0.0.0 are reachable */
	unsigned declared_ports[16]; /* the bundle's own ports there */
	size_t n_declared;
};

struct policy {
	unsigned deadline_ms;
	/* Where a smolvm gateway forwards every guest UDP/53 (1.1.1.1 unless the machine has
	 * --dns; tests name their stand-in): its sockets there are the DNS carve-out. */
	char dns_upstream[64];
	/* "around_allowed": true: the class around-allowed, made per run from the bottle's
	 * allowlist (egress/around.h) */
	bool around_allowed;
	/* "attempts" (1..PLAN_ATTEMPTS_MAX, default 1) and "retry_gap_ms": each destination
	 * (not http or git) that has not got through is tried again that often, that far apart; a
	 * denial then needs the gateway's record of refusing every try. */
	unsigned attempts, retry_gap_ms;
	/* "flow_pressure" (0..PLAN_PRESSURE_MAX): TCP flows to the first tcp control, opened
	 * before the probes and held while they run (egress.pressure). */
	unsigned flow_pressure;
	struct policy_dest *dests;
	size_t n_dests;
	struct gate_spec gate;
};

/* Parse the JSON text strictly (jsonstrict first). -EINVAL with err naming the field. */
int policy_parse(const char *text, size_t len, struct policy *out, struct bv_error *err);
/* The same, plus control ("tcp:ADDR:PORT", may be NULL) as one more control, without a
 * sink (it is the bottle's real allowed service); the text may then list no control. */
int policy_parse_with(const char *text, size_t len, const char *control, struct policy *out,
		      struct bv_error *err);
int policy_load(const char *path, const char *control, struct policy *out, struct bv_error *err);
/* Append --allow-dest's "PROTO:ADDR:PORT" as a control; its JSON entry (for the builtin). */
int policy_add_control(struct policy *p, const char *control, struct bv_error *err);
int policy_control_json(const char *control, char *out, size_t cap, struct bv_error *err);
/* The built-in policy for a real smolvm bottle (policy_builtin_text), with control as the
 * one allowed destination ("tcp:ADDR:PORT"), read for the bottle's smolvm (NULL or not
 * known: no version fact applies): on >= 1.1.3 every DNS-over-UDP destination is the DNS
 * carve-out, an accepted gap (TODO), and from 1.2.5 so is DNS over TCP to the gateway. */
int policy_load_builtin(const char *control, const struct bv_version *v, struct policy *out,
			struct bv_error *err);
extern const char policy_builtin_text[];
/* The control the policy's flow_pressure is held to (its first tcp control), or -1 (no
 * pressure asked, or no tcp control to hold it to). */
long policy_pressure_control(const struct policy *p);
void policy_free(struct policy *p);

#endif
