/* selfconfine.h - bottle-verify confines itself once its set-up is done (sinks bound and
 * stopped, the DB opened, every child spawned and reaped): from then on it may read,
 * judge and print, and nothing else. A syscall outside the list kills the process. */
#ifndef BV_VERIFY_SELFCONFINE_H
#define BV_VERIFY_SELFCONFINE_H

#include "core/error.h"

/* no_new_privs + a libseccomp allowlist (SCMP_ACT_KILL_PROCESS). 0; 1 when running under
 * valgrind (which cannot run a seccomp filter), unconfined; -errno with err set (the caller
 * reports it as an error: exit 2). */
int selfconfine(struct bv_error *err);
/* The same, with more: SELFCONFINE_SOCK_DIAG lets `watch` keep its census (socket() of
 * AF_NETLINK/NETLINK_SOCK_DIAG only, and the I/O on it) and poll its stopper's pipe. */
#define SELFCONFINE_SOCK_DIAG 1u
int selfconfine_with(unsigned flags, struct bv_error *err);

#endif
