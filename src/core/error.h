/* error.h - the error convention shared by every module.
 * A library function that can fail returns 0 (or a count) on success and a negative
 * errno on failure, after filling a bv_error with context; only main() prints it. */
#ifndef BV_CORE_ERROR_H
#define BV_CORE_ERROR_H

#include <stddef.h>

#define BV_ERROR_MSG_MAX 512

struct bv_error {
	int code;                   /* positive errno-style value, 0 when clear */
	char msg[BV_ERROR_MSG_MAX]; /* "outer context: inner context: cause" */
};

/* Fill err (may be NULL) and return -code, so callers write
 * `return bv_error_set(err, ENOENT, "open %s", path);`. */
int bv_error_set(struct bv_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like bv_error_set, appending ": strerror(code)". */
int bv_error_errno(struct bv_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix existing context: "new context: old message". Returns -err->code. */
int bv_error_wrap(struct bv_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void bv_error_clear(struct bv_error *err);

#endif
