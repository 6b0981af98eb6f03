/* census_diag.h - between census.c and census_diag.c: the socket dump joins the VMM's
 * inodes (census.c keeps them, sorted) with the kernel's TCP and UDP sockets and upserts
 * the entries. Internal to the census; callers use census.h. */
#ifndef BV_VERIFY_EGRESS_CENSUS_DIAG_H
#define BV_VERIFY_EGRESS_CENSUS_DIAG_H

#include <stdbool.h>

#include "egress/census.h"

/* Is ino one of the VMM's socket inodes from this pass's fd scan? */
bool census_is_vmm_inode(const struct census *c, unsigned long long ino);
/* Add or refresh the entry keyed like key (inode and both endpoints) as seen at now. */
int census_entry_upsert(struct census *c, const struct census_entry *key, long now);
/* "tcp", "udp", "icmp" or "?". */
const char *census_proto_name(int proto);
/* One pass of dumps (TCP, UDP; IPv4, IPv6): 0, or -errno with err set. */
int census_diag_all(struct census *c, long now, struct bv_error *err);
/* The VMM's ping sockets (census_ping.c: /proc/net/icmp, icmp6), as entries of proto
 * IPPROTO_ICMP in either family: 0, or -errno with err set. */
int census_ping_all(struct census *c, long now, struct bv_error *err);

#endif
