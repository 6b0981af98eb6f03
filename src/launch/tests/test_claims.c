/* What other machines' allowlists cover, read from a state DB made here: the machine being
 * launched is left out, a missing DB is no machine, an unreadable row refuses, and the
 * alias pool skips what a row names even with no lease for it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch/alias_pool.h"
#include "launch/claims.h"

static char dir[64], db_path[128];

static void row(const char *name, const char *data)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL)",
				  NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO vms VALUES (?1, ?2)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, data, (int)strlen(data), SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/bv-claims.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db_path, sizeof db_path, "%s/smolvm.db", dir);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (strncmp(dir, "/tmp/bv-claims.", 15) == 0)
		(void)!system(cmd); /* test cleanup only */
}

static void machines(void)
{
	row("hand", "{\"name\":\"hand\",\"allowed_cidrs\":[\"127.0.0.16/32\"]}");
	row("wide", "{\"name\":\"wide\",\"allowed_cidrs\":[\"10.0.0.0/8\"]}");
	row("open", "{\"name\":\"open\",\"allowed_cidrs\":null}");
	row("self", "{\"name\":\"self\",\"allowed_cidrs\":[\"127.0.0.17/32\"]}");
}

static const char *owner(const struct claims *c, const char *addr)
{
	struct bv_cidr a;
	cr_assert_eq(cidr_parse(addr, &a, NULL), 0);
	const struct claim *k = claims_find(c, &a, NULL);
	return k ? k->machine : "";
}

TestSuite(claims, .init = setup, .fini = teardown);

Test(claims, no_db_yet_is_no_machine)
{
	struct claims c;
	cr_assert_eq(claims_load(db_path, "self", &c, NULL), 0);
	cr_assert_eq(c.len, 0);
	cr_assert_neq(access(db_path, F_OK), 0, "read-only: no DB created");
}

Test(claims, every_allowlist_but_the_launched_machines_own)
{
	struct claims c;
	struct bv_error err = { 0 };
	machines();
	cr_assert_eq(claims_load(db_path, "self", &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(owner(&c, "127.0.0.16/32"), "hand");
	cr_assert_str_eq(owner(&c, "10.1.2.3/32"), "wide", "an entry containing the address covers it");
	cr_assert_str_eq(owner(&c, "127.0.0.17/32"), "", "a re-launch never conflicts with its own row");
	cr_assert_str_eq(owner(&c, "192.0.2.10/32"), "");
	claims_free(&c);
}

Test(claims, an_unreadable_row_refuses_naming_it)
{
	struct claims c;
	struct bv_error err = { 0 };
	machines();
	row("broken", "{\"allowed_cidrs\":[\"not a cidr\"]}");
	cr_assert_lt(claims_load(db_path, "self", &c, &err), 0);
	cr_assert(strstr(err.msg, "machine broken"), "%s", err.msg);
	cr_assert_eq(c.len, 0);
}

Test(claims, a_db_that_is_not_a_db_refuses)
{
	struct claims c;
	FILE *f = fopen(db_path, "w");
	fputs("this is not sqlite, and long enough to have a header of sorts............\n", f);
	fclose(f);
	cr_assert_lt(claims_load(db_path, "self", &c, NULL), 0);
}

/* The pool over the DB: .16 is in hand's allowlist (no lease names it), .17 in the
 * launched machine's own. */
Test(claims, the_pool_skips_what_a_row_names_without_a_lease)
{
	char leases[96];
	struct lease_grant g;
	struct bv_error err = { 0 };
	machines();
	snprintf(leases, sizeof leases, "%s/leases", dir);
	struct claims_lookup look = { .db_path = db_path, .self = "self" };
	struct lease_req q = { .dir = leases, .machine = "self", .taken = claims_taken, .taken_ctx = &look };
	cr_assert_eq(alias_pool_acquire(&q, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g.addr, "127.0.0.17");
	claims_lookup_free(&look);
	q.machine = look.self = "other";
	cr_assert_eq(alias_pool_acquire(&q, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g.addr, "127.0.0.18", ".16 hand's, .17 self's (its row and its lease)");
	claims_lookup_free(&look);
	q.addr = "127.0.0.16";
	q.machine = look.self = "third";
	cr_assert_eq(alias_pool_acquire(&q, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "machine hand (its allowlist has 127.0.0.16/32)"), "%s", err.msg);
	claims_lookup_free(&look);
}
