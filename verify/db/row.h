/* row.h - the db checks past the allowlist (row.c), called by audit.c in this order:
 * bypass fields, unknown keys, env secrets, the VMM the row names, and agent.config.json
 * against the row. Each adds its points to the context's report and never prints. */
#ifndef BV_VERIFY_DB_ROW_H
#define BV_VERIFY_DB_ROW_H

#include "db/context.h"

void db_check_bypass(struct db_ctx *c);
/* Is field one of the bypass channels db.bypass.* checks (what --accept-bypass may name)?
 * known_out (may be NULL) gets them, space-separated, for a message. */
bool db_bypass_known(const char *field, char *known_out, size_t cap);
void db_check_known_keys(struct db_ctx *c);
void db_check_env(struct db_ctx *c);
void db_check_vmm(struct db_ctx *c);
void db_check_agent_config(struct db_ctx *c);

#endif
