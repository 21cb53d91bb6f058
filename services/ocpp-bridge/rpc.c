/* The OCPP-J 1.6 RPC engine; rpc.h states the rules, in particular for malformed input.
 *
 * Invariant: while connected with no CALL of ours outstanding, the queue is empty (every
 * change of state ends in pump()). Callbacks run with the state already updated and the CALL
 * they report detached, so they may queue, cancel, reply or disconnect.
 *
 * Log lines name frames by kind, uniqueId and action, never by payload: a ChangeConfiguration
 * may carry the AuthorizationKey.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sitegate/log.h"

#include "rpc.h"

#define MSG_CALL       2
#define MSG_CALLRESULT 3
#define MSG_CALLERROR  4

/* Our ids: 96 random bits as 16 base64url characters, '-', the counter in hex (<= 16). */
#define PREFIX_BYTES 12
#define PREFIX_LEN   16
#define OUR_ID_SIZE  (PREFIX_LEN + 1 + 16 + 1)
/* A peer's id: at most RPC_ID_MAX characters of up to 4 UTF-8 bytes. */
#define PEER_ID_SIZE (RPC_ID_MAX * 4 + 1)
/* How much of a peer-chosen string goes into a log line. */
#define QUOTE_SIZE 48
/* 15 significant digits: a limit of 16.1 goes out as 16.1, not 16.100000000000001. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* One of our CALLs. */
struct out_call {
	struct out_call *next;
	const struct ocpp_action *action;
	void *tag;
	int64_t timeout_ms;
	char id[OUR_ID_SIZE];
	char *text; /* the CALL frame, until sent */
	size_t len;
};

/* An incoming CALL waiting for the owner's answer. */
struct in_call {
	const struct ocpp_action *action; /* NULL: a free slot */
	char id[PEER_ID_SIZE];
};

struct rpc {
	char *cp_id;
	struct rpc_ops ops;
	void *ud;
	struct rpc_config cfg;
	bool connected;
	char prefix[PREFIX_LEN + 1];
	uint64_t counter;
	struct out_call *outstanding;
	int64_t deadline;
	struct out_call *head, **tail;
	size_t queued;
	struct in_call *in; /* cfg.max_incoming slots */
};

/* ---- small helpers ---- */

/* A peer-chosen string made safe for a log line: printable ASCII, truncated. */
static const char *
quote(char buf[QUOTE_SIZE], const char *s)
{
	size_t n = 0;

	for (; n < QUOTE_SIZE - 4 && s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];

		buf[n] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
	}
	strcpy(buf + n, s[n] ? "..." : "");
	return buf;
}

/* Unicode code points, as the 36 "characters" of a uniqueId are counted. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
free_call(struct out_call *c)
{
	if (!c)
		return;
	free(c->text);
	free(c);
}

/* ---- sending ---- */

static int
send_text(struct rpc *rpc, const char *text, size_t len, const char *kind, const char *id,
          const char *what)
{
	char q[QUOTE_SIZE];
	int r = rpc->ops.send(rpc->ud, text, len);

	if (r < 0) {
		sg_warn("cp \"%s\": sending %s \"%s\" %s failed: %s", rpc->cp_id, kind,
		        quote(q, id), what, strerror(-r));
		return r;
	}
	sg_debug("cp \"%s\": > %s \"%s\" %s (%zu bytes)", rpc->cp_id, kind, quote(q, id), what,
	         len);
	return 0;
}

/* Sends frame (consumed; NULL stands for a failed json_pack()). */
static int
send_json(struct rpc *rpc, json_t *frame, const char *kind, const char *id, const char *what)
{
	char *text = frame ? json_dumps(frame, DUMP_FLAGS) : NULL;
	int r;

	json_decref(frame);
	if (!text) {
		sg_err("cp \"%s\": %s not sent: out of memory", rpc->cp_id, kind);
		return -ENOMEM;
	}
	r = send_text(rpc, text, strlen(text), kind, id, what);
	free(text);
	return r;
}

/* -EINVAL when description is not UTF-8, -ENOMEM, or the error of send(). */
static int
send_error(struct rpc *rpc, const char *id, enum ocpp_error_code code, const char *description)
{
	json_t *desc = json_string(description);

	if (!desc)
		return -EINVAL;
	return send_json(
	    rpc, json_pack("[i,s,s,o,{}]", MSG_CALLERROR, id, ocpp_error_code_name(code), desc),
	    "CALLERROR", id, ocpp_error_code_name(code));
}

/* ---- our CALLs ---- */

static int
make_prefix(char prefix[PREFIX_LEN + 1])
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[PREFIX_BYTES];
	ssize_t n;

	do
		n = getrandom(raw, sizeof(raw), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(raw))
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < PREFIX_BYTES / 3; i++) {
		uint32_t v =
		    (uint32_t)raw[3 * i] << 16 | (uint32_t)raw[3 * i + 1] << 8 | raw[3 * i + 2];

		for (size_t j = 0; j < 4; j++)
			prefix[4 * i + j] = b64url[(v >> (18 - 6 * j)) & 0x3f];
	}
	prefix[PREFIX_LEN] = '\0';
	return 0;
}

static struct out_call *
new_call(struct rpc *rpc, const struct ocpp_action *a, json_t *payload, void *tag,
         int64_t timeout_ms)
{
	struct out_call *c = calloc(1, sizeof(*c));
	json_t *frame;

	if (!c)
		return NULL;
	c->action = a;
	c->tag = tag;
	c->timeout_ms = timeout_ms;
	snprintf(c->id, sizeof(c->id), "%s-%" PRIx64, rpc->prefix, ++rpc->counter);
	frame = json_pack("[i,s,s,O]", MSG_CALL, c->id, a->name, payload);
	c->text = frame ? json_dumps(frame, DUMP_FLAGS) : NULL;
	json_decref(frame);
	if (!c->text) {
		free(c);
		return NULL;
	}
	c->len = strlen(c->text);
	return c;
}

/* Sends c and makes it the outstanding CALL. */
static int
send_call(struct rpc *rpc, struct out_call *c, int64_t now_ms)
{
	int r;

	rpc->outstanding = c; /* before send(), should it ever call back into us */
	r = send_text(rpc, c->text, c->len, "CALL", c->id, c->action->name);
	if (r < 0) {
		rpc->outstanding = NULL;
		return r;
	}
	rpc->deadline = c->timeout_ms > INT64_MAX - now_ms ? INT64_MAX : now_ms + c->timeout_ms;
	free(c->text);
	c->text = NULL;
	return 0;
}

static void
fail(struct rpc *rpc, struct out_call *c, enum rpc_failure kind, const char *code,
     const char *description)
{
	rpc->ops.error(rpc->ud, c->tag, c->action->name, kind, code, description);
	free_call(c);
}

static struct out_call *
dequeue(struct rpc *rpc)
{
	struct out_call *c = rpc->head;

	rpc->head = c->next;
	if (!rpc->head)
		rpc->tail = &rpc->head;
	rpc->queued--;
	c->next = NULL;
	return c;
}

/* Restores the invariant: sends queued CALLs until one is outstanding. */
static void
pump(struct rpc *rpc, int64_t now_ms)
{
	while (rpc->connected && !rpc->outstanding && rpc->head) {
		struct out_call *c = dequeue(rpc);

		if (send_call(rpc, c, now_ms) < 0)
			fail(rpc, c, RPC_OFFLINE, NULL, "sending failed");
	}
}

/* Detaches the outstanding CALL when it is the one called id. */
static struct out_call *
take_outstanding(struct rpc *rpc, const char *id, const char *kind)
{
	struct out_call *c = rpc->outstanding;
	char q[QUOTE_SIZE];

	if (!c || strcmp(c->id, id) != 0) {
		sg_warn("cp \"%s\": %s for unknown uniqueId \"%s\" dropped", rpc->cp_id, kind,
		        quote(q, id));
		return NULL;
	}
	rpc->outstanding = NULL;
	return c;
}

static int
bad_response(struct rpc *rpc, struct out_call *c, enum ocpp_error_code code, const char *why)
{
	sg_warn("cp \"%s\": bad response to CALL \"%s\" %s: %s", rpc->cp_id, c->id, c->action->name,
	        why);
	fail(rpc, c, RPC_BAD_RESPONSE, ocpp_error_code_name(code), why);
	return -EBADMSG;
}

/* ---- incoming CALLs ---- */

static struct in_call *
find_in(struct rpc *rpc, const char *id)
{
	for (unsigned i = 0; i < rpc->cfg.max_incoming; i++) {
		if (rpc->in[i].action && strcmp(rpc->in[i].id, id) == 0)
			return &rpc->in[i];
	}
	return NULL;
}

static struct in_call *
free_slot(struct rpc *rpc)
{
	for (unsigned i = 0; i < rpc->cfg.max_incoming; i++) {
		if (!rpc->in[i].action)
			return &rpc->in[i];
	}
	return NULL;
}

/* Answers a CALL we refuse ourselves; returns err for the caller to pass on. */
static int
refuse(struct rpc *rpc, const char *id, enum ocpp_error_code code, const char *why, int err)
{
	char q[QUOTE_SIZE];

	sg_warn("cp \"%s\": CALL \"%s\" refused with %s: %s", rpc->cp_id, quote(q, id),
	        ocpp_error_code_name(code), why);
	(void)send_error(rpc, id, code, why);
	return err;
}

static int
on_call(struct rpc *rpc, json_t *frame, size_t n, const char *id)
{
	const json_t *name = json_array_get(frame, 2);
	json_t *payload = json_array_get(frame, 3);
	const struct ocpp_action *a;
	struct ocpp_violation v;
	struct in_call *slot;
	char q[QUOTE_SIZE];

	if (utf8_chars(id) > RPC_ID_MAX)
		return refuse(rpc, id, OCPP_ERROR_FORMATION_VIOLATION,
		              "uniqueId longer than 36 characters", -EBADMSG);
	if (n != 4)
		return refuse(rpc, id, OCPP_ERROR_FORMATION_VIOLATION,
		              "a CALL must have 4 elements", -EBADMSG);
	if (!json_is_string(name))
		return refuse(rpc, id, OCPP_ERROR_FORMATION_VIOLATION, "action must be a string",
		              -EBADMSG);
	if (find_in(rpc, id))
		return refuse(rpc, id, OCPP_ERROR_GENERIC_ERROR,
		              "a CALL with this uniqueId is still unanswered", -EBUSY);
	a = ocpp_action_find(json_string_value(name));
	if (!a)
		return refuse(rpc, id, OCPP_ERROR_NOT_IMPLEMENTED, "unknown action", -EOPNOTSUPP);
	if (!(a->direction & OCPP_CS_TO_CP))
		return refuse(rpc, id, OCPP_ERROR_NOT_SUPPORTED,
		              "action is sent by charge points only", -EOPNOTSUPP);
	if (ocpp_validate(a->req, payload, &v) < 0)
		return refuse(rpc, id, v.code, v.text, -EBADMSG);
	slot = free_slot(rpc);
	if (!slot)
		return refuse(rpc, id, OCPP_ERROR_GENERIC_ERROR, "too many unanswered CALLs",
		              -EBUSY);
	slot->action = a;
	strcpy(slot->id, id); /* fits: at most RPC_ID_MAX characters of 4 bytes */
	sg_debug("cp \"%s\": < CALL \"%s\" %s", rpc->cp_id, quote(q, id), a->name);
	rpc->ops.call(rpc->ud, id, a->name, payload);
	return 0;
}

/* The unanswered incoming CALL called id, or why there is none. */
static int
get_in(struct rpc *rpc, const char *id, struct in_call **slot)
{
	if (!rpc->connected)
		return -ENOTCONN;
	*slot = id ? find_in(rpc, id) : NULL;
	return *slot ? 0 : -ENOENT;
}

static void
forget_incoming(struct rpc *rpc)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rpc->cfg.max_incoming; i++) {
		n += rpc->in[i].action != NULL;
		rpc->in[i].action = NULL;
	}
	if (n)
		sg_info("cp \"%s\": %u incoming CALLs left unanswered by the disconnection",
		        rpc->cp_id, n);
}

/* ---- incoming answers ---- */

static int
on_result(struct rpc *rpc, json_t *frame, size_t n, const char *id, int64_t now_ms)
{
	struct out_call *c = take_outstanding(rpc, id, "CALLRESULT");
	json_t *payload = json_array_get(frame, 2);
	struct ocpp_violation v;
	int r = 0;

	if (!c)
		return -ENOENT;
	if (n != 3) {
		r = bad_response(rpc, c, OCPP_ERROR_FORMATION_VIOLATION,
		                 "a CALLRESULT must have 3 elements");
	} else if (ocpp_validate(c->action->conf, payload, &v) < 0) {
		r = bad_response(rpc, c, v.code, v.text);
	} else {
		sg_debug("cp \"%s\": < CALLRESULT \"%s\" %s", rpc->cp_id, c->id, c->action->name);
		rpc->ops.result(rpc->ud, c->tag, c->action->name, payload);
		free_call(c);
	}
	pump(rpc, now_ms);
	return r;
}

static int
on_error(struct rpc *rpc, json_t *frame, size_t n, const char *id, int64_t now_ms)
{
	struct out_call *c = take_outstanding(rpc, id, "CALLERROR");
	const json_t *code = json_array_get(frame, 2);
	const json_t *desc = json_array_get(frame, 3);
	enum ocpp_error_code ec;
	char q[QUOTE_SIZE];
	int r = 0;

	if (!c)
		return -ENOENT;
	if (n != 5 || !json_is_string(code) || !json_is_string(desc) ||
	    !json_is_object(json_array_get(frame, 4))) {
		r = bad_response(rpc, c, OCPP_ERROR_FORMATION_VIOLATION,
		                 "a CALLERROR must be [4, uniqueId, errorCode, errorDescription, "
		                 "errorDetails]");
		goto out;
	}
	if (ocpp_error_code_parse(json_string_value(code), &ec) < 0) {
		sg_warn("cp \"%s\": unknown errorCode \"%s\" read as GenericError", rpc->cp_id,
		        quote(q, json_string_value(code)));
		ec = OCPP_ERROR_GENERIC_ERROR;
	}
	sg_debug("cp \"%s\": < CALLERROR \"%s\" %s %s", rpc->cp_id, c->id, c->action->name,
	         ocpp_error_code_name(ec));
	fail(rpc, c, RPC_CALLERROR, ocpp_error_code_name(ec), json_string_value(desc));
out:
	pump(rpc, now_ms);
	return r;
}

/* ---- framing ---- */

static size_t
skip_ws(const char *text, size_t len, size_t i)
{
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	return i;
}

/* For a frame we cannot parse: its type and uniqueId if it starts like [2,"id" with a
 * printable ASCII id of at most RPC_ID_MAX characters and no escapes. Returns the type, or 0. */
static int
scan_head(const char *text, size_t len, char id[RPC_ID_MAX + 1])
{
	size_t i = skip_ws(text, len, 0), n = 0;
	int type;

	if (i >= len || text[i] != '[')
		return 0;
	i = skip_ws(text, len, i + 1);
	if (i >= len || text[i] < '2' || text[i] > '4')
		return 0;
	type = text[i] - '0';
	i = skip_ws(text, len, i + 1);
	if (i >= len || text[i] != ',')
		return 0;
	i = skip_ws(text, len, i + 1);
	if (i >= len || text[i] != '"')
		return 0;
	for (i++; i < len && text[i] != '"'; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 0x20 || ch > 0x7e || ch == '\\' || n == RPC_ID_MAX)
			return 0;
		id[n++] = (char)ch;
	}
	if (i >= len)
		return 0;
	id[n] = '\0';
	return type;
}

/* Our own nesting limit, checked before jansson recurses (its limit is 2048). */
static bool
too_deep(const char *text, size_t len)
{
	unsigned depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > RPC_MAX_DEPTH)
				return true;
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return false;
}

static const char *
parse_error(const json_error_t *err)
{
	switch (json_error_code(err)) {
	case json_error_invalid_utf8:
		return "frame is not valid UTF-8";
	case json_error_duplicate_key:
		return "duplicate key in a JSON object";
	case json_error_premature_end_of_input:
		return "frame ends before the JSON text does";
	case json_error_end_of_input_expected:
		return "garbage after the JSON text";
	case json_error_stack_overflow:
		return "JSON nested too deeply";
	case json_error_numeric_overflow:
		return "number out of range";
	default:
		return "frame is not valid JSON";
	}
}

/* A frame refused before or by the parser: answered when the scan finds a CALL's id. */
static void
unparsed(struct rpc *rpc, const char *text, size_t len, enum ocpp_error_code code, const char *why,
         int64_t now_ms)
{
	char id[RPC_ID_MAX + 1];
	int type = scan_head(text, len, id);

	if (type == MSG_CALL) {
		refuse(rpc, id, code, why, 0);
	} else if (type && rpc->outstanding && strcmp(id, rpc->outstanding->id) == 0) {
		bad_response(rpc, take_outstanding(rpc, id, "answer"), code, why);
		pump(rpc, now_ms);
	} else {
		sg_warn("cp \"%s\": frame of %zu bytes dropped: %s", rpc->cp_id, len, why);
	}
}

/* 2, 3 or 4; 0 for anything else. An integral real (2.0) counts: JSON has one number type. */
static int
message_type(const json_t *v)
{
	double x;

	if (json_is_integer(v))
		x = (double)json_integer_value(v);
	else if (json_is_real(v))
		x = json_real_value(v);
	else
		return 0;
	return x == MSG_CALL || x == MSG_CALLRESULT || x == MSG_CALLERROR ? (int)x : 0;
}

static int
dispatch(struct rpc *rpc, json_t *frame, int64_t now_ms)
{
	size_t n = json_array_size(frame); /* 0 for a non-array */
	const json_t *id = json_array_get(frame, 1);
	const char *why = NULL;
	int type = message_type(json_array_get(frame, 0));

	if (n == 0)
		why = "not a non-empty JSON array";
	else if (!type)
		why = "unknown messageTypeId, ignored (OCPP-J 1.6 section 4.1.3)";
	else if (!json_is_string(id))
		why = "no uniqueId";
	if (why) {
		sg_warn("cp \"%s\": frame dropped: %s", rpc->cp_id, why);
		return -EBADMSG;
	}
	switch (type) {
	case MSG_CALL:
		return on_call(rpc, frame, n, json_string_value(id));
	case MSG_CALLRESULT:
		return on_result(rpc, frame, n, json_string_value(id), now_ms);
	default:
		return on_error(rpc, frame, n, json_string_value(id), now_ms);
	}
}

/* ---- the API ---- */

struct rpc *
rpc_new(const char *cp_id, const struct rpc_config *cfg, const struct rpc_ops *ops, void *ud)
{
	struct rpc *rpc = NULL;
	int r = -EINVAL;

	if (!cp_id || !ops || !ops->send || !ops->call || !ops->result || !ops->error)
		goto fail;
	r = -ENOMEM;
	rpc = calloc(1, sizeof(*rpc));
	if (!rpc)
		goto fail;
	rpc->ops = *ops;
	rpc->ud = ud;
	rpc->tail = &rpc->head;
	if (cfg)
		rpc->cfg = *cfg;
	if (!rpc->cfg.max_frame)
		rpc->cfg.max_frame = RPC_DEFAULT_MAX_FRAME;
	if (!rpc->cfg.max_incoming)
		rpc->cfg.max_incoming = RPC_DEFAULT_MAX_INCOMING;
	if (!rpc->cfg.max_queue)
		rpc->cfg.max_queue = RPC_DEFAULT_MAX_QUEUE;
	rpc->cp_id = strdup(cp_id);
	rpc->in = calloc(rpc->cfg.max_incoming, sizeof(*rpc->in));
	if (!rpc->cp_id || !rpc->in)
		goto fail;
	r = make_prefix(rpc->prefix);
	if (r < 0) {
		sg_err("cp \"%s\": no random message id prefix: %s", cp_id, strerror(-r));
		goto fail;
	}
	return rpc;
fail:
	rpc_free(rpc);
	errno = -r;
	return NULL;
}

void
rpc_free(struct rpc *rpc)
{
	if (!rpc)
		return;
	free_call(rpc->outstanding);
	while (rpc->head)
		free_call(dequeue(rpc));
	free(rpc->in);
	free(rpc->cp_id);
	free(rpc);
}

void
rpc_set_connected(struct rpc *rpc, bool connected, int64_t now_ms)
{
	struct out_call *list = rpc->head;
	size_t n = rpc->queued;

	if (connected == rpc->connected)
		return;
	rpc->connected = connected;
	if (connected) {
		pump(rpc, now_ms);
		return;
	}
	forget_incoming(rpc);
	/* detach everything first: the callbacks may queue CALLs for the next connection */
	if (rpc->outstanding) {
		rpc->outstanding->next = list;
		list = rpc->outstanding;
		rpc->outstanding = NULL;
		n++;
	}
	rpc->head = NULL;
	rpc->tail = &rpc->head;
	rpc->queued = 0;
	if (n)
		sg_info("cp \"%s\": disconnected, %zu CALLs failed", rpc->cp_id, n);
	while (list) {
		struct out_call *c = list;

		list = c->next;
		fail(rpc, c, RPC_OFFLINE, NULL, "connection closed");
	}
}

int
rpc_call(struct rpc *rpc, const char *action, json_t *payload, void *tag, int64_t timeout_ms,
         int64_t now_ms)
{
	const struct ocpp_action *a = action ? ocpp_action_find(action) : NULL;
	struct ocpp_violation v;
	struct out_call *c;
	int r = -EINVAL;

	if (!payload)
		return -ENOMEM;
	if (!a || !(a->direction & OCPP_CP_TO_CS)) {
		sg_err("cp \"%s\": \"%s\" is no CALL a charge point sends", rpc->cp_id,
		       action ? action : "(null)");
		goto out;
	}
	if (timeout_ms <= 0) {
		sg_err("cp \"%s\": %s: timeout of %" PRId64 " ms", rpc->cp_id, a->name, timeout_ms);
		goto out;
	}
	if (ocpp_validate(a->req, payload, &v) < 0) {
		sg_err("cp \"%s\": %s not sent, its payload is invalid: %s", rpc->cp_id, a->name,
		       v.text);
		goto out;
	}
	r = -ENOBUFS;
	if (rpc_pending(rpc) >= rpc->cfg.max_queue) {
		sg_warn("cp \"%s\": %s not queued: %u CALLs pending already", rpc->cp_id, a->name,
		        rpc->cfg.max_queue);
		goto out;
	}
	r = -ENOMEM;
	c = new_call(rpc, a, payload, tag, timeout_ms);
	if (!c)
		goto out;
	if (rpc->connected && !rpc->outstanding && !rpc->head) {
		r = send_call(rpc, c, now_ms);
		if (r < 0)
			free_call(c);
		goto out;
	}
	*rpc->tail = c;
	rpc->tail = &c->next;
	rpc->queued++;
	r = 0;
out:
	json_decref(payload);
	return r;
}

size_t
rpc_pending(const struct rpc *rpc)
{
	return rpc->queued + (rpc->outstanding != NULL);
}

size_t
rpc_cancel(struct rpc *rpc, void *tag)
{
	struct out_call **p = &rpc->head;
	size_t n = 0;

	while (*p) {
		struct out_call *c = *p;

		if (c->tag != tag) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		free_call(c);
		rpc->queued--;
		n++;
	}
	rpc->tail = p;
	if (n)
		sg_debug("cp \"%s\": %zu queued CALLs cancelled", rpc->cp_id, n);
	return n;
}

int64_t
rpc_tick(struct rpc *rpc, int64_t now_ms)
{
	while (rpc->outstanding && now_ms >= rpc->deadline) {
		struct out_call *c = rpc->outstanding;
		char why[64];

		rpc->outstanding = NULL;
		snprintf(why, sizeof(why), "no response within %" PRId64 " ms", c->timeout_ms);
		sg_warn("cp \"%s\": CALL \"%s\" %s: %s", rpc->cp_id, c->id, c->action->name, why);
		fail(rpc, c, RPC_TIMEOUT, NULL, why);
		pump(rpc, now_ms);
	}
	return rpc->outstanding ? rpc->deadline - now_ms : -1;
}

int
rpc_input(struct rpc *rpc, const char *text, size_t len, int64_t now_ms)
{
	json_error_t err;
	json_t *frame;
	char why[80];
	int r;

	if (!rpc->connected) {
		sg_warn("cp \"%s\": frame received while disconnected, dropped", rpc->cp_id);
		return -ENOTCONN;
	}
	if (len == 0) { /* ocpp-rpc ignores these too: some charge points send them */
		sg_debug("cp \"%s\": empty frame ignored", rpc->cp_id);
		return -EBADMSG;
	}
	if (len > rpc->cfg.max_frame) {
		snprintf(why, sizeof(why), "frame of %zu bytes exceeds the limit of %zu", len,
		         rpc->cfg.max_frame);
		unparsed(rpc, text, len, OCPP_ERROR_GENERIC_ERROR, why, now_ms);
		return -EMSGSIZE;
	}
	if (too_deep(text, len)) {
		unparsed(rpc, text, len, OCPP_ERROR_FORMATION_VIOLATION, "JSON nested too deeply",
		         now_ms);
		return -EBADMSG;
	}
	frame = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!frame) {
		unparsed(rpc, text, len, OCPP_ERROR_FORMATION_VIOLATION, parse_error(&err), now_ms);
		return -EBADMSG;
	}
	r = dispatch(rpc, frame, now_ms);
	json_decref(frame);
	return r;
}

int
rpc_reply(struct rpc *rpc, const char *unique_id, json_t *payload)
{
	struct ocpp_violation v;
	struct in_call *slot;
	int r = -ENOMEM;

	if (!payload)
		goto out;
	r = get_in(rpc, unique_id, &slot);
	if (r < 0)
		goto out;
	if (ocpp_validate(slot->action->conf, payload, &v) < 0) {
		sg_err("cp \"%s\": our %s.conf is invalid, InternalError sent instead: %s",
		       rpc->cp_id, slot->action->name, v.text);
		(void)send_error(rpc, slot->id, OCPP_ERROR_INTERNAL_ERROR, "internal error");
		slot->action = NULL;
		r = -EINVAL;
		goto out;
	}
	r = send_json(rpc, json_pack("[i,s,O]", MSG_CALLRESULT, slot->id, payload), "CALLRESULT",
	              slot->id, slot->action->name);
	if (r != -ENOMEM) /* answered, or the connection is failing: either way done */
		slot->action = NULL;
out:
	json_decref(payload);
	return r;
}

int
rpc_reply_error(struct rpc *rpc, const char *unique_id, enum ocpp_error_code code,
                const char *description)
{
	struct in_call *slot;
	int r;

	if (!ocpp_error_code_name(code))
		return -EINVAL;
	r = get_in(rpc, unique_id, &slot);
	if (r < 0)
		return r;
	r = send_error(rpc, slot->id, code, description ? description : "");
	if (r != -ENOMEM && r != -EINVAL)
		slot->action = NULL;
	return r;
}
