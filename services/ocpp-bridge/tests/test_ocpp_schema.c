/* Tests of the OCPP 1.6J message tables and the payload validator.
 *
 * The first test loads the official schemas that ocpp-rpc ships (the strict test CSMS uses the
 * same file) and compares them with the C tables in both directions, so that the tables cannot
 * drift. Runs from the repository root; node_modules must be installed (npm ci).
 *
 * JSON in the tables below is written with ' for " to stay readable; a real apostrophe would be
 * \u0027.
 */
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

#include "ocpp_schema.h"

#define SCHEMA_FILE   "node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TYPE       OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION
#define OCCURRENCE OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION
#define PROPERTY   OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION
#define FORMATION  OCPP_ERROR_FORMATION_VIOLATION

static json_t *schema_file;

static const char *
str(const char *s)
{
	return s ? s : "(null)";
}

static json_t *
parse(const char *text)
{
	char *buf = strdup(text);
	json_error_t error;
	json_t *json;

	assert_non_null(buf);
	for (char *p = buf; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	json = json_loads(buf, JSON_DECODE_ANY, &error);
	if (!json)
		fail_msg("test JSON does not parse: %s (%s)", text, error.text);
	free(buf);
	return json;
}

/* "Authorize.req" → the schema of that message */
static const struct ocpp_type *
message(const char *name)
{
	const char *dot = strrchr(name, '.');
	const struct ocpp_action *action;
	char action_name[64];

	assert_non_null(dot);
	assert_true((size_t)(dot - name) < sizeof(action_name));
	memcpy(action_name, name, (size_t)(dot - name));
	action_name[dot - name] = '\0';
	action = ocpp_action_find(action_name);
	if (!action)
		fail_msg("no action %s", action_name);
	if (strcmp(dot, ".req") == 0)
		return action->req;
	assert_string_equal(dot, ".conf");
	return action->conf;
}

/* ---- the tables against the schema file ---- */

struct compare {
	const json_t *definitions;
	int mismatches;
};

static void mismatch(struct compare *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mismatch(struct compare *c, const char *where, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	print_error("%s: %s\n", where, text);
	c->mismatches++;
}

static const char *const kind_names[] = {
    [OCPP_TYPE_STRING] = "string",   [OCPP_TYPE_INTEGER] = "integer", [OCPP_TYPE_NUMBER] = "number",
    [OCPP_TYPE_BOOLEAN] = "boolean", [OCPP_TYPE_OBJECT] = "object",   [OCPP_TYPE_ARRAY] = "array",
};

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

static bool
json_array_has_string(const json_t *array, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static void compare_node(struct compare *c, const char *where, const json_t *s,
                         const struct ocpp_type *t);

static void
compare_enum(struct compare *c, const char *where, const json_t *values, const struct ocpp_type *t)
{
	size_t i, n = 0;
	json_t *v;

	if (!values && !t->enumeration)
		return;
	if (!values || !t->enumeration) {
		mismatch(c, where, "enum in %s only", values ? "the schema" : "C");
		return;
	}
	if (!json_is_array(values)) {
		mismatch(c, where, "enum is not an array");
		return;
	}
	json_array_foreach(values, i, v)
	{
		if (!json_is_string(v))
			mismatch(c, where, "enum value #%zu is not a string", i);
		else if (!in_list(t->enumeration, json_string_value(v)))
			mismatch(c, where, "enum value \"%s\" missing in C", json_string_value(v));
	}
	for (const char *const *e = t->enumeration; *e; e++, n++) {
		if (!json_array_has_string(values, *e))
			mismatch(c, where, "C enum value \"%s\" not in the schema", *e);
		if (in_list(e + 1, *e))
			mismatch(c, where, "C enum value \"%s\" twice", *e);
	}
	if (n != json_array_size(values))
		mismatch(c, where, "enum has %zu values in the schema, %zu in C",
		         json_array_size(values), n);
}

/* A limit (maxLength, minItems, ...): absent in the schema is 0 in C. */
static void
compare_limit(struct compare *c, const char *where, const json_t *s, const char *keyword,
              unsigned value)
{
	const json_t *limit = json_object_get(s, keyword);

	if (!limit) {
		if (value)
			mismatch(c, where, "%s %u in C only", keyword, value);
	} else if (!json_is_integer(limit) || json_integer_value(limit) <= 0) {
		mismatch(c, where, "%s is not a positive integer", keyword);
	} else if ((json_int_t)value != json_integer_value(limit)) {
		mismatch(c, where, "%s %" JSON_INTEGER_FORMAT " in the schema, %u in C", keyword,
		         json_integer_value(limit), value);
	}
}

static void
compare_bound(struct compare *c, const char *where, const json_t *s, const char *keyword, bool has,
              double value)
{
	const json_t *bound = json_object_get(s, keyword);

	if (!bound && has)
		mismatch(c, where, "%s in C only", keyword);
	else if (bound && !has)
		mismatch(c, where, "%s in the schema only", keyword);
	else if (bound && json_number_value(bound) != value)
		mismatch(c, where, "%s %g in the schema, %g in C", keyword,
		         json_number_value(bound), value);
}

static void
compare_object(struct compare *c, const char *where, const json_t *s, const struct ocpp_type *t)
{
	const json_t *properties = json_object_get(s, "properties");
	const json_t *required = json_object_get(s, "required");
	const json_t *additional = json_object_get(s, "additionalProperties");
	const struct ocpp_property *order[64];
	size_t i = 0, n_required = 0;
	const char *key;
	json_t *v;

	if (properties && !json_is_object(properties))
		mismatch(c, where, "properties is not an object");
	json_object_foreach((json_t *)properties, key, v)
	{
		char inner[256];

		snprintf(inner, sizeof(inner), "%s.%s", where, key);
		if (i >= t->n_properties) {
			mismatch(c, inner, "property missing in C");
		} else if (strcmp(t->properties[i].name, key) != 0) {
			mismatch(c, inner,
			         "property #%zu is \"%s\" in C (same names in the same order "
			         "expected)",
			         i, t->properties[i].name);
		} else {
			compare_node(c, inner, v, t->properties[i].type);
		}
		i++;
	}
	for (; i < t->n_properties; i++)
		mismatch(c, where, "C property \"%s\" not in the schema", t->properties[i].name);

	if (required && !json_is_array(required))
		mismatch(c, where, "required is not an array");
	json_array_foreach(required, i, v)
	{
		bool found = false;

		for (size_t k = 0; k < t->n_properties; k++) {
			if (json_is_string(v) &&
			    strcmp(t->properties[k].name, json_string_value(v)) == 0)
				found = t->properties[k].required;
		}
		if (!found)
			mismatch(c, where, "\"%s\" not required in C", json_string_value(v));
	}
	/* the required properties in reporting order: by rank, then table order */
	for (unsigned rank = 1; rank <= UINT8_MAX; rank++) {
		for (size_t k = 0; k < t->n_properties; k++) {
			if (t->properties[k].required == rank && n_required < ARRAY_SIZE(order))
				order[n_required++] = &t->properties[k];
		}
	}
	for (size_t k = 0; k < n_required; k++) {
		if (!json_array_has_string(required, order[k]->name))
			mismatch(c, where, "\"%s\" required in C only", order[k]->name);
		else if (k >= json_array_size(required) ||
		         strcmp(json_string_value(json_array_get(required, k)), order[k]->name))
			mismatch(c, where,
			         "\"%s\" is #%zu of the required properties in C, not the "
			         "schema's (set required ranks)",
			         order[k]->name, k);
	}

	if (additional && !json_is_boolean(additional))
		mismatch(c, where, "additionalProperties other than true/false not supported");
	else if ((additional ? json_is_true(additional) : true) != t->additional_properties)
		mismatch(c, where, "additionalProperties differs");
}

static void
compare_node(struct compare *c, const char *where, const json_t *s, const struct ocpp_type *t)
{
	static const char *const modelled[] = {
	    "type",       "enum",     "maxLength",  "minimum",  "maximum",
	    "multipleOf", "format",   "properties", "required", "additionalProperties",
	    "items",      "minItems", "maxItems",   NULL};
	const json_t *ref = json_object_get(s, "$ref");
	const char *type, *format, *key;
	json_t *v;

	if (!t) {
		mismatch(c, where, "no C type");
		return;
	}
	if (ref) {
		const char *target = json_string_value(ref);

		if (json_object_size(s) != 1)
			mismatch(c, where, "$ref with sibling keywords");
		if (!target || strncmp(target, "#/definitions/", 14) != 0 ||
		    !json_object_get(c->definitions, target + 14)) {
			mismatch(c, where, "unresolvable $ref %s", target ? target : "?");
			return;
		}
		s = json_object_get(c->definitions, target + 14);
	}
	json_object_foreach((json_t *)s, key, v)
	{
		if (!in_list(modelled, key))
			mismatch(c, where, "keyword \"%s\" is not modelled by the C tables", key);
	}

	type = json_string_value(json_object_get(s, "type"));
	if (!type) {
		mismatch(c, where, "no single type in the schema");
		return;
	}
	if ((unsigned)t->kind >= ARRAY_SIZE(kind_names) || !kind_names[t->kind] ||
	    strcmp(type, kind_names[t->kind]) != 0) {
		mismatch(c, where, "type %s in the schema, %s in C", type,
		         (unsigned)t->kind < ARRAY_SIZE(kind_names) && kind_names[t->kind]
		             ? kind_names[t->kind]
		             : "an unknown kind");
		return;
	}

	compare_enum(c, where, json_object_get(s, "enum"), t);
	if (t->enumeration && t->kind != OCPP_TYPE_STRING)
		mismatch(c, where, "C supports string enums only");
	compare_limit(c, where, s, "maxLength", t->max_length);
	compare_limit(c, where, s, "minItems", t->min_items);
	compare_limit(c, where, s, "maxItems", t->max_items);
	compare_bound(c, where, s, "minimum", t->has_minimum, t->minimum);
	compare_bound(c, where, s, "maximum", t->has_maximum, t->maximum);
	compare_bound(c, where, s, "multipleOf", t->multiple_of != 0, t->multiple_of);

	format = json_string_value(json_object_get(s, "format"));
	if (!format && t->format)
		mismatch(c, where, "format in C only");
	else if (format && strcmp(format, "date-time") == 0 && t->format != OCPP_FORMAT_DATE_TIME)
		mismatch(c, where, "format date-time not in C");
	else if (format && strcmp(format, "uri") == 0 && t->format != OCPP_FORMAT_URI)
		mismatch(c, where, "format uri not in C");
	else if (format && strcmp(format, "date-time") && strcmp(format, "uri"))
		mismatch(c, where, "format %s not supported", format);

	/* C fields that the kind does not use must stay empty */
	if (t->kind != OCPP_TYPE_STRING && (t->max_length || t->format))
		mismatch(c, where, "string limits on a %s", type);
	if (t->kind != OCPP_TYPE_NUMBER && t->kind != OCPP_TYPE_INTEGER &&
	    (t->has_minimum || t->has_maximum || t->multiple_of))
		mismatch(c, where, "number limits on a %s", type);
	if (t->kind != OCPP_TYPE_OBJECT && (t->properties || t->n_properties))
		mismatch(c, where, "properties on a %s", type);
	if (t->kind != OCPP_TYPE_ARRAY && (t->items || t->min_items || t->max_items))
		mismatch(c, where, "items on a %s", type);

	if (t->kind == OCPP_TYPE_OBJECT) {
		compare_object(c, where, s, t);
	} else if (t->kind == OCPP_TYPE_ARRAY) {
		char inner[256];

		snprintf(inner, sizeof(inner), "%s[]", where);
		if (!json_object_get(s, "items"))
			mismatch(c, where, "array without items");
		else
			compare_node(c, inner, json_object_get(s, "items"), t->items);
	}
}

static void
test_tables_match_schema_file(void **state)
{
	size_t n_actions, i;
	const struct ocpp_action *actions = ocpp_action_list(&n_actions);
	bool *seen = calloc(n_actions * 2, sizeof(*seen));
	struct compare c = {0};
	json_t *s;

	(void)state;
	assert_non_null(seen);
	assert_true(json_is_array(schema_file));
	json_array_foreach(schema_file, i, s)
	{
		const char *id = json_string_value(json_object_get(s, "$id"));
		const struct ocpp_action *action;
		const char *dot;
		char name[64];
		json_t *root;
		bool conf;

		if (!id || strncmp(id, "urn:", 4) != 0 || !(dot = strrchr(id, '.')) ||
		    (strcmp(dot, ".req") && strcmp(dot, ".conf")) ||
		    (size_t)(dot - id - 4) >= sizeof(name)) {
			mismatch(&c, SCHEMA_FILE, "entry #%zu has an unexpected $id", i);
			continue;
		}
		memcpy(name, id + 4, (size_t)(dot - id - 4));
		name[dot - id - 4] = '\0';
		conf = strcmp(dot, ".conf") == 0;
		action = ocpp_action_find(name);
		if (!action) {
			mismatch(&c, id, "no such action in C");
			continue;
		}
		if (seen[(action - actions) * 2 + conf])
			mismatch(&c, id, "twice in the schema file");
		seen[(action - actions) * 2 + conf] = true;
		/* the root's own keywords, then the root as any other node */
		root = json_copy(s);
		json_object_del(root, "$id");
		json_object_del(root, "$schema");
		json_object_del(root, "definitions");
		c.definitions = json_object_get(s, "definitions");
		compare_node(&c, id, root, conf ? action->conf : action->req);
		json_decref(root);
	}
	for (i = 0; i < n_actions * 2; i++) {
		if (!seen[i])
			mismatch(&c, actions[i / 2].name, "%s not in the schema file",
			         i % 2 ? ".conf" : ".req");
	}
	free(seen);
	if (c.mismatches)
		fail_msg("%d differences between the C tables and %s", c.mismatches, SCHEMA_FILE);
	assert_int_equal(json_array_size(schema_file), 78); /* 28 + 11 actions, .req and .conf */
}

/* ---- the action table ---- */

static void
test_action_table(void **state)
{
	size_t n, per_profile[OCPP_PROFILE_SECURITY + 1] = {0};
	const struct ocpp_action *actions = ocpp_action_list(&n);

	(void)state;
	assert_int_equal(n, 39);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(actions[i - 1].name, actions[i].name) < 0);
		assert_ptr_equal(ocpp_action_find(actions[i].name), &actions[i]);
		assert_non_null(actions[i].req);
		assert_non_null(actions[i].conf);
		assert_int_equal(actions[i].req->kind, OCPP_TYPE_OBJECT);
		assert_int_equal(actions[i].conf->kind, OCPP_TYPE_OBJECT);
		assert_non_null(ocpp_profile_name(actions[i].profile));
		per_profile[actions[i].profile]++;
	}
	assert_int_equal(per_profile[OCPP_PROFILE_CORE], 16);
	assert_int_equal(per_profile[OCPP_PROFILE_FIRMWARE_MANAGEMENT], 4);
	assert_int_equal(per_profile[OCPP_PROFILE_LOCAL_AUTH_LIST_MANAGEMENT], 2);
	assert_int_equal(per_profile[OCPP_PROFILE_RESERVATION], 2);
	assert_int_equal(per_profile[OCPP_PROFILE_SMART_CHARGING], 3);
	assert_int_equal(per_profile[OCPP_PROFILE_REMOTE_TRIGGER], 1);
	assert_int_equal(per_profile[OCPP_PROFILE_SECURITY], 11);

	assert_null(ocpp_action_find("authorize"));
	assert_null(ocpp_action_find("Authorize "));
	assert_null(ocpp_action_find(""));
	assert_null(ocpp_action_find(NULL));
	assert_null(ocpp_action_find("GetVariables")); /* 2.0.1 */
	assert_int_equal(ocpp_action_find("DataTransfer")->direction, OCPP_BOTH_WAYS);
	assert_int_equal(ocpp_action_find("BootNotification")->direction, OCPP_CP_TO_CS);
	assert_int_equal(ocpp_action_find("SignCertificate")->direction, OCPP_CP_TO_CS);
	assert_int_equal(ocpp_action_find("CertificateSigned")->direction, OCPP_CS_TO_CP);
	assert_int_equal(ocpp_action_find("SetChargingProfile")->direction, OCPP_CS_TO_CP);
	assert_string_equal(ocpp_profile_name(OCPP_PROFILE_LOCAL_AUTH_LIST_MANAGEMENT),
	                    "LocalAuthListManagement");
	assert_null(ocpp_profile_name((enum ocpp_profile)99));
}

/* ---- error codes ---- */

static void
test_error_codes(void **state)
{
	static const struct {
		enum ocpp_error_code code;
		const char *name;
	} names[] = {
	    {OCPP_ERROR_NOT_IMPLEMENTED, "NotImplemented"},
	    {OCPP_ERROR_NOT_SUPPORTED, "NotSupported"},
	    {OCPP_ERROR_INTERNAL_ERROR, "InternalError"},
	    {OCPP_ERROR_PROTOCOL_ERROR, "ProtocolError"},
	    {OCPP_ERROR_SECURITY_ERROR, "SecurityError"},
	    {OCPP_ERROR_FORMATION_VIOLATION, "FormationViolation"},
	    {OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION, "PropertyConstraintViolation"},
	    {OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION, "OccurenceConstraintViolation"},
	    {OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION, "TypeConstraintViolation"},
	    {OCPP_ERROR_GENERIC_ERROR, "GenericError"},
	};
	enum ocpp_error_code code;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_string_equal(ocpp_error_code_name(names[i].code), names[i].name);
		code = OCPP_ERROR_NONE;
		assert_int_equal(ocpp_error_code_parse(names[i].name, &code), 0);
		assert_int_equal(code, names[i].code);
	}
	assert_null(ocpp_error_code_name(OCPP_ERROR_NONE));
	assert_null(ocpp_error_code_name((enum ocpp_error_code)99));

	assert_int_equal(ocpp_error_code_parse("OccurrenceConstraintViolation", &code), 0);
	assert_int_equal(code, OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION);
	assert_int_equal(ocpp_error_code_parse("FormatViolation", &code), 0);
	assert_int_equal(code, OCPP_ERROR_FORMATION_VIOLATION);
	assert_int_equal(ocpp_error_code_parse("formationviolation", &code), -EINVAL);
	assert_int_equal(ocpp_error_code_parse("", &code), -EINVAL);
	assert_int_equal(ocpp_error_code_parse("RpcFrameworkError", &code), -EINVAL);
	assert_int_equal(ocpp_error_code_parse(NULL, &code), -EINVAL);
}

/* ---- formats ---- */

static void
test_date_time_format(void **state)
{
	static const char *const good[] = {
	    "2024-01-31T23:59:59Z",
	    "2024-02-29T00:00:00Z", /* leap year */
	    "2000-02-29T12:00:00+01:00",
	    "2024-06-01T12:00:00.5Z",
	    "2024-06-01T12:00:00.123456789-05:30",
	    "2024-06-01t12:00:00z",
	    "2024-06-01 12:00:00Z",
	    "2016-12-31T23:59:60Z",      /* leap second */
	    "2017-01-01T00:59:60+01:00", /* the same, in CET (ajv knows 23:59:60 only) */
	    "0000-01-01T00:00:00+23:59",
	};
	static const char *const bad[] = {
	    "",
	    "2024-01-31",
	    "2024-01-31T23:59:59",       /* no offset (ajv-formats 2.1.1 accepts it) */
	    "2024-01-31T23:59:59+01",    /* (ajv accepts) */
	    "2024-01-31T23:59:59+0100",  /* (ajv accepts) */
	    "2024-01-31T23:59:59+24:00", /* (ajv accepts) */
	    "2024-01-31\t23:59:59Z",     /* (ajv accepts any whitespace) */
	    "2024-01-31T23:59:60+01:00", /* 22:59:60 UTC (ajv accepts) */
	    "2023-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2024-04-31T00:00:00Z",
	    "2024-13-01T00:00:00Z",
	    "2024-00-01T00:00:00Z",
	    "2024-01-00T00:00:00Z",
	    "2024-01-01T24:00:00Z",
	    "2024-01-01T23:60:00Z",
	    "2024-01-01T12:00:61Z",
	    "2024-01-01T12:00:00.Z",
	    "2024-01-01T12:00Z",
	    "24-01-01T12:00:00Z",
	    "2024-1-01T12:00:00Z",
	    "2024-01-01T12:00:00ZZ",
	    "2024-01-01T12:00:00Z ",
	    " 2024-01-01T12:00:00Z",
	    "2024-01-01X12:00:00Z",
	    "２０２４-01-01T12:00:00Z",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (!ocpp_date_time_valid(good[i], strlen(good[i])))
			fail_msg("\"%s\" refused", good[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ocpp_date_time_valid(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
	}
	/* the length counts, not a NUL */
	assert_false(ocpp_date_time_valid("2024-01-01T12:00:00Z\0junk", 25));
	assert_true(ocpp_date_time_valid("2024-01-01T12:00:00Zjunk", 20));
}

static void
test_uri_format(void **state)
{
	/* the same verdicts as ajv-formats 2.1.1 ("full" mode) */
	static const char *const good[] = {
	    "ftp://example.com/diag",
	    "https://user:pw@example.com:8443/a/b?c=d&e=f#frag",
	    "sftp://10.0.0.1/upload/",
	    "HTTP://EXAMPLE.COM",
	    "ftp://[2001:db8::1]/x",
	    "ftp://[::ffff:192.0.2.1]:21/x",
	    "ftp://user@[::1]",
	    "ftp://[v1.fe80::a+en1]/",
	    "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
	    "mailto:ops@example.com",
	    "file:///var/log/x.tar.gz",
	    "a+b-c.d:x",
	    "http://example.com/%20space",
	    "http://example.com/?q=/a?b",
	    "x:/",
	    "http://[1:2:3:4:5:6:7:8]/",
	    "http://[1:2:3:4:5:6:7::]/",
	    "http://[::]/",
	};
	static const char *const bad[] = {
	    "",
	    "example.com/diag",
	    "/var/log",
	    "1ftp://example.com",
	    "ftp:",
	    "ftp:?q",
	    "ftp://exa mple.com/",
	    "ftp://example.com/%2",
	    "ftp://example.com/%zz",
	    "ftp://[2001:db8::1/x",
	    "ftp://[2001:db8:::1]/x",
	    "ftp://[1:2:3:4:5:6:7:8:9]/",
	    "ftp://[1:2:3:4:5:6:7]/",
	    "ftp://[::1.2.3.256]/",
	    "ftp://[g::1]/",
	    "ftp://[::1]x/",
	    "http://example.com/#a#b",
	    "http://example.com/\\x",
	    "http://example.com/\"",
	    "http://ex\xc3\xa4mple.com/",
	    "http://example.com/<x>",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (!ocpp_uri_valid(good[i], strlen(good[i])))
			fail_msg("\"%s\" refused", good[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ocpp_uri_valid(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
	}
}

/* ---- valid payloads ---- */

static const struct {
	const char *message;
	const char *json;
} valid_samples[] = {
    {"Authorize.req", "{'idTag':'04A2B3C4D5E6F7'}"},
    /* 20 characters, 40 bytes: maxLength counts characters */
    {"Authorize.req", "{'idTag':'éééééééééééééééééééé'}"},
    {"BootNotification.req",
     "{'chargePointVendor':'Sitegate','chargePointModel':'SG-22',"
     "'chargePointSerialNumber':'SN-0001','chargeBoxSerialNumber':'BOX-0001',"
     "'firmwareVersion':'0.1.0','iccid':'89490200001234567890','imsi':'262011234567890',"
     "'meterType':'DZG DVH4013','meterSerialNumber':'1DZG0012345678'}"},
    {"CancelReservation.req", "{'reservationId':42}"},
    {"CertificateSigned.req",
     "{'certificateChain':'-----BEGIN CERTIFICATE-----\\nMIIB...\\n-----END CERTIFICATE-----'}"},
    {"ChangeAvailability.req", "{'connectorId':0,'type':'Inoperative'}"},
    {"ChangeConfiguration.req", "{'key':'HeartbeatInterval','value':'300'}"},
    {"ClearCache.req", "{}"},
    {"ClearChargingProfile.req", "{}"},
    {"ClearChargingProfile.req",
     "{'id':1,'connectorId':1,'chargingProfilePurpose':'TxProfile','stackLevel':0}"},
    {"DataTransfer.req", "{'vendorId':'org.example','messageId':'hello','data':'{}'}"},
    {"DeleteCertificate.req",
     "{'certificateHashData':{'hashAlgorithm':'SHA256','issuerNameHash':'a1b2',"
     "'issuerKeyHash':'c3d4','serialNumber':'0123'}}"},
    {"DiagnosticsStatusNotification.req", "{'status':'Uploaded'}"},
    {"ExtendedTriggerMessage.req", "{'requestedMessage':'SignChargePointCertificate'}"},
    {"FirmwareStatusNotification.req", "{'status':'Installed'}"},
    {"GetCompositeSchedule.req", "{'connectorId':1,'duration':3600,'chargingRateUnit':'W'}"},
    {"GetConfiguration.req", "{}"},
    {"GetConfiguration.req", "{'key':['HeartbeatInterval','MeterValueSampleInterval']}"},
    {"GetDiagnostics.req",
     "{'location':'ftp://user:pw@diag.example.com/uploads/','retries':3,'retryInterval':60,"
     "'startTime':'2024-01-01T00:00:00Z','stopTime':'2024-01-02T00:00:00.000+01:00'}"},
    {"GetInstalledCertificateIds.req", "{'certificateType':'CentralSystemRootCertificate'}"},
    {"GetLocalListVersion.req", "{}"},
    {"GetLog.req", "{'log':{'remoteLocation':'https://logs.example.com/up','oldestTimestamp':"
                   "'2024-01-01T00:00:00Z','latestTimestamp':'2024-01-02T00:00:00Z'},'logType':"
                   "'SecurityLog','requestId':7,'retries':1,'retryInterval':30}"},
    {"Heartbeat.req", "{}"},
    {"InstallCertificate.req",
     "{'certificateType':'ManufacturerRootCertificate','certificate':'-----BEGIN...'}"},
    {"LogStatusNotification.req", "{'status':'Uploading','requestId':7}"},
    {"MeterValues.req",
     "{'connectorId':1,'transactionId':5,'meterValue':[{'timestamp':'2024-01-01T12:00:00Z',"
     "'sampledValue':[{'value':'1234.5','context':'Sample.Periodic','format':'Raw',"
     "'measurand':'Energy.Active.Import.Register','phase':'L1-N','location':'Outlet',"
     "'unit':'kWh'},{'value':'21.5','measurand':'Temperature','unit':'Celcius'}]}]}"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':[]}"},
    {"RemoteStartTransaction.req", "{'idTag':'TAG1'}"},
    {"RemoteStartTransaction.req",
     "{'connectorId':1,'idTag':'TAG1','chargingProfile':{'chargingProfileId':1,"
     "'stackLevel':0,'chargingProfilePurpose':'TxProfile','chargingProfileKind':'Relative',"
     "'chargingSchedule':{'chargingRateUnit':'A','chargingSchedulePeriod':"
     "[{'startPeriod':0,'limit':16},{'startPeriod':600,'limit':6.1,'numberPhases':1}]}}}"},
    {"RemoteStopTransaction.req", "{'transactionId':5}"},
    {"ReserveNow.req", "{'connectorId':1,'expiryDate':'2024-01-01T12:30:00Z','idTag':'TAG1',"
                       "'parentIdTag':'GROUP1','reservationId':9}"},
    {"Reset.req", "{'type':'Soft'}"},
    {"SecurityEventNotification.req",
     "{'type':'FirmwareUpdated','timestamp':'2024-01-01T12:00:00Z','techInfo':'v0.1.0'}"},
    {"SendLocalList.req", "{'listVersion':1,'updateType':'Full'}"},
    {"SendLocalList.req",
     "{'listVersion':2,'localAuthorizationList':[{'idTag':'TAG1','idTagInfo':{'status':"
     "'Accepted','expiryDate':'2025-01-01T00:00:00Z','parentIdTag':'GROUP1'}},{'idTag':"
     "'TAG2'}],'updateType':'Differential'}"},
    {"SetChargingProfile.req",
     "{'connectorId':0,'csChargingProfiles':{'chargingProfileId':100,'transactionId':5,"
     "'stackLevel':1,'chargingProfilePurpose':'ChargePointMaxProfile','chargingProfileKind':"
     "'Recurring','recurrencyKind':'Daily','validFrom':'2024-01-01T00:00:00Z','validTo':"
     "'2025-01-01T00:00:00Z','chargingSchedule':{'duration':86400,'startSchedule':"
     "'2024-01-01T00:00:00Z','chargingRateUnit':'W','chargingSchedulePeriod':"
     "[{'startPeriod':0,'limit':11000.0},{'startPeriod':3600,'limit':7400.5,"
     "'numberPhases':3}],'minChargingRate':1380.0}}}"},
    {"SignCertificate.req", "{'csr':'-----BEGIN CERTIFICATE REQUEST-----...'}"},
    {"SignedFirmwareStatusNotification.req", "{'status':'SignatureVerified','requestId':3}"},
    {"SignedUpdateFirmware.req",
     "{'retries':2,'retryInterval':60,'requestId':3,'firmware':{'location':"
     "'https://fw.example.com/sg-0.2.0.bin','retrieveDateTime':'2024-01-01T00:00:00Z',"
     "'installDateTime':'2024-01-01T02:00:00Z','signingCertificate':'-----BEGIN...',"
     "'signature':'MEUCIQ...'}}"},
    {"StartTransaction.req", "{'connectorId':1,'idTag':'TAG1','meterStart':0,'reservationId':9,"
                             "'timestamp':'2024-01-01T12:00:00Z'}"},
    {"StatusNotification.req", "{'connectorId':1,'errorCode':'NoError','status':'Available'}"},
    {"StatusNotification.req",
     "{'connectorId':1,'errorCode':'OtherError','info':'RCD tripped','status':'Faulted',"
     "'timestamp':'2024-01-01T12:00:00Z','vendorId':'org.example','vendorErrorCode':'E42'}"},
    {"StopTransaction.req",
     "{'transactionId':5,'timestamp':'2024-01-01T13:00:00Z','meterStop':15000}"},
    {"StopTransaction.req",
     "{'idTag':'TAG1','meterStop':15000,'timestamp':'2024-01-01T13:00:00Z','transactionId':5,"
     "'reason':'EVDisconnected','transactionData':[{'timestamp':'2024-01-01T13:00:00Z',"
     "'sampledValue':[{'value':'15.000','context':'Transaction.End','unit':'kWh'}]}]}"},
    {"TriggerMessage.req", "{'requestedMessage':'StatusNotification','connectorId':1}"},
    {"UnlockConnector.req", "{'connectorId':1}"},
    {"UpdateFirmware.req", "{'location':'https://fw.example.com/sg.bin','retries':3,'retrieveDate':"
                           "'2024-01-01T00:00:00Z','retryInterval':120}"},

    /* a few answers */
    {"Authorize.conf", "{'idTagInfo':{'status':'Accepted','expiryDate':'2024-12-31T23:59:59Z',"
                       "'parentIdTag':'GROUP1'}}"},
    /* ajv's integer accepts 300.0 */
    {"BootNotification.conf", "{'status':'Accepted','currentTime':'2024-01-01T12:00:00.000Z',"
                              "'interval':300.0}"},
    {"GetCompositeSchedule.conf",
     "{'status':'Accepted','connectorId':1,'scheduleStart':'2024-01-01T12:00:00Z',"
     "'chargingSchedule':{'duration':3600,'chargingRateUnit':'A','chargingSchedulePeriod':"
     "[{'startPeriod':0,'limit':32.0}],'minChargingRate':6}}"},
    {"GetConfiguration.conf",
     "{'configurationKey':[{'key':'HeartbeatInterval','readonly':false,'value':'300'}],"
     "'unknownKey':['Foo']}"},
    {"GetInstalledCertificateIds.conf",
     "{'status':'Accepted','certificateHashData':[{'hashAlgorithm':'SHA512','issuerNameHash':"
     "'aa','issuerKeyHash':'bb','serialNumber':'cc'}]}"},
    {"StartTransaction.conf", "{'idTagInfo':{'status':'ConcurrentTx'},'transactionId':5}"},
    {"StopTransaction.conf", "{}"},
    {"Heartbeat.conf", "{'currentTime':'2024-01-01T12:00:00+00:00'}"},
    {"LogStatusNotification.conf", "{}"},
};

static void
test_valid_samples(void **state)
{
	size_t n;
	const struct ocpp_action *actions = ocpp_action_list(&n);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid_samples); i++) {
		json_t *payload = parse(valid_samples[i].json);
		struct ocpp_violation v;

		if (ocpp_validate(message(valid_samples[i].message), payload, &v) != 0)
			fail_msg("%s %s refused: %s", valid_samples[i].message,
			         valid_samples[i].json, v.text);
		assert_int_equal(v.code, OCPP_ERROR_NONE);
		json_decref(payload);
	}
	/* every .req has a sample */
	for (size_t a = 0; a < n; a++) {
		char name[64];
		bool found = false;

		snprintf(name, sizeof(name), "%s.req", actions[a].name);
		for (size_t i = 0; i < ARRAY_SIZE(valid_samples); i++)
			found = found || strcmp(valid_samples[i].message, name) == 0;
		if (!found)
			fail_msg("no valid sample for %s", name);
	}
}

/* ---- invalid payloads: the first violation, as ocpp-rpc reports it ---- */

#define TX_OK "'transactionId':1,'timestamp':'2024-01-01T00:00:00Z','meterStop':1"
#define PROFILE(schedule)                                                                          \
	"{'chargingProfileId':1,'stackLevel':0,'chargingProfilePurpose':'TxProfile',"              \
	"'chargingProfileKind':'Absolute','chargingSchedule':" schedule "}"
#define SCHEDULE(periods) "{'chargingRateUnit':'A','chargingSchedulePeriod':" periods "}"
#define METER(sampled)    "[{'timestamp':'2024-01-01T00:00:00Z','sampledValue':" sampled "}]"
#define HASH_DATA         "'hashAlgorithm':'SHA256','issuerNameHash':'a','issuerKeyHash':'b'"

static const struct bad_case {
	const char *message;
	const char *json;
	enum ocpp_error_code code;
	const char *keyword;
	const char *path;
} bad_cases[] = {
    /* the payload itself */
    {"Authorize.req", "[]", TYPE, "type", ""},
    {"Heartbeat.req", "'x'", TYPE, "type", ""},
    {"BootNotification.req", "null", TYPE, "type", ""},
    {"StatusNotification.req", "42", TYPE, "type", ""},
    {"Heartbeat.conf", "true", TYPE, "type", ""},

    /* required */
    {"Authorize.req", "{}", OCCURRENCE, "required", "idTag"},
    {"BootNotification.req", "{'chargePointVendor':'V'}", OCCURRENCE, "required",
     "chargePointModel"},
    {"StopTransaction.req", "{}", OCCURRENCE, "required", "transactionId"},
    {"StopTransaction.req", "{'transactionId':1,'meterStop':1}", OCCURRENCE, "required",
     "timestamp"},
    {"GetLog.req", "{'log':{'remoteLocation':'ftp://x/'}}", OCCURRENCE, "required", "logType"},
    {"GetLog.req", "{'logType':'SecurityLog','requestId':1}", OCCURRENCE, "required", "log"},
    {"Authorize.conf", "{'idTagInfo':{}}", OCCURRENCE, "required", "idTagInfo.status"},
    {"BootNotification.conf", "{'status':'Accepted','interval':10}", OCCURRENCE, "required",
     "currentTime"},
    {"StartTransaction.conf", "{'idTagInfo':{'status':'Accepted'}}", OCCURRENCE, "required",
     "transactionId"},
    {"SetChargingProfile.req",
     "{'connectorId':1,'csChargingProfiles':{'chargingProfileId':1,'stackLevel':0,"
     "'chargingProfilePurpose':'TxProfile','chargingProfileKind':'Absolute'}}",
     OCCURRENCE, "required", "csChargingProfiles.chargingSchedule"},
    {"RemoteStartTransaction.req",
     "{'idTag':'T','chargingProfile':" PROFILE(SCHEDULE("[{'startPeriod':0}]")) "}", OCCURRENCE,
     "required", "chargingProfile.chargingSchedule.chargingSchedulePeriod[0].limit"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':" METER("[{'value':'1'},{'unit':'Wh'}]") "}",
     OCCURRENCE, "required", "meterValue[0].sampledValue[1].value"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':[{'timestamp':'2024-01-01T00:00:00Z'}]}",
     OCCURRENCE, "required", "meterValue[0].sampledValue"},
    {"GetConfiguration.conf", "{'configurationKey':[{'key':'K'}]}", OCCURRENCE, "required",
     "configurationKey[0].readonly"},
    {"DeleteCertificate.req", "{'certificateHashData':{" HASH_DATA "}}", OCCURRENCE, "required",
     "certificateHashData.serialNumber"},
    {"SignedUpdateFirmware.req",
     "{'requestId':1,'firmware':{'location':'x','retrieveDateTime':'2024-01-01T00:00:00Z',"
     "'signingCertificate':'c'}}",
     OCCURRENCE, "required", "firmware.signature"},
    {"SendLocalList.req",
     "{'listVersion':1,'updateType':'Full','localAuthorizationList':[{'idTag':'A'},"
     "{'idTag':'B','idTagInfo':{'expiryDate':'2024-01-01T00:00:00Z'}}]}",
     OCCURRENCE, "required", "localAuthorizationList[1].idTagInfo.status"},

    /* additionalProperties */
    {"Heartbeat.req", "{'a':1}", PROPERTY, "additionalProperties", "a"},
    {"ClearCache.req", "{'x':null}", PROPERTY, "additionalProperties", "x"},
    {"LogStatusNotification.conf", "{'status':'Accepted'}", PROPERTY, "additionalProperties",
     "status"},
    {"Authorize.req", "{'idTag':'A','IdTag':'B'}", PROPERTY, "additionalProperties", "IdTag"},
    /* JavaScript enumerates integer-like keys first */
    {"StopTransaction.req", "{" TX_OK ",'foo':1,'7':2,'3':3}", PROPERTY, "additionalProperties",
     "3"},
    {"StopTransaction.req", "{" TX_OK ",'foo':1,'07':2}", PROPERTY, "additionalProperties", "foo"},
    {"Authorize.conf", "{'idTagInfo':{'status':'Accepted','extra':true}}", PROPERTY,
     "additionalProperties", "idTagInfo.extra"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':" METER("[{'value':'1','units':'Wh'}]") "}",
     PROPERTY, "additionalProperties", "meterValue[0].sampledValue[0].units"},
    {"SetChargingProfile.req",
     "{'connectorId':1,'csChargingProfiles':" PROFILE(
         SCHEDULE("[{'startPeriod':0,'limit':6,'limitType':'A'}]")) "}",
     PROPERTY, "additionalProperties",
     "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limitType"},
    /* required before additionalProperties, additionalProperties before the properties */
    {"Authorize.req", "{'foo':1}", OCCURRENCE, "required", "idTag"},
    {"Authorize.req", "{'idTag':5,'foo':1}", PROPERTY, "additionalProperties", "foo"},
    {"StatusNotification.req", "{'connectorId':1,'errorCode':'NoError','status':null,'x':1}",
     PROPERTY, "additionalProperties", "x"},

    /* type */
    {"Authorize.req", "{'idTag':5}", TYPE, "type", "idTag"},
    {"BootNotification.conf",
     "{'status':'Accepted','currentTime':'2024-01-01T00:00:00Z',"
     "'interval':1.5}",
     TYPE, "type", "interval"},
    {"BootNotification.conf",
     "{'status':'Accepted','currentTime':'2024-01-01T00:00:00Z',"
     "'interval':'10'}",
     TYPE, "type", "interval"},
    {"BootNotification.conf", "{'status':5,'currentTime':'2024-01-01T00:00:00Z','interval':1}",
     TYPE, "type", "status"},
    {"StartTransaction.req",
     "{'connectorId':true,'idTag':'A','meterStart':0,"
     "'timestamp':'2024-01-01T00:00:00Z'}",
     TYPE, "type", "connectorId"},
    {"StatusNotification.req", "{'connectorId':null,'errorCode':'NoError','status':'Available'}",
     TYPE, "type", "connectorId"},
    {"GetConfiguration.conf", "{'configurationKey':[{'key':'K','readonly':'true'}]}", TYPE, "type",
     "configurationKey[0].readonly"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':{}}", TYPE, "type", "meterValue"},
    {"GetConfiguration.req", "{'key':'HeartbeatInterval'}", TYPE, "type", "key"},
    {"GetConfiguration.req", "{'key':['A',1]}", TYPE, "type", "key[1]"},
    {"SetChargingProfile.req",
     "{'connectorId':1,'csChargingProfiles':" PROFILE(
         SCHEDULE("[{'startPeriod':0,'limit':'16'}]")) "}",
     TYPE, "type", "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit"},
    {"RemoteStartTransaction.req", "{'idTag':'A','chargingProfile':[]}", TYPE, "type",
     "chargingProfile"},
    {"DataTransfer.req", "{'vendorId':'V','data':{'a':1}}", TYPE, "type", "data"},
    {"Authorize.conf", "{'idTagInfo':'Accepted'}", TYPE, "type", "idTagInfo"},
    {"GetCompositeSchedule.req", "{'connectorId':1,'duration':3600.5}", TYPE, "type", "duration"},

    /* enum */
    {"BootNotification.conf",
     "{'status':'accepted','currentTime':'2024-01-01T00:00:00Z',"
     "'interval':1}",
     FORMATION, "enum", "status"},
    {"StatusNotification.req", "{'connectorId':1,'errorCode':'Bogus','status':'Available'}",
     FORMATION, "enum", "errorCode"},
    {"StatusNotification.req", "{'connectorId':1,'errorCode':'NoError','status':'Occupied'}",
     FORMATION, "enum", "status"},
    {"MeterValues.req",
     "{'connectorId':1,'meterValue':" METER(
         "[{'value':'1','measurand':'Energy.Active.Import'}]") "}",
     FORMATION, "enum", "meterValue[0].sampledValue[0].measurand"},
    {"MeterValues.req", "{'connectorId':1,'meterValue':" METER("[{'value':'1','unit':'kwh'}]") "}",
     FORMATION, "enum", "meterValue[0].sampledValue[0].unit"},
    {"Reset.req", "{'type':'hard'}", FORMATION, "enum", "type"},
    {"ChangeAvailability.req", "{'connectorId':1,'type':'Available'}", FORMATION, "enum", "type"},
    {"TriggerMessage.req", "{'requestedMessage':'LogStatusNotification'}", FORMATION, "enum",
     "requestedMessage"},
    {"ExtendedTriggerMessage.req", "{'requestedMessage':'DiagnosticsStatusNotification'}",
     FORMATION, "enum", "requestedMessage"},
    {"SignedFirmwareStatusNotification.req", "{'status':'Uploaded'}", FORMATION, "enum", "status"},
    {"GetInstalledCertificateIds.req", "{'certificateType':'V2GRootCertificate'}", FORMATION,
     "enum", "certificateType"},
    {"StopTransaction.req", "{" TX_OK ",'reason':'Unknown'}", FORMATION, "enum", "reason"},
    {"DeleteCertificate.req",
     "{'certificateHashData':{" HASH_DATA ",'serialNumber':'c',"
     "'hashAlgorithm':'MD5'}}",
     FORMATION, "enum", "certificateHashData.hashAlgorithm"},
    {"ClearChargingProfile.conf", "{'status':'Rejected'}", FORMATION, "enum", "status"},

    /* maxLength (characters, not bytes) */
    {"Authorize.req", "{'idTag':'123456789012345678901'}", FORMATION, "maxLength", "idTag"},
    {"Authorize.req", "{'idTag':'ééééééééééééééééééééé'}", FORMATION, "maxLength", "idTag"},
    {"BootNotification.req",
     "{'chargePointVendor':'V','chargePointModel':'M',"
     "'chargePointSerialNumber':'12345678901234567890123456'}",
     FORMATION, "maxLength", "chargePointSerialNumber"},
    {"ChangeConfiguration.req",
     "{'key':'123456789012345678901234567890123456789012345678901','value':'1'}", FORMATION,
     "maxLength", "key"},
    {"DataTransfer.req",
     "{'vendorId':'V','messageId':"
     "'123456789012345678901234567890123456789012345678901'}",
     FORMATION, "maxLength", "messageId"},
    {"SendLocalList.req",
     "{'listVersion':1,'updateType':'Full','localAuthorizationList':"
     "[{'idTag':'A','idTagInfo':{'status':'Accepted','parentIdTag':"
     "'123456789012345678901'}}]}",
     FORMATION, "maxLength", "localAuthorizationList[0].idTagInfo.parentIdTag"},

    /* format */
    {"StartTransaction.req",
     "{'connectorId':1,'idTag':'A','meterStart':0,"
     "'timestamp':'2024-02-30T10:00:00Z'}",
     FORMATION, "format", "timestamp"},
    {"Heartbeat.conf", "{'currentTime':'yesterday'}", FORMATION, "format", "currentTime"},
    {"BootNotification.conf",
     "{'status':'Accepted','currentTime':'2024-01-01T25:00:00Z',"
     "'interval':1}",
     FORMATION, "format", "currentTime"},
    {"ReserveNow.req",
     "{'connectorId':1,'expiryDate':'2024-01-01','idTag':'A',"
     "'reservationId':1}",
     FORMATION, "format", "expiryDate"},
    /* ocpp-rpc (ajv-formats 2.1.1) accepts a missing offset; RFC 3339 does not */
    {"StatusNotification.req",
     "{'connectorId':1,'errorCode':'NoError','status':'Available',"
     "'timestamp':'2024-01-01T10:00:00'}",
     FORMATION, "format", "timestamp"},
    {"GetDiagnostics.req", "{'location':'not a uri'}", FORMATION, "format", "location"},
    {"UpdateFirmware.req",
     "{'location':'/firmware/sg.bin','retrieveDate':"
     "'2024-01-01T00:00:00Z'}",
     FORMATION, "format", "location"},

    /* multipleOf (ocpp-rpc's tolerant version), minItems */
    {"SetChargingProfile.req",
     "{'connectorId':1,'csChargingProfiles':" PROFILE(
         SCHEDULE("[{'startPeriod':0,'limit':16.05}]")) "}",
     OCCURRENCE, "multipleOf",
     "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit"},
    {"GetCompositeSchedule.conf",
     "{'status':'Accepted','chargingSchedule':{'chargingRateUnit':'W',"
     "'chargingSchedulePeriod':[],'minChargingRate':0.25}}",
     OCCURRENCE, "multipleOf", "chargingSchedule.minChargingRate"},
    {"GetInstalledCertificateIds.conf", "{'status':'Accepted','certificateHashData':[]}",
     OCCURRENCE, "minItems", "certificateHashData"},

    /* the first violation in schema order, not payload order */
    {"BootNotification.conf", "{'status':'Bogus','currentTime':'x','interval':'y'}", FORMATION,
     "enum", "status"},
    {"BootNotification.conf", "{'interval':'y','currentTime':'x','status':'Accepted'}", FORMATION,
     "format", "currentTime"},
    {"StopTransaction.req",
     "{" TX_OK ",'transactionData':[{'timestamp':'2024-01-01T00:00:00Z','sampledValue':[]},"
     "{'timestamp':'2024-01-01T00:00:00Z','sampledValue':[{'value':'1'},{'value':'2',"
     "'phase':'L4'}]}]}",
     FORMATION, "enum", "transactionData[1].sampledValue[1].phase"},
};

static void
test_invalid_payloads(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		json_t *payload = parse(c->json);
		struct ocpp_violation v;
		int r = ocpp_validate(message(c->message), payload, &v);

		if (r != -EBADMSG || v.code != c->code || strcmp(str(v.keyword), c->keyword) ||
		    strcmp(v.path, c->path))
			fail_msg("case %zu %s %s: got %d %s %s \"%s\" (%s), expected %s %s \"%s\"",
			         i, c->message, c->json, r, ocpp_error_code_name(v.code), v.keyword,
			         v.path, v.text, ocpp_error_code_name(c->code), c->keyword,
			         c->path);
		assert_non_null(strstr(v.text, c->path));
		json_decref(payload);
	}
}

/* The table is not trimmed by accident: the brief asks for at least 60 cases. */
static void
test_invalid_payload_count(void **state)
{
	(void)state;
	assert_true(ARRAY_SIZE(bad_cases) >= 60);
}

static void
test_validate_call(void **state)
{
	json_t *payload = parse("{'idTag':'A'}");
	struct ocpp_violation v;

	(void)state;
	assert_int_equal(ocpp_validate_call("Authorize", payload, &v), 0);
	assert_int_equal(ocpp_validate_call("Authorise", payload, &v), -ENOENT);
	assert_int_equal(v.code, OCPP_ERROR_NOT_IMPLEMENTED);
	assert_int_equal(ocpp_validate_call(NULL, payload, NULL), -ENOENT);
	assert_int_equal(ocpp_validate_call("Heartbeat", payload, &v), -EBADMSG);
	assert_int_equal(v.code, OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION);
	/* no report wanted */
	assert_int_equal(ocpp_validate(message("Heartbeat.req"), payload, NULL), -EBADMSG);
	/* an absent payload is not an object */
	assert_int_equal(ocpp_validate(message("Heartbeat.req"), NULL, &v), -EBADMSG);
	assert_int_equal(v.code, OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION);
	assert_string_equal(v.path, "");
	json_decref(payload);
}

/* Long keys from the wire: path and text stay bounded, terminated and valid UTF-8. */
static void
test_long_paths(void **state)
{
	char key[600], *long_string;
	json_t *payload = json_object();
	struct ocpp_violation v;
	json_t *s;

	(void)state;
	for (size_t i = 0; i < 599; i += 2)
		memcpy(key + i, "\xc3\xa9", 2); /* é */
	key[598] = '\0';
	json_object_set_new(payload, key, json_integer(1));
	assert_int_equal(ocpp_validate(message("Heartbeat.req"), payload, &v), -EBADMSG);
	assert_int_equal(v.code, OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION);
	assert_true(strlen(v.path) < sizeof(v.path));
	assert_true(strlen(v.path) >= sizeof(v.path) - 2);
	s = json_string(v.path); /* NULL if not valid UTF-8 */
	assert_non_null(s);
	json_decref(s);
	s = json_string(v.text);
	assert_non_null(s);
	json_decref(s);
	json_decref(payload);

	/* control characters do not reach the description */
	payload = parse("{'a\\nb\\u0001':1}");
	assert_int_equal(ocpp_validate(message("Heartbeat.req"), payload, &v), -EBADMSG);
	assert_string_equal(v.path, "a?b?");
	json_decref(payload);

	/* the longest string of all */
	long_string = malloc(10002);
	assert_non_null(long_string);
	memset(long_string, 'x', 10001);
	long_string[10001] = '\0';
	payload = json_pack("{s:s}", "certificateChain", long_string);
	assert_int_equal(ocpp_validate(message("CertificateSigned.req"), payload, &v), -EBADMSG);
	assert_int_equal(v.code, OCPP_ERROR_FORMATION_VIOLATION);
	assert_string_equal(v.keyword, "maxLength");
	json_decref(payload);
	long_string[10000] = '\0';
	payload = json_pack("{s:s}", "certificateChain", long_string);
	assert_int_equal(ocpp_validate(message("CertificateSigned.req"), payload, &v), 0);
	json_decref(payload);
	free(long_string);
}

/* ---- generated checks: every property of every message, at every depth ---- */

static json_t *
sample(const struct ocpp_type *t, bool full)
{
	json_t *json = NULL;

	switch (t->kind) {
	case OCPP_TYPE_STRING:
		if (t->enumeration)
			return json_string(t->enumeration[0]);
		if (t->format == OCPP_FORMAT_DATE_TIME)
			return json_string("2024-01-01T00:00:00Z");
		if (t->format == OCPP_FORMAT_URI)
			return json_string("ftp://example.com/x");
		return json_string("x");
	case OCPP_TYPE_INTEGER:
		return json_integer(1);
	case OCPP_TYPE_NUMBER:
		return json_real(1.5);
	case OCPP_TYPE_BOOLEAN:
		return json_true();
	case OCPP_TYPE_OBJECT:
		json = json_object();
		for (size_t i = 0; i < t->n_properties; i++) {
			if (full || t->properties[i].required)
				json_object_set_new(json, t->properties[i].name,
				                    sample(t->properties[i].type, full));
		}
		return json;
	case OCPP_TYPE_ARRAY:
		json = json_array();
		for (unsigned i = 0; i < (full && !t->min_items ? 1 : t->min_items); i++)
			json_array_append_new(json, sample(t->items, full));
		return json;
	}
	return NULL;
}

static json_t *
wrong_type(const struct ocpp_type *t)
{
	switch (t->kind) {
	case OCPP_TYPE_STRING:
		return json_integer(12345);
	case OCPP_TYPE_INTEGER:
		return json_real(1.5);
	case OCPP_TYPE_NUMBER:
	case OCPP_TYPE_BOOLEAN:
		return json_string("1");
	case OCPP_TYPE_OBJECT:
		return json_array();
	case OCPP_TYPE_ARRAY:
		return json_object();
	}
	return NULL;
}

struct generated {
	const struct ocpp_type *root;
	json_t *payload;
	const char *message;
	unsigned checks;
};

static void
expect(struct generated *g, enum ocpp_error_code code, const char *keyword, const char *path)
{
	struct ocpp_violation v;
	int r = ocpp_validate(g->root, g->payload, &v);

	g->checks++;
	if (code == OCPP_ERROR_NONE) {
		if (r != 0) {
			char *text = json_dumps(g->payload, JSON_COMPACT);

			fail_msg("%s %s refused: %s", g->message, text, v.text);
		}
		return;
	}
	if (r != -EBADMSG || v.code != code || strcmp(str(v.keyword), keyword) ||
	    strcmp(v.path, path)) {
		char *text = json_dumps(g->payload, JSON_COMPACT);

		fail_msg("%s %s: got %s %s \"%s\", expected %s %s \"%s\"", g->message, text,
		         ocpp_error_code_name(v.code), v.keyword, v.path,
		         ocpp_error_code_name(code), keyword, path);
	}
}

/* Where a value sits: an object member or an array item. */
struct slot {
	json_t *container;
	const char *name; /* NULL: index */
	size_t index;
};

static json_t *
slot_get(const struct slot *slot)
{
	return slot->name ? json_object_get(slot->container, slot->name)
	                  : json_array_get(slot->container, slot->index);
}

static void
slot_set(const struct slot *slot, json_t *value)
{
	if (slot->name)
		json_object_set_new(slot->container, slot->name, value);
	else
		json_array_set_new(slot->container, slot->index, value);
}

/* The slot holds a valid value of type t: replace it by invalid and valid ones, then restore. */
static void
mutate(struct generated *g, const struct slot *slot, const struct ocpp_type *t, const char *path)
{
	json_t *saved = json_incref(slot_get(slot));

	slot_set(slot, wrong_type(t));
	expect(g, TYPE, "type", path);
	if (t->kind == OCPP_TYPE_INTEGER) {
		slot_set(slot, json_real(2.0));
		expect(g, OCPP_ERROR_NONE, NULL, path);
		slot_set(slot, json_integer(-7));
		expect(g, OCPP_ERROR_NONE, NULL, path);
	}
	if (t->kind == OCPP_TYPE_NUMBER) {
		slot_set(slot, json_integer(32));
		expect(g, OCPP_ERROR_NONE, NULL, path);
	}
	if (t->multiple_of) {
		slot_set(slot, json_real(t->multiple_of * 2.5));
		expect(g, OCCURRENCE, "multipleOf", path);
		slot_set(slot, json_real(t->multiple_of * 123));
		expect(g, OCPP_ERROR_NONE, NULL, path);
	}
	if (t->enumeration) {
		for (const char *const *e = t->enumeration; *e; e++) {
			slot_set(slot, json_string(*e));
			expect(g, OCPP_ERROR_NONE, NULL, path);
		}
		slot_set(slot, json_string("NotAValue"));
		expect(g, FORMATION, "enum", path);
	}
	if (t->max_length) {
		char *s = malloc(t->max_length + 2);

		assert_non_null(s);
		memset(s, 'x', t->max_length + 1);
		s[t->max_length + 1] = '\0';
		slot_set(slot, json_string(s));
		expect(g, FORMATION, "maxLength", path);
		s[t->max_length] = '\0';
		slot_set(slot, json_string(s));
		expect(g, OCPP_ERROR_NONE, NULL, path);
		free(s);
	}
	if (t->format == OCPP_FORMAT_DATE_TIME) {
		slot_set(slot, json_string("2024-13-01T00:00:00Z"));
		expect(g, FORMATION, "format", path);
	}
	if (t->format == OCPP_FORMAT_URI) {
		slot_set(slot, json_string("no scheme"));
		expect(g, FORMATION, "format", path);
	}
	if (t->min_items) {
		slot_set(slot, json_array());
		expect(g, OCCURRENCE, "minItems", path);
	}
	slot_set(slot, saved);
}

static void walk_object(struct generated *g, json_t *object, const struct ocpp_type *t,
                        const char *path);

/* Into the value of a slot: an object's properties, or a second item of an array. */
static void
walk_value(struct generated *g, json_t *value, const struct ocpp_type *t, const char *path)
{
	char inner[256];

	if (t->kind == OCPP_TYPE_OBJECT) {
		walk_object(g, value, t, path);
	} else if (t->kind == OCPP_TYPE_ARRAY) {
		struct slot item = {value, NULL, json_array_size(value)};

		json_array_append_new(value, sample(t->items, true));
		expect(g, OCPP_ERROR_NONE, NULL, path);
		snprintf(inner, sizeof(inner), "%s[%zu]", path, item.index);
		mutate(g, &item, t->items, inner);
		walk_value(g, slot_get(&item), t->items, inner);
		json_array_remove(value, item.index);
	}
}

static void
walk_object(struct generated *g, json_t *object, const struct ocpp_type *t, const char *path)
{
	char inner[256];

	for (size_t i = 0; i < t->n_properties; i++) {
		const struct ocpp_property *p = &t->properties[i];
		struct slot member = {object, p->name, 0};
		json_t *value = json_object_get(object, p->name);

		snprintf(inner, sizeof(inner), "%s%s%s", path, *path ? "." : "", p->name);
		assert_non_null(value);
		if (p->required) {
			json_incref(value);
			json_object_del(object, p->name);
			expect(g, OCCURRENCE, "required", inner);
			json_object_set_new(object, p->name, value);
		}
		mutate(g, &member, p->type, inner);
		walk_value(g, slot_get(&member), p->type, inner);
	}
	snprintf(inner, sizeof(inner), "%s%szzUnknown", path, *path ? "." : "");
	json_object_set_new(object, "zzUnknown", json_integer(1));
	expect(g, t->additional_properties ? OCPP_ERROR_NONE : PROPERTY, "additionalProperties",
	       inner);
	json_object_del(object, "zzUnknown");
}

static void
test_generated(void **state)
{
	size_t n;
	const struct ocpp_action *actions = ocpp_action_list(&n);
	unsigned checks = 0;

	(void)state;
	for (size_t a = 0; a < n; a++) {
		for (int conf = 0; conf <= 1; conf++) {
			char name[64];
			struct generated g = {.root = conf ? actions[a].conf : actions[a].req,
			                      .message = name};

			snprintf(name, sizeof(name), "%s.%s", actions[a].name,
			         conf ? "conf" : "req");
			/* the smallest valid payload, then one with every optional property */
			g.payload = sample(g.root, false);
			expect(&g, OCPP_ERROR_NONE, NULL, "");
			json_decref(g.payload);
			g.payload = sample(g.root, true);
			expect(&g, OCPP_ERROR_NONE, NULL, "");
			walk_object(&g, g.payload, g.root, "");
			expect(&g, OCPP_ERROR_NONE, NULL, ""); /* restored */
			json_decref(g.payload);
			checks += g.checks;
		}
	}
	print_message("%u generated checks\n", checks);
	assert_true(checks > 1000);
}

static int
load_schema_file(void **state)
{
	json_error_t error;

	(void)state;
	schema_file = json_load_file(SCHEMA_FILE, 0, &error);
	if (!schema_file) {
		print_error("cannot load %s: %s (line %d). The test runs from the repository root "
		            "and needs node_modules: run \"npm ci\" there first.\n",
		            SCHEMA_FILE, error.text, error.line);
		return -1;
	}
	return 0;
}

static int
free_schema_file(void **state)
{
	(void)state;
	json_decref(schema_file);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_match_schema_file),
	    cmocka_unit_test(test_action_table),
	    cmocka_unit_test(test_error_codes),
	    cmocka_unit_test(test_date_time_format),
	    cmocka_unit_test(test_uri_format),
	    cmocka_unit_test(test_valid_samples),
	    cmocka_unit_test(test_invalid_payloads),
	    cmocka_unit_test(test_invalid_payload_count),
	    cmocka_unit_test(test_validate_call),
	    cmocka_unit_test(test_long_paths),
	    cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, load_schema_file, free_schema_file);
}
