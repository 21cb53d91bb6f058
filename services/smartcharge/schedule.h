/* Composite schedules (OCPP 1.6 section 3.13.4, GetCompositeSchedule 5.7): what the
 * charging profiles of a charge point allow on one connector at each instant. Pure: time
 * comes in as arguments (Unix ms), nothing is read or written.
 *
 * The rules, per instant t:
 *   - a profile counts when validFrom <= t < validTo and its schedule covers t: from its
 *     start (startSchedule; for Relative profiles, and Absolute ones without a
 *     startSchedule, the start of the transaction, or `anchor` when there is none; for
 *     Recurring ones the latest recurrence, daily or weekly in UTC, that began at or before
 *     t, also before the first startSchedule) to the end of `duration` (absent: no end; a
 *     recurrence ends at the next one at the latest). Before its first period begins, and
 *     after its duration, a schedule covers nothing: lower stack levels show through;
 *   - per purpose the profile with the highest stackLevel wins; a TxDefaultProfile on the
 *     connector beats one of the same stackLevel on connector 0;
 *   - a TxProfile (which exists only while its transaction runs) overrides the
 *     TxDefaultProfiles; where no TxProfile covers t, the TxDefaultProfiles apply;
 *   - the connector's limit is the lowest of the ChargePointMaxProfile's, the
 *     Tx/TxDefault one and the connector's rated current (a local limit: it fills the gaps
 *     where no profile applies). Connector 0: the lowest of the ChargePointMaxProfile and
 *     the sum of every connector's Tx/TxDefault-or-rated limit.
 *
 * Limits are compared as current per phase: a W limit is W / (voltage * phases) where
 * phases is the period's numberPhases (3 when absent) bounded by the phases the connector
 * (connector 0: the charge point) has. Converting back to W uses the same phases, so a
 * W schedule round-trips exactly. */
#ifndef SC_SCHEDULE_H
#define SC_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiles.h"

#define SC_NEVER INT64_MAX

#define SC_DAY_MS  (86400LL * 1000)
#define SC_WEEK_MS (7 * SC_DAY_MS)

/* What a connector looks like to the schedule. */
struct sc_conn_ctx {
	double rated_a; /* rated current per phase */
	int phases;     /* phases wired, 1..3 */
	bool tx;        /* a transaction runs */
	int64_t tx_start;
	int64_t transaction_id; /* 0 while unknown */
};

/* A charge point: its profiles and connectors (conns[i] is connector i + 1). */
struct sc_cp_ctx {
	double voltage;
	int phases; /* the charge point's phases: the most any connector has */
	const struct sc_profile_set *profiles;
	const struct sc_conn_ctx *conns;
	int n_conns;
};

/* A limit and where it comes from. */
struct sc_value {
	double limit_a;                   /* A per phase */
	int phases;                       /* the phases the limit counts, for conversion to W */
	const struct sc_profile *profile; /* the profile setting it; NULL: the rated current */
};

/* One period of a composite: from `start` until the next slot's start. */
struct sc_slot {
	int64_t start;
	struct sc_value v;
};

/* The limit on connector conn (0: the charge point) at t, and the next instant > t at which
 * it may change (SC_NEVER: none). anchor: where Relative schedules start on a connector
 * without a transaction. Returns 0, or -EINVAL for a connector it does not have. */
int sc_limit_at(const struct sc_cp_ctx *cp, int conn, int64_t t, int64_t anchor,
                struct sc_value *out, int64_t *next);

/* The ChargePointMaxProfile alone at t: false when none applies. *next as above. */
bool sc_cp_max_at(const struct sc_cp_ctx *cp, int64_t t, int64_t anchor, struct sc_value *out,
                  int64_t *next);

/* The composite of connector conn over [from, to) with Relative schedules of a connector
 * without a transaction anchored at `from`: slots in time order, neighbours with the same
 * limit merged, at most max of them. *end is `to`, or where the composite stops when more
 * slots would be needed. Returns the number of slots, or -EINVAL. */
int sc_composite(const struct sc_cp_ctx *cp, int conn, int64_t from, int64_t to,
                 struct sc_slot *out, size_t max, int64_t *end);

/* A limit in unit: A per phase as it is, W = A * voltage * phases; rounded to 0.1. */
double sc_value_in(const struct sc_value *v, enum sc_unit unit, double voltage);

/* GetCompositeSchedule.conf's chargingSchedule for slots over [from, to): startSchedule
 * `from`, startPeriod in whole seconds from it, limits in unit rounded to 0.1 and
 * neighbours that became equal merged, numberPhases on each period. New reference, or
 * NULL on ENOMEM. */
json_t *sc_schedule_json(const struct sc_slot *slots, size_t n, int64_t from, int64_t to,
                         enum sc_unit unit, double voltage);

/* "TxProfile #12", "ChargePointMaxProfile #3" or "connector rating". */
void sc_value_source(const struct sc_value *v, char *buf, size_t len);

#endif
