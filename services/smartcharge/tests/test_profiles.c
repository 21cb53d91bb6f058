/* Charging profiles: decoding, the installation rules (the keys' limits, purposes and
 * connectors, transactions) and the set's replacing and clearing. */
#include "sc_test.h"

#define NOW "2026-03-02T10:00:00Z"

static const struct sc_rules rules = {
    .max_stack_level = 3,
    .max_periods = 4,
    .max_profiles = 3,
    .allow_a = true,
    .allow_w = true,
    .n_connectors = 2,
};

/* A profile with the fields given; the rest of a valid TxDefaultProfile. */
static char *
profile_text(int id, int stack, const char *purpose, const char *extra)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
	         "{'chargingProfileId':%d,'stackLevel':%d,'chargingProfilePurpose':'%s',"
	         "'chargingProfileKind':'Absolute',%s'chargingSchedule':{'startSchedule':'" NOW "',"
	         "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':16}]}}",
	         id, stack, purpose, extra ? extra : "");
	return buf;
}

static int
parse(const char *text, int conn, struct sc_profile *p, char *why)
{
	json_t *j = sc_test_json(text);
	int rc = sc_profile_parse(j, conn, p, why, 160);
	json_decref(j);
	if (rc < 0)
		print_message("  refused: %s\n", why);
	return rc;
}

static void
decodes_every_field(void **state)
{
	struct sc_profile p;
	char why[160];
	assert_int_equal(
	    parse("{'chargingProfileId':12,'transactionId':7,'stackLevel':2,"
	          "'chargingProfilePurpose':'TxProfile','chargingProfileKind':'Recurring',"
	          "'recurrencyKind':'Weekly','validFrom':'2026-03-01T00:00:00Z',"
	          "'validTo':'2026-04-01T00:00:00+02:00','chargingSchedule':{'duration':86400,"
	          "'startSchedule':'2026-03-02T00:00:00Z','chargingRateUnit':'W',"
	          "'minChargingRate':1380.0,'chargingSchedulePeriod':[{'startPeriod':0,"
	          "'limit':11000.5,'numberPhases':3},{'startPeriod':3600,'limit':4140}]}}",
	          1, &p, why),
	    0);
	assert_int_equal(p.id, 12);
	assert_int_equal(p.connector, 1);
	assert_int_equal(p.transaction_id, 7);
	assert_int_equal(p.stack_level, 2);
	assert_int_equal(p.purpose, SC_PURPOSE_TX);
	assert_int_equal(p.kind, SC_KIND_RECURRING);
	assert_int_equal(p.recurrency, SC_RECUR_WEEKLY);
	assert_int_equal(p.valid_from, sc_test_time("2026-03-01T00:00:00Z"));
	assert_int_equal(p.valid_to, sc_test_time("2026-03-31T22:00:00Z"));
	assert_true(p.has_start);
	assert_int_equal(p.start_schedule, sc_test_time("2026-03-02T00:00:00Z"));
	assert_int_equal(p.duration_s, 86400);
	assert_int_equal(p.unit, SC_UNIT_W);
	assert_float_equal(p.min_rate, 1380, 1e-9);
	assert_int_equal(p.n_periods, 2);
	assert_int_equal(p.periods[1].start_s, 3600);
	assert_float_equal(p.periods[0].limit, 11000.5, 1e-9);
	assert_int_equal(p.periods[0].phases, 3);
	assert_int_equal(p.periods[1].phases, 0);
	assert_non_null(p.json);

	struct sc_profile q;
	assert_int_equal(sc_profile_copy(&p, &q), 0);
	assert_int_equal(q.n_periods, 2);
	assert_ptr_not_equal(q.periods, p.periods);
	sc_profile_clear(&p);
	assert_float_equal(q.periods[0].limit, 11000.5, 1e-9);
	sc_profile_clear(&q);
	sc_profile_clear(NULL);
}

static void
defaults_and_what_is_ignored(void **state)
{
	struct sc_profile p;
	char why[160];
	/* duration 0 means none; a Relative schedule has no startSchedule */
	assert_int_equal(parse("{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':"
	                       "'TxDefaultProfile','chargingProfileKind':'Relative',"
	                       "'recurrencyKind':'Daily','chargingSchedule':{'duration':0,"
	                       "'startSchedule':'" NOW "','chargingRateUnit':'A',"
	                       "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	                       0, &p, why),
	                 0);
	assert_int_equal(p.duration_s, -1);
	assert_false(p.has_start);
	assert_int_equal(p.recurrency, SC_RECUR_NONE);
	assert_int_equal(p.valid_from, SC_TIME_MIN);
	assert_int_equal(p.valid_to, SC_TIME_MAX);
	assert_true(p.min_rate < 0);
	sc_profile_clear(&p);
}

static void
refuses_what_breaks_the_rules_of_the_message(void **state)
{
	static const char *const bad[] = {
	    "[]",
	    "{'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':"
	    "'Absolute','chargingSchedule':{'chargingRateUnit':'A','chargingSchedulePeriod':"
	    "[{'startPeriod':0,'limit':6}]}}",
	    /* negative stack level */
	    "{'chargingProfileId':1,'stackLevel':-1,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'Other',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    /* Recurring without recurrencyKind, without startSchedule */
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','chargingSchedule':{'startSchedule':'" NOW "',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Daily','chargingSchedule':"
	    "{'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    /* periods out of order, empty, numberPhases 4, negative limit */
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6},{'startPeriod':0,'limit':8}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6,'numberPhases':4}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':-6}]}}",
	    /* validTo not after validFrom; a bad timestamp; a bad unit */
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','validFrom':'" NOW "','validTo':'" NOW "',"
	    "'chargingSchedule':{'chargingRateUnit':'A','chargingSchedulePeriod':"
	    "[{'startPeriod':0,'limit':6}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'startSchedule':'yesterday',"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'kW',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	    /* a string where a number belongs */
	    "{'chargingProfileId':'1','stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sc_profile p;
		char why[160] = "";
		print_message("  case %zu\n", i);
		assert_int_equal(parse(bad[i], 0, &p, why), -EINVAL);
		assert_true(why[0] != '\0');
		assert_null(p.periods);
		assert_null(p.json);
	}
}

static int
check(const char *text, int conn, const struct sc_tx_view *tx)
{
	struct sc_profile p;
	char why[160];
	int64_t now = sc_test_time(NOW);
	if (parse(text, conn, &p, why) < 0)
		fail_msg("unexpected parse failure: %s", why);
	int rc = sc_profile_check(&p, &rules, tx, now, why, sizeof(why));
	if (rc < 0)
		print_message("  not installed: %s\n", why);
	sc_profile_clear(&p);
	return rc;
}

static void
installation_rules(void **state)
{
	struct sc_tx_view none = {0}, tx7 = {.active = true, .transaction_id = 7};
	assert_int_equal(check(profile_text(1, 0, "TxDefaultProfile", NULL), 0, NULL), 0);
	assert_int_equal(check(profile_text(1, 0, "TxDefaultProfile", NULL), 2, &none), 0);
	assert_int_equal(check(profile_text(1, 0, "TxDefaultProfile", NULL), 3, NULL), -EINVAL);
	assert_int_equal(check(profile_text(1, 0, "ChargePointMaxProfile", NULL), 0, NULL), 0);
	assert_int_equal(check(profile_text(1, 0, "ChargePointMaxProfile", NULL), 1, &tx7),
	                 -EINVAL);
	/* TxProfile: a connector with a transaction, the right transactionId if any */
	assert_int_equal(check(profile_text(1, 0, "TxProfile", NULL), 0, NULL), -EINVAL);
	assert_int_equal(check(profile_text(1, 0, "TxProfile", NULL), 1, &none), -EINVAL);
	assert_int_equal(check(profile_text(1, 0, "TxProfile", NULL), 1, &tx7), 0);
	assert_int_equal(check(profile_text(1, 0, "TxProfile", "'transactionId':7,"), 1, &tx7), 0);
	assert_int_equal(check(profile_text(1, 0, "TxProfile", "'transactionId':8,"), 1, &tx7),
	                 -EINVAL);
	/* ChargeProfileMaxStackLevel 3 */
	assert_int_equal(check(profile_text(1, 3, "TxDefaultProfile", NULL), 0, NULL), 0);
	assert_int_equal(check(profile_text(1, 4, "TxDefaultProfile", NULL), 0, NULL), -EINVAL);
	/* expired */
	assert_int_equal(
	    check(profile_text(1, 0, "TxDefaultProfile", "'validTo':'2026-03-02T09:59:59Z',"), 0,
	          NULL),
	    -EINVAL);
	assert_int_equal(
	    check(profile_text(1, 0, "TxDefaultProfile", "'validFrom':'2026-03-03T00:00:00Z',"), 0,
	          NULL),
	    0);
}

static void
periods_and_units_are_limited(void **state)
{
	struct sc_profile p;
	char why[160];
	struct sc_rules r = rules;
	int64_t now = sc_test_time(NOW);
	const char *five =
	    "{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':6},{'startPeriod':1,'limit':6},"
	    "{'startPeriod':2,'limit':6},{'startPeriod':3,'limit':6},{'startPeriod':4,'limit':6}]}"
	    "}";
	assert_int_equal(parse(five, 0, &p, why), 0);
	assert_int_equal(sc_profile_check(&p, &r, NULL, now, why, sizeof(why)), -EINVAL);
	print_message("  %s\n", why);
	r.max_periods = 5;
	assert_int_equal(sc_profile_check(&p, &r, NULL, now, why, sizeof(why)), 0);
	r.allow_w = false; /* ChargingScheduleAllowedChargingRateUnit = Current */
	assert_int_equal(sc_profile_check(&p, &r, NULL, now, why, sizeof(why)), -EINVAL);
	print_message("  %s\n", why);
	sc_profile_clear(&p);
}

static void
install(struct sc_profile_set *s, int conn, const char *text, int64_t max, int want_rc,
        size_t want_replaced)
{
	struct sc_profile p;
	char why[160];
	size_t replaced = 99;
	if (parse(text, conn, &p, why) < 0)
		fail_msg("%s", why);
	int rc = sc_set_install(s, &p, max, &replaced);
	assert_int_equal(rc, want_rc);
	if (rc == 0)
		assert_int_equal(replaced, want_replaced);
	else
		sc_profile_clear(&p);
}

static void
same_id_or_same_stack_purpose_connector_replaces(void **state)
{
	struct sc_profile_set s = {0};
	install(&s, 0, profile_text(1, 0, "TxDefaultProfile", NULL), 3, 0, 0);
	install(&s, 1, profile_text(2, 0, "TxDefaultProfile", NULL), 3, 0, 0); /* other conn */
	install(&s, 0, profile_text(3, 0, "ChargePointMaxProfile", NULL), 3, 0, 0);
	assert_int_equal(s.n, 3);
	/* the limit: a fourth is refused, a replacement is fine */
	install(&s, 0, profile_text(4, 1, "TxDefaultProfile", NULL), 3, -ENOSPC, 0);
	install(&s, 0, profile_text(1, 1, "TxDefaultProfile", NULL), 3, 0, 1); /* same id */
	install(&s, 0, profile_text(5, 1, "TxDefaultProfile", NULL), 3, 0, 1); /* same stack */
	assert_int_equal(s.n, 3);
	assert_null(sc_set_find(&s, 1));
	assert_non_null(sc_set_find(&s, 5));
	assert_int_equal(sc_set_find(&s, 5)->stack_level, 1);
	/* replacing two at once: id 2 and (stack 0, ChargePointMax, connector 0) */
	install(&s, 0, profile_text(2, 0, "ChargePointMaxProfile", NULL), 3, 0, 2);
	assert_int_equal(s.n, 2);
	assert_null(sc_set_find(&s, 3));
	assert_int_equal(sc_set_find(&s, 2)->connector, 0);
	sc_set_free(&s);
	sc_set_free(NULL);
}

static void
clearing(void **state)
{
	struct sc_profile_set s = {0};
	install(&s, 0, profile_text(1, 0, "ChargePointMaxProfile", NULL), 30, 0, 0);
	install(&s, 0, profile_text(2, 0, "TxDefaultProfile", NULL), 30, 0, 0);
	install(&s, 1, profile_text(3, 1, "TxDefaultProfile", NULL), 30, 0, 0);
	install(&s, 1, profile_text(4, 2, "TxProfile", NULL), 30, 0, 0);
	install(&s, 2, profile_text(5, 2, "TxProfile", NULL), 30, 0, 0);
	install(&s, 2, profile_text(6, 1, "TxDefaultProfile", NULL), 30, 0, 0);

	/* nothing matches */
	struct sc_clear_filter f = {.has_id = true, .id = 42};
	assert_int_equal(sc_set_clear(&s, &f), 0);
	f = (struct sc_clear_filter){
	    .has_connector = true, .connector = 2, .has_stack = true, .stack_level = 0};
	assert_int_equal(sc_set_clear(&s, &f), 0);
	/* by id, whatever else is said */
	f = (struct sc_clear_filter){
	    .has_id = true, .id = 3, .has_connector = true, .connector = 2};
	assert_int_equal(sc_set_clear(&s, &f), 1);
	assert_null(sc_set_find(&s, 3));
	/* by purpose and stack level */
	f = (struct sc_clear_filter){
	    .has_purpose = true, .purpose = SC_PURPOSE_TX, .has_stack = true, .stack_level = 2};
	assert_int_equal(sc_set_clear(&s, &f), 2);
	/* the transaction's end */
	install(&s, 1, profile_text(7, 3, "TxProfile", NULL), 30, 0, 0);
	assert_int_equal(sc_set_drop_tx(&s, 2), 0);
	assert_int_equal(sc_set_drop_tx(&s, 1), 1);
	/* by connector */
	f = (struct sc_clear_filter){.has_connector = true, .connector = 0};
	assert_int_equal(sc_set_clear(&s, &f), 2);
	assert_int_equal(s.n, 1);
	/* no criteria: everything */
	f = (struct sc_clear_filter){0};
	assert_int_equal(sc_set_clear(&s, &f), 1);
	assert_int_equal(s.n, 0);
	sc_set_free(&s);
}

static void
names(void **state)
{
	enum sc_purpose p;
	assert_string_equal(sc_purpose_name(SC_PURPOSE_TX_DEFAULT), "TxDefaultProfile");
	assert_int_equal(sc_purpose_parse("ChargePointMaxProfile", &p), 0);
	assert_int_equal(p, SC_PURPOSE_CP_MAX);
	assert_int_equal(sc_purpose_parse("txprofile", &p), -EINVAL);
	assert_int_equal(sc_purpose_parse(NULL, &p), -EINVAL);
	assert_string_equal(sc_unit_name(SC_UNIT_W), "W");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(decodes_every_field),
	    cmocka_unit_test(defaults_and_what_is_ignored),
	    cmocka_unit_test(refuses_what_breaks_the_rules_of_the_message),
	    cmocka_unit_test(installation_rules),
	    cmocka_unit_test(periods_and_units_are_limited),
	    cmocka_unit_test(same_id_or_same_stack_purpose_connector_replaces),
	    cmocka_unit_test(clearing),
	    cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
