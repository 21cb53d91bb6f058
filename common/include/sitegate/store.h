/* SQLite helpers: open with WAL and the durability a caller needs, and apply
 * schema migrations tracked in PRAGMA user_version. */
#ifndef SITEGATE_STORE_H
#define SITEGATE_STORE_H

#include <sqlite3.h>
#include <stddef.h>

enum sg_store_durability {
	SG_STORE_DURABLE, /* synchronous=FULL: a committed write survives power loss */
	SG_STORE_NORMAL,  /* synchronous=NORMAL: may lose the last commits on power loss */
};

/* Migration n brings the schema from version n-1 to n; versions start at 1 and
 * are applied in order, each in its own transaction. */
struct sg_store_migration {
	int version;
	const char *sql;
};

/* Opens (creating if needed, with parent directory) and migrates. Returns 0 or a
 * negative errno; failures are logged with the path and SQLite's message. */
int sg_store_open(const char *path, enum sg_store_durability durability,
                  const struct sg_store_migration *migrations, size_t n, sqlite3 **out);
void sg_store_close(sqlite3 *db);
/* Runs SQL without results; logs failures. Returns 0 or -EIO. */
int sg_store_exec(sqlite3 *db, const char *sql);
/* A SQLite result code as a negative errno (0 for OK, ROW and DONE); db, when
 * given, lets a failed open report the system's errno. */
int sg_store_errno(sqlite3 *db, int rc);
/* The schema version currently applied (PRAGMA user_version), or -EIO. */
int sg_store_version(sqlite3 *db);

#endif
