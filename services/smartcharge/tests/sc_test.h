/* Helpers of the smartcharge unit tests. */
#ifndef SC_TEST_H
#define SC_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sitegate/time.h"

#include "profiles.h"

/* JSON written with ' for " (readable in C strings). */
static inline json_t *
sc_test_json(const char *text)
{
	char *s = strdup(text);
	json_error_t err;
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *j = json_loads(s, 0, &err);
	if (!j)
		fail_msg("bad test JSON (%s): %s", err.text, s);
	free(s);
	return j;
}

/* An RFC 3339 time in Unix ms. */
static inline int64_t
sc_test_time(const char *s)
{
	int64_t t = 0;
	if (sg_time_parse(s, &t) < 0)
		fail_msg("bad test time %s", s);
	return t;
}

/* Parses and installs a profile for connector conn into s. */
static inline void
sc_test_add(struct sc_profile_set *s, int conn, const char *text)
{
	json_t *j = sc_test_json(text);
	struct sc_profile p;
	char why[160];
	if (sc_profile_parse(j, conn, &p, why, sizeof(why)) < 0)
		fail_msg("test profile refused: %s", why);
	assert_int_equal(sc_set_install(s, &p, 1000, NULL), 0);
	json_decref(j);
}

#endif
