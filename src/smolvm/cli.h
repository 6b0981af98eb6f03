/* cli.h - driving the smolvm CLI: argv only, bounded time and output, no shell.
 * Finds the binary, reads its version, and runs one smolvm command as a step whose
 * non-zero exit (smolvm: 1 its own error, 2 usage, 124 exec timeout) is an error. */
#ifndef BV_SMOLVM_CLI_H
#define BV_SMOLVM_CLI_H

#include "core/error.h"
#include "smolvm/version.h"

/* Resolve bin ("smolvm" or a path) against PATH. 0 and a malloc'd absolute path, or
 * -ENOENT. */
int smolvm_find(const char *bin, char **path, struct bv_error *err);

/* Run `BIN --version` (5 s limit) and parse it. 0 with v->known set; -ENOENT when not
 * found; -EINVAL when the output is not a version; -ETIMEDOUT; -EIO on a non-zero exit.
 * raw (may be NULL) receives the first line printed, malloc'd. A version read is kept for
 * the process (the same path, inode, size and times give it again); a failure is not. */
int smolvm_version(const char *bin, struct bv_version *v, char **raw, struct bv_error *err);

/* Run one smolvm command (argv[0] the binary, NULL-terminated) for at most timeout_ms,
 * output captured. 0 when it exited 0; otherwise -EIO naming the command with its
 * status and the start of its stderr. *status gets the exit status (124 when our bound
 * ran out, 128+N for signal N). -errno when it could not be run at all. */
int smolvm_step(const char *const argv[], int timeout_ms, int *status, struct bv_error *err);

#endif
