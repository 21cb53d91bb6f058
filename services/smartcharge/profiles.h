/* OCPP 1.6 charging profiles (section 3.13, SetChargingProfile 5.16, ClearChargingProfile
 * 5.5): the decoded form, the rules a profile must pass to be installed, and the set of
 * profiles one charge point holds. Pure: no I/O, no clock. */
#ifndef SC_PROFILES_H
#define SC_PROFILES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whatever ChargingScheduleMaxPeriods says, a schedule never has more periods than this
 * (the decoder's own bound, checked before anything is allocated). */
#define SC_PERIODS_HARD_MAX 1024
/* Absent validFrom / validTo. */
#define SC_TIME_MIN INT64_MIN
#define SC_TIME_MAX INT64_MAX

enum sc_purpose {
	SC_PURPOSE_CP_MAX,     /* ChargePointMaxProfile */
	SC_PURPOSE_TX_DEFAULT, /* TxDefaultProfile */
	SC_PURPOSE_TX,         /* TxProfile */
};

enum sc_kind {
	SC_KIND_ABSOLUTE,
	SC_KIND_RECURRING,
	SC_KIND_RELATIVE,
};

enum sc_recurrency {
	SC_RECUR_NONE,
	SC_RECUR_DAILY,
	SC_RECUR_WEEKLY,
};

enum sc_unit {
	SC_UNIT_A,
	SC_UNIT_W,
};

struct sc_period {
	int64_t start_s; /* startPeriod: seconds from the start of the schedule */
	double limit;    /* in the schedule's unit */
	int phases;      /* numberPhases; 0 when absent (3 is assumed) */
};

struct sc_profile {
	int64_t id;
	int connector; /* the SetChargingProfile's connectorId; 0 = the whole charge point */
	int64_t transaction_id; /* TxProfile: 0 when absent */
	int64_t stack_level;
	enum sc_purpose purpose;
	enum sc_kind kind;
	enum sc_recurrency recurrency; /* SC_RECUR_NONE unless Recurring */
	int64_t valid_from;            /* Unix ms, SC_TIME_MIN when absent */
	int64_t valid_to;              /* Unix ms, SC_TIME_MAX when absent */
	bool has_start;
	int64_t start_schedule; /* Unix ms, when has_start */
	int64_t duration_s;     /* -1 when absent */
	enum sc_unit unit;
	double min_rate; /* minChargingRate, -1 when absent */
	struct sc_period *periods;
	size_t n_periods;
	json_t *json; /* the csChargingProfiles object as received, for storage (owned) */
};

/* The installation rules of one charge point: its configuration keys and connectors. */
struct sc_rules {
	int64_t max_stack_level; /* ChargeProfileMaxStackLevel */
	int64_t max_periods;     /* ChargingScheduleMaxPeriods */
	int64_t max_profiles;    /* MaxChargingProfilesInstalled */
	bool allow_a, allow_w;   /* ChargingScheduleAllowedChargingRateUnit: Current, Power */
	int n_connectors;
};

/* The transaction on the profile's connector, as far as a TxProfile cares. */
struct sc_tx_view {
	bool active;
	int64_t transaction_id; /* 0 while the Central System has not assigned it */
};

/* The profiles of one charge point. */
struct sc_profile_set {
	struct sc_profile *v;
	size_t n, cap;
};

/* ClearChargingProfile's criteria; an absent one matches everything. */
struct sc_clear_filter {
	bool has_id, has_connector, has_purpose, has_stack;
	int64_t id;
	int connector;
	enum sc_purpose purpose;
	int64_t stack_level;
};

const char *sc_purpose_name(enum sc_purpose p);
const char *sc_unit_name(enum sc_unit u); /* "A", "W" */
int sc_purpose_parse(const char *s, enum sc_purpose *out);

/* Decodes a ChargingProfile object (csChargingProfiles, or RemoteStartTransaction's
 * chargingProfile) for connector. Checks what the JSON itself must satisfy (types,
 * ranges, timestamps, periods in order starting at 0, Recurring with a recurrencyKind and
 * a startSchedule); the charge point's own rules are sc_profile_check(). On success out
 * owns a reference to obj. Returns 0 or -EINVAL with the reason in why. */
int sc_profile_parse(json_t *obj, int connector, struct sc_profile *out, char *why, size_t why_len);
/* Releases what out owns and zeroes it. Accepts NULL. */
void sc_profile_clear(struct sc_profile *p);
/* A deep copy; -ENOMEM. */
int sc_profile_copy(const struct sc_profile *src, struct sc_profile *dst);

/* The rules of SetChargingProfile for this charge point at `now` (Unix ms):
 * connector known; ChargePointMaxProfile only on connector 0; TxProfile only on a
 * connector with a running transaction and, when the profile names one, the same
 * transactionId; stackLevel within ChargeProfileMaxStackLevel; at most
 * ChargingScheduleMaxPeriods periods; an allowed rate unit; not expired. tx is the
 * transaction on p->connector (NULL: none). Returns 0 or -EINVAL with the reason. */
int sc_profile_check(const struct sc_profile *p, const struct sc_rules *rules,
                     const struct sc_tx_view *tx, int64_t now, char *why, size_t why_len);

/* Installs p, taking ownership of what it holds (p is zeroed), replacing a profile with the
 * same chargingProfileId or with the same stackLevel, purpose and connector. Refuses with
 * -ENOSPC (p untouched) when that would hold more than max_profiles. *replaced (may be
 * NULL) is set to the number of profiles it replaced. -ENOMEM. */
int sc_set_install(struct sc_profile_set *s, struct sc_profile *p, int64_t max_profiles,
                   size_t *replaced);
/* Removes the profiles matching f: with an id, that profile whatever the other criteria;
 * else those matching every criterion given (none given: all). Returns how many. */
size_t sc_set_clear(struct sc_profile_set *s, const struct sc_clear_filter *f);
/* Removes the TxProfiles of connector (its transaction ended). Returns how many. */
size_t sc_set_drop_tx(struct sc_profile_set *s, int connector);
const struct sc_profile *sc_set_find(const struct sc_profile_set *s, int64_t id);
void sc_set_free(struct sc_profile_set *s);

#endif
