/* The connector service's journal (see journal.h). Every failure is logged
 * here, once, with the file and SQLite's message. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"

#include "journal.h"

static const char schema_v1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE tx (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  tx_ref INTEGER NOT NULL CHECK (tx_ref > 0),\n"
    "  transaction_id INTEGER NOT NULL DEFAULT 0,\n"
    "  id_tag TEXT NOT NULL,\n"
    "  parent_id_tag TEXT NOT NULL DEFAULT '',\n"
    "  reservation_id INTEGER NOT NULL DEFAULT 0,\n"
    "  start_ms INTEGER NOT NULL,\n"
    "  meter_start REAL NOT NULL,\n"
    "  energy_wh REAL NOT NULL,\n"
    "  energy_ms INTEGER NOT NULL,\n"
    "  PRIMARY KEY (cp, conn)) WITHOUT ROWID;\n"
    "CREATE TABLE outbox (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  cp TEXT NOT NULL,\n"
    "  action TEXT NOT NULL,\n"
    "  tx_ref INTEGER NOT NULL,\n"
    "  payload TEXT NOT NULL,\n"
    "  queued_ms INTEGER NOT NULL);\n"
    "CREATE TABLE conn (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  operative INTEGER NOT NULL,\n"
    "  pending INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT '',\n"
    "  PRIMARY KEY (cp, conn)) WITHOUT ROWID;\n"
    "CREATE TABLE sim (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  cable INTEGER NOT NULL,\n"
    "  ev_state TEXT NOT NULL,\n"
    "  PRIMARY KEY (cp, conn)) WITHOUT ROWID;";

static const struct sg_store_migration migrations[] = {
    {1, schema_v1},
    {2, sg_keys_schema_sql},
};

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_REF_GET,
	ST_REF_SET,
	ST_TX_INSERT,
	ST_TX_SAVE,
	ST_TX_DELETE,
	ST_TX_ALL,
	ST_OUT_INSERT,
	ST_OUT_NEXT,
	ST_OUT_DELETE,
	ST_OUT_COUNT,
	ST_CONN_SAVE,
	ST_CONN_LOAD,
	ST_SIM_SAVE,
	ST_SIM_LOAD,
	ST__COUNT
};

static const char *const sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_REF_GET] = "SELECT value FROM meta WHERE key = 'next_tx_ref'",
    [ST_REF_SET] = "UPDATE meta SET value = ?1 WHERE key = 'next_tx_ref'",
    [ST_TX_INSERT] = "INSERT OR REPLACE INTO tx (cp, conn, tx_ref, transaction_id, id_tag,"
                     " parent_id_tag, reservation_id, start_ms, meter_start, energy_wh,"
                     " energy_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_TX_SAVE] = "UPDATE tx SET transaction_id = ?4, energy_wh = ?5, energy_ms = ?6"
                   " WHERE cp = ?1 AND conn = ?2 AND tx_ref = ?3",
    [ST_TX_DELETE] = "DELETE FROM tx WHERE cp = ?1 AND conn = ?2 AND tx_ref = ?3",
    [ST_TX_ALL] = "SELECT cp, conn, tx_ref, transaction_id, id_tag, parent_id_tag,"
                  " reservation_id, start_ms, meter_start, energy_wh, energy_ms FROM tx"
                  " ORDER BY cp, conn",
    [ST_OUT_INSERT] = "INSERT INTO outbox (cp, action, tx_ref, payload, queued_ms)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_OUT_NEXT] = "SELECT id, cp, action, tx_ref, payload FROM outbox WHERE id > ?1"
                    " ORDER BY id LIMIT 1",
    [ST_OUT_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [ST_OUT_COUNT] = "SELECT count(*) FROM outbox",
    [ST_CONN_SAVE] = "INSERT INTO conn (cp, conn, operative, pending, status)"
                     " VALUES (?1, ?2, ?3, ?4, coalesce(?5, ''))"
                     " ON CONFLICT (cp, conn) DO UPDATE SET operative = ?3, pending = ?4,"
                     " status = coalesce(?5, status)",
    [ST_CONN_LOAD] = "SELECT operative, pending, status FROM conn WHERE cp = ?1 AND conn = ?2",
    [ST_SIM_SAVE] =
        "INSERT OR REPLACE INTO sim (cp, conn, cable, ev_state) VALUES (?1, ?2, ?3, ?4)",
    [ST_SIM_LOAD] = "SELECT cable, ev_state FROM sim WHERE cp = ?1 AND conn = ?2",
};

struct journal {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST__COUNT];
};

static int
fail(struct journal *j, const char *what)
{
	sg_err("journal \"%s\": %s: %s", j->path, what, sqlite3_errmsg(j->db));
	return -EIO;
}

/* Resets st and returns it, ready for binding. */
static sqlite3_stmt *
stmt(struct journal *j, int which)
{
	sqlite3_stmt *st = j->st[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
run(struct journal *j, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(j, what);
}

static int
begin(struct journal *j)
{
	return run(j, stmt(j, ST_BEGIN), "BEGIN");
}

static int
commit(struct journal *j)
{
	return run(j, stmt(j, ST_COMMIT), "COMMIT");
}

static void
rollback(struct journal *j)
{
	if (!sqlite3_get_autocommit(j->db))
		run(j, stmt(j, ST_ROLLBACK), "ROLLBACK");
}

static void
bind_key(sqlite3_stmt *st, const char *cp, int conn)
{
	sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, conn);
}

int
journal_open(const char *path, int64_t now_wall, struct journal **out)
{
	struct journal *j = calloc(1, sizeof(*j));
	char seed[160];
	int rc;

	*out = NULL;
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return -ENOMEM;
	}
	rc = sg_store_open(path, SG_STORE_DURABLE, migrations,
	                   sizeof(migrations) / sizeof(migrations[0]), &j->db);
	if (rc < 0)
		goto fail;
	snprintf(seed, sizeof(seed),
	         "INSERT OR IGNORE INTO meta (key, value) VALUES ('next_tx_ref', %" PRId64 ")",
	         now_wall > 0 ? now_wall : 1);
	rc = sg_store_exec(j->db, seed);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(j->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &j->st[i],
		                       NULL) != SQLITE_OK) {
			rc = fail(j, "preparing statements");
			goto fail;
		}
	}
	*out = j;
	return 0;
fail:
	journal_close(j);
	return rc;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(j->st[i]);
	sg_store_close(j->db);
	free(j->path);
	free(j);
}

sqlite3 *
journal_db(struct journal *j)
{
	return j->db;
}

int64_t
journal_next_tx_ref(struct journal *j)
{
	sqlite3_stmt *st;
	int64_t ref;
	int rc = begin(j);

	if (rc < 0)
		return rc;
	st = stmt(j, ST_REF_GET);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = fail(j, "reading the tx_ref counter");
		goto fail;
	}
	ref = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (ref <= 0)
		ref = 1;
	st = stmt(j, ST_REF_SET);
	sqlite3_bind_int64(st, 1, ref + 1);
	rc = run(j, st, "storing the tx_ref counter");
	if (rc < 0)
		goto fail;
	rc = commit(j);
	if (rc < 0)
		goto fail;
	return ref;
fail:
	rollback(j);
	return rc;
}

static int
outbox_insert(struct journal *j, const char *cp, const char *action, int64_t tx_ref,
              const char *payload, int64_t now_wall)
{
	sqlite3_stmt *st = stmt(j, ST_OUT_INSERT);

	sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, tx_ref);
	sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_wall);
	return run(j, st, "queueing a transaction message");
}

int
journal_tx_open(struct journal *j, const char *cp, int conn, const struct conn_tx *tx,
                const char *start_json, int64_t now_wall)
{
	sqlite3_stmt *st;
	int rc = begin(j);

	if (rc < 0)
		return rc;
	st = stmt(j, ST_TX_INSERT);
	bind_key(st, cp, conn);
	sqlite3_bind_int64(st, 3, tx->tx_ref);
	sqlite3_bind_int64(st, 4, tx->transaction_id);
	sqlite3_bind_text(st, 5, tx->id_tag, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, tx->parent_id_tag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, tx->reservation_id);
	sqlite3_bind_int64(st, 8, tx->start_wall);
	sqlite3_bind_double(st, 9, tx->meter_start);
	sqlite3_bind_double(st, 10, tx->energy_wh);
	sqlite3_bind_int64(st, 11, tx->energy_wall);
	rc = run(j, st, "storing an open transaction");
	if (rc == 0)
		rc = outbox_insert(j, cp, "StartTransaction", tx->tx_ref, start_json, now_wall);
	if (rc == 0)
		rc = commit(j);
	if (rc < 0)
		rollback(j);
	return rc;
}

int
journal_tx_save(struct journal *j, const char *cp, int conn, const struct conn_tx *tx)
{
	sqlite3_stmt *st = stmt(j, ST_TX_SAVE);

	bind_key(st, cp, conn);
	sqlite3_bind_int64(st, 3, tx->tx_ref);
	sqlite3_bind_int64(st, 4, tx->transaction_id);
	sqlite3_bind_double(st, 5, tx->energy_wh);
	sqlite3_bind_int64(st, 6, tx->energy_wall);
	return run(j, st, "storing the energy of a transaction");
}

int
journal_tx_close(struct journal *j, const char *cp, int conn, int64_t tx_ref, const char *stop_json,
                 int64_t now_wall)
{
	sqlite3_stmt *st;
	int rc = begin(j);

	if (rc < 0)
		return rc;
	st = stmt(j, ST_TX_DELETE);
	bind_key(st, cp, conn);
	sqlite3_bind_int64(st, 3, tx_ref);
	rc = run(j, st, "closing a transaction");
	if (rc == 0)
		rc = outbox_insert(j, cp, "StopTransaction", tx_ref, stop_json, now_wall);
	if (rc == 0)
		rc = commit(j);
	if (rc < 0)
		rollback(j);
	return rc;
}

static void
column_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int
journal_tx_each(struct journal *j, journal_tx_fn *fn, void *ud)
{
	sqlite3_stmt *st = stmt(j, ST_TX_ALL);
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct conn_tx tx = {0};
		char cp[64];

		column_text(st, 0, cp, sizeof(cp));
		tx.tx_ref = sqlite3_column_int64(st, 2);
		tx.transaction_id = sqlite3_column_int64(st, 3);
		column_text(st, 4, tx.id_tag, sizeof(tx.id_tag));
		column_text(st, 5, tx.parent_id_tag, sizeof(tx.parent_id_tag));
		tx.reservation_id = sqlite3_column_int64(st, 6);
		tx.start_wall = sqlite3_column_int64(st, 7);
		tx.meter_start = sqlite3_column_double(st, 8);
		tx.energy_wh = sqlite3_column_double(st, 9);
		tx.energy_wall = sqlite3_column_int64(st, 10);
		fn(cp, sqlite3_column_int(st, 1), &tx, ud);
		n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : fail(j, "reading the open transactions");
}

int
journal_outbox_next(struct journal *j, int64_t after_id, struct journal_msg *out)
{
	sqlite3_stmt *st = stmt(j, ST_OUT_NEXT);
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(st, 1, after_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		rc = fail(j, "reading the outbox");
		sqlite3_reset(st);
		return rc;
	}
	out->id = sqlite3_column_int64(st, 0);
	column_text(st, 1, out->cp, sizeof(out->cp));
	column_text(st, 2, out->action, sizeof(out->action));
	out->tx_ref = sqlite3_column_int64(st, 3);
	out->payload = strdup((const char *)sqlite3_column_text(st, 4));
	sqlite3_reset(st);
	return out->payload ? 1 : -ENOMEM;
}

int
journal_outbox_delete(struct journal *j, int64_t id)
{
	sqlite3_stmt *st = stmt(j, ST_OUT_DELETE);

	sqlite3_bind_int64(st, 1, id);
	return run(j, st, "removing a delivered message from the outbox");
}

int
journal_outbox_count(struct journal *j)
{
	sqlite3_stmt *st = stmt(j, ST_OUT_COUNT);
	int rc = sqlite3_step(st), n;

	if (rc != SQLITE_ROW) {
		rc = fail(j, "counting the outbox");
		sqlite3_reset(st);
		return rc;
	}
	n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

int
journal_conn_save(struct journal *j, const char *cp, int conn, bool operative, int pending,
                  const char *status)
{
	sqlite3_stmt *st = stmt(j, ST_CONN_SAVE);

	bind_key(st, cp, conn);
	sqlite3_bind_int(st, 3, operative);
	sqlite3_bind_int(st, 4, pending);
	if (status)
		sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	return run(j, st, "storing a connector's availability");
}

int
journal_conn_load(struct journal *j, const char *cp, int conn, bool *operative, int *pending,
                  char *status, size_t status_len)
{
	sqlite3_stmt *st = stmt(j, ST_CONN_LOAD);
	int rc;

	bind_key(st, cp, conn);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*operative = sqlite3_column_int(st, 0) != 0;
		*pending = sqlite3_column_int(st, 1);
		column_text(st, 2, status, status_len);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = fail(j, "reading a connector's availability");
	}
	sqlite3_reset(st);
	return rc;
}

int
journal_sim_save(struct journal *j, const char *cp, int conn, bool cable, char ev_state)
{
	sqlite3_stmt *st = stmt(j, ST_SIM_SAVE);
	char ev[2] = {ev_state, '\0'};

	bind_key(st, cp, conn);
	sqlite3_bind_int(st, 3, cable);
	sqlite3_bind_text(st, 4, ev, -1, SQLITE_TRANSIENT);
	return run(j, st, "storing the simulator's state");
}

int
journal_sim_load(struct journal *j, const char *cp, int conn, bool *cable, char *ev_state)
{
	sqlite3_stmt *st = stmt(j, ST_SIM_LOAD);
	int rc;

	bind_key(st, cp, conn);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *ev = sqlite3_column_text(st, 1);
		*cable = sqlite3_column_int(st, 0) != 0;
		*ev_state = ev && ev[0] >= 'A' && ev[0] <= 'F' ? (char)ev[0] : 'A';
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = fail(j, "reading the simulator's state");
	}
	sqlite3_reset(st);
	return rc;
}
