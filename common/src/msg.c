/* Bus messages: the descriptor table generated from common/msg/all.def and the
 * msgpack codec it drives (see msg.h).
 *
 * Wire format: one msgpack map. "v" (the declared version) comes first, then
 * every field in declaration order, optional ones included: I64 as int, F64 as
 * float64, BOOL as bool, STR as str, JSON as any msgpack value. JSON is the one
 * type with "no value" apart from its zero: a NULL json_t pointer is left out
 * of the map when the field is OPT (so it decodes to NULL again) and written as
 * nil when it is REQ (decoding to a JSON null). The encoding of a struct is
 * deterministic, so re-encoding what was decoded gives the same bytes.
 *
 * The decoder takes exactly one map and nothing after it. It requires "v" (a
 * positive integer; any version is accepted, newer senders add fields) and
 * every REQ field, ignores keys it does not know, and refuses: non-string keys,
 * a known key given twice, a wrong type (F64 also takes integers; I64 takes no
 * floats; BOOL takes only booleans), an integer outside int64, a string longer
 * than the field's max bytes, holding NUL or not valid UTF-8, and JSON values
 * that sg_json_from_mp_object() refuses. Nesting is limited to 32 containers
 * for the whole payload (the map is one), checked before msgpack-c allocates. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* msg.h's first comment holds "msg/" followed by "*.def", which -Wcomment
 * (part of -Wall) flags; silenced here until the header is fixed. */
#include "sitegate/msg.h"

/* Module-internal, defined in msg_json.c. */
#include "msg_internal.h"

/* ---- The descriptor table ---- */

/* Pass 1: each message's field array, ended by a sentinel (so that a message
 * without fields still makes a valid array). */
#define SG_MSG(id_, topic_, cls_, ver_, reply_, pub_, sub_, doc_)                                  \
	static const struct sg_field_desc fields_##id_[] = {
#define SG_FIELD(id_, type_, name_, max_, req_, doc_)                                              \
	{                                                                                          \
	    .key = #name_,                                                                         \
	    .type = SG_FT_##type_,                                                                 \
	    .offset = offsetof(struct sg_msg_##id_, name_),                                        \
	    .size = sizeof(((struct sg_msg_##id_ *)0)->name_),                                     \
	    .required = SG__##req_,                                                                \
	    .doc = doc_,                                                                           \
	},
#define SG_END(id_)                                                                                \
	{                                                                                          \
		.key = NULL                                                                        \
	}                                                                                          \
	}                                                                                          \
	;
#include "../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END

#define N_FIELDS(id_) (sizeof(fields_##id_) / sizeof(fields_##id_[0]) - 1)

/* Pass 2: what the declarations must get right, checked at compile time. */
#define SG_MSG(id_, topic_, cls_, ver_, reply_, pub_, sub_, doc_)                                  \
	_Static_assert((ver_) > 0, #id_ ": the version must be positive");                         \
	_Static_assert((SG_CLASS_##cls_ == SG_CLASS_REQUEST) == (SG_MSG_##reply_ != SG_MSG_NONE),  \
	               #id_ ": a request names its reply, nothing else does");
#define SG_FIELD(id_, type_, name_, max_, req_, doc_)                                              \
	_Static_assert((SG_FT_##type_ == SG_FT_STR) == ((max_) > 0),                               \
	               #id_ "." #name_ ": STR fields need a max length, other types take 0");
#define SG_END(id_)                                                                                \
	_Static_assert(N_FIELDS(id_) <= 64, #id_ ": the decoder tracks at most 64 fields");
#include "../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END

/* Pass 3: the table. */
const struct sg_msg_desc sg_msgs[SG_MSG__COUNT] = {
#define SG_MSG(id_, topic_, cls_, ver_, reply_, pub_, sub_, doc_)                                  \
	[SG_MSG_##id_] = {.name = #id_,                                                            \
	                  .topic = topic_,                                                         \
	                  .cls = SG_CLASS_##cls_,                                                  \
	                  .version = ver_,                                                         \
	                  .reply = SG_MSG_##reply_,                                                \
	                  .publishers = pub_,                                                      \
	                  .subscribers = sub_,                                                     \
	                  .doc = doc_,                                                             \
	                  .size = sizeof(struct sg_msg_##id_),                                     \
	                  .fields = fields_##id_,                                                  \
	                  .n_fields = N_FIELDS(id_),
#define SG_FIELD(id_, type_, name_, max_, req_, doc_)
#define SG_END(id_)                                                                                \
	}                                                                                          \
	,
#include "../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END
};

const struct sg_msg_desc *
sg_msg_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < SG_MSG__COUNT; i++)
		if (strcmp(sg_msgs[i].name, name) == 0)
			return &sg_msgs[i];
	return NULL;
}

static const struct sg_msg_desc *
desc_of(enum sg_msg_id id)
{
	assert(id >= 0 && id < SG_MSG__COUNT);
	return &sg_msgs[id];
}

/* ---- Field access ----
 * Through memcpy: p points at a member of the right type inside the struct,
 * but reaches here as char *. */

static int64_t
get_i64(const char *p)
{
	int64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
set_i64(char *p, int64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static double
get_f64(const char *p)
{
	double v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
set_f64(char *p, double v)
{
	memcpy(p, &v, sizeof(v));
}

static bool
get_bool(const char *p)
{
	bool v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
set_bool(char *p, bool v)
{
	memcpy(p, &v, sizeof(v));
}

static json_t *
get_json(const char *p)
{
	json_t *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
set_json(char *p, json_t *v)
{
	memcpy(p, &v, sizeof(v));
}

/* ---- Encoding ---- */

static int
pack_key(msgpack_packer *pk, const char *key)
{
	size_t n = strlen(key);

	return msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, key, n) < 0 ? -ENOMEM : 0;
}

static int
pack_field(msgpack_packer *pk, const struct sg_field_desc *f, const char *p)
{
	size_t n;

	switch (f->type) {
	case SG_FT_I64:
		return msgpack_pack_int64(pk, get_i64(p)) < 0 ? -ENOMEM : 0;
	case SG_FT_F64:
		return msgpack_pack_double(pk, get_f64(p)) < 0 ? -ENOMEM : 0;
	case SG_FT_BOOL:
		return (get_bool(p) ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) < 0 ? -ENOMEM
		                                                                          : 0;
	case SG_FT_STR:
		n = strnlen(p, f->size);
		if (n == f->size || !msg__utf8_valid(p, n))
			return -EINVAL;
		return msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, p, n) < 0 ? -ENOMEM
		                                                                          : 0;
	case SG_FT_JSON: {
		const json_t *j = get_json(p);

		if (!j)
			return msgpack_pack_nil(pk) < 0 ? -ENOMEM : 0;
		return msg__json_pack(j, pk, 2);
	}
	}
	return -EINVAL;
}

/* An OPT JSON field without a value is left out of the map. */
static bool
omitted(const struct sg_field_desc *f, const char *p)
{
	return f->type == SG_FT_JSON && !f->required && !get_json(p);
}

/* Returns 0, -ENOMEM, or -EINVAL when a STR field is not NUL-terminated inside its
 * array or not valid UTF-8, or a JSON field nests deeper than the decoder accepts.
 * On failure out is left as it was. */
int
sg_msg_encode(enum sg_msg_id id, const void *msg, msgpack_sbuffer *out)
{
	const struct sg_msg_desc *d = desc_of(id);
	size_t start = out->size;
	msgpack_packer pk;
	int r = -ENOMEM;
	size_t n = 1;

	for (size_t i = 0; i < d->n_fields; i++)
		n += !omitted(&d->fields[i], (const char *)msg + d->fields[i].offset);
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	if (msgpack_pack_map(&pk, n) < 0 || pack_key(&pk, "v") < 0 ||
	    msgpack_pack_int64(&pk, d->version) < 0)
		goto fail;
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct sg_field_desc *f = &d->fields[i];

		if (omitted(f, (const char *)msg + f->offset))
			continue;
		r = pack_key(&pk, f->key);
		if (r < 0)
			goto fail;
		r = pack_field(&pk, f, (const char *)msg + f->offset);
		if (r < 0)
			goto fail;
	}
	return 0;

fail:
	out->size = start;
	return r;
}

/* ---- Decoding ---- */

static int __attribute__((format(printf, 3, 4)))
bad(char *why, size_t why_len, const char *fmt, ...)
{
	if (why && why_len > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* msgpack-c gives an empty str a NULL pointer; mem*() want one. */
static const char *
str_ptr(const msgpack_object_str *s)
{
	return s->size ? s->ptr : "";
}

static bool
key_is(const msgpack_object *k, const char *key)
{
	size_t n = strlen(key);

	return k->via.str.size == n && memcmp(str_ptr(&k->via.str), key, n) == 0;
}

static int
unpack_field(const struct sg_field_desc *f, const msgpack_object *o, char *p, char *why,
             size_t why_len)
{
	char sub[128];
	json_t *j;

	switch (f->type) {
	case SG_FT_I64:
		if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			set_i64(p, o->via.i64);
			return 0;
		}
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return bad(why, why_len, "field '%s': expected integer", f->key);
		if (o->via.u64 > INT64_MAX)
			return bad(why, why_len, "field '%s': integer out of range", f->key);
		set_i64(p, (int64_t)o->via.u64);
		return 0;
	case SG_FT_F64:
		if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
			set_f64(p, o->via.f64);
		else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			set_f64(p, (double)o->via.u64);
		else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			set_f64(p, (double)o->via.i64);
		else
			return bad(why, why_len, "field '%s': expected number", f->key);
		return 0;
	case SG_FT_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return bad(why, why_len, "field '%s': expected boolean", f->key);
		set_bool(p, o->via.boolean);
		return 0;
	case SG_FT_STR:
		if (o->type != MSGPACK_OBJECT_STR)
			return bad(why, why_len, "field '%s': expected string", f->key);
		if (o->via.str.size > f->size - 1)
			return bad(why, why_len, "field '%s': longer than %zu bytes", f->key,
			           f->size - 1);
		if (memchr(str_ptr(&o->via.str), '\0', o->via.str.size))
			return bad(why, why_len, "field '%s': contains NUL", f->key);
		if (!msg__utf8_valid(str_ptr(&o->via.str), o->via.str.size))
			return bad(why, why_len, "field '%s': not valid UTF-8", f->key);
		memcpy(p, str_ptr(&o->via.str), o->via.str.size);
		p[o->via.str.size] = '\0';
		return 0;
	case SG_FT_JSON:
		j = sg_json_from_mp_object(o, sub, sizeof(sub));
		if (!j)
			return bad(why, why_len, "field '%s': %s", f->key, sub);
		set_json(p, j);
		return 0;
	}
	return bad(why, why_len, "field '%s': unsupported type", f->key);
}

static int
unpack_map(const struct sg_msg_desc *d, const msgpack_object *map, void *msg, char *why,
           size_t why_len)
{
	uint64_t seen = 0;
	bool seen_v = false;
	int r;

	if (map->type != MSGPACK_OBJECT_MAP)
		return bad(why, why_len, "payload is not a map");
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		const msgpack_object *val = &map->via.map.ptr[i].val;
		size_t j;

		if (k->type != MSGPACK_OBJECT_STR)
			return bad(why, why_len, "map key %u is not a string", (unsigned)i);
		if (key_is(k, "v")) {
			if (seen_v)
				return bad(why, why_len, "duplicate field 'v'");
			seen_v = true;
			if (val->type != MSGPACK_OBJECT_POSITIVE_INTEGER || val->via.u64 == 0 ||
			    val->via.u64 > INT64_MAX)
				return bad(why, why_len, "field 'v': expected a positive integer");
			set_i64((char *)msg, (int64_t)val->via.u64);
			continue;
		}
		for (j = 0; j < d->n_fields; j++)
			if (key_is(k, d->fields[j].key))
				break;
		if (j == d->n_fields)
			continue; /* unknown: a newer sender's field */
		if (seen & (UINT64_C(1) << j))
			return bad(why, why_len, "duplicate field '%s'", d->fields[j].key);
		seen |= UINT64_C(1) << j;
		r = unpack_field(&d->fields[j], val, (char *)msg + d->fields[j].offset, why,
		                 why_len);
		if (r < 0)
			return r;
	}
	if (!seen_v)
		return bad(why, why_len, "missing field 'v'");
	for (size_t j = 0; j < d->n_fields; j++)
		if (d->fields[j].required && !(seen & (UINT64_C(1) << j)))
			return bad(why, why_len, "missing field '%s'", d->fields[j].key);
	return 0;
}

int
sg_msg_decode(enum sg_msg_id id, const void *data, size_t len, void *msg, char *why, size_t why_len)
{
	const struct sg_msg_desc *d = desc_of(id);
	msgpack_unpacked up;
	size_t used, off = 0;
	int r;

	memset(msg, 0, d->size);
	if (why && why_len > 0)
		why[0] = '\0';
	if (!data || len == 0)
		return bad(why, why_len, "empty payload");
	r = msg__mp_check(data, len, &used, why, why_len);
	if (r < 0)
		return r;
	if (used != len)
		return bad(why, why_len, "%zu trailing bytes after the map", len - used);

	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
		r = bad(why, why_len, "malformed msgpack data");
	else
		r = unpack_map(d, &up.data, msg, why, why_len);
	msgpack_unpacked_destroy(&up);
	if (r < 0)
		sg_msg_clear(id, msg);
	return r;
}

void
sg_msg_clear(enum sg_msg_id id, void *msg)
{
	const struct sg_msg_desc *d = desc_of(id);

	if (!msg)
		return;
	for (size_t i = 0; i < d->n_fields; i++) {
		if (d->fields[i].type == SG_FT_JSON)
			json_decref(get_json((char *)msg + d->fields[i].offset));
	}
	memset(msg, 0, d->size);
}

/* ---- JSON view ---- */

static json_t *
field_json(const struct sg_field_desc *f, const char *p)
{
	const json_t *j;

	switch (f->type) {
	case SG_FT_I64:
		return json_integer(get_i64(p));
	case SG_FT_F64:
		/* JSON has no NaN or infinity. */
		return isfinite(get_f64(p)) ? json_real(get_f64(p)) : json_null();
	case SG_FT_BOOL:
		return json_boolean(get_bool(p));
	case SG_FT_STR:
		return json_stringn(p, strnlen(p, f->size - 1));
	case SG_FT_JSON:
		j = get_json(p);
		return j ? json_deep_copy(j) : json_null();
	}
	return NULL;
}

/* {"v": version, field: value, ...}: v is the decoded version, or the declared one
 * when the struct was filled in by hand (v == 0). NULL on ENOMEM or when a STR
 * field is not valid UTF-8. */
json_t *
sg_msg_to_json(enum sg_msg_id id, const void *msg)
{
	const struct sg_msg_desc *d = desc_of(id);
	int64_t v = get_i64((const char *)msg);
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "v", json_integer(v > 0 ? v : d->version)) < 0)
		goto fail;
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct sg_field_desc *f = &d->fields[i];

		if (json_object_set_new(o, f->key, field_json(f, (const char *)msg + f->offset)) <
		    0)
			goto fail;
	}
	return o;

fail:
	json_decref(o);
	return NULL;
}
