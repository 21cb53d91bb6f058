/* The decoders of the OCPP 1.6 payloads sitegate-auth reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth_ocpp.h"

static json_t *
js(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

static void
test_idtaginfo(void **state)
{
	struct auth_info i;
	char why[128];
	json_t *j;

	j = js("{\"status\":\"Accepted\",\"expiryDate\":\"2027-01-15T08:00:00Z\","
	       "\"parentIdTag\":\"FLEET\",\"extra\":1}");
	assert_int_equal(auth_ocpp_idtaginfo(j, &i, why, sizeof(why)), 0);
	assert_int_equal(i.status, AUTH_ACCEPTED);
	assert_int_equal(i.expiry, 1800000000000LL);
	assert_string_equal(i.parent, "FLEET");
	json_decref(j);

	j = js("{\"status\":\"Blocked\"}");
	assert_int_equal(auth_ocpp_idtaginfo(j, &i, why, sizeof(why)), 0);
	assert_int_equal(i.status, AUTH_BLOCKED);
	assert_int_equal(i.expiry, 0);
	assert_string_equal(i.parent, "");
	json_decref(j);

	static const char *const bad[] = {
	    "{}",
	    "{\"status\":\"accepted\"}",
	    "{\"status\":7}",
	    "{\"status\":\"Accepted\",\"expiryDate\":\"tomorrow\"}",
	    "{\"status\":\"Accepted\",\"expiryDate\":5}",
	    "{\"status\":\"Accepted\",\"parentIdTag\":\"123456789012345678901\"}",
	    "{\"status\":\"Accepted\",\"parentIdTag\":\"\"}",
	    "[]",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		j = js(bad[k]);
		why[0] = '\0';
		assert_int_equal(auth_ocpp_idtaginfo(j, &i, why, sizeof(why)), -EINVAL);
		assert_true(why[0] != '\0');
		json_decref(j);
	}
	assert_int_equal(auth_ocpp_idtaginfo(NULL, &i, why, sizeof(why)), -EINVAL);
}

static void
test_send_local_list(void **state)
{
	struct auth_list_update u;
	char why[128];
	json_t *j;

	j = js("{\"listVersion\":4,\"updateType\":\"Differential\",\"localAuthorizationList\":["
	       "{\"idTag\":\"A\",\"idTagInfo\":{\"status\":\"Accepted\",\"parentIdTag\":\"P\"}},"
	       "{\"idTag\":\"B\"}]}");
	assert_int_equal(auth_ocpp_send_local_list(j, 10, &u, why, sizeof(why)), 0);
	assert_int_equal(u.version, 4);
	assert_false(u.full);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.entries[0].id, "A");
	assert_true(u.entries[0].has_info);
	assert_string_equal(u.entries[0].info.parent, "P");
	assert_string_equal(u.entries[1].id, "B");
	assert_false(u.entries[1].has_info);
	auth_ocpp_update_free(&u);
	/* more than allowed: refused before anything is decoded */
	assert_int_equal(auth_ocpp_send_local_list(j, 1, &u, why, sizeof(why)), -E2BIG);
	assert_null(u.entries);
	json_decref(j);

	j = js("{\"listVersion\":1,\"updateType\":\"Full\"}");
	assert_int_equal(auth_ocpp_send_local_list(j, 10, &u, why, sizeof(why)), 0);
	assert_true(u.full);
	assert_int_equal(u.n, 0);
	json_decref(j);
	auth_ocpp_update_free(&u);

	static const char *const bad[] = {
	    "{\"updateType\":\"Full\"}",
	    "{\"listVersion\":\"1\",\"updateType\":\"Full\"}",
	    "{\"listVersion\":1,\"updateType\":\"Partial\"}",
	    "{\"listVersion\":1,\"updateType\":\"Full\",\"localAuthorizationList\":{}}",
	    "{\"listVersion\":1,\"updateType\":\"Full\",\"localAuthorizationList\":[1]}",
	    "{\"listVersion\":1,\"updateType\":\"Full\",\"localAuthorizationList\":[{}]}",
	    "{\"listVersion\":1,\"updateType\":\"Full\",\"localAuthorizationList\":"
	    "[{\"idTag\":\"A\",\"idTagInfo\":{\"status\":\"Maybe\"}}]}",
	    "{\"listVersion\":1,\"updateType\":\"Full\",\"localAuthorizationList\":"
	    "[{\"idTag\":\"A\"},{\"idTag\":\"123456789012345678901\"}]}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		j = js(bad[k]);
		assert_int_equal(auth_ocpp_send_local_list(j, 10, &u, why, sizeof(why)), -EINVAL);
		assert_null(u.entries);
		json_decref(j);
	}
}

static void
test_reservation_calls(void **state)
{
	struct auth_resv r;
	int64_t id;
	char why[128];
	json_t *j;

	j = js("{\"connectorId\":0,\"expiryDate\":\"2027-01-15T08:00:00.500+01:00\","
	       "\"idTag\":\"T\",\"parentIdTag\":\"G\",\"reservationId\":42}");
	assert_int_equal(auth_ocpp_reserve_now(j, &r, why, sizeof(why)), 0);
	assert_int_equal(r.conn, 0);
	assert_int_equal(r.id, 42);
	assert_string_equal(r.id_tag, "T");
	assert_string_equal(r.parent, "G");
	assert_int_equal(r.expiry % 1000, 500);
	json_decref(j);

	static const char *const bad[] = {
	    "{\"connectorId\":-1,\"expiryDate\":\"2027-01-15T08:00:00Z\",\"idTag\":\"T\","
	    "\"reservationId\":1}",
	    "{\"connectorId\":1,\"idTag\":\"T\",\"reservationId\":1}",
	    "{\"connectorId\":1,\"expiryDate\":\"2027-01-15T08:00:00Z\",\"reservationId\":1}",
	    "{\"connectorId\":1,\"expiryDate\":\"2027-01-15T08:00:00Z\",\"idTag\":\"T\"}",
	    "{\"connectorId\":1.5,\"expiryDate\":\"2027-01-15T08:00:00Z\",\"idTag\":\"T\","
	    "\"reservationId\":1}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		j = js(bad[k]);
		assert_int_equal(auth_ocpp_reserve_now(j, &r, why, sizeof(why)), -EINVAL);
		json_decref(j);
	}

	j = js("{\"reservationId\":42}");
	assert_int_equal(auth_ocpp_cancel_reservation(j, &id, why, sizeof(why)), 0);
	assert_int_equal(id, 42);
	json_decref(j);
	j = js("{\"reservationId\":\"42\"}");
	assert_int_equal(auth_ocpp_cancel_reservation(j, &id, why, sizeof(why)), -EINVAL);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idtaginfo),
	    cmocka_unit_test(test_send_local_list),
	    cmocka_unit_test(test_reservation_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
