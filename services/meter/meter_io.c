/* sitegate-meter's world: bus handlers, the SQLite file, timers and drivers.
 * The decisions (alignment, values, stop data) are meter.c's.
 *
 * Per connector a driver gives readings; every second each connector's reading
 * is published as meter_sample. OCPP MeterValues:
 *   - sampled: from a transaction's start (tx_event started), every
 *     MeterValueSampleInterval, MeterValuesSampledData, Sample.Periodic, after one
 *     Transaction.Begin value; through the bridge's persistent queue (ocpp_tx);
 *   - clock-aligned: at every ClockAlignedDataInterval boundary (from midnight
 *     UTC), MeterValuesAlignedData, Sample.Clock, stamped with the boundary, for
 *     each connector and for connector 0 (their sum); through the queue during a
 *     transaction, else sent as they are (ocpp_send: lost while offline, as OCPP
 *     allows);
 *   - StopTxnSampledData / StopTxnAlignedData values of a running transaction
 *     are collected (bounded, thinned) and returned with Transaction.Begin and
 *     Transaction.End in the meter_read reply that ends the transaction.
 *
 * A MeterValues for the queue is sent again until the bridge acknowledges that it
 * stored it (ocpp_tx_ack). While the broker is away it waits in the meter's own
 * bounded outbox and goes out in order when the broker is back; once sent, the
 * broker keeps it for the bridge's persistent session, so the acknowledgement
 * timeout is long: a resend is for a message that got lost, and at worst the
 * bridge stores a MeterValues twice.
 *
 * Storage (<state_dir>/meter/meter.db, durable): the energy registers of the
 * simulated meters (every persist_interval_s, and before a value leaves the
 * service, so that no value the Central System saw is ever undercut after a
 * crash), the running transactions with their stop data, and the configuration
 * keys. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"
#include "sitegate/time.h"

#include "meter.h"
#include "meter_driver.h"
#include "meter_io.h"

#define DB_FILE         "meter.db"
#define TICK_MS         1000  /* meter_sample */
#define SEND_TIMEOUT_MS 35000 /* ocpp_send: the bridge's own CALL timeout is 30 s */
#define RETRY_MIN_MS    2000  /* first resend of an ocpp_tx the bridge refused */
#define RETRY_MAX_MS    (5 * 60 * 1000)
#define NOENT_GRACE_MS  30000 /* the StartTransaction may reach the bridge after us */
#define ENDED_KEEP_MS                                                                              \
	(10 * 60 * 1000)   /* stop data after tx_event stopped, for a late meter_read              \
	                    */
#define START_SKEW_MS 5000 /* a transaction start this far ahead of our clock is taken as now */

enum tx_state {
	TX_NONE,
	TX_RUNNING,
	TX_ENDED, /* tx_event stopped came before the meter_read that ends it */
};

struct mcp;

struct mconn {
	struct mcp *cp;
	int id;
	const struct sg_connector_conf *conf;
	struct meter_driver *drv;
	struct meter_hw hw;
	bool has_limit;
	double limit_a;

	struct meter_reading last; /* the latest reading */
	bool have_last;
	double max_wh;       /* the highest register seen: readings never go below it */
	bool warned_back;    /* a driver's register went backwards (logged once) */
	double persisted_wh; /* the register as stored */
	bool has_persisted;

	struct meter_avg avg; /* since the last clock-aligned boundary */
	bool has_aligned_base;
	double aligned_base_wh; /* register at the last boundary (or the transaction start) */

	enum tx_state tx_state;
	int64_t tx_ref, tx_started_ms, tx_ended_ms;
	double tx_begin_wh;
	bool tx_acked; /* the bridge stored one of its MeterValues: it knows the transaction */
	bool has_sample_base;
	double sample_base_wh; /* register at the previous sampled value */
	int64_t sample_due;    /* wall time the sampling timer aims at */
	uint64_t sample_timer;
	struct meter_stopdata sd;
};

struct mcp {
	struct meter_svc *m;
	const struct sg_cp_conf *conf;
	struct mconn *conns;
	int n_conns;
	uint64_t aligned_timer;
	int64_t aligned_next; /* the boundary the timer aims at */
	int64_t aligned_last; /* the last boundary reported (or skipped) */
	bool has_base0;
	double base0_wh; /* connector 0's register at the last boundary */
};

/* A MeterValues for the bridge's queue, until it is stored there. */
struct txmsg {
	struct txmsg *prev, *next;
	struct meter_svc *m;
	struct mconn *c;
	int64_t tx_ref;
	bool periodic;
	json_t *payload;
	int attempts;
	int64_t first_ms; /* wall */
	uint64_t timer;   /* resend timer */
	bool in_flight;
	bool held; /* waits for the broker */
};

struct meter_svc {
	struct sg_service *svc;
	const struct meter_conf *conf;
	struct sg_loop *loop;
	struct sg_bus *bus;
	sqlite3 *db;
	int db_depth;
	bool db_failing;
	struct sg_keys *keys;
	struct mcp *cps;
	int n_cps;
	struct txmsg *out_head, *out_tail;
	size_t n_out;
	uint64_t tick_timer, persist_timer;
};

/* ---- storage ------------------------------------------------------------- */

static const char schema_v1[] =
    "CREATE TABLE meter_register (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  energy_wh REAL NOT NULL,\n"
    "  updated_ms INTEGER NOT NULL,\n"
    "  PRIMARY KEY (cp, conn)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE meter_tx (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  tx_ref INTEGER NOT NULL,\n"
    "  started_ms INTEGER NOT NULL,\n"
    "  begin_wh REAL NOT NULL,\n"
    "  ended_ms INTEGER NOT NULL DEFAULT 0, -- tx_event stopped, meter_read not yet\n"
    "  stride INTEGER NOT NULL DEFAULT 1,   -- of the stop data (meter_sd_add)\n"
    "  PRIMARY KEY (cp, conn)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE meter_txdata (\n"
    "  cp TEXT NOT NULL,\n"
    "  conn INTEGER NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  kind INTEGER NOT NULL, -- enum meter_sd_kind\n"
    "  idx INTEGER NOT NULL,  -- the how-manieth of its kind\n"
    "  mv TEXT NOT NULL,      -- a MeterValue object\n"
    "  PRIMARY KEY (cp, conn, seq)\n"
    ") WITHOUT ROWID;";

static const struct sg_store_migration migrations[] = {
    {1, schema_v1},
    {2, sg_keys_schema_sql},
};

/* One log line per run of failures, not one per write. */
static int
db_result(struct meter_svc *m, const char *what, int rc)
{
	if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) {
		if (m->db_failing)
			sg_notice("meter.db: writing works again (%s)", what);
		m->db_failing = false;
		return 0;
	}
	if (!m->db_failing)
		sg_err("meter.db: %s failed: %s; energy registers and transaction data may not "
		       "survive a restart until it works again",
		       what, sqlite3_errmsg(m->db));
	m->db_failing = true;
	return -EIO;
}

/* Runs sql with parameters bound from types: 't' text, 'i' int64_t, 'd' double. */
static int
db_run(struct meter_svc *m, const char *what, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL);

	va_start(ap, types);
	for (int i = 0; rc == SQLITE_OK && types[i]; i++) {
		if (types[i] == 't')
			rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
			                       SQLITE_TRANSIENT);
		else if (types[i] == 'i')
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
	}
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return db_result(m, what, rc);
}

/* Nested write transactions: one COMMIT (one fsync) for a batch of writes. */
static void
db_begin(struct meter_svc *m)
{
	if (m->db_depth++ == 0)
		db_result(m, "BEGIN", sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
}

static void
db_commit(struct meter_svc *m)
{
	if (--m->db_depth > 0)
		return;
	if (sqlite3_get_autocommit(m->db))
		return; /* BEGIN failed */
	if (db_result(m, "COMMIT", sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL)) < 0)
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *
cp_id(const struct mconn *c)
{
	return c->cp->conf->id;
}

static void
store_register(struct mconn *c)
{
	struct meter_svc *m = c->cp->m;

	if (!c->drv->ops->soft_register || !c->have_last ||
	    (c->has_persisted && c->persisted_wh == c->last.energy_wh))
		return;
	if (db_run(m, "storing an energy register",
	           "INSERT INTO meter_register (cp, conn, energy_wh, updated_ms)"
	           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (cp, conn) DO UPDATE"
	           " SET energy_wh = excluded.energy_wh, updated_ms = excluded.updated_ms",
	           "tidi", cp_id(c), (int64_t)c->id, c->last.energy_wh, c->last.ts) == 0) {
		c->persisted_wh = c->last.energy_wh;
		c->has_persisted = true;
	}
}

static void
store_tx(struct mconn *c)
{
	db_run(c->cp->m, "storing a transaction",
	       "INSERT OR REPLACE INTO meter_tx"
	       " (cp, conn, tx_ref, started_ms, begin_wh, ended_ms, stride)"
	       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	       "tiiidii", cp_id(c), (int64_t)c->id, c->tx_ref, c->tx_started_ms, c->tx_begin_wh,
	       c->tx_state == TX_ENDED ? c->tx_ended_ms : INT64_C(0),
	       c->sd.stride > 1 ? c->sd.stride : INT64_C(1));
}

static void
store_sd_entry(struct mconn *c, const struct meter_sd_entry *e)
{
	char *text = json_dumps(e->mv, JSON_COMPACT);

	if (!text)
		return;
	db_run(c->cp->m, "storing transaction data",
	       "INSERT OR REPLACE INTO meter_txdata (cp, conn, seq, kind, idx, mv)"
	       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	       "tiiiit", cp_id(c), (int64_t)c->id, e->seq, (int64_t)e->kind, e->idx, text);
	free(text);
}

static void
forget_sd(struct mconn *c)
{
	db_run(c->cp->m, "deleting transaction data",
	       "DELETE FROM meter_txdata WHERE cp = ?1 AND conn = ?2", "ti", cp_id(c),
	       (int64_t)c->id);
}

static void
forget_tx(struct mconn *c)
{
	struct meter_svc *m = c->cp->m;

	db_begin(m);
	db_run(m, "deleting a transaction", "DELETE FROM meter_tx WHERE cp = ?1 AND conn = ?2",
	       "ti", cp_id(c), (int64_t)c->id);
	forget_sd(c);
	db_commit(m);
}

/* ---- keys ------------------------------------------------------------------ */

static int64_t
key_int(const struct mcp *cp, const char *name)
{
	return sg_keys_get_int(cp->m->keys, cp->conf->id, name);
}

static uint32_t
key_mask(const struct mcp *cp, const char *name)
{
	const char *v = sg_keys_get(cp->m->keys, cp->conf->id, name);
	uint32_t mask = 0;
	char why[128];

	/* the keys were narrowed to what parses: this is a safety net */
	if (v && meter_measurands_parse(v, &mask, why, sizeof(why)) < 0)
		sg_warn("cp \"%s\": %s \"%s\": %s; using none", cp->conf->id, name, v, why);
	return mask;
}

/* ---- readings ----------------------------------------------------------- */

/* The connector's reading now: never below a register seen before, counted
 * into the clock-aligned averages. */
static struct meter_reading
take_reading(struct mconn *c, int64_t now)
{
	struct meter_reading r;

	if (c->drv->ops->read(c->drv, now, &r) < 0) {
		r = c->last; /* keep the last values; a real meter may be busy */
		r.ts = now;
	}
	if (!c->hw.known && c->has_limit) {
		/* no connector service: what the limit would let it offer */
		double a =
		    c->limit_a < c->conf->max_current_a ? c->limit_a : c->conf->max_current_a;

		r.offered_a = a > 0 ? a : 0;
		r.offered_w = 0;
		for (int i = 0; i < r.phases && i < METER_PHASES; i++)
			r.offered_w += r.offered_a * r.voltage_v[i];
	}
	if (r.energy_wh < c->max_wh) {
		if (!c->warned_back)
			sg_warn("%s/%d: the meter's register went back from %.1f to %.1f Wh; "
			        "reporting %.1f Wh until it passes that",
			        cp_id(c), c->id, c->max_wh, r.energy_wh, c->max_wh);
		c->warned_back = true;
		r.energy_wh = c->max_wh;
	} else {
		c->max_wh = r.energy_wh;
	}
	if (c->have_last)
		meter_avg_add(&c->avg, &c->last, now - c->last.ts);
	c->last = r;
	c->have_last = true;
	return r;
}

static void
publish_sample(struct mconn *c, const struct meter_reading *r)
{
	struct sg_msg_meter_sample s = {
	    .ts = r->ts,
	    .energy_wh = r->energy_wh,
	    .power_w = r->power_w,
	    .current_l1 = r->current_a[0],
	    .current_l2 = r->current_a[1],
	    .current_l3 = r->current_a[2],
	    .voltage_v = r->voltage_v[0],
	    .offered_a = r->offered_a,
	};
	struct sg_topic_args a = {.conn = c->id};

	snprintf(a.cp, sizeof(a.cp), "%s", cp_id(c));
	sg_bus_publish(c->cp->m->bus, SG_MSG_meter_sample, &s, &a);
}

/* ---- MeterValues out --------------------------------------------------- */

static json_t *
meter_values_payload(int conn, bool with_tx, json_t *mv)
{
	json_t *p = json_object(), *list = json_array();

	if (!p || !list) {
		json_decref(mv);
		json_decref(p);
		json_decref(list);
		return NULL;
	}
	if (json_array_append_new(list, mv) < 0) { /* takes mv either way */
		json_decref(p);
		json_decref(list);
		return NULL;
	}
	json_object_set_new(p, "connectorId", json_integer(conn));
	if (with_tx)
		json_object_set_new(p, "transactionId",
		                    json_integer(0)); /* the bridge fills it in */
	json_object_set_new(p, "meterValue", list);
	return p;
}

static void
on_send_result(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	const struct sg_msg_ocpp_result *r = reply;

	/* Not queued, by design: a clock-aligned value outside a transaction that
	 * cannot go now is not worth keeping (OCPP 1.6 lets it go). */
	if (status < 0)
		sg_debug("clock-aligned MeterValues not answered: %s", strerror(-status));
	else if (r->error[0])
		sg_debug("clock-aligned MeterValues not delivered: %s %s", r->error,
		         r->description);
}

/* Sends mv (taken) of connector conn now, outside any transaction. */
static void
send_plain(struct mcp *cp, int conn, json_t *mv)
{
	struct sg_msg_ocpp_send msg = {.payload = meter_values_payload(conn, false, mv)};
	struct sg_topic_args a = {0};
	int rc;

	if (!msg.payload)
		return;
	if (!sg_bus_connected(cp->m->bus)) {
		/* not queued: live data, and OCPP lets it go while offline */
		sg_debug("%s/%d: broker away, clock-aligned MeterValues dropped", cp->conf->id,
		         conn);
		json_decref(msg.payload);
		return;
	}
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "MeterValues");
	rc = sg_bus_request(cp->m->bus, SG_MSG_ocpp_send, &msg, &a, SEND_TIMEOUT_MS, on_send_result,
	                    NULL);
	if (rc < 0)
		sg_warn("%s/%d: clock-aligned MeterValues not sent: %s", cp->conf->id, conn,
		        strerror(-rc));
	json_decref(msg.payload);
}

static void
out_unlink(struct txmsg *t)
{
	struct meter_svc *m = t->m;

	if (t->prev)
		t->prev->next = t->next;
	else
		m->out_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		m->out_tail = t->prev;
	m->n_out--;
}

/* Unlinks and frees t; its timer must be gone (or the loop). */
static void
out_free(struct txmsg *t)
{
	out_unlink(t);
	json_decref(t->payload);
	free(t);
}

static void out_send(struct txmsg *t);

static int64_t
on_out_retry(struct sg_loop *loop, void *ud)
{
	struct txmsg *t = ud;

	t->timer = 0;
	out_send(t);
	return -1;
}

static void
out_retry(struct txmsg *t, int64_t delay_ms)
{
	t->timer = sg_loop_timer_add(t->m->loop, delay_ms, on_out_retry, t);
	if (!t->timer) {
		sg_err("%s/%d: out of memory: MeterValues of transaction %" PRId64 " dropped",
		       cp_id(t->c), t->c->id, t->tx_ref);
		out_free(t);
	}
}

static int64_t
backoff_ms(int attempts)
{
	int64_t d = RETRY_MIN_MS;

	for (int i = 1; i < attempts && d < RETRY_MAX_MS; i++)
		d *= 2;
	return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

static void tx_close(struct mconn *c);

static void
on_tx_ack(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct txmsg *t = ud;
	struct mconn *c = t->c;
	const struct sg_msg_ocpp_tx_ack *ack = reply;
	bool ours = c->tx_state != TX_NONE && c->tx_ref == t->tx_ref;
	int err;

	t->in_flight = false;
	if (status == -ECANCELED) { /* the bus is going away: so are we */
		out_free(t);
		return;
	}
	err = status < 0 ? status : ack->seq < 0 ? (int)ack->seq : 0;
	if (err == 0) {
		if (ours)
			c->tx_acked = true;
		out_free(t);
		return;
	}
	if (err == -ENOENT) {
		/* The bridge has no open transaction tx_ref: its StartTransaction is not
		 * queued yet (we heard of the start first), or it was stopped. */
		if (ours && c->tx_state == TX_RUNNING && !c->tx_acked &&
		    sg_time_wall_ms() - t->first_ms < NOENT_GRACE_MS) {
			out_retry(t, RETRY_MIN_MS);
			return;
		}
		sg_notice("%s/%d: the bridge has no open transaction %" PRId64
		          "; its MeterValues are dropped",
		          cp_id(c), c->id, t->tx_ref);
		if (ours && c->tx_state == TX_RUNNING) {
			sg_notice("%s/%d: transaction %" PRId64 " ended without us: sampling stops",
			          cp_id(c), c->id, t->tx_ref);
			tx_close(c);
		}
		out_free(t);
		return;
	}
	int64_t delay = err == -ETIMEDOUT ? RETRY_MIN_MS : backoff_ms(t->attempts);

	sg_warn("%s/%d: MeterValues of transaction %" PRId64 " not stored by the bridge (%s), "
	        "sending again in %" PRId64 " s",
	        cp_id(c), c->id, t->tx_ref,
	        err == -ETIMEDOUT ? "no acknowledgement" : strerror(-err), delay / 1000);
	out_retry(t, delay);
}

static void
out_send(struct txmsg *t)
{
	struct meter_svc *m = t->m;
	struct sg_msg_ocpp_tx msg = {
	    .payload = t->payload, .tx_ref = t->tx_ref, .periodic = t->periodic};
	struct sg_topic_args a = {0};
	int rc;

	/* While the broker is away the message waits here rather than in the bus's
	 * queue: it is sent in order once the broker is back (on_tick). */
	if (!sg_bus_connected(m->bus)) {
		t->held = true;
		return;
	}
	t->held = false;
	snprintf(a.cp, sizeof(a.cp), "%s", cp_id(t->c));
	snprintf(a.name, sizeof(a.name), "MeterValues");
	t->attempts++;
	rc = sg_bus_request(m->bus, SG_MSG_ocpp_tx, &msg, &a,
	                    (int64_t)m->conf->ack_timeout_s * 1000, on_tx_ack, t);
	if (rc < 0) {
		sg_warn("%s/%d: MeterValues of transaction %" PRId64 " not sent (%s), retrying",
		        cp_id(t->c), t->c->id, t->tx_ref, strerror(-rc));
		out_retry(t, backoff_ms(t->attempts));
		return;
	}
	t->in_flight = true;
}

/* Makes room for one more: drops the oldest periodic MeterValues that is not
 * on its way. Returns false when there is none to drop. */
static bool
out_make_room(struct meter_svc *m)
{
	for (struct txmsg *t = m->out_head; t; t = t->next) {
		if (!t->periodic || t->in_flight)
			continue;
		sg_warn("%s/%d: %zu MeterValues wait for the bridge; dropping the oldest periodic "
		        "one (transaction %" PRId64 ")",
		        cp_id(t->c), t->c->id, m->n_out, t->tx_ref);
		sg_loop_timer_del(m->loop, t->timer);
		out_free(t);
		return true;
	}
	return false;
}

/* Queues mv (taken) of c's running transaction through the bridge. */
static void
send_tx(struct mconn *c, json_t *mv, bool periodic)
{
	struct meter_svc *m = c->cp->m;
	struct txmsg *t;

	if (m->n_out >= (size_t)m->conf->outbox_limit && !out_make_room(m) && periodic) {
		sg_warn("%s/%d: %zu MeterValues wait for the bridge; this one is dropped", cp_id(c),
		        c->id, m->n_out);
		json_decref(mv);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->payload = meter_values_payload(c->id, true, mv))) {
		sg_err("%s/%d: out of memory: MeterValues dropped", cp_id(c), c->id);
		free(t);
		return;
	}
	t->m = m;
	t->c = c;
	t->tx_ref = c->tx_ref;
	t->periodic = periodic;
	t->first_ms = sg_time_wall_ms();
	t->prev = m->out_tail;
	if (m->out_tail)
		m->out_tail->next = t;
	else
		m->out_head = t;
	m->out_tail = t;
	m->n_out++;
	sg_debug("%s/%d: MeterValues of transaction %" PRId64 " to the bridge (%zu waiting)",
	         cp_id(c), c->id, t->tx_ref, m->n_out);
	out_send(t);
}

/* ---- transactions ---------------------------------------------------------- */

static void
on_sd_gone(int64_t seq, void *ud)
{
	struct mconn *c = ud;

	db_run(c->cp->m, "deleting transaction data",
	       "DELETE FROM meter_txdata WHERE cp = ?1 AND conn = ?2 AND seq = ?3", "tii", cp_id(c),
	       (int64_t)c->id, seq);
}

static void
add_stop_data(struct mconn *c, enum meter_sd_kind kind, json_t *mv)
{
	struct meter_sd_limits l = {
	    .max_values = (size_t)c->cp->m->conf->stop_txn_max_values,
	    .max_bytes = (size_t)c->cp->m->conf->stop_txn_max_bytes,
	};
	unsigned halvings = c->sd.halvings;
	int removed = meter_sd_add(&c->sd, kind, mv, &l, on_sd_gone, c);

	json_decref(mv);
	if (removed < 0) {
		sg_err("%s/%d: out of memory: transaction data of %" PRId64 " incomplete", cp_id(c),
		       c->id, c->tx_ref);
		return;
	}
	store_sd_entry(c, &c->sd.e[c->sd.n - 1]); /* the new one: always kept */
	if (c->sd.halvings != halvings) {
		store_tx(c); /* the stride */
		sg_info("%s/%d: transaction %" PRId64 " keeps one periodic value in %" PRId64
		        " for its stop transaction data (%zu values, %zu bytes)",
		        cp_id(c), c->id, c->tx_ref, c->sd.stride, c->sd.n, c->sd.bytes);
	}
}

static void
sample_cancel(struct mconn *c)
{
	sg_loop_timer_del(c->cp->m->loop, c->sample_timer);
	c->sample_timer = 0;
}

/* Ends what the meter does for c's transaction and forgets it. */
static void
tx_close(struct mconn *c)
{
	sample_cancel(c);
	meter_sd_clear(&c->sd);
	forget_tx(c);
	c->tx_state = TX_NONE;
	c->tx_ref = 0;
	c->tx_acked = false;
	c->has_sample_base = false;
	c->sample_due = 0;
}

static void sample_schedule(struct mconn *c, int64_t now);

static int64_t
on_sample_timer(struct sg_loop *loop, void *ud)
{
	struct mconn *c = ud;
	struct mcp *cp = c->cp;
	int64_t now = sg_time_wall_ms();

	c->sample_timer = 0;
	if (c->tx_state != TX_RUNNING || key_int(cp, "MeterValueSampleInterval") <= 0)
		return -1;
	uint32_t mask = key_mask(cp, "MeterValuesSampledData");
	uint32_t smask = key_mask(cp, "StopTxnSampledData");
	struct meter_reading r = take_reading(c, now);
	struct meter_value_opts o = {
	    .context = "Sample.Periodic",
	    .has_interval = c->has_sample_base,
	    .interval_wh = r.energy_wh - c->sample_base_wh,
	};

	db_begin(cp->m);
	store_register(c);
	if (mask) {
		json_t *mv = meter_value_json(&r, mask, &o);

		if (mv)
			send_tx(c, mv, true);
	}
	if (smask) {
		json_t *mv = meter_value_json(&r, smask, &o);

		if (mv)
			add_stop_data(c, METER_SD_SAMPLED, mv);
	}
	db_commit(cp->m);
	c->sample_base_wh = r.energy_wh;
	c->has_sample_base = true;
	sample_schedule(c, now);
	return -1;
}

/* Arms the timer for the next sampled value of c's transaction: every
 * MeterValueSampleInterval from its start. */
static void
sample_schedule(struct mconn *c, int64_t now)
{
	int64_t iv = key_int(c->cp, "MeterValueSampleInterval"), next, delay;

	sample_cancel(c);
	if (c->tx_state != TX_RUNNING || iv <= 0)
		return;
	/* never the same slot twice, even when the timer ran a little early */
	next = meter_sample_next(c->tx_started_ms, now > c->sample_due ? now : c->sample_due, iv);
	delay = next - now;
	if (delay < 0)
		delay = 0;
	if (delay > iv * 1000)
		delay = iv * 1000;
	c->sample_due = next;
	c->sample_timer = sg_loop_timer_add(c->cp->m->loop, delay, on_sample_timer, c);
	if (!c->sample_timer)
		sg_err("%s/%d: out of memory: no sampled values for transaction %" PRId64, cp_id(c),
		       c->id, c->tx_ref);
}

static void
tx_begin(struct mconn *c, const struct sg_msg_tx_event *ev)
{
	struct mcp *cp = c->cp;
	int64_t now = sg_time_wall_ms();

	if (ev->tx_ref <= 0) {
		sg_warn("%s/%d: transaction start without a tx_ref ignored", cp_id(c), c->id);
		return;
	}
	if (c->tx_state != TX_NONE && c->tx_ref == ev->tx_ref)
		return; /* heard already */
	if (c->tx_state != TX_NONE) {
		sg_notice("%s/%d: transaction %" PRId64 " starts while %" PRId64
		          " was not ended here; forgetting %" PRId64,
		          cp_id(c), c->id, ev->tx_ref, c->tx_ref, c->tx_ref);
		tx_close(c);
	}
	struct meter_reading r = take_reading(c, now), rb = r;
	const struct sg_site_conf *site = &cp->m->svc->conf.site;
	double max_w = c->conf->max_current_a * site->nominal_voltage * c->conf->phases * 1.1;

	/* The Begin value is the transaction's start: its time and meterStart (when
	 * that is a value the register could have had then: meter_wh is optional, and
	 * a missing one reads 0). */
	rb.ts = ev->ts > 0 && ev->ts <= now + START_SKEW_MS ? ev->ts : now;
	if (ev->meter_wh >= 0 && ev->meter_wh <= r.energy_wh &&
	    r.energy_wh - ev->meter_wh <= max_w * (double)(now - rb.ts + 2000) / 3600000.0)
		rb.energy_wh = ev->meter_wh;

	c->tx_state = TX_RUNNING;
	c->tx_ref = ev->tx_ref;
	c->tx_started_ms = rb.ts;
	c->tx_begin_wh = rb.energy_wh;
	c->tx_acked = false;
	c->sample_base_wh = rb.energy_wh;
	c->has_sample_base = true;
	c->sample_due = 0;
	/* the first clock-aligned interval of a transaction is partial: from its start */
	c->aligned_base_wh = rb.energy_wh;
	c->has_aligned_base = true;

	uint32_t mask = key_mask(cp, "MeterValuesSampledData") & ~METER_MASK(METER_EAII);
	uint32_t emask = (key_mask(cp, "StopTxnSampledData") | key_mask(cp, "StopTxnAlignedData")) &
	                 ~METER_MASK(METER_EAII);
	struct meter_value_opts o = {.context = "Transaction.Begin"};

	db_begin(cp->m);
	store_register(c);
	store_tx(c);
	forget_sd(c);
	if (key_int(cp, "MeterValueSampleInterval") > 0 && mask) {
		json_t *mv = meter_value_json(&rb, mask, &o);

		if (mv)
			send_tx(c, mv, false);
	}
	if (emask) {
		json_t *mv = meter_value_json(&rb, emask, &o);

		if (mv)
			add_stop_data(c, METER_SD_BEGIN, mv);
	}
	db_commit(cp->m);
	sample_schedule(c, now);
	sg_info("%s/%d: transaction %" PRId64 " started at %.1f Wh; sampling every %" PRId64 " s",
	        cp_id(c), c->id, c->tx_ref, c->tx_begin_wh,
	        key_int(cp, "MeterValueSampleInterval"));
}

/* ---- clock-aligned values ------------------------------------------------- */

static void aligned_schedule(struct mcp *cp, int64_t now);

static void
aligned_report(struct mcp *cp, int64_t boundary, int64_t now)
{
	struct meter_reading parts[SG_MAX_CONNECTORS];
	uint32_t mask = key_mask(cp, "MeterValuesAlignedData");
	uint32_t smask = key_mask(cp, "StopTxnAlignedData");

	db_begin(cp->m);
	for (int i = 0; i < cp->n_conns; i++) {
		struct mconn *c = &cp->conns[i];
		struct meter_reading r = take_reading(c, now), ra;
		bool in_tx = c->tx_state == TX_RUNNING;
		struct meter_value_opts o = {
		    .context = "Sample.Clock",
		    .has_interval = c->has_aligned_base,
		    .interval_wh = r.energy_wh - c->aligned_base_wh,
		};

		meter_avg_apply(&c->avg, &r, &ra);
		memset(&c->avg, 0, sizeof(c->avg));
		ra.ts = boundary; /* the reading belongs to the boundary, not to the timer */
		parts[i] = ra;
		if (mask || (in_tx && smask))
			store_register(c);
		if (mask) {
			json_t *mv = meter_value_json(&ra, mask, &o);

			if (mv && in_tx)
				send_tx(c, mv, true);
			else if (mv)
				send_plain(cp, c->id, mv);
		}
		if (in_tx && smask) {
			json_t *mv = meter_value_json(&ra, smask, &o);

			if (mv)
				add_stop_data(c, METER_SD_ALIGNED, mv);
		}
		c->aligned_base_wh = r.energy_wh;
		c->has_aligned_base = true;
	}
	db_commit(cp->m);

	struct meter_reading sum;

	meter_reading_sum(parts, (size_t)cp->n_conns, &sum);
	sum.ts = boundary;
	if (mask) {
		struct meter_value_opts o = {
		    .context = "Sample.Clock",
		    .inlet = true,
		    .has_interval = cp->has_base0,
		    .interval_wh = sum.energy_wh - cp->base0_wh,
		};
		json_t *mv = meter_value_json(&sum, mask, &o);

		if (mv)
			send_plain(cp, 0, mv);
	}
	cp->base0_wh = sum.energy_wh;
	cp->has_base0 = true;
}

static int64_t
on_aligned_timer(struct sg_loop *loop, void *ud)
{
	struct mcp *cp = ud;
	int64_t now = sg_time_wall_ms(), iv = key_int(cp, "ClockAlignedDataInterval"), boundary;

	cp->aligned_timer = 0;
	if (iv <= 0)
		return -1;
	/* Early (the monotonic timer and the wall clock disagree by a few ms): the
	 * boundary is not there yet; late: it still gets its own time stamp. */
	if (meter_align_due(now, iv, cp->aligned_last, &boundary)) {
		if (now - boundary > 1000)
			sg_debug("%s: clock-aligned values of %" PRId64 " taken %" PRId64
			         " ms late",
			         cp->conf->id, boundary, now - boundary);
		cp->aligned_last = boundary;
		aligned_report(cp, boundary, now);
	}
	aligned_schedule(cp, now);
	return -1;
}

static void
aligned_schedule(struct mcp *cp, int64_t now)
{
	int64_t iv = key_int(cp, "ClockAlignedDataInterval");

	sg_loop_timer_del(cp->m->loop, cp->aligned_timer);
	cp->aligned_timer = 0;
	if (iv <= 0)
		return;
	cp->aligned_next = meter_align_next(now, iv);
	cp->aligned_timer =
	    sg_loop_timer_add(cp->m->loop, cp->aligned_next - now, on_aligned_timer, cp);
	if (!cp->aligned_timer)
		sg_err("%s: out of memory: no clock-aligned values", cp->conf->id);
}

/* A new interval: the boundaries move, the averages and interval energies start
 * over at the next one. */
static void
aligned_restart(struct mcp *cp, int64_t now)
{
	int64_t iv = key_int(cp, "ClockAlignedDataInterval");

	cp->aligned_last = iv > 0 ? meter_align_floor(now, iv) : 0;
	cp->has_base0 = false;
	for (int i = 0; i < cp->n_conns; i++) {
		cp->conns[i].has_aligned_base = false;
		memset(&cp->conns[i].avg, 0, sizeof(cp->conns[i].avg));
	}
	aligned_schedule(cp, now);
}

/* ---- bus handlers ------------------------------------------------------------ */

static struct mcp *
find_cp(struct meter_svc *m, const char *id)
{
	for (int i = 0; id && i < m->n_cps; i++)
		if (strcmp(m->cps[i].conf->id, id) == 0)
			return &m->cps[i];
	return NULL;
}

static struct mconn *
find_conn(struct meter_svc *m, const struct sg_topic_args *a)
{
	struct mcp *cp = find_cp(m, a->cp);

	if (!cp || a->conn < 1 || a->conn > cp->n_conns)
		return NULL;
	return &cp->conns[a->conn - 1];
}

static void
on_hw(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mconn *c = find_conn(ud, in->args);
	const struct sg_msg_conn_hw *h = in->msg;
	int64_t now = sg_time_wall_ms();

	if (!c)
		return;
	take_reading(c, now); /* closes what the old state did */
	c->hw = (struct meter_hw){
	    .known = true,
	    .plugged = h->plugged,
	    .ev_state = h->ev_state[0],
	    .contactor = h->contactor,
	    .offered_a = h->offered_a,
	    .phases = (int)h->phases,
	};
	c->drv->ops->hw(c->drv, &c->hw, now);
	sg_debug("%s/%d: hardware: %s, EV %s, contactor %s, %.1f A offered", cp_id(c), c->id,
	         h->plugged ? "plugged" : "unplugged", h->ev_state,
	         h->contactor ? "closed" : "open", h->offered_a);
}

static void
on_limit(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mconn *c = find_conn(ud, in->args);
	const struct sg_msg_conn_limit *l = in->msg;

	if (!c)
		return;
	c->has_limit = true;
	c->limit_a = l->limit_a;
}

static void
on_tx_event(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mconn *c = find_conn(ud, in->args);
	const struct sg_msg_tx_event *ev = in->msg;

	if (!c) {
		sg_debug("tx_event of unknown connector %s/%d ignored", in->args->cp,
		         in->args->conn);
		return;
	}
	if (strcmp(ev->event, "started") == 0) {
		tx_begin(c, ev);
	} else if (strcmp(ev->event, "stopped") == 0) {
		if (c->tx_state != TX_RUNNING || c->tx_ref != ev->tx_ref)
			return; /* the meter_read that stopped it came first, as it should */
		/* Kept for a meter_read that may still come for it. */
		sample_cancel(c);
		c->tx_state = TX_ENDED;
		c->tx_ended_ms = sg_time_wall_ms();
		store_tx(c);
		sg_info("%s/%d: transaction %" PRId64 " stopped (%s); sampling stops", cp_id(c),
		        c->id, c->tx_ref, ev->reason[0] ? ev->reason : "no reason given");
	} else {
		sg_debug("%s/%d: tx_event \"%s\" ignored", cp_id(c), c->id, ev->event);
	}
}

static void
on_meter_read(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct meter_svc *m = ud;
	struct mconn *c = find_conn(m, in->args);
	const struct sg_msg_meter_read *req = in->msg;
	struct sg_msg_meter_reading rep = {0};
	json_t *end = NULL;
	int rc;

	if (!c && in->args->conn == 0 && find_cp(m, in->args->cp)) {
		/* the charge point as a whole: the sum of its registers */
		struct mcp *cp = find_cp(m, in->args->cp);

		rep.ts = sg_time_wall_ms();
		for (int i = 0; i < cp->n_conns; i++)
			rep.energy_wh += take_reading(&cp->conns[i], rep.ts).energy_wh;
		if ((rc = sg_bus_reply(bus, in, &rep)) < 0)
			sg_warn("%s/0: cannot answer meter_read: %s", cp->conf->id, strerror(-rc));
		return;
	}
	if (!c) {
		sg_warn("meter_read for %s/%d: no such connector here; not answered", in->args->cp,
		        in->args->conn);
		return;
	}
	int64_t now = sg_time_wall_ms();
	struct meter_reading r = take_reading(c, now);

	rep.energy_wh = r.energy_wh;
	rep.ts = r.ts;
	db_begin(m);
	store_register(c); /* meterStart/meterStop: never undercut after a crash */
	if (req->stop) {
		bool ours =
		    c->tx_state != TX_NONE && (req->tx_ref == 0 || req->tx_ref == c->tx_ref);
		struct meter_stopdata none = {0};
		uint32_t emask =
		    key_mask(c->cp, "StopTxnSampledData") | key_mask(c->cp, "StopTxnAlignedData");
		struct meter_value_opts o = {
		    .context = "Transaction.End",
		    .has_interval = ours && c->has_sample_base,
		    .interval_wh = r.energy_wh - c->sample_base_wh,
		};

		if (emask)
			end = meter_value_json(&r, emask, &o);
		rep.transaction_data = meter_sd_build(ours ? &c->sd : &none, end);
		sg_info("%s/%d: transaction %" PRId64 " ends%s%s: %.1f Wh, %zu MeterValue(s) of "
		        "transaction data",
		        cp_id(c), c->id, req->tx_ref, req->reason[0] ? ", " : "", req->reason,
		        r.energy_wh, json_array_size(rep.transaction_data));
		if (ours)
			tx_close(c);
		else if (c->tx_state != TX_NONE)
			sg_notice("%s/%d: meter_read stops transaction %" PRId64 ", but %" PRId64
			          " runs here; it keeps running",
			          cp_id(c), c->id, req->tx_ref, c->tx_ref);
	}
	db_commit(m);
	rc = sg_bus_reply(bus, in, &rep);
	if (rc < 0)
		sg_warn("%s/%d: cannot answer meter_read: %s", cp_id(c), c->id, strerror(-rc));
	json_decref(rep.transaction_data);
	json_decref(end);
}

/* TriggerMessage MeterValues (the bridge has answered Accepted already): the
 * MeterValuesSampledData now, context Trigger, for the connector asked for, or
 * for every connector and the charge point as a whole when none was given. A
 * running transaction's values go through the bridge's queue with it. */
static void
on_trigger(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct meter_svc *m = ud;
	const struct sg_msg_ocpp_trigger *t = in->msg;
	struct mcp *cp = find_cp(m, in->args->cp);
	if (!cp || strcmp(in->args->name, "MeterValues") != 0)
		return;
	uint32_t mask = key_mask(cp, "MeterValuesSampledData");
	int64_t now = sg_time_wall_ms();
	struct meter_reading parts[SG_MAX_CONNECTORS];
	struct meter_value_opts o = {.context = "Trigger"};

	for (int i = 0; i < cp->n_conns; i++) {
		struct mconn *c = &cp->conns[i];
		parts[i] = take_reading(c, now);
		if (t->connector_id >= 0 && t->connector_id != c->id)
			continue;
		json_t *mv = meter_value_json(&parts[i], mask, &o);
		if (mv && c->tx_state == TX_RUNNING)
			send_tx(c, mv, false);
		else if (mv)
			send_plain(cp, c->id, mv);
	}
	if (t->connector_id <= 0) {
		struct meter_reading sum;
		struct meter_value_opts o0 = {.context = "Trigger", .inlet = true};
		meter_reading_sum(parts, (size_t)cp->n_conns, &sum);
		sum.ts = now;
		json_t *mv = meter_value_json(&sum, mask, &o0);
		if (mv)
			send_plain(cp, 0, mv);
	}
}

static void
on_key_change(struct sg_keys *keys, const char *cp_id_, const struct sg_key_def *def,
              const char *value, void *ud)
{
	struct mcp *cp = find_cp(ud, cp_id_);
	int64_t now = sg_time_wall_ms();

	if (!cp)
		return;
	if (strcmp(def->name, "MeterValueSampleInterval") == 0) {
		for (int i = 0; i < cp->n_conns; i++) {
			cp->conns[i].sample_due = 0;
			sample_schedule(&cp->conns[i], now);
		}
	} else if (strcmp(def->name, "ClockAlignedDataInterval") == 0) {
		aligned_restart(cp, now);
	}
}

/* ---- timers ------------------------------------------------------------------ */

static int64_t
on_tick(struct sg_loop *loop, void *ud)
{
	struct meter_svc *m = ud;
	int64_t now = sg_time_wall_ms();

	if (sg_bus_connected(m->bus))
		for (struct txmsg *t = m->out_head, *next; t; t = next) {
			next = t->next;
			if (t->held)
				out_send(t);
		}
	for (int i = 0; i < m->n_cps; i++)
		for (int k = 0; k < m->cps[i].n_conns; k++) {
			struct mconn *c = &m->cps[i].conns[k];
			struct meter_reading r = take_reading(c, now);

			publish_sample(c, &r);
			if (c->tx_state == TX_ENDED && now - c->tx_ended_ms > ENDED_KEEP_MS) {
				sg_notice(
				    "%s/%d: no meter_read came for stopped transaction %" PRId64
				    "; its transaction data is dropped",
				    cp_id(c), c->id, c->tx_ref);
				tx_close(c);
			}
		}
	return TICK_MS;
}

static void
store_all(struct meter_svc *m)
{
	db_begin(m);
	for (int i = 0; i < m->n_cps; i++)
		for (int k = 0; k < m->cps[i].n_conns; k++)
			store_register(&m->cps[i].conns[k]);
	db_commit(m);
}

static int64_t
on_persist(struct sg_loop *loop, void *ud)
{
	struct meter_svc *m = ud;

	store_all(m);
	return (int64_t)m->conf->persist_interval_s * 1000;
}

/* ---- life ---------------------------------------------------------------------- */

static int
narrow_keys(struct meter_svc *m)
{
	static const char *const lists[] = {"MeterValuesSampledData", "MeterValuesAlignedData",
	                                    "StopTxnSampledData", "StopTxnAlignedData"};
	char n[8];
	int rc = 0;

	snprintf(n, sizeof(n), "%d", METER__MEASURANDS);
	for (size_t i = 0; rc == 0 && i < sizeof(lists) / sizeof(*lists); i++) {
		char max_key[64];
		struct sg_key_limits members = {.members = meter_supported_csl};
		struct sg_key_limits count = {
		    .def = n, .narrow = true, .min = 1, .max = METER__MEASURANDS};

		/* the bound first: the list is checked against it */
		snprintf(max_key, sizeof(max_key), "%sMaxLength", lists[i]);
		rc = sg_keys_override(m->keys, max_key, count);
		if (rc == 0)
			rc = sg_keys_override(m->keys, lists[i], members);
	}
	return rc;
}

static int
load_registers(struct meter_svc *m)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(m->db, "SELECT cp, conn, energy_wh FROM meter_register", -1,
	                            &st, NULL);
	int64_t now = sg_time_wall_ms();

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sg_topic_args a = {.conn = sqlite3_column_int(st, 1)};
		struct mconn *c;

		rc = SQLITE_OK;
		snprintf(a.cp, sizeof(a.cp), "%s", (const char *)sqlite3_column_text(st, 0));
		c = find_conn(m, &a);
		if (!c || !c->drv->ops->soft_register)
			continue;
		c->persisted_wh = sqlite3_column_double(st, 2);
		c->has_persisted = true;
		c->max_wh = c->persisted_wh;
		c->drv->ops->restore(c->drv, c->persisted_wh, now);
		sg_debug("%s/%d: energy register restored: %.1f Wh", a.cp, a.conn, c->persisted_wh);
	}
	sqlite3_finalize(st);
	return db_result(m, "reading the energy registers", rc);
}

static int
load_transactions(struct meter_svc *m)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    m->db, "SELECT cp, conn, tx_ref, started_ms, begin_wh, ended_ms, stride FROM meter_tx",
	    -1, &st, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sg_topic_args a = {.conn = sqlite3_column_int(st, 1)};
		struct mconn *c;

		snprintf(a.cp, sizeof(a.cp), "%s", (const char *)sqlite3_column_text(st, 0));
		rc = SQLITE_OK;
		c = find_conn(m, &a);
		if (!c)
			continue; /* a connector no longer configured */
		c->tx_ref = sqlite3_column_int64(st, 2);
		c->tx_started_ms = sqlite3_column_int64(st, 3);
		c->tx_begin_wh = sqlite3_column_double(st, 4);
		c->tx_ended_ms = sqlite3_column_int64(st, 5);
		c->tx_state = c->tx_ended_ms ? TX_ENDED : TX_RUNNING;
		c->sd.stride = sqlite3_column_int64(st, 6);
		c->tx_acked = true; /* it was running before: the bridge knows it */
		sg_info("%s/%d: transaction %" PRId64 " %s before the restart", a.cp, a.conn,
		        c->tx_ref, c->tx_state == TX_ENDED ? "had stopped" : "was running");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return db_result(m, "reading the transactions", rc);

	rc = sqlite3_prepare_v2(
	    m->db, "SELECT cp, conn, seq, kind, idx, mv FROM meter_txdata ORDER BY cp, conn, seq",
	    -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sg_topic_args a = {.conn = sqlite3_column_int(st, 1)};
		const char *text = (const char *)sqlite3_column_text(st, 5);
		int kind = sqlite3_column_int(st, 3);
		json_t *mv = text ? json_loads(text, 0, NULL) : NULL;
		struct mconn *c;

		snprintf(a.cp, sizeof(a.cp), "%s", (const char *)sqlite3_column_text(st, 0));
		rc = SQLITE_OK;
		c = find_conn(m, &a);
		if (c && c->tx_state != TX_NONE && mv && json_is_object(mv) &&
		    kind >= METER_SD_BEGIN && kind <= METER_SD_ALIGNED)
			meter_sd_restore(&c->sd, sqlite3_column_int64(st, 2),
			                 sqlite3_column_int64(st, 4), (enum meter_sd_kind)kind, mv);
		json_decref(mv);
	}
	sqlite3_finalize(st);
	return db_result(m, "reading the transaction data", rc);
}

static int
setup_cp(struct meter_svc *m, struct mcp *cp, const struct sg_cp_conf *conf)
{
	const struct sg_site_conf *site = &m->svc->conf.site;

	cp->m = m;
	cp->conf = conf;
	cp->n_conns = conf->n_connectors;
	cp->conns = calloc((size_t)(cp->n_conns ? cp->n_conns : 1), sizeof(*cp->conns));
	if (!cp->conns)
		return -ENOMEM;
	for (int i = 0; i < cp->n_conns; i++) {
		const struct sg_connector_conf *cc = &conf->connectors[i];
		struct mconn *c = &cp->conns[i];
		const struct meter_driver_ops *ops = meter_driver_find(cc->meter);
		struct meter_driver_conf dc = {
		    .cp = conf->id,
		    .conn = cc->id,
		    .phases = cc->phases < site->phases ? cc->phases : site->phases,
		    .max_current_a = cc->max_current_a,
		    .nominal_voltage = site->nominal_voltage,
		};

		c->cp = cp;
		c->id = cc->id;
		c->conf = cc;
		if (!ops) {
			sg_err("%s/%d: no meter driver \"%s\"", conf->id, cc->id, cc->meter);
			return -EINVAL;
		}
		c->drv = ops->create(&dc);
		if (!c->drv)
			return -ENOMEM;
	}
	return 0;
}

int
meter_io_new(struct sg_service *svc, const struct meter_conf *conf, struct meter_svc **out)
{
	struct meter_svc *m = calloc(1, sizeof(*m));
	char path[512];
	int64_t now = sg_time_wall_ms();
	int rc;

	*out = m;
	if (!m)
		return -ENOMEM;
	m->svc = svc;
	m->conf = conf;
	m->loop = svc->loop;
	m->bus = svc->bus;
	rc = sg_service_state_path(svc, DB_FILE, path, sizeof(path));
	if (rc >= 0)
		rc = sg_store_open(path, SG_STORE_DURABLE, migrations,
		                   sizeof(migrations) / sizeof(*migrations), &m->db);
	if (rc < 0)
		return rc;
	m->keys = sg_keys_new(svc, m->db);
	if (!m->keys)
		return -EIO;
	rc = narrow_keys(m);
	if (rc < 0)
		return rc;

	m->n_cps = svc->conf.n_cps;
	m->cps = calloc((size_t)(m->n_cps ? m->n_cps : 1), sizeof(*m->cps));
	if (!m->cps)
		return -ENOMEM;
	for (int i = 0; i < m->n_cps; i++)
		if ((rc = setup_cp(m, &m->cps[i], &svc->conf.cps[i])) < 0)
			return rc;
	if ((rc = load_registers(m)) < 0 || (rc = load_transactions(m)) < 0)
		return rc;

	sg_keys_on_change(m->keys, on_key_change, m);
	rc = sg_bus_subscribe(m->bus, SG_MSG_conn_hw, on_hw, m);
	if (rc >= 0)
		rc = sg_bus_subscribe(m->bus, SG_MSG_conn_limit, on_limit, m);
	if (rc >= 0)
		rc = sg_bus_subscribe(m->bus, SG_MSG_tx_event, on_tx_event, m);
	if (rc >= 0)
		rc = sg_bus_subscribe(m->bus, SG_MSG_meter_read, on_meter_read, m);
	if (rc >= 0)
		rc = sg_bus_subscribe(m->bus, SG_MSG_ocpp_trigger, on_trigger, m);
	if (rc < 0)
		return rc;

	m->tick_timer = sg_loop_timer_add(m->loop, TICK_MS, on_tick, m);
	m->persist_timer =
	    sg_loop_timer_add(m->loop, (int64_t)conf->persist_interval_s * 1000, on_persist, m);
	if (!m->tick_timer || !m->persist_timer)
		return -ENOMEM;
	for (int i = 0; i < m->n_cps; i++) {
		struct mcp *cp = &m->cps[i];

		aligned_restart(cp, now);
		for (int k = 0; k < cp->n_conns; k++) {
			take_reading(&cp->conns[k], now);
			sample_schedule(&cp->conns[k], now);
		}
	}
	sg_info("%d charge point(s); stop transaction data bounded to %d values / %d bytes",
	        m->n_cps, conf->stop_txn_max_values, conf->stop_txn_max_bytes);
	return 0;
}

void
meter_io_stop(struct meter_svc *m)
{
	int64_t now = sg_time_wall_ms();

	for (int i = 0; i < m->n_cps; i++)
		for (int k = 0; k < m->cps[i].n_conns; k++)
			take_reading(&m->cps[i].conns[k], now);
	store_all(m);
	if (m->n_out)
		sg_notice("%zu MeterValues not yet stored by the bridge are lost with this stop",
		          m->n_out);
}

void
meter_io_release_keys(struct meter_svc *m)
{
	if (!m)
		return;
	sg_keys_free(m->keys);
	m->keys = NULL;
}

void
meter_io_free(struct meter_svc *m)
{
	if (!m)
		return;
	/* In-flight requests were cancelled with the bus; the rest waited for a timer
	 * of the loop, which is gone too. */
	while (m->out_head)
		out_free(m->out_head);
	sg_keys_free(m->keys);
	for (int i = 0; m->cps && i < m->n_cps; i++) {
		struct mcp *cp = &m->cps[i];

		for (int k = 0; cp->conns && k < cp->n_conns; k++) {
			meter_sd_clear(&cp->conns[k].sd);
			if (cp->conns[k].drv)
				cp->conns[k].drv->ops->destroy(cp->conns[k].drv);
		}
		free(cp->conns);
	}
	free(m->cps);
	sg_store_close(m->db);
	free(m);
}
