/* alias_pool.h - one address per bottle: leases, and the loopback alias pool 127.0.0.16-31.
 * One lease file per address in a lease dir, taken and released under an exclusive flock:
 * an --allow address takes its own, --alias auto the lowest free alias of the pool. An
 * address another machine holds, by a lease or by its allowlist, is never handed out. */
#ifndef BV_LAUNCH_ALIAS_POOL_H
#define BV_LAUNCH_ALIAS_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define ALIAS_POOL_FIRST 16 /* 127.0.0.16 */
#define ALIAS_POOL_LAST 31  /* 127.0.0.31, inclusive: 16 slots (bot-bottle PR #76) */
#define ALIAS_POOL_SIZE (ALIAS_POOL_LAST - ALIAS_POOL_FIRST + 1)
#define ALIAS_MACHINE_MAX 255
#define LEASE_ADDR_MAX 46   /* INET6_ADDRSTRLEN: "127.0.0.16", "2001:db8::1" */

struct lease {
	char addr[LEASE_ADDR_MAX];          /* the address it is for, its file's name */
	char machine[ALIAS_MACHINE_MAX + 1]; /* the machine it is for */
	long long pid;                      /* the launcher that took it */
	unsigned long long start;           /* that launcher's start time (/proc stat field 22) */
	long long created;                  /* epoch seconds */
};

/* Is this lease stale (reclaimable)? Must fail closed: when unsure, false. */
typedef bool (*lease_stale_fn)(const struct lease *l, void *ctx);

/* Who else's allowlist covers addr: 1 with the machine in owner (and, in how, the entry
 * that covers it), 0 when no other machine's does, a negative errno (err filled) when
 * that cannot be known: the acquisition then fails (fail closed). */
struct addr_owner {
	char machine[ALIAS_MACHINE_MAX + 1];
	char how[96];                       /* "its allowlist has 127.0.0.16/32" */
	bool by_allowlist;                  /* set by alias_pool, not by the callback */
};
typedef int (*addr_taken_fn)(const char *addr, void *ctx, struct addr_owner *owner, struct bv_error *err);

struct lease_req {
	const char *dir;
	const char *machine;
	const char *addr;       /* an explicit address ("192.0.2.10"), or NULL: a pool alias */
	lease_stale_fn stale;   /* NULL: no lease is stale */
	void *stale_ctx;
	addr_taken_fn taken;    /* NULL: no allowlist is consulted */
	void *taken_ctx;
	bool dry_run;           /* decide under the lock, write nothing */
};

struct lease_grant {
	char addr[LEASE_ADDR_MAX];
	bool kept;              /* the machine held it already (its lease now names this
				 * launcher): not this launch's to release when it fails */
	size_t n_reclaimed;     /* stale leases of others reclaimed (dry run: would be) */
	struct lease reclaimed[ALIAS_POOL_SIZE];
};

/* Lease dir: dir, else $BOTTLE_LAUNCH_LEASE_DIR, else $HOME/.cache/bottle-launch (0700). */
int alias_pool_dir(const char *dir, char *out, size_t cap, struct bv_error *err);

/* mkdir -p the lease dir (0700 for what it creates): the DNS guard keeps its files there too. */
int alias_pool_make_dir(const char *dir, struct bv_error *err);

/* Lease req->addr, or the lowest free pool alias, for req->machine. Another machine's
 * stale lease on the way is reclaimed (listed in out). A machine holds one lease: the one
 * it holds already is granted again (out->kept) when it is the address asked for (or, for
 * a pool alias, is in the pool). Errors, err saying what to do:
 * -EEXIST  the machine holds the lease of another address (out->addr says which);
 * -EBUSY   req->addr is held by another machine's lease or covered by its allowlist (err
 *          names that machine), or every pool alias is (err names the holders);
 * -EINVAL  a machine name or address unusable in a lease; and req->taken's errors. */
int alias_pool_acquire(const struct lease_req *req, struct lease_grant *out, struct bv_error *err);

/* Drop every lease naming machine (count released, 0 none). */
int alias_pool_release(const char *dir, const char *machine, struct bv_error *err);

/* Parse a lease file's text ("machine NAME\npid N\nstart N\ncreated N\n"). */
int lease_parse(const char *text, const char *addr, struct lease *out, struct bv_error *err);

#endif
