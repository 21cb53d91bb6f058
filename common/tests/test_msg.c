/* Unit tests of the message codec (msg.c) and the msgpack <-> JSON conversion
 * (msg_json.c). The round trip walks the descriptor table, so a message added
 * to common/msg/ is covered without a change here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See msg.c: msg.h's first comment trips -Wcomment. */
#include "sitegate/msg.h"

/* Room for any message struct. */
struct any_msg {
	_Alignas(max_align_t) unsigned char bytes[4096];
};

/* ---- helpers ---- */

/* Builds a msgpack payload from a compact spec, one letter per value:
 *   M map(unsigned n)   A array(unsigned n)   s str(const char *)
 *   S str(const char *, size_t)   B bin(const char *, size_t)
 *   i int(int)   L int(long long)   U uint(unsigned long long)
 *   d float64(double)   f float32(double)   t true   F false   n nil
 *   E ext (type 1, 4 bytes)   x one raw byte (int)
 * Spaces are ignored. */
static void
mp_build(msgpack_sbuffer *sb, const char *spec, ...)
{
	msgpack_packer pk;
	va_list ap;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	va_start(ap, spec);
	for (const char *c = spec; *c; c++) {
		const char *s;
		size_t n;
		char byte;

		switch (*c) {
		case 'M':
			msgpack_pack_map(&pk, va_arg(ap, unsigned));
			break;
		case 'A':
			msgpack_pack_array(&pk, va_arg(ap, unsigned));
			break;
		case 's':
			s = va_arg(ap, const char *);
			msgpack_pack_str(&pk, strlen(s));
			msgpack_pack_str_body(&pk, s, strlen(s));
			break;
		case 'S':
			s = va_arg(ap, const char *);
			n = va_arg(ap, size_t);
			msgpack_pack_str(&pk, n);
			msgpack_pack_str_body(&pk, s, n);
			break;
		case 'B':
			s = va_arg(ap, const char *);
			n = va_arg(ap, size_t);
			msgpack_pack_bin(&pk, n);
			msgpack_pack_bin_body(&pk, s, n);
			break;
		case 'i':
			msgpack_pack_int64(&pk, va_arg(ap, int));
			break;
		case 'L':
			msgpack_pack_int64(&pk, va_arg(ap, long long));
			break;
		case 'U':
			msgpack_pack_uint64(&pk, va_arg(ap, unsigned long long));
			break;
		case 'd':
			msgpack_pack_double(&pk, va_arg(ap, double));
			break;
		case 'f':
			msgpack_pack_float(&pk, (float)va_arg(ap, double));
			break;
		case 't':
			msgpack_pack_true(&pk);
			break;
		case 'F':
			msgpack_pack_false(&pk);
			break;
		case 'n':
			msgpack_pack_nil(&pk);
			break;
		case 'E':
			msgpack_pack_ext(&pk, 4, 1);
			msgpack_pack_ext_body(&pk, "abcd", 4);
			break;
		case 'x':
			byte = (char)va_arg(ap, int);
			msgpack_sbuffer_write(sb, &byte, 1);
			break;
		case ' ':
			break;
		default:
			fail_msg("bad spec letter '%c'", *c);
		}
	}
	va_end(ap);
}

static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int n_bad_cases;

/* Decoding must fail with a reason containing want, and leave the struct zeroed. */
static void
expect_bad_at(enum sg_msg_id id, const void *data, size_t len, const char *want, int line)
{
	struct any_msg m;
	char why[160];
	int r;

	memset(&m, 0xa5, sizeof(m));
	r = sg_msg_decode(id, data, len, &m, why, sizeof(why));
	if (r != -EBADMSG)
		fail_msg("line %d: decode returned %d, want -EBADMSG", line, r);
	if (!strstr(why, want))
		fail_msg("line %d: reason \"%s\" lacks \"%s\"", line, why, want);
	if (!all_zero(&m, sg_msgs[id].size))
		fail_msg("line %d: the struct was not cleared", line);
	n_bad_cases++;
}

#define EXPECT_BAD(id, sb, want) expect_bad_at(id, (sb)->data, (sb)->size, want, __LINE__)

static void
expect_good_at(enum sg_msg_id id, const msgpack_sbuffer *sb, void *m, int line)
{
	char why[160] = "";

	if (sg_msg_decode(id, sb->data, sb->size, m, why, sizeof(why)) != 0)
		fail_msg("line %d: decode failed: %s", line, why);
}

#define EXPECT_GOOD(id, sb, m) expect_good_at(id, sb, m, __LINE__)

/* Fills every field with a value other than the zero default. extreme selects
 * limits (INT64_MIN/MAX, DBL_MAX, subnormals, 1-byte strings) instead. */
static void
fill(const struct sg_msg_desc *d, void *m, bool extreme)
{
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct sg_field_desc *f = &d->fields[i];
		char *p = (char *)m + f->offset;
		const bool yes = true;
		int64_t i64;
		double f64;
		json_t *j;

		switch (f->type) {
		case SG_FT_I64:
			if (extreme)
				i64 = i % 2 ? INT64_MIN : INT64_MAX;
			else
				i64 = (i % 2 ? -1 : 1) * 1000000007LL * (int64_t)(i + 1);
			memcpy(p, &i64, sizeof(i64));
			break;
		case SG_FT_F64:
			if (extreme)
				f64 = i % 2 ? -DBL_MAX : DBL_TRUE_MIN;
			else
				f64 = 0.1 * (double)(i + 1) - 1000.0;
			memcpy(p, &f64, sizeof(f64));
			break;
		case SG_FT_BOOL:
			memcpy(p, &yes, sizeof(yes));
			break;
		case SG_FT_STR:
			if (extreme) {
				strcpy(p, "Z");
				break;
			}
			/* The full length, starting with a two-byte character. */
			for (size_t k = 0; k < f->size - 1; k++)
				p[k] = (char)('a' + (i + k) % 26);
			if (f->size - 1 >= 2)
				memcpy(p, "\xc3\xa9", 2);
			p[f->size - 1] = '\0';
			break;
		case SG_FT_JSON:
			j = json_pack("{s:i, s:[s, f, b, n], s:{s:s, s:I}}", "connectorId",
			              (int)i + 1, "list", "x", 1.5, 1, "nested", "idTag", "ABC",
			              "big", (json_int_t)INT64_MIN);
			assert_non_null(j);
			memcpy(p, &j, sizeof(j));
			break;
		}
	}
}

static void
assert_msg_equal(const struct sg_msg_desc *d, const void *a, const void *b)
{
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct sg_field_desc *f = &d->fields[i];
		const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;

		if (f->type == SG_FT_JSON) {
			json_t *ja, *jb;

			memcpy(&ja, pa, sizeof(ja));
			memcpy(&jb, pb, sizeof(jb));
			if (!json_equal(ja, jb))
				fail_msg("%s.%s: JSON differs", d->name, f->key);
		} else if (f->type == SG_FT_STR) {
			if (strcmp(pa, pb) != 0)
				fail_msg("%s.%s: \"%s\" != \"%s\"", d->name, f->key, pa, pb);
		} else if (memcmp(pa, pb, f->size) != 0) {
			fail_msg("%s.%s differs", d->name, f->key);
		}
	}
}

/* ---- the descriptor table ---- */

static void
table_sane(void **state)
{
	for (size_t i = 0; i < SG_MSG__COUNT; i++) {
		const struct sg_msg_desc *d = &sg_msgs[i];

		assert_non_null(d->name);
		assert_non_null(d->topic);
		assert_non_null(d->doc);
		assert_true(d->version > 0);
		assert_true(d->size <= sizeof(struct any_msg));
		assert_ptr_equal(sg_msg_by_name(d->name), d);
		assert_int_equal(d->reply != SG_MSG_NONE, d->cls == SG_CLASS_REQUEST);
		if (d->reply != SG_MSG_NONE)
			assert_int_equal(sg_msgs[d->reply].cls, SG_CLASS_REPLY);
		for (size_t j = 0; j < d->n_fields; j++) {
			const struct sg_field_desc *f = &d->fields[j];

			assert_true(f->offset >= sizeof(int64_t));
			assert_true(f->offset + f->size <= d->size);
			assert_string_not_equal(f->key, "v");
			for (size_t k = 0; k < j; k++)
				assert_string_not_equal(f->key, d->fields[k].key);
		}
		assert_null(d->fields[d->n_fields].key); /* the sentinel */
	}
	assert_null(sg_msg_by_name("nope"));
	assert_null(sg_msg_by_name(NULL));
	assert_int_equal(sg_msgs[SG_MSG_svc_ping].reply, SG_MSG_svc_pong);
	assert_string_equal(sg_msgs[SG_MSG_conn_state].topic, "{cp}/{conn}/state");
	assert_int_equal(sg_msgs[SG_MSG_meter_sample].cls, SG_CLASS_SAMPLE);
}

/* ---- round trips ---- */

static void
round_trip_all(void **state)
{
	for (int extreme = 0; extreme < 2; extreme++) {
		for (size_t i = 0; i < SG_MSG__COUNT; i++) {
			const struct sg_msg_desc *d = &sg_msgs[i];
			struct any_msg in, out, again;
			msgpack_sbuffer sb, sb2;
			char why[160];
			json_t *j;

			memset(&in, 0, sizeof(in));
			fill(d, &in, extreme);
			msgpack_sbuffer_init(&sb);
			msgpack_sbuffer_init(&sb2);
			assert_int_equal(sg_msg_encode((enum sg_msg_id)i, &in, &sb), 0);
			if (sg_msg_decode((enum sg_msg_id)i, sb.data, sb.size, &out, why,
			                  sizeof(why)) != 0)
				fail_msg("%s: %s", d->name, why);
			assert_int_equal(*(int64_t *)&out, d->version);
			assert_msg_equal(d, &in, &out);

			/* Re-encoding what was decoded gives the same bytes. */
			assert_int_equal(sg_msg_encode((enum sg_msg_id)i, &out, &sb2), 0);
			assert_int_equal(sb.size, sb2.size);
			assert_memory_equal(sb.data, sb2.data, sb.size);
			assert_int_equal(
			    sg_msg_decode((enum sg_msg_id)i, sb2.data, sb2.size, &again, NULL, 0),
			    0);
			assert_msg_equal(d, &out, &again);

			j = sg_msg_to_json((enum sg_msg_id)i, &out);
			assert_non_null(j);
			assert_int_equal(json_object_size(j), d->n_fields + 1);
			assert_int_equal(json_integer_value(json_object_get(j, "v")), d->version);
			json_decref(j);

			sg_msg_clear((enum sg_msg_id)i, &in);
			sg_msg_clear((enum sg_msg_id)i, &out);
			sg_msg_clear((enum sg_msg_id)i, &again);
			assert_true(all_zero(&out, d->size));
			msgpack_sbuffer_destroy(&sb);
			msgpack_sbuffer_destroy(&sb2);
		}
	}
	sg_msg_clear(SG_MSG_svc_status, NULL);
}

static void
round_trip_defaults(void **state)
{
	/* All-zero structs (empty strings, false, 0, NULL JSON) encode and decode
	 * too. A NULL JSON field is left out when optional and comes back NULL; a
	 * required one travels as nil and comes back as a JSON null. */
	for (size_t i = 0; i < SG_MSG__COUNT; i++) {
		const struct sg_msg_desc *d = &sg_msgs[i];
		struct any_msg in = {0}, out;
		msgpack_sbuffer sb;
		size_t omitted = 0;
		msgpack_unpacked up;

		msgpack_sbuffer_init(&sb);
		assert_int_equal(sg_msg_encode((enum sg_msg_id)i, &in, &sb), 0);
		EXPECT_GOOD((enum sg_msg_id)i, &sb, &out);
		for (size_t k = 0; k < d->n_fields; k++) {
			const struct sg_field_desc *f = &d->fields[k];
			json_t *j;

			memcpy(&j, (char *)&out + f->offset, sizeof(j));
			if (f->type != SG_FT_JSON) {
				assert_memory_equal((char *)&in + f->offset,
				                    (char *)&out + f->offset, f->size);
			} else if (f->required) {
				assert_true(json_is_null(j));
			} else {
				assert_null(j);
				omitted++;
			}
		}
		msgpack_unpacked_init(&up);
		assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, NULL),
		                 MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(up.data.via.map.size, d->n_fields + 1 - omitted);
		msgpack_unpacked_destroy(&up);
		sg_msg_clear((enum sg_msg_id)i, &out);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* The first message with a JSON field, found through the table. */
static bool
find_json_field(enum sg_msg_id *id, const struct sg_field_desc **field)
{
	for (size_t i = 0; i < SG_MSG__COUNT; i++) {
		for (size_t k = 0; k < sg_msgs[i].n_fields; k++) {
			if (sg_msgs[i].fields[k].type == SG_FT_JSON) {
				*id = (enum sg_msg_id)i;
				*field = &sg_msgs[i].fields[k];
				return true;
			}
		}
	}
	return false;
}

static const char ocpp_meter_values[] =
    "{\"connectorId\": 1, \"transactionId\": 1234567,"
    " \"meterValue\": [{\"timestamp\": \"2026-11-22T01:42:57.123Z\","
    "   \"sampledValue\": ["
    "     {\"value\": \"12345.6\", \"context\": \"Sample.Periodic\","
    "      \"measurand\": \"Energy.Active.Import.Register\", \"unit\": \"Wh\"},"
    "     {\"value\": \"7360\", \"measurand\": \"Power.Active.Import\", \"phase\": null}]}],"
    " \"flags\": [true, false, null], \"ratio\": -0.25, \"big\": 9223372036854775807,"
    " \"small\": -9223372036854775808, \"empty\": {}, \"none\": [],"
    " \"text\": \"caf\\u00e9 \\u20ac \\ud83d\\udd0c \\u0000 end\"}";

/* Replaces the JSON field f of m with j (stolen), releasing the old value. */
static void
json_field_set(void *m, const struct sg_field_desc *f, json_t *j)
{
	json_t *old;

	memcpy(&old, (char *)m + f->offset, sizeof(old));
	json_decref(old);
	memcpy((char *)m + f->offset, &j, sizeof(j));
}

static json_t *
json_field_get(const void *m, const struct sg_field_desc *f)
{
	json_t *j;

	memcpy(&j, (const char *)m + f->offset, sizeof(j));
	return j;
}

static void
json_field(void **state)
{
	const struct sg_field_desc *f = NULL;
	struct any_msg in = {0}, out;
	enum sg_msg_id id = SG_MSG_NONE;
	msgpack_sbuffer sb;
	json_t *payload, *got, *deep, *cur;
	char why[160];

	if (!find_json_field(&id, &f)) {
		print_message("no message has a JSON field: skipped\n");
		skip();
	}
	msgpack_sbuffer_init(&sb);
	fill(&sg_msgs[id], &in, false);

	/* A nested OCPP payload. */
	payload = json_loads(ocpp_meter_values, JSON_ALLOW_NUL, NULL);
	assert_non_null(payload);
	json_field_set(&in, f, json_incref(payload));
	assert_int_equal(sg_msg_encode(id, &in, &sb), 0);
	EXPECT_GOOD(id, &sb, &out);
	got = json_field_get(&out, f);
	assert_true(json_equal(payload, got));
	assert_true(json_is_real(json_object_get(got, "ratio")));
	assert_true(json_is_integer(json_object_get(got, "big")));
	sg_msg_clear(id, &out);
	json_decref(payload);

	/* An empty array is a payload too. */
	json_field_set(&in, f, json_array());
	msgpack_sbuffer_clear(&sb);
	assert_int_equal(sg_msg_encode(id, &in, &sb), 0);
	EXPECT_GOOD(id, &sb, &out);
	got = json_field_get(&out, f);
	assert_true(json_is_array(got) && json_array_size(got) == 0);
	sg_msg_clear(id, &out);

	/* Below the message map a field holds at most 31 levels; the encoder
	 * refuses what the decoder would. */
	deep = json_array();
	cur = deep;
	for (int k = 1; k < 31; k++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	json_field_set(&in, f, deep);
	msgpack_sbuffer_clear(&sb);
	assert_int_equal(sg_msg_encode(id, &in, &sb), 0);
	EXPECT_GOOD(id, &sb, &out);
	sg_msg_clear(id, &out);
	json_array_append_new(cur, json_array());
	msgpack_sbuffer_clear(&sb);
	assert_int_equal(sg_msg_encode(id, &in, &sb), -EINVAL);
	assert_int_equal(sb.size, 0);
	sg_msg_clear(id, &in);

	/* Bad JSON values name the field. */
	mp_build(&sb, "M s i s E", 2u, "v", 1, f->key);
	snprintf(why, sizeof(why), "field '%s': msgpack extension type 1", f->key);
	EXPECT_BAD(id, &sb, why);
	mp_build(&sb, "M s i s M i i", 2u, "v", 1, f->key, 1u, 1, 2);
	snprintf(why, sizeof(why), "field '%s': map key is not a string", f->key);
	EXPECT_BAD(id, &sb, why);
	mp_build(&sb, "M s i s A d", 2u, "v", 1, f->key, 1u, (double)NAN);
	snprintf(why, sizeof(why), "field '%s': number is not finite", f->key);
	EXPECT_BAD(id, &sb, why);
	mp_build(&sb, "M s i s M s i s i", 2u, "v", 1, f->key, 2u, "a", 1, "a", 2);
	snprintf(why, sizeof(why), "field '%s': duplicate map key 'a'", f->key);
	EXPECT_BAD(id, &sb, why);
	msgpack_sbuffer_destroy(&sb);
}

static void
typed_wrappers_and_json_view(void **state)
{
	struct sg_msg_svc_status st = {.pid = 42, .started = 1700000000000};
	struct sg_msg_svc_status back;
	struct sg_msg_meter_sample ms = {.ts = 1, .energy_wh = NAN, .power_w = 2.5};
	msgpack_sbuffer sb;
	json_t *j;

	strcpy(st.state, "online");
	strcpy(st.version, "0.1.0");
	msgpack_sbuffer_init(&sb);
	assert_int_equal(sg_encode_svc_status(&st, &sb), 0);
	assert_int_equal(sg_decode_svc_status(sb.data, sb.size, &back, NULL, 0), 0);
	assert_string_equal(back.state, "online");
	assert_int_equal(back.pid, 42);

	j = sg_msg_to_json(SG_MSG_svc_status, &st);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "online");
	assert_int_equal(json_integer_value(json_object_get(j, "started")), 1700000000000);
	json_decref(j);

	/* JSON has no NaN: it shows as null. */
	j = sg_msg_to_json(SG_MSG_meter_sample, &ms);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "energy_wh")));
	assert_true(json_real_value(json_object_get(j, "power_w")) == 2.5);
	json_decref(j);

	/* An unterminated or non-UTF-8 string is refused, and out is left alone. */
	msgpack_sbuffer_clear(&sb);
	memset(st.state, 'x', sizeof(st.state));
	assert_int_equal(sg_encode_svc_status(&st, &sb), -EINVAL);
	assert_int_equal(sb.size, 0);
	strcpy(st.state, "\xff");
	assert_int_equal(sg_encode_svc_status(&st, &sb), -EINVAL);
	assert_int_equal(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- accepted edge cases ---- */

static void
unknown_keys_and_order(void **state)
{
	struct sg_msg_svc_ping ping;
	struct sg_msg_svc_status st;
	struct sg_msg_cp_state cp;
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	/* Unknown keys of any type, nested values and extension types included,
	 * in any order; "v" need not come first; a newer version is accepted. */
	mp_build(&sb, "M s i s E s A i s s M s n s L s i s B", 7u, "seq", 5, "zz", "list", 2u, 1,
	         "a", "m", 1u, "k", "sent", -7LL, "v", 7, "bin", "\x00\x01", (size_t)2);
	EXPECT_GOOD(SG_MSG_svc_ping, &sb, &ping);
	assert_int_equal(ping.v, 7);
	assert_int_equal(ping.seq, 5);
	assert_int_equal(ping.sent, -7);

	/* Optional fields absent stay zero. */
	mp_build(&sb, "M s i s s", 2u, "v", 1, "state", "online");
	EXPECT_GOOD(SG_MSG_svc_status, &sb, &st);
	assert_string_equal(st.state, "online");
	assert_string_equal(st.version, "");
	assert_int_equal(st.pid, 0);

	/* A string at its maximum, with multi-byte UTF-8; an empty string. */
	mp_build(&sb, "M s i s s s s", 3u, "v", 1, "connection", "0123456789abcdef", "registration",
	         "");
	EXPECT_GOOD(SG_MSG_cp_state, &sb, &cp);
	assert_string_equal(cp.connection, "0123456789abcdef");
	mp_build(&sb, "M s i s s", 2u, "v", 1, "connection", "\xe2\x82\xac\xf0\x9f\x94\x8c");
	EXPECT_GOOD(SG_MSG_cp_state, &sb, &cp);
	assert_string_equal(cp.connection, "\xe2\x82\xac\xf0\x9f\x94\x8c");

	/* Unknown keys are not checked for duplicates. */
	mp_build(&sb, "M s i s i s i s i", 4u, "v", 1, "seq", 1, "x", 1, "x", 2);
	EXPECT_GOOD(SG_MSG_svc_ping, &sb, &ping);
	msgpack_sbuffer_destroy(&sb);
}

static void
number_edges(void **state)
{
	struct sg_msg_meter_sample m;
	struct sg_msg_svc_ping p;
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	/* F64 takes integers (positive, negative, beyond int64) and float32. */
	mp_build(&sb, "M s i s i s L s U s f s i s d", 7u, "v", 1, "ts", 0, "energy_wh",
	         -123456789012LL, "power_w", 18446744073709551615ULL, "current_l1", 0.5,
	         "voltage_v", 230, "offered_a", -0.0);
	EXPECT_GOOD(SG_MSG_meter_sample, &sb, &m);
	assert_true(m.energy_wh == -123456789012.0);
	assert_true(m.power_w == 18446744073709551615.0);
	assert_true(m.current_l1 == 0.5);
	assert_true(m.voltage_v == 230.0);
	assert_true(m.offered_a == 0.0 && signbit(m.offered_a));

	/* F64 keeps NaN and infinities (only the JSON view cannot). */
	mp_build(&sb, "M s i s i s d s d", 4u, "v", 1, "ts", 1, "energy_wh", (double)NAN, "power_w",
	         (double)-INFINITY);
	EXPECT_GOOD(SG_MSG_meter_sample, &sb, &m);
	assert_true(isnan(m.energy_wh));
	assert_true(isinf(m.power_w) && m.power_w < 0);

	/* I64 limits, in every msgpack integer width. */
	mp_build(&sb, "M s i s L s U", 3u, "v", 1, "seq", (long long)INT64_MIN, "sent",
	         (unsigned long long)INT64_MAX);
	EXPECT_GOOD(SG_MSG_svc_ping, &sb, &p);
	assert_true(p.seq == INT64_MIN);
	assert_true(p.sent == INT64_MAX);
	static const long long widths[] = {
	    -1,  -32, -33, -128,  -129,  -32768,     -32769, -2147483648, 127,
	    128, 255, 256, 65535, 65536, 4294967295, 0,      4294967296LL};
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		mp_build(&sb, "M s i s L", 2u, "v", 1, "seq", widths[i]);
		EXPECT_GOOD(SG_MSG_svc_ping, &sb, &p);
		assert_true(p.seq == widths[i]);
	}
	/* A non-negative value in a signed msgpack type (int8 5). */
	mp_build(&sb, "M s i s x x", 2u, "v", 1, "seq", 0xd0, 5);
	EXPECT_GOOD(SG_MSG_svc_ping, &sb, &p);
	assert_int_equal(p.seq, 5);
	/* v in a wide encoding (uint64 2). */
	mp_build(&sb, "M s x x x x x x x x x s i", 2u, "v", 0xcf, 0, 0, 0, 0, 0, 0, 0, 2, "seq", 1);
	EXPECT_GOOD(SG_MSG_svc_ping, &sb, &p);
	assert_int_equal(p.v, 2);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- malformed payloads ---- */

static void
malformed(void **state)
{
	enum sg_msg_id ping = SG_MSG_svc_ping, st = SG_MSG_svc_status, cp = SG_MSG_cp_state;
	enum sg_msg_id meter = SG_MSG_meter_sample, conn = SG_MSG_conn_state;
	struct sg_msg_svc_ping good = {.seq = 3, .sent = 4};
	msgpack_sbuffer sb, enc;
	char deep[80];

	n_bad_cases = 0;
	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&enc);

	expect_bad_at(ping, "", 0, "empty payload", __LINE__);
	expect_bad_at(ping, NULL, 0, "empty payload", __LINE__);

	/* Every truncation of a valid payload. */
	assert_int_equal(sg_encode_svc_ping(&good, &enc), 0);
	for (size_t n = 1; n < enc.size; n++)
		expect_bad_at(ping, enc.data, n, "truncated", __LINE__);
	n_bad_cases -= (int)enc.size - 2; /* count them as one case */

	/* Not a map. */
	mp_build(&sb, "i", 1);
	EXPECT_BAD(ping, &sb, "payload is not a map");
	mp_build(&sb, "A s i s i", 4u, "v", 1, "seq", 1);
	EXPECT_BAD(ping, &sb, "payload is not a map");
	mp_build(&sb, "s", "v");
	EXPECT_BAD(ping, &sb, "payload is not a map");
	mp_build(&sb, "n");
	EXPECT_BAD(ping, &sb, "payload is not a map");

	/* The version. */
	mp_build(&sb, "M s i", 1u, "seq", 1);
	EXPECT_BAD(ping, &sb, "missing field 'v'");
	mp_build(&sb, "M s i s i", 2u, "v", 0, "seq", 1);
	EXPECT_BAD(ping, &sb, "field 'v': expected a positive integer");
	mp_build(&sb, "M s i s i", 2u, "v", -1, "seq", 1);
	EXPECT_BAD(ping, &sb, "field 'v'");
	mp_build(&sb, "M s s s i", 2u, "v", "1", "seq", 1);
	EXPECT_BAD(ping, &sb, "field 'v'");
	mp_build(&sb, "M s d s i", 2u, "v", 1.0, "seq", 1);
	EXPECT_BAD(ping, &sb, "field 'v'");
	mp_build(&sb, "M s U s i", 2u, "v", 18446744073709551615ULL, "seq", 1);
	EXPECT_BAD(ping, &sb, "field 'v'");
	mp_build(&sb, "M s i s i s i", 3u, "v", 1, "seq", 1, "v", 1);
	EXPECT_BAD(ping, &sb, "duplicate field 'v'");

	/* Required fields. */
	mp_build(&sb, "M s i s i", 2u, "v", 1, "sent", 1);
	EXPECT_BAD(ping, &sb, "missing field 'seq'");
	mp_build(&sb, "M s i s i", 2u, "v", 1, "seq", 1);
	EXPECT_BAD(SG_MSG_svc_pong, &sb, "missing field 'svc'");
	mp_build(&sb, "M s i s i s i", 3u, "v", 1, "ts", 1, "power_w", 1);
	EXPECT_BAD(meter, &sb, "missing field 'energy_wh'");

	/* I64. */
	mp_build(&sb, "M s i s s", 2u, "v", 1, "seq", "1");
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s d", 2u, "v", 1, "seq", 1.0);
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s f", 2u, "v", 1, "seq", 2.0);
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s t", 2u, "v", 1, "seq");
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s n", 2u, "v", 1, "seq");
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s E", 2u, "v", 1, "seq");
	EXPECT_BAD(ping, &sb, "field 'seq': expected integer");
	mp_build(&sb, "M s i s U", 2u, "v", 1, "seq", 9223372036854775808ULL);
	EXPECT_BAD(ping, &sb, "field 'seq': integer out of range");

	/* F64. */
	mp_build(&sb, "M s i s i s s", 3u, "v", 1, "ts", 1, "energy_wh", "1.5");
	EXPECT_BAD(meter, &sb, "field 'energy_wh': expected number");
	mp_build(&sb, "M s i s i s F", 3u, "v", 1, "ts", 1, "energy_wh");
	EXPECT_BAD(meter, &sb, "field 'energy_wh': expected number");
	mp_build(&sb, "M s i s i s i s n", 4u, "v", 1, "ts", 1, "energy_wh", 1, "power_w");
	EXPECT_BAD(meter, &sb, "field 'power_w': expected number");

	/* BOOL. */
	mp_build(&sb, "M s i s s s i", 3u, "v", 1, "connection", "up", "clock_trusted", 1);
	EXPECT_BAD(cp, &sb, "field 'clock_trusted': expected boolean");
	mp_build(&sb, "M s i s s s s", 3u, "v", 1, "connection", "up", "clock_trusted", "true");
	EXPECT_BAD(cp, &sb, "field 'clock_trusted': expected boolean");
	mp_build(&sb, "M s i s s s n", 3u, "v", 1, "connection", "up", "clock_trusted");
	EXPECT_BAD(cp, &sb, "field 'clock_trusted': expected boolean");

	/* STR. */
	mp_build(&sb, "M s i s i", 2u, "v", 1, "state", 1);
	EXPECT_BAD(st, &sb, "field 'state': expected string");
	mp_build(&sb, "M s i s B", 2u, "v", 1, "state", "online", (size_t)6);
	EXPECT_BAD(st, &sb, "field 'state': expected string");
	mp_build(&sb, "M s i s s s s", 3u, "v", 1, "status", "Charging", "id_tag",
	         "012345678901234567890");
	EXPECT_BAD(conn, &sb, "field 'id_tag': longer than 20 bytes");
	mp_build(&sb, "M s i s s", 2u, "v", 1, "connection", "0123456789abcdefg");
	EXPECT_BAD(cp, &sb, "field 'connection': longer than 16 bytes");
	mp_build(&sb, "M s i s S", 2u, "v", 1, "state", "on\0line", (size_t)7);
	EXPECT_BAD(st, &sb, "field 'state': contains NUL");
	mp_build(&sb, "M s i s s", 2u, "v", 1, "state", "on\xc3");
	EXPECT_BAD(st, &sb, "field 'state': not valid UTF-8");
	mp_build(&sb, "M s i s s", 2u, "v", 1, "state", "\xc0\xaf"); /* overlong '/' */
	EXPECT_BAD(st, &sb, "field 'state': not valid UTF-8");
	mp_build(&sb, "M s i s s", 2u, "v", 1, "state", "\xed\xa0\x80"); /* a surrogate */
	EXPECT_BAD(st, &sb, "field 'state': not valid UTF-8");

	/* Keys. */
	mp_build(&sb, "M s i s i s i", 3u, "v", 1, "seq", 1, "seq", 2);
	EXPECT_BAD(ping, &sb, "duplicate field 'seq'");
	mp_build(&sb, "M s i s i i i", 3u, "v", 1, "seq", 1, 7, 7);
	EXPECT_BAD(ping, &sb, "map key 2 is not a string");
	mp_build(&sb, "M s i s i n i", 3u, "v", 1, "seq", 1, 7);
	EXPECT_BAD(ping, &sb, "is not a string");

	/* Framing. */
	mp_build(&sb, "M s i s i x", 2u, "v", 1, "seq", 1, 0);
	EXPECT_BAD(ping, &sb, "1 trailing bytes after the map");
	mp_build(&sb, "M s i s i M s i s i", 2u, "v", 1, "seq", 1, 2u, "v", 1, "seq", 2);
	EXPECT_BAD(ping, &sb, "trailing bytes");
	mp_build(&sb, "M s i s i s x", 3u, "v", 1, "seq", 1, "bad", 0xc1);
	EXPECT_BAD(ping, &sb, "invalid msgpack byte 0xc1");

	/* Sizes announced beyond the data: refused before anything is allocated. */
	mp_build(&sb, "M s i s i s x x x x x", 3u, "v", 1, "seq", 1, "big", 0xdd, 0xff, 0xff, 0xff,
	         0xff);
	EXPECT_BAD(ping, &sb, "truncated");
	mp_build(&sb, "x x x x x", 0xdf, 0xff, 0xff, 0xff, 0xff);
	EXPECT_BAD(ping, &sb, "truncated");
	mp_build(&sb, "M s i s i s x x x x x", 3u, "v", 1, "seq", 1, "s", 0xdb, 0xff, 0xff, 0xff,
	         0xff);
	EXPECT_BAD(ping, &sb, "truncated");
	mp_build(&sb, "M s i s i s x x x x x x", 3u, "v", 1, "seq", 1, "e", 0xc9, 0x7f, 0xff, 0xff,
	         0xff, 1);
	EXPECT_BAD(ping, &sb, "truncated");

	/* Deep nesting under an unknown key: 31 arrays fit below the map, 32 do not. */
	mp_build(&sb, "M s i s i s", 3u, "v", 1, "seq", 1, "deep");
	memset(deep, 0x91, sizeof(deep));
	msgpack_sbuffer_write(&sb, deep, 31);
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	{
		struct sg_msg_svc_ping p;

		EXPECT_GOOD(ping, &sb, &p);
	}
	mp_build(&sb, "M s i s i s", 3u, "v", 1, "seq", 1, "deep");
	msgpack_sbuffer_write(&sb, deep, 32);
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	EXPECT_BAD(ping, &sb, "nested deeper than 32");
	mp_build(&sb, "M s i s i s", 3u, "v", 1, "seq", 1, "deep");
	msgpack_sbuffer_write(&sb, deep, 32);
	msgpack_sbuffer_write(&sb, "\x90", 1); /* even an empty one */
	EXPECT_BAD(ping, &sb, "nested deeper than 32");

	/* A small reason buffer is truncated, never overrun; none at all is fine. */
	{
		struct sg_msg_svc_ping p;
		char why[8];

		mp_build(&sb, "M s i", 1u, "seq", 1);
		memset(why, 'Q', sizeof(why));
		assert_int_equal(sg_msg_decode(ping, sb.data, sb.size, &p, why, 5), -EBADMSG);
		assert_string_equal(why, "miss");
		assert_int_equal(why[5], 'Q');
		assert_int_equal(sg_msg_decode(ping, sb.data, sb.size, &p, NULL, 0), -EBADMSG);
	}

	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&enc);
	assert_true(n_bad_cases >= 25);
	print_message("%d malformed payloads refused\n", n_bad_cases);
}

/* ---- generic msgpack <-> JSON ---- */

static json_t *
from_sb(const msgpack_sbuffer *sb, char *why, size_t why_len)
{
	return sg_json_from_mp(sb->data, sb->size, why, why_len);
}

static void
expect_json_bad_at(const msgpack_sbuffer *sb, const char *want, int line)
{
	char why[160] = "";
	json_t *j = from_sb(sb, why, sizeof(why));

	if (j) {
		json_decref(j);
		fail_msg("line %d: conversion succeeded, want \"%s\"", line, want);
	}
	if (!strstr(why, want))
		fail_msg("line %d: reason \"%s\" lacks \"%s\"", line, why, want);
}

#define EXPECT_JSON_BAD(sb, want) expect_json_bad_at(sb, want, __LINE__)

static void
json_round_trip(void **state)
{
	json_error_t err;
	json_t *in = json_loads(ocpp_meter_values, JSON_ALLOW_NUL, &err), *out;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[160];

	if (!in)
		fail_msg("fixture: %s", err.text);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(sg_json_to_mp(in, &pk), 0);
	out = from_sb(&sb, why, sizeof(why));
	if (!out)
		fail_msg("%s", why);
	assert_true(json_equal(in, out));
	/* Reals stay reals and integers stay integers. */
	assert_true(json_is_real(json_object_get(out, "ratio")));
	assert_true(json_is_integer(json_object_get(out, "connectorId")));
	assert_int_equal(json_string_length(json_object_get(out, "text")), 20);
	json_decref(out);
	json_decref(in);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(sg_json_to_mp(NULL, &pk), -EINVAL);
}

static void
json_scalars(void **state)
{
	msgpack_sbuffer sb;
	char why[160];
	json_t *j;

	msgpack_sbuffer_init(&sb);
	mp_build(&sb, "U", (unsigned long long)INT64_MAX);
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_integer(j) && json_integer_value(j) == INT64_MAX);
	json_decref(j);
	mp_build(&sb, "L", (long long)INT64_MIN);
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_integer(j) && json_integer_value(j) == INT64_MIN);
	json_decref(j);
	mp_build(&sb, "f", 0.1);
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_real(j) && json_real_value(j) == (double)0.1f);
	json_decref(j);
	mp_build(&sb, "d", DBL_TRUE_MIN);
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_real(j) && json_real_value(j) == DBL_TRUE_MIN);
	json_decref(j);
	mp_build(&sb, "n");
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_null(j));
	json_decref(j);
	/* Empty strings and keys (msgpack-c hands these over as NULL pointers). */
	mp_build(&sb, "M s s", 1u, "", "");
	j = from_sb(&sb, why, sizeof(why));
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "")), "");
	json_decref(j);
	mp_build(&sb, "t");
	j = from_sb(&sb, why, sizeof(why));
	assert_true(json_is_true(j));
	json_decref(j);

	/* bin → base64, padded, at every length mod 3. */
	static const struct {
		const char *raw, *b64;
	} b64[] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
	           {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"\xff\x00\xfe", "/wD+"}};
	for (size_t i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
		size_t n = i == 5 ? 3 : strlen(b64[i].raw);

		mp_build(&sb, "B", b64[i].raw, n);
		j = from_sb(&sb, why, sizeof(why));
		assert_non_null(j);
		assert_string_equal(json_string_value(j), b64[i].b64);
		json_decref(j);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
json_malformed(void **state)
{
	msgpack_sbuffer sb;
	char why[160];

	msgpack_sbuffer_init(&sb);
	mp_build(&sb, "E");
	EXPECT_JSON_BAD(&sb, "extension type 1");
	mp_build(&sb, "A E", 1u);
	EXPECT_JSON_BAD(&sb, "extension");
	mp_build(&sb, "M i i", 1u, 1, 2);
	EXPECT_JSON_BAD(&sb, "map key is not a string");
	mp_build(&sb, "M s i s i", 2u, "a", 1, "a", 2);
	EXPECT_JSON_BAD(&sb, "duplicate map key 'a'");
	mp_build(&sb, "M s i", 1u, "\xff", 1);
	EXPECT_JSON_BAD(&sb, "map key is not valid UTF-8");
	mp_build(&sb, "M S i", 1u, "a\0b", (size_t)3, 1);
	EXPECT_JSON_BAD(&sb, "map key contains NUL");
	mp_build(&sb, "U", 9223372036854775808ULL);
	EXPECT_JSON_BAD(&sb, "out of range");
	mp_build(&sb, "A s", 1u, "\xe2\x82");
	EXPECT_JSON_BAD(&sb, "not valid UTF-8");
	mp_build(&sb, "d", (double)NAN);
	EXPECT_JSON_BAD(&sb, "not finite");
	mp_build(&sb, "f", (double)INFINITY);
	EXPECT_JSON_BAD(&sb, "not finite");
	mp_build(&sb, "i i", 1, 2);
	EXPECT_JSON_BAD(&sb, "trailing bytes");
	mp_build(&sb, "A", 3u);
	EXPECT_JSON_BAD(&sb, "truncated");
	mp_build(&sb, "x", 0xc1);
	EXPECT_JSON_BAD(&sb, "invalid msgpack byte");
	assert_null(sg_json_from_mp("", 0, why, sizeof(why)));
	assert_string_equal(why, "empty payload");
	assert_null(sg_json_from_mp(NULL, 0, NULL, 0));

	/* Nesting: 32 containers convert, 33 do not. */
	{
		char buf[200];
		size_t n = 0;
		json_t *j;

		for (int i = 0; i < 32; i++) {
			buf[n++] = (char)0x81; /* map of one */
			buf[n++] = (char)0xa1; /* key "k" */
			buf[n++] = 'k';
		}
		buf[n++] = (char)0xc0;
		j = sg_json_from_mp(buf, n, why, sizeof(why));
		assert_non_null(j);
		json_decref(j);
		memmove(buf + 3, buf, n);
		n += 3;
		j = sg_json_from_mp(buf, n, why, sizeof(why));
		assert_null(j);
		assert_non_null(strstr(why, "nested deeper than 32"));
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
json_to_mp_depth(void **state)
{
	json_t *root = json_array(), *cur = root;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[160];
	json_t *back;

	/* 32 nested arrays encode and decode; a 33rd is refused by the encoder. */
	for (int i = 1; i < 32; i++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(sg_json_to_mp(root, &pk), 0);
	back = sg_json_from_mp(sb.data, sb.size, why, sizeof(why));
	assert_non_null(back);
	assert_true(json_equal(root, back));
	json_decref(back);
	json_array_append_new(cur, json_array());
	msgpack_sbuffer_clear(&sb);
	assert_int_equal(sg_json_to_mp(root, &pk), -EINVAL);
	json_decref(root);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- random input ---- */

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Decodes data as every message and as generic JSON; none may crash or leak. */
static int
decode_everything(const void *data, size_t len)
{
	int ok = 0;

	for (size_t i = 0; i < SG_MSG__COUNT; i++) {
		struct any_msg m;
		char why[160];
		int r = sg_msg_decode((enum sg_msg_id)i, data, len, &m, why, sizeof(why));

		assert_true(r == 0 || r == -EBADMSG);
		if (r == 0) {
			ok++;
			sg_msg_clear((enum sg_msg_id)i, &m);
		} else {
			assert_true(all_zero(&m, sg_msgs[i].size));
		}
	}
	json_decref(sg_json_from_mp(data, len, NULL, 0));
	return ok;
}

static void
random_bytes(void **state)
{
	uint64_t seed = 0x5177e6a7e2026ULL;
	unsigned char buf[96];
	msgpack_sbuffer valid[SG_MSG__COUNT];
	int accepted = 0;

	/* Valid encodings to mutate: they get past the framing more often. */
	for (size_t i = 0; i < SG_MSG__COUNT; i++) {
		struct any_msg m = {0};

		fill(&sg_msgs[i], &m, false);
		msgpack_sbuffer_init(&valid[i]);
		assert_int_equal(sg_msg_encode((enum sg_msg_id)i, &m, &valid[i]), 0);
		sg_msg_clear((enum sg_msg_id)i, &m);
	}
	for (int it = 0; it < 10000; it++) {
		size_t len = xorshift(&seed) % sizeof(buf);

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)xorshift(&seed);
		if (len > 0 && it % 2 == 0)
			buf[0] = (unsigned char)(0x80 | (buf[0] & 0x0f)); /* a fixmap */
		accepted += decode_everything(buf, len);
	}
	for (int it = 0; it < 10000; it++) {
		const msgpack_sbuffer *v = &valid[xorshift(&seed) % SG_MSG__COUNT];
		unsigned char *copy = malloc(v->size);
		size_t len = v->size;

		assert_non_null(copy);
		memcpy(copy, v->data, v->size);
		for (int k = 1 + (int)(xorshift(&seed) % 3); k > 0; k--)
			copy[xorshift(&seed) % v->size] = (unsigned char)xorshift(&seed);
		if (it % 4 == 0)
			len = xorshift(&seed) % v->size;
		accepted += decode_everything(copy, len);
		free(copy);
	}
	for (size_t i = 0; i < SG_MSG__COUNT; i++)
		msgpack_sbuffer_destroy(&valid[i]);
	print_message("%d random or mutated payloads decoded\n", accepted);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_sane),
	    cmocka_unit_test(round_trip_all),
	    cmocka_unit_test(round_trip_defaults),
	    cmocka_unit_test(json_field),
	    cmocka_unit_test(typed_wrappers_and_json_view),
	    cmocka_unit_test(unknown_keys_and_order),
	    cmocka_unit_test(number_edges),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(json_round_trip),
	    cmocka_unit_test(json_scalars),
	    cmocka_unit_test(json_malformed),
	    cmocka_unit_test(json_to_mp_depth),
	    cmocka_unit_test(random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
