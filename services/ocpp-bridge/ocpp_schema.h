/* The OCPP 1.6J message definitions as data, and the payload validator of the ocpp-bridge.
 *
 * Every message the bridge can send or receive is described once, in ocpp_schema.c, by static
 * tables that mirror the official OCPP 1.6 JSON schemas (errata applied) as shipped by ocpp-rpc
 * in node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json: the 28 actions of the six 1.6 feature
 * profiles and the 11 actions of the Security Whitepaper (edition 3) that the file contains.
 * The file holds no ISO 15118 Plug & Charge messages (they travel inside DataTransfer in 1.6).
 * tests/test_ocpp_schema.c compares the tables with that file, both ways, on every run.
 *
 * ocpp_validate() checks a CALL or CALLRESULT payload against a message and reports the first
 * violation the way ocpp-rpc (ajv) does, with the CALLERROR code the strict test CSMS would
 * answer with; see the mapping in ocpp_validate.c.
 */
#ifndef BRIDGE_OCPP_SCHEMA_H
#define BRIDGE_OCPP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The CALLERROR codes of OCPP-J 1.6, section 4.2.3 (table 7). */
enum ocpp_error_code {
	OCPP_ERROR_NONE = 0,
	OCPP_ERROR_NOT_IMPLEMENTED,
	OCPP_ERROR_NOT_SUPPORTED,
	OCPP_ERROR_INTERNAL_ERROR,
	OCPP_ERROR_PROTOCOL_ERROR,
	OCPP_ERROR_SECURITY_ERROR,
	OCPP_ERROR_FORMATION_VIOLATION,
	OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION,
	OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION,
	OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION,
	OCPP_ERROR_GENERIC_ERROR,
};

/* The wire spelling of an error code, as OCPP-J 1.6 writes it: "FormationViolation" and
 * "OccurenceConstraintViolation" (single r; errata 5.1 and 5.2 keep both typos for 1.6).
 * NULL for OCPP_ERROR_NONE and for values outside the enum. */
const char *ocpp_error_code_name(enum ocpp_error_code code);

/* Parses the errorCode of a received CALLERROR. Besides the 1.6 spellings it accepts
 * "OccurrenceConstraintViolation" (what ocpp-rpc sends on 1.6) and "FormatViolation" (the
 * OCPP 2.x name of FormationViolation). Returns 0, or -EINVAL for anything else. */
int ocpp_error_code_parse(const char *s, enum ocpp_error_code *code);

enum ocpp_type_kind {
	OCPP_TYPE_STRING = 1,
	OCPP_TYPE_INTEGER,
	OCPP_TYPE_NUMBER,
	OCPP_TYPE_BOOLEAN,
	OCPP_TYPE_OBJECT,
	OCPP_TYPE_ARRAY,
};

enum ocpp_format {
	OCPP_FORMAT_NONE = 0,
	OCPP_FORMAT_DATE_TIME, /* "date-time": see ocpp_date_time_valid() */
	OCPP_FORMAT_URI,       /* "uri": see ocpp_uri_valid() */
};

struct ocpp_property;

/* One node of a message schema. Fields that do not apply to the kind stay zero; a zero limit
 * means "no such keyword" (the schemas use no zero limits). */
struct ocpp_type {
	enum ocpp_type_kind kind;
	const char *const *enumeration; /* allowed strings, NULL-terminated; NULL: any */
	/* OCPP_TYPE_STRING */
	unsigned max_length; /* in characters (Unicode code points), as ajv counts */
	enum ocpp_format format;
	/* OCPP_TYPE_INTEGER, OCPP_TYPE_NUMBER */
	bool has_minimum, has_maximum;
	double minimum, maximum;
	double multiple_of;
	/* OCPP_TYPE_OBJECT */
	const struct ocpp_property *properties; /* in schema order: the order they are checked */
	size_t n_properties;
	bool additional_properties; /* false: keys not listed in properties are refused */
	/* OCPP_TYPE_ARRAY */
	const struct ocpp_type *items;
	unsigned min_items, max_items;
};

struct ocpp_property {
	const char *name;
	const struct ocpp_type *type;
	/* 0: optional. Otherwise required; when several are missing, the one with the lowest value
	 * (then the first in the table) is reported, which reproduces the order of the schema's
	 * "required" list. */
	unsigned char required;
};

/* Who sends the .req of an action (the .conf goes the other way). */
enum ocpp_direction {
	OCPP_CP_TO_CS = 1,
	OCPP_CS_TO_CP = 2,
	OCPP_BOTH_WAYS = OCPP_CP_TO_CS | OCPP_CS_TO_CP,
};

enum ocpp_profile {
	OCPP_PROFILE_CORE,
	OCPP_PROFILE_FIRMWARE_MANAGEMENT,
	OCPP_PROFILE_LOCAL_AUTH_LIST_MANAGEMENT,
	OCPP_PROFILE_RESERVATION,
	OCPP_PROFILE_SMART_CHARGING,
	OCPP_PROFILE_REMOTE_TRIGGER,
	OCPP_PROFILE_SECURITY, /* Security Whitepaper edition 3, not a 1.6 feature profile */
};

struct ocpp_action {
	const char *name;
	enum ocpp_profile profile;
	enum ocpp_direction direction;
	const struct ocpp_type *req;
	const struct ocpp_type *conf;
};

/* The action called name (case-sensitive, as on the wire), or NULL: answer NotImplemented. */
const struct ocpp_action *ocpp_action_find(const char *name);

/* All actions, sorted by name; *count gets their number. */
const struct ocpp_action *ocpp_action_list(size_t *count);

/* "Core", "FirmwareManagement", ... as in the SupportedFeatureProfiles key; "Security". */
const char *ocpp_profile_name(enum ocpp_profile profile);

#define OCPP_VIOLATION_PATH_MAX 128
#define OCPP_VIOLATION_TEXT_MAX 256

/* The first violation found in a payload. path and text are NUL-terminated valid UTF-8
 * (truncated at a character boundary when needed) and may go into a CALLERROR as they are. */
struct ocpp_violation {
	enum ocpp_error_code code;
	const char *keyword; /* the JSON-schema keyword that failed: "type", "required", ... */
	/* where, e.g. "chargingProfile.chargingSchedule.chargingSchedulePeriod[0].limit": the
	 * missing property for "required", the refused one for "additionalProperties", "" for the
	 * payload itself */
	char path[OCPP_VIOLATION_PATH_MAX];
	char text[OCPP_VIOLATION_TEXT_MAX]; /* for the errorDescription, path included */
};

/* Checks payload (borrowed; NULL stands for an absent payload) against schema. Returns 0 when
 * it conforms, -EBADMSG when it does not, with *out (which may be NULL) describing the first
 * violation in ajv's order. As in ajv, an "integer" may be a JSON real without fraction (2.0);
 * 1.5 is a TypeConstraintViolation. The keyword-to-code mapping is in ocpp_validate.c. */
int ocpp_validate(const struct ocpp_type *schema, const json_t *payload,
                  struct ocpp_violation *out);

/* The check of an incoming CALL: NotImplemented for an unknown action (-ENOENT), else
 * ocpp_validate() against the action's .req. Whether a known action is supported is the
 * caller's decision (NotSupported). */
int ocpp_validate_call(const char *action, const json_t *payload, struct ocpp_violation *out);

/* The "date-time" format: RFC 3339 section 5.6, date T time offset: "T", "t" or " " between
 * date and time, optional fraction of any length, "Z", "z" or "+hh:mm"/"-hh:mm" (hh <= 23,
 * mm <= 59), real calendar dates, second 60 only at 23:59 UTC. ajv-formats 2.1.1 (ocpp-rpc)
 * also accepts a missing offset, "+hh" and "+hhmm", out-of-range offsets and any whitespace as
 * the separator; those are not RFC 3339 and are refused here (FormationViolation where the
 * test CSMS would accept). For a leap second ajv wants 23:59:60 in local time instead. */
bool ocpp_date_time_valid(const char *s, size_t len);

/* The "uri" format: an absolute URI (RFC 3986), accepting exactly what ajv-formats 2.1.1 does
 * in its "full" mode (scheme, non-empty hierarchical part, IP literals in brackets,
 * %-escapes checked, ASCII only). */
bool ocpp_uri_valid(const char *s, size_t len);

#endif
