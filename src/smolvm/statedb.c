/* statedb.c - see statedb.h */
#include "smolvm/statedb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int sqlite_fail(struct bv_error *err, sqlite3 *db, int rc, const char *what)
{
	/* (EBADMSG: a file that is not an SQLite database at all) */
	int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EBUSY
		   : rc == SQLITE_NOMEM			   ? ENOMEM
		   : rc == SQLITE_READONLY || rc == SQLITE_PERM ? EACCES
		   : (rc & 0xff) == SQLITE_NOTADB		   ? EBADMSG
							       : EIO;
	return bv_error_set(err, code, "%s: %s", what,
			    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* stat first: sqlite3_open_v2 without SQLITE_OPEN_CREATE would also refuse, but this
 * gives the user "does not exist" instead of "unable to open database file". */
static int statedb_open(const char *path, int flags, sqlite3 **out, struct bv_error *err)
{
	struct stat st;
	*out = NULL;
	if (stat(path, &st) < 0)
		return bv_error_errno(err, errno, "state DB %s", path);
	if (!S_ISREG(st.st_mode))
		return bv_error_set(err, EINVAL, "state DB %s is not a regular file", path);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = sqlite_fail(err, db, rc, "open state DB");
		sqlite3_close(db);
		return r;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STATEDB_BUSY_TIMEOUT_MS);
	*out = db;
	return 0;
}

int statedb_open_readonly(const char *path, sqlite3 **out, struct bv_error *err)
{
	return statedb_open(path, SQLITE_OPEN_READONLY, out, err);
}

int statedb_open_readwrite(const char *path, sqlite3 **out, struct bv_error *err)
{
	return statedb_open(path, SQLITE_OPEN_READWRITE, out, err);
}

void statedb_close(sqlite3 *db)
{
	sqlite3_close(db);
}

int statedb_exec(sqlite3 *db, const char *sql, struct bv_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	int r = bv_error_set(err, (rc & 0xff) == SQLITE_BUSY ? EBUSY : EIO, "%s: %s", sql,
			     msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return r;
}

/* Columns col (typeof(data)) and col + 1 (data) of the current row. */
static int row_fill(sqlite3_stmt *st, int col, struct statedb_row *row, struct bv_error *err)
{
	const unsigned char *type = sqlite3_column_text(st, col);
	snprintf(row->column_type, sizeof row->column_type, "%s", type ? (const char *)type : "?");
	const void *blob = sqlite3_column_blob(st, col + 1);
	int n = sqlite3_column_bytes(st, col + 1);
	row->found = true;
	row->len = n > 0 ? (size_t)n : 0;
	row->data = malloc(row->len + 1);
	if (!row->data)
		return bv_error_set(err, ENOMEM, "out of memory");
	if (row->len)
		memcpy(row->data, blob, row->len);
	row->data[row->len] = '\0';
	return 0;
}

/* prepare, telling a missing vms table (-ENOENT) from other failures. */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct bv_error *err)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc == SQLITE_OK)
		return 0;
	const char *m = sqlite3_errmsg(db);
	if (strstr(m, "no such table"))
		return bv_error_set(err, ENOENT, "state DB has no vms table (%s)", m);
	return sqlite_fail(err, db, rc, "prepare select");
}

int statedb_select_row(sqlite3 *db, const char *name, struct statedb_row *row,
		       struct bv_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(row, 0, sizeof *row);
	int r = prepare(db, "SELECT typeof(data), data FROM vms WHERE name = ?1", &st, err);
	if (r < 0)
		return r;
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = sqlite_fail(err, db, SQLITE_NOMEM, "bind name");
		goto out;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_fill(st, 0, row, err);
	else if (rc != SQLITE_DONE)
		r = sqlite_fail(err, db, rc, "select row");
	if (r == 0 && rc == SQLITE_ROW && sqlite3_step(st) != SQLITE_DONE)
		r = bv_error_set(err, EIO, "more than one row for machine %s", name);
out:
	sqlite3_finalize(st);
	return r;
}

int statedb_read_row(sqlite3 *db, const char *name, struct statedb_row *row,
		     struct bv_error *err)
{
	int r = statedb_exec(db, "BEGIN", err);
	if (r < 0)
		return r;
	r = statedb_select_row(db, name, row, err);
	struct bv_error ignored;
	if (statedb_exec(db, r < 0 ? "ROLLBACK" : "COMMIT", r < 0 ? &ignored : err) < 0 && r == 0)
		r = -EIO;
	return r;
}

static int each_row(sqlite3 *db, statedb_row_fn fn, void *ctx, struct bv_error *err)
{
	sqlite3_stmt *st = NULL;
	int r = prepare(db, "SELECT name, typeof(data), data FROM vms", &st, err);
	int rc = SQLITE_DONE;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct statedb_row row = { 0 };
		const unsigned char *name = sqlite3_column_text(st, 0);
		r = row_fill(st, 1, &row, err);
		if (r == 0)
			r = fn(name ? (const char *)name : "", &row, ctx, err);
		statedb_row_free(&row);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqlite_fail(err, db, rc, "select rows");
	sqlite3_finalize(st);
	return r;
}

int statedb_each_row(sqlite3 *db, statedb_row_fn fn, void *ctx, struct bv_error *err)
{
	int r = statedb_exec(db, "BEGIN", err);
	if (r < 0)
		return r;
	r = each_row(db, fn, ctx, err);
	struct bv_error ignored;
	if (statedb_exec(db, r < 0 ? "ROLLBACK" : "COMMIT", r < 0 ? &ignored : err) < 0 && r == 0)
		r = -EIO;
	return r;
}

void statedb_row_free(struct statedb_row *row)
{
	if (!row)
		return;
	free(row->data);
	memset(row, 0, sizeof *row);
}

int statedb_update_blob(sqlite3 *db, const char *name, const unsigned char *data, size_t len,
			struct bv_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "UPDATE vms SET data = ?1 WHERE name = ?2", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(err, db, rc, "prepare update");
	int r = 0;
	if (sqlite3_bind_blob64(st, 1, data, len, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = sqlite_fail(err, db, SQLITE_NOMEM, "bind update");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		r = sqlite_fail(err, db, rc, "update row");
	else if (sqlite3_changes(db) != 1)
		r = bv_error_set(err, EIO, "update changed %d rows, expected 1", sqlite3_changes(db));
out:
	sqlite3_finalize(st);
	return r;
}
