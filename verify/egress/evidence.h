/* evidence.h - what lives outside the guest about one egress run on a smolvm bottle.
 * The enforcement point's record of what it refused (egress-denials.log, denials.h) and a
 * census of the VMM's own host sockets (census.h), taken around the probe, joined per
 * destination; the guest's report only drives the traffic (docs/trust.md). */
#ifndef BV_VERIFY_EGRESS_EVIDENCE_H
#define BV_VERIFY_EGRESS_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"
#include "egress/census.h"
#include "egress/denials.h"
#include "egress/guardlog.h"
#include "egress/policy.h"
#include "smolvm/version.h"

struct evidence_opts {
	const char *data_dir;             /* the machine's data dir: agent.pid, the denial log */
	const struct bv_version *version; /* the bottle's smolvm (known or not) */
	/* The bottle's DNS guard (bottle-launch's dnsmasq, smolvm --dns): its address and its
	 * query log; both NULL for an unguarded bottle. run: this run's id (the guard's
	 * names of interest end in ".RUN.exfil.test"). */
	const char *guard_addr, *guard_log, *run;
	/* The policy's dns_upstream: the upstream when the launch config names none. */
	const char *dns_upstream;
};

struct evidence {
	bool tsi;        /* smolvm < 1.1.3: TSI, where guest 127.x is host 127.x */
	bool denial_log; /* this smolvm's gateway records every refusal (>= 1.8.1, virtio-net) */
	bool denials_ok; /* the record was marked before the run and read whole after it */
	char denials_why[640];
	bool census_ok;  /* the VMM named by agent.pid was followed for the whole run */
	char census_why[640];
	bool guarded;    /* the bottle's DNS ends at a guard (guard_addr) */
	bool guard_ok;   /* the guard's record was marked before the run and read whole after */
	char guard_why[640];
	char guard_addr[64];
	char launched_dns[64]; /* the VMM's upstream resolver per agent.config.json, or "" */
	/* Where the gateway relays DNS over TCP to its own address (>= 1.2.5, or a version not
	 * known): a VMM socket to that upstream's TCP port 53 may be such a relayed query, so
	 * the census cannot say a guest reached it directly (the record still can deny it). */
	char relay_upstream[64];
	/* Private. */
	bool marked, census_started;
	char data_dir[4096];
	struct denials_mark mark;
	struct denial_set set;
	struct denial_set live; /* evidence_peek's latest reading */
	bool live_ok, peek_off;
	char guard_log[4096], guard_suffix[96];
	struct guardlog_mark gmark;
	struct guardlog_names gnames, glive;
	bool gmarked, glive_ok, guard_peek_off;
	struct census census;
};

/* Before the probe: mark the denial log (where the version keeps one) and start the
 * census. Never fails the run: what could not be taken is recorded as the reason its
 * evidence is missing, and the verdicts that needed it stay unproven. */
void evidence_begin(struct evidence *ev, const struct evidence_opts *o);
/* After the probe and the sinks: stop the census, read what was recorded since the mark. */
void evidence_end(struct evidence *ev);
void evidence_free(struct evidence *ev);

/* The gateway recorded refusing d during the run (connect for TCP kinds, sendto for UDP),
 * need times at least (each try of it, and of every destination logged the same way:
 * evidence_same_record). */
bool evidence_refused(const struct evidence *ev, const struct policy_dest *d, unsigned need);
/* a and b are logged under one record ("connect to 1.2.3.4:80"), so their refusals add up. */
bool evidence_same_record(const struct policy_dest *a, const struct policy_dest *b);

/* While the probe runs: read the denial record and the DNS guard's record again since
 * their marks (what evidence_end reads is what judges). Past EVIDENCE_PEEK_MAX_LINES lines
 * a record is not read again for the rest of the run (nothing is decided early from it). */
#define EVIDENCE_PEEK_MAX_LINES 20000
void evidence_peek(struct evidence *ev);
/* evidence_refused on the latest evidence_peek, and evidence_census_saw while the census
 * still runs: the run may end without waiting for d. */
bool evidence_refused_so_far(struct evidence *ev, const struct policy_dest *d, unsigned need);
bool evidence_census_saw_so_far(struct evidence *ev, const struct policy_dest *d);
/* A VMM socket went to d: its address and port, or host loopback at d's port when d is
 * the gateway (virtio-net) or a 127.x address (TSI). */
bool evidence_census_saw(const struct evidence *ev, const struct policy_dest *d);

/* The most VMM sockets to d the census saw open at one pass (0 when it did not run whole):
 * how much load the run really put on the gateway (a policy's flow_pressure). */
size_t evidence_census_peak(const struct evidence *ev, const struct policy_dest *d);
/* While the census runs: how many of the VMM's sockets to d its latest pass saw. */
size_t evidence_census_alive_now(struct evidence *ev, const struct policy_dest *d);

/* d's query is answered by the gateway and relayed to its upstream (virtio-net: any
 * UDP/53; DNS over TCP to the gateway address): a socket to the upstream, never to d. */
bool evidence_dns_relayed(const struct evidence *ev, const struct policy_dest *d);

/* The resolver the bottle's gateway forwards guest DNS to: the VMM's launch config's dns
 * (the row's --dns, >= 1.2.5) when it names one, else fallback (the policy's dns_upstream). */
const char *evidence_upstream(const struct evidence *ev, const char *fallback);

/* The VMM's egress sockets that no allowed destination explains: not in allowed (the
 * bottle's allowlist), not a control of p, not the DNS upstream carve-out (upstream:53,
 * counted in *carveout when the version has one). On a guarded bottle the guard (its
 * address, port 53) explains its sockets and there is no carve-out: a socket to the old
 * upstream is a leak. Each is appended to buf as evidence; returns how many. */
size_t evidence_leaks(const struct evidence *ev, const struct policy *p,
		      const struct bv_cidr_set *allowed, const char *upstream, size_t *carveout,
		      char *buf, size_t cap);

/* On virtio-net (>= 1.1.3) a guest's 127.x or ::1 is its own loopback: an honest probe of
 * it never reaches the gateway, so it tests nothing of the bottle (host loopback is probed
 * through the gateway address). Not on TSI, where it is the host's loopback. */
bool evidence_guest_local(const struct evidence *ev, const struct policy_dest *d);

/* On a guarded bottle: the guard's record shows qname (this destination's DNS name,
 * "dI.RUN.exfil.test") asked and not forwarded: the query reached the guard and stopped
 * there. False on an unguarded bottle. */
bool evidence_contained(const struct evidence *ev, const char *qname);
bool evidence_contained_so_far(const struct evidence *ev, const char *qname);

/* "record=refused census=saw" style words for destination d's evidence line. */
void evidence_words(const struct evidence *ev, const struct policy_dest *d, unsigned need, const char *qname,
		    char *buf, size_t cap);

#endif
