/* usage.c - naming a command line's mistake (usage.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/report.h"
#include "core/usage.h"

/* The argument getopt_long stopped at: optind has moved past it (or past its value). */
static const char *offending(char **argv)
{
	const char *a = argv[optind - 1];
	return a ? a : "";
}

int usage_getopt_error(int opt, char **argv, const struct option *opts, struct bv_error *err)
{
	if (opt == ':') {
		for (const struct option *o = opts; o->name; o++)
			if (optopt && o->val == optopt)
				return bv_error_set(err, EINVAL, "option '--%s' needs a value", o->name);
		return bv_error_set(err, EINVAL, "option '%s' needs a value", offending(argv));
	}
	if (optopt && optopt != '?') {
		for (const struct option *o = opts; o->name; o++)
			if (o->val == optopt && o->has_arg == no_argument && strchr(offending(argv), '='))
				return bv_error_set(err, EINVAL, "option '--%s' takes no value", o->name);
		if (offending(argv)[0] == '-' && offending(argv)[1] != '-')
			return bv_error_set(err, EINVAL, "unknown option '-%c'", optopt);
	}
	return bv_error_set(err, EINVAL, "unknown option '%s'", offending(argv));
}

int usage_fail(const char *prog, const struct bv_error *err, int json)
{
	fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, err->msg, prog);
	if (json) {
		struct bv_report *r = report_new("usage", false);
		struct bv_error e = *err;
		bv_error_wrap(&e, "usage");
		if (r) {
			report_error(r, &e);
			(void)report_emit(r, BV_FORMAT_JSON, stdout);
			report_free(r);
		}
	} else {
		fputs("TAP version 13\n1..0\nBail out! usage: ", stdout);
		for (const char *p = err->msg; *p; p++)
			putchar(*p == '\n' ? ' ' : *p);
		putchar('\n');
	}
	fflush(stdout);
	return 2;
}
