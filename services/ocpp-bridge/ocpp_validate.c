/* The payload validator: walks a payload along the tables of ocpp_schema.c and stops at the first
 * violation, in the order ajv 8 (behind ocpp-rpc's strict mode) checks keywords:
 *
 *   - type first, then enum; except when a node has keywords of its own type's group (string:
 *     maxLength, format; number: minimum, maximum, multipleOf; object; array), where enum comes
 *     first and the type is checked with that group (no node of the 1.6 schemas has both);
 *   - numbers: maximum, minimum, multipleOf; strings: maxLength, then format;
 *   - objects: required (in the schema's "required" order), additionalProperties (in the
 *     payload's key order as JavaScript enumerates it: integer-like keys first, ascending), then
 *     each property in schema order, depth first;
 *   - arrays: maxItems, minItems, then the items in index order.
 *
 * The CALLERROR code for a failed keyword is the one ocpp-rpc 2.2.1 answers with on ocpp1.6
 * (lib/validator.js errorCodeLUT, whose default "FormatViolation" lib/client.js sends as
 * "FormationViolation" on 1.6):
 *
 *   keyword                         CALLERROR code
 *   type                            TypeConstraintViolation
 *   required                        OccurenceConstraintViolation
 *   minItems, maxItems, multipleOf  OccurenceConstraintViolation
 *   additionalProperties            PropertyConstraintViolation
 *   maxLength, minimum, maximum     FormationViolation
 *   enum, format (not in the LUT)   FormationViolation
 *
 * The prose of OCPP-J 1.6 section 4.2.3 would suggest otherwise in places (an enum value or a
 * too long string as PropertyConstraintViolation, an additional property as an occurrence
 * problem); we answer as the strict test CSMS does. ocpp-rpc spells the occurrence code with
 * "rr" on 1.6; we send the 1.6 spelling "OccurenceConstraintViolation".
 *
 * JSON numbers: "integer" accepts a jansson integer, and a real without fractional part (2.0),
 * as ajv does (JavaScript has one number type); 1.5 is a TypeConstraintViolation. "number"
 * accepts both. multipleOf is ocpp-rpc's tolerant version: |round(x / m) - x / m| < 1e-6.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ocpp_schema.h"

enum keyword {
	KW_TYPE,
	KW_ENUM,
	KW_MAX_LENGTH,
	KW_FORMAT,
	KW_MAXIMUM,
	KW_MINIMUM,
	KW_MULTIPLE_OF,
	KW_REQUIRED,
	KW_ADDITIONAL_PROPERTIES,
	KW_MAX_ITEMS,
	KW_MIN_ITEMS,
};

/* the mapping stated above */
static const struct {
	const char *name;
	enum ocpp_error_code code;
} keywords[] = {
    [KW_TYPE] = {"type", OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION},
    [KW_ENUM] = {"enum", OCPP_ERROR_FORMATION_VIOLATION},
    [KW_MAX_LENGTH] = {"maxLength", OCPP_ERROR_FORMATION_VIOLATION},
    [KW_FORMAT] = {"format", OCPP_ERROR_FORMATION_VIOLATION},
    [KW_MAXIMUM] = {"maximum", OCPP_ERROR_FORMATION_VIOLATION},
    [KW_MINIMUM] = {"minimum", OCPP_ERROR_FORMATION_VIOLATION},
    [KW_MULTIPLE_OF] = {"multipleOf", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
    [KW_REQUIRED] = {"required", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
    [KW_ADDITIONAL_PROPERTIES] = {"additionalProperties", OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION},
    [KW_MAX_ITEMS] = {"maxItems", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
    [KW_MIN_ITEMS] = {"minItems", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
};

static const char *const kind_names[] = {
    [OCPP_TYPE_STRING] = "string",   [OCPP_TYPE_INTEGER] = "integer", [OCPP_TYPE_NUMBER] = "number",
    [OCPP_TYPE_BOOLEAN] = "boolean", [OCPP_TYPE_OBJECT] = "object",   [OCPP_TYPE_ARRAY] = "array",
};

/* ---- bounded UTF-8 text ---- */

struct text {
	char *buf;
	size_t size, len;
};

/* Appends at most n bytes of s, replacing control characters, and cuts at a character boundary
 * when the buffer is full (s is valid UTF-8: jansson checks every string). */
static void
text_putn(struct text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (clen > n - i || t->len + clen >= t->size)
			break;
		if (c < 0x20 || c == 0x7f) {
			t->buf[t->len++] = '?';
		} else {
			memcpy(t->buf + t->len, s + i, clen);
			t->len += clen;
		}
		i += clen;
	}
	t->buf[t->len] = '\0';
}

static void
text_puts(struct text *t, const char *s)
{
	text_putn(t, s, strlen(s));
}

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	char tmp[OCPP_VIOLATION_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		text_putn(t, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- the walk ---- */

struct walk {
	struct ocpp_violation *out;
	struct text path;
};

static int violation(struct walk *w, enum keyword kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
violation(struct walk *w, enum keyword kw, const char *fmt, ...)
{
	struct text text = {w->out->text, sizeof(w->out->text), 0};
	char tmp[OCPP_VIOLATION_TEXT_MAX];
	va_list ap;
	int n;

	w->out->code = keywords[kw].code;
	w->out->keyword = keywords[kw].name;
	text_printf(&text, "%s: ", w->path.len ? w->out->path : "payload");
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		text_putn(&text, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
	return -EBADMSG;
}

static void
path_push_name(struct walk *w, const char *name, size_t len)
{
	if (w->path.len)
		text_puts(&w->path, ".");
	text_putn(&w->path, name, len);
}

static void
path_push_index(struct walk *w, size_t index)
{
	text_printf(&w->path, "[%zu]", index);
}

static void
path_pop(struct walk *w, size_t len)
{
	w->path.len = len;
	w->path.buf[len] = '\0';
}

static bool
is_kind(const json_t *value, enum ocpp_type_kind kind)
{
	switch (kind) {
	case OCPP_TYPE_STRING:
		return json_is_string(value);
	case OCPP_TYPE_INTEGER:
		if (json_is_integer(value))
			return true;
		return json_is_real(value) &&
		       floor(json_real_value(value)) == json_real_value(value);
	case OCPP_TYPE_NUMBER:
		return json_is_number(value);
	case OCPP_TYPE_BOOLEAN:
		return json_is_boolean(value);
	case OCPP_TYPE_OBJECT:
		return json_is_object(value);
	case OCPP_TYPE_ARRAY:
		return json_is_array(value);
	}
	return false;
}

/* Whether the node has keywords of its type's group, which makes ajv check enum first. */
static bool
has_type_group(const struct ocpp_type *t)
{
	switch (t->kind) {
	case OCPP_TYPE_STRING:
		return t->max_length || t->format;
	case OCPP_TYPE_NUMBER:
		return t->has_minimum || t->has_maximum || t->multiple_of;
	case OCPP_TYPE_OBJECT:
	case OCPP_TYPE_ARRAY:
		return true;
	case OCPP_TYPE_INTEGER: /* ajv has no integer group: the type is checked first */
	case OCPP_TYPE_BOOLEAN:
		break;
	}
	return false;
}

static bool
in_enum(const struct ocpp_type *t, const json_t *value)
{
	size_t len;

	if (!json_is_string(value))
		return false;
	len = json_string_length(value);
	for (const char *const *e = t->enumeration; *e; e++) {
		if (strlen(*e) == len && memcmp(*e, json_string_value(value), len) == 0)
			return true;
	}
	return false;
}

static int
enum_violation(struct walk *w, const struct ocpp_type *t)
{
	char list[OCPP_VIOLATION_TEXT_MAX];
	struct text text = {list, sizeof(list), 0};

	for (const char *const *e = t->enumeration; *e; e++) {
		if (e != t->enumeration)
			text_puts(&text, ", ");
		text_puts(&text, *e);
	}
	return violation(w, KW_ENUM, "must be one of %s", list);
}

/* Unicode code points: what ajv's maxLength counts (a surrogate pair is one character). */
static size_t
utf8_length(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int check(struct walk *w, const struct ocpp_type *t, const json_t *value);

static int
check_string(struct walk *w, const struct ocpp_type *t, const json_t *value)
{
	const char *s = json_string_value(value);
	size_t len = json_string_length(value);

	if (t->max_length && utf8_length(s, len) > t->max_length)
		return violation(w, KW_MAX_LENGTH, "must not have more than %u characters",
		                 t->max_length);
	if (t->format == OCPP_FORMAT_DATE_TIME && !ocpp_date_time_valid(s, len))
		return violation(w, KW_FORMAT, "must be an RFC 3339 date-time");
	if (t->format == OCPP_FORMAT_URI && !ocpp_uri_valid(s, len))
		return violation(w, KW_FORMAT, "must be an absolute URI");
	return 0;
}

/* ocpp-rpc replaces ajv's multipleOf by |round(x / m) - x / m| < 1e-6, rounding half up as
 * JavaScript's Math.round() does. */
static bool
is_multiple_of(double x, double m)
{
	double q = x / m;
	double r = floor(q);

	if (q - r >= 0.5)
		r += 1;
	return fabs(r - q) < 1e-6;
}

static int
check_number(struct walk *w, const struct ocpp_type *t, const json_t *value)
{
	double x = json_number_value(value);

	if (t->has_maximum && x > t->maximum)
		return violation(w, KW_MAXIMUM, "must be <= %g", t->maximum);
	if (t->has_minimum && x < t->minimum)
		return violation(w, KW_MINIMUM, "must be >= %g", t->minimum);
	if (t->multiple_of && !is_multiple_of(x, t->multiple_of))
		return violation(w, KW_MULTIPLE_OF, "must be a multiple of %g", t->multiple_of);
	return 0;
}

static const struct ocpp_property *
find_property(const struct ocpp_type *t, const char *key, size_t len)
{
	for (size_t i = 0; i < t->n_properties; i++) {
		const char *name = t->properties[i].name;

		if (strlen(name) == len && memcmp(name, key, len) == 0)
			return &t->properties[i];
	}
	return NULL;
}

/* A JavaScript array index ("0", "1", ... below 2^32 - 1): for-in enumerates those first. */
static bool
array_index(const char *key, size_t len, uint64_t *index)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (key[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (key[i] < '0' || key[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(key[i] - '0');
	}
	*index = v;
	return v < UINT32_MAX;
}

static int
check_object(struct walk *w, const struct ocpp_type *t, const json_t *value)
{
	const struct ocpp_property *missing = NULL;
	size_t mark = w->path.len;

	for (size_t i = 0; i < t->n_properties; i++) {
		const struct ocpp_property *p = &t->properties[i];

		if (p->required && !json_object_get(value, p->name) &&
		    (!missing || p->required < missing->required))
			missing = p;
	}
	if (missing) {
		path_push_name(w, missing->name, strlen(missing->name));
		return violation(w, KW_REQUIRED, "required property missing");
	}

	if (!t->additional_properties) {
		const char *first = NULL, *key;
		size_t first_len = 0, key_len;
		uint64_t first_index = UINT64_MAX, index;
		json_t *member;

		/* jansson's iteration API takes a non-const object; nothing is modified */
		json_object_keylen_foreach((json_t *)value, key, key_len, member)
		{
			(void)member;
			if (find_property(t, key, key_len))
				continue;
			if (array_index(key, key_len, &index)) {
				if (index < first_index) {
					first_index = index;
					first = key;
					first_len = key_len;
				}
			} else if (!first) {
				first = key;
				first_len = key_len;
			}
		}
		if (first) {
			path_push_name(w, first, first_len);
			return violation(w, KW_ADDITIONAL_PROPERTIES, "property not allowed");
		}
	}

	for (size_t i = 0; i < t->n_properties; i++) {
		const struct ocpp_property *p = &t->properties[i];
		const json_t *member = json_object_get(value, p->name);
		int r;

		if (!member)
			continue;
		path_push_name(w, p->name, strlen(p->name));
		r = check(w, p->type, member);
		if (r < 0)
			return r;
		path_pop(w, mark);
	}
	return 0;
}

static int
check_array(struct walk *w, const struct ocpp_type *t, const json_t *value)
{
	size_t n = json_array_size(value);
	size_t mark = w->path.len;

	if (t->max_items && n > t->max_items)
		return violation(w, KW_MAX_ITEMS, "must not have more than %u items", t->max_items);
	if (n < t->min_items)
		return violation(w, KW_MIN_ITEMS, "must not have fewer than %u items",
		                 t->min_items);
	if (!t->items)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int r;

		path_push_index(w, i);
		r = check(w, t->items, json_array_get(value, i));
		if (r < 0)
			return r;
		path_pop(w, mark);
	}
	return 0;
}

static int
check(struct walk *w, const struct ocpp_type *t, const json_t *value)
{
	bool grouped = has_type_group(t);

	if (!grouped && !is_kind(value, t->kind))
		return violation(w, KW_TYPE, "must be %s", kind_names[t->kind]);
	if (t->enumeration && !in_enum(t, value))
		return enum_violation(w, t);
	if (grouped && !is_kind(value, t->kind))
		return violation(w, KW_TYPE, "must be %s", kind_names[t->kind]);

	switch (t->kind) {
	case OCPP_TYPE_STRING:
		return check_string(w, t, value);
	case OCPP_TYPE_INTEGER:
	case OCPP_TYPE_NUMBER:
		return check_number(w, t, value);
	case OCPP_TYPE_OBJECT:
		return check_object(w, t, value);
	case OCPP_TYPE_ARRAY:
		return check_array(w, t, value);
	case OCPP_TYPE_BOOLEAN:
		break;
	}
	return 0;
}

int
ocpp_validate(const struct ocpp_type *schema, const json_t *payload, struct ocpp_violation *out)
{
	struct ocpp_violation scratch;
	struct walk w;

	assert(schema);
	if (!out)
		out = &scratch;
	out->code = OCPP_ERROR_NONE;
	out->keyword = NULL;
	out->path[0] = '\0';
	out->text[0] = '\0';
	w.out = out;
	w.path = (struct text){out->path, sizeof(out->path), 0};
	if (!payload) /* as ajv sees an absent payload: undefined, not an object */
		return violation(&w, KW_TYPE, "must be %s (payload missing)",
		                 kind_names[schema->kind]);
	return check(&w, schema, payload);
}

int
ocpp_validate_call(const char *action, const json_t *payload, struct ocpp_violation *out)
{
	const struct ocpp_action *a = ocpp_action_find(action);

	if (!a) {
		if (out) {
			out->code = OCPP_ERROR_NOT_IMPLEMENTED;
			out->keyword = NULL;
			out->path[0] = '\0';
			snprintf(out->text, sizeof(out->text), "unknown action");
		}
		return -ENOENT;
	}
	return ocpp_validate(a->req, payload, out);
}

/* ---- formats ---- */

static bool
digits(const char *s, size_t n, unsigned *value)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*value = v;
	return true;
}

static unsigned
days_in_month(unsigned year, unsigned month)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

	return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 3339 5.6: full-date ("T" | "t" | " ") partial-time time-offset */
bool
ocpp_date_time_valid(const char *s, size_t len)
{
	unsigned year, month, day, hour, minute, second, off_hour = 0, off_minute = 0;
	size_t i = 19;
	int sign = 0;

	if (len < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) ||
	    s[7] != '-' || !digits(s + 8, 2, &day))
		return false;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return false;
	if (!digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &minute) ||
	    s[16] != ':' || !digits(s + 17, 2, &second))
		return false;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
	           digits(s + i + 1, 2, &off_hour) && s[i + 3] == ':' &&
	           digits(s + i + 4, 2, &off_minute)) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return false;
	}
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return false;
	if (hour > 23 || minute > 59 || second > 60 || off_hour > 23 || off_minute > 59)
		return false;
	if (second == 60) { /* a leap second happens at 23:59:60 UTC */
		int utc = (int)(hour * 60 + minute) - sign * (int)(off_hour * 60 + off_minute);

		if ((utc + 1440) % 1440 != 23 * 60 + 59)
			return false;
	}
	return true;
}

/* RFC 3986 character classes, as ajv-formats' regular expression (case-insensitive) has them */
static bool
is_unreserved_or_sub_delim(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~!$&'()*+,;=", c));
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Consumes one character of the class (unreserved, sub-delims, extra) or a %-escape. */
static bool
uri_char(const char *s, size_t len, size_t *i, const char *extra)
{
	char c = s[*i];

	if (c == '%') {
		if (*i + 2 >= len || !is_hex(s[*i + 1]) || !is_hex(s[*i + 2]))
			return false;
		*i += 3;
		return true;
	}
	if (is_unreserved_or_sub_delim(c) || (c && strchr(extra, c))) {
		*i += 1;
		return true;
	}
	return false;
}

/* RFC 3986 IPv6address: 8 groups of 1-4 hex digits, or fewer around one "::" (at most 7), the
 * last two possibly as a dotted IPv4 address (octets of 1-3 digits up to 255). */
static bool
ipv6_valid(const char *s, size_t len)
{
	unsigned groups = 0;
	bool compressed = false;
	size_t i = 0;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = true;
		i = 2;
	} else if (len && s[0] == ':') {
		return false;
	}
	while (i < len) {
		size_t start = i;

		while (i < len && i - start < 5 && is_hex(s[i]))
			i++;
		if (i < len && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9'))) {
			/* an IPv4 tail: re-read this group as four decimal octets */
			unsigned octets = 0;

			i = start;
			while (octets < 4) {
				size_t d = i;
				unsigned v = 0;

				while (i < len && i - d < 3 && s[i] >= '0' && s[i] <= '9')
					v = v * 10 + (unsigned)(s[i++] - '0');
				if (i == d || v > 255)
					return false;
				if (++octets < 4) {
					if (i >= len || s[i] != '.')
						return false;
					i++;
				}
			}
			if (i != len)
				return false;
			groups += 2;
			break;
		}
		if (i == start || i - start > 4)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < len && s[i] == ':') {
			if (compressed)
				return false;
			compressed = true;
			i++;
		} else if (i == len) {
			return false; /* a single trailing ':' */
		}
	}
	return compressed ? groups <= 7 : groups == 8;
}

/* IP-literal without the brackets: IPv6address or IPvFuture ("v" 1*HEXDIG "." 1*(...)). */
static bool
ip_literal_valid(const char *s, size_t len)
{
	if (len && (s[0] == 'v' || s[0] == 'V')) {
		size_t i = 1;

		while (i < len && is_hex(s[i]))
			i++;
		if (i == 1 || i >= len || s[i] != '.' || ++i == len)
			return false;
		for (; i < len; i++) {
			if (!is_unreserved_or_sub_delim(s[i]) && s[i] != ':')
				return false;
		}
		return true;
	}
	return ipv6_valid(s, len);
}

/* ("/" | pchar)* to the end of [*i, end) */
static bool
uri_path(const char *s, size_t end, size_t *i)
{
	while (*i < end) {
		if (s[*i] == '/')
			(*i)++;
		else if (!uri_char(s, end, i, ":@"))
			return false;
	}
	return true;
}

/* scheme ":" hier-part ["?" query] ["#" fragment], where hier-part is non-empty and either
 * "//" [userinfo "@"] "[" IP-literal "]" [":" port] path-abempty (ajv also takes one "/"), or
 * made of "/" and pchar only (which covers every other authority, path-absolute and
 * path-rootless). */
bool
ocpp_uri_valid(const char *s, size_t len)
{
	size_t i = 0, hier, end;

	if (!len || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while (i < len && s[i] != ':') {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return false;
		i++;
	}
	if (i == len)
		return false;
	hier = ++i;
	for (end = hier; end < len && s[end] != '?' && s[end] != '#'; end++)
		;
	if (end == hier)
		return false;

	if (!uri_path(s, end, &i)) {
		/* the other form: "//" [userinfo "@"] "[" IP-literal "]" [":" *DIGIT] path-abempty,
		 * where ajv's expression also takes a single "/" */
		size_t authority, close;

		i = hier;
		if (s[i++] != '/')
			return false;
		if (i < end && s[i] == '/')
			i++;
		authority = i;
		while (i < end && uri_char(s, end, &i, ":"))
			;
		if (i < end && s[i] == '@')
			i++;
		else
			i = authority;
		if (i >= end || s[i] != '[')
			return false;
		for (close = i + 1; close < end && s[close] != ']'; close++)
			;
		if (close == end || !ip_literal_valid(s + i + 1, close - i - 1))
			return false;
		i = close + 1;
		if (i < end && s[i] == ':') {
			for (i++; i < end && s[i] >= '0' && s[i] <= '9'; i++)
				;
		}
		if (i < end && s[i] != '/')
			return false;
		if (!uri_path(s, end, &i))
			return false;
	}

	if (i < len && s[i] == '?') {
		for (i++; i < len && s[i] != '#';) {
			if (s[i] == '/' || s[i] == '?')
				i++;
			else if (!uri_char(s, len, &i, ":@"))
				return false;
		}
	}
	if (i < len && s[i] == '#') {
		for (i++; i < len;) {
			if (s[i] == '/' || s[i] == '?')
				i++;
			else if (!uri_char(s, len, &i, ":@"))
				return false;
		}
	}
	return i == len;
}
