/* Unit tests of meter.c: measurands and key narrowing, clock alignment, the
 * sampling schedule, energy, averages, MeterValue objects, stop transaction
 * data and its bound. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sitegate/ocpp_keys.h"
#include "sitegate/time.h"

#include "meter.h"

#define SEC 1000
#define MIN (60 * SEC)

/* 2026-11-22T00:00:00Z */
static int64_t
day0(void)
{
	int64_t t;

	assert_int_equal(sg_time_parse("2026-11-22T00:00:00Z", &t), 0);
	return t;
}

static int64_t
at(const char *s)
{
	int64_t t;

	assert_int_equal(sg_time_parse(s, &t), 0);
	return t;
}

/* ---- measurands ---------------------------------------------------------- */

static void
test_measurands_parse(void **state)
{
	uint32_t mask = 0xffff;
	char why[128];

	assert_int_equal(meter_measurands_parse("", &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, 0);
	assert_int_equal(meter_measurands_parse(NULL, &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, 0);

	assert_int_equal(
	    meter_measurands_parse("Energy.Active.Import.Register", &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, METER_MASK(METER_EAIR));

	/* CiString: any case; blanks around members; duplicates are harmless */
	assert_int_equal(
	    meter_measurands_parse(" soc , VOLTAGE,Current.Import,SoC", &mask, why, sizeof(why)),
	    0);
	assert_int_equal(mask, METER_MASK(METER_SOC) | METER_MASK(METER_V) | METER_MASK(METER_CI));

	assert_int_equal(meter_measurands_parse(meter_supported_csl, &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, (UINT32_C(1) << METER__MEASURANDS) - 1);

	assert_int_equal(meter_measurands_parse("Voltage,RPM", &mask, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unsupported measurand \"RPM\"");
	assert_int_equal(mask, 0);
	assert_int_equal(meter_measurands_parse("Power.Reactive.Import", &mask, why, sizeof(why)),
	                 -EINVAL);
	assert_string_equal(why, "unsupported measurand \"Power.Reactive.Import\"");
	assert_int_equal(meter_measurands_parse("Voltage.L1", &mask, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unknown measurand \"Voltage.L1\"");
	assert_int_equal(meter_measurands_parse("Voltage,,SoC", &mask, why, sizeof(why)), -EINVAL);
	assert_int_equal(meter_measurands_parse("Voltage,", &mask, why, sizeof(why)), -EINVAL);

	for (int m = 0; m < METER__MEASURANDS; m++) {
		assert_non_null(meter_measurand_name(m));
		assert_int_equal(
		    meter_measurands_parse(meter_measurand_name(m), &mask, why, sizeof(why)), 0);
		assert_int_equal(mask, METER_MASK(m));
	}
	assert_null(meter_measurand_name(METER__MEASURANDS));
}

/* The OCPP key table accepts every measurand of the spec; the meter narrows its
 * *Data keys to what it supports, so a ChangeConfiguration naming another one
 * is Rejected. */
static void
test_keys_narrowed(void **state)
{
	static const char *const lists[] = {"MeterValuesSampledData", "MeterValuesAlignedData",
	                                    "StopTxnSampledData", "StopTxnAlignedData"};
	struct sg_key_limits l = {.members = meter_supported_csl};
	char canon[SG_KEY_VALUE_MAX + 1], why[192];

	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		const struct sg_key_def *def = sg_key_find(lists[i]);

		assert_non_null(def);
		assert_string_equal(def->owner, "meter");
		assert_int_equal(sg_key_limits_check(def, &l, why, sizeof(why)), 0);
		/* the table alone lets an unsupported measurand through ... */
		assert_int_equal(
		    sg_key_check(def, NULL, "RPM", canon, sizeof(canon), why, sizeof(why)), 0);
		/* ... the narrowed key does not */
		assert_int_equal(
		    sg_key_check(def, &l, "RPM", canon, sizeof(canon), why, sizeof(why)), -EINVAL);
		assert_int_equal(sg_key_check(def, &l, "Voltage,Power.Reactive.Import", canon,
		                              sizeof(canon), why, sizeof(why)),
		                 -EINVAL);
		assert_int_equal(
		    sg_key_check(def, &l, "Bogus", canon, sizeof(canon), why, sizeof(why)),
		    -EINVAL);
		assert_int_equal(
		    sg_key_check(def, &l, "soc, voltage", canon, sizeof(canon), why, sizeof(why)),
		    0);
		assert_string_equal(canon, "SoC,Voltage");
		assert_int_equal(sg_key_check(def, &l, meter_supported_csl, canon, sizeof(canon),
		                              why, sizeof(why)),
		                 0);
		assert_int_equal(sg_key_check(def, &l, "", canon, sizeof(canon), why, sizeof(why)),
		                 0);
		/* what the narrowed key accepts, the meter parses */
		uint32_t mask;
		assert_int_equal(meter_measurands_parse(canon, &mask, why, sizeof(why)), 0);
	}
	/* the *MaxLength keys are narrowed to the number of supported measurands */
	const struct sg_key_def *max = sg_key_find("MeterValuesSampledDataMaxLength");
	struct sg_key_limits n = {.def = "11", .narrow = true, .min = 1, .max = METER__MEASURANDS};
	assert_int_equal(METER__MEASURANDS, 11);
	assert_int_equal(sg_key_limits_check(max, &n, why, sizeof(why)), 0);
}

/* ---- alignment ----------------------------------------------------------- */

static void
test_align_900(void **state)
{
	int64_t t = at("2026-11-22T10:07:31.250Z");

	assert_int_equal(meter_align_floor(t, 900), at("2026-11-22T10:00:00Z"));
	assert_int_equal(meter_align_next(t, 900), at("2026-11-22T10:15:00Z"));
	/* on a boundary: that one is the floor, the next is one interval on */
	t = at("2026-11-22T10:15:00Z");
	assert_int_equal(meter_align_floor(t, 900), t);
	assert_int_equal(meter_align_next(t, 900), at("2026-11-22T10:30:00Z"));
	assert_int_equal(meter_align_next(t - 1, 900), t);
	/* the last interval of the day ends at midnight UTC */
	t = at("2026-11-22T23:52:00Z");
	assert_int_equal(meter_align_floor(t, 900), at("2026-11-22T23:45:00Z"));
	assert_int_equal(meter_align_next(t, 900), at("2026-11-23T00:00:00Z"));
	t = at("2026-11-23T00:00:00Z");
	assert_int_equal(meter_align_floor(t, 900), t);
	assert_int_equal(meter_align_next(t, 900), at("2026-11-23T00:15:00Z"));
	/* a whole day */
	assert_int_equal(meter_align_next(at("2026-11-22T13:00:00Z"), 86400),
	                 at("2026-11-23T00:00:00Z"));
	assert_int_equal(meter_align_floor(at("2026-11-22T13:00:00Z"), 86400), day0());
	/* 96 boundaries a day */
	int n = 0;
	for (int64_t b = day0(); b < day0() + METER_DAY_MS; b = meter_align_next(b, 900))
		n++;
	assert_int_equal(n, 96);
}

/* An interval that does not divide the day: boundaries restart at midnight and
 * the day's last interval is shorter. */
static void
test_align_odd(void **state)
{
	int64_t d = day0();

	/* 86400 = 7 * 12342 + 6 */
	assert_int_equal(meter_align_floor(d + 86396 * SEC, 7), d + 86394 * SEC);
	assert_int_equal(meter_align_next(d + 86396 * SEC, 7), d + METER_DAY_MS);
	assert_int_equal(meter_align_next(d + 86393 * SEC, 7), d + 86394 * SEC);
	assert_int_equal(meter_align_floor(d + METER_DAY_MS + 3 * SEC, 7), d + METER_DAY_MS);
	assert_int_equal(meter_align_next(d + METER_DAY_MS + 3 * SEC, 7),
	                 d + METER_DAY_MS + 7 * SEC);
	assert_int_equal(meter_align_next(d + 20 * SEC + 999, 7), d + 21 * SEC);
	/* every boundary of a day lies on a multiple of 7 s from midnight, or is midnight */
	int n = 0;
	for (int64_t b = meter_align_next(d, 7); b <= d + METER_DAY_MS;
	     b = meter_align_next(b, 7)) {
		assert_true((b - d) % (7 * SEC) == 0 || b == d + METER_DAY_MS);
		n++;
	}
	assert_int_equal(n, 12343); /* 12342 whole intervals and the short one */
	/* 5 s and 1 s */
	assert_int_equal(meter_align_next(at("2026-11-22T12:00:03.400Z"), 5),
	                 at("2026-11-22T12:00:05Z"));
	assert_int_equal(meter_align_next(at("2026-11-22T12:00:03.400Z"), 1),
	                 at("2026-11-22T12:00:04Z"));
	/* before 1970 too (floor division) */
	assert_int_equal(meter_align_floor(-1, 900), -900 * SEC);
	assert_int_equal(meter_align_next(-1, 900), 0);
}

/* A timer that fires late still stamps the boundary it was for, once; one that
 * fires early reports nothing yet. */
static void
test_align_due(void **state)
{
	int64_t b = at("2026-11-22T10:15:00Z"), prev = at("2026-11-22T10:00:00Z"), got = 0;

	assert_true(meter_align_due(b + 730, 900, prev, &got));
	assert_int_equal(got, b);
	assert_true(meter_align_due(b, 900, prev, &got));
	assert_int_equal(got, b);
	assert_true(meter_align_due(b + 899 * SEC, 900, prev, &got));
	assert_int_equal(got, b);
	/* reported already */
	got = 0;
	assert_false(meter_align_due(b + 730, 900, b, &got));
	assert_int_equal(got, 0);
	/* early: the boundary is not there yet */
	assert_false(meter_align_due(b - 3, 900, prev, &got));
	/* very late (suspended for two intervals): the latest boundary, once */
	assert_true(meter_align_due(b + 1800 * SEC + 5, 900, prev, &got));
	assert_int_equal(got, b + 1800 * SEC);
	/* the first boundary ever */
	assert_true(meter_align_due(b + 10, 900, 0, &got));
	assert_int_equal(got, b);
	/* 7 s at the day's end */
	int64_t d = day0();
	assert_true(meter_align_due(d + METER_DAY_MS + 40, 7, d + 86394 * SEC, &got));
	assert_int_equal(got, d + METER_DAY_MS);
}

static void
test_sample_next(void **state)
{
	int64_t s = at("2026-11-22T10:00:00.300Z");

	assert_int_equal(meter_sample_next(s, s, 1), s + 1 * SEC);
	assert_int_equal(meter_sample_next(s, s + 999, 1), s + 1 * SEC);
	assert_int_equal(meter_sample_next(s, s + 1000, 1), s + 2 * SEC);
	assert_int_equal(meter_sample_next(s, s + 5 * MIN + 17, 60), s + 6 * MIN);
	/* a start a little ahead of our clock */
	assert_int_equal(meter_sample_next(s, s - 200, 60), s + MIN);
}

/* ---- energy, averages, sums ----------------------------------------------- */

static void
test_energy(void **state)
{
	double wh = 1000;

	assert_true(fabs(meter_energy_add(0, 11000, 3600 * SEC) - 11000) < 1e-9);
	assert_true(fabs(meter_energy_add(wh, 3600, SEC) - 1001) < 1e-9);
	/* never backwards, whatever comes in */
	assert_true(meter_energy_add(wh, -500, SEC) == wh);
	assert_true(meter_energy_add(wh, 500, -SEC) == wh);
	assert_true(meter_energy_add(wh, 0, SEC) == wh);
	assert_true(meter_energy_add(wh, NAN, SEC) == wh);
	/* one hour in one-second steps */
	double e = 0, prev = 0;
	for (int i = 0; i < 3600; i++) {
		e = meter_energy_add(e, 7200, SEC);
		assert_true(e >= prev);
		prev = e;
	}
	assert_true(fabs(e - 7200) < 1e-6);
}

static struct meter_reading
reading(int64_t ts, double wh, double amps, int phases)
{
	struct meter_reading r = {
	    .ts = ts,
	    .energy_wh = wh,
	    .phases = phases,
	    .frequency_hz = 50.01,
	    .power_factor = 0.99,
	    .temperature_c = 31.25,
	    .soc = 42.4,
	    .offered_a = 16,
	};

	for (int i = 0; i < phases; i++) {
		r.current_a[i] = amps;
		r.voltage_v[i] = 230.0 + i;
		r.offered_w += 16 * r.voltage_v[i];
	}
	r.power_w = amps * 230.0 * phases * 0.99;
	return r;
}

static void
test_avg(void **state)
{
	struct meter_avg a = {0};
	struct meter_reading r1 = reading(0, 100, 10, 3), r2 = reading(1000, 101, 30, 3), out;

	/* nothing counted: the reading as it is */
	meter_avg_apply(&a, &r2, &out);
	assert_true(out.current_a[0] == 30);
	meter_avg_add(&a, &r1, 3000);
	meter_avg_add(&a, &r2, 1000);
	meter_avg_add(&a, &r2, -5); /* ignored */
	meter_avg_apply(&a, &r2, &out);
	assert_true(fabs(out.current_a[0] - 15.0) < 1e-9);
	assert_true(fabs(out.power_w - 15.0 * 230 * 3 * 0.99) < 1e-6);
	assert_true(fabs(out.voltage_v[2] - 232.0) < 1e-9);
	/* registers and the time stay the reading's */
	assert_true(out.energy_wh == 101);
	assert_int_equal(out.ts, 1000);
	assert_true(out.soc == 42.4);
	/* in place */
	struct meter_reading in = r2;
	meter_avg_apply(&a, &in, &in);
	assert_true(fabs(in.current_a[1] - 15.0) < 1e-9);
}

static void
test_sum(void **state)
{
	struct meter_reading parts[2] = {reading(5000, 100, 16, 3), reading(5001, 250, 10, 1)};
	struct meter_reading s;

	parts[0].temperature_c = 30;
	parts[1].temperature_c = 35;
	meter_reading_sum(parts, 2, &s);
	assert_true(s.energy_wh == 350);
	assert_int_equal(s.ts, 5001);
	assert_int_equal(s.phases, 3);
	assert_true(s.current_a[0] == 26);
	assert_true(s.current_a[1] == 16);
	assert_true(s.voltage_v[0] == 230);
	assert_true(s.voltage_v[1] == 231); /* only connectors wired to L2 count */
	assert_true(fabs(s.power_w - (16 * 230 * 3 + 10 * 230) * 0.99) < 1e-6);
	assert_true(fabs(s.power_factor - 0.99) < 1e-9);
	assert_true(s.temperature_c == 35);
	assert_true(s.soc < 0);
	assert_true(s.offered_a == 32);
	meter_reading_sum(parts, 0, &s);
	assert_true(s.energy_wh == 0);
}

/* ---- MeterValue objects ------------------------------------------------- */

static const json_t *
find_value(const json_t *mv, const char *measurand, const char *phase)
{
	const json_t *list = json_object_get(mv, "sampledValue"), *sv;
	size_t i;

	json_array_foreach(list, i, sv)
	{
		const char *m = json_string_value(json_object_get(sv, "measurand"));
		const char *p = json_string_value(json_object_get(sv, "phase"));

		if (m && strcmp(m, measurand) == 0 &&
		    ((phase == NULL && p == NULL) || (phase && p && strcmp(p, phase) == 0)))
			return sv;
	}
	return NULL;
}

static const char *
field(const json_t *sv, const char *name)
{
	return json_string_value(json_object_get(sv, name));
}

static void
expect(const json_t *mv, const char *measurand, const char *phase, const char *value,
       const char *unit, const char *location, const char *context)
{
	const json_t *sv = find_value(mv, measurand, phase);

	if (!sv)
		fail_msg("no %s %s", measurand, phase ? phase : "");
	assert_string_equal(field(sv, "value"), value);
	if (unit)
		assert_string_equal(field(sv, "unit"), unit);
	else
		assert_null(json_object_get(sv, "unit"));
	assert_string_equal(field(sv, "location"), location);
	assert_string_equal(field(sv, "context"), context);
	assert_string_equal(field(sv, "format"), "Raw");
	/* nothing else: the OCPP schema has additionalProperties false */
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)sv, key, v)
	{
		assert_true(strstr(" value context format measurand phase location unit ", key) !=
		            NULL);
		assert_true(json_is_string(v));
	}
}

static void
test_value_each_measurand(void **state)
{
	struct meter_reading r = reading(at("2026-11-22T10:15:00Z"), 12345.678, 15.987, 3);
	struct meter_value_opts o = {
	    .context = "Sample.Periodic", .has_interval = true, .interval_wh = 210.04};
	uint32_t all = (UINT32_C(1) << METER__MEASURANDS) - 1;
	json_t *mv = meter_value_json(&r, all, &o);

	assert_non_null(mv);
	assert_string_equal(json_string_value(json_object_get(mv, "timestamp")),
	                    "2026-11-22T10:15:00.000Z");
	assert_int_equal(json_object_size(mv), 2);
	/* 1 + 1 + 1 + 1 + 3 + 1 + 3 + 1 + 1 + 1 + 1 */
	assert_int_equal(json_array_size(json_object_get(mv, "sampledValue")), 15);
	const char *c = "Sample.Periodic";
	expect(mv, "Energy.Active.Import.Register", NULL, "12345.7", "Wh", "Outlet", c);
	expect(mv, "Energy.Active.Import.Interval", NULL, "210.0", "Wh", "Outlet", c);
	expect(mv, "Power.Active.Import", NULL, "10920.7", "W", "Outlet", c);
	expect(mv, "Power.Offered", NULL, "11088.0", "W", "Outlet", c);
	expect(mv, "Current.Import", "L1", "15.99", "A", "Outlet", c);
	expect(mv, "Current.Import", "L2", "15.99", "A", "Outlet", c);
	expect(mv, "Current.Import", "L3", "15.99", "A", "Outlet", c);
	expect(mv, "Current.Offered", NULL, "16.0", "A", "Outlet", c);
	expect(mv, "Voltage", "L1-N", "230.0", "V", "Outlet", c);
	expect(mv, "Voltage", "L2-N", "231.0", "V", "Outlet", c);
	expect(mv, "Voltage", "L3-N", "232.0", "V", "Outlet", c);
	expect(mv, "Frequency", NULL, "50.01", NULL, "Outlet", c);
	expect(mv, "Power.Factor", NULL, "0.990", NULL, "Outlet", c);
	expect(mv, "Temperature", NULL, "31.2", "Celcius", "Body", c);
	expect(mv, "SoC", NULL, "42", "Percent", "EV", c);
	assert_null(find_value(mv, "Current.Import", NULL));
	json_decref(mv);

	/* one measurand at a time: exactly its values */
	for (int m = 0; m < METER__MEASURANDS; m++) {
		mv = meter_value_json(&r, METER_MASK(m), &o);
		assert_non_null(mv);
		json_t *list = json_object_get(mv, "sampledValue");
		size_t i;
		json_t *sv;
		json_array_foreach(list, i, sv)
		{
			assert_string_equal(field(sv, "measurand"), meter_measurand_name(m));
		}
		assert_int_equal(json_array_size(list), m == METER_CI || m == METER_V ? 3 : 1);
		json_decref(mv);
	}
}

static void
test_value_phases_and_gaps(void **state)
{
	struct meter_reading r = reading(at("2026-11-22T10:15:01.250Z"), 10, 6, 1);
	struct meter_value_opts o = {.context = "Sample.Clock"};
	uint32_t all = (UINT32_C(1) << METER__MEASURANDS) - 1;
	json_t *mv;

	/* one phase: L1 only */
	mv = meter_value_json(&r, all, &o);
	assert_string_equal(json_string_value(json_object_get(mv, "timestamp")),
	                    "2026-11-22T10:15:01.250Z");
	expect(mv, "Current.Import", "L1", "6.00", "A", "Outlet", "Sample.Clock");
	expect(mv, "Voltage", "L1-N", "230.0", "V", "Outlet", "Sample.Clock");
	assert_null(find_value(mv, "Current.Import", "L2"));
	assert_null(find_value(mv, "Voltage", "L2-N"));
	/* no interval start known: no Interval value */
	assert_null(find_value(mv, "Energy.Active.Import.Interval", NULL));
	json_decref(mv);

	/* SoC unknown: left out; a mask of SoC alone gives nothing */
	r.soc = -1;
	assert_null(meter_value_json(&r, METER_MASK(METER_SOC), &o));
	assert_null(meter_value_json(&r, METER_MASK(METER_EAII), &o));
	assert_null(meter_value_json(&r, 0, &o));

	/* connector 0: measured at the inlet, no SoC even when one is known */
	r.soc = 50;
	o.inlet = true;
	o.context = "Transaction.End";
	mv = meter_value_json(
	    &r, METER_MASK(METER_EAIR) | METER_MASK(METER_SOC) | METER_MASK(METER_T), &o);
	expect(mv, "Energy.Active.Import.Register", NULL, "10.0", "Wh", "Inlet", "Transaction.End");
	expect(mv, "Temperature", NULL, "31.2", "Celcius", "Body", "Transaction.End");
	assert_null(find_value(mv, "SoC", NULL));
	json_decref(mv);

	/* never "-0.0" */
	r = reading(at("2026-11-22T10:15:01Z"), 0, 0, 3);
	r.power_w = -0.01;
	o = (struct meter_value_opts){
	    .context = "Sample.Clock", .has_interval = true, .interval_wh = -3};
	mv = meter_value_json(&r, METER_MASK(METER_PAI) | METER_MASK(METER_EAII), &o);
	expect(mv, "Power.Active.Import", NULL, "0.0", "W", "Outlet", "Sample.Clock");
	expect(mv, "Energy.Active.Import.Interval", NULL, "0.0", "Wh", "Outlet", "Sample.Clock");
	json_decref(mv);
}

/* ---- stop transaction data ---------------------------------------------- */

static json_t *
mv_at(int64_t ts, double wh, const char *context)
{
	struct meter_reading r = reading(ts, wh, 16, 3);
	struct meter_value_opts o = {.context = context};

	return meter_value_json(&r, METER_MASK(METER_EAIR), &o);
}

static double
mv_energy(const json_t *mv)
{
	const json_t *sv = json_array_get(json_object_get(mv, "sampledValue"), 0);

	return atof(json_string_value(json_object_get(sv, "value")));
}

static const char *
mv_context(const json_t *mv)
{
	const json_t *sv = json_array_get(json_object_get(mv, "sampledValue"), 0);

	return json_string_value(json_object_get(sv, "context"));
}

static void
test_stopdata_collect(void **state)
{
	struct meter_stopdata sd = {0};
	struct meter_sd_limits l = {.max_values = 60, .max_bytes = 1 << 20};
	int64_t t0 = at("2026-11-22T10:00:00Z");
	json_t *mv, *end, *td;

	assert_null(meter_sd_build(&sd, NULL));
	mv = mv_at(t0, 100, "Transaction.Begin");
	assert_int_equal(meter_sd_add(&sd, METER_SD_BEGIN, mv, &l, NULL, NULL), 0);
	json_decref(mv);
	for (int i = 1; i <= 5; i++) {
		mv = mv_at(t0 + i * MIN, 100 + i, "Sample.Periodic");
		assert_int_equal(meter_sd_add(&sd, METER_SD_SAMPLED, mv, &l, NULL, NULL), 0);
		json_decref(mv);
	}
	mv = mv_at(t0 + 15 * MIN, 200, "Sample.Clock");
	assert_int_equal(meter_sd_add(&sd, METER_SD_ALIGNED, mv, &l, NULL, NULL), 0);
	json_decref(mv);
	assert_int_equal(sd.n, 7);

	end = mv_at(t0 + 16 * MIN, 210, "Transaction.End");
	td = meter_sd_build(&sd, end);
	assert_int_equal(json_array_size(td), 8);
	assert_string_equal(mv_context(json_array_get(td, 0)), "Transaction.Begin");
	assert_string_equal(mv_context(json_array_get(td, 3)), "Sample.Periodic");
	assert_string_equal(mv_context(json_array_get(td, 6)), "Sample.Clock");
	assert_string_equal(mv_context(json_array_get(td, 7)), "Transaction.End");
	assert_ptr_equal(json_array_get(td, 7), end);
	json_decref(td);
	/* only the end */
	struct meter_stopdata none = {0};
	td = meter_sd_build(&none, end);
	assert_int_equal(json_array_size(td), 1);
	json_decref(td);
	json_decref(end);

	/* restored entries keep their numbers; new ones follow them */
	struct meter_stopdata re = {0};
	for (size_t i = 0; i < sd.n; i++)
		assert_int_equal(
		    meter_sd_restore(&re, sd.e[i].seq, sd.e[i].idx, sd.e[i].kind, sd.e[i].mv), 0);
	assert_int_equal(re.next_seq, sd.next_seq);
	assert_int_equal(re.bytes, sd.bytes);
	meter_sd_clear(&re);

	meter_sd_clear(&sd);
	assert_int_equal(sd.n, 0);
	meter_sd_clear(&sd);
}

struct gone_log {
	int64_t seqs[1024];
	size_t n;
};

static void
on_gone(int64_t seq, void *ud)
{
	struct gone_log *g = ud;

	assert_true(g->n < 1024);
	g->seqs[g->n++] = seq;
}

/* A long transaction stays within the bound: Transaction.Begin, the first and the
 * newest periodic value stay, the ones in between are spread evenly over the
 * whole transaction. */
static void
test_stopdata_bounded(void **state)
{
	struct meter_stopdata sd = {0};
	struct meter_sd_limits l = {.max_values = 10, .max_bytes = 1 << 20};
	int64_t t0 = at("2026-11-22T10:00:00Z");
	struct gone_log g = {0};
	int removed = 0;
	json_t *mv;

	mv = mv_at(t0, 0, "Transaction.Begin");
	assert_int_equal(meter_sd_add(&sd, METER_SD_BEGIN, mv, &l, on_gone, &g), 0);
	json_decref(mv);
	for (int i = 1; i <= 500; i++) {
		mv = mv_at(t0 + i * SEC, i, "Sample.Periodic");
		int r = meter_sd_add(&sd, METER_SD_SAMPLED, mv, &l, on_gone, &g);
		json_decref(mv);
		assert_true(r >= 0);
		removed += r;
		/* room for Transaction.End stays */
		assert_true(sd.n + 1 <= l.max_values);
		assert_int_equal(sd.e[0].kind, METER_SD_BEGIN);
		assert_true(mv_energy(sd.e[sd.n - 1].mv) == i); /* the newest is kept */
		assert_true(mv_energy(sd.e[1].mv) == 1);        /* so is the first */
		for (size_t k = 1; k < sd.n; k++) {
			assert_true(sd.e[k].seq > sd.e[k - 1].seq);
			assert_true(mv_energy(sd.e[k].mv) > mv_energy(sd.e[k - 1].mv));
		}
	}
	assert_int_equal(removed, (int)g.n);
	assert_int_equal(removed + (int)sd.n, 501);
	assert_true(sd.halvings > 0);
	assert_true(sd.stride >= 64);
	/* even: every step is the stride, but the last (to the newest) */
	for (size_t k = 2; k < sd.n; k++) {
		int64_t step = sd.e[k].idx - sd.e[k - 1].idx;
		if (k + 1 < sd.n)
			assert_int_equal(step, sd.stride);
		else
			assert_true(step > 0 && step <= sd.stride);
	}
	/* what went is gone, what stayed was not reported gone */
	for (size_t k = 0; k < sd.n; k++)
		for (size_t j = 0; j < g.n; j++)
			assert_true(sd.e[k].seq != g.seqs[j]);
	size_t bytes = 0;
	for (size_t k = 0; k < sd.n; k++)
		bytes += meter_json_size(sd.e[k].mv);
	assert_int_equal(bytes, sd.bytes);

	/* after a restart the stored entries and stride go on as before */
	struct meter_stopdata re = {.stride = sd.stride};
	for (size_t k = 0; k < sd.n; k++)
		assert_int_equal(
		    meter_sd_restore(&re, sd.e[k].seq, sd.e[k].idx, sd.e[k].kind, sd.e[k].mv), 0);
	mv = mv_at(t0 + 501 * SEC, 501, "Sample.Periodic");
	assert_true(meter_sd_add(&sd, METER_SD_SAMPLED, mv, &l, NULL, NULL) >= 0);
	assert_true(meter_sd_add(&re, METER_SD_SAMPLED, mv, &l, NULL, NULL) >= 0);
	json_decref(mv);
	assert_int_equal(re.n, sd.n);
	for (size_t k = 0; k < sd.n; k++) {
		assert_int_equal(re.e[k].seq, sd.e[k].seq);
		assert_int_equal(re.e[k].idx, sd.e[k].idx);
	}
	meter_sd_clear(&re);
	meter_sd_clear(&sd);

	/* sampled and clock-aligned values thin alike */
	l = (struct meter_sd_limits){.max_values = 12, .max_bytes = 1 << 20};
	for (int i = 1; i <= 3600; i++) {
		bool clock = i % 60 == 0;
		mv = mv_at(t0 + i * SEC, i, clock ? "Sample.Clock" : "Sample.Periodic");
		assert_true(meter_sd_add(&sd, clock ? METER_SD_ALIGNED : METER_SD_SAMPLED, mv, &l,
		                         NULL, NULL) >= 0);
		json_decref(mv);
		assert_true(sd.n + 1 <= l.max_values);
	}
	size_t aligned = 0;
	for (size_t k = 0; k < sd.n; k++)
		aligned += sd.e[k].kind == METER_SD_ALIGNED;
	assert_true(aligned >= 2);
	assert_true(mv_energy(sd.e[sd.n - 1].mv) == 3600);
	meter_sd_clear(&sd);

	/* the byte bound */
	mv = mv_at(t0, 0, "Sample.Periodic");
	size_t one = meter_json_size(mv);
	json_decref(mv);
	l = (struct meter_sd_limits){.max_values = 1000, .max_bytes = one * 8};
	for (int i = 0; i < 100; i++) {
		mv = mv_at(t0 + i * SEC, i, "Sample.Periodic");
		assert_true(meter_sd_add(&sd, METER_SD_SAMPLED, mv, &l, NULL, NULL) >= 0);
		json_decref(mv);
		assert_true(sd.bytes + one <= l.max_bytes + one / 2);
	}
	assert_true(sd.n <= 8);
	meter_sd_clear(&sd);

	/* a value bigger than the bound alone: kept, no endless thinning */
	l = (struct meter_sd_limits){.max_values = 4, .max_bytes = 10};
	for (int i = 0; i < 5; i++) {
		mv = mv_at(t0 + i * SEC, i, "Sample.Periodic");
		assert_true(meter_sd_add(&sd, METER_SD_SAMPLED, mv, &l, NULL, NULL) >= 0);
		json_decref(mv);
	}
	assert_true(sd.n <= 2);
	meter_sd_clear(&sd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_measurands_parse),
	    cmocka_unit_test(test_keys_narrowed),
	    cmocka_unit_test(test_align_900),
	    cmocka_unit_test(test_align_odd),
	    cmocka_unit_test(test_align_due),
	    cmocka_unit_test(test_sample_next),
	    cmocka_unit_test(test_energy),
	    cmocka_unit_test(test_avg),
	    cmocka_unit_test(test_sum),
	    cmocka_unit_test(test_value_each_measurand),
	    cmocka_unit_test(test_value_phases_and_gaps),
	    cmocka_unit_test(test_stopdata_collect),
	    cmocka_unit_test(test_stopdata_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
