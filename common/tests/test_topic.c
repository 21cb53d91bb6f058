/* Unit tests of the topic templates (topic.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sitegate/topic.h"

static struct sg_topic_args
args_make(const char *svc, const char *cp, int conn, const char *name)
{
	struct sg_topic_args a = {.conn = conn};

	strncpy(a.svc, svc, sizeof(a.svc) - 1);
	strncpy(a.cp, cp, sizeof(a.cp) - 1);
	strncpy(a.name, name, sizeof(a.name) - 1);
	return a;
}

static void
format_basic(void **state)
{
	struct sg_topic_args a = args_make("meter", "CP-1", 2, "BootNotification");
	char buf[SG_TOPIC_MAX];

	assert_int_equal(sg_topic_format("sitegate", "service/{svc}/status", &a, buf, sizeof(buf)),
	                 strlen("sitegate/service/meter/status"));
	assert_string_equal(buf, "sitegate/service/meter/status");
	assert_int_equal(sg_topic_format("sg", "{cp}/{conn}/state", &a, buf, sizeof(buf)), 15);
	assert_string_equal(buf, "sg/CP-1/2/state");
	assert_true(sg_topic_format("test/abc", "{cp}/ocpp/{name}", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "test/abc/CP-1/ocpp/BootNotification");
	/* No prefix. */
	assert_true(sg_topic_format("", "{cp}/state", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "CP-1/state");
	assert_true(sg_topic_format(NULL, "{cp}/state", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "CP-1/state");
	/* Connector 0 and the largest. */
	a.conn = 0;
	assert_true(sg_topic_format("p", "{cp}/{conn}/state", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "p/CP-1/0/state");
	a.conn = 9999;
	assert_true(sg_topic_format("p", "{cp}/{conn}/state", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "p/CP-1/9999/state");
	/* A placeholder twice. */
	assert_true(sg_topic_format("p", "{cp}/x/{cp}", &a, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "p/CP-1/x/CP-1");
}

static void
pattern_basic(void **state)
{
	char buf[SG_TOPIC_MAX];

	assert_int_equal(sg_topic_pattern("sitegate", "service/{svc}/status", buf, sizeof(buf)),
	                 strlen("sitegate/service/+/status"));
	assert_string_equal(buf, "sitegate/service/+/status");
	assert_true(sg_topic_pattern("test/abc", "{cp}/{conn}/state", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "test/abc/+/+/state");
	assert_true(sg_topic_pattern("test/abc", "{cp}/ocpp/{name}", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "test/abc/+/ocpp/+");
	assert_int_equal(sg_topic_pattern("a#", "{cp}/state", buf, sizeof(buf)), -EINVAL);
}

static void
round_trip(void **state)
{
	static const char *const prefixes[] = {"sitegate", "test/abc", "a/b/c/d", ""};
	static const char *const tmpls[] = {"service/{svc}/status", "{cp}/{conn}/state",
	                                    "{cp}/ocpp/{name}", "{cp}/{conn}/meter",
	                                    "{svc}/{cp}/{conn}/{name}"};
	struct sg_topic_args a = args_make("auth", "DE*ABC*E123", 17, "StatusNotification"), out;
	char buf[SG_TOPIC_MAX];

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		for (size_t j = 0; j < sizeof(tmpls) / sizeof(tmpls[0]); j++) {
			struct sg_topic_args want = {0};

			assert_true(sg_topic_format(prefixes[i], tmpls[j], &a, buf, sizeof(buf)) >
			            0);
			assert_int_equal(sg_topic_parse(prefixes[i], tmpls[j], buf, &out), 0);
			if (strstr(tmpls[j], "{svc}"))
				strcpy(want.svc, a.svc);
			if (strstr(tmpls[j], "{cp}"))
				strcpy(want.cp, a.cp);
			if (strstr(tmpls[j], "{conn}"))
				want.conn = a.conn;
			if (strstr(tmpls[j], "{name}"))
				strcpy(want.name, a.name);
			assert_memory_equal(&out, &want, sizeof(out));
		}
	}
}

static void
values_at_limits(void **state)
{
	struct sg_topic_args a = args_make("s", "c", 1, "n"), out;
	char buf[SG_TOPIC_MAX];

	memset(a.cp, 'x', sizeof(a.cp) - 1); /* 63 bytes: fits */
	assert_true(sg_topic_format("p", "{cp}/state", &a, buf, sizeof(buf)) > 0);
	assert_int_equal(sg_topic_parse("p", "{cp}/state", buf, &out), 0);
	assert_string_equal(out.cp, a.cp);

	/* A field without its NUL is refused rather than overread. */
	memset(a.svc, 'y', sizeof(a.svc));
	assert_int_equal(sg_topic_format("p", "service/{svc}/status", &a, buf, sizeof(buf)),
	                 -EINVAL);
}

static void
bad_values(void **state)
{
	static const char *const bad[] = {"", "a/b", "a+", "#", "x#y", "+"};
	char buf[SG_TOPIC_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sg_topic_args a = args_make(bad[i], bad[i], 1, bad[i]);

		assert_int_equal(sg_topic_format("p", "service/{svc}/status", &a, buf, sizeof(buf)),
		                 -EINVAL);
		assert_int_equal(sg_topic_format("p", "{cp}/state", &a, buf, sizeof(buf)), -EINVAL);
		assert_int_equal(sg_topic_format("p", "x/{name}", &a, buf, sizeof(buf)), -EINVAL);
	}
	struct sg_topic_args a = args_make("s", "c", -1, "n");

	assert_int_equal(sg_topic_format("p", "{cp}/{conn}/state", &a, buf, sizeof(buf)), -EINVAL);
	a.conn = 10000;
	assert_int_equal(sg_topic_format("p", "{cp}/{conn}/state", &a, buf, sizeof(buf)), -EINVAL);
	/* Values that the template does not use are not checked. */
	assert_true(sg_topic_format("p", "{cp}/state", &a, buf, sizeof(buf)) > 0);
	/* Wildcards in the prefix. */
	a.conn = 1;
	assert_int_equal(sg_topic_format("p/+", "{cp}/state", &a, buf, sizeof(buf)), -EINVAL);
}

static void
bad_templates(void **state)
{
	static const char *const bad[] = {"",          "{cp}x/state", "{foo}/state", "{cp/state",
	                                  "x/{}/y",    "a/{conn}}",   "a/+/b",       "a/#",
	                                  "x{name}/y", "{CP}/state"};
	struct sg_topic_args a = args_make("s", "c", 1, "n"), out;
	char buf[SG_TOPIC_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sg_topic_format("p", bad[i], &a, buf, sizeof(buf)), -EINVAL);
		assert_int_equal(sg_topic_pattern("p", bad[i], buf, sizeof(buf)), -EINVAL);
		assert_true(sg_topic_parse("p", bad[i], "p/c/state", &out) < 0);
	}
}

static void
overflow(void **state)
{
	struct sg_topic_args a = args_make("meter", "CP-1", 12, "n");
	char buf[SG_TOPIC_MAX];
	const char *want = "test/abc/CP-1/12/state";
	size_t n = strlen(want);

	/* Exactly enough room, then one byte short. */
	assert_int_equal(sg_topic_format("test/abc", "{cp}/{conn}/state", &a, buf, n + 1), (int)n);
	assert_string_equal(buf, want);
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(sg_topic_format("test/abc", "{cp}/{conn}/state", &a, buf, n), -ENOSPC);
	assert_int_equal(buf[n - 1], '\0');
	assert_int_equal(buf[n], 'Z');
	assert_int_equal(sg_topic_format("test/abc", "{cp}/{conn}/state", &a, NULL, 0), -ENOSPC);
	assert_int_equal(sg_topic_pattern("test/abc", "{cp}/{conn}/state", buf, 5), -ENOSPC);
	assert_int_equal(sg_topic_pattern("test/abc", "{cp}/{conn}/state", buf, 18), -ENOSPC);
	assert_int_equal(sg_topic_pattern("test/abc", "{cp}/{conn}/state", buf, 19), 18);
}

static void
parse_mismatch(void **state)
{
	static const struct {
		const char *prefix, *tmpl, *topic;
	} cases[] = {
	    {"test/abc", "{cp}/{conn}/state", "test/abd/CP/1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abcd/CP/1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1/stat"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1/states"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1/state/"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1/state/x"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc//1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP//state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/x/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/-1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/+1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/01/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/10000/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/1a/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/CP/ 1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/+/1/state"},
	    {"test/abc", "{cp}/{conn}/state", "test/abc/#/1/state"},
	    {"test/abc", "{cp}/{conn}/state", "CP/1/state"},
	    {"p", "service/{svc}/status", "p/service/status"},
	    {"p", "service/{svc}/status", "p/service/a/b/status"},
	    /* A value longer than its field: svc holds 31 bytes. */
	    {"p", "service/{svc}/status", "p/service/0123456789012345678901234567890X/status"},
	    {"p", "{cp}/x/{cp}", "p/A/x/B"},
	    {"", "{cp}/state", "/CP/state"},
	};
	struct sg_topic_args out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = sg_topic_parse(cases[i].prefix, cases[i].tmpl, cases[i].topic, &out);

		if (r != -ENOENT)
			fail_msg("topic \"%s\": got %d, want -ENOENT", cases[i].topic, r);
	}
	/* The longest value that fits. */
	assert_int_equal(sg_topic_parse("p", "service/{svc}/status",
	                                "p/service/0123456789012345678901234567890/status", &out),
	                 0);
	assert_string_equal(out.svc, "0123456789012345678901234567890");
	assert_int_equal(sg_topic_parse("p", "{cp}/x/{cp}", "p/A/x/A", &out), 0);
	assert_string_equal(out.cp, "A");
	assert_int_equal(sg_topic_parse("p", "{cp}/{conn}/state", "p/A/0/state", &out), 0);
	assert_int_equal(out.conn, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(format_basic), cmocka_unit_test(pattern_basic),
	    cmocka_unit_test(round_trip),   cmocka_unit_test(values_at_limits),
	    cmocka_unit_test(bad_values),   cmocka_unit_test(bad_templates),
	    cmocka_unit_test(overflow),     cmocka_unit_test(parse_mismatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
