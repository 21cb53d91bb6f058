/* The OCPP-J 1.6 RPC engine of the ocpp-bridge: text frames in, text frames out, no sockets.
 *
 * One struct rpc per charge point, alive across reconnects. It frames and unframes CALL (2),
 * CALLRESULT (3) and CALLERROR (4) messages, numbers our CALLs, keeps at most one of them
 * outstanding (OCPP-J 1.6 section 4.1.1) and queues the others in FIFO order, matches answers,
 * times out, and validates every payload against ocpp_schema.h in both directions. Incoming
 * CALLs are checked before the owner sees them and are answered whenever the owner is ready,
 * independently of our own outstanding CALL.
 *
 * Time is passed in (now_ms, any monotonic millisecond clock); nothing here reads a clock.
 *
 * How malformed input is answered (ocpp-rpc 2.2.1 is the reference where OCPP-J 1.6 allows it;
 * its "RpcFrameworkError" and "MessageTypeNotSupported" are OCPP 2.0.1 codes and its answers
 * with the made-up id "-1" match no CALL, so neither is used):
 *
 *   - Only CALLs are answered. A frame whose uniqueId cannot be read is dropped with a warning;
 *     for a frame that does not parse (or is refused before parsing) a leading [2,"id" is looked
 *     for with a bounded scan (printable ASCII ids only).
 *   - messageTypeId not 2, 3 or 4 (or not a number): dropped, section 4.1.3 says to ignore it.
 *     An integral real such as 2.0 counts as 2: JSON has one number type (as in ocpp_validate).
 *   - Not JSON, invalid UTF-8, duplicate keys, trailing garbage, nesting deeper than
 *     RPC_MAX_DEPTH, a uniqueId over 36 characters (named as a CallError case in 4.2.3), a
 *     CALL without exactly 4 elements, an action that is not a string: FormationViolation
 *     ("not conform the PDU structure").
 *   - A frame over max_frame bytes: GenericError (no 1.6 code covers size).
 *   - Unknown action: NotImplemented. An action only charge points send (BootNotification...):
 *     NotSupported, "recognized but not supported by the receiver" (ocpp-rpc says
 *     NotImplemented only because it has no handler).
 *   - Payload against the action's .req: the validator's code and text (payload not an
 *     object: TypeConstraintViolation, as ocpp-rpc's strict mode).
 *   - The uniqueId of a CALL still unanswered: GenericError (ocpp-rpc: RpcFrameworkError).
 *   - More than max_incoming unanswered CALLs: GenericError; a CSMS should not even have two
 *     (section 4.1.1), so this only stops a misbehaving one from growing our memory.
 *   - CALLRESULT/CALLERROR are never answered: with an unknown uniqueId they are dropped with a
 *     warning; for our outstanding CALL but malformed (or a .conf violation) the CALL fails
 *     with RPC_BAD_RESPONSE.
 */
#ifndef BRIDGE_RPC_H
#define BRIDGE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ocpp_schema.h"

#define RPC_ID_MAX    36 /* characters in a uniqueId (OCPP-J 1.6 section 4.1.4) */
#define RPC_MAX_DEPTH 16 /* JSON nesting; the deepest 1.6 frame (SetChargingProfile) has 6 */

/* Defaults of struct rpc_config, used where a field is 0. */
#define RPC_DEFAULT_MAX_FRAME    65536
#define RPC_DEFAULT_MAX_INCOMING 16
#define RPC_DEFAULT_MAX_QUEUE    64

struct rpc;

/* Why one of our CALLs failed. */
enum rpc_failure {
	RPC_CALLERROR = 1, /* the CSMS answered with a CALLERROR: code and description are its */
	RPC_TIMEOUT,       /* no answer within the CALL's timeout after sending; code is NULL */
	RPC_OFFLINE,       /* disconnected (or sending failed) before an answer; code is NULL */
	RPC_BAD_RESPONSE, /* the answer was malformed or violates the .conf schema: code says how */
};

/* Sends one text frame. Returns >= 0, or a negative errno. */
typedef int rpc_send_fn(void *ud, const char *text, size_t len);
/* A validated CALL from the CSMS; answer with rpc_reply() or rpc_reply_error(), now or later.
 * The payload is borrowed for the duration of the call (json_incref() to keep it). */
typedef void rpc_call_fn(void *ud, const char *unique_id, const char *action, json_t *payload);
/* The validated CALLRESULT of one of our CALLs; payload borrowed as above. */
typedef void rpc_result_fn(void *ud, void *tag, const char *action, json_t *payload);
/* One of our CALLs failed. code: the OCPP error code (1.6 wire spelling; a code we do not know
 * reads as "GenericError", as ocpp-rpc does), NULL for RPC_TIMEOUT and RPC_OFFLINE. */
typedef void rpc_error_fn(void *ud, void *tag, const char *action, enum rpc_failure kind,
                          const char *code, const char *description);

/* All four are required. call, result and error may call any rpc_ function but rpc_free();
 * send must not call back into rpc. */
struct rpc_ops {
	rpc_send_fn *send;
	rpc_call_fn *call;
	rpc_result_fn *result;
	rpc_error_fn *error;
};

/* Limits on what the CSMS and the owner can make us hold; 0 selects the default. */
struct rpc_config {
	size_t max_frame;      /* bytes of an incoming frame, checked before parsing */
	unsigned max_incoming; /* unanswered incoming CALLs */
	unsigned max_queue;    /* our CALLs, queued and outstanding */
};

/* cp_id names the charge point in logs (copied). cfg may be NULL. Draws the random prefix of
 * our message ids from getrandom(). Returns NULL with errno set on failure. */
struct rpc *rpc_new(const char *cp_id, const struct rpc_config *cfg, const struct rpc_ops *ops,
                    void *ud);
/* Drops queued and outstanding CALLs without callbacks (disconnect first to have them fail).
 * Accepts NULL. */
void rpc_free(struct rpc *rpc);

/* Connected: sends the first queued CALL. Disconnected: forgets the unanswered incoming CALLs
 * (their ids belong to the old connection) and fails the outstanding and then the queued CALLs
 * with RPC_OFFLINE, in FIFO order; CALLs made from those callbacks wait for the next
 * connection. */
void rpc_set_connected(struct rpc *rpc, bool connected, int64_t now_ms);

/* Queues a CALL of action with payload (stolen, even on failure; NULL reads as an allocation
 * failure), sent when connected and no other CALL of ours is outstanding. tag comes back in
 * the result or error callback. Returns 0 (exactly one callback will follow), -EINVAL for an
 * action we do not send, a payload violating the .req schema or timeout_ms <= 0, -ENOBUFS when
 * max_queue is reached, -ENOMEM, or the error of send() when it went out at once and failed
 * (no callback follows a failure). */
int rpc_call(struct rpc *rpc, const char *action, json_t *payload, void *tag, int64_t timeout_ms,
             int64_t now_ms);

/* Our CALLs not yet answered: queued plus outstanding. */
size_t rpc_pending(const struct rpc *rpc);

/* Drops the queued (not the outstanding) CALLs with this tag, without callbacks. Returns how
 * many. */
size_t rpc_cancel(struct rpc *rpc, void *tag);

/* Fails the outstanding CALL with RPC_TIMEOUT when its time is up and sends the next. Returns
 * the ms until the next deadline (call again then at the latest), or -1 when none. */
int64_t rpc_tick(struct rpc *rpc, int64_t now_ms);

/* Handles one received text frame. Returns 0 when it reached a callback (call, result, or the
 * error of a well-formed CALLERROR), else why not: -EMSGSIZE (over max_frame), -EBADMSG
 * (malformed, or a payload violating its schema; a bad answer to our outstanding CALL also
 * fails it with RPC_BAD_RESPONSE), -EOPNOTSUPP (NotImplemented or
 * NotSupported), -EBUSY (duplicate id or too many unanswered CALLs), -ENOENT (an answer to no
 * outstanding CALL of ours), -ENOTCONN (not connected). Refusals are answered and logged here;
 * the value is for statistics. */
int rpc_input(struct rpc *rpc, const char *text, size_t len, int64_t now_ms);

/* Answers an incoming CALL with a CALLRESULT carrying payload (stolen, even on failure).
 * Returns 0, -ENOENT when unique_id is not an unanswered CALL of this connection, -ENOTCONN,
 * -ENOMEM, -EINVAL when payload violates the action's .conf schema (then an InternalError
 * CALLERROR answers the CALL instead, as ocpp-rpc does), or the error of send(). */
int rpc_reply(struct rpc *rpc, const char *unique_id, json_t *payload);

/* Answers an incoming CALL with a CALLERROR (1.6 spelling of code, errorDetails {});
 * description may be NULL. Returns 0, -EINVAL for OCPP_ERROR_NONE, an unknown code or a
 * description that is not UTF-8 (the CALL stays unanswered, as with -ENOMEM), -ENOENT,
 * -ENOTCONN, or the error of send(). */
int rpc_reply_error(struct rpc *rpc, const char *unique_id, enum ocpp_error_code code,
                    const char *description);

#endif
