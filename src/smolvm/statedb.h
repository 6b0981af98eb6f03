/* statedb.h - smolvm's SQLite state DB (vms table), opened the way smolvm expects.
 * Readers open read-only and never create the file; the one writer changes only a
 * machine's vms.data BLOB inside BEGIN IMMEDIATE. Busy timeout 15 s, as smolvm's. */
#ifndef BV_SMOLVM_STATEDB_H
#define BV_SMOLVM_STATEDB_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "core/error.h"

#define STATEDB_BUSY_TIMEOUT_MS 15000

struct statedb_row {
	bool found;
	char column_type[16]; /* typeof(data): "blob", "text", "null", ... */
	unsigned char *data;  /* the bytes, malloc'd; NULL when not found */
	size_t len;
};

/* Open read-only. -ENOENT (no file is created) when the DB does not exist, -EACCES,
 * -EIO for a file SQLite will not open. */
int statedb_open_readonly(const char *path, sqlite3 **out, struct bv_error *err);

/* Open read-write for the launcher; never creates the file. */
int statedb_open_readwrite(const char *path, sqlite3 **out, struct bv_error *err);

void statedb_close(sqlite3 *db);

/* SELECT typeof(data), data FROM vms WHERE name=?. Call inside a transaction.
 * -ENOENT when the vms table is missing (err says so); row->found false when no row. */
int statedb_select_row(sqlite3 *db, const char *name, struct statedb_row *row,
		       struct bv_error *err);

/* The whole read in one read transaction (BEGIN; SELECT; COMMIT). */
int statedb_read_row(sqlite3 *db, const char *name, struct statedb_row *row,
		     struct bv_error *err);

void statedb_row_free(struct statedb_row *row);

/* Called once per row by statedb_each_row; a negative return stops the walk. */
typedef int (*statedb_row_fn)(const char *name, const struct statedb_row *row, void *ctx,
			      struct bv_error *err);

/* Every machine's row (SELECT name, typeof(data), data FROM vms, as smolvm's list_vms in
 * src/db.rs @v1.9.3) in one read transaction. 0 when fn took them all (none is fine),
 * -ENOENT when the vms table is missing, fn's negative return, or a SQLite error. */
int statedb_each_row(sqlite3 *db, statedb_row_fn fn, void *ctx, struct bv_error *err);

/* Run a statement without results (BEGIN IMMEDIATE, COMMIT, ROLLBACK). */
int statedb_exec(sqlite3 *db, const char *sql, struct bv_error *err);

/* UPDATE vms SET data=? (bound as a BLOB) WHERE name=?; exactly one row must change. */
int statedb_update_blob(sqlite3 *db, const char *name, const unsigned char *data, size_t len,
			struct bv_error *err);

#endif
