/* census.h - what actually left: a census of the VMM's own host sockets.
 * Every guest flow smolvm's gateway (virtio-net) or TSI (libkrun) relays is a host socket of
 * the VMM process, so the sockets it holds prove what left, whatever the guest says.
 *
 * Life: census_open (the VMM's pid and start time), then census_sample by hand or
 * census_start ... census_stop around a run, then judge with census_count/census_entry and
 * the flags, then census_free. One pass joins the socket inodes of /proc/PID/fd with a
 * NETLINK_SOCK_DIAG dump (TCP and UDP, IPv4 and IPv6, all states) and the ping sockets of
 * /proc/net/icmp{,6} (ICMP echo) of our own network namespace; entries are never dropped, so a flow closed since is still reported. */
#ifndef BV_VERIFY_EGRESS_CENSUS_H
#define BV_VERIFY_EGRESS_CENSUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

/* Bounds whatever the guest makes the VMM do; hitting one sets `overflowed`. */
#define CENSUS_MAX_ENTRIES 4096     /* distinct (socket, endpoints) entries */
#define CENSUS_MAX_FDS 65536        /* /proc/PID/fd entries read per pass */
#define CENSUS_MAX_DIAG_MSGS 1000000 /* sockets read from one netlink dump */
/* Often enough to catch a flow that lives a few hundred ms. */
#define CENSUS_INTERVAL_MS 20

struct census_endpoint {
	unsigned char addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint16_t port;          /* host order; 0: none */
};

struct census_entry {
	int proto;  /* IPPROTO_TCP, IPPROTO_UDP, or IPPROTO_ICMP (a ping socket, either family;
	             * its local port is the echo identifier) */
	int family; /* AF_INET or AF_INET6 (a dual-stack socket: AF_INET6, ::ffff:a.b.c.d) */
	struct census_endpoint local, remote;
	int state;  /* the kernel's TCP_* state when last seen; UDP: TCP_ESTABLISHED when
	             * connected, TCP_CLOSE when not */
	unsigned long long inode;
	long first_seen_ms, last_seen_ms; /* the now_ms of the passes that saw it */
	unsigned long samples;            /* how many passes saw it */
	bool judged;                      /* the caller's mark (false when added); census ignores it */
};

struct census {
	pid_t pid;                      /* the VMM */
	unsigned long long start_time;  /* its field 22 of /proc/PID/stat */
	/* Limits: census_open sets the defaults above; lower them before the first pass. */
	size_t max_entries, max_fds;
	/* Dump only on change (bottle-verify watch, sampling for hours; set before the first
	 * pass): a pass whose fd scan finds the very socket inodes of the pass before, none a
	 * TCP socket still without its remote, only refreshes their entries. The socket tables
	 * (whose dump costs the kernel a walk of every bucket) are dumped when that set
	 * changes, and at least every dump_every passes. 0: every pass dumps. */
	unsigned dump_every;
	unsigned long dumps; /* passes that dumped the socket tables */
	/* What it found. Read these (and census_count/census_entry) while no sampler runs. */
	size_t count;
	bool overflowed;   /* a limit was hit: some sockets went uncounted (inconclusive) */
	bool vmm_gone;     /* the VMM exited: no pass after that added anything */
	bool vmm_replaced; /* the pid now names another process (another start time) */
	unsigned long passes; /* passes that looked at the VMM's sockets */
	long started_ms;   /* CLOCK_MONOTONIC ms at census_start: the sampler's now_ms is
	                    * milliseconds since then */

	/* Private. */
	bool is_open;
	int proc_dir; /* /proc/PID, bound to that very process even if the pid is reused */
	struct census_entry *entries;
	size_t entries_cap, entry_limit;
	uint32_t *slots; /* open-addressing index into entries (index + 1; 0: empty) */
	size_t nslots;
	unsigned long long *inodes; /* this pass's socket inodes, sorted */
	size_t ninodes, inodes_cap;
	unsigned long long *dumped; /* the inodes of the last pass that dumped */
	size_t ndumped, dumped_cap;
	unsigned since_dump, settle;
	long last_dump_ms; /* the now of the last pass that dumped, or refreshed as one */
	char *nlbuf;
	uint32_t seq;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	int interval_ms;
	int thread_rc; /* the sampler's first error */
	struct bv_error thread_err;
};

/* Watch pid, which must be alive with that start time (as the machine's row or
 * agent.pid names it): -ESRCH when it is not (dead, or the pid was reused); -EACCES when
 * its /proc/PID/fd cannot be read (another user's process); -EXDEV when it lives in
 * another network namespace (our dump could not see its sockets). */
int census_open(struct census *c, pid_t pid, unsigned long long start_time, struct bv_error *err);

/* One pass at now_ms (any clock the caller keeps to). Re-checks pid and start time
 * first: when the VMM exited or was replaced it sets vmm_gone or vmm_replaced, adds
 * nothing and returns 0 (now and on every later pass). Otherwise each of the VMM's TCP
 * and UDP sockets adds or updates its entry. 0, or -errno with err set (/proc or netlink
 * failed; entries already found stay). Thread-safe. */
int census_sample(struct census *c, long now_ms, struct bv_error *err);

/* A background thread that runs a pass every interval_ms (<= 0: CENSUS_INTERVAL_MS),
 * now_ms being ms since this call (started_ms), until census_stop or the VMM is gone.
 * -EBUSY when one already runs. */
int census_start(struct census *c, int interval_ms, struct bv_error *err);

/* Stop the sampler after one last pass and join it. 0, or the first error any of its
 * passes returned (err filled); 0 when none runs. */
int census_stop(struct census *c, struct bv_error *err);

/* Stops a running sampler, releases everything; a zeroed or freed census is a no-op. */
void census_free(struct census *c);

size_t census_count(const struct census *c);
/* The i-th entry in order of first sight; NULL past the end. census_entry_at: the same,
 * for a caller that marks entries (judged) while no sampler runs. */
const struct census_entry *census_entry(const struct census *c, size_t i);
struct census_entry *census_entry_at(struct census *c, size_t i);

/* While a sampler runs too (it takes the census's lock): does any entry so far satisfy
 * match(e, key)? false for a census that is not open. */
bool census_any(struct census *c, bool (*match)(const struct census_entry *e, const void *key),
		const void *key);
/* While a sampler runs too: how many entries satisfying match(e, key) the latest pass saw
 * (their last_seen_ms is the newest of all entries). 0 for a census that is not open. */
size_t census_alive_now(struct census *c, bool (*match)(const struct census_entry *e, const void *key),
			const void *key);
/* For a census followed for hours (bottle-verify watch), sampled by hand: after the pass
 * at now_ms, drop every entry that pass did not see (its socket closed, or it changed
 * endpoints), calling fn (may be NULL) on each first. Memory then follows the sockets the
 * VMM holds, not all it ever held. Returns how many were dropped. */
size_t census_forget_unseen(struct census *c, long now_ms,
			    void (*fn)(const struct census_entry *e, void *ctx), void *ctx);

/* A socket with a remote endpoint: it carried (or tried to carry: SYN-SENT counts) a flow
 * off the host. TCP in any state but LISTEN, or UDP, with a remote port. Accepted
 * connections on a VMM listener count too (fail closed: the listener says why). */
bool census_entry_is_egress(const struct census_entry *e);

/* A TCP listening socket: the VMM accepts from the host's network (a published port,
 * a bypass of its own), not egress. */
bool census_entry_is_listener(const struct census_entry *e);

/* The remote address as the host dialled it: 4 bytes for IPv4 (a dual-stack socket's
 * ::ffff:a.b.c.d too), 16 for IPv6; *addr points into e. Returns 4 or 16. */
size_t census_entry_remote(const struct census_entry *e, const unsigned char **addr);

/* Is the remote (as census_entry_remote reads it) inside a prefix of set (may be NULL)? */
struct bv_cidr_set;
bool census_entry_remote_in(const struct census_entry *e, const struct bv_cidr_set *set);

/* "tcp 10.0.0.2:41234 -> 192.0.2.10:8888 ESTABLISHED inode 1234 seen 120-480 ms"
 * ("[::1]:80" for IPv6, "*:*" for no remote), truncated to len. */
void census_entry_format(const struct census_entry *e, char *buf, size_t len);

#endif
