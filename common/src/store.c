/* SQLite helpers: open with WAL and the durability a caller needs, and apply
 * schema migrations tracked in PRAGMA user_version. Every failure is logged
 * once, here, with the database path and SQLite's message. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sitegate/log.h"
#include "sitegate/store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_DIR_MODE        0750

/* The one place where SQLite result codes become errno values. */
int
sg_store_errno(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN: {
		int e = db ? sqlite3_system_errno(db) : 0;

		return e > 0 ? -e : -EIO;
	}
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static const char *
db_path(sqlite3 *db)
{
	const char *p = sqlite3_db_filename(db, "main");

	return p && *p ? p : ":memory:";
}

/* mkdir -p of the directory part of path. */
static int
make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	size_t len = strlen(path);

	if (len >= sizeof(dir)) {
		sg_err("store \"%.64s...\": path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(dir, path, len + 1);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0; /* relative to the working directory */
	*slash = '\0';

	/* Create each prefix in turn; skip the leading '/' of an absolute path. */
	len = strlen(dir);
	for (size_t i = 1; i <= len; i++) {
		char c = dir[i];
		struct stat st;

		if (c != '/' && c != '\0')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, STORE_DIR_MODE) != 0 && errno != EEXIST) {
			int e = errno;

			sg_err("store \"%s\": cannot create directory \"%s\": %s", path, dir,
			       strerror(e));
			return -e;
		}
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			sg_err("store \"%s\": \"%s\" is not a directory", path, dir);
			return -ENOTDIR;
		}
		dir[i] = c;
	}
	return 0;
}

/* Runs sql without logging; the caller logs with its own context. */
static int
exec_quiet(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Reads the first column of the first row of a one-row PRAGMA query as text
 * (into buf) or integer (into *ival). */
static int
pragma_query(sqlite3 *db, const char *sql, char *buf, size_t len, int *ival)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = SQLITE_ERROR;
		goto out;
	}
	if (buf) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(buf, len, "%s", t ? (const char *)t : "");
	}
	if (ival)
		*ival = sqlite3_column_int(st, 0);
	rc = SQLITE_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static int
configure(sqlite3 *db, const char *path, enum sg_store_durability durability)
{
	char mode[16];
	const char *sync_sql = durability == SG_STORE_DURABLE ? "PRAGMA synchronous=FULL"
	                                                      : "PRAGMA synchronous=NORMAL";
	const char *step;
	int rc;

	rc = sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	step = "busy_timeout";
	if (rc != SQLITE_OK)
		goto fail;
	step = "journal_mode=WAL";
	rc = pragma_query(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode), NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (strcmp(mode, "wal") != 0)
		sg_warn("store \"%s\": journal_mode is \"%s\", not wal; continuing", path, mode);
	step = sync_sql;
	rc = exec_quiet(db, sync_sql);
	if (rc != SQLITE_OK)
		goto fail;
	step = "foreign_keys=ON";
	rc = exec_quiet(db, "PRAGMA foreign_keys=ON");
	if (rc != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sg_err("store \"%s\": %s failed: %s", path, step, sqlite3_errmsg(db));
	return sg_store_errno(db, rc);
}

/* Applies migration m inside its own write transaction. The version is read
 * again under the lock, so two processes opening the same file at once apply
 * each migration once. */
static int
migrate_one(sqlite3 *db, const char *path, const struct sg_store_migration *m)
{
	char sql[64];
	const char *step = "at BEGIN IMMEDIATE";
	int rc, version = m->version - 1;

	rc = exec_quiet(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	step = "reading user_version";
	rc = pragma_query(db, "PRAGMA user_version", NULL, 0, &version);
	if (rc != SQLITE_OK)
		goto fail;
	if (version < m->version) {
		step = "running its SQL";
		rc = exec_quiet(db, m->sql);
		if (rc != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", m->version);
		step = "setting user_version";
		rc = exec_quiet(db, sql);
		if (rc != SQLITE_OK)
			goto fail;
	}
	step = "at COMMIT";
	rc = exec_quiet(db, "COMMIT");
	if (rc != SQLITE_OK)
		goto fail;
	if (version < m->version)
		sg_info("store \"%s\": schema migrated to version %d", path, m->version);
	return 0;
fail:
	/* Log before the rollback replaces the error message. */
	sg_err("store \"%s\": migration to version %d failed %s: %s; rolled back, schema "
	       "stays at version %d",
	       path, m->version, step, sqlite3_errmsg(db), version);
	if (!sqlite3_get_autocommit(db))
		exec_quiet(db, "ROLLBACK");
	return sg_store_errno(db, rc);
}

static int
migrate(sqlite3 *db, const char *path, const struct sg_store_migration *migrations, size_t n)
{
	int version = 0, rc;

	for (size_t i = 0; i < n; i++) {
		assert(migrations[i].version == (int)i + 1 && migrations[i].sql != NULL);
		if (migrations[i].version != (int)i + 1 || migrations[i].sql == NULL) {
			sg_err("store \"%s\": migration table is broken at entry %zu", path, i);
			return -EINVAL;
		}
	}

	rc = pragma_query(db, "PRAGMA user_version", NULL, 0, &version);
	if (rc != SQLITE_OK) {
		sg_err("store \"%s\": cannot read user_version: %s", path, sqlite3_errmsg(db));
		return sg_store_errno(db, rc);
	}
	if (version < 0) {
		sg_err("store \"%s\": invalid schema version %d; refusing to use it", path,
		       version);
		return -EPROTO;
	}
	if ((size_t)version > n) {
		sg_err("store \"%s\": schema version %d is newer than this build knows (%zu); "
		       "refusing to use it",
		       path, version, n);
		return -EPROTO;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		rc = migrate_one(db, path, &migrations[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
sg_store_open(const char *path, enum sg_store_durability durability,
              const struct sg_store_migration *migrations, size_t n, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc;

	assert(path != NULL && out != NULL);
	assert(migrations != NULL || n == 0);
	*out = NULL;

	rc = make_parent_dirs(path);
	if (rc < 0)
		return rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		sg_err("store \"%s\": cannot open: %s", path,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		rc = db ? sg_store_errno(db, rc) : -ENOMEM;
		goto fail;
	}
	/* Extended codes let sg_store_errno() see e.g. SQLITE_CANTOPEN_ISDIR. */
	sqlite3_extended_result_codes(db, 1);

	rc = configure(db, path, durability);
	if (rc < 0)
		goto fail;
	rc = migrate(db, path, migrations, n);
	if (rc < 0)
		goto fail;

	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return rc;
}

void
sg_store_close(sqlite3 *db)
{
	if (db == NULL)
		return;
	if (sqlite3_close(db) != SQLITE_OK) {
		/* A statement was not finalized: let SQLite close once it is. */
		sg_warn("store \"%s\": closing with unfinalized statements: %s", db_path(db),
		        sqlite3_errmsg(db));
		sqlite3_close_v2(db);
	}
}

int
sg_store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	assert(db != NULL && sql != NULL);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		sg_err("store \"%s\": \"%.60s%s\" failed: %s", db_path(db), sql,
		       strlen(sql) > 60 ? "..." : "", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int
sg_store_version(sqlite3 *db)
{
	int version = 0;
	int rc;

	assert(db != NULL);
	rc = pragma_query(db, "PRAGMA user_version", NULL, 0, &version);
	if (rc != SQLITE_OK) {
		sg_err("store \"%s\": cannot read user_version: %s", db_path(db),
		       sqlite3_errmsg(db));
		return -EIO;
	}
	return version;
}
