/* sitegate-meter's pure logic: no bus, no SQLite, no clock reads. Time comes in
 * as wall-clock Unix milliseconds (the OCPP timestamps and the clock-aligned
 * boundaries are wall-clock things).
 *
 *   measurands   the measurands the meter supports, parsing of the *Data keys
 *   alignment    clock-aligned boundaries (ClockAlignedDataInterval, from
 *                midnight UTC) and the sampling schedule of a transaction
 *   readings     what a meter driver reports, time-weighted averages over a
 *                clock-aligned interval, the sum over connectors (connector 0)
 *   values       OCPP 1.6 MeterValue objects built from a reading
 *   stop data    the bounded collection of StopTxnSampledData/StopTxnAlignedData
 *                values of a transaction, for StopTransaction.transactionData
 *
 * The drivers (meter_driver.h) turn hardware, or the simulator, into readings. */
#ifndef METER_H
#define METER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METER_PHASES 3
#define METER_DAY_MS (86400 * INT64_C(1000))

/* ---- measurands ---------------------------------------------------------- */

/* The measurands this meter supports, in the order values are listed. */
enum meter_measurand {
	METER_EAIR, /* Energy.Active.Import.Register, Wh */
	METER_EAII, /* Energy.Active.Import.Interval, Wh */
	METER_PAI,  /* Power.Active.Import, W */
	METER_PO,   /* Power.Offered, W */
	METER_CI,   /* Current.Import, A per phase */
	METER_CO,   /* Current.Offered, A */
	METER_V,    /* Voltage, V phase to neutral */
	METER_F,    /* Frequency (OCPP 1.6 has no unit for it: Hz implied) */
	METER_PF,   /* Power.Factor */
	METER_T,    /* Temperature of the body, Celsius */
	METER_SOC,  /* SoC of the EV, Percent */
	METER__MEASURANDS
};

#define METER_MASK(m) (UINT32_C(1) << (m))

/* The supported measurands as a CSL, in the canonical spelling of the OCPP key
 * table: the members the meter's *Data keys are narrowed to. */
extern const char meter_supported_csl[];

/* "Energy.Active.Import.Register", ... or NULL. */
const char *meter_measurand_name(enum meter_measurand m);

/* Parses a *Data key's value (a CSL of measurands, case-insensitive, blanks
 * around members allowed; "" is the empty set) into a mask of METER_MASK()s.
 * Returns 0, or -EINVAL with the reason in why (an unknown or unsupported
 * measurand). */
int meter_measurands_parse(const char *csl, uint32_t *mask, char *why, size_t why_len);

/* ---- alignment ----------------------------------------------------------- */

/* Clock-aligned intervals divide each UTC day, starting at 00:00:00; an
 * interval that does not divide 86400 s leaves a shorter last interval before
 * midnight, and midnight is always a boundary. interval_s > 0. */

/* The latest boundary at or before wall_ms. */
int64_t meter_align_floor(int64_t wall_ms, int64_t interval_s);
/* The first boundary strictly after wall_ms. */
int64_t meter_align_next(int64_t wall_ms, int64_t interval_s);
/* Whether a boundary is due at now_ms (a timer fired, maybe late, maybe a
 * little early): true with *boundary set to the latest boundary at or before
 * now_ms when that one was not reported yet (last_done is the last one
 * reported, 0 for none). The value is stamped with *boundary, never with the
 * time the timer happened to run. */
bool meter_align_due(int64_t now_ms, int64_t interval_s, int64_t last_done, int64_t *boundary);

/* Sampled values of a transaction fall every interval_s from its start: the
 * first start + k * interval (k >= 1) after now_ms. interval_s > 0. */
int64_t meter_sample_next(int64_t start_ms, int64_t now_ms, int64_t interval_s);

/* ---- readings ------------------------------------------------------------ */

struct meter_reading {
	int64_t ts;                     /* when, wall ms */
	double energy_wh;               /* the import register */
	double power_w;                 /* active import, all phases */
	double current_a[METER_PHASES]; /* per phase */
	double voltage_v[METER_PHASES]; /* phase to neutral */
	int phases;                     /* phases wired: L1..L<phases> are reported */
	double frequency_hz;
	double power_factor;
	double temperature_c;
	double soc;       /* percent; < 0 when unknown (no EV, or it does not say) */
	double offered_a; /* per phase */
	double offered_w; /* offered_a over the phases at the voltage */
};

/* energy_wh plus power_w sustained for dt_ms; never less than energy_wh (a
 * negative power or time adds nothing). */
double meter_energy_add(double energy_wh, double power_w, int64_t dt_ms);

/* Time-weighted averages of the quantities that are not registers, over a
 * clock-aligned interval ("averaged across the entire interval"). */
struct meter_avg {
	int64_t ms;
	double power_w, current_a[METER_PHASES], voltage_v[METER_PHASES];
	double frequency_hz, power_factor, temperature_c, offered_a, offered_w;
};

/* Counts r as the state of the dt_ms that followed it. */
void meter_avg_add(struct meter_avg *avg, const struct meter_reading *r, int64_t dt_ms);
/* out = now with the averaged quantities put in when any time was counted;
 * registers, SoC, phases and the time stay those of now. out may be now. */
void meter_avg_apply(const struct meter_avg *avg, const struct meter_reading *now,
                     struct meter_reading *out);

/* The charge point as a whole (connector 0) from its connectors: registers,
 * powers and currents add up, voltage and frequency are the mean, the power
 * factor is weighted by power, the temperature is the highest, no SoC. */
void meter_reading_sum(const struct meter_reading *parts, size_t n, struct meter_reading *out);

/* ---- MeterValue objects ------------------------------------------------- */

struct meter_value_opts {
	const char *context; /* ReadingContext: "Sample.Periodic", "Sample.Clock", ... */
	bool inlet;          /* connector 0: measured at the grid inlet, not an outlet */
	bool has_interval;   /* interval_wh is known (Energy.Active.Import.Interval) */
	double interval_wh;
};

/* A MeterValue {timestamp, sampledValue: [...]} of the measurands in mask,
 * every value with format Raw, its measurand, context, location and unit, and
 * the phase where it has one (Current.Import L1..L3, Voltage L1-N..L3-N).
 * Measurands without a value (SoC unknown, an interval without its start) are
 * left out. Returns NULL when nothing is left (or out of memory). */
json_t *meter_value_json(const struct meter_reading *r, uint32_t mask,
                         const struct meter_value_opts *opts);

/* ---- stop transaction data ---------------------------------------------- */

enum meter_sd_kind {
	METER_SD_BEGIN,   /* Transaction.Begin: never thinned */
	METER_SD_SAMPLED, /* StopTxnSampledData, every MeterValueSampleInterval */
	METER_SD_ALIGNED, /* StopTxnAlignedData, every ClockAlignedDataInterval */
};

struct meter_sd_entry {
	int64_t seq; /* increasing within the transaction: the order of the values */
	int64_t idx; /* the how-manieth value of its kind (0 for Transaction.Begin) */
	enum meter_sd_kind kind;
	json_t *mv; /* a MeterValue object, owned */
	size_t bytes;
};

struct meter_stopdata {
	struct meter_sd_entry *e;
	size_t n, cap;
	size_t bytes; /* of the compact JSON of the entries */
	int64_t next_seq;
	int64_t next_idx[METER_SD_ALIGNED + 1];
	int64_t stride; /* values of a kind are kept when idx % stride == 0; 0 means 1 */
	unsigned halvings;
};

/* The bound of what one transaction keeps: max_values MeterValue objects in
 * StopTransaction.transactionData, the Transaction.End value included, and about
 * max_bytes of their JSON. */
struct meter_sd_limits {
	size_t max_values; /* >= 4 */
	size_t max_bytes;
};

/* An entry went (thinned, or replaced by a newer one). */
typedef void meter_sd_gone_fn(int64_t seq, void *ud);

/* Appends mv (a reference is taken). The periodic values are decimated evenly:
 * of each kind only every stride-th value stays, plus the newest one; when the
 * list goes over the limits the stride doubles and the values off it go. So a
 * long transaction keeps values spread evenly over its whole length, its first
 * and its latest, and Transaction.Begin. gone (may be NULL) hears of every entry
 * removed. Returns the number removed, or -ENOMEM. */
int meter_sd_add(struct meter_stopdata *sd, enum meter_sd_kind kind, json_t *mv,
                 const struct meter_sd_limits *limits, meter_sd_gone_fn *gone, void *ud);
/* Appends an entry as stored earlier, without thinning: for loading, in seq
 * order; set sd->stride as stored before adding more. */
int meter_sd_restore(struct meter_stopdata *sd, int64_t seq, int64_t idx, enum meter_sd_kind kind,
                     json_t *mv);
/* StopTransaction.transactionData: the entries in order, then end (borrowed; may
 * be NULL). NULL when that is empty (leave the field out) or out of memory. */
json_t *meter_sd_build(const struct meter_stopdata *sd, json_t *end);
void meter_sd_clear(struct meter_stopdata *sd);

/* Compact JSON size of a value, as meter_sd_add counts it. */
size_t meter_json_size(const json_t *j);

#endif
