/* The connector service's decisions (see connector.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "connector.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the status table ---------------------------------------------------------- */

static const char *const status_names[CONN_STATUS__COUNT] = {
    [CONN_AVAILABLE] = "Available",
    [CONN_PREPARING] = "Preparing",
    [CONN_CHARGING] = "Charging",
    [CONN_SUSPENDED_EV] = "SuspendedEV",
    [CONN_SUSPENDED_EVSE] = "SuspendedEVSE",
    [CONN_FINISHING] = "Finishing",
    [CONN_RESERVED] = "Reserved",
    [CONN_UNAVAILABLE] = "Unavailable",
    [CONN_FAULTED] = "Faulted",
};

/* OCPP 1.6 edition 2, section 4.9: from (row) -> to (bit). The table's cells
 * A2..I8; the comment of each row names the events behind them. */
#define B(s) (1u << (s))
static const unsigned allowed[CONN_STATUS__COUNT] = {
    /* A: usage initiated, EV connected, reservation, unavailable, fault */
    [CONN_AVAILABLE] = B(CONN_PREPARING) | B(CONN_CHARGING) | B(CONN_SUSPENDED_EV) |
                       B(CONN_SUSPENDED_EVSE) | B(CONN_RESERVED) | B(CONN_UNAVAILABLE) |
                       B(CONN_FAULTED),
    /* B: usage ended, charging starts, timeout (B6), fault */
    [CONN_PREPARING] = B(CONN_AVAILABLE) | B(CONN_CHARGING) | B(CONN_SUSPENDED_EV) |
                       B(CONN_SUSPENDED_EVSE) | B(CONN_FINISHING) | B(CONN_FAULTED),
    [CONN_CHARGING] = B(CONN_AVAILABLE) | B(CONN_SUSPENDED_EV) | B(CONN_SUSPENDED_EVSE) |
                      B(CONN_FINISHING) | B(CONN_UNAVAILABLE) | B(CONN_FAULTED),
    [CONN_SUSPENDED_EV] = B(CONN_AVAILABLE) | B(CONN_CHARGING) | B(CONN_SUSPENDED_EVSE) |
                          B(CONN_FINISHING) | B(CONN_UNAVAILABLE) | B(CONN_FAULTED),
    [CONN_SUSPENDED_EVSE] = B(CONN_AVAILABLE) | B(CONN_CHARGING) | B(CONN_SUSPENDED_EV) |
                            B(CONN_FINISHING) | B(CONN_UNAVAILABLE) | B(CONN_FAULTED),
    /* F: user actions completed, new session (F2), unavailable, fault */
    [CONN_FINISHING] =
        B(CONN_AVAILABLE) | B(CONN_PREPARING) | B(CONN_UNAVAILABLE) | B(CONN_FAULTED),
    /* G: reservation expired or cancelled, its idTag presented, unavailable, fault */
    [CONN_RESERVED] = B(CONN_AVAILABLE) | B(CONN_PREPARING) | B(CONN_UNAVAILABLE) | B(CONN_FAULTED),
    /* H: set available (with or without a user waiting), fault */
    [CONN_UNAVAILABLE] = B(CONN_AVAILABLE) | B(CONN_PREPARING) | B(CONN_CHARGING) |
                         B(CONN_SUSPENDED_EV) | B(CONN_SUSPENDED_EVSE) | B(CONN_FAULTED),
    /* I: fault cleared, back to any status but itself */
    [CONN_FAULTED] = B(CONN_AVAILABLE) | B(CONN_PREPARING) | B(CONN_CHARGING) |
                     B(CONN_SUSPENDED_EV) | B(CONN_SUSPENDED_EVSE) | B(CONN_FINISHING) |
                     B(CONN_RESERVED) | B(CONN_UNAVAILABLE),
};
#undef B

const char *
conn_status_name(enum conn_status st)
{
	return (unsigned)st < CONN_STATUS__COUNT ? status_names[st] : NULL;
}

int
conn_status_parse(const char *name, enum conn_status *out)
{
	for (int i = 0; name && i < CONN_STATUS__COUNT; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum conn_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool
conn_transition_allowed(enum conn_status from, enum conn_status to)
{
	if ((unsigned)from >= CONN_STATUS__COUNT || (unsigned)to >= CONN_STATUS__COUNT)
		return false;
	return (allowed[from] >> to) & 1u;
}

enum conn_status
conn_transition_via(enum conn_status from, enum conn_status to)
{
	static const enum conn_status via[] = {CONN_PREPARING, CONN_FINISHING, CONN_AVAILABLE};

	if (from == to || conn_transition_allowed(from, to))
		return to;
	for (size_t i = 0; i < ARRAY_SIZE(via); i++)
		if (conn_transition_allowed(from, via[i]) && conn_transition_allowed(via[i], to))
			return via[i];
	return to; /* not reached: every pair of the table has a path of two */
}

/* ---- faults ---------------------------------------------------------------- */

/* In order of importance: the first critical fault present is the errorCode. */
const struct conn_fault_def conn_faults[] = {
    {"GroundFailure", 1u << 16, true, "residual current / leakage self-test"},
    {"PowerSwitchFailure", 1u << 15, true, "contactor does not follow (relay check)"},
    {"EVCommunicationError", 1u << 14, true, "control pilot error (state E)"},
    {"Mode3Error", 1u << 1, true, "control pilot -12 V (state F)"},
    {"InternalError", 1u << 8, true, "internal hardware error"},
    {"OverCurrentFailure", 1u << 17, true, "over current"},
    {"OverVoltage", 1u << 18, true, "over voltage"},
    {"UnderVoltage", 1u << 19, true, "under voltage"},
    {"HighTemperature", 1u << 20, true, "temperature too high"},
    {"ConnectorLockFailure", 1u << 21, true, "cable lock does not follow"},
    {"OtherError", 1u << 22, true, "other hardware error"},
    {"PowerMeterFailure", 1u << 23, false, "energy meter not answering"},
    {"ReaderFailure", 1u << 24, false, "RFID reader failure"},
    {"ResetFailure", 1u << 25, false, "reset failed"},
    {"WeakSignal", 1u << 26, false, "weak wireless signal"},
    {"LocalListConflict", 1u << 27, false, "local list conflicts with the CSMS"},
};
const size_t conn_n_faults = ARRAY_SIZE(conn_faults);

#define BIT_LOCK    (1u << 21)
#define BIT_SWITCH  (1u << 15)
#define BIT_PILOT_E (1u << 14)
#define BIT_PILOT_F (1u << 1)

uint32_t
conn_fault_bit(const char *error_code)
{
	for (size_t i = 0; error_code && i < conn_n_faults; i++)
		if (strcasecmp(error_code, conn_faults[i].error_code) == 0)
			return conn_faults[i].bit;
	return 0;
}

bool
conn_faults_critical(uint32_t bits)
{
	for (size_t i = 0; i < conn_n_faults; i++)
		if ((bits & conn_faults[i].bit) && conn_faults[i].critical)
			return true;
	return false;
}

void
conn_faults_describe(uint32_t bits, char *error_code, size_t code_len, char *vendor,
                     size_t vendor_len, char *info, size_t info_len)
{
	size_t off = 0;
	bool first = true;

	snprintf(error_code, code_len, "NoError");
	snprintf(vendor, vendor_len, "%s", "");
	snprintf(info, info_len, "%s", "");
	if (bits == 0)
		return;
	for (size_t i = 0; i < conn_n_faults; i++) {
		if (!(bits & conn_faults[i].bit))
			continue;
		if (first)
			snprintf(error_code, code_len, "%s", conn_faults[i].error_code);
		first = false;
		/* Only whole names: the list is cut where the next one does not fit. */
		size_t need = strlen(conn_faults[i].error_code) + (off ? 1 : 0);
		if (off + need < info_len) {
			snprintf(info + off, info_len - off, "%s%s", off ? "+" : "",
			         conn_faults[i].error_code);
			off += need;
		}
	}
	snprintf(vendor, vendor_len, "0x%" PRIX32, bits);
}

bool
conn_reason_valid(const char *reason)
{
	static const char *const reasons[] = {
	    "EmergencyStop", "EVDisconnected", "HardReset",    "Local",
	    "Other",         "PowerLoss",      "Reboot",       "Remote",
	    "SoftReset",     "UnlockCommand",  "DeAuthorized",
	};
	for (size_t i = 0; reason && i < ARRAY_SIZE(reasons); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return true;
	return false;
}

/* ---- views ------------------------------------------------------------------- */

static bool
ev_connected(const struct conn *c)
{
	return c->hw.ev_state == 'B' || c->hw.ev_state == 'C' || c->hw.ev_state == 'D';
}

static bool
ev_wants_energy(const struct conn *c)
{
	return c->hw.ev_state == 'C' || c->hw.ev_state == 'D';
}

/* Someone is using the connector: an EV, or a cable left in the socket. */
static bool
occupied(const struct conn *c)
{
	bool ev = c->hw.ev_state != 'A' && c->hw.ev_state != '\0';
	return c->fixed_cable ? ev : (ev || c->hw.cable);
}

static uint32_t
pilot_faults(const struct conn *c)
{
	return c->hw.ev_state == 'E' ? BIT_PILOT_E : c->hw.ev_state == 'F' ? BIT_PILOT_F : 0;
}

static uint32_t
all_faults(const struct conn *c)
{
	return c->hw_faults | c->feedback_faults | pilot_faults(c);
}

static bool
faulted(const struct conn *c)
{
	return conn_faults_critical(all_faults(c));
}

/* The reservation that holds c: its own, else the charge point's. */
static const struct conn *
reservation_of(const struct conn *c)
{
	if (c->res_tag[0])
		return c;
	if (c->cp->conns[0].res_tag[0])
		return &c->cp->conns[0];
	return NULL;
}

/* Operative as the Central System set it, and no firmware installation due. */
static bool
in_service(const struct conn *c)
{
	return c->operative && !c->cp->installing;
}

/* A transaction is running or about to: a change of availability waits for it. */
static bool
tx_busy(const struct conn *c)
{
	return c->phase == CONN_STARTING || c->phase == CONN_RUNNING;
}

double
conn_offered(const struct conn *c)
{
	const struct conn_cp *cp = c->cp;
	/* A retained limit counts while smartcharge runs, or when its status is
	 * unknown (the limit itself says it ran). */
	bool use = c->have_limit && (cp->smartcharge_online || !cp->smartcharge_seen);
	double v = use && c->limit_a < c->max_current_a ? c->limit_a : c->max_current_a;
	return v > 0 ? v : 0;
}

enum conn_status
conn_derive(const struct conn *c)
{
	if (c->id == 0) {
		if (faulted(c))
			return CONN_FAULTED;
		return in_service(c) ? CONN_AVAILABLE : CONN_UNAVAILABLE;
	}
	if (faulted(c))
		return CONN_FAULTED;
	if (c->phase == CONN_RUNNING) {
		if (!ev_connected(c))
			return CONN_SUSPENDED_EV; /* StopTransactionOnEVSideDisconnect false */
		if (c->suspended || conn_offered(c) <= 0)
			return CONN_SUSPENDED_EVSE;
		return ev_wants_energy(c) ? CONN_CHARGING : CONN_SUSPENDED_EV;
	}
	if (!in_service(c))
		return CONN_UNAVAILABLE;
	if (c->finishing)
		return CONN_FINISHING;
	if (c->phase == CONN_AUTHORIZED || c->phase == CONN_STARTING || occupied(c))
		return CONN_PREPARING;
	if (reservation_of(c))
		return CONN_RESERVED;
	return CONN_AVAILABLE;
}

/* ---- setup ------------------------------------------------------------------ */

struct conn *
conn_get(struct conn_cp *cp, int id)
{
	return id >= 0 && id <= cp->n ? &cp->conns[id] : NULL;
}

static void
conn_init(struct conn_cp *cp, struct conn *c, int id, const struct sg_connector_conf *conf)
{
	memset(c, 0, sizeof(*c));
	c->cp = cp;
	c->id = id;
	c->operative = true;
	c->pending = -1;
	c->hw.ev_state = 'A';
	c->status = CONN_AVAILABLE;
	c->pub = CONN_AVAILABLE;
	if (conf) {
		c->fixed_cable = strcmp(conf->cable, "fixed") == 0;
		c->has_lock = !c->fixed_cable;
		c->max_current_a = conf->max_current_a;
		c->phases = conf->phases;
		c->hw.cable = c->fixed_cable;
	}
}

void
conn_cp_init(struct conn_cp *cp, const struct sg_cp_conf *conf, const struct conn_ops *ops,
             void *ud, const struct conn_keys *keys)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->id, sizeof(cp->id), "%s", conf->id);
	cp->n = conf->n_connectors;
	cp->ops = ops;
	cp->ud = ud;
	cp->keys = *keys;
	cp->next_token = 1;
	conn_init(cp, &cp->conns[0], 0, NULL);
	for (int i = 1; i <= cp->n; i++)
		conn_init(cp, &cp->conns[i], i, &conf->connectors[i - 1]);
}

void
conn_cp_fini(struct conn_cp *cp)
{
	if (!cp)
		return;
	for (int i = 0; i <= cp->n; i++) {
		json_decref(cp->conns[i].profile);
		cp->conns[i].profile = NULL;
	}
}

void
conn_restore(struct conn *c, bool operative, int pending, const char *published_status)
{
	enum conn_status st;

	c->operative = operative;
	c->pending = pending < 0 ? -1 : pending ? 1 : 0;
	if (published_status && conn_status_parse(published_status, &st) == 0) {
		c->status = c->pub = st;
		c->pub_known = true;
	}
}

void
conn_restore_tx(struct conn *c, const struct conn_tx *tx)
{
	c->has_tx = true;
	c->tx = *tx;
	c->phase = CONN_RUNNING;
	snprintf(c->last_tag, sizeof(c->last_tag), "%s", tx->id_tag);
}

/* ---- publishing --------------------------------------------------------------- */

static uint64_t
new_token(struct conn_cp *cp)
{
	return cp->next_token++;
}

static int64_t
min_status_ms(const struct conn *c)
{
	int64_t s = c->cp->starting ? 0 : c->cp->keys.min_status_duration_s;
	return s > 0 ? s * 1000 : 0;
}

static void publish_state(struct conn *c, int64_t wall);

static void
publish_status(struct conn *c, enum conn_status st, int64_t since, int64_t wall)
{
	bool changed = !c->pub_known || c->pub != st;

	c->pub = st;
	c->pub_wall = since;
	c->pub_known = true;
	c->pub_due = 0;
	publish_state(c, wall);
	if (changed)
		c->cp->ops->save_conn(c->cp->ud, c);
}

/* One transition of the internal status, and what it means for publishing. */
static void
step(struct conn *c, enum conn_status next, int64_t now, int64_t wall)
{
	enum conn_status prev = c->status;
	int64_t prev_wall = c->status_wall;

	sg_debug("%s/%d: %s -> %s", c->cp->id, c->id, conn_status_name(prev),
	         conn_status_name(next));
	c->status = next;
	c->status_wall = wall;
	if (c->pub_known && next == c->pub) {
		c->pub_due = 0; /* back to what the Central System knows */
		return;
	}
	if (c->pub_known && !conn_transition_allowed(c->pub, next))
		/* the status in between is published now, however short it was */
		publish_status(c, prev, prev_wall, wall);
	if (min_status_ms(c) == 0)
		publish_status(c, next, wall, wall);
	else
		c->pub_due = now + min_status_ms(c);
}

static void
set_status(struct conn *c, enum conn_status target, int64_t now, int64_t wall)
{
	if (!c->pub_known) {
		/* nothing published yet: start here */
		c->status = target;
		c->status_wall = wall;
		publish_status(c, target, wall, wall);
		return;
	}
	for (int i = 0; i < 3 && c->status != target; i++)
		step(c, conn_transition_via(c->status, target), now, wall);
}

static void
publish_state(struct conn *c, int64_t wall)
{
	struct sg_msg_conn_state m;

	memset(&m, 0, sizeof(m)); /* compared with memcmp() */
	snprintf(m.status, sizeof(m.status), "%s", conn_status_name(c->pub));
	if (c->status == c->pub || !c->state_sent) {
		conn_faults_describe(all_faults(c), m.error_code, sizeof(m.error_code),
		                     m.vendor_error_code, sizeof(m.vendor_error_code), m.info,
		                     sizeof(m.info));
	} else {
		/* a new status is pending: its error fields go with it */
		memcpy(m.error_code, c->last_state.error_code, sizeof(m.error_code));
		memcpy(m.vendor_error_code, c->last_state.vendor_error_code,
		       sizeof(m.vendor_error_code));
		memcpy(m.info, c->last_state.info, sizeof(m.info));
	}
	if (c->has_tx && c->phase == CONN_RUNNING) {
		m.transaction_id = c->tx.transaction_id > 0 ? c->tx.transaction_id : 0;
		snprintf(m.id_tag, sizeof(m.id_tag), "%s", c->tx.id_tag);
	}
	m.since = c->pub_wall ? c->pub_wall : wall;
	if (c->state_sent && memcmp(&m, &c->last_state, sizeof(m)) == 0)
		return;
	c->last_state = m;
	c->state_sent = true;
	c->cp->ops->publish_state(c->cp->ud, c, &m);
}

static void
publish_hw(struct conn *c)
{
	struct sg_msg_conn_hw m;

	if (c->id == 0)
		return;
	memset(&m, 0, sizeof(m)); /* compared with memcmp() */
	m.plugged = c->hw.ev_state >= 'B' && c->hw.ev_state <= 'F';
	m.ev_state[0] = c->hw.ev_state ? c->hw.ev_state : 'A';
	m.contactor = c->hw.contactor;
	m.offered_a = c->cmd.offered_a;
	m.phases = c->phases;
	m.locked = c->hw.locked;
	if (c->hw_sent && memcmp(&m, &c->last_hw, sizeof(m)) == 0)
		return;
	c->last_hw = m;
	c->hw_sent = true;
	c->cp->ops->publish_hw(c->cp->ud, c, &m);
}

/* ---- hardware --------------------------------------------------------------- */

static void
drive_hw(struct conn *c)
{
	struct conn_hw_cmd cmd;
	bool energy = c->phase == CONN_RUNNING && !c->suspended && !faulted(c);

	if (c->id == 0)
		return;
	memset(&cmd, 0, sizeof(cmd)); /* compared with memcmp() */
	cmd.offered_a = energy ? conn_offered(c) : 0;
	cmd.contactor = energy && cmd.offered_a > 0 && ev_wants_energy(c);
	cmd.lock = c->has_lock &&
	           (c->phase == CONN_STARTING || c->phase == CONN_RUNNING || c->keep_locked);
	switch (c->status) {
	case CONN_FAULTED:
		cmd.led = CONN_LED_BLINK;
		break;
	case CONN_PREPARING:
	case CONN_CHARGING:
	case CONN_SUSPENDED_EV:
	case CONN_SUSPENDED_EVSE:
	case CONN_FINISHING:
		cmd.led = CONN_LED_ON;
		break;
	default:
		cmd.led = CONN_LED_OFF;
	}
	if (c->cmd_sent && memcmp(&cmd, &c->cmd, sizeof(cmd)) == 0)
		return;
	if (c->has_lock && (!c->cmd_sent || cmd.lock != c->cmd.lock) && cmd.lock != c->hw.locked)
		c->lock_wait = true;
	c->cmd = cmd;
	c->cmd_sent = true;
	c->cp->ops->hw_command(c->cp->ud, c, &cmd);
}

/* ---- sessions ----------------------------------------------------------------- */

static void
clear_session(struct conn *c)
{
	c->phase = CONN_IDLE;
	c->tag[0] = c->parent[0] = '\0';
	c->auth_reservation_id = 0;
	c->auth_purpose = NULL;
	c->auth_token = c->meter_token = 0;
	c->meter_wait = false;
	c->have_meter_start = false;
	c->deadline = 0;
	json_decref(c->profile);
	c->profile = NULL;
}

/* Ends a session that has no transaction (yet). */
static void
end_session(struct conn *c, const char *why)
{
	if (c->phase == CONN_IDLE || c->phase == CONN_RUNNING || c->phase == CONN_STOPPING)
		return;
	sg_info("%s/%d: session of idTag \"%s\" ends: %s", c->cp->id, c->id, c->tag, why);
	clear_session(c);
}

static void update(struct conn *c, int64_t now, int64_t wall);

static void
begin_auth(struct conn *c, const char *id_tag, const char *purpose, const json_t *profile)
{
	struct sg_msg_auth_request m = {0};

	c->phase = CONN_AUTHORIZING;
	snprintf(c->tag, sizeof(c->tag), "%s", id_tag);
	c->auth_purpose = purpose;
	json_decref(c->profile);
	c->profile = profile ? json_deep_copy(profile) : NULL;
	c->auth_token = new_token(c->cp);
	snprintf(m.id_tag, sizeof(m.id_tag), "%s", id_tag);
	snprintf(m.purpose, sizeof(m.purpose), "%s", purpose);
	c->cp->ops->auth_request(c->cp->ud, c, c->auth_token, &m);
}

static json_t *
timestamp_json(int64_t wall)
{
	char ts[SG_TIME_RFC3339_LEN];

	if (sg_time_format(wall, ts, sizeof(ts)) < 0)
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00.000Z");
	return json_string(ts);
}

static json_int_t
wh(double v)
{
	return v > 0 && v < 9e15 ? (json_int_t)llround(v) : 0;
}

static void
emit_tx_event(struct conn *c, const char *event, int64_t ts, double meter, const char *reason,
              json_t *profile)
{
	struct sg_msg_tx_event m = {0};

	snprintf(m.event, sizeof(m.event), "%s", event);
	m.tx_ref = c->tx.tx_ref;
	m.transaction_id = c->tx.transaction_id > 0 ? c->tx.transaction_id : 0;
	snprintf(m.id_tag, sizeof(m.id_tag), "%s", c->tx.id_tag);
	m.ts = ts;
	m.meter_wh = meter;
	snprintf(m.reason, sizeof(m.reason), "%s", reason ? reason : "");
	m.charging_profile = profile;
	c->cp->ops->tx_event(c->cp->ud, c, &m);
}

/* The transaction begins: meterStart known, the cable locked. */
static void
begin_tx(struct conn *c, int64_t now, int64_t wall)
{
	struct conn_tx tx = {0};
	json_t *start;
	int rc;

	tx.tx_ref = c->cp->ops->new_tx_ref(c->cp->ud, c);
	if (tx.tx_ref <= 0) {
		sg_err("%s/%d: no transaction reference could be stored; transaction of \"%s\" "
		       "not started",
		       c->cp->id, c->id, c->tag);
		clear_session(c);
		return;
	}
	snprintf(tx.id_tag, sizeof(tx.id_tag), "%s", c->tag);
	snprintf(tx.parent_id_tag, sizeof(tx.parent_id_tag), "%s", c->parent);
	tx.reservation_id = c->auth_reservation_id;
	tx.start_wall = wall;
	tx.meter_start = c->meter_start;
	tx.energy_wh = c->meter_start;
	tx.energy_wall = wall;

	start = json_pack("{s:i,s:s,s:I,s:o}", "connectorId", c->id, "idTag", tx.id_tag,
	                  "meterStart", wh(tx.meter_start), "timestamp", timestamp_json(wall));
	if (start && tx.reservation_id > 0)
		json_object_set_new(start, "reservationId", json_integer(tx.reservation_id));
	rc = start ? c->cp->ops->tx_open(c->cp->ud, c, &tx, start) : -ENOMEM;
	json_decref(start);
	if (rc < 0) {
		sg_err("%s/%d: transaction of \"%s\" not started: it could not be stored (%s)",
		       c->cp->id, c->id, c->tag, strerror(-rc));
		clear_session(c);
		return;
	}
	c->has_tx = true;
	c->tx = tx;
	c->tx_dirty = false;
	c->tx_saved_at = now;
	c->phase = CONN_RUNNING;
	c->deadline = 0;
	c->finishing = false;
	c->keep_locked = false;
	snprintf(c->last_tag, sizeof(c->last_tag), "%s", tx.id_tag);
	sg_notice("%s/%d: transaction %" PRId64 " started for idTag \"%s\", meterStart %.0f Wh",
	          c->cp->id, c->id, tx.tx_ref, tx.id_tag, tx.meter_start);
	emit_tx_event(c, "started", wall, tx.meter_start, NULL, c->profile);
	json_decref(c->profile);
	c->profile = NULL;
	c->tag[0] = '\0';
}

/* STARTING goes on once meterStart is known and the cable is locked. */
static void
maybe_begin(struct conn *c, int64_t now, int64_t wall)
{
	if (c->phase != CONN_STARTING || c->meter_wait)
		return;
	if (c->has_lock && (c->lock_wait || !c->hw.locked))
		return; /* a failed lock raises ConnectorLockFailure: update() ends the session */
	begin_tx(c, now, wall);
}

static void
try_start(struct conn *c, int64_t now, int64_t wall)
{
	struct sg_msg_meter_read m = {0};

	if (c->phase != CONN_AUTHORIZED || !ev_connected(c))
		return;
	c->phase = CONN_STARTING;
	c->deadline = 0;
	c->meter_wait = true;
	c->meter_token = new_token(c->cp);
	c->cp->ops->meter_read(c->cp->ud, c, c->meter_token, &m);
}

static int
stop_tx(struct conn *c, const char *reason, const char *id_tag, bool power_loss, int64_t now,
        int64_t wall)
{
	struct sg_msg_meter_read m = {0};

	if (c->phase != CONN_RUNNING)
		return -ENOENT;
	c->phase = CONN_STOPPING;
	snprintf(c->stop_reason, sizeof(c->stop_reason), "%s", reason);
	snprintf(c->stop_tag, sizeof(c->stop_tag), "%s", id_tag ? id_tag : "");
	c->stop_power_loss = power_loss;
	c->stop_wall =
	    power_loss ? (c->tx.energy_wall ? c->tx.energy_wall : c->tx.start_wall) : wall;
	c->suspended = false;
	c->finishing = occupied(c);
	/* The cable stays locked after an EV-side disconnect only when
	 * UnlockConnectorOnEVSideDisconnect is false; every other stop frees it. */
	c->keep_locked = c->has_lock && strcmp(reason, "EVDisconnected") == 0 &&
	                 !c->cp->keys.unlock_on_ev_disconnect;
	sg_notice("%s/%d: transaction %" PRId64 " (transactionId %" PRId64 ") stops: %s%s%s%s",
	          c->cp->id, c->id, c->tx.tx_ref, c->tx.transaction_id, reason,
	          c->stop_tag[0] ? " by \"" : "", c->stop_tag, c->stop_tag[0] ? "\"" : "");
	c->meter_wait = true;
	c->meter_token = new_token(c->cp);
	m.tx_ref = c->tx.tx_ref;
	m.stop = true;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	c->cp->ops->meter_read(c->cp->ud, c, c->meter_token, &m);
	return 0;
}

static void
finish_stop(struct conn *c, const struct sg_msg_meter_reading *r, int64_t now, int64_t wall)
{
	double meter_stop;
	json_t *stop;
	int rc;

	if (c->stop_power_loss)
		meter_stop = c->tx.energy_wh; /* the last value the journal holds */
	else if (r)
		meter_stop = r->energy_wh;
	else if (c->have_sample)
		meter_stop = c->sample_wh;
	else
		meter_stop = c->tx.energy_wh;
	if (!r && !c->stop_power_loss)
		sg_warn("%s/%d: the meter did not answer; meterStop of transaction %" PRId64
		        " from the last sample: %.0f Wh",
		        c->cp->id, c->id, c->tx.tx_ref, meter_stop);

	stop = json_pack("{s:I,s:I,s:o,s:s}", "transactionId",
	                 (json_int_t)(c->tx.transaction_id > 0 ? c->tx.transaction_id : 0),
	                 "meterStop", wh(meter_stop), "timestamp", timestamp_json(c->stop_wall),
	                 "reason", c->stop_reason);
	if (stop && c->stop_tag[0])
		json_object_set_new(stop, "idTag", json_string(c->stop_tag));
	if (stop && r && json_is_array(r->transaction_data) &&
	    json_array_size(r->transaction_data) > 0)
		json_object_set(stop, "transactionData", r->transaction_data);
	rc = stop ? c->cp->ops->tx_close(c->cp->ud, c, &c->tx, stop) : -ENOMEM;
	json_decref(stop);
	if (rc < 0)
		sg_err("%s/%d: StopTransaction of transaction %" PRId64
		       " could not be stored (%s); it is sent after the next restart",
		       c->cp->id, c->id, c->tx.tx_ref, strerror(-rc));
	emit_tx_event(c, "stopped", c->stop_wall, meter_stop, c->stop_reason, NULL);
	c->has_tx = false;
	memset(&c->tx, 0, sizeof(c->tx));
	c->stop_power_loss = false;
	clear_session(c);
}

/* ---- the update after every event ----------------------------------------------- */

static void
update_cp0(struct conn_cp *cp, int64_t now, int64_t wall)
{
	struct conn *c0 = &cp->conns[0];

	if (!cp->started)
		return;
	if (c0->pending >= 0) {
		bool waiting = false;
		for (int i = 1; i <= cp->n; i++)
			waiting = waiting || cp->conns[i].pending >= 0;
		if (!waiting) {
			c0->operative = c0->pending == 1;
			c0->pending = -1;
			cp->ops->save_conn(cp->ud, c0);
		}
	}
	set_status(c0, conn_derive(c0), now, wall);
	publish_state(c0, wall);
}

static void
update(struct conn *c, int64_t now, int64_t wall)
{
	if (!c->cp->started)
		return; /* inputs are recorded; conn_cp_start() acts on them */
	if (c->id == 0) {
		update_cp0(c->cp, now, wall);
		return;
	}
	if (c->pending >= 0 && !tx_busy(c)) {
		c->operative = c->pending == 1;
		c->pending = -1;
		sg_info("%s/%d: scheduled availability change applied: %s", c->cp->id, c->id,
		        c->operative ? "Operative" : "Inoperative");
		c->cp->ops->save_conn(c->cp->ud, c);
	}
	if ((c->phase == CONN_AUTHORIZING || c->phase == CONN_AUTHORIZED ||
	     c->phase == CONN_STARTING) &&
	    (faulted(c) || !in_service(c)))
		end_session(c, faulted(c) ? "the connector is faulted"
		                          : "the connector is unavailable");
	if (c->phase == CONN_STARTING && !ev_connected(c))
		end_session(c, "the EV went away before the transaction started");
	if (!occupied(c) || !in_service(c))
		c->finishing = false; /* back in service with the cable in: Preparing (H2) */
	if (occupied(c) && c->phase == CONN_IDLE && !c->finishing && in_service(c) && !faulted(c)) {
		if (c->occupied_since == 0)
			c->occupied_since = now;
	} else {
		c->occupied_since = 0;
	}
	try_start(c, now, wall);
	set_status(c, conn_derive(c), now, wall);
	drive_hw(c);
	publish_hw(c);
	publish_state(c, wall);
	update_cp0(c->cp, now, wall);
}

static void
update_all(struct conn_cp *cp, int64_t now, int64_t wall)
{
	for (int i = 1; i <= cp->n; i++)
		update(&cp->conns[i], now, wall);
	update_cp0(cp, now, wall);
}

void
conn_cp_start(struct conn_cp *cp, int64_t now, int64_t wall)
{
	/* Publishes at once: MinimumStatusDuration counts from here. */
	cp->started = true;
	cp->starting = true;
	for (int i = 1; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (c->has_tx && c->phase == CONN_RUNNING) {
			sg_warn(
			    "%s/%d: transaction %" PRId64
			    " was interrupted (power loss or restart); stopping it with the last "
			    "stored meter value, %.0f Wh",
			    cp->id, i, c->tx.tx_ref, c->tx.energy_wh);
			stop_tx(c, "PowerLoss", NULL, true, now, wall);
		}
	}
	update_all(cp, now, wall);
	cp->starting = false;
}

void
conn_cp_flush(struct conn_cp *cp, int64_t now)
{
	for (int i = 1; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (c->has_tx && c->tx_dirty) {
			cp->ops->tx_save(cp->ud, c, &c->tx);
			c->tx_dirty = false;
			c->tx_saved_at = now;
		}
	}
}

/* ---- timers -------------------------------------------------------------------- */

static int64_t
timeout_ms(const struct conn_cp *cp)
{
	int64_t s = cp->keys.connection_timeout_s;
	return (s > 0 ? s : 1) * 1000;
}

static int64_t
conn_next(const struct conn *c)
{
	int64_t next = INT64_MAX;

#define SOONER(t)                                                                                  \
	do {                                                                                       \
		if ((t) < next)                                                                    \
			next = (t);                                                                \
	} while (0)
	if (c->pub_due)
		SOONER(c->pub_due);
	if (c->phase == CONN_AUTHORIZED && c->deadline)
		SOONER(c->deadline);
	if (c->occupied_since)
		SOONER(c->occupied_since + timeout_ms(c->cp));
	if (c->has_tx && c->tx_dirty)
		SOONER(c->tx_saved_at + CONN_ENERGY_SAVE_MS);
#undef SOONER
	return next;
}

int64_t
conn_cp_next(const struct conn_cp *cp)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i <= cp->n; i++) {
		int64_t t = conn_next(&cp->conns[i]);
		if (t < next)
			next = t;
	}
	return next;
}

void
conn_cp_tick(struct conn_cp *cp, int64_t now, int64_t wall)
{
	if (!cp->started)
		return;
	for (int i = 0; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		bool changed = false;

		if (c->phase == CONN_AUTHORIZED && c->deadline && now >= c->deadline) {
			end_session(c, "no EV within ConnectionTimeOut");
			changed = true;
		}
		if (c->occupied_since && now >= c->occupied_since + timeout_ms(cp)) {
			sg_info("%s/%d: no idTag within ConnectionTimeOut of the EV's arrival",
			        cp->id, c->id);
			c->finishing = true; /* B6 */
			c->occupied_since = 0;
			changed = true;
		}
		if (c->has_tx && c->tx_dirty && now >= c->tx_saved_at + CONN_ENERGY_SAVE_MS) {
			cp->ops->tx_save(cp->ud, c, &c->tx);
			c->tx_dirty = false;
			c->tx_saved_at = now;
		}
		if (c->pub_due && now >= c->pub_due)
			publish_status(c, c->status, c->status_wall, wall);
		if (changed)
			update(c, now, wall);
	}
}

void
conn_set_keys(struct conn_cp *cp, const struct conn_keys *keys, int64_t now, int64_t wall)
{
	cp->keys = *keys;
	for (int i = 0; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (c->pub_due && min_status_ms(c) == 0)
			publish_status(c, c->status, c->status_wall, wall);
	}
	update_all(cp, now, wall);
}

/* ---- hardware events ------------------------------------------------------------ */

void
conn_hw_state(struct conn *c, const struct conn_hw_in *hw, int64_t now, int64_t wall)
{
	bool was_connected = ev_connected(c) || c->hw.ev_state == 'E' || c->hw.ev_state == 'F';

	if (c->id == 0)
		return;
	c->hw = *hw;
	if (c->fixed_cable)
		c->hw.cable = true;
	if (c->hw.ev_state < 'A' || c->hw.ev_state > 'F')
		c->hw.ev_state = 'A';
	if (was_connected && c->hw.ev_state == 'A' && c->phase == CONN_RUNNING) {
		if (c->cp->keys.stop_on_ev_disconnect)
			stop_tx(c, "EVDisconnected", NULL, false, now, wall);
		else
			sg_info("%s/%d: EV disconnected; transaction %" PRId64
			        " goes on (StopTransactionOnEVSideDisconnect is false)",
			        c->cp->id, c->id, c->tx.tx_ref);
	}
	update(c, now, wall);
}

void
conn_hw_faults(struct conn *c, uint32_t bits, int64_t now, int64_t wall)
{
	if (bits != c->hw_faults) {
		char code[33], vendor[51], info[51];
		conn_faults_describe(bits, code, sizeof(code), vendor, sizeof(vendor), info,
		                     sizeof(info));
		if (bits)
			sg_warn("%s/%d: hardware faults %s (%s)", c->cp->id, c->id, vendor, info);
		else
			sg_notice("%s/%d: hardware faults cleared", c->cp->id, c->id);
	}
	c->hw_faults = bits;
	update(c, now, wall);
}

void
conn_hw_lock(struct conn *c, bool ok, bool locked, int64_t now, int64_t wall)
{
	c->hw.locked = locked;
	c->lock_wait = false;
	if (ok) {
		c->feedback_faults &= ~BIT_LOCK;
	} else {
		if (!(c->feedback_faults & BIT_LOCK))
			sg_err("%s/%d: the cable lock did not %s: ConnectorLockFailure", c->cp->id,
			       c->id, c->cmd.lock ? "lock" : "unlock");
		c->feedback_faults |= BIT_LOCK;
	}
	if (c->unlock_wait && !c->cmd.lock) {
		c->unlock_wait = false;
		c->cp->ops->unlock_result(c->cp->ud, c, c->unlock_token,
		                          !locked ? "Unlocked" : "UnlockFailed");
	}
	maybe_begin(c, now, wall);
	update(c, now, wall);
}

void
conn_hw_contactor(struct conn *c, bool ok, int64_t now, int64_t wall)
{
	if (ok) {
		c->feedback_faults &= ~BIT_SWITCH;
	} else {
		if (!(c->feedback_faults & BIT_SWITCH))
			sg_err("%s/%d: the contactor did not %s: PowerSwitchFailure", c->cp->id,
			       c->id, c->cmd.contactor ? "close" : "open");
		c->feedback_faults |= BIT_SWITCH;
	}
	update(c, now, wall);
}

void
conn_rfid(struct conn *c, const char *id_tag, int64_t now, int64_t wall)
{
	if (c->id == 0 || !id_tag || !id_tag[0])
		return;
	sg_info("%s/%d: idTag \"%s\" presented", c->cp->id, c->id, id_tag);
	if (c->keep_locked && c->phase == CONN_IDLE && strcasecmp(id_tag, c->last_tag) == 0) {
		sg_info("%s/%d: the transaction's idTag: unlocking the cable", c->cp->id, c->id);
		c->keep_locked = false;
		update(c, now, wall);
		return;
	}
	switch (c->phase) {
	case CONN_RUNNING: {
		struct sg_msg_auth_request m = {0};
		if (c->stop_auth_token)
			return;
		c->stop_auth_token = new_token(c->cp);
		snprintf(c->stop_auth_tag, sizeof(c->stop_auth_tag), "%s", id_tag);
		snprintf(m.id_tag, sizeof(m.id_tag), "%s", id_tag);
		snprintf(m.purpose, sizeof(m.purpose), "stop");
		snprintf(m.tx_id_tag, sizeof(m.tx_id_tag), "%s", c->tx.id_tag);
		c->cp->ops->auth_request(c->cp->ud, c, c->stop_auth_token, &m);
		return;
	}
	case CONN_AUTHORIZED:
		if (strcasecmp(id_tag, c->tag) == 0) {
			end_session(c, "the idTag was presented again");
			update(c, now, wall);
		}
		return;
	case CONN_IDLE:
		if (!in_service(c) || faulted(c)) {
			sg_notice("%s/%d: idTag \"%s\" ignored: the connector is %s", c->cp->id,
			          c->id, id_tag, faulted(c) ? "faulted" : "unavailable");
			return;
		}
		begin_auth(c, id_tag, "start", NULL);
		update(c, now, wall);
		return;
	default:
		sg_info("%s/%d: idTag \"%s\" ignored: busy", c->cp->id, c->id, id_tag);
		return;
	}
}

/* ---- answers ------------------------------------------------------------------ */

/* The reservation of the connector stands against this start. */
static bool
reserved_against(const struct conn *c, const char *id_tag, const struct sg_msg_auth_result *r)
{
	const struct conn *h = reservation_of(c);

	if (!h)
		return false;
	if (strcasecmp(id_tag, h->res_tag) == 0)
		return false;
	if (r && r->reservation_id != 0 && r->reservation_id == h->res_id)
		return false;
	if (r && r->parent_id_tag[0] && h->res_parent[0] &&
	    strcasecmp(r->parent_id_tag, h->res_parent) == 0)
		return false;
	return true;
}

void
conn_auth_result(struct conn *c, uint64_t token, int status, const struct sg_msg_auth_result *r,
                 int64_t now, int64_t wall)
{
	bool accepted;

	if (token != 0 && token == c->stop_auth_token) {
		c->stop_auth_token = 0;
		accepted = status == 0 && r && strcmp(r->status, "Accepted") == 0;
		if (status < 0 && strcasecmp(c->stop_auth_tag, c->tx.id_tag) == 0) {
			sg_warn(
			    "%s/%d: no answer from auth; the idTag that started the transaction "
			    "stops it",
			    c->cp->id, c->id);
			accepted = true;
		}
		if (!accepted) {
			sg_notice("%s/%d: idTag \"%s\" may not stop transaction %" PRId64 ": %s",
			          c->cp->id, c->id, c->stop_auth_tag, c->tx.tx_ref,
			          status < 0 ? "no answer from auth"
			          : r        ? r->status
			                     : "?");
			return;
		}
		if (stop_tx(c, "Local", c->stop_auth_tag, false, now, wall) == 0)
			update(c, now, wall);
		return;
	}
	if (token == 0 || token != c->auth_token || c->phase != CONN_AUTHORIZING)
		return; /* stale: the session ended meanwhile */
	c->auth_token = 0;
	if (status < 0) {
		/* No auth service: a remote start stands (AuthorizeRemoteTxRequests
		 * defaults to false), a local one does not. */
		accepted = c->auth_purpose && strcmp(c->auth_purpose, "remote") == 0;
		sg_warn("%s/%d: no answer from auth for idTag \"%s\"; %s", c->cp->id, c->id, c->tag,
		        accepted ? "the remote start goes on" : "not starting");
	} else {
		accepted = strcmp(r->status, "Accepted") == 0;
	}
	if (accepted && reserved_against(c, c->tag, status < 0 ? NULL : r)) {
		sg_notice(
		    "%s/%d: idTag \"%s\" refused: the connector is reserved for another idTag",
		    c->cp->id, c->id, c->tag);
		accepted = false;
	}
	if (!accepted) {
		if (status == 0)
			sg_notice("%s/%d: idTag \"%s\" not accepted: %s", c->cp->id, c->id, c->tag,
			          r->status);
		clear_session(c);
		update(c, now, wall);
		return;
	}
	if (status == 0) {
		snprintf(c->parent, sizeof(c->parent), "%s", r->parent_id_tag);
		c->auth_reservation_id = r->reservation_id;
	}
	c->phase = CONN_AUTHORIZED;
	c->deadline = now + timeout_ms(c->cp);
	c->finishing = false; /* F2: a new session */
	c->occupied_since = 0;
	sg_info("%s/%d: idTag \"%s\" accepted%s", c->cp->id, c->id, c->tag,
	        ev_connected(c) ? "" : "; waiting for the EV");
	update(c, now, wall);
}

void
conn_meter_result(struct conn *c, uint64_t token, int status, const struct sg_msg_meter_reading *r,
                  int64_t now, int64_t wall)
{
	if (token == 0 || token != c->meter_token)
		return;
	c->meter_token = 0;
	c->meter_wait = false;
	if (status < 0)
		r = NULL;
	if (c->phase == CONN_STARTING) {
		if (r) {
			c->meter_start = r->energy_wh;
		} else {
			c->meter_start = c->have_sample ? c->sample_wh : 0;
			sg_warn("%s/%d: the meter did not answer; meterStart from the last sample: "
			        "%.0f Wh%s",
			        c->cp->id, c->id, c->meter_start,
			        c->have_sample ? "" : " (no sample either)");
		}
		c->have_meter_start = true;
		maybe_begin(c, now, wall);
	} else if (c->phase == CONN_STOPPING) {
		finish_stop(c, r, now, wall);
	}
	update(c, now, wall);
}

void
conn_meter_sample(struct conn *c, double energy_wh, int64_t ts, int64_t now, int64_t wall)
{
	c->have_sample = true;
	c->sample_wh = energy_wh;
	c->sample_wall = ts > 0 ? ts : wall;
	if (!c->has_tx || c->phase != CONN_RUNNING)
		return;
	c->tx.energy_wh = energy_wh;
	c->tx.energy_wall = c->sample_wall;
	c->tx_dirty = true;
	if (now >= c->tx_saved_at + CONN_ENERGY_SAVE_MS) {
		c->cp->ops->tx_save(c->cp->ud, c, &c->tx);
		c->tx_dirty = false;
		c->tx_saved_at = now;
	}
}

void
conn_tx_result(struct conn_cp *cp, int64_t tx_ref, const char *action, int64_t transaction_id,
               int64_t now, int64_t wall)
{
	if (strcmp(action, "StartTransaction") != 0)
		return;
	for (int i = 1; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (!c->has_tx || c->tx.tx_ref != tx_ref)
			continue;
		c->tx.transaction_id = transaction_id;
		sg_info("%s/%d: transaction %" PRId64 " is transactionId %" PRId64
		        " at the Central "
		        "System",
		        cp->id, i, tx_ref, transaction_id);
		cp->ops->tx_save(cp->ud, c, &c->tx);
		update(c, now, wall);
	}
}

void
conn_reservation(struct conn *c, int64_t reservation_id, const char *id_tag,
                 const char *parent_id_tag, int64_t now, int64_t wall)
{
	c->res_id = id_tag && id_tag[0] ? reservation_id : 0;
	snprintf(c->res_tag, sizeof(c->res_tag), "%s", id_tag ? id_tag : "");
	snprintf(c->res_parent, sizeof(c->res_parent), "%s", parent_id_tag ? parent_id_tag : "");
	if (c->id == 0)
		update_all(c->cp, now, wall);
	else
		update(c, now, wall);
}

void
conn_limit(struct conn *c, double limit_a, int64_t now, int64_t wall)
{
	c->have_limit = limit_a >= 0;
	c->limit_a = limit_a >= 0 ? limit_a : 0;
	update(c, now, wall);
}

void
conn_smartcharge(struct conn_cp *cp, bool online, int64_t now, int64_t wall)
{
	cp->smartcharge_seen = true;
	cp->smartcharge_online = online;
	update_all(cp, now, wall);
}

int
conn_control(struct conn *c, const char *action, const char *reason, int64_t tx_ref, char *why,
             size_t why_len, int64_t now, int64_t wall)
{
	bool is_stop = strcmp(action, "stop") == 0;

	if (!is_stop && strcmp(action, "suspend") != 0 && strcmp(action, "resume") != 0) {
		snprintf(why, why_len, "unknown action \"%s\"", action);
		return -EINVAL;
	}
	if (c->phase != CONN_RUNNING || (tx_ref != 0 && tx_ref != c->tx.tx_ref)) {
		snprintf(why, why_len, "no such transaction running");
		return -ENOENT;
	}
	if (is_stop) {
		const char *r = reason && reason[0] ? reason : "Other";
		if (!conn_reason_valid(r)) {
			snprintf(why, why_len, "\"%s\" is not a StopTransaction reason", r);
			return -EINVAL;
		}
		stop_tx(c, r, NULL, false, now, wall);
	} else {
		c->suspended = action[0] == 's';
		sg_info("%s/%d: charging %s", c->cp->id, c->id,
		        c->suspended ? "suspended" : "resumed");
	}
	update(c, now, wall);
	return 0;
}

/* ---- Central System calls -------------------------------------------------------- */

/* May a new session start here? */
static bool
startable(const struct conn *c)
{
	return c->id >= 1 && in_service(c) && c->pending != 0 && !faulted(c) &&
	       c->phase == CONN_IDLE;
}

static struct conn *
choose_connector(struct conn_cp *cp, const char *id_tag)
{
	/* 1. an EV waiting for authorization, 2. one reserved for this idTag,
	 * 3. a free one */
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 1; i <= cp->n; i++) {
			struct conn *c = &cp->conns[i];
			const struct conn *h = reservation_of(c);
			if (!startable(c))
				continue;
			if (pass == 0 && occupied(c))
				return c;
			if (pass == 1 && h && strcasecmp(h->res_tag, id_tag) == 0 && !occupied(c))
				return c;
			if (pass == 2 && !h && !occupied(c))
				return c;
		}
	}
	return NULL;
}

const char *
conn_remote_start(struct conn_cp *cp, int connector_id, const char *id_tag, const json_t *profile,
                  int64_t now, int64_t wall)
{
	struct conn *c;

	if (profile) {
		const char *purpose =
		    json_string_value(json_object_get(profile, "chargingProfilePurpose"));
		if (!purpose || strcmp(purpose, "TxProfile") != 0) {
			sg_notice(
			    "%s: RemoteStartTransaction rejected: its chargingProfile is not a "
			    "TxProfile",
			    cp->id);
			return "Rejected";
		}
	}
	if (connector_id > 0) {
		c = connector_id <= cp->n ? &cp->conns[connector_id] : NULL;
		if (!c || !startable(c)) {
			sg_notice("%s: RemoteStartTransaction on connector %d rejected: %s", cp->id,
			          connector_id, c ? "not free" : "no such connector");
			return "Rejected";
		}
	} else {
		c = choose_connector(cp, id_tag);
		if (!c) {
			sg_notice("%s: RemoteStartTransaction rejected: no free connector", cp->id);
			return "Rejected";
		}
	}
	sg_info("%s/%d: remote start for idTag \"%s\"", cp->id, c->id, id_tag);
	begin_auth(c, id_tag, "remote", profile);
	update(c, now, wall);
	return "Accepted";
}

const char *
conn_remote_stop(struct conn_cp *cp, int64_t transaction_id, int64_t now, int64_t wall)
{
	for (int i = 1; transaction_id > 0 && i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (c->phase == CONN_RUNNING && c->tx.transaction_id == transaction_id) {
			stop_tx(c, "Remote", NULL, false, now, wall);
			update(c, now, wall);
			return "Accepted";
		}
	}
	sg_notice("%s: RemoteStopTransaction of unknown transactionId %" PRId64 " rejected", cp->id,
	          transaction_id);
	return "Rejected";
}

const char *
conn_unlock(struct conn_cp *cp, int connector_id, uint64_t token, int64_t now, int64_t wall)
{
	struct conn *c = connector_id >= 1 ? conn_get(cp, connector_id) : NULL;

	if (!c || c->fixed_cable || !c->has_lock)
		return "NotSupported";
	if (c->phase == CONN_RUNNING)
		stop_tx(c, "UnlockCommand", NULL, false, now, wall);
	else
		end_session(c, "UnlockConnector");
	c->keep_locked = false;
	c->cmd_sent = c->cmd_sent && !c->hw.locked; /* a lock still engaged is commanded again */
	update(c, now, wall);
	if (!c->lock_wait)
		return c->hw.locked ? "UnlockFailed" : "Unlocked";
	if (c->unlock_wait)
		cp->ops->unlock_result(cp->ud, c, c->unlock_token, "UnlockFailed"); /* superseded */
	c->unlock_wait = true;
	c->unlock_token = token;
	return NULL;
}

const char *
conn_change_availability(struct conn_cp *cp, int connector_id, bool operative, int64_t now,
                         int64_t wall)
{
	bool scheduled = false;
	int first = connector_id, last = connector_id;

	if (connector_id < 0 || connector_id > cp->n)
		return "Rejected";
	if (connector_id == 0) {
		first = 1; /* connector 0: the charge point and every connector */
		last = cp->n;
	}
	for (int i = first; i <= last; i++) {
		struct conn *c = &cp->conns[i];
		if (tx_busy(c) && !operative) {
			c->pending = 0;
			scheduled = true;
		} else {
			c->operative = operative;
			c->pending = -1;
			if (!operative)
				end_session(c, "ChangeAvailability Inoperative");
		}
		cp->ops->save_conn(cp->ud, c);
	}
	if (connector_id == 0) {
		struct conn *c0 = &cp->conns[0];
		if (scheduled) {
			c0->pending = operative ? 1 : 0;
		} else {
			c0->operative = operative;
			c0->pending = -1;
		}
		cp->ops->save_conn(cp->ud, c0);
	}
	sg_info("%s: ChangeAvailability of connector %d to %s: %s", cp->id, connector_id,
	        operative ? "Operative" : "Inoperative", scheduled ? "Scheduled" : "Accepted");
	update_all(cp, now, wall);
	return scheduled ? "Scheduled" : "Accepted";
}

/* ---- Reset and firmware installation ------------------------------------------------ */

int
conn_cp_reset(struct conn_cp *cp, bool hard, int64_t now, int64_t wall)
{
	int stopped = 0;

	for (int i = 1; i <= cp->n; i++) {
		struct conn *c = &cp->conns[i];
		if (c->phase == CONN_RUNNING) {
			stop_tx(c, hard ? "HardReset" : "SoftReset", NULL, false, now, wall);
			stopped++;
		} else {
			end_session(c, hard ? "Reset Hard" : "Reset Soft");
		}
		update(c, now, wall);
	}
	sg_notice("%s: Reset %s: %d transaction(s) stopped", cp->id, hard ? "Hard" : "Soft",
	          stopped);
	return stopped;
}

bool
conn_cp_stopping(const struct conn_cp *cp)
{
	for (int i = 1; i <= cp->n; i++)
		if (cp->conns[i].phase == CONN_STOPPING)
			return true;
	return false;
}

void
conn_cp_installing(struct conn_cp *cp, bool installing, int64_t now, int64_t wall)
{
	if (installing == cp->installing)
		return;
	cp->installing = installing;
	sg_notice("%s: firmware installation %s", cp->id,
	          installing ? "due: no new transactions, Unavailable once free"
	                     : "over: back to the availability the Central System set");
	if (installing)
		for (int i = 1; i <= cp->n; i++)
			end_session(&cp->conns[i], "a firmware installation is due");
	update_all(cp, now, wall);
}
