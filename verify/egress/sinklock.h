/* sinklock.h - one egress run's sinks at a time on this host.
 * Sinks bind fixed host addresses and ports (the policy's), so two bottle-verify runs at
 * once would collide; the second waits for the first under an exclusive flock. */
#ifndef BV_VERIFY_EGRESS_SINKLOCK_H
#define BV_VERIFY_EGRESS_SINKLOCK_H

#include "core/error.h"

/* The lock file: $BOTTLE_VERIFY_LOCK, else $XDG_RUNTIME_DIR/bottle-verify.lock (when
 * absolute), else $HOME/.cache/bottle-verify.lock. Waits up to timeout_ms; says once on
 * stderr that it waits. Returns the held fd, or -errno (-ETIMEDOUT) with err set. */
int sinklock_take(int timeout_ms, struct bv_error *err);

/* Release (close) a lock taken by sinklock_take; fd < 0 is a no-op. */
void sinklock_release(int fd);

#endif
