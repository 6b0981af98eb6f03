/* dnsguard.h - the bottle's DNS guard: a dnsmasq that ends the bottle's DNS on the host.
 * smolvm >= 1.2.5 forwards every guest DNS query to the row's `dns` (--dns); bottle-launch
 * points it at a dnsmasq of the bottle's own that answers only the allowed names, answers
 * NXDOMAIN to everything else, forwards nothing and logs every query (docs/launch.md). */
#ifndef BV_LAUNCH_DNSGUARD_H
#define BV_LAUNCH_DNSGUARD_H

#include <stdbool.h>

#include "core/error.h"

#define DNSGUARD_ALLOW_MAX 32

struct dnsguard {
	char addr[16];      /* IPv4 (smolvm's dns is an Ipv4Addr): 127.83.X.53 unless chosen */
	bool addr_chosen;   /* --dns-guard-addr: never moved to another address */
	char log[4096];     /* dnsmasq's query log: the guard's record */
	char pidfile[4096];
};

struct dnsguard_opts {
	const char *dnsmasq;     /* the binary (NULL: dnsmasq on PATH, else in /usr/local/sbin,
				  * /usr/sbin or /sbin) */
	const char *user;        /* run as (when root; NULL: nobody) */
	const char *const *allow; /* "NAME=IPV4" names it answers, NULL-terminated, or NULL */
};

/* Where NAME's guard lives: addr (NULL: 127.83.O.53, O from the name's slug, moved on past
 * addresses whose port 53 is taken), its log and pid file in lease_dir, named by the slug
 * and a hash of the exact name (two names with one slug never share them). */
int dnsguard_plan(const char *lease_dir, const char *name, const char *addr, struct dnsguard *g,
		  struct bv_error *err);
/* Start it (dnsmasq daemonizes once it has bound: its exit status says whether it did),
 * then ask it one query for a fresh name and insist on its NXDOMAIN and on the name in its
 * record. -EEXIST when a guard for this name already runs. A chosen-by-us address taken
 * meanwhile (another up) moves on to the next. On failure nothing is left running. */
int dnsguard_start(struct dnsguard *g, const struct dnsguard_opts *o, struct bv_error *err);
/* Stop the dnsmasq g->pidfile names (only when /proc says it is that guard). 0 when none
 * runs; -EIO when it would not stop within 2 s. The log is kept. */
int dnsguard_stop(const struct dnsguard *g, struct bv_error *err);

#endif
