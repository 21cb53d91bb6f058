/* Unit tests of the connector logic (connector.h) without a broker: the
 * effects are recorded by fake conn_ops, the hardware's feedback is played by
 * the tests, time is a counter. Every status the logic publishes is checked
 * against the OCPP 1.6 table as it happens, in every test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"

#include "connector.h"

#define MAXREC 512
#define T0     INT64_C(1750000000000) /* wall clock at the start of a test */

/* ---- the recorded world ---------------------------------------------------------- */

struct auth_rec {
	int conn;
	uint64_t token;
	struct sg_msg_auth_request m;
};

struct meter_rec {
	int conn;
	uint64_t token;
	struct sg_msg_meter_read m;
};

static struct world {
	struct conn_cp cp;
	struct sg_cp_conf conf;
	struct conn_keys keys;
	int64_t now, wall;
	enum conn_status pubs[SG_MAX_CONNECTORS + 1][MAXREC];
	int n_pubs[SG_MAX_CONNECTORS + 1];
	struct sg_msg_conn_state state[SG_MAX_CONNECTORS + 1];
	int n_states[SG_MAX_CONNECTORS + 1];
	struct sg_msg_conn_hw hw[SG_MAX_CONNECTORS + 1];
	struct auth_rec auths[MAXREC];
	int n_auths;
	struct meter_rec meters[MAXREC];
	int n_meters;
	json_t *starts, *stops, *events; /* StartTransaction / StopTransaction / tx_event */
	int64_t next_ref;
	int n_saves;
	struct conn_tx saved;
	int saved_pending[SG_MAX_CONNECTORS + 1];
	bool saved_operative[SG_MAX_CONNECTORS + 1];
	char saved_status[SG_MAX_CONNECTORS + 1][17];
	char unlock_status[32];
	uint64_t unlock_token;
	int fail_tx_open;
} W;

static void
op_publish_state(void *ud, struct conn *c, const struct sg_msg_conn_state *m)
{
	enum conn_status st;
	int id = c->id;

	assert_int_equal(conn_status_parse(m->status, &st), 0);
	if (W.n_pubs[id] > 0) {
		enum conn_status prev = W.pubs[id][W.n_pubs[id] - 1];
		if (prev != st && !conn_transition_allowed(prev, st))
			fail_msg("connector %d published %s -> %s, which the table forbids", id,
			         conn_status_name(prev), conn_status_name(st));
		if (prev == st)
			goto same;
	}
	assert_true(W.n_pubs[id] < MAXREC);
	W.pubs[id][W.n_pubs[id]++] = st;
	if (id == 0)
		assert_true(st == CONN_AVAILABLE || st == CONN_UNAVAILABLE || st == CONN_FAULTED);
same:
	W.state[id] = *m;
	W.n_states[id]++;
}

static void
op_publish_hw(void *ud, struct conn *c, const struct sg_msg_conn_hw *m)
{
	W.hw[c->id] = *m;
}

static void
op_tx_event(void *ud, struct conn *c, const struct sg_msg_tx_event *m)
{
	json_t *j = sg_msg_to_json(SG_MSG_tx_event, m);
	assert_non_null(j);
	json_object_set_new(j, "conn", json_integer(c->id));
	json_array_append_new(W.events, j);
}

static void
op_auth_request(void *ud, struct conn *c, uint64_t token, const struct sg_msg_auth_request *m)
{
	assert_true(W.n_auths < MAXREC);
	W.auths[W.n_auths++] = (struct auth_rec){.conn = c->id, .token = token, .m = *m};
}

static void
op_meter_read(void *ud, struct conn *c, uint64_t token, const struct sg_msg_meter_read *m)
{
	assert_true(W.n_meters < MAXREC);
	W.meters[W.n_meters++] = (struct meter_rec){.conn = c->id, .token = token, .m = *m};
}

static void
op_hw_command(void *ud, struct conn *c, const struct conn_hw_cmd *cmd)
{
}

static int64_t
op_new_tx_ref(void *ud, struct conn *c)
{
	return W.next_ref++;
}

static int
op_tx_open(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *start)
{
	if (W.fail_tx_open)
		return -EIO;
	json_t *j = json_deep_copy(start);
	json_object_set_new(j, "_tx_ref", json_integer(tx->tx_ref));
	json_array_append_new(W.starts, j);
	return 0;
}

static void
op_tx_save(void *ud, struct conn *c, const struct conn_tx *tx)
{
	W.n_saves++;
	W.saved = *tx;
}

static int
op_tx_close(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *stop)
{
	json_t *j = json_deep_copy(stop);
	json_object_set_new(j, "_tx_ref", json_integer(tx->tx_ref));
	json_object_set_new(j, "_conn", json_integer(c->id));
	json_array_append_new(W.stops, j);
	return 0;
}

static void
op_save_conn(void *ud, struct conn *c)
{
	W.saved_operative[c->id] = c->operative;
	W.saved_pending[c->id] = c->pending;
	snprintf(W.saved_status[c->id], sizeof(W.saved_status[0]), "%s",
	         c->pub_known ? conn_status_name(c->pub) : "");
}

static void
op_unlock_result(void *ud, struct conn *c, uint64_t token, const char *status)
{
	W.unlock_token = token;
	snprintf(W.unlock_status, sizeof(W.unlock_status), "%s", status);
}

static const struct conn_ops ops = {
    .publish_state = op_publish_state,
    .publish_hw = op_publish_hw,
    .tx_event = op_tx_event,
    .auth_request = op_auth_request,
    .meter_read = op_meter_read,
    .hw_command = op_hw_command,
    .new_tx_ref = op_new_tx_ref,
    .tx_open = op_tx_open,
    .tx_save = op_tx_save,
    .tx_close = op_tx_close,
    .save_conn = op_save_conn,
    .unlock_result = op_unlock_result,
};

/* ---- driving it ----------------------------------------------------------------- */

static void
world_reset(void)
{
	json_decref(W.starts);
	json_decref(W.stops);
	json_decref(W.events);
	conn_cp_fini(&W.cp);
	memset(&W, 0, sizeof(W));
	W.starts = json_array();
	W.stops = json_array();
	W.events = json_array();
	W.next_ref = 100;
	W.now = 1000;
	W.wall = T0;
}

/* Connectors from cables: 's' socket, 'f' fixed ("sf": 1 socket, 2 fixed). */
static void
world_init(const char *cables, int64_t min_status_s)
{
	world_reset();
	snprintf(W.conf.id, sizeof(W.conf.id), "CP1");
	W.conf.n_connectors = (int)strlen(cables);
	for (int i = 0; i < W.conf.n_connectors; i++) {
		struct sg_connector_conf *cc = &W.conf.connectors[i];
		cc->id = i + 1;
		snprintf(cc->driver, sizeof(cc->driver), "sim");
		snprintf(cc->cable, sizeof(cc->cable), "%s", cables[i] == 'f' ? "fixed" : "socket");
		cc->max_current_a = 32;
		cc->phases = 3;
	}
	W.keys = (struct conn_keys){
	    .connection_timeout_s = 60,
	    .min_status_duration_s = min_status_s,
	    .stop_on_ev_disconnect = true,
	    .unlock_on_ev_disconnect = true,
	};
	conn_cp_init(&W.cp, &W.conf, &ops, NULL, &W.keys);
}

static void
world_start(void)
{
	conn_cp_start(&W.cp, W.now, W.wall);
}

/* A fresh charge point: connector 1 a socket, 2 a fixed cable. */
static void
world(int64_t min_status_s)
{
	world_init("sf", min_status_s);
	world_start();
}

static struct conn *
C(int id)
{
	return conn_get(&W.cp, id);
}

static void
advance(int64_t ms)
{
	int64_t end = W.now + ms;

	for (int guard = 0; guard < 1000; guard++) {
		int64_t next = conn_cp_next(&W.cp);
		if (next > end)
			break;
		if (next > W.now) {
			W.wall += next - W.now;
			W.now = next;
		}
		conn_cp_tick(&W.cp, W.now, W.wall);
	}
	W.wall += end - W.now;
	W.now = end;
}

static void
hw(int id, bool cable, char ev)
{
	struct conn_hw_in h = C(id)->hw;
	h.cable = cable;
	h.ev_state = ev;
	conn_hw_state(C(id), &h, W.now, W.wall);
}

static void
plug(int id)
{
	hw(id, true, 'B');
}

static void
ev(int id, char st)
{
	hw(id, C(id)->hw.cable || st != 'A', st);
}

/* The cable leaves the socket (after the car). */
static void
remove_cable(int id)
{
	hw(id, false, 'A');
}

/* The hardware follows the last commands. */
static void
settle(int id)
{
	struct conn *c = C(id);

	for (int i = 0; i < 4; i++) {
		if (c->lock_wait)
			conn_hw_lock(c, true, c->cmd.lock, W.now, W.wall);
		if (c->hw.contactor != c->cmd.contactor) {
			struct conn_hw_in h = c->hw;
			h.contactor = c->cmd.contactor;
			conn_hw_state(c, &h, W.now, W.wall);
			conn_hw_contactor(c, true, W.now, W.wall);
		}
	}
}

static struct auth_rec *
last_auth(int id)
{
	for (int i = W.n_auths - 1; i >= 0; i--)
		if (W.auths[i].conn == id)
			return &W.auths[i];
	fail_msg("no auth_request for connector %d", id);
	return NULL;
}

static struct meter_rec *
last_meter(int id)
{
	for (int i = W.n_meters - 1; i >= 0; i--)
		if (W.meters[i].conn == id)
			return &W.meters[i];
	fail_msg("no meter_read for connector %d", id);
	return NULL;
}

static void
auth_answer_full(int id, const char *status, const char *parent, int64_t reservation_id)
{
	struct sg_msg_auth_result r = {0};
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.parent_id_tag, sizeof(r.parent_id_tag), "%s", parent ? parent : "");
	r.reservation_id = reservation_id;
	conn_auth_result(C(id), last_auth(id)->token, 0, &r, W.now, W.wall);
}

static void
auth_answer(int id, const char *status)
{
	auth_answer_full(id, status, NULL, 0);
}

static void
meter_answer(int id, double wh)
{
	struct sg_msg_meter_reading r = {.energy_wh = wh, .ts = W.wall};
	conn_meter_result(C(id), last_meter(id)->token, 0, &r, W.now, W.wall);
}

static void
meter_timeout(int id)
{
	conn_meter_result(C(id), last_meter(id)->token, -ETIMEDOUT, NULL, W.now, W.wall);
}

static void
tap(int id, const char *tag)
{
	conn_rfid(C(id), tag, W.now, W.wall);
}

static enum conn_status
pub(int id)
{
	assert_true(W.n_pubs[id] > 0);
	return W.pubs[id][W.n_pubs[id] - 1];
}

/* The status now, published or not (MinimumStatusDuration). */
static void
assert_now(int id, enum conn_status st)
{
	if (C(id)->status != st)
		fail_msg("connector %d: %s, expected %s", id, conn_status_name(C(id)->status),
		         conn_status_name(st));
}

static void
assert_status(int id, enum conn_status st)
{
	if (pub(id) != st)
		fail_msg("connector %d: published %s, expected %s", id, conn_status_name(pub(id)),
		         conn_status_name(st));
}

/* Whether from -> to was published, consecutively. */
static bool
published(int id, enum conn_status from, enum conn_status to)
{
	for (int i = 1; i < W.n_pubs[id]; i++)
		if (W.pubs[id][i - 1] == from && W.pubs[id][i] == to)
			return true;
	return false;
}

static void
assert_published(int id, enum conn_status from, enum conn_status to)
{
	if (published(id, from, to))
		return;
	char seq[1024] = "";
	size_t off = 0;
	for (int i = 0; i < W.n_pubs[id] && off < sizeof(seq) - 20; i++)
		off += (size_t)snprintf(seq + off, sizeof(seq) - off, " %s",
		                        conn_status_name(W.pubs[id][i]));
	fail_msg("connector %d never published %s -> %s; published:%s", id, conn_status_name(from),
	         conn_status_name(to), seq);
}

/* Starts a transaction: EV in state C, idTag presented and accepted, meterStart. */
static void
charge(int id, const char *tag, double meter_start)
{
	if (!C(id)->hw.cable || C(id)->hw.ev_state == 'A')
		plug(id);
	ev(id, 'C');
	tap(id, tag);
	auth_answer(id, "Accepted");
	meter_answer(id, meter_start);
	settle(id);
	assert_int_equal(C(id)->phase, CONN_RUNNING);
	assert_now(id, CONN_CHARGING);
}

static json_t *
last_start(void)
{
	size_t n = json_array_size(W.starts);
	assert_true(n > 0);
	return json_array_get(W.starts, n - 1);
}

static json_t *
last_stop(void)
{
	size_t n = json_array_size(W.stops);
	assert_true(n > 0);
	return json_array_get(W.stops, n - 1);
}

static json_t *
last_event(const char *event)
{
	for (size_t i = json_array_size(W.events); i-- > 0;) {
		json_t *e = json_array_get(W.events, i);
		if (strcmp(json_string_value(json_object_get(e, "event")), event) == 0)
			return e;
	}
	fail_msg("no tx_event %s", event);
	return NULL;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static json_int_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* Gives the running transaction of connector id the Central System's id. */
static void
tx_id(int id, int64_t transaction_id)
{
	conn_tx_result(&W.cp, C(id)->tx.tx_ref, "StartTransaction", transaction_id, W.now, W.wall);
}

/* Remote stop of connector id's transaction, the meter answering. */
static void
remote_stop(int id)
{
	tx_id(id, 40 + id);
	assert_string_equal(conn_remote_stop(&W.cp, 40 + id, W.now, W.wall), "Accepted");
	meter_answer(id, 2000);
	settle(id);
}

static int
teardown(void **state)
{
	world_reset();
	return 0;
}

/* ---- the table -------------------------------------------------------------------- */

/* OCPP 1.6 section 4.9, written out row by row: from \ to in the order
 * Available Preparing Charging SuspendedEV SuspendedEVSE Finishing Reserved
 * Unavailable Faulted. */
static const char *const table[CONN_STATUS__COUNT] = {
    /*             A P C D E F R U I */
    [CONN_AVAILABLE] = "-xxxx-xxx",      [CONN_PREPARING] = "x-xxxx--x",
    [CONN_CHARGING] = "x--xxx-xx",       [CONN_SUSPENDED_EV] = "x-x-xx-xx",
    [CONN_SUSPENDED_EVSE] = "x-xx-x-xx", [CONN_FINISHING] = "xx-----xx",
    [CONN_RESERVED] = "xx-----xx",       [CONN_UNAVAILABLE] = "xxxxx---x",
    [CONN_FAULTED] = "xxxxxxxx-",
};

static void
test_table(void **state)
{
	int n = 0;

	for (int f = 0; f < CONN_STATUS__COUNT; f++) {
		for (int t = 0; t < CONN_STATUS__COUNT; t++) {
			bool want = table[f][t] == 'x';
			if (conn_transition_allowed(f, t) != want)
				fail_msg("%s -> %s: %s, the table says %s", conn_status_name(f),
				         conn_status_name(t), want ? "forbidden" : "allowed",
				         want ? "allowed" : "forbidden");
			n += want;
		}
	}
	assert_int_equal(n, 53);
	assert_false(conn_transition_allowed(CONN_STATUS__COUNT, CONN_AVAILABLE));
	assert_false(conn_transition_allowed(CONN_AVAILABLE, -1));
}

/* Every forbidden transition has an allowed path of two through the
 * intermediate the logic uses; allowed ones go direct. */
static void
test_table_via(void **state)
{
	int forbidden = 0;

	for (int f = 0; f < CONN_STATUS__COUNT; f++) {
		for (int t = 0; t < CONN_STATUS__COUNT; t++) {
			enum conn_status via = conn_transition_via(f, t);
			if (f == t || conn_transition_allowed(f, t)) {
				assert_int_equal(via, t);
				continue;
			}
			forbidden++;
			if (!conn_transition_allowed(f, via) || !conn_transition_allowed(via, t))
				fail_msg("%s -> %s via %s is not allowed", conn_status_name(f),
				         conn_status_name(t), conn_status_name(via));
		}
	}
	assert_int_equal(forbidden, 72 - 53);
}

static void
test_names(void **state)
{
	enum conn_status st;

	for (int i = 0; i < CONN_STATUS__COUNT; i++) {
		assert_int_equal(conn_status_parse(conn_status_name(i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_int_equal(conn_status_parse("Occupied", &st), -EINVAL);
	assert_null(conn_status_name(CONN_STATUS__COUNT));
	assert_true(conn_reason_valid("EVDisconnected"));
	assert_true(conn_reason_valid("UnlockCommand"));
	assert_false(conn_reason_valid("Stopped"));
}

/* ---- every allowed transition, from real events -------------------------------------- */

static void
to_charging(void)
{
	charge(1, "T1", 1000);
}

static void
to_suspended_ev(void)
{
	to_charging();
	ev(1, 'B');
	assert_now(1, CONN_SUSPENDED_EV);
}

static void
to_suspended_evse(void)
{
	char why[64];
	to_charging();
	assert_int_equal(conn_control(C(1), "suspend", NULL, 0, why, sizeof(why), W.now, W.wall),
	                 0);
	settle(1);
	assert_now(1, CONN_SUSPENDED_EVSE);
}

static void
to_finishing(void)
{
	to_charging();
	remote_stop(1);
	assert_now(1, CONN_FINISHING);
}

static void
to_reserved(void)
{
	conn_reservation(C(1), 5, "R1", "", W.now, W.wall);
	assert_now(1, CONN_RESERVED);
}

static void
to_unavailable(int id)
{
	assert_string_equal(conn_change_availability(&W.cp, id, false, W.now, W.wall), "Accepted");
	assert_now(id, CONN_UNAVAILABLE);
}

static void
fault(int id, const char *code)
{
	conn_hw_faults(C(id), C(id)->hw_faults | conn_fault_bit(code), W.now, W.wall);
}

static void
clear(int id)
{
	conn_hw_faults(C(id), 0, W.now, W.wall);
}

static void
schedule_inoperative(int id)
{
	assert_string_equal(conn_change_availability(&W.cp, id, false, W.now, W.wall), "Scheduled");
}

/* Each scenario starts with world(...) and ends with the transition published
 * on connector 1 (or 2 where the fixed cable matters). */
struct scenario {
	enum conn_status from, to;
	int conn;
	void (*run)(void);
};

static void
s_a_b(void)
{
	world(0);
	plug(1);
}

/* Preparing lasts less than MinimumStatusDuration: Available -> Charging. */
static void
s_a_c(void)
{
	world(5);
	charge(1, "T1", 0);
	advance(6000);
}

static void
s_a_d(void)
{
	world(5);
	plug(1);
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
	advance(6000);
}

static void
s_a_e(void)
{
	world(5);
	conn_limit(C(1), 0, W.now, W.wall);
	plug(1);
	ev(1, 'C');
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
	advance(6000);
}

static void
s_a_g(void)
{
	world(0);
	to_reserved();
}

static void
s_a_h(void)
{
	world(0);
	to_unavailable(1);
}

static void
s_a_i(void)
{
	world(0);
	fault(1, "GroundFailure");
}

static void
s_b_a(void)
{
	world(0);
	plug(1);
	remove_cable(1);
}

static void
s_b_c(void)
{
	world(0);
	to_charging();
}

static void
s_b_d(void)
{
	world(0);
	plug(1);
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
}

static void
s_b_e(void)
{
	world(0);
	conn_limit(C(1), 0, W.now, W.wall);
	plug(1);
	ev(1, 'C');
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
}

/* B6: the EV arrived, no idTag within ConnectionTimeOut. */
static void
s_b_f(void)
{
	world(0);
	plug(1);
	advance(61000);
}

static void
s_b_i(void)
{
	world(0);
	plug(1);
	fault(1, "GroundFailure");
}

/* The fixed cable unplugged at the car ends everything. */
static void
s_c_a(void)
{
	world(0);
	charge(2, "T1", 0);
	ev(2, 'A');
	meter_answer(2, 10);
}

static void
s_c_d(void)
{
	world(0);
	to_suspended_ev();
}

static void
s_c_e(void)
{
	world(0);
	to_suspended_evse();
}

static void
s_c_f(void)
{
	world(0);
	to_finishing();
}

static void
s_c_h(void)
{
	world(0);
	to_charging();
	schedule_inoperative(1);
	remote_stop(1);
}

static void
s_c_i(void)
{
	world(0);
	to_charging();
	fault(1, "OverCurrentFailure");
}

static void
s_d_a(void)
{
	world(0);
	charge(2, "T1", 0);
	ev(2, 'B');
	ev(2, 'A');
	meter_answer(2, 10);
}

static void
s_d_c(void)
{
	world(0);
	to_suspended_ev();
	ev(1, 'C');
}

static void
s_d_e(void)
{
	char why[64];
	world(0);
	to_suspended_ev();
	conn_control(C(1), "suspend", NULL, 0, why, sizeof(why), W.now, W.wall);
}

static void
s_d_f(void)
{
	world(0);
	to_suspended_ev();
	remote_stop(1);
}

static void
s_d_h(void)
{
	world(0);
	to_suspended_ev();
	schedule_inoperative(1);
	remote_stop(1);
}

static void
s_d_i(void)
{
	world(0);
	to_suspended_ev();
	fault(1, "HighTemperature");
}

static void
s_e_a(void)
{
	char why[64];
	world(0);
	charge(2, "T1", 0);
	conn_control(C(2), "suspend", NULL, 0, why, sizeof(why), W.now, W.wall);
	ev(2, 'A');
	meter_answer(2, 10);
}

static void
s_e_c(void)
{
	char why[64];
	world(0);
	to_suspended_evse();
	conn_control(C(1), "resume", NULL, 0, why, sizeof(why), W.now, W.wall);
}

static void
s_e_d(void)
{
	char why[64];
	world(0);
	to_suspended_evse();
	ev(1, 'B');
	conn_control(C(1), "resume", NULL, 0, why, sizeof(why), W.now, W.wall);
}

static void
s_e_f(void)
{
	world(0);
	to_suspended_evse();
	remote_stop(1);
}

static void
s_e_h(void)
{
	world(0);
	to_suspended_evse();
	schedule_inoperative(1);
	remote_stop(1);
}

static void
s_e_i(void)
{
	world(0);
	to_suspended_evse();
	fault(1, "UnderVoltage");
}

static void
s_f_a(void)
{
	world(0);
	to_finishing();
	remove_cable(1);
}

/* F2: the user presents an idTag again. */
static void
s_f_b(void)
{
	world(0);
	to_finishing();
	tap(1, "T2");
	auth_answer(1, "Accepted");
}

static void
s_f_h(void)
{
	world(0);
	to_finishing();
	to_unavailable(1);
}

static void
s_f_i(void)
{
	world(0);
	to_finishing();
	fault(1, "GroundFailure");
}

static void
s_g_a(void)
{
	world(0);
	to_reserved();
	conn_reservation(C(1), 0, "", "", W.now, W.wall);
}

static void
s_g_b(void)
{
	world(0);
	to_reserved();
	tap(1, "R1");
	auth_answer(1, "Accepted");
}

static void
s_g_h(void)
{
	world(0);
	to_reserved();
	to_unavailable(1);
}

static void
s_g_i(void)
{
	world(0);
	to_reserved();
	fault(1, "GroundFailure");
}

static void
s_h_a(void)
{
	world(0);
	to_unavailable(1);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
}

static void
s_h_b(void)
{
	world(0);
	to_unavailable(1);
	plug(1);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
}

/* The Preparing of a quick start is shorter than MinimumStatusDuration. */
static void
s_h_c(void)
{
	world(5);
	to_unavailable(1);
	advance(6000);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
	charge(1, "T1", 0);
	advance(6000);
}

static void
s_h_d(void)
{
	world(5);
	to_unavailable(1);
	advance(6000);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
	plug(1);
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
	advance(6000);
}

static void
s_h_e(void)
{
	world(5);
	to_unavailable(1);
	advance(6000);
	conn_limit(C(1), 0, W.now, W.wall);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
	plug(1);
	ev(1, 'C');
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
	advance(6000);
}

static void
s_h_i(void)
{
	world(0);
	to_unavailable(1);
	fault(1, "GroundFailure");
}

static void
s_i_a(void)
{
	world(0);
	fault(1, "GroundFailure");
	clear(1);
}

static void
s_i_b(void)
{
	world(0);
	fault(1, "GroundFailure");
	plug(1);
	clear(1);
}

static void
s_i_c(void)
{
	world(0);
	to_charging();
	fault(1, "GroundFailure");
	clear(1);
	settle(1);
}

static void
s_i_d(void)
{
	world(0);
	to_suspended_ev();
	fault(1, "GroundFailure");
	clear(1);
}

static void
s_i_e(void)
{
	world(0);
	to_suspended_evse();
	fault(1, "GroundFailure");
	clear(1);
}

static void
s_i_f(void)
{
	world(0);
	to_finishing();
	fault(1, "GroundFailure");
	clear(1);
}

static void
s_i_g(void)
{
	world(0);
	to_reserved();
	fault(1, "GroundFailure");
	clear(1);
}

static void
s_i_h(void)
{
	world(0);
	fault(1, "GroundFailure");
	assert_string_equal(conn_change_availability(&W.cp, 1, false, W.now, W.wall), "Accepted");
	assert_status(1, CONN_FAULTED);
	clear(1);
}

#define A     CONN_AVAILABLE
#define P     CONN_PREPARING
#define CH    CONN_CHARGING
#define SEV   CONN_SUSPENDED_EV
#define SEVSE CONN_SUSPENDED_EVSE
#define F     CONN_FINISHING
#define R     CONN_RESERVED
#define U     CONN_UNAVAILABLE
#define X     CONN_FAULTED
static const struct scenario allowed_scenarios[] = {
    {A, P, 1, s_a_b},     {A, CH, 1, s_a_c},      {A, SEV, 1, s_a_d},    {A, SEVSE, 1, s_a_e},
    {A, R, 1, s_a_g},     {A, U, 1, s_a_h},       {A, X, 1, s_a_i},      {P, A, 1, s_b_a},
    {P, CH, 1, s_b_c},    {P, SEV, 1, s_b_d},     {P, SEVSE, 1, s_b_e},  {P, F, 1, s_b_f},
    {P, X, 1, s_b_i},     {CH, A, 2, s_c_a},      {CH, SEV, 1, s_c_d},   {CH, SEVSE, 1, s_c_e},
    {CH, F, 1, s_c_f},    {CH, U, 1, s_c_h},      {CH, X, 1, s_c_i},     {SEV, A, 2, s_d_a},
    {SEV, CH, 1, s_d_c},  {SEV, SEVSE, 1, s_d_e}, {SEV, F, 1, s_d_f},    {SEV, U, 1, s_d_h},
    {SEV, X, 1, s_d_i},   {SEVSE, A, 2, s_e_a},   {SEVSE, CH, 1, s_e_c}, {SEVSE, SEV, 1, s_e_d},
    {SEVSE, F, 1, s_e_f}, {SEVSE, U, 1, s_e_h},   {SEVSE, X, 1, s_e_i},  {F, A, 1, s_f_a},
    {F, P, 1, s_f_b},     {F, U, 1, s_f_h},       {F, X, 1, s_f_i},      {R, A, 1, s_g_a},
    {R, P, 1, s_g_b},     {R, U, 1, s_g_h},       {R, X, 1, s_g_i},      {U, A, 1, s_h_a},
    {U, P, 1, s_h_b},     {U, CH, 1, s_h_c},      {U, SEV, 1, s_h_d},    {U, SEVSE, 1, s_h_e},
    {U, X, 1, s_h_i},     {X, A, 1, s_i_a},       {X, P, 1, s_i_b},      {X, CH, 1, s_i_c},
    {X, SEV, 1, s_i_d},   {X, SEVSE, 1, s_i_e},   {X, F, 1, s_i_f},      {X, R, 1, s_i_g},
    {X, U, 1, s_i_h},
};

static void
test_every_allowed_transition(void **state)
{
	bool covered[CONN_STATUS__COUNT][CONN_STATUS__COUNT] = {{false}};
	size_t n = sizeof(allowed_scenarios) / sizeof(allowed_scenarios[0]);

	assert_int_equal(n, 53);
	for (size_t i = 0; i < n; i++) {
		const struct scenario *s = &allowed_scenarios[i];
		assert_true(conn_transition_allowed(s->from, s->to));
		s->run();
		if (!published(s->conn, s->from, s->to)) {
			print_error("scenario %zu:\n", i);
			assert_published(s->conn, s->from, s->to);
		}
		covered[s->from][s->to] = true;
	}
	for (int f = 0; f < CONN_STATUS__COUNT; f++)
		for (int t = 0; t < CONN_STATUS__COUNT; t++)
			assert_int_equal(covered[f][t], conn_transition_allowed(f, t));
}

/* ---- forbidden transitions: events that would take one go around it ------------------ */

static void
assert_not_published(int id, enum conn_status from, enum conn_status to)
{
	if (published(id, from, to))
		fail_msg("connector %d published the forbidden %s -> %s", id,
		         conn_status_name(from), conn_status_name(to));
}

/* Finishing -> Charging: a new transaction on a cable left in (F2, then B3). */
static void
test_forbidden_finishing_charging(void **state)
{
	for (int msd = 0; msd <= 5; msd += 5) {
		world(msd);
		to_finishing();
		advance(6000);
		tap(1, "T2");
		auth_answer(1, "Accepted");
		meter_answer(1, 2000);
		settle(1);
		advance(6000);
		assert_status(1, CONN_CHARGING);
		assert_not_published(1, F, CH);
		assert_published(1, F, P);
		assert_published(1, P, CH);
	}
}

/* Reserved -> Charging: the reserving idTag with the EV there (G2, B3). */
static void
test_forbidden_reserved_charging(void **state)
{
	for (int msd = 0; msd <= 5; msd += 5) {
		world(msd);
		to_reserved();
		advance(6000);
		ev(1, 'C');
		plug(1);
		ev(1, 'C');
		tap(1, "R1");
		auth_answer_full(1, "Accepted", NULL, 5);
		meter_answer(1, 0);
		settle(1);
		advance(6000);
		assert_status(1, CONN_CHARGING);
		assert_not_published(1, R, CH);
		assert_int_equal(jint(last_start(), "reservationId"), 5);
	}
}

/* Charging -> Preparing: stopped by the idTag and started again at once. */
static void
test_forbidden_charging_preparing(void **state)
{
	world(5);
	to_charging();
	advance(6000);
	tap(1, "T1");
	assert_string_equal(last_auth(1)->m.purpose, "stop");
	auth_answer(1, "Accepted");
	meter_answer(1, 1500);
	tap(1, "T1");
	auth_answer(1, "Accepted");
	advance(6000);
	assert_not_published(1, CH, P);
	assert_published(1, CH, F);
	assert_published(1, F, P);
}

/* Preparing -> Reserved: the EV leaves a connector reserved meanwhile. */
static void
test_forbidden_preparing_reserved(void **state)
{
	world(0);
	plug(1);
	conn_reservation(C(1), 9, "R9", "", W.now, W.wall);
	assert_status(1, CONN_PREPARING);
	remove_cable(1);
	assert_status(1, CONN_RESERVED);
	assert_not_published(1, P, R);
	assert_published(1, P, A);
	assert_published(1, A, R);
}

/* Preparing -> Unavailable: ChangeAvailability while a user is preparing. */
static void
test_forbidden_preparing_unavailable(void **state)
{
	world(0);
	plug(1);
	to_unavailable(1);
	assert_not_published(1, P, U);
	assert_published(1, P, F);
	assert_published(1, F, U);
}

/* Charging -> Reserved: the transaction ends on a connector reserved meanwhile. */
static void
test_forbidden_charging_reserved(void **state)
{
	world(0);
	charge(2, "T1", 0);
	conn_reservation(C(2), 3, "R3", "", W.now, W.wall);
	ev(2, 'A');
	meter_answer(2, 10);
	assert_status(2, CONN_RESERVED);
	assert_not_published(2, CH, R);
	assert_published(2, CH, A);
}

/* Unavailable -> Reserved: set available while a reservation waits. */
static void
test_forbidden_unavailable_reserved(void **state)
{
	world(0);
	to_unavailable(1);
	conn_reservation(C(1), 3, "R3", "", W.now, W.wall);
	assert_status(1, CONN_UNAVAILABLE);
	conn_change_availability(&W.cp, 1, true, W.now, W.wall);
	assert_status(1, CONN_RESERVED);
	assert_not_published(1, U, R);
}

/* Finishing -> Reserved: the cable leaves a connector reserved meanwhile. */
static void
test_forbidden_finishing_reserved(void **state)
{
	world(0);
	to_finishing();
	conn_reservation(C(1), 3, "R3", "", W.now, W.wall);
	remove_cable(1);
	assert_status(1, CONN_RESERVED);
	assert_not_published(1, F, R);
}

/* ---- transactions ------------------------------------------------------------------- */

static void
test_start_tag_first(void **state)
{
	world(0);
	tap(1, "TAG1");
	assert_string_equal(last_auth(1)->m.purpose, "start");
	assert_string_equal(last_auth(1)->m.id_tag, "TAG1");
	assert_status(1, CONN_AVAILABLE); /* until auth says yes */
	auth_answer(1, "Accepted");
	assert_status(1, CONN_PREPARING);
	assert_int_equal(W.n_meters, 0); /* no EV yet */
	advance(30000);
	plug(1);
	ev(1, 'C');
	assert_int_equal(W.n_meters, 1);
	assert_false(last_meter(1)->m.stop);
	meter_answer(1, 12345.4);
	assert_int_equal(json_array_size(W.starts), 0); /* the lock first */
	settle(1);
	assert_status(1, CONN_CHARGING);
	json_t *s = last_start();
	assert_int_equal(jint(s, "connectorId"), 1);
	assert_string_equal(jstr(s, "idTag"), "TAG1");
	assert_int_equal(jint(s, "meterStart"), 12345);
	assert_string_equal(jstr(s, "timestamp"), "2025-06-15T15:07:10.000Z");
	assert_null(json_object_get(s, "reservationId"));
	assert_int_equal(jint(s, "_tx_ref"), 100);
	json_t *e = last_event("started");
	assert_int_equal(jint(e, "tx_ref"), 100);
	assert_string_equal(jstr(e, "id_tag"), "TAG1");
	assert_int_equal(jint(e, "transaction_id"), 0);
	assert_true(!json_object_get(e, "charging_profile") ||
	            json_is_null(json_object_get(e, "charging_profile")));
	/* transactionId 0 until the Central System's answer */
	assert_int_equal(W.state[1].transaction_id, 0);
	assert_string_equal(W.state[1].id_tag, "TAG1");
	tx_id(1, 77);
	assert_int_equal(W.state[1].transaction_id, 77);
	assert_int_equal(W.saved.transaction_id, 77);
	assert_true(W.hw[1].contactor);
	assert_true(W.hw[1].locked);
	assert_true(W.hw[1].offered_a == 32);
}

static void
test_start_plug_first(void **state)
{
	world(0);
	plug(1);
	assert_status(1, CONN_PREPARING);
	advance(30000);
	tap(1, "TAG2");
	auth_answer(1, "Accepted");
	assert_int_equal(W.n_meters, 1);
	meter_timeout(1); /* no meter: the last sample, none here */
	settle(1);
	assert_status(1, CONN_SUSPENDED_EV); /* EV in state B */
	assert_int_equal(jint(last_start(), "meterStart"), 0);
	ev(1, 'C');
	settle(1);
	assert_status(1, CONN_CHARGING);
}

static void
test_meter_start_from_sample(void **state)
{
	world(0);
	conn_meter_sample(C(1), 4321.0, W.wall, W.now, W.wall);
	plug(1);
	tap(1, "T");
	auth_answer(1, "Accepted");
	meter_timeout(1);
	settle(1);
	assert_int_equal(jint(last_start(), "meterStart"), 4321);
}

static void
test_rejected_tag(void **state)
{
	world(0);
	plug(1);
	tap(1, "BAD");
	auth_answer(1, "Invalid");
	assert_int_equal(W.n_meters, 0);
	assert_int_equal(C(1)->phase, CONN_IDLE);
	assert_status(1, CONN_PREPARING);
	/* no auth service: a local start does not happen */
	tap(1, "T");
	conn_auth_result(C(1), last_auth(1)->token, -ETIMEDOUT, NULL, W.now, W.wall);
	assert_int_equal(C(1)->phase, CONN_IDLE);
	/* a stale answer changes nothing */
	conn_auth_result(C(1), 999, 0, &(struct sg_msg_auth_result){.status = "Accepted"}, W.now,
	                 W.wall);
	assert_int_equal(C(1)->phase, CONN_IDLE);
}

static void
test_connection_timeout(void **state)
{
	world(0);
	tap(1, "TAG1");
	auth_answer(1, "Accepted");
	assert_status(1, CONN_PREPARING);
	advance(59000);
	assert_status(1, CONN_PREPARING);
	advance(2000);
	assert_status(1, CONN_AVAILABLE); /* B1 */
	assert_int_equal(C(1)->phase, CONN_IDLE);
	plug(1); /* too late: no transaction */
	assert_int_equal(W.n_meters, 0);
	assert_status(1, CONN_PREPARING);
	/* a changed ConnectionTimeOut applies to the next session */
	W.keys.connection_timeout_s = 10;
	conn_set_keys(&W.cp, &W.keys, W.now, W.wall);
	remove_cable(1);
	tap(1, "TAG1");
	auth_answer(1, "Accepted");
	advance(11000);
	assert_status(1, CONN_AVAILABLE);
	/* presented again before the EV: the session is cancelled */
	tap(1, "TAG1");
	auth_answer(1, "Accepted");
	assert_status(1, CONN_PREPARING);
	tap(1, "TAG1");
	assert_status(1, CONN_AVAILABLE);
	assert_int_equal(json_array_size(W.starts), 0);
}

static void
test_stop_by_tag(void **state)
{
	world(0);
	charge(1, "OWNER", 1000);
	tx_id(1, 5);
	tap(1, "OTHER");
	struct auth_rec *a = last_auth(1);
	assert_string_equal(a->m.purpose, "stop");
	assert_string_equal(a->m.id_tag, "OTHER");
	assert_string_equal(a->m.tx_id_tag, "OWNER");
	auth_answer(1, "Invalid");
	assert_int_equal(C(1)->phase, CONN_RUNNING);
	tap(1, "OWNER");
	auth_answer(1, "Accepted");
	assert_true(last_meter(1)->m.stop);
	assert_string_equal(last_meter(1)->m.reason, "Local");
	assert_int_equal(last_meter(1)->m.tx_ref, 100);
	assert_status(1, CONN_FINISHING);
	struct sg_msg_meter_reading r = {.energy_wh = 2500.6, .ts = W.wall};
	r.transaction_data = json_pack("[{s:s,s:[{s:s}]}]", "timestamp", "2025-06-15T15:07:11Z",
	                               "sampledValue", "value", "2500");
	conn_meter_result(C(1), last_meter(1)->token, 0, &r, W.now, W.wall);
	json_decref(r.transaction_data);
	json_t *s = last_stop();
	assert_int_equal(jint(s, "meterStop"), 2501);
	assert_string_equal(jstr(s, "reason"), "Local");
	assert_string_equal(jstr(s, "idTag"), "OWNER");
	assert_int_equal(jint(s, "transactionId"), 5);
	assert_int_equal(json_array_size(json_object_get(s, "transactionData")), 1);
	json_t *e = last_event("stopped");
	assert_string_equal(jstr(e, "reason"), "Local");
	assert_int_equal(jint(e, "transaction_id"), 5);
	assert_int_equal(W.state[1].transaction_id, 0);
	settle(1);
	assert_false(C(1)->hw.locked); /* unlocked for the user */
	assert_false(C(1)->hw.contactor);
	remove_cable(1);
	assert_status(1, CONN_AVAILABLE);
}

/* ---- EV-side disconnect: the two keys ----------------------------------------------- */

static void
ev_side(bool stop, bool unlock)
{
	world_init("sf", 0);
	W.keys.stop_on_ev_disconnect = stop;
	W.keys.unlock_on_ev_disconnect = unlock;
	W.cp.keys = W.keys;
	world_start();
	to_charging();
	ev(1, 'A'); /* the car leaves; the cable stays in the socket */
}

static void
test_ev_side_stop_unlock(void **state)
{
	ev_side(true, true);
	assert_string_equal(last_meter(1)->m.reason, "EVDisconnected");
	meter_answer(1, 3000);
	settle(1);
	assert_string_equal(jstr(last_stop(), "reason"), "EVDisconnected");
	assert_null(json_object_get(last_stop(), "idTag"));
	assert_status(1, CONN_FINISHING);
	assert_false(C(1)->hw.locked);
	remove_cable(1);
	assert_status(1, CONN_AVAILABLE);
}

static void
test_ev_side_stop_keep_locked(void **state)
{
	ev_side(true, false);
	meter_answer(1, 3000);
	settle(1);
	assert_string_equal(jstr(last_stop(), "reason"), "EVDisconnected");
	assert_status(1, CONN_FINISHING);
	assert_true(C(1)->hw.locked);
	/* another idTag does not free the cable, the transaction's does */
	tap(1, "SOMEONE");
	auth_answer(1, "Invalid");
	settle(1);
	assert_true(C(1)->hw.locked);
	tap(1, "T1");
	settle(1);
	assert_false(C(1)->hw.locked);
	remove_cable(1);
	assert_status(1, CONN_AVAILABLE);
	/* or UnlockConnector */
	to_charging();
	ev(1, 'A');
	meter_answer(1, 3000);
	settle(1);
	assert_true(C(1)->hw.locked);
	assert_null(conn_unlock(&W.cp, 1, 42, W.now, W.wall));
	settle(1);
	assert_string_equal(W.unlock_status, "Unlocked");
	assert_int_equal(W.unlock_token, 42);
	assert_false(C(1)->hw.locked);
}

static void
ev_side_continue(bool unlock)
{
	ev_side(false, unlock);
	settle(1);
	assert_int_equal(json_array_size(W.stops), 0);
	assert_int_equal(C(1)->phase, CONN_RUNNING);
	assert_status(1, CONN_SUSPENDED_EV);
	assert_true(C(1)->hw.locked); /* StopTransactionOnEVSideDisconnect false wins */
	assert_false(C(1)->hw.contactor);
	ev(1, 'C');
	settle(1);
	assert_status(1, CONN_CHARGING);
	ev(1, 'A');
	remote_stop(1);
	assert_string_equal(jstr(last_stop(), "reason"), "Remote");
	assert_status(1, CONN_FINISHING);
	assert_false(C(1)->hw.locked);
}

static void
test_ev_side_continue_unlock(void **state)
{
	ev_side_continue(true);
}

static void
test_ev_side_continue_locked(void **state)
{
	ev_side_continue(false);
}

static void
test_ev_side_fixed_cable(void **state)
{
	world(0);
	charge(2, "T1", 0);
	ev(2, 'A');
	meter_answer(2, 10);
	assert_string_equal(jstr(last_stop(), "reason"), "EVDisconnected");
	assert_status(2, CONN_AVAILABLE);
	assert_false(C(2)->has_lock);
}

/* ---- availability --------------------------------------------------------------- */

static void
test_change_availability_scheduled(void **state)
{
	for (int msd = 0; msd <= 5; msd += 5) {
		world(msd);
		to_charging();
		advance(6000);
		schedule_inoperative(1);
		assert_int_equal(W.saved_pending[1], 0);
		assert_true(W.saved_operative[1]);
		assert_status(1, CONN_CHARGING);
		/* no new session may start meanwhile, and a second request is Scheduled too */
		schedule_inoperative(1);
		remote_stop(1);
		advance(6000);
		assert_status(1, CONN_UNAVAILABLE);
		assert_published(1, CH, U); /* C8: never Available in between */
		assert_false(published(1, CH, A));
		assert_int_equal(W.saved_pending[1], -1);
		assert_false(W.saved_operative[1]);
		remove_cable(1);
		assert_status(1, CONN_UNAVAILABLE);
		tap(1, "T1");
		assert_int_equal(C(1)->phase, CONN_IDLE);
		assert_string_equal(conn_remote_start(&W.cp, 1, "T1", NULL, W.now, W.wall),
		                    "Rejected");
	}
}

/* Scheduled, then the gateway restarts mid-transaction: the change is applied
 * after the PowerLoss stop. */
static void
test_change_availability_scheduled_restart(void **state)
{
	struct conn_tx tx = {.tx_ref = 7,
	                     .transaction_id = 70,
	                     .id_tag = "T1",
	                     .start_wall = T0 - 60000,
	                     .meter_start = 100,
	                     .energy_wh = 900,
	                     .energy_wall = T0 - 1000};
	world_init("sf", 0);
	conn_restore(C(1), true, 0, "Charging");
	conn_restore(C(0), true, -1, "Available");
	conn_restore_tx(C(1), &tx);
	plug(1);
	ev(1, 'C');
	world_start();
	assert_true(last_meter(1)->m.stop);
	assert_string_equal(last_meter(1)->m.reason, "PowerLoss");
	meter_answer(1, 5555);
	assert_status(1, CONN_UNAVAILABLE);
	assert_int_equal(W.pubs[1][0], CONN_UNAVAILABLE); /* Charging -> Unavailable */
	json_t *s = last_stop();
	assert_string_equal(jstr(s, "reason"), "PowerLoss");
	assert_int_equal(jint(s, "meterStop"), 900);
	assert_int_equal(jint(s, "transactionId"), 70);
	assert_string_equal(jstr(s, "timestamp"), "2025-06-15T15:06:39.000Z");
}

static void
test_change_availability_cp(void **state)
{
	world(0);
	charge(2, "T2", 0);
	assert_string_equal(conn_change_availability(&W.cp, 0, false, W.now, W.wall), "Scheduled");
	assert_status(1, CONN_UNAVAILABLE); /* free: at once */
	assert_status(2, CONN_CHARGING);
	assert_status(0, CONN_AVAILABLE); /* the charge point waits for the transaction */
	ev(2, 'A');
	meter_answer(2, 10);
	assert_status(2, CONN_UNAVAILABLE);
	assert_status(0, CONN_UNAVAILABLE);
	assert_string_equal(conn_change_availability(&W.cp, 0, true, W.now, W.wall), "Accepted");
	assert_status(0, CONN_AVAILABLE);
	assert_status(1, CONN_AVAILABLE);
	assert_status(2, CONN_AVAILABLE);
	assert_string_equal(conn_change_availability(&W.cp, 3, false, W.now, W.wall), "Rejected");
	/* Operative while Operative: Accepted; cancelling a scheduled change too */
	assert_string_equal(conn_change_availability(&W.cp, 1, true, W.now, W.wall), "Accepted");
	charge(1, "T1", 0);
	schedule_inoperative(1);
	assert_string_equal(conn_change_availability(&W.cp, 1, true, W.now, W.wall), "Accepted");
	remote_stop(1);
	assert_status(1, CONN_FINISHING);
}

/* ---- faults ----------------------------------------------------------------------- */

static void
test_vendor_error_bits(void **state)
{
	char code[33], vendor[51], info[51];

	/* seed 003, section 3.6: relay check (0x8000) + pilot error (0x4000) = 0xC000 */
	conn_faults_describe(conn_fault_bit("PowerSwitchFailure") |
	                         conn_fault_bit("EVCommunicationError"),
	                     code, sizeof(code), vendor, sizeof(vendor), info, sizeof(info));
	assert_string_equal(vendor, "0xC000");
	assert_string_equal(code, "PowerSwitchFailure");
	assert_string_equal(info, "PowerSwitchFailure+EVCommunicationError");
	conn_faults_describe(conn_fault_bit("Mode3Error"), code, sizeof(code), vendor,
	                     sizeof(vendor), info, sizeof(info));
	assert_string_equal(vendor, "0x2");
	conn_faults_describe(0, code, sizeof(code), vendor, sizeof(vendor), info, sizeof(info));
	assert_string_equal(code, "NoError");
	assert_string_equal(vendor, "");
	/* every fault has its own bit */
	uint32_t all = 0;
	for (size_t i = 0; i < conn_n_faults; i++) {
		assert_int_equal(all & conn_faults[i].bit, 0);
		all |= conn_faults[i].bit;
		assert_int_equal(conn_fault_bit(conn_faults[i].error_code), conn_faults[i].bit);
	}
	assert_int_equal(conn_fault_bit("NoError"), 0);
	assert_int_equal(conn_fault_bit("groundfailure"), 1u << 16);
	/* info is cut between names */
	conn_faults_describe(all, code, sizeof(code), vendor, sizeof(vendor), info, sizeof(info));
	assert_string_equal(code, "GroundFailure");
	assert_true(strlen(info) <= 50);
	assert_true(info[strlen(info) - 1] != '+');

	/* on the bus */
	world(0);
	fault(1, "GroundFailure");
	fault(1, "PowerSwitchFailure");
	assert_status(1, CONN_FAULTED);
	assert_string_equal(W.state[1].error_code, "GroundFailure");
	assert_string_equal(W.state[1].vendor_error_code, "0x18000");
	assert_string_equal(W.state[1].info, "GroundFailure+PowerSwitchFailure");
	/* a warning alone does not fault the connector, but is reported */
	clear(1);
	fault(1, "ReaderFailure");
	assert_status(1, CONN_AVAILABLE);
	assert_string_equal(W.state[1].error_code, "ReaderFailure");
	assert_string_equal(W.state[1].vendor_error_code, "0x1000000");
	/* pilot states E and F */
	clear(1);
	plug(1);
	ev(1, 'E');
	assert_status(1, CONN_FAULTED);
	assert_string_equal(W.state[1].error_code, "EVCommunicationError");
	ev(1, 'F');
	assert_string_equal(W.state[1].error_code, "Mode3Error");
	ev(1, 'B');
	assert_status(1, CONN_PREPARING);
	assert_string_equal(W.state[1].error_code, "NoError");
}

static void
test_lock_failure_at_start(void **state)
{
	world(0);
	plug(1);
	ev(1, 'C');
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	assert_true(C(1)->lock_wait);
	conn_hw_lock(C(1), false, false, W.now, W.wall);
	assert_status(1, CONN_FAULTED);
	assert_string_equal(W.state[1].error_code, "ConnectorLockFailure");
	assert_int_equal(json_array_size(W.starts), 0);
	assert_int_equal(C(1)->phase, CONN_IDLE);
	conn_hw_lock(C(1), true, false, W.now, W.wall); /* the lock works again */
	assert_status(1, CONN_PREPARING);
}

static void
test_contactor_failure(void **state)
{
	world(0);
	to_charging();
	conn_hw_contactor(C(1), false, W.now, W.wall);
	assert_status(1, CONN_FAULTED);
	assert_string_equal(W.state[1].error_code, "PowerSwitchFailure");
	assert_false(C(1)->cmd.contactor);
	assert_int_equal(C(1)->phase, CONN_RUNNING); /* the transaction stays */
	conn_hw_contactor(C(1), true, W.now, W.wall);
	settle(1);
	assert_status(1, CONN_CHARGING);
}

/* ---- Central System calls -------------------------------------------------------- */

static void
test_remote_start(void **state)
{
	json_t *profile =
	    json_pack("{s:i,s:i,s:s,s:s,s:{s:s,s:[{s:i,s:f}]}}", "chargingProfileId", 3,
	              "stackLevel", 0, "chargingProfilePurpose", "TxProfile", "chargingProfileKind",
	              "Relative", "chargingSchedule", "chargingRateUnit", "A",
	              "chargingSchedulePeriod", "startPeriod", 0, "limit", 10.0);
	json_t *bad = json_pack("{s:s}", "chargingProfilePurpose", "TxDefaultProfile");

	world(0);
	/* with connectorId */
	assert_string_equal(conn_remote_start(&W.cp, 9, "R", NULL, W.now, W.wall), "Rejected");
	assert_string_equal(conn_remote_start(&W.cp, 1, "R", bad, W.now, W.wall), "Rejected");
	assert_string_equal(conn_remote_start(&W.cp, 1, "R", profile, W.now, W.wall), "Accepted");
	assert_string_equal(last_auth(1)->m.purpose, "remote");
	assert_string_equal(conn_remote_start(&W.cp, 1, "R", NULL, W.now, W.wall), "Rejected");
	auth_answer(1, "Accepted");
	assert_status(1, CONN_PREPARING);
	plug(1);
	ev(1, 'C');
	meter_answer(1, 50);
	settle(1);
	assert_status(1, CONN_CHARGING);
	json_t *e = last_event("started");
	assert_true(json_equal(json_object_get(e, "charging_profile"), profile));
	assert_string_equal(jstr(e, "id_tag"), "R");

	/* without connectorId: the connector with an EV waiting */
	plug(2);
	assert_string_equal(conn_remote_start(&W.cp, 0, "R2", NULL, W.now, W.wall), "Accepted");
	assert_int_equal(last_auth(2)->conn, 2);
	/* auth does not answer: a remote start goes on (AuthorizeRemoteTxRequests false) */
	conn_auth_result(C(2), last_auth(2)->token, -ETIMEDOUT, NULL, W.now, W.wall);
	meter_answer(2, 70);
	settle(2);
	assert_int_equal(C(2)->phase, CONN_RUNNING);
	assert_string_equal(conn_remote_start(&W.cp, 0, "R3", NULL, W.now, W.wall), "Rejected");
	json_decref(profile);
	json_decref(bad);
}

static void
test_remote_start_choice(void **state)
{
	world_init("sss", 0);
	world_start();
	conn_reservation(C(1), 4, "RES", "", W.now, W.wall);
	to_unavailable(3);
	/* a free, unreserved connector: 2 */
	assert_string_equal(conn_remote_start(&W.cp, 0, "X", NULL, W.now, W.wall), "Accepted");
	assert_int_equal(W.auths[W.n_auths - 1].conn, 2);
	auth_answer(2, "Accepted");
	/* the reserving idTag: its connector */
	assert_string_equal(conn_remote_start(&W.cp, 0, "RES", NULL, W.now, W.wall), "Accepted");
	assert_int_equal(W.auths[W.n_auths - 1].conn, 1);
	auth_answer_full(1, "Accepted", NULL, 4);
	plug(1);
	meter_answer(1, 0);
	settle(1);
	assert_int_equal(jint(last_start(), "reservationId"), 4);
	/* nothing free */
	assert_string_equal(conn_remote_start(&W.cp, 0, "Y", NULL, W.now, W.wall), "Rejected");
}

static void
test_remote_stop(void **state)
{
	world(0);
	assert_string_equal(conn_remote_stop(&W.cp, 12345, W.now, W.wall), "Rejected");
	to_charging();
	assert_string_equal(conn_remote_stop(&W.cp, 0, W.now, W.wall), "Rejected");
	tx_id(1, 8);
	assert_string_equal(conn_remote_stop(&W.cp, 9, W.now, W.wall), "Rejected");
	assert_string_equal(conn_remote_stop(&W.cp, 8, W.now, W.wall), "Accepted");
	assert_string_equal(last_meter(1)->m.reason, "Remote");
	meter_timeout(1); /* meterStop from the last sample, or the journal's energy */
	json_t *s = last_stop();
	assert_string_equal(jstr(s, "reason"), "Remote");
	assert_int_equal(jint(s, "transactionId"), 8);
	assert_int_equal(jint(s, "meterStop"), 1000);
	assert_string_equal(conn_remote_stop(&W.cp, 8, W.now, W.wall), "Rejected");
}

static void
test_unlock(void **state)
{
	world(0);
	assert_string_equal(conn_unlock(&W.cp, 2, 1, W.now, W.wall), "NotSupported"); /* fixed */
	assert_string_equal(conn_unlock(&W.cp, 0, 1, W.now, W.wall), "NotSupported");
	assert_string_equal(conn_unlock(&W.cp, 7, 1, W.now, W.wall), "NotSupported");
	assert_string_equal(conn_unlock(&W.cp, 1, 1, W.now, W.wall), "Unlocked"); /* not locked */
	to_charging();
	tx_id(1, 3);
	assert_null(conn_unlock(&W.cp, 1, 2, W.now, W.wall));
	assert_string_equal(last_meter(1)->m.reason, "UnlockCommand");
	meter_answer(1, 1500);
	assert_string_equal(jstr(last_stop(), "reason"), "UnlockCommand");
	assert_string_equal(W.unlock_status, "");
	settle(1);
	assert_string_equal(W.unlock_status, "Unlocked");
	assert_int_equal(W.unlock_token, 2);
	/* a lock that does not open */
	to_charging();
	assert_null(conn_unlock(&W.cp, 1, 3, W.now, W.wall));
	meter_answer(1, 1600);
	conn_hw_lock(C(1), false, true, W.now, W.wall);
	assert_string_equal(W.unlock_status, "UnlockFailed");
	assert_status(1, CONN_FAULTED);
	assert_string_equal(W.state[1].error_code, "ConnectorLockFailure");
	/* and again, after the lock was repaired */
	assert_null(conn_unlock(&W.cp, 1, 4, W.now, W.wall));
	conn_hw_lock(C(1), true, false, W.now, W.wall);
	assert_string_equal(W.unlock_status, "Unlocked");
	assert_status(1, CONN_FINISHING);
}

/* ---- reservations ---------------------------------------------------------------- */

static void
test_reservation(void **state)
{
	world(0);
	conn_reservation(C(1), 11, "RES", "PARENT", W.now, W.wall);
	assert_status(1, CONN_RESERVED);
	assert_status(2, CONN_AVAILABLE);
	/* another idTag, even accepted by auth, may not start here */
	plug(1);
	tap(1, "OTHER");
	auth_answer(1, "Accepted");
	assert_int_equal(C(1)->phase, CONN_IDLE);
	/* one of the same parent may */
	tap(1, "CHILD");
	auth_answer_full(1, "Accepted", "PARENT", 0);
	meter_answer(1, 0);
	settle(1);
	assert_int_equal(C(1)->phase, CONN_RUNNING);
	remote_stop(1);
	remove_cable(1);
	assert_status(1, CONN_RESERVED); /* auth clears it, not us */
	conn_reservation(C(1), 0, "", "", W.now, W.wall);
	assert_status(1, CONN_AVAILABLE);

	/* the charge point's reservation shows on every free connector */
	conn_reservation(C(0), 12, "ANY", "", W.now, W.wall);
	assert_status(1, CONN_RESERVED);
	assert_status(2, CONN_RESERVED);
	assert_status(0, CONN_AVAILABLE);
	tap(2, "NOPE");
	auth_answer(2, "Accepted");
	assert_int_equal(C(2)->phase, CONN_IDLE);
	tap(2, "X");
	auth_answer_full(2, "Accepted", NULL, 12); /* auth says it consumes reservation 12 */
	assert_status(2, CONN_PREPARING);
}

/* ---- MinimumStatusDuration ------------------------------------------------------- */

static void
test_min_status_duration(void **state)
{
	world(5);
	assert_status(1, CONN_AVAILABLE);
	plug(1);
	advance(2000);
	remove_cable(1); /* a blip of 2 s */
	advance(10000);
	assert_int_equal(W.n_pubs[1], 1);
	plug(1);
	advance(4900);
	assert_status(1, CONN_AVAILABLE);
	advance(200);
	assert_status(1, CONN_PREPARING);
	assert_int_equal(W.state[1].since, T0 + 12000);
	/* 0 publishes at once, also what was waiting */
	remove_cable(1);
	W.keys.min_status_duration_s = 0;
	conn_set_keys(&W.cp, &W.keys, W.now, W.wall);
	assert_status(1, CONN_AVAILABLE);
	plug(1);
	assert_status(1, CONN_PREPARING);
}

/* ---- power loss -------------------------------------------------------------------- */

static void
test_power_loss(void **state)
{
	struct conn_tx tx = {.tx_ref = 31,
	                     .id_tag = "T1",
	                     .start_wall = T0 - 3600000,
	                     .meter_start = 1000,
	                     .energy_wh = 7777.7,
	                     .energy_wall = T0 - 5000};

	world_init("sf", 5);
	conn_restore(C(1), true, -1, "Charging");
	conn_restore_tx(C(1), &tx);
	conn_hw_state(C(1), &(struct conn_hw_in){.cable = true, .ev_state = 'C'}, W.now, W.wall);
	assert_int_equal(W.n_meters, 0); /* nothing happens before the start */
	world_start();
	assert_int_equal(W.n_meters, 1);
	assert_true(last_meter(1)->m.stop);
	assert_int_equal(last_meter(1)->m.tx_ref, 31);
	assert_status(1, CONN_FINISHING); /* at once, MinimumStatusDuration or not */
	meter_answer(1, 9000); /* the register now: not what was charged in the transaction */
	json_t *s = last_stop();
	assert_string_equal(jstr(s, "reason"), "PowerLoss");
	assert_int_equal(jint(s, "meterStop"), 7778);
	assert_int_equal(jint(s, "transactionId"), 0); /* the bridge knows it by tx_ref */
	assert_int_equal(jint(s, "_tx_ref"), 31);
	assert_string_equal(jstr(s, "timestamp"), "2025-06-15T15:06:35.000Z");
	json_t *e = last_event("stopped");
	assert_string_equal(jstr(e, "reason"), "PowerLoss");
	settle(1);
	assert_false(C(1)->hw.locked);
	remove_cable(1);
	advance(6000);
	assert_status(1, CONN_AVAILABLE);
}

static void
test_energy_saved(void **state)
{
	world(0);
	to_charging();
	int saves = W.n_saves;
	for (int i = 1; i <= 20; i++) {
		advance(1000);
		conn_meter_sample(C(1), 1000 + i * 10, W.wall, W.now, W.wall);
	}
	/* at most one write per CONN_ENERGY_SAVE_MS */
	assert_true(W.n_saves - saves >= 3 && W.n_saves - saves <= 5);
	advance(5000);
	assert_true(W.saved.energy_wh == 1200); /* the last one, by the timer */
	conn_meter_sample(C(1), 1300, W.wall, W.now, W.wall);
	conn_meter_sample(C(1), 1310, W.wall, W.now, W.wall);
	saves = W.n_saves;
	conn_cp_flush(&W.cp, W.now);
	assert_int_equal(W.n_saves, saves + 1);
	assert_true(W.saved.energy_wh == 1310);
	conn_cp_flush(&W.cp, W.now);
	assert_int_equal(W.n_saves, saves + 1);
}

static void
test_tx_open_fails(void **state)
{
	world(0);
	W.fail_tx_open = 1;
	plug(1);
	tap(1, "T1");
	auth_answer(1, "Accepted");
	meter_answer(1, 0);
	settle(1);
	assert_int_equal(C(1)->phase, CONN_IDLE);
	assert_int_equal(json_array_size(W.events), 0);
	assert_status(1, CONN_PREPARING);
}

/* ---- conn_control and limits ------------------------------------------------------ */

static void
test_control(void **state)
{
	char why[100];

	world(0);
	assert_int_equal(
	    conn_control(C(1), "stop", "DeAuthorized", 0, why, sizeof(why), W.now, W.wall),
	    -ENOENT);
	to_charging();
	assert_int_equal(conn_control(C(1), "halt", NULL, 0, why, sizeof(why), W.now, W.wall),
	                 -EINVAL);
	assert_int_equal(conn_control(C(1), "stop", "Bored", 0, why, sizeof(why), W.now, W.wall),
	                 -EINVAL);
	assert_int_equal(conn_control(C(1), "stop", NULL, 99, why, sizeof(why), W.now, W.wall),
	                 -ENOENT);
	assert_int_equal(conn_control(C(1), "suspend", NULL, 100, why, sizeof(why), W.now, W.wall),
	                 0);
	settle(1);
	assert_status(1, CONN_SUSPENDED_EVSE);
	assert_false(C(1)->cmd.contactor);
	assert_true(W.hw[1].offered_a == 0);
	assert_int_equal(conn_control(C(1), "resume", NULL, 0, why, sizeof(why), W.now, W.wall), 0);
	settle(1);
	assert_status(1, CONN_CHARGING);
	assert_int_equal(
	    conn_control(C(1), "stop", "DeAuthorized", 100, why, sizeof(why), W.now, W.wall), 0);
	meter_answer(1, 1100);
	assert_string_equal(jstr(last_stop(), "reason"), "DeAuthorized");
}

static void
test_limits(void **state)
{
	world(0);
	to_charging();
	conn_limit(C(1), 16, W.now, W.wall);
	assert_true(W.hw[1].offered_a == 16);
	conn_limit(C(1), 64, W.now, W.wall); /* never above the rating */
	assert_true(W.hw[1].offered_a == 32);
	conn_limit(C(1), 0, W.now, W.wall);
	settle(1);
	assert_status(1, CONN_SUSPENDED_EVSE);
	/* smartcharge goes away: its retained limit no longer counts */
	conn_smartcharge(&W.cp, false, W.now, W.wall);
	settle(1);
	assert_status(1, CONN_CHARGING);
	conn_smartcharge(&W.cp, true, W.now, W.wall);
	settle(1);
	assert_status(1, CONN_SUSPENDED_EVSE);
	conn_limit(C(1), -1, W.now, W.wall);
	settle(1);
	assert_status(1, CONN_CHARGING);
}

/* ---- Reset and firmware installation ------------------------------------------------ */

static void
test_reset(void **state)
{
	world(0);
	to_charging();
	charge(2, "T2", 0);
	tap(1, "waiting"); /* ignored: a transaction runs there */
	assert_int_equal(conn_cp_reset(&W.cp, true, W.now, W.wall), 2);
	assert_true(conn_cp_stopping(&W.cp));
	assert_string_equal(last_meter(1)->m.reason, "HardReset");
	meter_answer(1, 10);
	assert_true(conn_cp_stopping(&W.cp));
	meter_answer(2, 20);
	assert_false(conn_cp_stopping(&W.cp));
	assert_int_equal(json_array_size(W.stops), 2);
	assert_string_equal(jstr(json_array_get(W.stops, 0), "reason"), "HardReset");
	assert_int_equal(conn_cp_reset(&W.cp, false, W.now, W.wall), 0);
	/* a session waiting for the EV ends */
	remove_cable(1);
	tap(1, "T3");
	auth_answer(1, "Accepted");
	assert_int_equal(conn_cp_reset(&W.cp, false, W.now, W.wall), 0);
	assert_int_equal(C(1)->phase, CONN_IDLE);
}

static void
test_firmware_installation(void **state)
{
	world(0);
	to_charging();
	tap(2, "T2");
	auth_answer(2, "Accepted");
	conn_cp_installing(&W.cp, true, W.now, W.wall);
	assert_int_equal(C(2)->phase, CONN_IDLE); /* the waiting session ends */
	assert_status(2, CONN_UNAVAILABLE);
	assert_status(0, CONN_UNAVAILABLE);
	assert_status(1, CONN_CHARGING); /* the transaction goes on */
	assert_string_equal(conn_remote_start(&W.cp, 2, "X", NULL, W.now, W.wall), "Rejected");
	remote_stop(1);
	assert_status(1, CONN_UNAVAILABLE);
	assert_false(published(1, CH, A));
	conn_cp_installing(&W.cp, false, W.now, W.wall);
	assert_status(0, CONN_AVAILABLE);
	assert_status(1, CONN_PREPARING); /* the cable is still in */
	assert_status(2, CONN_AVAILABLE);
	/* what the Central System set stays */
	to_unavailable(2);
	conn_cp_installing(&W.cp, true, W.now, W.wall);
	conn_cp_installing(&W.cp, false, W.now, W.wall);
	assert_status(2, CONN_UNAVAILABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_table, teardown),
	    cmocka_unit_test_teardown(test_table_via, teardown),
	    cmocka_unit_test_teardown(test_names, teardown),
	    cmocka_unit_test_teardown(test_every_allowed_transition, teardown),
	    cmocka_unit_test_teardown(test_forbidden_finishing_charging, teardown),
	    cmocka_unit_test_teardown(test_forbidden_reserved_charging, teardown),
	    cmocka_unit_test_teardown(test_forbidden_charging_preparing, teardown),
	    cmocka_unit_test_teardown(test_forbidden_preparing_reserved, teardown),
	    cmocka_unit_test_teardown(test_forbidden_preparing_unavailable, teardown),
	    cmocka_unit_test_teardown(test_forbidden_charging_reserved, teardown),
	    cmocka_unit_test_teardown(test_forbidden_unavailable_reserved, teardown),
	    cmocka_unit_test_teardown(test_forbidden_finishing_reserved, teardown),
	    cmocka_unit_test_teardown(test_start_tag_first, teardown),
	    cmocka_unit_test_teardown(test_start_plug_first, teardown),
	    cmocka_unit_test_teardown(test_meter_start_from_sample, teardown),
	    cmocka_unit_test_teardown(test_rejected_tag, teardown),
	    cmocka_unit_test_teardown(test_connection_timeout, teardown),
	    cmocka_unit_test_teardown(test_stop_by_tag, teardown),
	    cmocka_unit_test_teardown(test_ev_side_stop_unlock, teardown),
	    cmocka_unit_test_teardown(test_ev_side_stop_keep_locked, teardown),
	    cmocka_unit_test_teardown(test_ev_side_continue_unlock, teardown),
	    cmocka_unit_test_teardown(test_ev_side_continue_locked, teardown),
	    cmocka_unit_test_teardown(test_ev_side_fixed_cable, teardown),
	    cmocka_unit_test_teardown(test_change_availability_scheduled, teardown),
	    cmocka_unit_test_teardown(test_change_availability_scheduled_restart, teardown),
	    cmocka_unit_test_teardown(test_change_availability_cp, teardown),
	    cmocka_unit_test_teardown(test_vendor_error_bits, teardown),
	    cmocka_unit_test_teardown(test_lock_failure_at_start, teardown),
	    cmocka_unit_test_teardown(test_contactor_failure, teardown),
	    cmocka_unit_test_teardown(test_remote_start, teardown),
	    cmocka_unit_test_teardown(test_remote_start_choice, teardown),
	    cmocka_unit_test_teardown(test_remote_stop, teardown),
	    cmocka_unit_test_teardown(test_unlock, teardown),
	    cmocka_unit_test_teardown(test_reservation, teardown),
	    cmocka_unit_test_teardown(test_min_status_duration, teardown),
	    cmocka_unit_test_teardown(test_power_loss, teardown),
	    cmocka_unit_test_teardown(test_energy_saved, teardown),
	    cmocka_unit_test_teardown(test_tx_open_fails, teardown),
	    cmocka_unit_test_teardown(test_control, teardown),
	    cmocka_unit_test_teardown(test_limits, teardown),
	    cmocka_unit_test_teardown(test_reset, teardown),
	    cmocka_unit_test_teardown(test_firmware_installation, teardown),
	};

	sg_log_init("test_connector", SG_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
