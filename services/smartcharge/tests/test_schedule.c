/* Composite schedules, computed by hand: stacking, gaps, periods that begin after the
 * requested start, validFrom/validTo inside the window and on their edges, recurring daily
 * across midnight and weekly, relative profiles from the transaction's start, unit
 * conversion and merging. Connectors are rated 32 A, three phases, at 230 V unless said. */
#include "sc_test.h"

#include "schedule.h"

#define T0 "2026-03-02T10:00:00Z" /* a Monday */

struct fixture {
	struct sc_profile_set set;
	struct sc_conn_ctx conns[2];
	struct sc_cp_ctx cp;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	for (int i = 0; i < 2; i++)
		f->conns[i] = (struct sc_conn_ctx){.rated_a = 32, .phases = 3};
	f->cp = (struct sc_cp_ctx){
	    .voltage = 230, .phases = 3, .profiles = &f->set, .conns = f->conns, .n_conns = 2};
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	sc_set_free(&f->set);
	free(f);
	return 0;
}

struct want {
	int64_t at_s;   /* from the window's start */
	double limit_a; /* A per phase */
	int64_t id;     /* the profile setting it, 0: the rated current */
};

static void
expect(struct fixture *f, int conn, const char *from_s, int64_t duration_s, const struct want *w,
       size_t n)
{
	struct sc_slot slots[64];
	int64_t from = sc_test_time(from_s), end;
	int got = sc_composite(&f->cp, conn, from, from + duration_s * 1000, slots, 64, &end);
	assert_int_equal(end, from + duration_s * 1000);
	for (int i = 0; i < got; i++)
		print_message("  slot %d: %+lld s %.3f A (%s #%lld)\n", i,
		              (long long)(slots[i].start - from) / 1000, slots[i].v.limit_a,
		              slots[i].v.profile ? sc_purpose_name(slots[i].v.profile->purpose)
		                                 : "rated",
		              slots[i].v.profile ? (long long)slots[i].v.profile->id : 0LL);
	assert_int_equal(got, (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(slots[i].start, from + w[i].at_s * 1000);
		assert_float_equal(slots[i].v.limit_a, w[i].limit_a, 1e-9);
		assert_int_equal(slots[i].v.profile ? slots[i].v.profile->id : 0, w[i].id);
	}
}

#define EXPECT(f, conn, from, dur, ...)                                                            \
	do {                                                                                       \
		const struct want w_[] = {__VA_ARGS__};                                            \
		expect(f, conn, from, dur, w_, sizeof(w_) / sizeof(w_[0]));                        \
	} while (0)

static void
no_profiles_is_the_rating(void **state)
{
	struct fixture *f = *state;
	EXPECT(f, 1, T0, 3600, {0, 32, 0});
	f->conns[1].rated_a = 16;
	EXPECT(f, 2, T0, 3600, {0, 16, 0});
	EXPECT(f, 0, T0, 3600, {0, 48, 0}); /* the charge point: the sum */
}

static void
higher_stack_level_wins_while_it_lasts(void **state)
{
	struct fixture *f = *state;
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':16}]}}");
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':2,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':"
	    "'2026-03-02T10:10:00Z','duration':1200,'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10}]}}");
	EXPECT(f, 1, T0, 3600, {0, 16, 1}, {600, 10, 2}, {1800, 16, 1});
	EXPECT(f, 2, T0, 3600, {0, 16, 1}, {600, 10, 2}, {1800, 16, 1});
}

static void
periods_that_begin_after_the_requested_start(void **state)
{
	struct fixture *f = *state;
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':20},"
	    "{'startPeriod':900,'limit':12},{'startPeriod':1800,'limit':8}]}}");
	EXPECT(f, 1, "2026-03-02T10:05:00Z", 3600, {0, 20, 1}, {600, 12, 1}, {1500, 8, 1});
	/* connector 2 has none of it */
	EXPECT(f, 2, "2026-03-02T10:05:00Z", 3600, {0, 32, 0});
}

static void
gaps_between_profiles_show_what_lies_below(void **state)
{
	struct fixture *f = *state;
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':1,'stackLevel':2,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'duration':600,'chargingRateUnit':'A','chargingSchedulePeriod':"
	    "[{'startPeriod':0,'limit':8}]}}");
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':2,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':"
	    "'2026-03-02T10:20:00Z','duration':600,'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':12}]}}");
	/* its first period starts 300 s into the schedule: nothing before */
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':3,'stackLevel':3,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':"
	    "'2026-03-02T10:40:00Z','chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':300,'limit':6}]}}");
	EXPECT(f, 1, T0, 3600, {0, 8, 1}, {600, 32, 0}, {1200, 12, 2}, {1800, 32, 0}, {2700, 6, 3});
}

static void
profiles_valid_inside_the_window(void **state)
{
	struct fixture *f = *state;
	struct sc_value v;
	int64_t next, t0 = sc_test_time(T0);
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':16}]}}");
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':2,'stackLevel':3,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','validFrom':'2026-03-02T10:15:00Z',"
	    "'validTo':'2026-03-02T10:25:00Z','chargingSchedule':{'startSchedule':"
	    "'2026-03-02T09:00:00Z','chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}");
	EXPECT(f, 1, T0, 3600, {0, 16, 1}, {900, 6, 2}, {1500, 16, 1});

	/* the edges: validFrom belongs to the profile, validTo does not */
	sc_limit_at(&f->cp, 1, t0 + 899999, t0, &v, &next);
	assert_float_equal(v.limit_a, 16, 1e-9);
	assert_int_equal(next, t0 + 900000);
	sc_limit_at(&f->cp, 1, t0 + 900000, t0, &v, &next);
	assert_float_equal(v.limit_a, 6, 1e-9);
	assert_int_equal(next, t0 + 1500000);
	sc_limit_at(&f->cp, 1, t0 + 1499999, t0, &v, &next);
	assert_float_equal(v.limit_a, 6, 1e-9);
	sc_limit_at(&f->cp, 1, t0 + 1500000, t0, &v, &next);
	assert_float_equal(v.limit_a, 16, 1e-9);
	assert_int_equal(next, SC_NEVER);
}

static void
recurring_daily_across_midnight(void **state)
{
	struct fixture *f = *state;
	/* 22:00 16 A, from midnight 20 A, from 06:00 8 A, every day */
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Daily','chargingSchedule':"
	    "{'startSchedule':'2026-03-01T22:00:00Z','chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':16},"
	    "{'startPeriod':7200,'limit':20},{'startPeriod':28800,'limit':8}]}}");
	EXPECT(f, 1, "2026-03-02T21:00:00Z", 36000, {0, 8, 1}, {3600, 16, 1}, {10800, 20, 1},
	       {32400, 8, 1});
	/* a week later, the same */
	EXPECT(f, 1, "2026-03-09T21:00:00Z", 36000, {0, 8, 1}, {3600, 16, 1}, {10800, 20, 1},
	       {32400, 8, 1});
}

static void
recurring_daily_with_a_duration(void **state)
{
	struct fixture *f = *state;
	/* 10 A from 22:00 for 8 hours; the rest of the day no limit (the rating) */
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':2,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Daily','chargingSchedule':"
	    "{'startSchedule':'2026-03-01T22:00:00Z','duration':28800,'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10}]}}");
	EXPECT(f, 1, "2026-03-02T20:00:00Z", 43200, {0, 32, 0}, {7200, 10, 2}, {36000, 32, 0});
}

static void
recurring_weekly(void **state)
{
	struct fixture *f = *state;
	/* Monday to Friday 10 A, weekends 20 A */
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Weekly','chargingSchedule':"
	    "{'startSchedule':'2026-03-02T00:00:00Z','chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10},"
	    "{'startPeriod':432000,'limit':20}]}}");
	/* Sunday noon to Tuesday noon */
	EXPECT(f, 1, "2026-03-08T12:00:00Z", 172800, {0, 20, 1}, {43200, 10, 1});
	/* before the first startSchedule the week repeats too: Saturday is weekend */
	EXPECT(f, 1, "2026-02-28T12:00:00Z", 86400, {0, 20, 1});
	/* Wednesday */
	EXPECT(f, 1, "2026-03-04T08:00:00Z", 3600, {0, 10, 1});
}

static void
relative_profiles_start_with_the_transaction(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = sc_test_time(T0);
	f->conns[0].tx = true;
	f->conns[0].tx_start = t0 - 300000;
	f->conns[0].transaction_id = 7;
	sc_test_add(&f->set, 1,
	            "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	            "'chargingProfileKind':'Relative','chargingSchedule':{'chargingRateUnit':'A',"
	            "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6},"
	            "{'startPeriod':600,'limit':16}]}}");
	/* connector 2: no transaction, so it starts with the window */
	sc_test_add(
	    &f->set, 2,
	    "{'chargingProfileId':2,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Relative','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':8},"
	    "{'startPeriod':600,'limit':12}]}}");
	EXPECT(f, 1, T0, 1200, {0, 6, 1}, {300, 16, 1});
	EXPECT(f, 2, T0, 1200, {0, 8, 2}, {600, 12, 2});
	/* once a transaction runs there, from its start */
	f->conns[1].tx = true;
	f->conns[1].tx_start = t0 - 60000;
	EXPECT(f, 2, T0, 1200, {0, 8, 2}, {540, 12, 2});
}

static void
absolute_without_start_counts_from_the_transaction(void **state)
{
	struct fixture *f = *state;
	f->conns[0].tx = true;
	f->conns[0].tx_start = sc_test_time(T0) - 30000;
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10},"
	    "{'startPeriod':60,'limit':20}]}}");
	EXPECT(f, 1, T0, 120, {0, 10, 1}, {30, 20, 1});
}

static void
units_convert_with_voltage_and_phases(void **state)
{
	struct fixture *f = *state;
	struct sc_slot slots[8];
	int64_t from = sc_test_time(T0), end;
	f->conns[1].phases = 1;
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'W','chargingSchedulePeriod':[{'startPeriod':0,'limit':11040},"
	    "{'startPeriod':600,'limit':3680,'numberPhases':1}]}}");
	/* 11040 W / (230 V * 3) = 16 A; 3680 W on one phase = 16 A */
	int n = sc_composite(&f->cp, 1, from, from + 1200000, slots, 8, &end);
	assert_int_equal(n, 2); /* same current, different phases: two periods */
	assert_int_equal(slots[0].v.phases, 3);
	assert_int_equal(slots[1].v.phases, 1);
	assert_float_equal(sc_value_in(&slots[0].v, SC_UNIT_W, 230), 11040, 1e-9);
	assert_float_equal(sc_value_in(&slots[1].v, SC_UNIT_W, 230), 3680, 1e-9);
	assert_float_equal(sc_value_in(&slots[1].v, SC_UNIT_A, 230), 16, 1e-9);

	/* a three-phase W limit on a one-phase connector: all of it on one phase */
	sc_test_add(
	    &f->set, 2,
	    "{'chargingProfileId':2,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'W','chargingSchedulePeriod':[{'startPeriod':0,'limit':4600}]}}");
	n = sc_composite(&f->cp, 2, from, from + 60000, slots, 8, &end);
	assert_int_equal(n, 1);
	assert_float_equal(slots[0].v.limit_a, 20, 1e-9);
	assert_int_equal(slots[0].v.phases, 1);
	assert_float_equal(sc_value_in(&slots[0].v, SC_UNIT_W, 230), 4600, 1e-9);

	/* an A limit shown in W: A * V * phases */
	sc_test_add(&f->set, 0,
	            "{'chargingProfileId':3,'stackLevel':0,'chargingProfilePurpose':"
	            "'ChargePointMaxProfile','chargingProfileKind':'Absolute','chargingSchedule':"
	            "{'startSchedule':'" T0 "','chargingRateUnit':'A','chargingSchedulePeriod':"
	            "[{'startPeriod':0,'limit':10}]}}");
	n = sc_composite(&f->cp, 1, from, from + 60000, slots, 8, &end);
	assert_int_equal(n, 1);
	assert_int_equal(slots[0].v.profile->id, 3);
	assert_float_equal(sc_value_in(&slots[0].v, SC_UNIT_W, 230), 6900, 1e-9);
}

static void
equal_neighbours_merge(void **state)
{
	struct fixture *f = *state;
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':16},"
	    "{'startPeriod':600,'limit':16},{'startPeriod':1200,'limit':10}]}}");
	/* a higher profile in W that comes to the same 16 A */
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':2,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':"
	    "'2026-03-02T10:05:00Z','duration':600,'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':11040}]}}");
	EXPECT(f, 1, T0, 3600, {0, 16, 1}, {1200, 10, 1});
}

static void
purposes_combine(void **state)
{
	struct fixture *f = *state;
	f->conns[0].tx = true;
	f->conns[0].tx_start = sc_test_time(T0);
	f->conns[0].transaction_id = 7;
	sc_test_add(&f->set, 0,
	            "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':"
	            "'ChargePointMaxProfile','chargingProfileKind':'Absolute','chargingSchedule':"
	            "{'startSchedule':'" T0 "','chargingRateUnit':'A','chargingSchedulePeriod':"
	            "[{'startPeriod':0,'limit':20},{'startPeriod':1200,'limit':8}]}}");
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':2,'stackLevel':5,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':24},"
	    "{'startPeriod':900,'limit':10}]}}");
	/* the TxProfile overrides the TxDefaultProfile whatever the stack levels, while it lasts */
	sc_test_add(&f->set, 1,
	            "{'chargingProfileId':3,'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	            "'transactionId':7,'chargingProfileKind':'Relative','chargingSchedule':"
	            "{'duration':600,'chargingRateUnit':'A','chargingSchedulePeriod':"
	            "[{'startPeriod':0,'limit':16}]}}");
	EXPECT(f, 1, T0, 3600, {0, 16, 3}, {600, 20, 1}, {900, 10, 2}, {1200, 8, 1});
	/* connector 2: no transaction, no TxProfile */
	EXPECT(f, 2, T0, 3600, {0, 20, 1}, {900, 10, 2}, {1200, 8, 1});
	/* a TxProfile of another transaction does not apply */
	f->conns[0].transaction_id = 8;
	EXPECT(f, 1, T0, 3600, {0, 20, 1}, {900, 10, 2}, {1200, 8, 1});
}

static void
connector_profile_beats_connector_zero_on_a_tie(void **state)
{
	struct fixture *f = *state;
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':10}]}}");
	sc_test_add(
	    &f->set, 1,
	    "{'chargingProfileId':2,'stackLevel':1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':14}]}}");
	EXPECT(f, 1, T0, 60, {0, 14, 2});
	EXPECT(f, 2, T0, 60, {0, 10, 1});
	EXPECT(f, 0, T0, 60, {0, 24, 0}); /* 14 + 10 */
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':3,'stackLevel':2,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'" T0 "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':8}]}}");
	EXPECT(f, 1, T0, 60, {0, 8, 3});
	EXPECT(f, 2, T0, 60, {0, 8, 3});
	/* the charge point's maximum caps the sum */
	sc_test_add(&f->set, 0,
	            "{'chargingProfileId':4,'stackLevel':0,'chargingProfilePurpose':"
	            "'ChargePointMaxProfile','chargingProfileKind':'Absolute','chargingSchedule':"
	            "{'startSchedule':'" T0 "','chargingRateUnit':'A','chargingSchedulePeriod':"
	            "[{'startPeriod':0,'limit':12}]}}");
	EXPECT(f, 0, T0, 60, {0, 12, 4});
}

static void
schedule_json(void **state)
{
	struct fixture *f = *state;
	struct sc_slot slots[8];
	int64_t from = sc_test_time(T0), end;
	/* boundaries at a fraction of a second (a transaction started at .400) round to seconds */
	f->conns[0].tx = true;
	f->conns[0].tx_start = from + 400;
	sc_test_add(&f->set, 1,
	            "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	            "'chargingProfileKind':'Relative','chargingSchedule':{'chargingRateUnit':'A',"
	            "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6},"
	            "{'startPeriod':600,'limit':16.5}]}}");
	int n = sc_composite(&f->cp, 1, from, from + 3600000, slots, 8, &end);
	assert_int_equal(n, 3); /* rated for 0.4 s, then 6 A, then 16.5 A */
	json_t *j = sc_schedule_json(slots, (size_t)n, from, end, SC_UNIT_W, 230);
	json_t *want = sc_test_json(
	    "{'duration':3600,'startSchedule':'2026-03-02T10:00:00.000Z','chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':4140.0,'numberPhases':3},"
	    "{'startPeriod':600,'limit':11385.0,'numberPhases':3}]}");
	char *got = json_dumps(j, JSON_SORT_KEYS);
	print_message("  %s\n", got);
	assert_true(json_equal(j, want));
	free(got);
	json_decref(j);
	json_decref(want);
}

static void
composites_longer_than_the_buffer_are_cut(void **state)
{
	struct fixture *f = *state;
	struct sc_slot slots[4];
	int64_t from = sc_test_time(T0), end;
	sc_test_add(
	    &f->set, 0,
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Daily','chargingSchedule':"
	    "{'startSchedule':'2026-03-01T00:00:00Z','chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10},"
	    "{'startPeriod':43200,'limit':20}]}}");
	int n = sc_composite(&f->cp, 1, from, from + 7 * SC_DAY_MS, slots, 4, &end);
	assert_int_equal(n, 4);
	/* 10:00 10 A, 12:00 20 A, 00:00 10 A, 12:00 20 A: ends where a fifth would begin */
	assert_int_equal(end, sc_test_time("2026-03-04T00:00:00Z"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(no_profiles_is_the_rating, setup, teardown),
	    cmocka_unit_test_setup_teardown(higher_stack_level_wins_while_it_lasts, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(periods_that_begin_after_the_requested_start, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(gaps_between_profiles_show_what_lies_below, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(profiles_valid_inside_the_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(recurring_daily_across_midnight, setup, teardown),
	    cmocka_unit_test_setup_teardown(recurring_daily_with_a_duration, setup, teardown),
	    cmocka_unit_test_setup_teardown(recurring_weekly, setup, teardown),
	    cmocka_unit_test_setup_teardown(relative_profiles_start_with_the_transaction, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(absolute_without_start_counts_from_the_transaction,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(units_convert_with_voltage_and_phases, setup, teardown),
	    cmocka_unit_test_setup_teardown(equal_neighbours_merge, setup, teardown),
	    cmocka_unit_test_setup_teardown(purposes_combine, setup, teardown),
	    cmocka_unit_test_setup_teardown(connector_profile_beats_connector_zero_on_a_tie, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(schedule_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(composites_longer_than_the_buffer_are_cut, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
