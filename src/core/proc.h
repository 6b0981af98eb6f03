/* proc.h - processes, without a shell anywhere.
 * Reads what /proc says of a pid (is the VMM a record names alive, and is it the same
 * process: start time), and runs argv-only children with bounded output and time. */
#ifndef BV_CORE_PROC_H
#define BV_CORE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* Field 22 of /proc/PID/stat (clock ticks since boot), as smolvm records it.
 * -ESRCH when there is no such process; -EINVAL when stat cannot be parsed. */
int proc_start_time(pid_t pid, unsigned long long *out, struct bv_error *err);

/* smolvm's agent.pid: "PID\n[START]". 1 and the fields when present, 0 when the file
 * does not exist, -EINVAL when it is unreadable or malformed. */
int proc_read_pidfile(const char *path, long long *pid, bool *has_start, unsigned long long *start,
		      struct bv_error *err);

/* Is pid a live process, and (when has_start) the very process that start names?
 * *alive false when there is no such process; an unreadable /proc entry counts as alive
 * (fail closed). */
void proc_identify(long long pid, bool has_start, unsigned long long start, bool *alive, bool *same);

/* /proc/PID/cmdline with NULs turned into spaces, malloc'd (at most 4 KiB). */
int proc_cmdline(pid_t pid, char **out, struct bv_error *err);

struct spawn_result {
	bool exited;     /* exited normally (else killed by a signal) */
	int status;      /* exit status, or the signal number */
	bool timed_out;  /* we killed it at the deadline */
	bool stopped;    /* we killed it because the watch said stop (spawn_capture_watch) */
	char *out;       /* stdout, NUL-terminated, malloc'd */
	size_t out_len;
	char *errout;    /* stderr, likewise */
	size_t errout_len;
	bool truncated;  /* output beyond max_out was discarded */
};

/* posix_spawnp(argv) with stdin from /dev/null, capture stdout and stderr up to
 * max_out bytes each, kill with SIGKILL after timeout_ms. -ENOENT when argv[0] is not
 * found; otherwise 0 and res filled, whatever the child's status. */
int spawn_capture(char *const argv[], int timeout_ms, size_t max_out, struct spawn_result *res,
		  struct bv_error *err);
/* spawn_capture, asking w->stop(w->ctx) about every w->every_ms while the child runs
 * (never more often, whatever the child writes): when it says true the child is killed (SIGKILL) and res->stopped
 * set. For a caller that can tell, from evidence of its own, that it needs no more of the
 * child's work. w NULL: spawn_capture. */
struct spawn_watch {
	bool (*stop)(void *ctx);
	void *ctx;
	int every_ms;
};
int spawn_capture_watch(char *const argv[], int timeout_ms, size_t max_out, const struct spawn_watch *w,
			struct spawn_result *res, struct bv_error *err);
void spawn_result_free(struct spawn_result *res);

/* posix_spawnp(argv) with stdout and stderr inherited (the caller's own), stdin from
 * /dev/null unless keep_stdin; wait for it, SIGKILL after timeout_ms (0: no limit).
 * *status: the exit status, or 128 + signal. 0, or -errno when it could not be run. */
int spawn_inherit(char *const argv[], bool keep_stdin, int timeout_ms, int *status, bool *timed_out,
		  struct bv_error *err);

/* posix_spawnp(argv) in a session of its own, stdin /dev/null, stdout and
 * stderr into out_path and err_path (created 0600, truncated, never through a symlink);
 * not waited for. 0 and *pid, or -errno. */
int spawn_detached(char *const argv[], const char *out_path, const char *err_path, pid_t *pid,
		   struct bv_error *err);

/* NAME in the directory of this very executable (/proc/self/exe), malloc'd; NULL when
 * that cannot be told. Our programs find each other there (build/ or the install dir). */
char *proc_self_sibling(const char *name);

#endif
