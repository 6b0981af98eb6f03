/* transport.h - how the probe gets into a bottle and its report gets out.
 * netns: run bottle-probe inside a network namespace (a name under /run/netns or a
 * /proc/PID/ns/net path) with the plan on stdin; the caller stays in its own namespace,
 * where the sinks listen. No shell: fork, setns, execve. */
#ifndef BV_TRANSPORT_H
#define BV_TRANSPORT_H

#include <stddef.h>

#include "error.h"
#include "proc.h"

struct transport {
	const char *netns; /* "NAME" (under /run/netns) or an absolute ns path */
	const char *probe; /* host path of the bottle-probe binary */
};

/* Run the probe with plan on stdin; capture up to 1 MiB of stdout and 64 KiB of stderr;
 * kill it after timeout_ms. 0 and res filled whatever the probe's status; -errno when it
 * could not be started (res then says nothing). */
int transport_run_probe(const struct transport *t, const char *plan, size_t plan_len,
			int timeout_ms, struct spawn_result *res, struct bv_error *err);

#endif
