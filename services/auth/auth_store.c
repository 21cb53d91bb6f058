/* sitegate-auth's SQLite file. One prepared statement per call keeps this
 * simple; the hot path (an RFID tap) writes at most one row. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"

#include "auth_store.h"

struct auth_store {
	sqlite3 *db;
	char path[512];
};

static const char schema_v2[] =
    "CREATE TABLE list_meta (\n"
    "  cp TEXT PRIMARY KEY,\n"
    "  version INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE list (\n"
    "  cp TEXT NOT NULL,\n"
    "  id_tag TEXT NOT NULL COLLATE NOCASE, -- CiString20\n"
    "  status TEXT NOT NULL,\n"
    "  expiry INTEGER NOT NULL DEFAULT 0, -- Unix ms, 0: none\n"
    "  parent TEXT NOT NULL DEFAULT '',\n"
    "  PRIMARY KEY (cp, id_tag)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE cache (\n"
    "  cp TEXT NOT NULL,\n"
    "  id_tag TEXT NOT NULL COLLATE NOCASE,\n"
    "  status TEXT NOT NULL,\n"
    "  expiry INTEGER NOT NULL DEFAULT 0,\n"
    "  parent TEXT NOT NULL DEFAULT '',\n"
    "  used INTEGER NOT NULL, -- last use, Unix ms: least recently used goes first\n"
    "  PRIMARY KEY (cp, id_tag)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE reservation (\n"
    "  cp TEXT NOT NULL,\n"
    "  id INTEGER NOT NULL, -- reservationId\n"
    "  conn INTEGER NOT NULL,\n"
    "  id_tag TEXT NOT NULL,\n"
    "  parent TEXT NOT NULL DEFAULT '',\n"
    "  expiry INTEGER NOT NULL,\n"
    "  PRIMARY KEY (cp, id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE tx (\n"
    "  cp TEXT NOT NULL,\n"
    "  tx_ref INTEGER NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  id_tag TEXT NOT NULL,\n"
    "  parent TEXT, -- NULL: unknown\n"
    "  start_wh REAL, -- NULL: unknown\n"
    "  started INTEGER NOT NULL,\n"
    "  stopped INTEGER NOT NULL DEFAULT 0,\n"
    "  action INTEGER NOT NULL DEFAULT 0, -- what a refused StartTransaction led to\n"
    "  PRIMARY KEY (cp, tx_ref)\n"
    ") WITHOUT ROWID;";

static const struct sg_store_migration migrations[] = {
    {1, sg_keys_schema_sql},
    {2, schema_v2},
};

/* ---- helpers ----------------------------------------------------------- */

static int
fail(struct auth_store *s, const char *what, const char *cp)
{
	sg_err("store \"%s\": %s for charge point \"%s\" failed: %s", s->path, what, cp,
	       sqlite3_errmsg(s->db));
	return -EIO;
}

static sqlite3_stmt *
prepare(struct auth_store *s, const char *sql, const char *what, const char *cp)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(s, what, cp);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Runs a statement without results and finalizes it. */
static int
run(struct auth_store *s, sqlite3_stmt *st, const char *what, const char *cp)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, what, cp);
	return 0;
}

static void
column_id(sqlite3_stmt *st, int col, char out[AUTH_ID_MAX + 1])
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, AUTH_ID_MAX + 1, "%s", t ? (const char *)t : "");
}

/* An IdTagInfo from columns status, expiry, parent starting at col. A row
 * that no longer parses (edited by hand) reads as Invalid. */
static void
column_info(sqlite3_stmt *st, int col, struct auth_info *info)
{
	const unsigned char *status = sqlite3_column_text(st, col);

	memset(info, 0, sizeof(*info));
	if (status == NULL || auth_status_parse((const char *)status, &info->status) < 0)
		info->status = AUTH_INVALID;
	info->expiry = sqlite3_column_int64(st, col + 1);
	column_id(st, col + 2, info->parent);
}

static void
bind_info(sqlite3_stmt *st, int col, const struct auth_info *info)
{
	bind_text(st, col, auth_status_name(info->status));
	sqlite3_bind_int64(st, col + 1, info->expiry);
	bind_text(st, col + 2, info->parent);
}

/* ---- open -------------------------------------------------------------- */

int
auth_store_open(const char *path, struct auth_store **out)
{
	struct auth_store *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	rc = sg_store_open(path, SG_STORE_DURABLE, migrations,
	                   sizeof(migrations) / sizeof(migrations[0]), &s->db);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
auth_store_close(struct auth_store *s)
{
	if (s == NULL)
		return;
	sg_store_close(s->db);
	free(s);
}

sqlite3 *
auth_store_db(struct auth_store *s)
{
	return s->db;
}

/* ---- loading ----------------------------------------------------------- */

int
auth_store_load_list(struct auth_store *s, const char *cp, struct auth_list *l)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, "SELECT version FROM list_meta WHERE cp = ?", "reading the list version",
	             cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	rc = sqlite3_step(st);
	l->version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(s, "reading the list version", cp);

	st = prepare(s, "SELECT COUNT(*) FROM list WHERE cp = ?", "counting the list", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    auth_tagmap_reserve(&l->map, (size_t)sqlite3_column_int64(st, 0)) < 0) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	sqlite3_finalize(st);

	st = prepare(s, "SELECT id_tag, status, expiry, parent FROM list WHERE cp = ?",
	             "reading the list", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[AUTH_ID_MAX + 1];
		struct auth_info info;

		column_id(st, 0, id);
		column_info(st, 1, &info);
		if (auth_list_load(l, id, &info) < 0) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "reading the list", cp);
}

int
auth_store_load_cache(struct auth_store *s, const char *cp, struct auth_cache *c)
{
	sqlite3_stmt *st;
	int rc, evictions = 0;

	st = prepare(s,
	             "SELECT id_tag, status, expiry, parent, used FROM cache WHERE cp = ? "
	             "ORDER BY used",
	             "reading the cache", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[AUTH_ID_MAX + 1], evicted[AUTH_ID_MAX + 1];
		struct auth_info info;

		column_id(st, 0, id);
		column_info(st, 1, &info);
		if (auth_cache_learn(c, id, &info, sqlite3_column_int64(st, 4), evicted) < 0) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		evictions += evicted[0] != '\0';
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading the cache", cp);
	if (evictions > 0) {
		/* The limit shrank: keep the file in step with memory. */
		sg_notice("charge point \"%s\": %d cache entries over the limit of %zu dropped", cp,
		          evictions, c->max);
		st = prepare(s, "DELETE FROM cache WHERE cp = ?", "trimming the cache", cp);
		if (st == NULL)
			return -EIO;
		bind_text(st, 1, cp);
		rc = run(s, st, "trimming the cache", cp);
		size_t i;
		for (struct auth_tag *t = auth_tagmap_first(&c->map, &i); rc == 0 && t;
		     t = auth_tagmap_next(&c->map, &i, t))
			rc = auth_store_cache_put(s, cp, t->id, &t->info, t->used, "");
		return rc;
	}
	return 0;
}

int
auth_store_load_resvs(struct auth_store *s, const char *cp, struct auth_resvs *rs)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, "SELECT id, conn, id_tag, parent, expiry FROM reservation WHERE cp = ?",
	             "reading the reservations", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct auth_resv r = {
		    .id = sqlite3_column_int64(st, 0),
		    .conn = sqlite3_column_int(st, 1),
		    .expiry = sqlite3_column_int64(st, 4),
		};

		column_id(st, 2, r.id_tag);
		column_id(st, 3, r.parent);
		if (auth_resv_put(rs, &r) < 0) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "reading the reservations", cp);
}

int
auth_store_load_txs(struct auth_store *s, const char *cp, auth_store_tx_fn *fn, void *ud)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s,
	             "SELECT tx_ref, conn, id_tag, parent, start_wh, started, stopped, action "
	             "FROM tx WHERE cp = ? ORDER BY started",
	             "reading the transactions", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct auth_store_tx tx = {
		    .tx_ref = sqlite3_column_int64(st, 0),
		    .conn = sqlite3_column_int(st, 1),
		    .parent_known = sqlite3_column_type(st, 3) != SQLITE_NULL,
		    .start_wh = sqlite3_column_double(st, 4),
		    .start_known = sqlite3_column_type(st, 4) != SQLITE_NULL,
		    .started = sqlite3_column_int64(st, 5),
		    .stopped = sqlite3_column_int(st, 6) != 0,
		    .action = sqlite3_column_int(st, 7),
		};
		int frc;

		column_id(st, 2, tx.id_tag);
		column_id(st, 3, tx.parent);
		frc = fn(&tx, ud);
		if (frc < 0) {
			sqlite3_finalize(st);
			return frc;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "reading the transactions", cp);
}

/* ---- the local list ------------------------------------------------------ */

int
auth_store_list_update(struct auth_store *s, const char *cp, const struct auth_list_update *u)
{
	sqlite3_stmt *put = NULL, *del = NULL, *st;
	int rc = -EIO;

	if (sg_store_exec(s->db, "BEGIN IMMEDIATE") < 0)
		return fail(s, "starting a list update", cp);
	if (u->full) {
		st = prepare(s, "DELETE FROM list WHERE cp = ?", "clearing the list", cp);
		if (st == NULL)
			goto out;
		bind_text(st, 1, cp);
		if (run(s, st, "clearing the list", cp) < 0)
			goto out;
	}
	put = prepare(s,
	              "INSERT OR REPLACE INTO list (cp, id_tag, status, expiry, parent) "
	              "VALUES (?, ?, ?, ?, ?)",
	              "updating the list", cp);
	del = prepare(s, "DELETE FROM list WHERE cp = ? AND id_tag = ?", "updating the list", cp);
	if (put == NULL || del == NULL)
		goto out;
	for (size_t i = 0; i < u->n; i++) {
		const struct auth_list_entry *e = &u->entries[i];
		sqlite3_stmt *x = e->has_info ? put : del;

		if (!e->has_info && u->full)
			continue;
		sqlite3_reset(x);
		bind_text(x, 1, cp);
		bind_text(x, 2, e->id);
		if (e->has_info)
			bind_info(x, 3, &e->info);
		if (sqlite3_step(x) != SQLITE_DONE) {
			fail(s, "updating the list", cp);
			goto out;
		}
	}
	st = prepare(s, "INSERT OR REPLACE INTO list_meta (cp, version) VALUES (?, ?)",
	             "setting the list version", cp);
	if (st == NULL)
		goto out;
	bind_text(st, 1, cp);
	sqlite3_bind_int64(st, 2, u->version);
	if (run(s, st, "setting the list version", cp) < 0)
		goto out;
	if (sg_store_exec(s->db, "COMMIT") < 0) {
		fail(s, "committing a list update", cp);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	if (rc < 0 && !sqlite3_get_autocommit(s->db))
		sg_store_exec(s->db, "ROLLBACK");
	return rc;
}

/* ---- the cache ----------------------------------------------------------- */

int
auth_store_cache_put(struct auth_store *s, const char *cp, const char *id,
                     const struct auth_info *info, int64_t used, const char *evicted)
{
	sqlite3_stmt *st;
	int rc;

	if (evicted && *evicted && auth_store_cache_del(s, cp, evicted) < 0)
		return -EIO;
	st = prepare(s,
	             "INSERT OR REPLACE INTO cache (cp, id_tag, status, expiry, parent, used) "
	             "VALUES (?, ?, ?, ?, ?, ?)",
	             "storing a cache entry", cp);
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	bind_text(st, 2, id);
	bind_info(st, 3, info);
	sqlite3_bind_int64(st, 6, used);
	rc = run(s, st, "storing a cache entry", cp);
	return rc;
}

int
auth_store_cache_touch(struct auth_store *s, const char *cp, const char *id, int64_t used)
{
	sqlite3_stmt *st = prepare(s, "UPDATE cache SET used = ? WHERE cp = ? AND id_tag = ?",
	                           "marking a cache entry used", cp);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, used);
	bind_text(st, 2, cp);
	bind_text(st, 3, id);
	return run(s, st, "marking a cache entry used", cp);
}

int
auth_store_cache_del(struct auth_store *s, const char *cp, const char *id)
{
	sqlite3_stmt *st = prepare(s, "DELETE FROM cache WHERE cp = ? AND id_tag = ?",
	                           "deleting a cache entry", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	bind_text(st, 2, id);
	return run(s, st, "deleting a cache entry", cp);
}

int
auth_store_cache_clear(struct auth_store *s, const char *cp)
{
	sqlite3_stmt *st = prepare(s, "DELETE FROM cache WHERE cp = ?", "clearing the cache", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	return run(s, st, "clearing the cache", cp);
}

/* ---- reservations -------------------------------------------------------- */

int
auth_store_resv_put(struct auth_store *s, const char *cp, const struct auth_resv *r)
{
	sqlite3_stmt *st =
	    prepare(s,
	            "INSERT OR REPLACE INTO reservation "
	            "(cp, id, conn, id_tag, parent, expiry) VALUES (?, ?, ?, ?, ?, ?)",
	            "storing a reservation", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	sqlite3_bind_int64(st, 2, r->id);
	sqlite3_bind_int(st, 3, r->conn);
	bind_text(st, 4, r->id_tag);
	bind_text(st, 5, r->parent);
	sqlite3_bind_int64(st, 6, r->expiry);
	return run(s, st, "storing a reservation", cp);
}

int
auth_store_resv_del(struct auth_store *s, const char *cp, int64_t id)
{
	sqlite3_stmt *st = prepare(s, "DELETE FROM reservation WHERE cp = ? AND id = ?",
	                           "deleting a reservation", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	sqlite3_bind_int64(st, 2, id);
	return run(s, st, "deleting a reservation", cp);
}

/* ---- transactions -------------------------------------------------------- */

int
auth_store_tx_put(struct auth_store *s, const char *cp, const struct auth_store_tx *tx)
{
	sqlite3_stmt *st = prepare(s,
	                           "INSERT OR REPLACE INTO tx (cp, tx_ref, conn, id_tag, parent, "
	                           "start_wh, started, stopped, action) "
	                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                           "storing a transaction", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	sqlite3_bind_int64(st, 2, tx->tx_ref);
	sqlite3_bind_int(st, 3, tx->conn);
	bind_text(st, 4, tx->id_tag);
	if (tx->parent_known)
		bind_text(st, 5, tx->parent);
	if (tx->start_known)
		sqlite3_bind_double(st, 6, tx->start_wh);
	sqlite3_bind_int64(st, 7, tx->started);
	sqlite3_bind_int(st, 8, tx->stopped);
	sqlite3_bind_int(st, 9, tx->action);
	return run(s, st, "storing a transaction", cp);
}

int
auth_store_tx_del(struct auth_store *s, const char *cp, int64_t tx_ref)
{
	sqlite3_stmt *st = prepare(s, "DELETE FROM tx WHERE cp = ? AND tx_ref = ?",
	                           "forgetting a transaction", cp);

	if (st == NULL)
		return -EIO;
	bind_text(st, 1, cp);
	sqlite3_bind_int64(st, 2, tx_ref);
	return run(s, st, "forgetting a transaction", cp);
}

int
auth_store_tx_prune(struct auth_store *s, int64_t before)
{
	sqlite3_stmt *st =
	    prepare(s, "DELETE FROM tx WHERE started < ?", "pruning old transactions", "*");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, before);
	return run(s, st, "pruning old transactions", "*");
}
