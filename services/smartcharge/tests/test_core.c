/* The service's decisions without a broker: the Central System's calls and their answers,
 * transactions and their TxProfiles, RemoteStartTransaction's profile, the limits and
 * their sources, period boundaries, charge point maximums and the site's share, restoring
 * from the database. */
#include "sc_test.h"

#include <math.h>

#include "smartcharge.h"

#define NOW "2026-03-02T10:00:00.250Z"

static struct sg_config conf;
static struct sg_cp_conf cp_confs[3];

struct fixture {
	struct sc_core core;
	int64_t now;
};

static void
make_conf(int n_cps, const int *n_conns, double grid)
{
	memset(&conf, 0, sizeof(conf));
	memset(cp_confs, 0, sizeof(cp_confs));
	conf.site.grid_limit_a = grid;
	conf.site.nominal_voltage = 230;
	conf.site.phases = 3;
	for (int i = 0; i < n_cps; i++) {
		snprintf(cp_confs[i].id, sizeof(cp_confs[i].id), "CP%d", i + 1);
		cp_confs[i].n_connectors = n_conns[i];
		for (int j = 0; j < n_conns[i]; j++) {
			cp_confs[i].connectors[j].id = j + 1;
			cp_confs[i].connectors[j].max_current_a = 32;
			cp_confs[i].connectors[j].phases = 3;
		}
	}
	conf.cps = cp_confs;
	conf.n_cps = n_cps;
}

static int
setup_with(void **state, int n_cps, const int *n_conns, double grid)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sc_share_params par;
	make_conf(n_cps, n_conns, grid);
	sc_share_params_default(&par, grid);
	assert_int_equal(sc_core_init(&f->core, &conf, &par), 0);
	f->now = sc_test_time(NOW);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	static const int conns[] = {2};
	return setup_with(state, 1, conns, 63);
}

static int
setup_site(void **state)
{
	static const int conns[] = {2, 2, 1};
	return setup_with(state, 3, conns, 32);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	sc_core_fini(&f->core);
	free(f);
	return 0;
}

static struct sc_cp *
cp(struct fixture *f, int i)
{
	return &f->core.cps[i];
}

/* Calls action on CP1 with the payload, returns the answer (to be freed). */
static json_t *
call(struct fixture *f, const char *action, const char *payload)
{
	json_t *p = sc_test_json(payload);
	json_t *r = sc_core_call(&f->core, cp(f, 0), action, p, f->now);
	json_decref(p);
	assert_non_null(r);
	return r;
}

static const char *
status_of(struct fixture *f, const char *action, const char *payload)
{
	static char s[32];
	json_t *r = call(f, action, payload);
	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(r, "status")));
	json_decref(r);
	return s;
}

static char *
set_text(int conn, int id, int stack, const char *purpose, double limit, const char *extra)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
	         "{'connectorId':%d,'csChargingProfiles':{'chargingProfileId':%d,'stackLevel':%d,"
	         "'chargingProfilePurpose':'%s','chargingProfileKind':'Relative',%s"
	         "'chargingSchedule':{'chargingRateUnit':'A','chargingSchedulePeriod':"
	         "[{'startPeriod':0,'limit':%.1f}]}}}",
	         conn, id, stack, purpose, extra ? extra : "", limit);
	return buf;
}

#define SET(f, conn, id, stack, purpose, limit, extra)                                             \
	status_of(f, "SetChargingProfile", set_text(conn, id, stack, purpose, limit, extra))

static void
update(struct fixture *f)
{
	char why[200];
	sc_core_update(&f->core, f->now);
	if (sc_core_check(&f->core, why, sizeof(why)) < 0)
		fail_msg("%s", why);
}

static void
expect_limit(struct fixture *f, int cpi, int conn, double limit, const char *source)
{
	const struct sc_conn *c = &cp(f, cpi)->conns[conn - 1];
	if (fabs(c->limit_a - limit) > 1e-9 || strcmp(c->source, source) != 0)
		fail_msg("%s/%d: %.2f A (%s), expected %.2f A (%s)", cp(f, cpi)->id, conn,
		         c->limit_a, c->source, limit, source);
}

static void
set_charging_profile_answers(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(SET(f, 0, 1, 0, "TxDefaultProfile", 16, NULL), "Accepted");
	assert_string_equal(SET(f, 1, 2, 0, "TxDefaultProfile", 16, NULL), "Accepted");
	assert_string_equal(SET(f, 0, 3, 0, "ChargePointMaxProfile", 40, NULL), "Accepted");
	assert_string_equal(SET(f, 1, 4, 1, "ChargePointMaxProfile", 40, NULL), "Rejected");
	assert_string_equal(SET(f, 3, 5, 0, "TxDefaultProfile", 16, NULL), "Rejected");
	assert_string_equal(SET(f, 1, 6, 0, "TxProfile", 16, NULL), "Rejected"); /* no tx */
	assert_string_equal(SET(f, 0, 6, 0, "TxProfile", 16, NULL), "Rejected");
	/* ChargeProfileMaxStackLevel: 30 */
	assert_string_equal(SET(f, 0, 7, 30, "TxDefaultProfile", 16, NULL), "Accepted");
	assert_string_equal(SET(f, 0, 8, 31, "TxDefaultProfile", 16, NULL), "Rejected");
	assert_string_equal(status_of(f, "SetChargingProfile", "{'connectorId':0}"), "Rejected");
	assert_string_equal(
	    status_of(f, "SetChargingProfile", "{'connectorId':-1,'csChargingProfiles':{}}"),
	    "Rejected");
	assert_int_equal(cp(f, 0)->profiles.n, 4);
	assert_true(cp(f, 0)->dirty);
}

static void
limits_of_the_keys(void **state)
{
	struct fixture *f = *state;
	char text[8192];
	size_t o;
	/* ChargingScheduleMaxPeriods: 48 */
	for (int n = 48; n <= 49; n++) {
		o = (size_t)snprintf(text, sizeof(text),
		                     "{'connectorId':0,'csChargingProfiles':{'chargingProfileId':1,"
		                     "'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
		                     "'chargingProfileKind':'Relative','chargingSchedule':{"
		                     "'chargingRateUnit':'A','chargingSchedulePeriod':[");
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o,
			                      "%s{'startPeriod':%d,'limit':%d}", i ? "," : "",
			                      i * 60, 6 + i % 10);
		snprintf(text + o, sizeof(text) - o, "]}}}");
		assert_string_equal(status_of(f, "SetChargingProfile", text),
		                    n == 48 ? "Accepted" : "Rejected");
	}
	/* MaxChargingProfilesInstalled: 30; replacing one is fine at the limit */
	for (int id = 2; id <= 30; id++)
		assert_string_equal(SET(f, id % 3, id, id, "TxDefaultProfile", 10, NULL),
		                    "Accepted");
	assert_int_equal(cp(f, 0)->profiles.n, 30);
	assert_string_equal(SET(f, 0, 31, 0, "ChargePointMaxProfile", 10, NULL), "Rejected");
	assert_string_equal(SET(f, 2, 30, 30, "TxDefaultProfile", 12, NULL), "Accepted");
	/* ChargingScheduleAllowedChargingRateUnit = Current */
	cp(f, 0)->rules.allow_w = false;
	assert_string_equal(
	    status_of(
	        f, "SetChargingProfile",
	        "{'connectorId':0,'csChargingProfiles':{'chargingProfileId':30,'stackLevel':0,"
	        "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':'Relative',"
	        "'chargingSchedule':{'chargingRateUnit':'W','chargingSchedulePeriod':"
	        "[{'startPeriod':0,'limit':11000}]}}}"),
	    "Rejected");
	assert_string_equal(status_of(f, "GetCompositeSchedule",
	                              "{'connectorId':1,'duration':60,'chargingRateUnit':'W'}"),
	                    "Rejected");
}

static void
tx_profiles_belong_to_their_transaction(void **state)
{
	struct fixture *f = *state;
	sc_core_tx_started(&f->core, cp(f, 0), 1, 101, 0, f->now, NULL, f->now);
	assert_true(cp(f, 0)->conns[0].tx);
	assert_string_equal(SET(f, 1, 1, 0, "TxProfile", 10, NULL), "Accepted");
	/* its id is not known yet */
	assert_string_equal(SET(f, 1, 2, 1, "TxProfile", 10, "'transactionId':42,"), "Rejected");
	sc_core_tx_id(&f->core, cp(f, 0), 101, 42);
	assert_int_equal(cp(f, 0)->conns[0].transaction_id, 42);
	assert_string_equal(SET(f, 1, 2, 1, "TxProfile", 10, "'transactionId':42,"), "Accepted");
	assert_string_equal(SET(f, 1, 3, 2, "TxProfile", 10, "'transactionId':41,"), "Rejected");
	assert_string_equal(SET(f, 2, 3, 2, "TxProfile", 10, NULL), "Rejected");
	assert_int_equal(cp(f, 0)->profiles.n, 2);
	/* a stop of another transaction changes nothing */
	sc_core_tx_stopped(&f->core, cp(f, 0), 1, 100);
	assert_int_equal(cp(f, 0)->profiles.n, 2);
	sc_core_tx_stopped(&f->core, cp(f, 0), 1, 101);
	assert_false(cp(f, 0)->conns[0].tx);
	assert_int_equal(cp(f, 0)->profiles.n, 0);
	assert_string_equal(SET(f, 1, 1, 0, "TxProfile", 10, NULL), "Rejected");
	/* a new transaction while one runs: the old one ended unseen, its profile goes */
	sc_core_tx_started(&f->core, cp(f, 0), 2, 201, 7, f->now, NULL, f->now);
	assert_string_equal(SET(f, 2, 4, 0, "TxProfile", 10, "'transactionId':7,"), "Accepted");
	sc_core_tx_started(&f->core, cp(f, 0), 2, 202, 8, f->now, NULL, f->now);
	assert_int_equal(cp(f, 0)->profiles.n, 0);
	/* the same start again (after a restart): nothing happens */
	assert_string_equal(SET(f, 2, 4, 0, "TxProfile", 10, NULL), "Accepted");
	sc_core_tx_started(&f->core, cp(f, 0), 2, 202, 8, f->now, NULL, f->now);
	assert_int_equal(cp(f, 0)->profiles.n, 1);
}

static void
clear_charging_profile_answers(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(SET(f, 0, 1, 0, "TxDefaultProfile", 16, NULL), "Accepted");
	assert_string_equal(SET(f, 1, 2, 1, "TxDefaultProfile", 16, NULL), "Accepted");
	assert_string_equal(SET(f, 0, 3, 0, "ChargePointMaxProfile", 40, NULL), "Accepted");
	cp(f, 0)->dirty = false;
	assert_string_equal(status_of(f, "ClearChargingProfile", "{'id':9}"), "Unknown");
	assert_string_equal(status_of(f, "ClearChargingProfile", "{'connectorId':2}"), "Unknown");
	assert_false(cp(f, 0)->dirty);
	assert_string_equal(status_of(f, "ClearChargingProfile", "{'id':2}"), "Accepted");
	assert_true(cp(f, 0)->dirty);
	assert_string_equal(
	    status_of(f, "ClearChargingProfile",
	              "{'connectorId':0,'chargingProfilePurpose':'TxDefaultProfile',"
	              "'stackLevel':0}"),
	    "Accepted");
	assert_int_equal(cp(f, 0)->profiles.n, 1);
	assert_string_equal(status_of(f, "ClearChargingProfile", "{}"), "Accepted");
	assert_string_equal(status_of(f, "ClearChargingProfile", "{}"), "Unknown");
}

static void
get_composite_schedule_answers(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(
	    status_of(
	        f, "SetChargingProfile",
	        "{'connectorId':0,'csChargingProfiles':{'chargingProfileId':1,'stackLevel':0,"
	        "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':'Absolute',"
	        "'chargingSchedule':{'startSchedule':'2026-03-02T10:05:00Z',"
	        "'chargingRateUnit':'W','chargingSchedulePeriod':[{'startPeriod':0,'limit':"
	        "11040},{'startPeriod':600,'limit':4140}]}}}"),
	    "Accepted");
	json_t *r = call(f, "GetCompositeSchedule",
	                 "{'connectorId':1,'duration':3600,'chargingRateUnit':'A'}");
	json_t *want = sc_test_json(
	    "{'status':'Accepted','connectorId':1,'scheduleStart':'2026-03-02T10:00:00.250Z',"
	    "'chargingSchedule':{'duration':3600,'startSchedule':'2026-03-02T10:00:00.250Z',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':32.0,"
	    "'numberPhases':3},{'startPeriod':300,'limit':16.0,'numberPhases':3},"
	    "{'startPeriod':900,'limit':6.0,'numberPhases':3}]}}");
	char *got = json_dumps(r, JSON_SORT_KEYS);
	print_message("  %s\n", got);
	free(got);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);

	/* connector 0: both connectors together; in W by default when asked so */
	r = call(f, "GetCompositeSchedule",
	         "{'connectorId':0,'duration':600,'chargingRateUnit':'W'}");
	json_t *periods =
	    json_object_get(json_object_get(r, "chargingSchedule"), "chargingSchedulePeriod");
	assert_int_equal(json_array_size(periods), 2);
	assert_float_equal(json_real_value(json_object_get(json_array_get(periods, 0), "limit")),
	                   44160, 1e-9); /* 2 x 32 A x 690 */
	assert_float_equal(json_real_value(json_object_get(json_array_get(periods, 1), "limit")),
	                   22080, 1e-9); /* 2 x 11040 W */
	json_decref(r);

	assert_string_equal(status_of(f, "GetCompositeSchedule", "{'connectorId':3,'duration':60}"),
	                    "Rejected");
	assert_string_equal(status_of(f, "GetCompositeSchedule", "{'connectorId':1,'duration':0}"),
	                    "Rejected");
	/* no unit asked: A */
	r = call(f, "GetCompositeSchedule", "{'connectorId':2,'duration':60}");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(r, "chargingSchedule"), "chargingRateUnit")),
	                    "A");
	json_decref(r);
}

static void
limits_follow_profiles_and_transactions(void **state)
{
	struct fixture *f = *state;
	update(f);
	expect_limit(f, 0, 1, 32, "connector rating");
	expect_limit(f, 0, 2, 32, "connector rating");
	assert_string_equal(SET(f, 0, 1, 0, "TxDefaultProfile", 16, NULL), "Accepted");
	update(f);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
	sc_core_tx_started(&f->core, cp(f, 0), 1, 101, 5, f->now, NULL, f->now);
	update(f);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
	assert_string_equal(SET(f, 1, 2, 0, "TxProfile", 10, NULL), "Accepted");
	update(f);
	expect_limit(f, 0, 1, 10, "TxProfile #2");
	expect_limit(f, 0, 2, 16, "TxDefaultProfile #1");
	/* an OCPP limit below 6 A: nothing */
	assert_string_equal(SET(f, 1, 2, 0, "TxProfile", 4, NULL), "Accepted");
	update(f);
	expect_limit(f, 0, 1, 0, "TxProfile #2: below 6 A");
	sc_core_tx_stopped(&f->core, cp(f, 0), 1, 101);
	update(f);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
}

static void
limits_change_at_period_boundaries(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(
	    status_of(
	        f, "SetChargingProfile",
	        "{'connectorId':1,'csChargingProfiles':{'chargingProfileId':1,'stackLevel':0,"
	        "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':'Absolute',"
	        "'chargingSchedule':{'startSchedule':'2026-03-02T10:00:00Z',"
	        "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':"
	        "16},{'startPeriod':600,'limit':8}]}}}"),
	    "Accepted");
	int64_t due = sc_core_update(&f->core, f->now);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
	assert_int_equal(due, sc_test_time("2026-03-02T10:10:00Z"));
	f->now = due - 1;
	update(f);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
	f->now = due;
	update(f);
	expect_limit(f, 0, 1, 8, "TxDefaultProfile #1");
	assert_int_equal(sc_core_update(&f->core, f->now), SC_NEVER);
	/* the wall clock is set back: the limits are those of the new time at once */
	f->now = due - 60000;
	update(f);
	expect_limit(f, 0, 1, 16, "TxDefaultProfile #1");
}

static void
remote_start_profile_is_the_tx_profile(void **state)
{
	struct fixture *f = *state;
	json_t *p = sc_test_json("{'chargingProfileId':7,'stackLevel':0,'chargingProfilePurpose':"
	                         "'TxProfile','chargingProfileKind':'Relative','chargingSchedule':"
	                         "{'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':"
	                         "0,'limit':12},{'startPeriod':60,'limit':20}]}}");
	sc_core_tx_started(&f->core, cp(f, 0), 1, 101, 0, f->now - 30000, p, f->now);
	json_decref(p);
	update(f);
	expect_limit(f, 0, 1, 12, "TxProfile #7");
	f->now += 30000;
	update(f);
	expect_limit(f, 0, 1, 20, "TxProfile #7");
	sc_core_tx_stopped(&f->core, cp(f, 0), 1, 101);
	assert_int_equal(cp(f, 0)->profiles.n, 0);
	/* not a TxProfile: not used */
	p = sc_test_json("{'chargingProfileId':8,'stackLevel':0,'chargingProfilePurpose':"
	                 "'TxDefaultProfile','chargingProfileKind':'Relative','chargingSchedule':"
	                 "{'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,"
	                 "'limit':12}]}}");
	sc_core_tx_started(&f->core, cp(f, 0), 2, 102, 0, f->now, p, f->now);
	json_decref(p);
	assert_int_equal(cp(f, 0)->profiles.n, 0);
	assert_true(cp(f, 0)->conns[1].tx);
}

static void
charge_point_maximum_is_shared(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(SET(f, 0, 1, 0, "ChargePointMaxProfile", 20, NULL), "Accepted");
	sc_core_tx_started(&f->core, cp(f, 0), 1, 101, 5, f->now, NULL, f->now);
	update(f);
	expect_limit(f, 0, 1, 20, "ChargePointMaxProfile #1");
	/* the idle one could start with nothing: the maximum is taken */
	expect_limit(f, 0, 2, 0, "site share: no room");
	sc_core_tx_started(&f->core, cp(f, 0), 2, 102, 6, f->now, NULL, f->now);
	update(f);
	expect_limit(f, 0, 1, 10, "ChargePointMaxProfile #1, shared");
	expect_limit(f, 0, 2, 10, "ChargePointMaxProfile #1, shared");
	/* unplugged: not active any more */
	sc_core_hw(&f->core, cp(f, 0), 2, false);
	update(f);
	expect_limit(f, 0, 1, 20, "ChargePointMaxProfile #1");
}

static void
site_of_three_charge_points(void **state)
{
	struct fixture *f = *state;
	struct {
		int cp, conn;
	} cars[] = {{0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}};
	const double shares[] = {32, 16, 10.6, 8, 6.4};
	for (int i = 0; i < 5; i++) {
		sc_core_tx_started(&f->core, cp(f, cars[i].cp), cars[i].conn, 100 + i, 0, f->now,
		                   NULL, f->now);
		f->now += 1000;
		update(f);
		for (int k = 0; k <= i; k++)
			expect_limit(f, cars[k].cp, cars[k].conn, shares[i],
			             i == 0 ? "connector rating" : "site share");
	}
	/* a car draws 3 A: it gets 6 A, the four others (32 - 6) / 4 = 6.5 A */
	f->now += 5000;
	sc_core_meter(&f->core, cp(f, 2), 1, 3.0, f->now);
	update(f);
	expect_limit(f, 2, 1, 6, "site share");
	expect_limit(f, 0, 1, 6.5, "site share");
	/* two leave */
	sc_core_tx_stopped(&f->core, cp(f, 0), 1, 100);
	sc_core_tx_stopped(&f->core, cp(f, 1), 1, 101);
	update(f);
	expect_limit(f, 2, 1, 6, "site share");
	expect_limit(f, 0, 2, 13, "site share");
	expect_limit(f, 1, 2, 13, "site share");
	expect_limit(f, 0, 1, 0, "site share: no room");
}

static void
restoring(void **state)
{
	struct fixture *f = *state;
	json_t *tx =
	    sc_test_json("{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':"
	                 "'TxProfile','chargingProfileKind':'Relative','chargingSchedule':"
	                 "{'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':"
	                 "0,'limit':10}]}}");
	json_t *tx2 =
	    sc_test_json("{'chargingProfileId':2,'stackLevel':0,'chargingProfilePurpose':"
	                 "'TxProfile','chargingProfileKind':'Relative','chargingSchedule':"
	                 "{'chargingRateUnit':'A','chargingSchedulePeriod':[{"
	                 "'startPeriod':0,'limit':10}]}}");
	json_t *bad = sc_test_json("{'chargingProfileId':3}");
	assert_int_equal(sc_core_restore_tx(&f->core, cp(f, 0), 1, 101, 42, f->now - 60000), 0);
	assert_int_equal(sc_core_restore_tx(&f->core, cp(f, 0), 3, 103, 0, f->now), -EINVAL);
	assert_int_equal(sc_core_restore_profile(&f->core, cp(f, 0), 1, tx), 0);
	assert_int_equal(sc_core_restore_profile(&f->core, cp(f, 0), 2, tx2), 0);
	assert_int_equal(sc_core_restore_profile(&f->core, cp(f, 0), 1, bad), -EINVAL);
	assert_int_equal(sc_core_restore_profile(&f->core, cp(f, 0), 5, tx2), -EINVAL);
	cp(f, 0)->dirty = false;
	sc_core_restored(&f->core);
	assert_int_equal(cp(f, 0)->profiles.n, 1); /* connector 2's has no transaction */
	assert_true(cp(f, 0)->dirty);
	update(f);
	expect_limit(f, 0, 1, 10, "TxProfile #1");
	/* the connector is Available: the transaction ended while we were away */
	sc_core_conn_state(&f->core, cp(f, 0), 1, "Charging", 42);
	assert_true(cp(f, 0)->conns[0].tx);
	sc_core_conn_state(&f->core, cp(f, 0), 1, "Available", 0);
	assert_false(cp(f, 0)->conns[0].tx);
	assert_int_equal(cp(f, 0)->profiles.n, 0);
	json_decref(tx);
	json_decref(tx2);
	json_decref(bad);
}

static void
conn_state_fills_in_the_transaction_id(void **state)
{
	struct fixture *f = *state;
	sc_core_tx_started(&f->core, cp(f, 0), 1, 101, 0, f->now, NULL, f->now);
	sc_core_conn_state(&f->core, cp(f, 0), 1, "Available", 0); /* not restored: ignored */
	assert_true(cp(f, 0)->conns[0].tx);
	sc_core_conn_state(&f->core, cp(f, 0), 1, "Charging", 77);
	assert_int_equal(cp(f, 0)->conns[0].transaction_id, 77);
	assert_string_equal(SET(f, 1, 1, 0, "TxProfile", 10, "'transactionId':77,"), "Accepted");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(set_charging_profile_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(limits_of_the_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(tx_profiles_belong_to_their_transaction, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(clear_charging_profile_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(get_composite_schedule_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(limits_follow_profiles_and_transactions, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(limits_change_at_period_boundaries, setup, teardown),
	    cmocka_unit_test_setup_teardown(remote_start_profile_is_the_tx_profile, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(charge_point_maximum_is_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(site_of_three_charge_points, setup_site, teardown),
	    cmocka_unit_test_setup_teardown(restoring, setup, teardown),
	    cmocka_unit_test_setup_teardown(conn_state_fills_in_the_transaction_id, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
