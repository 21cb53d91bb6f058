/* The decisions of sitegate-smartcharge: the charge points and connectors of the gateway,
 * their transactions and charging profiles, the Central System's smart charging calls and
 * the limit every connector may offer. Pure: no bus, no database, no clock (times come in
 * as Unix ms); smartcharge_io.c feeds it and carries out what it decides.
 *
 * A connector's limit is its OCPP limit (schedule.h: the profiles and its rated current
 * now) shared with every other connector of the site (share.h). Charge points are the
 * sharing's groups: their ChargePointMaxProfile bounds what their connectors offer
 * together. */
#ifndef SC_SMARTCHARGE_H
#define SC_SMARTCHARGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sitegate/config.h"

#include "profiles.h"
#include "schedule.h"
#include "share.h"

#define SC_SOURCE_MAX 64 /* conn_limit.source */
/* GetCompositeSchedule answers with at most this many periods; a longer composite is
 * cut short and its duration says where it ends. */
#define SC_COMPOSITE_MAX_PERIODS 1024

struct sc_conn {
	int id;
	double rated_a;
	int phases;
	/* The transaction. */
	bool tx;
	int64_t tx_ref, transaction_id, tx_start;
	bool tx_restored; /* from the database, not yet confirmed by the bus */
	/* Hardware and meter. */
	bool hw_seen, plugged;
	double drawn_a; /* < 0: unknown */
	int64_t drawn_ts;
	/* The OCPP limit in effect (profiles and rated current) and until when at most. */
	struct sc_value ocpp;
	char ocpp_source[SC_SOURCE_MAX + 1];
	/* The limit to offer and why. */
	double limit_a;
	char source[SC_SOURCE_MAX + 1];
	/* What the bus has: set by the I/O side once published. */
	bool published;
	double published_a;
	char published_source[SC_SOURCE_MAX + 1];
	double published_ocpp_a;
	size_t share_index;
};

struct sc_cp {
	const struct sg_cp_conf *conf;
	const char *id;
	int n_conns;
	struct sc_conn conns[SG_MAX_CONNECTORS]; /* conns[i] is connector i + 1 */
	struct sc_profile_set profiles;
	struct sc_rules rules;
	int phases; /* the most phases any connector has */
	struct sc_value cp_max;
	bool has_cp_max;
	int64_t ocpp_at, ocpp_until; /* the OCPP limits hold from .. until (a clock set back
	                              * to before ocpp_at recomputes them) */
	bool stale; /* profiles or transactions changed: recompute the OCPP limits */
	bool dirty; /* profiles or transactions changed since the last save */
	size_t group;
};

struct sc_core {
	struct sc_cp *cps;
	int n_cps;
	double voltage;
	struct sc_share share;
	struct sc_share_conn *share_conns;
	struct sc_share_group *groups;
};

/* One charge point and connector per configured one; rules at the keys' defaults until
 * the caller sets cp->rules. Returns 0 or -ENOMEM. */
int sc_core_init(struct sc_core *core, const struct sg_config *conf,
                 const struct sc_share_params *par);
void sc_core_fini(struct sc_core *core);

struct sc_cp *sc_core_cp(struct sc_core *core, const char *id);
/* Connector n (1..) of cp, or NULL. */
struct sc_conn *sc_core_conn(struct sc_cp *cp, int n);

/* A Central System call: SetChargingProfile, ClearChargingProfile or GetCompositeSchedule.
 * Returns the response payload (a new reference; NULL: not ours, or ENOMEM). A change of
 * profiles sets cp->dirty: store them before answering. */
json_t *sc_core_call(struct sc_core *core, struct sc_cp *cp, const char *action, json_t *payload,
                     int64_t now);

/* Transactions. profile: RemoteStartTransaction's chargingProfile (NULL: none), installed
 * as the transaction's TxProfile. */
void sc_core_tx_started(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref,
                        int64_t transaction_id, int64_t ts, json_t *profile, int64_t now);
void sc_core_tx_stopped(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref);
/* The Central System's transactionId of the transaction tx_ref became known. */
void sc_core_tx_id(struct sc_core *core, struct sc_cp *cp, int64_t tx_ref, int64_t transaction_id);
/* conn_state: an Available connector has no transaction (one restored from the database
 * ended while we were away); a transaction_id fills in an unknown one. */
void sc_core_conn_state(struct sc_core *core, struct sc_cp *cp, int conn, const char *status,
                        int64_t transaction_id);
void sc_core_hw(struct sc_core *core, struct sc_cp *cp, int conn, bool plugged);
void sc_core_meter(struct sc_core *core, struct sc_cp *cp, int conn, double drawn_a, int64_t ts);

/* Restoring from the database: a profile (checked as on arrival, except the rules of the
 * moment) and a running transaction. Return 0 or -EINVAL. */
int sc_core_restore_profile(struct sc_core *core, struct sc_cp *cp, int connector, json_t *json);
int sc_core_restore_tx(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref,
                       int64_t transaction_id, int64_t started);
/* After restoring: TxProfiles without their transaction go. */
void sc_core_restored(struct sc_core *core);

/* Recomputes every connector's limit at now. Returns when to run again at the latest
 * (a period boundary, a turn of the sharing, a reading that settles): SC_NEVER for none. */
int64_t sc_core_update(struct sc_core *core, int64_t now);

/* The invariants of share.h plus: every connector's limit is within its OCPP limit.
 * Returns 0 or -EINVAL with why. */
int sc_core_check(const struct sc_core *core, char *why, size_t why_len);

/* Whether connector c counts as active for the sharing. */
bool sc_conn_active(const struct sc_conn *c);

#endif
