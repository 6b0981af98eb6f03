/* plan.h - the probe plan: what bottle-probe is asked to try, as a strict line format.
 * Shared by the host (which writes and fuzzes it) and the guest binary (which reads it);
 * libc only. Format and limits: docs/probe.md. */
#ifndef BV_VERIFY_PROBE_PLAN_H
#define BV_VERIFY_PROBE_PLAN_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#define PLAN_MAX_BYTES (256u * 1024u)
#define PLAN_MAX_PROBES 4096
#define PLAN_ID_MAX 32
#define PLAN_RUN_MAX 32
#define PLAN_QNAME_MAX 253
#define PLAN_DEADLINE_MAX_MS 120000
#define PLAN_DATA_MAX 8192 /* http: the request; git: the README (decoded bytes) */
#define PLAN_REPO_MAX 100
#define PLAN_ATTEMPTS_MAX 5      /* tries of one tcp or udp probe */
#define PLAN_GAP_MIN_MS 10       /* between the starts of two tries */
#define PLAN_GAP_MAX_MS 10000
#define PLAN_PRESSURE_MAX 1000   /* flows held open to one destination */

enum probe_kind { PROBE_TCP, PROBE_UDP, PROBE_DNS_UDP, PROBE_DNS_TCP, PROBE_HTTP, PROBE_GIT, PROBE_ICMP };
#define PROBE_KINDS 7

struct plan_probe {
	char id[PLAN_ID_MAX + 1];
	enum probe_kind kind;
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set (icmp: port 0) */
	socklen_t addr_len;
	char qname[PLAN_QNAME_MAX + 1]; /* DNS kinds only */
	int use_resolv;                 /* DNS kinds: ADDR was "resolv": the guest's own
					 * resolver (first nameserver in /etc/resolv.conf) */
	unsigned char *data;            /* http: request bytes; git: README bytes (owned) */
	size_t data_len;
	char repo[PLAN_REPO_MAX + 1];   /* git: the repository path ("/gate.git") */
	char ref[PLAN_ID_MAX + 1];      /* git: the branch pushed (refs/heads/REF) */
};

struct plan {
	char run[PLAN_RUN_MAX + 1];
	unsigned deadline_ms;
	/* "attempts N gap_ms M": a probe (not http or git) that has not got through is tried again
	 * M ms after its previous try started, N tries in all (1: once, the default) */
	unsigned attempts, gap_ms;
	/* "pressure ID N": N more TCP flows to tcp probe ID's address, opened before any probe
	 * starts and held while probes still try (0: none) */
	char pressure_id[PLAN_ID_MAX + 1];
	unsigned pressure;
	struct plan_probe *probes;
	size_t n_probes;
};

/* Parse text[0..len). 0 on success; -1 with a message in err (errlen bytes) naming the
 * line. The plan must end with "end N" where N is the number of probes. */
int plan_parse(const char *text, size_t len, struct plan *out, char *err, size_t errlen);
void plan_free(struct plan *p);

const char *probe_kind_name(enum probe_kind k);

/* Split a line at spaces into at most max words (in place). The count, or -1 when
 * there are more. Shared with the host's report reader. */
int plan_split(char *line, char **w, int max);

/* Token rules shared with the report: [A-Za-z0-9._-]{1,max}. */
int plan_token_ok(const char *s, size_t max);

#endif
