/* audit.h - `bottle-verify db`: what a machine's row in smolvm's DB says it will boot with.
 * Opens the DB read-only in one read transaction, checks the row strictly, and adds one
 * TAP point per check (ids in docs/checks.md); dependent checks become inconclusive. */
#ifndef BV_VERIFY_DB_AUDIT_H
#define BV_VERIFY_DB_AUDIT_H

#include "core/cidr.h"
#include "core/report.h"
#include "smolvm/version.h"

struct db_check_opts {
	const char *db_path;             /* smolvm.db */
	const char *data_dir;            /* the machine's data dir (agent.config.json) */
	const char *name;                /* machine name */
	const struct bv_cidr_set *expect; /* the exact allowlist expected */
	const char *const *expect_hosts;  /* expected dns_filter_hosts (NULL-terminated) or NULL */
	const char *const *accept_bypass; /* bypass fields the operator accepts, or NULL */
	const struct bv_version *version; /* detected smolvm version (known may be false) */
	const char *dns_guard;            /* the DNS guard's address the row's dns must name,
	                                   * or NULL (no db.dns.guard point) */
};

/* Adds the points; returns 0, or -ENOMEM when the report could not be filled. */
int check_db(struct bv_report *r, const struct db_check_opts *o);

#endif
