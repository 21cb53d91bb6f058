/* Bus messages. Each message is declared once in common/msg/ (the .def files);
 * that one declaration yields the C struct below, the descriptor table that drives the
 * msgpack codec, the topic, and the reference section of docs/bus.md.
 *
 * On the wire a message is a msgpack map with short string keys, one per field,
 * plus "v" (the message version). Decoders ignore unknown keys, so payloads can
 * grow; they reject a missing required field, a wrong type or an over-long string. */
#ifndef SITEGATE_MSG_H
#define SITEGATE_MSG_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sg_field_type {
	SG_FT_I64,  /* int64_t */
	SG_FT_F64,  /* double (an integer on the wire is accepted) */
	SG_FT_BOOL, /* bool */
	SG_FT_STR,  /* char[max + 1], NUL-terminated UTF-8 */
	SG_FT_JSON, /* json_t *, owned: any msgpack value (OCPP payloads travel this way) */
};

enum sg_msg_class {
	SG_CLASS_STATE,   /* retained, QoS 1; republished after every broker reconnect */
	SG_CLASS_EVENT,   /* QoS 1; queued in memory while the broker is away */
	SG_CLASS_REQUEST, /* QoS 1 with response topic + correlation data; queued while away */
	SG_CLASS_REPLY,   /* QoS 1 to the requester's response topic; queued while away */
	SG_CLASS_SAMPLE,  /* QoS 0 live data; dropped (and counted) while the broker is away */
};

struct sg_field_desc {
	const char *key;
	enum sg_field_type type;
	size_t offset;
	size_t size;
	bool required;
	const char *doc;
};

struct sg_msg_desc {
	const char *name;
	const char *topic; /* template, relative to the prefix; see topic.h */
	enum sg_msg_class cls;
	int version;
	int reply; /* enum sg_msg_id of the reply for SG_CLASS_REQUEST, else -1 */
	const char *publishers;
	const char *subscribers;
	const char *doc;
	size_t size; /* sizeof the C struct */
	const struct sg_field_desc *fields;
	size_t n_fields;
};

#define SG__REQ true
#define SG__OPT false

#define SG__CTYPE_I64(n, m)  int64_t n
#define SG__CTYPE_F64(n, m)  double n
#define SG__CTYPE_BOOL(n, m) bool n
#define SG__CTYPE_STR(n, m)  char n[(m) + 1]
#define SG__CTYPE_JSON(n, m) json_t *n

enum sg_msg_id {
	SG_MSG_NONE = -1,
#define SG_MSG(id, topic, cls, ver, reply, pub, sub, doc) SG_MSG_##id,
#define SG_FIELD(id, type, name, max, req, doc)
#define SG_END(id)
#include "../../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END
	SG_MSG__COUNT
};

/* Every struct starts with v: the version the sender declared (set by decode,
 * ignored by encode, which writes the declared version). */
#define SG_MSG(id, topic, cls, ver, reply, pub, sub, doc)                                          \
	struct sg_msg_##id {                                                                       \
		int64_t v;
#define SG_FIELD(id, type, name, max, req, doc) SG__CTYPE_##type(name, max);
#define SG_END(id)                                                                                 \
	}                                                                                          \
	;
#include "../../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END

extern const struct sg_msg_desc sg_msgs[SG_MSG__COUNT];

/* Appends the msgpack encoding of msg to out. Returns 0, -ENOMEM, or -EINVAL
 * (a STR field unterminated or not UTF-8, JSON nested too deep), leaving out
 * as it was. A NULL optional JSON field is left out; a NULL required one is
 * sent as nil. */
int sg_msg_encode(enum sg_msg_id id, const void *msg, msgpack_sbuffer *out);
/* Decodes into msg (zeroed first; JSON fields then belong to msg). On failure
 * returns -EBADMSG with the reason in why and leaves nothing to free. */
int sg_msg_decode(enum sg_msg_id id, const void *data, size_t len, void *msg, char *why,
                  size_t why_len);
/* Releases the JSON fields and zeroes msg. Accepts NULL. */
void sg_msg_clear(enum sg_msg_id id, void *msg);
/* The message as a JSON object (for sitegatectl and the docs); NULL on ENOMEM
 * or a STR field that is not UTF-8. */
json_t *sg_msg_to_json(enum sg_msg_id id, const void *msg);
const struct sg_msg_desc *sg_msg_by_name(const char *name);

/* Generic conversion between any msgpack value and JSON (used for OCPP payloads
 * and by `sitegatectl monitor`). sg_json_from_mp returns NULL with a reason for
 * malformed input; binary becomes a base64 string, non-string map keys are refused. */
json_t *sg_json_from_mp(const void *data, size_t len, char *why, size_t why_len);
json_t *sg_json_from_mp_object(const msgpack_object *obj, char *why, size_t why_len);
int sg_json_to_mp(const json_t *json, msgpack_packer *pk);

/* Typed wrappers: sg_encode_<id>(), sg_decode_<id>(). */
#define SG_MSG(id, topic, cls, ver, reply, pub, sub, doc)                                          \
	static inline int sg_encode_##id(const struct sg_msg_##id *m, msgpack_sbuffer *out)        \
	{                                                                                          \
		return sg_msg_encode(SG_MSG_##id, m, out);                                         \
	}                                                                                          \
	static inline int sg_decode_##id(const void *d, size_t n, struct sg_msg_##id *m, char *w,  \
	                                 size_t wl)                                                \
	{                                                                                          \
		return sg_msg_decode(SG_MSG_##id, d, n, m, w, wl);                                 \
	}
#define SG_FIELD(id, type, name, max, req, doc)
#define SG_END(id)
#include "../../msg/all.def"
#undef SG_MSG
#undef SG_FIELD
#undef SG_END

#endif
