/* confine.h - parse the guest's report in a child that can do almost nothing.
 * The child gets no_new_privs and a libseccomp allowlist (read its pipe, write its result,
 * memory, exit); any other syscall kills it, and the run becomes inconclusive. */
#ifndef BV_VERIFY_EGRESS_CONFINE_H
#define BV_VERIFY_EGRESS_CONFINE_H

#include "egress/probe_report.h"

/* probe_report_parse, run in a confined child. Same contract; -ECHILD with err set when
 * the child died (a forbidden syscall: SIGSYS) or answered badly. */
int probe_report_parse_confined(const char *text, size_t len, const struct plan *plan,
				struct probe_result *results, struct bv_error *err);

/* Tests only: called in the child after the filter is installed, before parsing. */
extern void (*confine_test_hook)(void);

#endif
