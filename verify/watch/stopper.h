/* stopper.h - `watch --stop-on-finding`'s hand on the machine: `smolvm machine stop`.
 * The watch confines itself (no exec, no fork) before it follows the bottle, so a helper
 * process is forked first; it waits on a pipe, runs the stop once when asked (argv, no
 * shell) and writes back how it went. An orderly end of the watch says goodbye first; a
 * pipe that closes without one means the watch died, and the helper stops the machine. */
#ifndef BV_VERIFY_WATCH_STOPPER_H
#define BV_VERIFY_WATCH_STOPPER_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

#define STOPPER_TIMEOUT_MS 60000 /* how long the stop may take before it is killed */
#define STOPPER_STOP 's'           /* the watch asks for the stop */
#define STOPPER_BYE 'q'            /* the watch ends in order: no stop */

struct stopper_result {
	bool ran;       /* smolvm could be run */
	bool exited;    /* it exited (else a signal, or killed at the timeout) */
	bool timed_out;
	int status;     /* exit status or signal */
	long took_ms;
	char said[240]; /* the start of its stderr (or why it could not run) */
};

struct stopper {
	pid_t pid;      /* the helper, 0 when none */
	int ask_fd;     /* write one byte: stop now */
	int answer_fd;  /* one struct stopper_result comes back (non-blocking) */
	bool asked, answered;
	struct stopper_result result;
};

/* Fork the helper for `SMOLVM machine stop --name NAME` (every smolvm from 0.8.0 takes
 * --name on stop). Call before confining. 0 or -errno with err set. */
int stopper_start(struct stopper *s, const char *smolvm, const char *name, struct bv_error *err);
/* Ask for the stop (once; later calls do nothing). 0 or -errno. */
int stopper_ask(struct stopper *s);
/* Has the answer come? true once it has (s->result filled); never blocks. */
bool stopper_answered(struct stopper *s);
/* The watch's orderly end: say goodbye (unless a stop was asked) and close the pipes; the
 * helper exits (after a stop under way). Safe on a zeroed stopper. */
void stopper_close(struct stopper *s);

#endif
