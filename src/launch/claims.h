/* claims.h - the addresses other machines' allowlists already cover, read from smolvm's DB.
 * One address per bottle: `up` refuses an address (and `--alias auto` skips a pool
 * address) that another machine could reach, whoever made that machine. Read-only. */
#ifndef BV_LAUNCH_CLAIMS_H
#define BV_LAUNCH_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"
#include "core/error.h"
#include "launch/alias_pool.h"

struct claim {
	char *machine;             /* vms.name, malloc'd */
	struct bv_cidr_set allow;  /* its allowed_cidrs (empty when null or absent) */
};

struct claims {
	struct claim *items;
	size_t len, cap;
};

/* Every machine's allowlist but self's (the machine being launched: a re-launch of a
 * name never conflicts with its own row). A missing DB or vms table means no machine: 0
 * and none. Fail closed otherwise: a DB that cannot be read, or a row whose record or
 * allowed_cidrs cannot be parsed (err names the machine), is an error, never "none". */
int claims_load(const char *db_path, const char *self, struct claims *out, struct bv_error *err);

/* The first claim whose allowlist covers addr (an entry equal to it or containing it,
 * same family), and that entry in *entry; NULL when none does. */
const struct claim *claims_find(const struct claims *c, const struct bv_cidr *addr,
				const struct bv_cidr **entry);

void claims_free(struct claims *c);

/* alias_pool's addr_taken_fn over smolvm's DB: ctx is a struct claims_lookup, loaded at
 * the first call (so under the pool's lock) and freed by claims_lookup_free. */
struct claims_lookup {
	const char *db_path;
	const char *self;
	bool loaded;
	struct claims c;
};
int claims_taken(const char *addr, void *ctx, struct addr_owner *owner, struct bv_error *err);
void claims_lookup_free(struct claims_lookup *l);

#endif
