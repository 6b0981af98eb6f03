/* error.c - see error.h */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void error_vformat(struct bv_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code > 0 ? code : (code < 0 ? -code : 1);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int bv_error_set(struct bv_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err)
		error_vformat(err, code, fmt, ap);
	va_end(ap);
	return code > 0 ? -code : (code < 0 ? code : -1);
}

int bv_error_errno(struct bv_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err) {
		error_vformat(err, code, fmt, ap);
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(err->code));
	}
	va_end(ap);
	return code > 0 ? -code : (code < 0 ? code : -1);
}

int bv_error_wrap(struct bv_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[BV_ERROR_MSG_MAX];
	char old[BV_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* Truncation is fine here: the outer context comes first and matters most. */
	size_t n = strnlen(prefix, sizeof err->msg - 1);
	memcpy(err->msg, prefix, n);
	size_t room = sizeof err->msg - n;
	if (room > 2) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
		size_t m = strnlen(old, sizeof err->msg - n - 1);
		memcpy(err->msg + n, old, m);
		n += m;
	}
	err->msg[n] = '\0';
	if (err->code == 0)
		err->code = 1;
	return -err->code;
}

void bv_error_clear(struct bv_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
