/* context.c - see context.h: the two ways a db check adds its point. */
#include "db/context.h"

#include <stdio.h>

struct bv_point *db_point(struct db_ctx *c, const char *id, enum bv_status st, const char *desc,
			  const char *expected, const char *actual, const char *remediation)
{
	struct bv_finding f = { .id = id, .status = st, .description = desc,
				.expected = expected, .actual = actual,
				.remediation = remediation, .smolvm_version = c->version_text };
	return report_add_finding(c->r, &f);
}

bool db_blocked(struct db_ctx *c, const char *id, const char *desc)
{
	if (c->have_record)
		return false;
	struct bv_point *p = report_add(c->r, id, BV_INCONCLUSIVE, desc);
	point_set_blocked_by(p, c->blocked_by);
	return true;
}

void db_point_unless(struct db_ctx *c, const char *id, const char *desc, const char *expected,
		     const char *found, const char *remediation)
{
	if (!found[0])
		db_point(c, id, BV_OK, desc, NULL, NULL, NULL);
	else
		db_point(c, id, BV_NOT_OK, desc, expected, found, remediation);
}
