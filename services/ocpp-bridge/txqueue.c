/* txqueue: the persistent queue of OCPP 1.6 transaction messages. See txqueue.h for the
 * contract; this file keeps the SQL in one table of cached statements and converts SQLite
 * result codes in one place (sg_store_errno). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sitegate/log.h"
#include "sitegate/store.h"
#include "txqueue.h"

#define TXQ_CP_MAX 255 /* bytes of a charge point identity */

/* Stored in txq_msg.kind; the values are part of the file format. */
enum kind {
	KIND_START = 1,
	KIND_STOP = 2,
	KIND_METER = 3,
};

static const char *const kind_names[] = {
    [KIND_START] = "StartTransaction",
    [KIND_STOP] = "StopTransaction",
    [KIND_METER] = "MeterValues",
};

/* txq_msg: the queue, in seq order per charge point. seq is AUTOINCREMENT so that a seq is
 * never handed out twice, even after the queue was empty.
 * txq_tx: (cp, tx_ref) -> transactionId, from the push of a StartTransaction until its
 * StopTransaction is acked or dropped. transaction_id is NULL until the StartTransaction is
 * acked (-1 when it was dropped); n_periodic and halvings drive the thinning.
 * txq_cp: persistent per charge point counters. */
static const char schema_v1[] =
    "CREATE TABLE txq_msg ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  cp TEXT NOT NULL,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
    "  tx_ref INTEGER NOT NULL CHECK (tx_ref > 0),"
    "  periodic INTEGER NOT NULL DEFAULT 0,"
    "  payload TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  queued_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  failed_at INTEGER NOT NULL DEFAULT 0,"
    "  not_before INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX txq_msg_cp_seq ON txq_msg (cp, seq);"
    "CREATE TABLE txq_tx ("
    "  cp TEXT NOT NULL,"
    "  tx_ref INTEGER NOT NULL,"
    "  transaction_id INTEGER,"
    "  stopped INTEGER NOT NULL DEFAULT 0,"
    "  start_seq INTEGER NOT NULL,"
    "  n_periodic INTEGER NOT NULL DEFAULT 0,"
    "  halvings INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (cp, tx_ref)) WITHOUT ROWID;"
    "CREATE INDEX txq_tx_thin ON txq_tx (halvings, start_seq) WHERE n_periodic >= 2;"
    "CREATE TABLE txq_cp ("
    "  cp TEXT PRIMARY KEY,"
    "  dropped INTEGER NOT NULL DEFAULT 0,"
    "  thinned INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

static const struct sg_store_migration migrations[] = {
    {1, schema_v1},
};

enum st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_TOTAL,
	ST_MSG_INSERT,
	ST_MSG_GET,
	ST_MSG_DELETE,
	ST_MSG_RETRY,
	ST_HEAD,
	ST_TX_GET,
	ST_TX_INSERT,
	ST_TX_PUSHED,
	ST_TX_SET_ID,
	ST_TX_DELETE,
	ST_TX_UNPERIODIC,
	ST_TX_BY_ID,
	ST_CP_DROPPED,
	ST_CP_THINNED,
	ST_THIN_PICK,
	ST_THIN_HALVE,
	ST_THIN_DONE,
	ST_STATS_CP,
	ST_STATS_ALL,
	ST_COUNTERS_CP,
	ST_COUNTERS_ALL,
	ST__COUNT,
};

static const char *const st_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_TOTAL] = "SELECT coalesce(sum(size), 0) FROM txq_msg",
    [ST_MSG_INSERT] = "INSERT INTO txq_msg (cp, kind, tx_ref, periodic, payload, size, queued_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_MSG_GET] = "SELECT cp, kind, tx_ref, periodic, size, attempts FROM txq_msg WHERE seq = ?1",
    [ST_MSG_DELETE] = "DELETE FROM txq_msg WHERE seq = ?1",
    [ST_MSG_RETRY] = "UPDATE txq_msg SET attempts = ?2, failed_at = ?3, not_before = ?4"
                     " WHERE seq = ?1",
    [ST_HEAD] = "SELECT seq, kind, tx_ref, periodic, payload, size, attempts, queued_at,"
                " failed_at, not_before FROM txq_msg WHERE cp = ?1 ORDER BY seq LIMIT 1",
    [ST_TX_GET] = "SELECT transaction_id, stopped FROM txq_tx WHERE cp = ?1 AND tx_ref = ?2",
    [ST_TX_INSERT] = "INSERT INTO txq_tx (cp, tx_ref, start_seq) VALUES (?1, ?2, ?3)",
    [ST_TX_PUSHED] = "UPDATE txq_tx SET stopped = stopped OR ?3, n_periodic = n_periodic + ?4"
                     " WHERE cp = ?1 AND tx_ref = ?2",
    [ST_TX_SET_ID] = "UPDATE txq_tx SET transaction_id = ?3 WHERE cp = ?1 AND tx_ref = ?2",
    [ST_TX_DELETE] = "DELETE FROM txq_tx WHERE cp = ?1 AND tx_ref = ?2",
    [ST_TX_UNPERIODIC] = "UPDATE txq_tx SET n_periodic = n_periodic - 1"
                         " WHERE cp = ?1 AND tx_ref = ?2 AND n_periodic > 0",
    [ST_TX_BY_ID] = "SELECT tx_ref FROM txq_tx WHERE cp = ?1 AND transaction_id = ?2"
                    " ORDER BY tx_ref LIMIT 1",
    [ST_CP_DROPPED] = "INSERT INTO txq_cp (cp, dropped) VALUES (?1, 1)"
                      " ON CONFLICT (cp) DO UPDATE SET dropped = dropped + 1",
    [ST_CP_THINNED] = "INSERT INTO txq_cp (cp, thinned) VALUES (?1, ?2)"
                      " ON CONFLICT (cp) DO UPDATE SET thinned = thinned + ?2",
    /* The transaction halved the fewest times, the oldest first. */
    [ST_THIN_PICK] = "SELECT cp, tx_ref, halvings FROM txq_tx WHERE n_periodic >= 2"
                     " ORDER BY halvings, start_seq LIMIT 1",
    /* Every second queued periodic MeterValues of one transaction; the oldest stays, so the
     * head (which may be in flight) is never removed. */
    [ST_THIN_HALVE] = "DELETE FROM txq_msg WHERE seq IN (SELECT seq FROM ("
                      "  SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM txq_msg"
                      "  WHERE cp = ?1 AND tx_ref = ?2 AND periodic = 1) WHERE rn % 2 = 0)"
                      " RETURNING size",
    /* Recounted rather than decremented, so that a wrong count cannot stall the thinning. */
    [ST_THIN_DONE] = "UPDATE txq_tx SET halvings = halvings + 1, n_periodic = (SELECT count(*)"
                     "  FROM txq_msg WHERE cp = ?1 AND tx_ref = ?2 AND periodic = 1)"
                     " WHERE cp = ?1 AND tx_ref = ?2",
    [ST_STATS_CP] = "SELECT count(*), coalesce(sum(size), 0), min(queued_at) FROM txq_msg"
                    " WHERE cp = ?1",
    [ST_STATS_ALL] = "SELECT count(*), coalesce(sum(size), 0), min(queued_at) FROM txq_msg",
    [ST_COUNTERS_CP] = "SELECT dropped, thinned FROM txq_cp WHERE cp = ?1",
    [ST_COUNTERS_ALL] = "SELECT coalesce(sum(dropped), 0), coalesce(sum(thinned), 0) FROM txq_cp",
};

struct txq {
	sqlite3 *db;
	char *path;
	uint64_t max_bytes;   /* 0: no bound */
	uint64_t total_bytes; /* sum of txq_msg.size, kept in step with every COMMIT */
	bool over_warned;     /* "nothing left to thin" was logged since the last time under */
	sqlite3_stmt *st[ST__COUNT];
};

/* A message row as the transaction logic needs it. */
struct row {
	int64_t seq;
	char cp[TXQ_CP_MAX + 1];
	enum kind kind;
	int64_t tx_ref;
	bool periodic;
	int64_t size;
	int attempts;
};

/* Logs a failed statement once, with the file and SQLite's message, and returns the errno. */
static int
sql_failed(struct txq *q, sqlite3_stmt *st, int rc)
{
	const char *sql = sqlite3_sql(st);

	sg_err("txq \"%s\": \"%.48s%s\" failed: %s", q->path, sql, strlen(sql) > 48 ? "..." : "",
	       sqlite3_errmsg(q->db));
	return sg_store_errno(NULL, rc);
}

/* Steps a statement that returns no rows (or whose rows are ignored) and resets it. */
static int
step_done(struct txq *q, sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		rc = sql_failed(q, st, rc);
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return 0;
}

/* Steps a query once: 1 with a row (the caller resets), 0 without (reset here), or -errno. */
static int
step_row(struct txq *q, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		rc = sql_failed(q, st, rc);
	else
		rc = 0;
	sqlite3_reset(st);
	return rc;
}

static void
bind_cp_tx(sqlite3_stmt *st, const char *cp, int64_t tx_ref)
{
	sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, tx_ref);
}

static int
begin(struct txq *q)
{
	return step_done(q, q->st[ST_BEGIN]);
}

static int
commit(struct txq *q)
{
	return step_done(q, q->st[ST_COMMIT]);
}

/* Undoes an open transaction after a failure; nothing to report beyond the original error. */
static void
rollback(struct txq *q)
{
	if (!sqlite3_get_autocommit(q->db)) {
		sqlite3_step(q->st[ST_ROLLBACK]);
		sqlite3_reset(q->st[ST_ROLLBACK]);
	}
}

static int
kind_from_action(const char *action)
{
	for (int k = KIND_START; k <= KIND_METER; k++)
		if (strcmp(action, kind_names[k]) == 0)
			return k;
	return -EINVAL;
}

static bool
cp_valid(const char *cp)
{
	return cp != NULL && cp[0] != '\0' && strlen(cp) <= TXQ_CP_MAX;
}

/* Loads message seq into *r: 1, 0 when there is none, or -errno. */
static int
msg_get(struct txq *q, int64_t seq, struct row *r)
{
	sqlite3_stmt *st = q->st[ST_MSG_GET];
	int rc;

	sqlite3_bind_int64(st, 1, seq);
	rc = step_row(q, st);
	if (rc <= 0)
		return rc;
	r->seq = seq;
	snprintf(r->cp, sizeof(r->cp), "%s", (const char *)sqlite3_column_text(st, 0));
	r->kind = (enum kind)sqlite3_column_int(st, 1);
	r->tx_ref = sqlite3_column_int64(st, 2);
	r->periodic = sqlite3_column_int(st, 3) != 0;
	r->size = sqlite3_column_int64(st, 4);
	r->attempts = sqlite3_column_int(st, 5);
	sqlite3_reset(st);
	return 1;
}

/* The map entry of (cp, tx_ref): 1 with *known (transactionId set) and *id, *stopped; 0 when
 * there is none; or -errno. */
static int
tx_get(struct txq *q, const char *cp, int64_t tx_ref, bool *known, int64_t *id, bool *stopped)
{
	sqlite3_stmt *st = q->st[ST_TX_GET];
	int rc;

	bind_cp_tx(st, cp, tx_ref);
	rc = step_row(q, st);
	if (rc <= 0)
		return rc;
	*known = sqlite3_column_type(st, 0) != SQLITE_NULL;
	*id = sqlite3_column_int64(st, 0);
	*stopped = sqlite3_column_int(st, 1) != 0;
	sqlite3_reset(st);
	return 1;
}

static int
tx_set_id(struct txq *q, const char *cp, int64_t tx_ref, int64_t id)
{
	sqlite3_stmt *st = q->st[ST_TX_SET_ID];

	bind_cp_tx(st, cp, tx_ref);
	sqlite3_bind_int64(st, 3, id);
	return step_done(q, st);
}

static int
tx_delete(struct txq *q, const char *cp, int64_t tx_ref)
{
	sqlite3_stmt *st = q->st[ST_TX_DELETE];

	bind_cp_tx(st, cp, tx_ref);
	return step_done(q, st);
}

/* Removes message r and updates the transaction map for it: an acked StartTransaction records
 * transaction_id, a dropped one records -1; a StopTransaction ends the map entry; a periodic
 * MeterValues leaves the thinning count. Inside a transaction. */
static int
remove_msg(struct txq *q, const struct row *r, bool dropped, int64_t transaction_id)
{
	sqlite3_stmt *st;
	int rc = 0;

	switch (r->kind) {
	case KIND_START:
		rc = tx_set_id(q, r->cp, r->tx_ref, dropped ? -1 : transaction_id);
		break;
	case KIND_STOP:
		rc = tx_delete(q, r->cp, r->tx_ref);
		break;
	case KIND_METER:
		if (r->periodic) {
			st = q->st[ST_TX_UNPERIODIC];
			bind_cp_tx(st, r->cp, r->tx_ref);
			rc = step_done(q, st);
		}
		break;
	}
	if (rc < 0)
		return rc;
	if (dropped) {
		st = q->st[ST_CP_DROPPED];
		sqlite3_bind_text(st, 1, r->cp, -1, SQLITE_STATIC);
		rc = step_done(q, st);
		if (rc < 0)
			return rc;
	}
	st = q->st[ST_MSG_DELETE];
	sqlite3_bind_int64(st, 1, r->seq);
	return step_done(q, st);
}

/* Halves transactions' periodic MeterValues until *total fits max_bytes or nothing is left to
 * thin; *total is updated. Inside the push's transaction. */
static int
thin(struct txq *q, uint64_t *total)
{
	sqlite3_stmt *pick = q->st[ST_THIN_PICK];
	sqlite3_stmt *halve = q->st[ST_THIN_HALVE];
	sqlite3_stmt *st;
	char cp[TXQ_CP_MAX + 1];
	int64_t tx_ref, halvings, n, bytes;
	int rc;

	while (*total > q->max_bytes) {
		rc = step_row(q, pick);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (!q->over_warned)
				sg_warn(
				    "txq \"%s\": %" PRIu64
				    " bytes queued, over the limit of %" PRIu64
				    "; nothing left to thin (StartTransaction, StopTransaction, "
				    "non-periodic MeterValues and one periodic MeterValues per "
				    "transaction are kept); the queue keeps growing",
				    q->path, *total, q->max_bytes);
			q->over_warned = true;
			return 0;
		}
		snprintf(cp, sizeof(cp), "%s", (const char *)sqlite3_column_text(pick, 0));
		tx_ref = sqlite3_column_int64(pick, 1);
		halvings = sqlite3_column_int64(pick, 2);
		sqlite3_reset(pick);

		n = 0;
		bytes = 0;
		bind_cp_tx(halve, cp, tx_ref);
		while ((rc = sqlite3_step(halve)) == SQLITE_ROW) {
			n++;
			bytes += sqlite3_column_int64(halve, 0);
		}
		if (rc != SQLITE_DONE) {
			rc = sql_failed(q, halve, rc);
			sqlite3_reset(halve);
			return rc;
		}
		sqlite3_reset(halve);

		st = q->st[ST_THIN_DONE];
		bind_cp_tx(st, cp, tx_ref);
		rc = step_done(q, st);
		if (rc < 0)
			return rc;
		if (n > 0) {
			st = q->st[ST_CP_THINNED];
			sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, n);
			rc = step_done(q, st);
			if (rc < 0)
				return rc;
		}
		*total -= (uint64_t)bytes;
		sg_notice("txq \"%s\": over the limit of %" PRIu64 " bytes: thinned %" PRId64
		          " periodic MeterValues (%" PRId64 " bytes) of transaction %" PRId64
		          " of \"%s\" (halving %" PRId64 "); %" PRIu64 " bytes queued",
		          q->path, q->max_bytes, n, bytes, tx_ref, cp, halvings + 1, *total);
	}
	return 0;
}

static void
close_statements(struct txq *q)
{
	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(q->st[i]);
		q->st[i] = NULL;
	}
}

int
txq_open(const char *path, uint64_t max_bytes, struct txq **out)
{
	struct txq *q;
	int rc;

	assert(path != NULL && out != NULL);
	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->path = strdup(path);
	if (q->path == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	q->max_bytes = max_bytes;
	rc = sg_store_open(path, SG_STORE_DURABLE, migrations,
	                   sizeof(migrations) / sizeof(migrations[0]), &q->db);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < ST__COUNT; i++) {
		int prc = sqlite3_prepare_v3(q->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                             &q->st[i], NULL);

		if (prc != SQLITE_OK) {
			sg_err("txq \"%s\": cannot prepare \"%.48s...\": %s", path, st_sql[i],
			       sqlite3_errmsg(q->db));
			rc = sg_store_errno(NULL, prc);
			goto fail;
		}
	}
	rc = step_row(q, q->st[ST_TOTAL]);
	if (rc < 0)
		goto fail;
	q->total_bytes = (uint64_t)sqlite3_column_int64(q->st[ST_TOTAL], 0);
	sqlite3_reset(q->st[ST_TOTAL]);
	*out = q;
	return 0;
fail:
	txq_close(q);
	return rc;
}

void
txq_close(struct txq *q)
{
	if (q == NULL)
		return;
	close_statements(q);
	sg_store_close(q->db);
	free(q->path);
	free(q);
}

int
txq_push(struct txq *q, const char *cp, const char *action, const json_t *payload, int64_t tx_ref,
         bool periodic, int64_t now_ms, int64_t *seq_out)
{
	sqlite3_stmt *st;
	char *text = NULL;
	size_t size;
	uint64_t total;
	int64_t seq, id;
	bool exists = false, known = false, stopped = false;
	int kind, rc;

	assert(q != NULL);
	kind = action ? kind_from_action(action) : -EINVAL;
	if (!cp_valid(cp) || kind < 0 || !json_is_object(payload) || tx_ref <= 0 ||
	    (periodic && kind != KIND_METER))
		return -EINVAL;
	text = json_dumps(payload, JSON_COMPACT);
	if (text == NULL)
		return -ENOMEM;
	size = strlen(text);

	rc = begin(q);
	if (rc < 0)
		goto out;
	rc = tx_get(q, cp, tx_ref, &known, &id, &stopped);
	if (rc < 0)
		goto out;
	exists = rc == 1;
	if (kind == KIND_START && exists) {
		sg_err("txq \"%s\": \"%s\": StartTransaction for transaction %" PRId64
		       ", which already exists; not queued",
		       q->path, cp, tx_ref);
		rc = -EEXIST;
		goto out;
	}
	if (kind != KIND_START && (!exists || stopped)) {
		sg_err("txq \"%s\": \"%s\": %s for transaction %" PRId64
		       ", which is %s; not queued",
		       q->path, cp, kind_names[kind], tx_ref,
		       exists ? "already stopped"
		              : "not open (never started, or its StopTransaction was acked)");
		rc = -ENOENT;
		goto out;
	}

	st = q->st[ST_MSG_INSERT];
	sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_int64(st, 3, tx_ref);
	sqlite3_bind_int(st, 4, periodic);
	sqlite3_bind_text(st, 5, text, (int)size, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)size);
	sqlite3_bind_int64(st, 7, now_ms);
	rc = step_done(q, st);
	if (rc < 0)
		goto out;
	seq = sqlite3_last_insert_rowid(q->db);

	st = q->st[kind == KIND_START ? ST_TX_INSERT : ST_TX_PUSHED];
	bind_cp_tx(st, cp, tx_ref);
	if (kind == KIND_START) {
		sqlite3_bind_int64(st, 3, seq);
	} else {
		sqlite3_bind_int(st, 3, kind == KIND_STOP);
		sqlite3_bind_int(st, 4, periodic);
	}
	rc = step_done(q, st);
	if (rc < 0)
		goto out;

	total = q->total_bytes + size;
	if (q->max_bytes > 0 && total > q->max_bytes) {
		rc = thin(q, &total);
		if (rc < 0)
			goto out;
	}
	rc = commit(q);
	if (rc < 0)
		goto out;
	q->total_bytes = total;
	if (q->max_bytes == 0 || total <= q->max_bytes)
		q->over_warned = false;
	if (seq_out)
		*seq_out = seq;
out:
	if (rc < 0)
		rollback(q);
	free(text);
	return rc < 0 ? rc : 0;
}

/* Drops a head that cannot be handed out (no transactionId for its transaction, or an
 * unreadable payload). Never happens through this API; kept so that a damaged entry cannot
 * block its charge point's queue. */
static int
drop_bad_head(struct txq *q, int64_t seq, const char *why)
{
	struct row r;
	int rc;

	rc = begin(q);
	if (rc < 0)
		return rc;
	rc = msg_get(q, seq, &r);
	if (rc <= 0)
		goto out;
	rc = remove_msg(q, &r, true, -1);
	if (rc < 0)
		goto out;
	rc = commit(q);
	if (rc < 0)
		goto out;
	q->total_bytes -= (uint64_t)r.size;
	sg_err("txq \"%s\": \"%s\": %s %" PRId64 " of transaction %" PRId64
	       " %s; dropped it, continuing with the next message",
	       q->path, r.cp, kind_names[r.kind], seq, r.tx_ref, why);
out:
	if (rc < 0)
		rollback(q);
	return rc < 0 ? rc : 0;
}

int
txq_head(struct txq *q, const char *cp, int64_t now_ms, struct txq_msg *out)
{
	sqlite3_stmt *st;
	json_t *payload;
	int64_t seq, tx_ref, failed_at, not_before, id;
	bool known, stopped;
	enum kind kind;
	int rc;

	assert(q != NULL && out != NULL);
	st = q->st[ST_HEAD];
	memset(out, 0, sizeof(*out));
	if (!cp_valid(cp))
		return -EINVAL;
	for (;;) {
		sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
		rc = step_row(q, st);
		if (rc <= 0)
			return rc;
		seq = sqlite3_column_int64(st, 0);
		kind = (enum kind)sqlite3_column_int(st, 1);
		tx_ref = sqlite3_column_int64(st, 2);
		failed_at = sqlite3_column_int64(st, 8);
		not_before = sqlite3_column_int64(st, 9);
		/* A clock that stepped back behind the failure must not stall the queue. */
		if (not_before > now_ms && now_ms >= failed_at) {
			sqlite3_reset(st);
			out->seq = seq;
			out->not_before_ms = not_before;
			return -EAGAIN;
		}
		payload = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
		out->seq = seq;
		out->action = kind_names[kind];
		out->tx_ref = tx_ref;
		out->periodic = sqlite3_column_int(st, 3) != 0;
		out->attempts = sqlite3_column_int(st, 6);
		out->queued_ms = sqlite3_column_int64(st, 7);
		out->not_before_ms = not_before;
		sqlite3_reset(st);
		if (!json_is_object(payload)) {
			json_decref(payload);
			rc = drop_bad_head(q, seq, "has an unreadable payload");
			if (rc < 0)
				return rc;
			continue;
		}
		if (kind == KIND_START) {
			out->payload = payload;
			return 1;
		}
		rc = tx_get(q, cp, tx_ref, &known, &id, &stopped);
		if (rc < 0) {
			json_decref(payload);
			return rc;
		}
		if (rc == 0 || !known) {
			json_decref(payload);
			rc = drop_bad_head(q, seq,
			                   rc == 0 ? "belongs to no known transaction"
			                           : "precedes the StartTransaction's answer");
			if (rc < 0)
				return rc;
			continue;
		}
		if (json_object_set_new(payload, "transactionId", json_integer(id)) < 0) {
			json_decref(payload);
			return -ENOMEM;
		}
		out->payload = payload;
		return 1;
	}
}

int
txq_ack(struct txq *q, int64_t seq, const json_t *response)
{
	struct row r;
	json_t *id = NULL;
	int rc;

	assert(q != NULL);
	rc = begin(q);
	if (rc < 0)
		return rc;
	rc = msg_get(q, seq, &r);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		rc = -ENOENT;
		goto out;
	}
	if (r.kind == KIND_START) {
		id = json_object_get(response, "transactionId");
		if (!json_is_integer(id)) {
			sg_err("txq \"%s\": \"%s\": StartTransaction.conf for transaction %" PRId64
			       " has no integer transactionId; the StartTransaction stays queued",
			       q->path, r.cp, r.tx_ref);
			rc = -EBADMSG;
			goto out;
		}
	}
	rc = remove_msg(q, &r, false, id ? json_integer_value(id) : 0);
	if (rc < 0)
		goto out;
	rc = commit(q);
	if (rc < 0)
		goto out;
	q->total_bytes -= (uint64_t)r.size;
	if (r.kind == KIND_START)
		sg_debug("txq \"%s\": \"%s\": transaction %" PRId64
		         " is transactionId %" JSON_INTEGER_FORMAT,
		         q->path, r.cp, r.tx_ref, json_integer_value(id));
out:
	if (rc < 0)
		rollback(q);
	return rc < 0 ? rc : 0;
}

int
txq_fail(struct txq *q, int64_t seq, int64_t now_ms, int max_attempts, int retry_interval_s)
{
	sqlite3_stmt *st;
	struct row r;
	int64_t wait_ms = 0;
	int attempts, rc;
	bool dropped;

	assert(q != NULL);
	if (max_attempts < 1 || retry_interval_s < 0)
		return -EINVAL;
	rc = begin(q);
	if (rc < 0)
		return rc;
	rc = msg_get(q, seq, &r);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		rc = -ENOENT;
		goto out;
	}
	attempts = r.attempts + 1;
	dropped = attempts >= max_attempts;
	if (dropped) {
		rc = remove_msg(q, &r, true, -1);
	} else {
		wait_ms = (int64_t)retry_interval_s * 1000 * attempts;
		st = q->st[ST_MSG_RETRY];
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int(st, 2, attempts);
		sqlite3_bind_int64(st, 3, now_ms);
		sqlite3_bind_int64(st, 4, now_ms + wait_ms);
		rc = step_done(q, st);
	}
	if (rc < 0)
		goto out;
	rc = commit(q);
	if (rc < 0)
		goto out;
	if (dropped) {
		q->total_bytes -= (uint64_t)r.size;
		sg_warn("txq \"%s\": \"%s\": %s %" PRId64 " of transaction %" PRId64
		        " dropped after %d failed attempts%s",
		        q->path, r.cp, kind_names[r.kind], seq, r.tx_ref, attempts,
		        r.kind == KIND_START ? "; its later messages carry transactionId -1" : "");
		rc = 1;
	} else {
		sg_info("txq \"%s\": \"%s\": %s %" PRId64 " failed (attempt %d of %d), retrying in "
		        "%" PRId64 " s",
		        q->path, r.cp, kind_names[r.kind], seq, attempts, max_attempts,
		        wait_ms / 1000);
	}
out:
	if (rc < 0)
		rollback(q);
	return rc;
}

int
txq_stats(struct txq *q, const char *cp, int64_t now_ms, struct txq_stats *out)
{
	sqlite3_stmt *st;
	int rc;

	assert(q != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if (cp != NULL && !cp_valid(cp))
		return -EINVAL;

	st = q->st[cp ? ST_STATS_CP : ST_STATS_ALL];
	if (cp)
		sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	rc = step_row(q, st);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		out->depth = (uint64_t)sqlite3_column_int64(st, 0);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 1);
		if (out->depth > 0 && now_ms > sqlite3_column_int64(st, 2))
			out->oldest_age_ms = now_ms - sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
	}

	st = q->st[cp ? ST_COUNTERS_CP : ST_COUNTERS_ALL];
	if (cp)
		sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	rc = step_row(q, st);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		out->dropped = (uint64_t)sqlite3_column_int64(st, 0);
		out->thinned = (uint64_t)sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	}
	return 0;
}

int
txq_transaction_id(struct txq *q, const char *cp, int64_t tx_ref, int64_t *out)
{
	int64_t id;
	bool known, stopped;
	int rc;

	assert(q != NULL && out != NULL);
	if (!cp_valid(cp) || tx_ref <= 0)
		return -EINVAL;
	rc = tx_get(q, cp, tx_ref, &known, &id, &stopped);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	if (!known)
		return -EAGAIN;
	*out = id;
	return 0;
}

int
txq_tx_ref(struct txq *q, const char *cp, int64_t transaction_id, int64_t *tx_ref_out)
{
	sqlite3_stmt *st;
	int rc;

	assert(q != NULL && tx_ref_out != NULL);
	st = q->st[ST_TX_BY_ID];
	if (!cp_valid(cp))
		return -EINVAL;
	if (transaction_id == -1)
		return -ENOENT;
	bind_cp_tx(st, cp, transaction_id);
	rc = step_row(q, st);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	*tx_ref_out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}
