/* pressure.h - bottle-probe's pressure flows: N TCP connections to one destination,
 * opened before any probe starts and held while the probes try, so the denied probes meet
 * a busy gateway (one that fails open when its flow table fills; docs/probe.md). */
#ifndef BV_VERIFY_PROBE_PRESSURE_H
#define BV_VERIFY_PROBE_PRESSURE_H

#include <stddef.h>

#include "plan.h"

struct pressure {
	int *fds;          /* the connected flows (-1: failed) */
	size_t n;          /* flows asked */
	size_t connected;  /* completed handshakes, held */
	size_t failed;     /* refused, reset or still pending at the wait's end (closed) */
};

/* Open plan->pressure flows to the address of the plan's probe pressure_id and wait until
 * each has connected or failed, at most wait_ms. 0 (a plan without pressure: nothing), or
 * -1 when the flows could not even be tried (out of memory, epoll): none held. */
int pressure_open(const struct plan *plan, unsigned wait_ms, struct pressure *out);
/* Close every held flow (no probe tries any more, or the run ended); again: a no-op. */
void pressure_close(struct pressure *pr);

#endif
