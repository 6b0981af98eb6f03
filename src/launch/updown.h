/* updown.h - `bottle-launch up` and `down`: a bottle from nothing to proven, and back.
 * up: preflight, allowlist (the address's lease), create, enforce, start, exec-ready, bottle-verify
 * all, hand-over; on any failure after create: stop, delete -f, release, non-zero exit. */
#ifndef BV_LAUNCH_UPDOWN_H
#define BV_LAUNCH_UPDOWN_H

#include "launch/plan.h"
#include "launch/result.h"

/* Both return the process exit status: 0 done, 1 refused / a finding / torn down after a
 * failed verification, 2 an error (or an inconclusive verification). Progress and
 * reasons go to stderr; the verifier's TAP and the result line to stdout, or with
 * r->json nothing: res (may be NULL) gets what was done (launch/result.h; the caller
 * prints and frees it). */
int launch_up(const struct launch_req *r, struct launch_result *res);
int launch_down(const struct launch_req *r, struct launch_result *res);

/* The bottle-verify that up and preflight run when --verify names none: the one beside
 * this bottle-launch (build/ or the install dir) when it is executable, else the name
 * "bottle-verify", found on PATH. malloc'd; NULL when out of memory. */
char *launch_default_verify(void);

#endif
