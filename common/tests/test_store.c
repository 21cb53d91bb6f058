/* Unit tests for sitegate/store.h against real SQLite files in a temporary
 * directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sitegate/log.h"
#include "sitegate/store.h"

struct fixture {
	char dir[64];
	char db[128];
};

#define M1_SQL                                                                                     \
	"CREATE TABLE tx (id INTEGER PRIMARY KEY, id_tag TEXT NOT NULL);"                          \
	"INSERT INTO tx (id_tag) VALUES ('m1');"

static const struct sg_store_migration migrations[] = {
    {1, M1_SQL},
    {2, "CREATE TABLE meter (tx INTEGER NOT NULL REFERENCES tx(id), wh INTEGER);"
        "INSERT INTO tx (id_tag) VALUES ('m2');"},
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sg-test-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/state/sub/store.db", f->dir);
	*state = f;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The integer or text result of a one-row query. */
static long long
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
query_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static bool
table_exists(sqlite3 *db, const char *name)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE name = '%s'", name);
	return query_int(db, sql) == 1;
}

static void
test_open_creates_dirs(void **state)
{
	struct fixture *f = *state;
	char sub[128];
	struct stat st;
	sqlite3 *db = NULL;
	mode_t mask = umask(0);

	umask(mask);
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), 0);
	assert_non_null(db);
	snprintf(sub, sizeof(sub), "%s/state", f->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	snprintf(sub, sizeof(sub), "%s/state/sub", f->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	assert_int_equal(stat(f->db, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	sg_store_close(db);
}

static void
test_pragmas(void **state)
{
	struct fixture *f = *state;
	char mode[16];
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	query_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA busy_timeout"), 5000);
	/* foreign_keys is really enforced. */
	assert_int_equal(sg_store_exec(db, "INSERT INTO meter (tx, wh) VALUES (999, 1)"), -EIO);
	sg_store_close(db);

	assert_int_equal(sg_store_open(f->db, SG_STORE_NORMAL, migrations, 2, &db), 0);
	query_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	sg_store_close(db);
}

static void
test_migrate_incrementally(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), 0);
	assert_int_equal(sg_store_version(db), 1);
	assert_true(table_exists(db, "tx"));
	assert_false(table_exists(db, "meter"));
	sg_store_close(db);

	/* Reopening with two migrations runs only the second: the first would fail
	 * (the table exists) and would insert a second 'm1' row. */
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	assert_int_equal(sg_store_version(db), 2);
	assert_true(table_exists(db, "meter"));
	assert_int_equal(query_int(db, "SELECT count(*) FROM tx WHERE id_tag = 'm1'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tx WHERE id_tag = 'm2'"), 1);
	sg_store_close(db);

	/* Reopening at the current version changes nothing. */
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	assert_int_equal(sg_store_version(db), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tx"), 2);
	sg_store_close(db);
}

static void
test_no_migrations(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_NORMAL, NULL, 0, &db), 0);
	assert_int_equal(sg_store_version(db), 0);
	sg_store_close(db);
}

static void
test_failing_migration_rolls_back(void **state)
{
	static const struct sg_store_migration bad[] = {
	    {1, M1_SQL},
	    {2, "CREATE TABLE half (x); INSERT INTO tx (id_tag) VALUES ('half');"
	        "INSERT INTO no_such_table VALUES (1);"},
	};
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), 0);
	sg_store_close(db);

	db = (sqlite3 *)&db; /* must be reset on failure */
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, bad, 2, &db), -EIO);
	assert_null(db);

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), 0);
	assert_int_equal(sg_store_version(db), 1);
	assert_false(table_exists(db, "half"));
	assert_int_equal(query_int(db, "SELECT count(*) FROM tx"), 1);
	sg_store_close(db);

	/* A failing first migration leaves a fresh file at version 0. */
	snprintf(f->db, sizeof(f->db), "%s/fresh.db", f->dir);
	{
		static const struct sg_store_migration bad1[] = {{1, "CREATE TABLE a (x); BOGUS;"}};

		assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, bad1, 1, &db), -EIO);
		assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, NULL, 0, &db), 0);
		assert_int_equal(sg_store_version(db), 0);
		assert_false(table_exists(db, "a"));
		sg_store_close(db);
	}
}

static void
test_newer_version_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	sg_store_close(db);

	db = (sqlite3 *)&db;
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), -EPROTO);
	assert_null(db);
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, NULL, 0, &db), -EPROTO);
	assert_null(db);

	/* The refused file is untouched. */
	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	assert_int_equal(sg_store_version(db), 2);
	sg_store_close(db);
}

static void
test_data_persists(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 2, &db), 0);
	assert_int_equal(sg_store_exec(db, "INSERT INTO tx (id, id_tag) VALUES (42, 'ABC');"
	                                   "INSERT INTO meter (tx, wh) VALUES (42, 1234);"),
	                 0);
	sg_store_close(db);

	assert_int_equal(sg_store_open(f->db, SG_STORE_NORMAL, migrations, 2, &db), 0);
	assert_int_equal(query_int(db, "SELECT wh FROM meter WHERE tx = 42"), 1234);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tx WHERE id_tag = 'ABC'"), 1);
	sg_store_close(db);
}

static void
test_exec_errors(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sg_store_open(f->db, SG_STORE_DURABLE, migrations, 1, &db), 0);
	assert_int_equal(sg_store_exec(db, "SELEC 1"), -EIO);
	assert_int_equal(sg_store_exec(db, "INSERT INTO nope VALUES (1)"), -EIO);
	assert_int_equal(sg_store_exec(db, "SELECT 1"), 0);
	sg_store_close(db);
	sg_store_close(NULL);
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	char path[160];
	sqlite3 *db = NULL;
	FILE *fp;

	/* The parent "directory" is a regular file. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("not a database, and not a directory either\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/file/store.db", f->dir);
	assert_int_equal(sg_store_open(path, SG_STORE_DURABLE, migrations, 1, &db), -ENOTDIR);
	assert_null(db);

	/* A file that is not a database. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	assert_true(sg_store_open(path, SG_STORE_DURABLE, migrations, 1, &db) < 0);
	assert_null(db);

	/* The path is a directory. */
	snprintf(path, sizeof(path), "%s", f->dir);
	assert_true(sg_store_open(path, SG_STORE_DURABLE, migrations, 1, &db) < 0);
	assert_null(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_creates_dirs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pragmas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_incrementally, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_persists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};

	sg_log_init("test_store", SG_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
