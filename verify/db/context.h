/* context.h - shared state of the db checks (audit.c, row.c) and how they add points.
 * One context per run: the report, the options, the parsed record, and which
 * prerequisite failed so that every dependent point says why it is inconclusive. */
#ifndef BV_VERIFY_DB_CONTEXT_H
#define BV_VERIFY_DB_CONTEXT_H

#include "db/audit.h"
#include "smolvm/record.h"

struct db_ctx {
	struct bv_report *r;
	const struct db_check_opts *o;
	char version_text[32];
	struct vm_record rec;
	bool have_record;
	const char *blocked_by; /* id of the failed prerequisite, or NULL */
};

/* Add a point with the standard YAML fields; expected/actual/remediation may be NULL. */
struct bv_point *db_point(struct db_ctx *c, const char *id, enum bv_status st, const char *desc,
			  const char *expected, const char *actual, const char *remediation);

/* A check that needs the record: when it could not be read, add the point saying which
 * prerequisite (c->blocked_by) failed and return true, so the check returns at once. */
bool db_blocked(struct db_ctx *c, const char *id, const char *desc);

/* The check is ok when found is empty; otherwise not ok with found as what was seen. */
void db_point_unless(struct db_ctx *c, const char *id, const char *desc, const char *expected,
		     const char *found, const char *remediation);

#endif
