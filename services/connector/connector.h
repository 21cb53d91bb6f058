/* The connector service's decisions: one OCPP 1.6 status machine per
 * connector (and connector 0 for the charge point), transactions, availability,
 * reservations, locks and contactors. Pure logic: no bus, no SQLite, no GPIO,
 * no clock reads. Time comes in as arguments (now: monotonic ms, wall: Unix
 * ms); everything the logic wants done in the world goes out through struct
 * conn_ops, which connector_io.c implements with the bus, the journal and the
 * hardware drivers, and the unit tests with recorders.
 *
 * Status
 *   The status is derived from the inputs after every event (see
 *   conn_derive()): faults, the transaction, availability, the Finishing latch,
 *   the cable and the session, the reservation. A change to a status the
 *   OCPP 1.6 table (section 4.9) does not allow from the current one goes
 *   through one intermediate status the table allows both ways (Finishing ->
 *   Charging becomes Finishing -> Preparing -> Charging), so the machine never
 *   takes a forbidden transition.
 *
 *   MinimumStatusDuration: a new status is published (retained conn_state,
 *   which the bridge turns into StatusNotification) once it has held for that
 *   many seconds; a status that reverts earlier is never published. If the
 *   next status could not follow the published one directly, the one in
 *   between is published at once, so the published sequence obeys the table
 *   too.
 *
 * Transactions
 *   An accepted idTag (auth_request purpose "start" or "remote") and a
 *   connected EV (pilot state B, C or D) meet in either order. Tag first, the
 *   wait for the EV ends after ConnectionTimeOut (B1, back to Available); EV
 *   first, an idTag not presented within ConnectionTimeOut ends the session in
 *   Finishing (B6). Starting locks the socket's cable (if it has a lock), asks
 *   the meter for meterStart (CONN_METER_TIMEOUT_MS, else the last meter
 *   sample), takes a new tx_ref, and hands the transaction and its
 *   StartTransaction to the journal in one step (ops->tx_open). Stopping reads
 *   meterStop and transactionData from the meter (with stop: true) and hands
 *   the StopTransaction to the journal (ops->tx_close) in one step. */
#ifndef CONNECTOR_H
#define CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sitegate/config.h"
#include "sitegate/msg.h"

#define CONN_METER_TIMEOUT_MS 2000  /* meter_read: then the last meter sample */
#define CONN_AUTH_TIMEOUT_MS  40000 /* auth_request: auth may ask the CSMS (30 s) */
#define CONN_ENERGY_SAVE_MS   5000  /* at most one journal write of the energy per tx in this */

enum conn_status {
	CONN_AVAILABLE,
	CONN_PREPARING,
	CONN_CHARGING,
	CONN_SUSPENDED_EV,
	CONN_SUSPENDED_EVSE,
	CONN_FINISHING,
	CONN_RESERVED,
	CONN_UNAVAILABLE,
	CONN_FAULTED,
	CONN_STATUS__COUNT
};

/* "Available", ... as OCPP spells them; NULL when out of range. */
const char *conn_status_name(enum conn_status st);
/* Returns 0 and *out, or -EINVAL. */
int conn_status_parse(const char *name, enum conn_status *out);
/* The transition table of OCPP 1.6 section 4.9 (53 transitions). */
bool conn_transition_allowed(enum conn_status from, enum conn_status to);
/* The status to pass through when from -> to is not allowed: one allowed both
 * ways (Preparing, Finishing or Available, in that order of preference);
 * to itself when the transition is allowed or from == to. */
enum conn_status conn_transition_via(enum conn_status from, enum conn_status to);

/* Hardware faults. Each ChargePointErrorCode has one bit; several faults at
 * once are reported as the hex sum of their bits in vendorErrorCode (the bit
 * numbers of the vendor note, seed 003 section 3.6, where it defines one:
 * 0x2 pilot -12 V, 0x100 flash/internal, 0x4000 pilot error, 0x8000 relay
 * check, 0x10000 leakage self-test). */
struct conn_fault_def {
	const char *error_code; /* ChargePointErrorCode */
	uint32_t bit;
	bool critical; /* the connector cannot deliver energy: Faulted */
	const char *what;
};
extern const struct conn_fault_def conn_faults[];
extern const size_t conn_n_faults;
/* The bit of a ChargePointErrorCode (case-insensitive), 0 when unknown or NoError. */
uint32_t conn_fault_bit(const char *error_code);
bool conn_faults_critical(uint32_t bits);
/* error_code: the most important fault's code ("NoError" when none);
 * vendor: "" or "0x<hex sum>"; info: "" or the codes joined by '+' (cut to fit). */
void conn_faults_describe(uint32_t bits, char *error_code, size_t code_len, char *vendor,
                          size_t vendor_len, char *info, size_t info_len);

/* StopTransaction reasons of OCPP 1.6 (Reason enumeration). */
bool conn_reason_valid(const char *reason);

/* What the hardware driver reports. */
struct conn_hw_in {
	bool cable;     /* a cable is in the socket (fixed cable: always true) */
	char ev_state;  /* IEC 61851 control pilot state 'A'..'F' */
	bool contactor; /* the contactor is closed (feedback, or as commanded) */
	bool locked;    /* the cable lock is engaged */
};

/* What the logic wants the hardware to do. */
enum conn_indicator { CONN_LED_OFF, CONN_LED_ON, CONN_LED_BLINK };
struct conn_hw_cmd {
	bool contactor;
	bool lock;
	double offered_a; /* pilot PWM: 0 = no energy offered */
	enum conn_indicator led;
};

/* The configuration keys the logic follows, per charge point. */
struct conn_keys {
	int64_t connection_timeout_s;
	int64_t min_status_duration_s;
	bool stop_on_ev_disconnect;
	bool unlock_on_ev_disconnect;
};

struct conn_tx {
	int64_t tx_ref; /* ours: unique per charge point, never reused */
	int64_t
	    transaction_id; /* the Central System's; 0 until StartTransaction.conf, -1 dropped */
	char id_tag[21];
	char parent_id_tag[21];
	int64_t reservation_id;
	int64_t start_wall; /* Unix ms */
	double meter_start; /* Wh */
	double energy_wh;   /* the latest meter reading, Wh */
	int64_t energy_wall;
};

enum conn_phase {
	CONN_IDLE,        /* no session */
	CONN_AUTHORIZING, /* auth_request for a start in flight */
	CONN_AUTHORIZED,  /* idTag accepted, waiting for the EV (ConnectionTimeOut) */
	CONN_STARTING,    /* locking and reading meterStart */
	CONN_RUNNING,     /* the transaction is open */
	CONN_STOPPING,    /* reading meterStop; the transaction has ended for the status */
};

struct conn_cp;

struct conn {
	struct conn_cp *cp;
	int id; /* 0: the charge point */
	bool fixed_cable;
	bool has_lock;
	double max_current_a;
	int phases;

	/* hardware */
	struct conn_hw_in hw;
	uint32_t hw_faults;       /* reported by the driver (injected, detected) */
	uint32_t feedback_faults; /* ConnectorLockFailure / PowerSwitchFailure from feedbacks */
	struct conn_hw_cmd cmd;   /* as last commanded */
	bool cmd_sent;
	bool lock_wait;         /* a lock command waits for its feedback */
	int64_t occupied_since; /* mono ms the EV/cable arrived without a session, 0: n/a */

	/* availability: operative now, and a change scheduled after the transaction */
	bool operative;
	int pending; /* -1 none, 0 Inoperative, 1 Operative */

	/* reservation (retained `reservation` of this connector) */
	int64_t res_id;
	char res_tag[21];
	char res_parent[21];

	/* current offered */
	bool have_limit;
	double limit_a;
	bool suspended; /* conn_control suspend */

	/* meter samples */
	bool have_sample;
	double sample_wh;
	int64_t sample_wall;

	/* session */
	enum conn_phase phase;
	char tag[21];
	char parent[21];
	int64_t auth_reservation_id;
	const char *auth_purpose; /* "start" or "remote" */
	json_t *profile;          /* RemoteStartTransaction.chargingProfile, owned */
	uint64_t auth_token, meter_token, stop_auth_token;
	char stop_auth_tag[21];
	int64_t deadline; /* mono ms: ConnectionTimeOut of the session, 0: none */
	bool meter_wait;
	bool have_meter_start;
	double meter_start;
	bool finishing;    /* Finishing latch: session over, the cable still in */
	bool keep_locked;  /* stopped by EVDisconnected without UnlockConnectorOnEVSideDisconnect */
	char last_tag[21]; /* idTag of the last transaction (unlocks a kept lock) */

	/* the transaction */
	bool has_tx;
	struct conn_tx tx;
	bool tx_dirty;       /* energy not yet in the journal */
	int64_t tx_saved_at; /* mono ms of the last journal write */
	char stop_reason[16];
	char stop_tag[21];
	int64_t stop_wall;
	bool stop_power_loss; /* meterStop is the journal's last energy */

	/* UnlockConnector waiting for the lock feedback */
	bool unlock_wait;
	uint64_t unlock_token;

	/* status */
	enum conn_status status; /* internal, always reached by allowed transitions */
	int64_t status_wall;     /* when it changed */
	enum conn_status pub;    /* published */
	int64_t pub_wall;
	bool pub_known;                      /* a status was published (or restored) */
	int64_t pub_due;                     /* mono ms to publish status, 0: nothing pending */
	struct sg_msg_conn_state last_state; /* as last published */
	bool state_sent;
	struct sg_msg_conn_hw last_hw;
	bool hw_sent;
};

/* The effects. Every callback is required; ud is conn_cp.ud. */
struct conn_ops {
	void (*publish_state)(void *ud, struct conn *c, const struct sg_msg_conn_state *m);
	void (*publish_hw)(void *ud, struct conn *c, const struct sg_msg_conn_hw *m);
	/* A tx_event; profile (borrowed, may be NULL) is its charging_profile. */
	void (*tx_event)(void *ud, struct conn *c, const struct sg_msg_tx_event *m);
	/* Requests; the answer comes back through conn_auth_result() /
	 * conn_meter_result() with the same token, exactly once (also on failure). */
	void (*auth_request)(void *ud, struct conn *c, uint64_t token,
	                     const struct sg_msg_auth_request *m);
	void (*meter_read)(void *ud, struct conn *c, uint64_t token,
	                   const struct sg_msg_meter_read *m);
	void (*hw_command)(void *ud, struct conn *c, const struct conn_hw_cmd *cmd);
	/* A fresh tx_ref (> 0), stored before it is returned; <= 0 on failure. */
	int64_t (*new_tx_ref)(void *ud, struct conn *c);
	/* Stores the open transaction and queues its StartTransaction (borrowed) in
	 * one durable step. Returns 0 or a negative errno (the start is abandoned). */
	int (*tx_open)(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *start);
	/* Stores the transaction's energy and transactionId. */
	void (*tx_save)(void *ud, struct conn *c, const struct conn_tx *tx);
	/* Forgets the transaction and queues its StopTransaction in one durable step. */
	int (*tx_close)(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *stop);
	/* Stores operative, pending and the published status. */
	void (*save_conn)(void *ud, struct conn *c);
	/* The answer to a conn_unlock() that returned NULL. */
	void (*unlock_result)(void *ud, struct conn *c, uint64_t token, const char *status);
};

struct conn_cp {
	char id[64];
	int n; /* connectors 1..n; conns[0] is the charge point */
	struct conn conns[SG_MAX_CONNECTORS + 1];
	struct conn_keys keys;
	bool smartcharge_seen, smartcharge_online;
	const struct conn_ops *ops;
	void *ud;
	uint64_t next_token;
	bool installing; /* fw_install: a firmware installation is due */
	bool started;    /* conn_cp_start() ran: events act, state is published */
	bool starting;   /* within conn_cp_start(): publish without MinimumStatusDuration */
};

/* Sets up the charge point from its configuration; nothing is published
 * before conn_cp_start(). */
void conn_cp_init(struct conn_cp *cp, const struct sg_cp_conf *conf, const struct conn_ops *ops,
                  void *ud, const struct conn_keys *keys);
/* Releases what the connectors hold (charging profiles). Accepts NULL. */
void conn_cp_fini(struct conn_cp *cp);
struct conn *conn_get(struct conn_cp *cp, int id); /* NULL when out of range */

/* Restores, before conn_cp_start(): availability and the last published
 * status; an open transaction of the journal (interrupted by a restart). */
void conn_restore(struct conn *c, bool operative, int pending, const char *published_status);
void conn_restore_tx(struct conn *c, const struct conn_tx *tx);
/* Starts: stops every restored transaction with reason PowerLoss and its last
 * stored energy as meterStop, then publishes every connector's state. */
void conn_cp_start(struct conn_cp *cp, int64_t now, int64_t wall);
/* Writes what is not yet in the journal (the latest energy). */
void conn_cp_flush(struct conn_cp *cp, int64_t now);

/* Timers: the earliest mono ms at which conn_cp_tick() has work, INT64_MAX: none. */
int64_t conn_cp_next(const struct conn_cp *cp);
void conn_cp_tick(struct conn_cp *cp, int64_t now, int64_t wall);

void conn_set_keys(struct conn_cp *cp, const struct conn_keys *keys, int64_t now, int64_t wall);

/* ---- events ---------------------------------------------------------------- */

void conn_hw_state(struct conn *c, const struct conn_hw_in *hw, int64_t now, int64_t wall);
void conn_hw_faults(struct conn *c, uint32_t bits, int64_t now, int64_t wall);
/* The lock (contactor) feedback followed the command (ok) or did not in time. */
void conn_hw_lock(struct conn *c, bool ok, bool locked, int64_t now, int64_t wall);
void conn_hw_contactor(struct conn *c, bool ok, int64_t now, int64_t wall);
void conn_rfid(struct conn *c, const char *id_tag, int64_t now, int64_t wall);

/* status < 0: no answer (-ETIMEDOUT); r is NULL then. */
void conn_auth_result(struct conn *c, uint64_t token, int status,
                      const struct sg_msg_auth_result *r, int64_t now, int64_t wall);
void conn_meter_result(struct conn *c, uint64_t token, int status,
                       const struct sg_msg_meter_reading *r, int64_t now, int64_t wall);
void conn_meter_sample(struct conn *c, double energy_wh, int64_t ts, int64_t now, int64_t wall);
/* ocpp_tx_result of our transaction messages. */
void conn_tx_result(struct conn_cp *cp, int64_t tx_ref, const char *action, int64_t transaction_id,
                    int64_t now, int64_t wall);
void conn_reservation(struct conn *c, int64_t reservation_id, const char *id_tag,
                      const char *parent_id_tag, int64_t now, int64_t wall);
/* limit_a < 0: no limit (message gone). */
void conn_limit(struct conn *c, double limit_a, int64_t now, int64_t wall);
void conn_smartcharge(struct conn_cp *cp, bool online, int64_t now, int64_t wall);

/* conn_control: "stop" (reason), "suspend", "resume"; tx_ref 0 = any. Returns 0, or
 * -ENOENT / -EINVAL with the reason in why. */
int conn_control(struct conn *c, const char *action, const char *reason, int64_t tx_ref, char *why,
                 size_t why_len, int64_t now, int64_t wall);

/* ---- Central System calls (answers as OCPP status strings) ------------------ */

/* connector_id 0: choose one. profile is borrowed. */
const char *conn_remote_start(struct conn_cp *cp, int connector_id, const char *id_tag,
                              const json_t *profile, int64_t now, int64_t wall);
const char *conn_remote_stop(struct conn_cp *cp, int64_t transaction_id, int64_t now, int64_t wall);
/* NULL: answered later through ops->unlock_result with token. */
const char *conn_unlock(struct conn_cp *cp, int connector_id, uint64_t token, int64_t now,
                        int64_t wall);
const char *conn_change_availability(struct conn_cp *cp, int connector_id, bool operative,
                                     int64_t now, int64_t wall);

/* cp_reset: stops every transaction with reason HardReset or SoftReset and
 * ends the sessions; returns the transactions stopped. Their StopTransactions
 * are handed to the journal once the meter answered: conn_cp_stopping() says
 * whether that is still under way. */
int conn_cp_reset(struct conn_cp *cp, bool hard, int64_t now, int64_t wall);
bool conn_cp_stopping(const struct conn_cp *cp);
/* fw_install: while a firmware installation is due, no new session starts and
 * every connector (0 included) is Unavailable once it has no transaction; the
 * availability the Central System set returns afterwards. */
void conn_cp_installing(struct conn_cp *cp, bool installing, int64_t now, int64_t wall);

/* ---- views (tests, logs) ---------------------------------------------------- */

/* What the inputs say the status should be now. */
enum conn_status conn_derive(const struct conn *c);
double conn_offered(const struct conn *c);

#endif
