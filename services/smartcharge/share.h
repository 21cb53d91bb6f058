/* Site load sharing: the current every connector of the gateway may offer, from the site's
 * capacity (grid_limit_a - reserve_a, A per phase), each connector's OCPP limit and what
 * the cars actually draw. Pure: time comes in as arguments (Unix ms).
 *
 * Invariants, after every sc_share_run() (sc_share_check() verifies them; debug builds
 * assert them):
 *   I1 the OCPP limits hold: 0 <= limit_a <= cap_a on every connector;
 *   I2 the site limit holds: the limits of the active connectors sum to at most the
 *      capacity; the limits of each group's (charge point's) active connectors to at most
 *      the group's cap (its ChargePointMaxProfile);
 *   I3 an active connector gets 0 (paused) or at least min_a: never a current an EV
 *      cannot charge with.
 *
 * How:
 *   - active = a transaction with the EV plugged in. Each active connector whose cap_a
 *     reaches min_a either runs or waits (paused, 0 A). As many run as min_a each fits
 *     into the site and their groups; when not all fit, they take turns: one that waited
 *     rotate_ms replaces one that ran rotate_ms (the one that ran longest), newcomers
 *     wait for a free place or their turn;
 *   - running connectors share by progressive filling (max-min fairness) between min_a
 *     and their demand, then any capacity left up to their cap_a;
 *   - demand: cap_a, unless the meter shows the car drawing clearly less than offered
 *     (settle_ms after the offer last changed, a reading at most stale_ms old): then what
 *     it draws plus headroom_a (at least min_a). A car drawing within margin_a of its
 *     offer may want more: its demand is cap_a again. So capacity a car leaves unused goes
 *     to the others within seconds, and comes back when it draws again;
 *   - an idle connector (no transaction) gets what it could start with: its cap_a bounded
 *     by the capacity the active ones leave (whole amperes), or 0 when that is below min_a.
 *     It is not part of I2: it offers nothing until its transaction starts, which makes it
 *     active and starts a new run at once. */
#ifndef SC_SHARE_H
#define SC_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_SHARE_NEVER INT64_MAX

struct sc_share_params {
	double capacity_a; /* grid_limit_a - reserve_a, >= 0 */
	double min_a;      /* the least an EV charges with: 6 A (IEC 61851) */
	int64_t rotate_ms; /* turns when not all fit */
	int64_t settle_ms; /* a reading counts this long after the offer changed */
	int64_t stale_ms;  /* a reading older than this is ignored */
	double margin_a;   /* drawing within this of the offer: may want more */
	double headroom_a; /* offered above what a car draws */
};

/* The defaults: 6 A, turns of 5 minutes, 4 s to settle, 15 s stale, 1 A margin, 2 A headroom. */
void sc_share_params_default(struct sc_share_params *p, double capacity_a);

enum sc_share_reason {
	SC_SHARE_IDLE,      /* no transaction: what it could start with */
	SC_SHARE_OCPP,      /* gets its whole cap_a */
	SC_SHARE_FAIR,      /* gets its fair share, less than its cap_a */
	SC_SHARE_PAUSED,    /* waits for its turn */
	SC_SHARE_NO_ROOM,   /* idle, and the active ones leave less than min_a */
	SC_SHARE_BELOW_MIN, /* cap_a below min_a: 0 */
};

struct sc_share_conn {
	/* Inputs, set by the caller before each run. */
	size_t group;
	bool active;
	double cap_a;   /* OCPP limit and rated current, A per phase, >= 0 */
	double drawn_a; /* the most any phase draws, < 0 unknown */
	int64_t drawn_ts;
	/* Kept between runs; zero to start. */
	bool was_active, running;
	int64_t turn_ts; /* running: since when; waiting: since when */
	double want_a;
	double offered_a;
	int64_t offered_ts;
	/* Results. */
	double limit_a;
	enum sc_share_reason reason;
	bool by_group; /* SC_SHARE_FAIR: its group's cap, not the site, held it back */
};

struct sc_share_group {
	double cap_a; /* the group's limit; INFINITY: none */
};

struct sc_share {
	struct sc_share_params par;
	struct sc_share_conn *conns; /* borrowed */
	size_t n;
	struct sc_share_group *groups; /* borrowed */
	size_t n_groups;
};

/* Allocates at now. Returns when it wants to run again at the latest (a turn, a reading
 * that will have settled), or SC_SHARE_NEVER. */
int64_t sc_share_run(struct sc_share *s, int64_t now);

/* Checks I1..I3 on the last run. Returns 0, or -EINVAL with the first violation in why. */
int sc_share_check(const struct sc_share *s, char *why, size_t why_len);

const char *sc_share_reason_name(enum sc_share_reason r);

#endif
