/* Unit tests for sitegate/time.h: clocks, RFC 3339 formatting and parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sitegate/time.h"

#define T_MIN INT64_C(-62167219200000) /* 0000-01-01T00:00:00.000Z */
#define T_MAX INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static void
assert_format(int64_t ms, const char *want)
{
	char buf[SG_TIME_RFC3339_LEN];

	assert_int_equal(sg_time_format(ms, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void
assert_parse(const char *s, int64_t want)
{
	int64_t got = INT64_MIN;

	if (sg_time_parse(s, &got) != 0)
		fail_msg("sg_time_parse(\"%s\") failed", s);
	if (got != want)
		fail_msg("sg_time_parse(\"%s\") = %" PRId64 ", want %" PRId64, s, got, want);
}

static void
assert_reject(const char *s)
{
	int64_t got = 42;
	int rc = sg_time_parse(s, &got);

	if (rc != -EINVAL)
		fail_msg("sg_time_parse(\"%s\") = %d (%" PRId64 "), want -EINVAL", s, rc, got);
	assert_int_equal(got, 42); /* untouched on failure */
}

static void
test_clocks(void **state)
{
	int64_t m1 = sg_time_mono_ms(), m2 = sg_time_mono_ms();
	int64_t wall = sg_time_wall_ms();
	int64_t now = (int64_t)time(NULL) * 1000;

	assert_true(m1 >= 0);
	assert_true(m2 >= m1);
	assert_true(wall > now - 2000 && wall < now + 2000);
}

static void
test_epoch(void **state)
{
	assert_format(0, "1970-01-01T00:00:00.000Z");
	assert_parse("1970-01-01T00:00:00Z", 0);
	assert_parse("1970-01-01T00:00:00.000Z", 0);
	assert_parse("1970-01-01T01:00:00+01:00", 0);
}

static void
test_known_values(void **state)
{
	assert_format(INT64_C(1795311777123), "2026-11-22T01:42:57.123Z");
	assert_parse("2026-11-22T01:42:57.123Z", INT64_C(1795311777123));
	assert_format(INT64_C(946684800000), "2000-01-01T00:00:00.000Z");
	assert_format(INT64_C(2147483648000), "2038-01-19T03:14:08.000Z");
	assert_parse("2038-01-19T03:14:08Z", INT64_C(2147483648000));
	assert_format(INT64_C(1709208000000), "2024-02-29T12:00:00.000Z");
	assert_format(INT64_C(1709251199999), "2024-02-29T23:59:59.999Z");
	assert_format(INT64_C(1709251200000), "2024-03-01T00:00:00.000Z");
}

static void
test_negative(void **state)
{
	assert_format(-1, "1969-12-31T23:59:59.999Z");
	assert_parse("1969-12-31T23:59:59.999Z", -1);
	assert_format(-1000, "1969-12-31T23:59:59.000Z");
	assert_format(-86400000, "1969-12-31T00:00:00.000Z");
	assert_format(-86400001, "1969-12-30T23:59:59.999Z");
	assert_format(INT64_C(-2208988800000), "1900-01-01T00:00:00.000Z");
	assert_parse("1900-01-01T00:00:00Z", INT64_C(-2208988800000));
	assert_parse("1600-03-01T00:00:00.5Z", INT64_C(-11670912000000) + 500);
	assert_format(INT64_C(-11670912000000), "1600-03-01T00:00:00.000Z");
}

static void
test_leap_years(void **state)
{
	assert_parse("2000-02-29T00:00:00Z", INT64_C(951782400000));
	assert_parse("2024-02-29T12:00:00Z", INT64_C(1709208000000));
	assert_parse("1600-02-29T00:00:00Z", INT64_C(-11670998400000));
	assert_parse("0000-02-29T00:00:00Z", T_MIN + INT64_C(59) * 86400000);
	assert_reject("1900-02-29T00:00:00Z");
	assert_reject("2100-02-29T00:00:00Z");
	assert_reject("2023-02-29T00:00:00Z");
	assert_reject("2024-02-30T00:00:00Z");
	/* Day 366 of a leap year, and the day after. */
	assert_format(INT64_C(1735603200000), "2024-12-31T00:00:00.000Z");
	assert_format(INT64_C(1735689600000), "2025-01-01T00:00:00.000Z");
}

static void
test_bounds(void **state)
{
	char buf[64];

	assert_format(T_MIN, "0000-01-01T00:00:00.000Z");
	assert_format(T_MAX, "9999-12-31T23:59:59.999Z");
	assert_parse("0000-01-01T00:00:00Z", T_MIN);
	assert_parse("9999-12-31T23:59:59.999Z", T_MAX);
	assert_int_equal(sg_time_format(T_MIN - 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_time_format(T_MAX + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_time_format(INT64_MIN, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_time_format(INT64_MAX, buf, sizeof(buf)), -EINVAL);
	/* Offsets may carry a time just past either end; it still parses. */
	assert_parse("0000-01-01T00:00:00+01:00", T_MIN - 3600000);
	assert_parse("9999-12-31T23:59:59.999-01:00", T_MAX + 3600000);
}

static void
test_buffer_size(void **state)
{
	char buf[SG_TIME_RFC3339_LEN];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(sg_time_format(0, buf, SG_TIME_RFC3339_LEN - 1), -ENOSPC);
	assert_int_equal(sg_time_format(0, buf, 0), -ENOSPC);
	assert_int_equal(sg_time_format(0, NULL, 0), -ENOSPC);
	assert_int_equal(sg_time_format(0, buf, SG_TIME_RFC3339_LEN), SG_TIME_RFC3339_LEN - 1);
	assert_int_equal(buf[SG_TIME_RFC3339_LEN - 1], '\0');
}

/* Checks one value against the C library's gmtime_r() (an independent oracle)
 * and through a parse round trip. */
static void
check_against_gmtime(int64_t ms)
{
	char buf[SG_TIME_RFC3339_LEN], want[64];
	int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t back = INT64_MIN;
	time_t tt = (time_t)sec;
	struct tm tm;

	assert_non_null(gmtime_r(&tt, &tm));
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (int)(ms - sec * 1000));
	assert_int_equal(sg_time_format(ms, buf, sizeof(buf)), SG_TIME_RFC3339_LEN - 1);
	if (strcmp(buf, want) != 0)
		fail_msg("%" PRId64 ": got %s, gmtime says %s", ms, buf, want);
	assert_int_equal(sg_time_parse(buf, &back), 0);
	if (back != ms)
		fail_msg("%s parsed to %" PRId64 ", want %" PRId64, buf, back, ms);
}

static void
test_round_trip(void **state)
{
	/* Every day (at a varying time of day) from 1900 to 2200 ... */
	for (int64_t day = -25567; day < 84000; day++)
		check_against_gmtime(day * 86400000 +
		                     (day * 7919 % 86400000 + 86400000) % 86400000);
	/* ... and a stride over the whole range, hitting every millisecond digit. */
	for (int64_t ms = T_MIN; ms <= T_MAX; ms += INT64_C(99999989) * 1009)
		check_against_gmtime(ms);
	check_against_gmtime(T_MIN);
	check_against_gmtime(T_MAX);
}

static void
test_offsets(void **state)
{
	const int64_t t = INT64_C(1795311777000); /* 2026-11-22T01:42:57Z */

	assert_parse("2026-11-22T02:42:57+01:00", t);
	assert_parse("2026-11-22T02:42:57+0100", t);
	assert_parse("2026-11-22T02:42:57+01", t);
	assert_parse("2026-11-21T20:12:57-05:30", t);
	assert_parse("2026-11-21T20:12:57-0530", t);
	assert_parse("2026-11-21T20:42:57-05", t);
	assert_parse("2026-11-22T01:42:57+00:00", t);
	assert_parse("2026-11-22T01:42:57-00:00", t);
	assert_parse("2026-11-23T01:41:57+23:59", t);
	assert_parse("2026-11-21T01:43:57-23:59", t);
	assert_parse("2026-11-22T07:27:57.999+05:45", t + 999);
	assert_reject("2026-11-22T01:42:57+24:00");
	assert_reject("2026-11-22T01:42:57+01:60");
	assert_reject("2026-11-22T01:42:57+1");
	assert_reject("2026-11-22T01:42:57+01:");
	assert_reject("2026-11-22T01:42:57+01:0");
	assert_reject("2026-11-22T01:42:57+010");
	assert_reject("2026-11-22T01:42:57+01000");
	assert_reject("2026-11-22T01:42:57+01:00:00");
	assert_reject("2026-11-22T01:42:57+01:00Z");
	assert_reject("2026-11-22T01:42:57 +01:00");
	assert_reject("2026-11-22T01:42:57+");
	assert_reject("2026-11-22T01:42:57-");
	assert_reject("2026-11-22T01:42:57*01:00");
	assert_reject("2026-11-22T01:42:57+a1:00");
}

static void
test_fraction(void **state)
{
	const int64_t t = INT64_C(1795311777000);

	assert_parse("2026-11-22T01:42:57.1Z", t + 100);
	assert_parse("2026-11-22T01:42:57.12Z", t + 120);
	assert_parse("2026-11-22T01:42:57.123Z", t + 123);
	assert_parse("2026-11-22T01:42:57.1239Z", t + 123);
	assert_parse("2026-11-22T01:42:57.000999Z", t);
	assert_parse("2026-11-22T01:42:57.123456789Z", t + 123);
	assert_parse("2026-11-22T01:42:57.99999999999999999999999999999999Z", t + 999);
	assert_parse("2026-11-22T01:42:57.0Z", t);
	assert_parse("2026-11-22T02:42:57.5+01:00", t + 500);
	/* Truncation, not rounding, also before 1970. */
	assert_parse("1969-12-31T23:59:59.9999Z", -1);
	assert_reject("2026-11-22T01:42:57.Z");
	assert_reject("2026-11-22T01:42:57.");
	assert_reject("2026-11-22T01:42:57,123Z");
	assert_reject("2026-11-22T01:42:57.12a3Z");
	assert_reject("2026-11-22T01:42:57..1Z");
	assert_reject("2026-11-22T01:42:57.-1Z");
}

static void
test_lower_case(void **state)
{
	const int64_t t = INT64_C(1795311777000);

	assert_parse("2026-11-22t01:42:57z", t);
	assert_parse("2026-11-22t01:42:57Z", t);
	assert_parse("2026-11-22T01:42:57z", t);
	assert_parse("2026-11-22t02:42:57+01:00", t);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2026",
	    "2026-11",
	    "2026-11-22",
	    "2026-11-22T",
	    "2026-11-22T01",
	    "2026-11-22T01:42",
	    "2026-11-22T01:42Z",
	    "2026-11-22T01:42:57",   /* no offset: local time is ambiguous */
	    "2026-11-22T01:42:57.5", /* same with a fraction */
	    "2026-11-22 01:42:57Z",  /* space separator */
	    "2026-11-22_01:42:57Z",
	    "2026-11-2201:42:57Z",
	    "20261122T014257Z", /* basic format */
	    "2026-11-22T014257Z",
	    "26-11-22T01:42:57Z",
	    "02026-11-22T01:42:57Z",
	    "+2026-11-22T01:42:57Z",
	    "-2026-11-22T01:42:57Z",
	    "2026-1-22T01:42:57Z",
	    "2026-11-2T01:42:57Z",
	    "2026-11-22T1:42:57Z",
	    "2026-11-22T01:4:57Z",
	    "2026-11-22T01:42:5Z",
	    "2026-11-22T01:42:57ZZ",
	    "2026-11-22T01:42:57Z ",
	    " 2026-11-22T01:42:57Z",
	    "2026-11-22T01:42:57Zgarbage",
	    "2026-11-22T01:42:57Z\n",
	    "2026/11/22T01:42:57Z",
	    "2026-11-22T01-42-57Z",
	    "2026-11-22T01:42:57UTC",
	    "2026-11-22T01:42:57GMT",
	    "2026-11-22X01:42:57Z",
	    "2026-11-22T01:42:5xZ",
	    "2O26-11-22T01:42:57Z",
	    "2026-11-22T01:42:57\xc2\xa0Z",
	    "Sun, 22 Nov 2026 01:42:57 GMT",
	    "1795311777",
	    /* out-of-range fields */
	    "2026-00-22T01:42:57Z",
	    "2026-13-01T00:00:00Z",
	    "2026-99-01T00:00:00Z",
	    "2026-11-00T01:42:57Z",
	    "2026-01-32T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-06-31T00:00:00Z",
	    "2026-09-31T00:00:00Z",
	    "2026-11-31T00:00:00Z",
	    "2026-11-22T24:00:00Z",
	    "2026-11-22T25:00:00Z",
	    "2026-11-22T23:60:00Z",
	    "2026-11-22T23:59:60Z", /* leap seconds are not accepted */
	    "2026-11-22T23:59:61Z",
	    "2026-11-22T99:99:99Z",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_reject(bad[i]);
	assert_int_equal(sg_time_parse(NULL, &(int64_t){0}), -EINVAL);
	assert_int_equal(sg_time_parse("2026-11-22T01:42:57Z", NULL), -EINVAL);
}

static void
test_month_ends(void **state)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char s[32];
	int64_t t;

	for (int m = 1; m <= 12; m++) {
		snprintf(s, sizeof(s), "2025-%02d-%02dT00:00:00Z", m, len[m - 1]);
		assert_int_equal(sg_time_parse(s, &t), 0);
		snprintf(s, sizeof(s), "2025-%02d-%02dT00:00:00Z", m, len[m - 1] + 1);
		assert_reject(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clocks),       cmocka_unit_test(test_epoch),
	    cmocka_unit_test(test_known_values), cmocka_unit_test(test_negative),
	    cmocka_unit_test(test_leap_years),   cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_buffer_size),  cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_offsets),      cmocka_unit_test(test_fraction),
	    cmocka_unit_test(test_lower_case),   cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_month_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
