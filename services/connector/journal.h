/* The connector service's journal: one SQLite file,
 * <state_dir>/connector/connector.db, opened SG_STORE_DURABLE (WAL,
 * synchronous=FULL), so that what a function here returned 0 for survives a
 * power loss. It holds
 *   - the tx_ref counter: tx_refs are never reused; the counter starts at the
 *     wall clock in ms when the file is created, so a lost file does not make
 *     it hand out references the bridge's queue may still know;
 *   - the open transactions, with their latest energy reading;
 *   - the outbox: transaction messages (StartTransaction, StopTransaction) for
 *     the bridge's persistent queue, until the bridge acknowledged them; a
 *     transaction is opened together with its StartTransaction and closed
 *     together with its StopTransaction, each in one SQLite transaction;
 *   - per connector: operative, a scheduled availability change, the status
 *     last published;
 *   - per simulated connector: the cable and the EV, so a restart finds the
 *     simulated car where it was;
 *   - the OCPP configuration keys of the service (sg_keys_schema_sql).
 * Not thread-safe; one process owns the file. */
#ifndef CONNECTOR_JOURNAL_H
#define CONNECTOR_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "connector.h"

struct journal;

struct journal_msg {
	int64_t id; /* position in the outbox */
	char cp[64];
	char action[32];
	int64_t tx_ref;
	char *payload; /* JSON text, owned: free() */
};

typedef void journal_tx_fn(const char *cp, int conn, const struct conn_tx *tx, void *ud);

/* Opens (creating and migrating) the journal at path. now_wall seeds the
 * tx_ref counter of a new file. Returns 0 or a negative errno (logged). */
int journal_open(const char *path, int64_t now_wall, struct journal **out);
void journal_close(struct journal *j);  /* accepts NULL */
sqlite3 *journal_db(struct journal *j); /* for sg_keys_new() */

/* A fresh tx_ref, durably reserved before it is returned; < 0 on failure. */
int64_t journal_next_tx_ref(struct journal *j);

/* Opens a transaction and queues its StartTransaction, in one step. */
int journal_tx_open(struct journal *j, const char *cp, int conn, const struct conn_tx *tx,
                    const char *start_json, int64_t now_wall);
/* Updates energy and transactionId of an open transaction. */
int journal_tx_save(struct journal *j, const char *cp, int conn, const struct conn_tx *tx);
/* Closes a transaction and queues its StopTransaction, in one step. */
int journal_tx_close(struct journal *j, const char *cp, int conn, int64_t tx_ref,
                     const char *stop_json, int64_t now_wall);
/* Calls fn for every open transaction. Returns the count or a negative errno. */
int journal_tx_each(struct journal *j, journal_tx_fn *fn, void *ud);

/* The oldest message of the outbox: 1 with *out filled (free out->payload),
 * 0 when empty, or a negative errno. after_id > 0 skips messages up to it. */
int journal_outbox_next(struct journal *j, int64_t after_id, struct journal_msg *out);
int journal_outbox_delete(struct journal *j, int64_t id);
/* Messages in the outbox, or a negative errno. */
int journal_outbox_count(struct journal *j);

/* Per connector: availability and the published status (status NULL: keep). */
int journal_conn_save(struct journal *j, const char *cp, int conn, bool operative, int pending,
                      const char *status);
/* Returns 1 with the values (status: at least 17 bytes), 0 when unknown, or a negative errno. */
int journal_conn_load(struct journal *j, const char *cp, int conn, bool *operative, int *pending,
                      char *status, size_t status_len);

/* The simulated hardware of a connector. */
int journal_sim_save(struct journal *j, const char *cp, int conn, bool cable, char ev_state);
int journal_sim_load(struct journal *j, const char *cp, int conn, bool *cable, char *ev_state);

#endif
