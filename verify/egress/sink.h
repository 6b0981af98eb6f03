/* sink.h - the host-side ground truth: recording listeners for one probe run.
 * TCP and UDP listeners log every "BV1 RUN ID" nonce they receive; DNS sinks (UDP and
 * TCP) log every query name "ID.RUN...." and answer NXDOMAIN; ICMP sinks log the nonce an
 * echo request carries. They serve in a child
 * process until stopped; the parent then knows which probe ids reached a sink. */
#ifndef BV_VERIFY_EGRESS_SINK_H
#define BV_VERIFY_EGRESS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/error.h"

/* SINK_SCAN: an upstream stand-in (what a bottle's proxy or git gate forwards to): TCP,
 * keeps up to 64 KiB per connection, answers an HTTP request with 200, and at the end
 * logs every "BV1 RUN ID" nonce and every token (ghp_/bvn_ + 36 of [0-9a-z]) anywhere in
 * the bytes. */
/* SINK_ICMP: a raw ICMP (or ICMPv6) socket bound to the address: logs the nonce of every
 * echo request that arrives there (the kernel answers it); needs CAP_NET_RAW, else down. */
enum sink_kind { SINK_TCP, SINK_UDP, SINK_DNS_UDP, SINK_DNS_TCP, SINK_SCAN, SINK_ICMP };

struct sink_spec {
	enum sink_kind kind;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct sink_set;

/* Bind every sink (a sink that cannot bind is marked down, not fatal: the probes it
 * should catch become inconclusive), then serve them in a child. -errno on a failure
 * of the mechanism itself (fork, pipe, memory). */
int sinks_start(const struct sink_spec *specs, size_t n, const char *run, struct sink_set **out,
		struct bv_error *err);

bool sinks_up(const struct sink_set *s, size_t i);

/* The address sink i is bound to (port 0 in the spec picks a free one). */
const struct sockaddr_storage *sinks_addr(const struct sink_set *s, size_t i);

/* Stop the child and collect its log. Must be called before sinks_saw. */
int sinks_stop(struct sink_set *s, struct bv_error *err);

/* While they serve: what the sinks have logged so far (whole lines), for sinks_saw and
 * sinks_saw_token to answer early. Monotonic: a later peek or sinks_stop only adds. 0 or
 * -errno (then nothing changed). */
int sinks_peek(struct sink_set *s);
/* Did any sink log the nonce of probe id? */
bool sinks_saw(const struct sink_set *s, const char *id);

/* Did scanning sink number sink (or any, when sink < 0) log this token? */
bool sinks_saw_token(const struct sink_set *s, const char *token, long sink);

void sinks_free(struct sink_set *s);

#define SINK_TOKEN_LEN 40 /* "ghp_" or "bvn_" + 36 */
/* Exposed for tests and fuzzing: call found(tok) for every token and every nonce id of run
 * ("BV1 RUN ID" anywhere) in buf. */
void sink_scan(const char *buf, size_t len, const char *run, void (*found)(const char *what, void *ctx),
	       void *ctx);

/* Exposed for tests and fuzzing: the probe id in a nonce payload ("BV1 RUN ID...") or
 * in a DNS query name ("ID.RUN.<anything>"), if it belongs to run. 0 and id filled, or -1. */
int sink_nonce_from_payload(const char *buf, size_t len, const char *run, char *id, size_t idlen);
int sink_nonce_from_qname(const unsigned char *msg, size_t len, const char *run, char *id,
			  size_t idlen);

#endif
