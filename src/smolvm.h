/* smolvm.h - driving the smolvm CLI: argv only, bounded time and output.
 * For now: find the binary on PATH and read its version. Later issues add
 * machine create/start/stop/exec with smolvm's exit-code conventions. */
#ifndef BV_SMOLVM_H
#define BV_SMOLVM_H

#include "error.h"
#include "version.h"

/* Resolve bin ("smolvm" or a path) against PATH. 0 and a malloc'd absolute path, or
 * -ENOENT. */
int smolvm_find(const char *bin, char **path, struct bv_error *err);

/* Run `BIN --version` (5 s limit) and parse it. 0 with v->known set; -ENOENT when not
 * found; -EINVAL when the output is not a version; -ETIMEDOUT; -EIO on a non-zero exit.
 * raw (may be NULL) receives the first line printed, malloc'd. */
int smolvm_version(const char *bin, struct bv_version *v, char **raw, struct bv_error *err);

#endif
