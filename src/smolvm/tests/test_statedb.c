/* The state DB reader/writer: never creates, sees WAL content, waits out writers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smolvm/statedb.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/bv-statedb.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/smolvm.db", dir);
}

static void teardown(void)
{
	char p[160];
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

static sqlite3 *make_db(const char *journal)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "PRAGMA journal_mode=%s; CREATE TABLE vms(name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"
		 "INSERT INTO vms VALUES('a', CAST('{\"name\":\"a\"}' AS BLOB));", journal);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TestSuite(statedb, .init = setup, .fini = teardown);

Test(statedb, missing_db_is_enoent_and_not_created)
{
	sqlite3 *db = NULL;
	struct bv_error err = { 0 };
	cr_assert_eq(statedb_open_readonly(path, &db, &err), -ENOENT);
	cr_assert_null(db);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(statedb_open_readwrite(path, &db, &err), -ENOENT);
	cr_assert_eq(access(path, F_OK), -1);
}

Test(statedb, reads_the_blob_and_its_type)
{
	sqlite3_close(make_db("WAL"));
	sqlite3 *db;
	struct statedb_row row;
	cr_assert_eq(statedb_open_readonly(path, &db, NULL), 0);
	cr_assert_eq(statedb_read_row(db, "a", &row, NULL), 0);
	cr_assert(row.found);
	cr_assert_str_eq(row.column_type, "blob");
	cr_assert_eq(row.len, strlen("{\"name\":\"a\"}"));
	statedb_row_free(&row);
	cr_assert_eq(statedb_read_row(db, "b", &row, NULL), 0);
	cr_assert_not(row.found);
	statedb_close(db);
}

Test(statedb, sees_rows_still_in_the_wal)
{
	sqlite3 *w = make_db("WAL");
	cr_assert_eq(sqlite3_exec(w, "PRAGMA wal_autocheckpoint=0;"
				     "INSERT INTO vms VALUES('late', CAST('{}' AS BLOB));", NULL, NULL, NULL),
		     SQLITE_OK);
	struct stat st;
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", path);
	cr_assert_eq(stat(wal, &st), 0);
	cr_assert_gt(st.st_size, 0, "the row must sit in the WAL for this test");
	sqlite3 *db;
	struct statedb_row row;
	cr_assert_eq(statedb_open_readonly(path, &db, NULL), 0);
	cr_assert_eq(statedb_read_row(db, "late", &row, NULL), 0);
	cr_assert(row.found);
	statedb_row_free(&row);
	statedb_close(db);
	sqlite3_close(w);
}

Test(statedb, missing_vms_table_is_reported)
{
	sqlite3 *w;
	cr_assert_eq(sqlite3_open(path, &w), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(w, "CREATE TABLE other(x);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(w);
	sqlite3 *db;
	struct statedb_row row;
	struct bv_error err = { 0 };
	cr_assert_eq(statedb_open_readonly(path, &db, NULL), 0);
	cr_assert_eq(statedb_read_row(db, "a", &row, &err), -ENOENT);
	cr_assert(strstr(err.msg, "vms"), "%s", err.msg);
	statedb_close(db);
}

/* A writer holding an exclusive lock for 2 s (rollback journal, where readers do
 * block): the reader waits on the busy timeout and then succeeds. */
Test(statedb, reader_waits_for_an_exclusive_writer)
{
	sqlite3_close(make_db("DELETE"));
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		sqlite3 *w;
		sqlite3_open(path, &w);
		sqlite3_exec(w, "BEGIN EXCLUSIVE; UPDATE vms SET data = data;", NULL, NULL, NULL);
		(void)!write(ready[1], "x", 1);
		sleep(2);
		sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(w);
		_exit(0);
	}
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1);
	double t0 = now();
	sqlite3 *db;
	struct statedb_row row;
	struct bv_error err = { 0 };
	cr_assert_eq(statedb_open_readonly(path, &db, NULL), 0);
	cr_assert_eq(statedb_read_row(db, "a", &row, &err), 0, "%s", err.msg);
	cr_assert(row.found);
	cr_assert_gt(now() - t0, 1.0, "the reader must have waited for the writer");
	statedb_row_free(&row);
	statedb_close(db);
	waitpid(child, NULL, 0);
}

Test(statedb, update_binds_a_blob_and_needs_one_row)
{
	sqlite3_close(make_db("WAL"));
	sqlite3 *db;
	struct statedb_row row;
	cr_assert_eq(statedb_open_readwrite(path, &db, NULL), 0);
	cr_assert_eq(statedb_update_blob(db, "a", (const unsigned char *)"{\"x\":1}", 7, NULL), 0);
	cr_assert_eq(statedb_read_row(db, "a", &row, NULL), 0);
	cr_assert_str_eq(row.column_type, "blob");
	cr_assert_eq(memcmp(row.data, "{\"x\":1}", 7), 0);
	statedb_row_free(&row);
	cr_assert_eq(statedb_update_blob(db, "nosuch", (const unsigned char *)"{}", 2, NULL), -EIO);
	statedb_close(db);
}
