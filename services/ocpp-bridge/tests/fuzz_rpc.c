/* libFuzzer target of the OCPP-J RPC engine: the input is split at newlines into frames fed to
 * rpc_input(), with one CALL of ours outstanding. In a frame, "$ID" stands for the uniqueId of
 * that CALL (ids are random, the fuzzer could not guess them), so answers reach their paths.
 * Incoming CALLs are answered in turn with a CALLRESULT, a CALLERROR, or not at all; the clock
 * advances by a byte of the frame, so timeouts fire too.
 *
 *   clang -fsanitize=fuzzer,address -I services/ocpp-bridge -I common/include \
 *         services/ocpp-bridge/tests/fuzz_rpc.c services/ocpp-bridge/rpc.c \
 *         services/ocpp-bridge/ocpp_schema.c services/ocpp-bridge/ocpp_validate.c \
 *         common/src/log.c -ljansson -lm
 *   ./a.out -max_total_time=60 corpus/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sitegate/log.h"

#include "rpc.h"

/* not assert(): the build types define NDEBUG */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

struct fuzz {
	struct rpc *rpc;
	char id[64]; /* of our outstanding CALL */
	unsigned calls;
};

static int
fuzz_send(void *ud, const char *text, size_t len)
{
	struct fuzz *f = ud;
	json_t *frame = json_loadb(text, len, 0, NULL);

	/* everything we send is a well-formed frame */
	CHECK(frame && json_is_array(frame) && json_is_string(json_array_get(frame, 1)));
	if (json_integer_value(json_array_get(frame, 0)) == 2) {
		CHECK(json_array_size(frame) == 4);
		strncpy(f->id, json_string_value(json_array_get(frame, 1)), sizeof(f->id) - 1);
	}
	json_decref(frame);
	return 0;
}

static void
fuzz_call(void *ud, const char *unique_id, const char *action, json_t *payload)
{
	struct fuzz *f = ud;

	CHECK(json_is_object(payload));
	switch (f->calls++ % 3) {
	case 0:
		(void)rpc_reply(f->rpc, unique_id,
		                json_object()); /* often invalid: InternalError */
		break;
	case 1:
		CHECK(rpc_reply_error(f->rpc, unique_id, OCPP_ERROR_NOT_SUPPORTED, action) == 0);
		break;
	default: /* left unanswered, until the slots run out */
		break;
	}
}

static void
requeue(struct fuzz *f)
{
	if (rpc_pending(f->rpc) == 0)
		CHECK(rpc_call(f->rpc, "Heartbeat", json_object(), f, 1000, 0) == 0);
}

static void
fuzz_result(void *ud, void *tag, const char *action, json_t *payload)
{
	CHECK(json_is_object(payload));
}

static void
fuzz_error(void *ud, void *tag, const char *action, enum rpc_failure kind, const char *code,
           const char *description)
{
	CHECK(description);
	CHECK(kind == RPC_TIMEOUT || kind == RPC_OFFLINE || code);
}

static const struct rpc_ops ops = {fuzz_send, fuzz_call, fuzz_result, fuzz_error};

/* Copies frame into buf with each "$ID" replaced by our outstanding id. */
static size_t
substitute(char *buf, const char *frame, size_t len, const char *id)
{
	size_t n = 0, idlen = strlen(id);

	for (size_t i = 0; i < len; i++) {
		if (i + 3 <= len && memcmp(frame + i, "$ID", 3) == 0) {
			memcpy(buf + n, id, idlen);
			n += idlen;
			i += 2;
		} else {
			buf[n++] = frame[i];
		}
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_config cfg = {.max_frame = 4096, .max_incoming = 4};
	struct fuzz f = {0};
	const char *p = (const char *)data, *end = p + size;
	int64_t now = 0;
	char *buf;

	sg_log_init("fuzz", SG_LOG_ERR);
	/* "$ID" (3 bytes) becomes at most 36: 12 times the frame at worst */
	buf = malloc(size * 12 + 1);
	f.rpc = rpc_new("fuzz", &cfg, &ops, &f);
	CHECK(buf && f.rpc);
	rpc_set_connected(f.rpc, true, now);
	requeue(&f);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		(void)rpc_input(f.rpc, buf, substitute(buf, p, len, f.id), now);
		now += len ? (unsigned char)p[0] * 8 : 0;
		(void)rpc_tick(f.rpc, now);
		requeue(&f);
		if (len && p[0] == '!') { /* a reconnect */
			rpc_set_connected(f.rpc, false, now);
			rpc_set_connected(f.rpc, true, now);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	rpc_set_connected(f.rpc, false, now);
	CHECK(rpc_pending(f.rpc) == 0);
	rpc_free(f.rpc);
	free(buf);
	return 0;
}
