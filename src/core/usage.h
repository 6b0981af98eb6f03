/* usage.h - a command line's mistake, named: what getopt_long stopped at, in words, and
 * how every program reports it (the problem on stderr, `Bail out!` on stdout so the
 * output stays TAP, exit 2). */
#ifndef BV_CORE_USAGE_H
#define BV_CORE_USAGE_H

#include <getopt.h>

#include "core/error.h"

/* getopt_long returned opt ('?' or ':', with opterr = 0 and ":" leading the optstring)
 * while parsing argv: fill err with the mistake ("unknown option '--frob'", "option
 * '--format' needs a value") and return -EINVAL. */
int usage_getopt_error(int opt, char **argv, const struct option *opts, struct bv_error *err);

/* Print a usage error: "PROG: MSG" and a hint at --help on stderr; on stdout
 * "TAP version 13", "1..0" and "Bail out! usage: MSG" (JSON: a report of that error when
 * json). Returns 2, the exit status. */
int usage_fail(const char *prog, const struct bv_error *err, int json);

#endif
