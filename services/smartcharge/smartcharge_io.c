/* sitegate-smartcharge's I/O: see smartcharge_io.h. Handlers only feed the core and mark
 * the state pending; one recomputation runs before the loop sleeps, however many messages
 * arrived, and publishes what changed: lower limits first, so that the sum of what the
 * connectors are told never exceeds the site's capacity on the way. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"
#include "sitegate/store.h"
#include "sitegate/time.h"

#include "smartcharge_io.h"

/* The timer runs at least this often: a wall clock that jumps cannot delay a period
 * boundary by more. */
#define MAX_SLEEP_MS 30000

static const char *const actions[] = {"SetChargingProfile", "ClearChargingProfile",
                                      "GetCompositeSchedule"};

/* Migration 1 is the keys' table (keys.h): the keys live in this database too. */
static const char schema_v2[] =
    "CREATE TABLE profiles (\n"
    "  cp TEXT NOT NULL,\n"
    "  id INTEGER NOT NULL,        -- chargingProfileId\n"
    "  connector INTEGER NOT NULL, -- SetChargingProfile's connectorId\n"
    "  json TEXT NOT NULL,         -- csChargingProfiles as received\n"
    "  PRIMARY KEY (cp, id)\n"
    ");\n"
    "CREATE TABLE transactions (\n"
    "  cp TEXT NOT NULL,\n"
    "  connector INTEGER NOT NULL,\n"
    "  tx_ref INTEGER NOT NULL,\n"
    "  transaction_id INTEGER NOT NULL, -- 0 while unknown\n"
    "  started INTEGER NOT NULL,        -- Unix ms\n"
    "  PRIMARY KEY (cp, connector)\n"
    ");";

static const struct sg_store_migration migrations[] = {
    {1, sg_keys_schema_sql},
    {2, schema_v2},
};

/* ---- database ------------------------------------------------------------------------------ */

static int
db_fail(struct sc_io *io, const char *what, const char *cp)
{
	sg_err("%s: cannot %s in the smartcharge database: %s", cp, what, sqlite3_errmsg(io->db));
	return -EIO;
}

static int
exec_bind_cp(sqlite3 *db, const char *sql, const char *cp)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* Rewrites cp's profiles and transactions in one transaction. */
static int
save_cp(struct sc_io *io, struct sc_cp *cp)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;
	if (sg_store_exec(io->db, "BEGIN IMMEDIATE") < 0)
		return db_fail(io, "begin a transaction", cp->id);
	if (exec_bind_cp(io->db, "DELETE FROM profiles WHERE cp = ?1", cp->id) < 0 ||
	    exec_bind_cp(io->db, "DELETE FROM transactions WHERE cp = ?1", cp->id) < 0)
		goto out;
	if (sqlite3_prepare_v2(
	        io->db, "INSERT INTO profiles (cp, id, connector, json) VALUES (?1, ?2, ?3, ?4)",
	        -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < cp->profiles.n; i++) {
		const struct sc_profile *p = &cp->profiles.v[i];
		char *text = json_dumps(p->json, JSON_COMPACT);
		if (!text)
			goto out;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, cp->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->id);
		sqlite3_bind_int(st, 3, p->connector);
		sqlite3_bind_text(st, 4, text, -1, free);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(io->db,
	                       "INSERT INTO transactions (cp, connector, tx_ref, transaction_id, "
	                       "started) VALUES (?1, ?2, ?3, ?4, ?5)",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (int i = 0; i < cp->n_conns; i++) {
		const struct sc_conn *c = &cp->conns[i];
		if (!c->tx)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, cp->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, c->id);
		sqlite3_bind_int64(st, 3, c->tx_ref);
		sqlite3_bind_int64(st, 4, c->transaction_id);
		sqlite3_bind_int64(st, 5, c->tx_start);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		db_fail(io, "store the charging profiles", cp->id);
	sqlite3_finalize(st);
	if (sg_store_exec(io->db, rc == 0 ? "COMMIT" : "ROLLBACK") < 0 && rc == 0)
		rc = db_fail(io, "commit the charging profiles", cp->id);
	if (rc == 0)
		cp->dirty = false;
	return rc;
}

/* Loads the profiles (of cp, or of every charge point when cp is NULL). */
static int
load_profiles(struct sc_io *io, struct sc_cp *only)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(
	        io->db,
	        "SELECT cp, connector, json FROM profiles WHERE ?1 IS NULL OR cp = ?1 "
	        "ORDER BY rowid",
	        -1, &st, NULL) != SQLITE_OK)
		return db_fail(io, "read the charging profiles", only ? only->id : "smartcharge");
	if (only)
		sqlite3_bind_text(st, 1, only->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		int connector = sqlite3_column_int(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		struct sc_cp *cp = id ? sc_core_cp(&io->core, id) : NULL;
		if (!cp) {
			sg_notice(
			    "a stored charging profile of \"%s\", not configured any more, is "
			    "ignored",
			    id ? id : "");
			continue;
		}
		json_error_t err;
		json_t *j = text ? json_loads(text, 0, &err) : NULL;
		if (!j)
			sg_warn("%s: a stored charging profile is not JSON; dropped", cp->id);
		else
			sc_core_restore_profile(&io->core, cp, connector, j);
		json_decref(j);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(io, "read the charging profiles", "smartcharge");
}

static int
load_transactions(struct sc_io *io)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(io->db,
	                       "SELECT cp, connector, tx_ref, transaction_id, started FROM "
	                       "transactions",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(io, "read the transactions", "smartcharge");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		struct sc_cp *cp = id ? sc_core_cp(&io->core, id) : NULL;
		if (cp)
			sc_core_restore_tx(&io->core, cp, sqlite3_column_int(st, 1),
			                   sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
			                   sqlite3_column_int64(st, 4));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(io, "read the transactions", "smartcharge");
}

/* The database did not take a change: back to what it holds. */
static void
reload_cp(struct sc_io *io, struct sc_cp *cp)
{
	sc_set_free(&cp->profiles);
	load_profiles(io, cp);
	sc_core_restored(&io->core);
	cp->stale = true;
	cp->dirty = true; /* transactions may differ still: try again at the next update */
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void
read_rules(struct sc_io *io, struct sc_cp *cp)
{
	const char *units =
	    sg_keys_get(io->keys, cp->id, "ChargingScheduleAllowedChargingRateUnit");
	int64_t v;
	if ((v = sg_keys_get_int(io->keys, cp->id, "ChargeProfileMaxStackLevel")) > 0 ||
	    sg_keys_get(io->keys, cp->id, "ChargeProfileMaxStackLevel"))
		cp->rules.max_stack_level = v;
	if ((v = sg_keys_get_int(io->keys, cp->id, "ChargingScheduleMaxPeriods")) > 0)
		cp->rules.max_periods = v;
	if ((v = sg_keys_get_int(io->keys, cp->id, "MaxChargingProfilesInstalled")) > 0)
		cp->rules.max_profiles = v;
	if (units) {
		cp->rules.allow_a = strstr(units, "Current") != NULL;
		cp->rules.allow_w = strstr(units, "Power") != NULL;
	}
}

static void
on_key_changed(struct sg_keys *keys, const char *cpid, const struct sg_key_def *def,
               const char *value, void *ud)
{
	struct sc_io *io = ud;
	struct sc_cp *cp = sc_core_cp(&io->core, cpid);
	if (cp)
		read_rules(io, cp);
}

/* ---- publishing ---------------------------------------------------------------------------- */

static bool
limit_changed(const struct sc_conn *c)
{
	return !c->published || fabs(c->limit_a - c->published_a) >= 0.05 ||
	       fabs(c->ocpp.limit_a - c->published_ocpp_a) >= 0.05 ||
	       strcmp(c->source, c->published_source) != 0;
}

static void
publish_limit(struct sc_io *io, struct sc_cp *cp, struct sc_conn *c)
{
	struct sg_msg_conn_limit m = {.limit_a = c->limit_a, .ocpp_limit_a = c->ocpp.limit_a};
	struct sg_topic_args a = {.conn = c->id};
	snprintf(m.source, sizeof(m.source), "%s", c->source);
	snprintf(a.cp, sizeof(a.cp), "%s", cp->id);
	if (sg_bus_publish(io->svc->bus, SG_MSG_conn_limit, &m, &a) < 0) {
		sg_err("%s/%d: cannot publish the limit of %.1f A", cp->id, c->id, c->limit_a);
		return;
	}
	if (!c->published || fabs(c->limit_a - c->published_a) >= 0.05)
		sg_info("%s/%d: limit %.1f A (%s)", cp->id, c->id, c->limit_a, c->source);
	c->published = true;
	c->published_a = c->limit_a;
	c->published_ocpp_a = c->ocpp.limit_a;
	snprintf(c->published_source, sizeof(c->published_source), "%s", c->source);
}

/* Lower limits first, then the rest: the connector service reads them in this order. */
static void
publish_limits(struct sc_io *io)
{
	struct sg_msg_site_share share = {.capacity_a = io->core.share.par.capacity_a};
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < io->core.n_cps; i++) {
			struct sc_cp *cp = &io->core.cps[i];
			for (int j = 0; j < cp->n_conns; j++) {
				struct sc_conn *c = &cp->conns[j];
				bool lower = c->published && c->limit_a < c->published_a - 0.05;
				if (pass == 0 && lower)
					publish_limit(io, cp, c);
				else if (pass == 1 && limit_changed(c))
					publish_limit(io, cp, c);
				if (pass == 1 && sc_conn_active(c)) {
					share.active++;
					share.offered_a += c->limit_a;
					share.paused += c->limit_a == 0;
				}
			}
		}
	}
	share.offered_a = round(share.offered_a * 10) / 10;
	if (!io->share_published || share.active != io->share.active ||
	    share.paused != io->share.paused || share.offered_a != io->share.offered_a) {
		if (sg_bus_publish(io->svc->bus, SG_MSG_site_share, &share, NULL) == 0) {
			io->share = share;
			io->share_published = true;
		}
	}
}

/* ---- recomputing ---------------------------------------------------------------------------- */

static int64_t
on_timer(struct sg_loop *loop, void *ud)
{
	struct sc_io *io = ud;
	io->timer = 0;
	io->pending = true;
	return -1;
}

static void
update(struct sc_io *io)
{
	int64_t now = sg_time_wall_ms();
	int64_t due = sc_core_update(&io->core, now);
	char why[200];
	if (sc_core_check(&io->core, why, sizeof(why)) < 0) {
		/* A bug. Say so loudly; debug builds stop here. */
		sg_err("smart charging invariant broken: %s", why);
		assert(!"smart charging invariant broken");
	}
	publish_limits(io);
	for (int i = 0; i < io->core.n_cps; i++)
		if (io->core.cps[i].dirty)
			save_cp(io, &io->core.cps[i]);

	int64_t delay = due == SC_NEVER || due - now > MAX_SLEEP_MS ? MAX_SLEEP_MS : due - now;
	if (delay < 0)
		delay = 0;
	if (io->timer)
		sg_loop_timer_del(io->svc->loop, io->timer);
	io->timer = sg_loop_timer_add(io->svc->loop, delay, on_timer, io);
}

static void
before_sleep(struct sg_loop *loop, void *ud)
{
	struct sc_io *io = ud;
	if (!io->pending)
		return;
	io->pending = false;
	update(io);
}

/* ---- bus handlers --------------------------------------------------------------------------- */

static void
reply_error(struct sg_bus *bus, const struct sg_bus_in *in, const char *code, const char *text)
{
	struct sg_msg_ocpp_result r = {0};
	snprintf(r.error, sizeof(r.error), "%s", code);
	snprintf(r.description, sizeof(r.description), "%s", text);
	sg_bus_reply(bus, in, &r);
}

static void
on_call(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_ocpp_call *m = in->msg;
	struct sc_cp *cp = sc_core_cp(&io->core, in->args->cp);
	if (!cp) {
		reply_error(bus, in, "GenericError", "no such charge point here");
		return;
	}
	json_t *res = sc_core_call(&io->core, cp, in->args->name, m->payload, sg_time_wall_ms());
	if (res && cp->dirty && save_cp(io, cp) < 0) {
		/* Accepted only once stored: the change is undone. */
		json_decref(res);
		res = NULL;
		reload_cp(io, cp);
		if (strcmp(in->args->name, "SetChargingProfile") == 0)
			res = json_pack("{s:s}", "status", "Rejected");
	}
	if (!res) {
		reply_error(bus, in, "InternalError", "smartcharge could not do it");
	} else {
		struct sg_msg_ocpp_result r = {.payload = res};
		sg_bus_reply(bus, in, &r);
		json_decref(res);
	}
	io->pending = true;
}

static struct sc_cp *
cp_of(struct sc_io *io, const struct sg_bus_in *in)
{
	return sc_core_cp(&io->core, in->args->cp);
}

static void
on_tx(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_tx_event *m = in->msg;
	struct sc_cp *cp = cp_of(io, in);
	if (!cp)
		return;
	if (strcmp(m->event, "started") == 0)
		sc_core_tx_started(&io->core, cp, in->args->conn, m->tx_ref, m->transaction_id,
		                   m->ts, m->charging_profile, sg_time_wall_ms());
	else if (strcmp(m->event, "stopped") == 0)
		sc_core_tx_stopped(&io->core, cp, in->args->conn, m->tx_ref);
	io->pending = true;
}

static void
on_tx_result(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_ocpp_tx_result *m = in->msg;
	struct sc_cp *cp = cp_of(io, in);
	if (!cp || m->dropped || strcmp(m->action, "StartTransaction") != 0)
		return;
	int64_t id = m->transaction_id;
	if (id <= 0)
		id = json_integer_value(json_object_get(m->payload, "transactionId"));
	if (id > 0) {
		sc_core_tx_id(&io->core, cp, m->tx_ref, id);
		io->pending = true;
	}
}

static void
on_conn_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_conn_state *m = in->msg;
	struct sc_cp *cp = cp_of(io, in);
	if (cp) {
		sc_core_conn_state(&io->core, cp, in->args->conn, m->status, m->transaction_id);
		io->pending = true;
	}
}

static void
on_hw(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_conn_hw *m = in->msg;
	struct sc_cp *cp = cp_of(io, in);
	if (cp) {
		sc_core_hw(&io->core, cp, in->args->conn, m->plugged);
		io->pending = true;
	}
}

static void
on_meter(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sc_io *io = ud;
	const struct sg_msg_meter_sample *m = in->msg;
	struct sc_cp *cp = cp_of(io, in);
	struct sc_conn *c = cp ? sc_core_conn(cp, in->args->conn) : NULL;
	if (!c)
		return;
	double drawn = fmax(m->current_l1, fmax(m->current_l2, m->current_l3));
	if (drawn <= 0 && m->power_w > 0)
		drawn = m->power_w / (io->core.voltage * c->phases);
	/* Stamped on arrival: samples are live (QoS 0, never queued), and the sharing compares
	 * their time with its own offers. */
	sc_core_meter(&io->core, cp, in->args->conn, drawn, sg_time_wall_ms());
	io->pending = true;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int
subscribe(struct sc_io *io)
{
	struct sg_bus *bus = io->svc->bus;
	int rc = 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		struct sg_topic_args a = {0};
		struct sg_msg_ocpp_owner owner = {.svc = "smartcharge"};
		snprintf(a.name, sizeof(a.name), "%s", actions[i]);
		if (sg_bus_subscribe_args(bus, SG_MSG_ocpp_call, &a, on_call, io) < 0 ||
		    sg_bus_publish(bus, SG_MSG_ocpp_owner, &owner, &a) < 0)
			rc = -ENOMEM;
	}
	if (sg_bus_subscribe(bus, SG_MSG_tx_event, on_tx, io) < 0 ||
	    sg_bus_subscribe(bus, SG_MSG_ocpp_tx_result, on_tx_result, io) < 0 ||
	    sg_bus_subscribe(bus, SG_MSG_conn_state, on_conn_state, io) < 0 ||
	    sg_bus_subscribe(bus, SG_MSG_conn_hw, on_hw, io) < 0 ||
	    sg_bus_subscribe(bus, SG_MSG_meter_sample, on_meter, io) < 0)
		rc = -ENOMEM;
	return rc;
}

int
sc_io_init(struct sc_io *io, struct sg_service *svc)
{
	const struct sg_config *conf = &svc->conf;
	struct sc_share_params par;
	char path[512];
	int rc;

	memset(io, 0, sizeof(*io));
	io->svc = svc;
	sc_share_params_default(&par, conf->site.grid_limit_a - conf->site.reserve_a);
	if (conf->site.reserve_a > conf->site.grid_limit_a)
		sg_warn("site.reserve_a %.1f A is above site.grid_limit_a %.1f A: no connector can "
		        "charge",
		        conf->site.reserve_a, conf->site.grid_limit_a);
	rc = sc_core_init(&io->core, conf, &par);
	if (rc < 0) {
		sg_err("out of memory");
		return rc;
	}
	rc = sg_service_state_path(svc, "smartcharge.db", path, sizeof(path));
	if (rc < 0) {
		sg_err("the state directory path is too long");
		return rc;
	}
	rc = sg_store_open(path, SG_STORE_DURABLE, migrations,
	                   sizeof(migrations) / sizeof(migrations[0]), &io->db);
	if (rc < 0)
		return rc;
	io->keys = sg_keys_new(svc, io->db);
	if (!io->keys)
		return -EIO;
	sg_keys_on_change(io->keys, on_key_changed, io);
	for (int i = 0; i < io->core.n_cps; i++)
		read_rules(io, &io->core.cps[i]);

	if ((rc = load_transactions(io)) < 0 || (rc = load_profiles(io, NULL)) < 0)
		return rc;
	sc_core_restored(&io->core);
	size_t n_profiles = 0;
	for (int i = 0; i < io->core.n_cps; i++) {
		n_profiles += io->core.cps[i].profiles.n;
		if (io->core.cps[i].dirty)
			save_cp(io, &io->core.cps[i]);
	}
	sg_info("site capacity %.1f A per phase (grid %.1f A, reserve %.1f A), %zu stored "
	        "profile(s)",
	        par.capacity_a, conf->site.grid_limit_a, conf->site.reserve_a, n_profiles);

	if ((rc = subscribe(io)) < 0 ||
	    (rc = sg_loop_before_sleep(svc->loop, before_sleep, io)) < 0)
		return rc;
	io->pending = true; /* the first limits, from what was stored */
	return 0;
}

void
sc_io_fini(struct sc_io *io)
{
	if (!io->svc)
		return;
	if (io->timer && io->svc->loop)
		sg_loop_timer_del(io->svc->loop, io->timer);
	sg_keys_free(io->keys);
	sg_store_close(io->db);
	sc_core_fini(&io->core);
	memset(io, 0, sizeof(*io));
}
