/* alias_pool.h - per-bottle loopback aliases from the pool 127.0.0.16-127.0.0.31.
 * One lease file per alias in a lease dir, taken and released under an exclusive flock;
 * lowest free first, stale leases reclaimed (the caller says what stale means). */
#ifndef BV_LAUNCH_ALIAS_POOL_H
#define BV_LAUNCH_ALIAS_POOL_H

#include <stdbool.h>

#include "core/error.h"

#define ALIAS_POOL_FIRST 16 /* 127.0.0.16 */
#define ALIAS_POOL_LAST 31  /* 127.0.0.31, inclusive: 16 slots (bot-bottle PR #76) */
#define ALIAS_MACHINE_MAX 255

struct lease {
	char alias[16];                     /* "127.0.0.16" */
	char machine[ALIAS_MACHINE_MAX + 1]; /* the machine it is for */
	long long pid;                      /* the launcher that took it */
	unsigned long long start;           /* that launcher's start time (/proc stat field 22) */
	long long created;                  /* epoch seconds */
};

/* Is this lease stale (reclaimable)? Must fail closed: when unsure, false. */
typedef bool (*lease_stale_fn)(const struct lease *l, void *ctx);

/* Lease dir: dir, else $BOTTLE_LAUNCH_LEASE_DIR, else $HOME/.cache/bottle-launch (0700). */
int alias_pool_dir(const char *dir, char *out, size_t cap, struct bv_error *err);

/* mkdir -p the lease dir (0700 for what it creates): the DNS guard keeps its files there too. */
int alias_pool_make_dir(const char *dir, struct bv_error *err);

/* Take the lowest free alias for machine, reclaiming stale leases on the way (each said on
 * stderr). dry_run: compute it under the lock but write nothing. -EEXIST when machine
 * already holds a lease (alias_out says which), -EBUSY when all 16 are held (err names
 * the holders). */
int alias_pool_acquire(const char *dir, const char *machine, lease_stale_fn stale, void *ctx,
		       bool dry_run, char alias_out[16], struct bv_error *err);

/* Drop machine's lease, if any (1 released, 0 none). */
int alias_pool_release(const char *dir, const char *machine, struct bv_error *err);

/* Parse / format a lease file's text ("machine NAME\npid N\nstart N\ncreated N\n"). */
int lease_parse(const char *text, const char *alias, struct lease *out, struct bv_error *err);

#endif
