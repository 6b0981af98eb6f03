/* gate.h - `bottle-verify gate`: the sandbox-escape acceptance gate (docs/checks.md, gate.*).
 * Can an agent inside the bottle get a secret out? A catalogue of attacks, each run from
 * inside the guest in one probe run and judged by what host-side sinks saw. */
#ifndef BV_VERIFY_GATE_GATE_H
#define BV_VERIFY_GATE_GATE_H

#include "db/audit.h"
#include "egress/policy.h"
#include "core/report.h"
#include "egress/transport.h"

struct gate_opts {
	const struct db_check_opts *db; /* the machine's row, or NULL (no machine: those SKIP) */
	const char *secret;             /* the launcher's secret (from --secret-env), or NULL */
};

/* Adds the gate.* points. The policy gains the gate's own probes (it is changed). 0, or
 * -errno when the run could not be set up (also reported as an error in r). */
int check_gate(struct bv_report *r, struct policy *p, const struct transport *t,
	       const struct gate_opts *o);

/* host.c: what the host itself shows. */
/* Ports of TCP listeners on 0.0.0.0, :: or addr (IPv4), minus the declared ones. 0 and
 * ports filled (at most max), or -errno when /proc/net/tcp cannot be read. */
int gate_host_listeners(const char *addr, const unsigned *declared, size_t n_declared,
			unsigned *ports, size_t max, size_t *n, struct bv_error *err);
/* Processes whose command line holds secret: their count, "pid (comm)" list in names, or
 * -1 when /proc cannot be read whole (missing, or mounted with hidepid). Never copies
 * the secret. */
long gate_host_cmdline_secret(const char *secret, char *names, size_t cap);
/* gate.bypass-channels and gate.secret-exposure. */
void gate_host_points(struct bv_report *r, const struct gate_opts *o);

#endif
