/* around.h - the class "around-allowed": addresses next to each allowed prefix.
 * An allowlist enforced as a wider prefix than written (a /32 taken as its /24 or /16)
 * lets the guest reach its neighbours; these destinations are where that shows. */
#ifndef BV_VERIFY_EGRESS_AROUND_H
#define BV_VERIFY_EGRESS_AROUND_H

#include "core/cidr.h"
#include "core/error.h"
#include "egress/policy.h"

#define AROUND_CLASS "around-allowed"

/* For each prefix of allowed: the address just below it and just above it; for IPv4 also
 * .1 and .254 of its /24 and the same host in the next /24 of its /16, each one outside
 * every allowed prefix and listed once. TCP, at the port of the policy's first control
 * (443 without one). A sink is bound only where it can be (the host holds the address,
 * as a test's namespace does, and nothing listens there); elsewhere the gateway's record
 * and the census judge it. 0, or -EINVAL when the policy is full (err says so). */
int policy_add_around(struct policy *p, const struct bv_cidr_set *allowed, struct bv_error *err);

#endif
