/* Generic conversion between msgpack and JSON (jansson), see msg.h, and the
 * bounds checks that every msgpack decoder in Sitegate runs first.
 *
 * msgpack → JSON: nil → null, bool → true/false, integers → integer (a
 * positive integer above INT64_MAX is refused), float32/float64 → real (NaN
 * and infinities are refused: JSON cannot hold them), str → string (must be
 * valid UTF-8; NUL is allowed), bin → base64 string (RFC 4648, padded), array
 * → array, map → object (keys must be unique UTF-8 strings without NUL, as
 * jansson's lookups take C strings), ext → refused.
 * Containers may nest at most MP_MAX_DEPTH deep (a scalar at the top is depth 0,
 * the outermost container depth 1).
 *
 * JSON → msgpack: null, true/false, integer → int64 (packed in its shortest
 * form), real → float64, string → str, array, object (in jansson's order, which
 * is insertion order). Deeper nesting than MP_MAX_DEPTH is refused (-EINVAL), so
 * that whatever is encoded can be decoded. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* msg.h's first comment holds "msg/" followed by "*.def", which -Wcomment
 * (part of -Wall) flags; silenced here until the header is fixed. */
#include "sitegate/msg.h"

/* msgpack-c's unpacker holds at most this many open containers
 * (MSGPACK_EMBED_STACK_SIZE); the check below applies the same limit. */
#define MP_MAX_DEPTH 32

/* Module-internal, shared with msg.c (declared there). */
#include "msg_internal.h"

static void __attribute__((format(printf, 3, 4)))
why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static uint64_t
be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Walks the msgpack value at the start of data without allocating: checks that
 * it is complete, uses no reserved byte, nests at most MP_MAX_DEPTH containers,
 * and that no container announces more elements than bytes remain (msgpack-c
 * allocates the element array up front, so "array of 4 billion" in 5 bytes
 * would otherwise ask for 100 GB). Sets *used to the value's length. */
int
msg__mp_check(const void *data, size_t len, size_t *used, char *why, size_t why_len)
{
	const uint8_t *p = data;
	uint64_t left[MP_MAX_DEPTH + 1];
	size_t off = 0;
	int depth = 0;

	left[0] = 1;
	for (;;) {
		uint64_t skip = 0, items = 0;
		size_t len_bytes = 0, extra = 0;
		bool container = false, map = false;
		uint8_t b;

		while (depth > 0 && left[depth] == 0)
			depth--;
		if (left[depth] == 0)
			break;
		left[depth]--;
		if (off >= len)
			goto truncated;
		b = p[off++];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			container = map = true;
			items = b & 0x0f;
		} else if (b <= 0x9f) {
			container = true;
			items = b & 0x0f;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: /* bin 8 */
			case 0xd9: /* str 8 */
				len_bytes = 1;
				break;
			case 0xc5:
			case 0xda:
				len_bytes = 2;
				break;
			case 0xc6:
			case 0xdb:
				len_bytes = 4;
				break;
			case 0xc7: /* ext 8/16/32: length, type byte, data */
				len_bytes = 1;
				extra = 1;
				break;
			case 0xc8:
				len_bytes = 2;
				extra = 1;
				break;
			case 0xc9:
				len_bytes = 4;
				extra = 1;
				break;
			case 0xca: /* float 32 */
			case 0xce: /* uint 32 */
			case 0xd2: /* int 32 */
				skip = 4;
				break;
			case 0xcb:
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xcc:
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xd4: /* fixext 1/2/4/8/16, after the type byte */
			case 0xd5:
			case 0xd6:
			case 0xd7:
			case 0xd8:
				skip = 1 + (1u << (b - 0xd4));
				break;
			case 0xdc: /* array 16/32 */
			case 0xdd:
				container = true;
				len_bytes = b == 0xdc ? 2 : 4;
				break;
			case 0xde: /* map 16/32 */
			case 0xdf:
				container = map = true;
				len_bytes = b == 0xde ? 2 : 4;
				break;
			default: /* 0xc1 */
				why_set(why, why_len, "invalid msgpack byte 0x%02x at offset %zu",
				        b, off - 1);
				return -EBADMSG;
			}
		}
		if (len_bytes) {
			if (len - off < len_bytes)
				goto truncated;
			if (container)
				items = be_read(p + off, len_bytes);
			else
				skip = be_read(p + off, len_bytes) + extra;
			off += len_bytes;
		}
		if (container) {
			if (map)
				items *= 2;
			if (depth == MP_MAX_DEPTH) {
				why_set(why, why_len, "nested deeper than %d levels", MP_MAX_DEPTH);
				return -EBADMSG;
			}
			if (items > len - off)
				goto truncated;
			left[++depth] = items;
		} else {
			if (skip > len - off)
				goto truncated;
			off += (size_t)skip;
		}
	}
	*used = off;
	return 0;

truncated:
	why_set(why, why_len, "truncated msgpack data (%zu bytes)", len);
	return -EBADMSG;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
bool
msg__utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], lo = 0x80, hi = 0xbf;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if (n - i - 1 < need || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}

static json_t *
base64_string(const uint8_t *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t out_len = (n + 2) / 3 * 4, o = 0;
	char *out = malloc(out_len + 1);
	json_t *s;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	s = json_stringn_nocheck(out, out_len);
	free(out);
	return s;
}

/* msgpack-c gives an empty str a NULL pointer; mem*() and jansson want one. */
static const char *
str_ptr(const msgpack_object_str *s)
{
	return s->size ? s->ptr : "";
}

static json_t *
oom(char *why, size_t why_len)
{
	why_set(why, why_len, "out of memory");
	return NULL;
}

static json_t *
from_object(const msgpack_object *o, int depth, char *why, size_t why_len)
{
	json_t *j, *child;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX) {
			why_set(why, why_len, "integer %llu is out of range",
			        (unsigned long long)o->via.u64);
			return NULL;
		}
		j = json_integer((json_int_t)o->via.u64);
		return j ? j : oom(why, why_len);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		j = json_integer((json_int_t)o->via.i64);
		return j ? j : oom(why, why_len);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64)) {
			why_set(why, why_len, "number is not finite");
			return NULL;
		}
		j = json_real(o->via.f64);
		return j ? j : oom(why, why_len);
	case MSGPACK_OBJECT_STR:
		if (!msg__utf8_valid(str_ptr(&o->via.str), o->via.str.size)) {
			why_set(why, why_len, "string is not valid UTF-8");
			return NULL;
		}
		j = json_stringn_nocheck(str_ptr(&o->via.str), o->via.str.size);
		return j ? j : oom(why, why_len);
	case MSGPACK_OBJECT_BIN:
		j = base64_string((const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		return j ? j : oom(why, why_len);
	case MSGPACK_OBJECT_ARRAY:
		if (depth > MP_MAX_DEPTH) {
			why_set(why, why_len, "nested deeper than %d levels", MP_MAX_DEPTH);
			return NULL;
		}
		j = json_array();
		if (!j)
			return oom(why, why_len);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			child = from_object(&o->via.array.ptr[i], depth + 1, why, why_len);
			if (!child || json_array_append_new(j, child) < 0) {
				if (child)
					oom(why, why_len);
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case MSGPACK_OBJECT_MAP:
		if (depth > MP_MAX_DEPTH) {
			why_set(why, why_len, "nested deeper than %d levels", MP_MAX_DEPTH);
			return NULL;
		}
		j = json_object();
		if (!j)
			return oom(why, why_len);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			const char *key;
			size_t key_len;

			if (kv->key.type != MSGPACK_OBJECT_STR) {
				why_set(why, why_len, "map key is not a string");
				goto map_fail;
			}
			key = str_ptr(&kv->key.via.str);
			key_len = kv->key.via.str.size;
			if (!msg__utf8_valid(key, key_len)) {
				why_set(why, why_len, "map key is not valid UTF-8");
				goto map_fail;
			}
			/* jansson's lookups and json_equal() take keys as C strings. */
			if (memchr(key, '\0', key_len)) {
				why_set(why, why_len, "map key contains NUL");
				goto map_fail;
			}
			if (json_object_getn(j, key, key_len)) {
				why_set(why, why_len, "duplicate map key '%.*s'",
				        key_len > 64 ? 64 : (int)key_len, key);
				goto map_fail;
			}
			child = from_object(&kv->val, depth + 1, why, why_len);
			if (!child)
				goto map_fail;
			if (json_object_setn_new_nocheck(j, key, key_len, child) < 0) {
				oom(why, why_len);
				goto map_fail;
			}
		}
		return j;
	map_fail:
		json_decref(j);
		return NULL;
	case MSGPACK_OBJECT_EXT:
		why_set(why, why_len, "msgpack extension type %d is not supported",
		        o->via.ext.type);
		return NULL;
	}
	why_set(why, why_len, "unknown msgpack type %d", (int)o->type);
	return NULL;
}

json_t *
sg_json_from_mp_object(const msgpack_object *obj, char *why, size_t why_len)
{
	return from_object(obj, 1, why, why_len);
}

json_t *
sg_json_from_mp(const void *data, size_t len, char *why, size_t why_len)
{
	msgpack_unpacked up;
	size_t used, off = 0;
	json_t *j = NULL;

	if (!data || len == 0) {
		why_set(why, why_len, "empty payload");
		return NULL;
	}
	if (msg__mp_check(data, len, &used, why, why_len) < 0)
		return NULL;
	if (used != len) {
		why_set(why, why_len, "%zu trailing bytes after the value", len - used);
		return NULL;
	}
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
		why_set(why, why_len, "malformed msgpack data");
	else
		j = from_object(&up.data, 1, why, why_len);
	msgpack_unpacked_destroy(&up);
	return j;
}

/* Packs json whose outermost container sits at nesting level depth (1 at the top
 * of a payload, 2 as the value of a message field). */
int
msg__json_pack(const json_t *json, msgpack_packer *pk, int depth)
{
	json_t *js = (json_t *)json; /* jansson's accessors take non-const pointers */
	int r;

	switch (json_typeof(json)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk) < 0 ? -ENOMEM : 0;
	case JSON_TRUE:
		return msgpack_pack_true(pk) < 0 ? -ENOMEM : 0;
	case JSON_FALSE:
		return msgpack_pack_false(pk) < 0 ? -ENOMEM : 0;
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(json)) < 0 ? -ENOMEM : 0;
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(json)) < 0 ? -ENOMEM : 0;
	case JSON_STRING: {
		size_t n = json_string_length(json);

		if (msgpack_pack_str(pk, n) < 0 ||
		    msgpack_pack_str_body(pk, json_string_value(json), n) < 0)
			return -ENOMEM;
		return 0;
	}
	case JSON_ARRAY:
		if (depth > MP_MAX_DEPTH)
			return -EINVAL;
		if (msgpack_pack_array(pk, json_array_size(json)) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < json_array_size(json); i++) {
			r = msg__json_pack(json_array_get(json, i), pk, depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	case JSON_OBJECT:
		if (depth > MP_MAX_DEPTH)
			return -EINVAL;
		if (msgpack_pack_map(pk, json_object_size(json)) < 0)
			return -ENOMEM;
		for (void *it = json_object_iter(js); it; it = json_object_iter_next(js, it)) {
			size_t n = json_object_iter_key_len(it);

			if (msgpack_pack_str(pk, n) < 0 ||
			    msgpack_pack_str_body(pk, json_object_iter_key(it), n) < 0)
				return -ENOMEM;
			r = msg__json_pack(json_object_iter_value(it), pk, depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return -EINVAL;
}

/* Returns 0, -EINVAL (NULL, or nested deeper than the decoders accept) or -ENOMEM.
 * On failure the packer may hold a partial value. */
int
sg_json_to_mp(const json_t *json, msgpack_packer *pk)
{
	if (!json)
		return -EINVAL;
	return msg__json_pack(json, pk, 1);
}
