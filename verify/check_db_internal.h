/* check_db_internal.h - shared state of the db checks (check_db.c, check_db_row.c).
 * One context per run: the report, the options, the parsed record, and which
 * prerequisite failed so that every dependent point says why it is inconclusive. */
#ifndef BV_CHECK_DB_INTERNAL_H
#define BV_CHECK_DB_INTERNAL_H

#include "check_db.h"
#include "record.h"

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

/* The point for a check that cannot run because c->blocked_by failed. */
void db_blocked(struct db_ctx *c, const char *id, const char *desc);

/* Row-content checks after the allowlist: bypass fields, unknown keys, env secrets,
 * the VMM and agent.config.json. */
void db_check_bypass(struct db_ctx *c);
void db_check_known_keys(struct db_ctx *c);
void db_check_env(struct db_ctx *c);
void db_check_vmm(struct db_ctx *c);
void db_check_agent_config(struct db_ctx *c);

#endif
