/* probe_path.h - where bottle-verify finds bottle-probe when --probe names none.
 * Beside its own binary first (build/, where make puts all three), then
 * ../lib/bottle-verify/ from there (make install: $(PREFIX)/bin and
 * $(PREFIX)/lib/bottle-verify, so a DESTDIR or a moved tree finds its own). */
#ifndef BV_VERIFY_EGRESS_PROBE_PATH_H
#define BV_VERIFY_EGRESS_PROBE_PATH_H

#include "core/error.h"

/* The bottle-probe of a bottle-verify whose binary is in DIR: DIR/bottle-probe when
 * executable, else DIR/../lib/bottle-verify/bottle-probe when executable (made absolute
 * and without "..", by realpath). 0 and *out malloc'd; -ENOENT naming both places (pass
 * --probe) or -ENOMEM, with err set. */
int probe_path_in(const char *dir, char **out, struct bv_error *err);

/* GIVEN (--probe) when not NULL, as it is; else probe_path_in for this very
 * executable's directory (/proc/self/exe, symlinks resolved). 0 and *out malloc'd, or
 * -errno with err set (-ENOENT also when /proc/self/exe cannot be read). */
int probe_path_find(const char *given, char **out, struct bv_error *err);

#endif
