/* txqueue: the persistent queue of OCPP 1.6 transaction messages (StartTransaction,
 * StopTransaction and transaction MeterValues) of every charge point of the gateway, in one
 * SQLite file opened SG_STORE_DURABLE (WAL, synchronous=FULL).
 *
 * Pure storage logic: no sockets, no bus, no clock reads. Time comes in as now_ms, which must be
 * wall-clock milliseconds (CLOCK_REALTIME), because the values are stored and compared again
 * after a restart. If the clock steps back behind a recorded failure, the retry wait counts as
 * elapsed.
 *
 * Delivery
 *   - txq_push() returns after the COMMIT (one transaction, one fsync): acknowledge the sender
 *     only then. Every transaction message goes through the queue, also when online and the
 *     queue is empty, so a new message always waits behind the queued ones.
 *   - Messages of one charge point are handed out in push order (seq), one at a time: the
 *     caller sends the head, then calls txq_ack() on a CALLRESULT or txq_fail() on a CALLERROR
 *     or a timeout. Only txq_fail() counts attempts; the caller does not call it while the link
 *     is down, so time offline consumes no attempt.
 *   - Retry n (after n failed attempts) waits retry_interval_s * n; after max_attempts failed
 *     attempts the message is dropped (logged, counted) and the next one becomes the head.
 *
 * Transaction ids
 *   Every message carries the sender's tx_ref (> 0, unique per charge point, never reused).
 *   The ack of a StartTransaction stores (cp, tx_ref) -> transactionId from the response; the
 *   "transactionId" of a StopTransaction or MeterValues is replaced by the mapped value when it
 *   is handed out. The only value not assigned by the CSMS that is ever sent is -1: when a
 *   StartTransaction is dropped after all attempts, the later messages of its transaction carry
 *   transactionId -1, as the OCPP 1.6 errata sheet (v4.0, section 3.18 "How to deliver
 *   Transaction related messages when no transactionId is known") allows. A MeterValues or
 *   StopTransaction can be pushed only while its transaction is open (its StartTransaction was
 *   pushed and no StopTransaction yet); the map entry is deleted when the StopTransaction is
 *   acked or dropped. MeterValues without a transaction (connector 0, tx_ref 0) do not belong
 *   here.
 *
 * Size bound (max_bytes: bytes of stored payloads, across all charge points of the file; 0 = no
 * bound)
 *   StartTransaction, StopTransaction and non-periodic MeterValues are never evicted. When a push
 *   takes the total over max_bytes, periodic MeterValues are thinned, in the same transaction,
 *   until the total is back under the bound: the transaction that has been halved the fewest
 *   times, the oldest first, loses every second of its queued periodic MeterValues (its oldest
 *   one is always kept). So every transaction is halved once, oldest first, before any is
 *   halved twice: the energy curves lose resolution evenly instead of losing whole stretches,
 *   and meterStart/meterStop still bound the energy. A transaction keeps at least one periodic
 *   sample; past that the total may exceed max_bytes (warned once) and only the disk bounds it.
 *   Each thinning is logged and counted per charge point. A periodic MeterValues may be thinned
 *   in the very push that stored it. The file is larger than max_bytes: row and index
 *   overhead (about 25 % for typical MeterValues) and the WAL (a few MB) come on top.
 *
 * One process owns the file (the totals are kept in memory). Not thread-safe. */
#ifndef BRIDGE_TXQUEUE_H
#define BRIDGE_TXQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct txq;

struct txq_msg {
	int64_t seq;        /* unique in the file, increasing, never reused */
	const char *action; /* "StartTransaction", "StopTransaction" or "MeterValues" (static) */
	json_t *payload;    /* owned by the caller; transactionId already substituted */
	int64_t tx_ref;
	bool periodic;
	int attempts;          /* failed attempts so far */
	int64_t queued_ms;     /* now_ms of the push */
	int64_t not_before_ms; /* earliest time of the next attempt */
};

struct txq_stats {
	uint64_t depth;        /* queued messages */
	uint64_t bytes;        /* their payload bytes */
	int64_t oldest_age_ms; /* age of the oldest queued message, 0 when empty */
	uint64_t dropped;      /* dropped after max_attempts failed attempts (persistent) */
	uint64_t thinned;      /* periodic MeterValues removed by thinning (persistent) */
};

/* Opens (creating and migrating) the queue file at path. max_bytes 0 means no size bound. */
int txq_open(const char *path, uint64_t max_bytes, struct txq **out);
/* Accepts NULL. */
void txq_close(struct txq *q);

/* Stores a message at the tail of cp's queue and returns after the COMMIT. payload (borrowed)
 * is a JSON object; periodic only for MeterValues. Returns 0 and *seq_out (may be NULL), or
 * -EINVAL (bad argument, tx_ref <= 0), -EEXIST (StartTransaction for a tx_ref that is still
 * known), -ENOENT (StopTransaction/MeterValues for a transaction that is not open), -ENOSPC,
 * -EIO. */
int txq_push(struct txq *q, const char *cp, const char *action, const json_t *payload,
             int64_t tx_ref, bool periodic, int64_t now_ms, int64_t *seq_out);

/* The head of cp's queue. Returns 1 with *out filled (release out->payload with
 * json_decref()), 0 when the queue is empty, -EAGAIN with out->seq and out->not_before_ms set
 * while the head waits for its retry time, or a negative errno. Calling it again before
 * txq_ack()/txq_fail() returns the same message. A StopTransaction or MeterValues whose
 * transaction has no transactionId, or with an unreadable payload (neither can happen through
 * this API), is never handed out: it is dropped, logged and counted, and the next message is
 * returned. */
int txq_head(struct txq *q, const char *cp, int64_t now_ms, struct txq_msg *out);

/* The CSMS answered seq with a CALLRESULT (response borrowed; may be NULL except for a
 * StartTransaction). For a StartTransaction, stores response.transactionId; for a
 * StopTransaction, forgets the transaction. Removes the message.
 * Returns 0, -ENOENT (no such seq), -EBADMSG (StartTransaction response without an integer
 * transactionId; the message stays queued: treat it like a CALLERROR), -EIO. */
int txq_ack(struct txq *q, int64_t seq, const json_t *response);

/* Attempt of seq failed (CALLERROR or timeout). Returns 0 when a retry is scheduled at
 * now_ms + retry_interval_s * attempts, 1 when this was attempt max_attempts and the message
 * was dropped (a dropped StartTransaction maps its tx_ref to -1), -ENOENT, -EINVAL
 * (max_attempts < 1 or retry_interval_s < 0), -EIO. */
int txq_fail(struct txq *q, int64_t seq, int64_t now_ms, int max_attempts, int retry_interval_s);

/* Status of cp, or of the whole file when cp is NULL. */
int txq_stats(struct txq *q, const char *cp, int64_t now_ms, struct txq_stats *out);

/* The transactionId of cp's transaction tx_ref: 0 and *out (-1 after a dropped
 * StartTransaction), -EAGAIN while its StartTransaction is not acked, -ENOENT when unknown (never
 * started here, or its StopTransaction was acked). */
int txq_transaction_id(struct txq *q, const char *cp, int64_t tx_ref, int64_t *out);
/* The reverse, e.g. for RemoteStopTransaction: the open transaction of cp that the CSMS knows as
 * transaction_id. Returns 0 and *tx_ref_out, or -ENOENT (also for -1). */
int txq_tx_ref(struct txq *q, const char *cp, int64_t transaction_id, int64_t *tx_ref_out);

#endif
