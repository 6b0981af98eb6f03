/* watcher.h - `bottle-launch up --watch`: a `bottle-verify watch` beside the bottle.
 * up starts it once the bottle is proven, in a session of its own, its TAP into the lease
 * dir; down (or a failed up) ends it with SIGTERM, so its stream closes with its plan. */
#ifndef BV_LAUNCH_WATCHER_H
#define BV_LAUNCH_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

#define WATCHER_READY_MS 10000 /* how long its first pass may take to show */
#define WATCHER_STOP_MS 5000   /* how long it may take to end after SIGTERM */

struct watcher {
	char tap[4096];     /* its stdout: the watch's TAP */
	char err[4096];     /* its stderr */
	char pidfile[4096]; /* "PID\nSTART\n" (start time: /proc/PID/stat field 22) */
};

/* Where NAME's watch keeps its files in lease_dir ("watch-SLUG-HASH.*"). */
int watcher_plan(const char *lease_dir, const char *name, struct watcher *w, struct bv_error *err);
/* Start argv (bottle-verify watch ...), record its pid, wait until its first pass shows in
 * its TAP. 0 and *pid; -errno with err saying what it printed when it ended at once. */
int watcher_start(const struct watcher *w, char *const argv[], pid_t *pid, struct bv_error *err);
/* End the watch the pid file names (only when /proc says it is that very process, a
 * bottle-verify watch): SIGTERM, then SIGKILL after WATCHER_STOP_MS. 1 when one was
 * ended, 2 when the pid file names none (it ended by itself: --stop-on-finding, the VMM's
 * end), 0 when there is no pid file (none was started); -errno. The pid file goes, the
 * TAP stays. */
int watcher_stop(const struct watcher *w, struct bv_error *err);
/* What the watch's TAP says: its points not ok (TODO aside), and whether it ended (its
 * plan is there). -errno when it cannot be read. */
int watcher_findings(const struct watcher *w, size_t *not_ok, bool *ended, struct bv_error *err);

#endif
