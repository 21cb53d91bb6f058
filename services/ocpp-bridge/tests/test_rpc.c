/* Tests of the OCPP-J RPC engine, driven through a fake send() that records every frame.
 *
 * JSON in the tables is written with ' for " to stay readable; inputs that need a real "
 * are not written that way.
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

#include "sitegate/log.h"

#include "rpc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SENT      64
#define MAX_EVENTS    64
#define LONG_TIMEOUT  60000

enum ev_type {
	EV_CALL = 1,
	EV_RESULT,
	EV_ERROR,
};

struct event {
	enum ev_type type;
	void *tag;
	char action[64];
	char id[160]; /* EV_CALL */
	enum rpc_failure kind;
	char code[64]; /* "" for NULL */
	char desc[300];
	char payload[512]; /* compact, sorted keys */
};

struct h {
	struct rpc *rpc;
	char *sent[MAX_SENT];
	size_t n_sent;
	int send_ret;
	struct event ev[MAX_EVENTS];
	size_t n_ev;
	void (*hook)(struct h *h, const struct event *e); /* runs inside the callback */
};

/* ---- the fake owner ---- */

static int
fake_send(void *ud, const char *text, size_t len)
{
	struct h *h = ud;

	assert_int_equal(strlen(text), len);
	if (h->send_ret < 0)
		return h->send_ret;
	assert_true(h->n_sent < MAX_SENT);
	h->sent[h->n_sent] = strdup(text);
	assert_non_null(h->sent[h->n_sent]);
	h->n_sent++;
	return 0;
}

static struct event *
new_event(struct h *h, enum ev_type type, const char *action)
{
	struct event *e;

	assert_true(h->n_ev < MAX_EVENTS);
	e = &h->ev[h->n_ev++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	snprintf(e->action, sizeof(e->action), "%s", action);
	return e;
}

static void
dump_payload(struct event *e, const json_t *payload)
{
	char *s = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(s);
	snprintf(e->payload, sizeof(e->payload), "%s", s);
	free(s);
}

static void
fake_call(void *ud, const char *unique_id, const char *action, json_t *payload)
{
	struct h *h = ud;
	struct event *e = new_event(h, EV_CALL, action);

	snprintf(e->id, sizeof(e->id), "%s", unique_id);
	dump_payload(e, payload);
	if (h->hook)
		h->hook(h, e);
}

static void
fake_result(void *ud, void *tag, const char *action, json_t *payload)
{
	struct h *h = ud;
	struct event *e = new_event(h, EV_RESULT, action);

	e->tag = tag;
	dump_payload(e, payload);
	if (h->hook)
		h->hook(h, e);
}

static void
fake_error(void *ud, void *tag, const char *action, enum rpc_failure kind, const char *code,
           const char *description)
{
	struct h *h = ud;
	struct event *e = new_event(h, EV_ERROR, action);

	e->tag = tag;
	e->kind = kind;
	snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
	assert_non_null(description);
	snprintf(e->desc, sizeof(e->desc), "%s", description);
	if (h->hook)
		h->hook(h, e);
}

static const struct rpc_ops ops = {
    .send = fake_send,
    .call = fake_call,
    .result = fake_result,
    .error = fake_error,
};

static struct h *
h_new(const struct rpc_config *cfg)
{
	struct h *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->rpc = rpc_new("CP-1", cfg, &ops, h);
	assert_non_null(h->rpc);
	return h;
}

static void
h_clear(struct h *h)
{
	for (size_t i = 0; i < h->n_sent; i++)
		free(h->sent[i]);
	h->n_sent = 0;
	h->n_ev = 0;
}

static void
h_free(struct h *h)
{
	rpc_free(h->rpc);
	h_clear(h);
	free(h);
}

static int
setup(void **state)
{
	*state = h_new(NULL);
	return 0;
}

static int
teardown(void **state)
{
	h_free(*state);
	return 0;
}

/* ---- helpers ---- */

/* ' → " */
static char *
q(const char *text)
{
	char *s = strdup(text);

	assert_non_null(s);
	for (char *p = s; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return s;
}

static json_t *
js(const char *text)
{
	char *s = q(text);
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);

	if (!j)
		fail_msg("test JSON does not parse: %s (%s)", text, err.text);
	free(s);
	return j;
}

static int
input(struct h *h, const char *text, int64_t now)
{
	char *s = q(text);
	int r = rpc_input(h->rpc, s, strlen(s), now);

	free(s);
	return r;
}

static void
assert_sent(struct h *h, size_t i, const char *want)
{
	char *w = q(want);

	if (i >= h->n_sent)
		fail_msg("frame %zu not sent (%zu sent), want %s", i, h->n_sent, w);
	if (strcmp(h->sent[i], w) != 0)
		fail_msg("frame %zu is\n  %s\nwant\n  %s", i, h->sent[i], w);
	free(w);
}

/* The uniqueId of sent frame i, checking that it is a CALL of action. */
static const char *
call_id(struct h *h, size_t i, const char *action)
{
	static char id[64];
	json_t *f;

	assert_true(i < h->n_sent);
	f = json_loads(h->sent[i], 0, NULL);
	assert_non_null(f);
	assert_int_equal(json_array_size(f), 4);
	assert_int_equal(json_integer_value(json_array_get(f, 0)), 2);
	assert_string_equal(json_string_value(json_array_get(f, 2)), action);
	assert_true(json_is_object(json_array_get(f, 3)));
	snprintf(id, sizeof(id), "%s", json_string_value(json_array_get(f, 1)));
	json_decref(f);
	assert_true(strlen(id) > 0 && strlen(id) <= RPC_ID_MAX);
	return id;
}

/* Copies tmpl with its "%s" (once) replaced by id. */
static void
fill(char *buf, size_t size, const char *tmpl, const char *id)
{
	const char *at = strstr(tmpl, "%s");

	assert_non_null(at);
	snprintf(buf, size, "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 2);
}

/* Feeds tmpl with its "%s" replaced by id. */
static int
answer(struct h *h, const char *tmpl, const char *id, int64_t now)
{
	char buf[1024];

	fill(buf, sizeof(buf), tmpl, id);
	return input(h, buf, now);
}

static int
heartbeat(struct h *h, void *tag, int64_t now)
{
	return rpc_call(h->rpc, "Heartbeat", json_object(), tag, LONG_TIMEOUT, now);
}

static const char boot_req[] = "{'chargePointVendor':'Sitegate','chargePointModel':'SG-1'}";
static const char boot_conf[] =
    "[3,'%s',{'status':'Accepted','currentTime':'2024-05-01T12:00:00Z','interval':300}]";
static const char hb_conf[] = "[3,'%s',{'currentTime':'2024-05-01T12:00:00Z'}]";

static void
assert_error_event(const struct event *e, void *tag, const char *action, enum rpc_failure kind,
                   const char *code, const char *desc)
{
	assert_int_equal(e->type, EV_ERROR);
	assert_ptr_equal(e->tag, tag);
	assert_string_equal(e->action, action);
	assert_int_equal(e->kind, kind);
	assert_string_equal(e->code, code);
	assert_string_equal(e->desc, desc);
}

static int tag_a, tag_b, tag_c;
#define A (&tag_a)
#define B (&tag_b)
#define C (&tag_c)

/* ---- our CALLs ---- */

static void
test_call_frame(void **state)
{
	struct h *h = *state;
	const char *id;
	char want[256];

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(rpc_call(h->rpc, "BootNotification", js(boot_req), A, 5000, 0), 0);
	assert_int_equal(h->n_sent, 1);
	id = call_id(h, 0, "BootNotification");
	snprintf(want, sizeof(want),
	         "[2,'%s','BootNotification',{'chargePointVendor':'Sitegate','chargePointModel':"
	         "'SG-1'}]",
	         id);
	assert_sent(h, 0, want);
	assert_int_equal(rpc_pending(h->rpc), 1);

	assert_int_equal(answer(h, boot_conf, id, 10), 0);
	assert_int_equal(h->n_ev, 1);
	assert_int_equal(h->ev[0].type, EV_RESULT);
	assert_ptr_equal(h->ev[0].tag, A);
	assert_string_equal(h->ev[0].action, "BootNotification");
	assert_string_equal(h->ev[0].payload,
	                    "{\"currentTime\":\"2024-05-01T12:00:00Z\",\"interval\":300,"
	                    "\"status\":\"Accepted\"}");
	assert_int_equal(rpc_pending(h->rpc), 0);
	assert_int_equal(h->n_sent, 1); /* an answer is never answered */
}

static void
test_fifo_one_outstanding(void **state)
{
	struct h *h = *state;
	char first[64];

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(heartbeat(h, C, 0), 0);
	assert_int_equal(h->n_sent, 1); /* one outstanding, two waiting */
	assert_int_equal(rpc_pending(h->rpc), 3);
	snprintf(first, sizeof(first), "%s", call_id(h, 0, "Heartbeat"));

	assert_int_equal(answer(h, hb_conf, first, 10), 0);
	assert_int_equal(h->n_sent, 2);
	assert_int_equal(h->n_ev, 1);
	assert_ptr_equal(h->ev[0].tag, A);
	assert_string_not_equal(call_id(h, 1, "Heartbeat"), first);

	assert_int_equal(
	    answer(h, "[4,'%s','InternalError','db down',{}]", call_id(h, 1, "Heartbeat"), 20), 0);
	assert_int_equal(h->n_sent, 3);
	assert_error_event(&h->ev[1], B, "Heartbeat", RPC_CALLERROR, "InternalError", "db down");

	assert_int_equal(answer(h, hb_conf, call_id(h, 2, "Heartbeat"), 30), 0);
	assert_int_equal(h->n_ev, 3);
	assert_ptr_equal(h->ev[2].tag, C);
	assert_int_equal(rpc_pending(h->rpc), 0);
	assert_int_equal(rpc_tick(h->rpc, 40), -1);
}

static void
test_queued_while_offline(void **state)
{
	struct h *h = *state;

	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(h->n_sent, 0);
	assert_int_equal(rpc_pending(h->rpc), 2);
	assert_int_equal(rpc_tick(h->rpc, 100), -1); /* no deadline before sending */

	rpc_set_connected(h->rpc, true, 1000);
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(rpc_tick(h->rpc, 1000), LONG_TIMEOUT); /* counted from sending */
	rpc_set_connected(h->rpc, true, 1000);                  /* no-op */
	assert_int_equal(h->n_sent, 1);
}

static void
test_timeout(void **state)
{
	struct h *h = *state;
	char first[64];

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(rpc_call(h->rpc, "Heartbeat", json_object(), A, 5000, 1000), 0);
	assert_int_equal(rpc_call(h->rpc, "Heartbeat", json_object(), B, 7000, 1000), 0);
	snprintf(first, sizeof(first), "%s", call_id(h, 0, "Heartbeat"));

	assert_int_equal(rpc_tick(h->rpc, 1000), 5000);
	assert_int_equal(rpc_tick(h->rpc, 5999), 1);
	assert_int_equal(h->n_ev, 0);
	assert_int_equal(rpc_tick(h->rpc, 6000), 7000); /* the second went out at 6000 */
	assert_int_equal(h->n_ev, 1);
	assert_error_event(&h->ev[0], A, "Heartbeat", RPC_TIMEOUT, "",
	                   "no response within 5000 ms");
	assert_int_equal(h->n_sent, 2);

	/* the late answer to the first is dropped: no callback, nothing sent, second unharmed */
	assert_int_equal(answer(h, hb_conf, first, 6500), -ENOENT);
	assert_int_equal(h->n_ev, 1);
	assert_int_equal(h->n_sent, 2);
	assert_int_equal(rpc_pending(h->rpc), 1);

	assert_int_equal(rpc_tick(h->rpc, 20000), -1);
	assert_error_event(&h->ev[1], B, "Heartbeat", RPC_TIMEOUT, "",
	                   "no response within 7000 ms");
	assert_int_equal(rpc_pending(h->rpc), 0);
}

static void
test_offline_fails_all(void **state)
{
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(heartbeat(h, C, 0), 0);
	rpc_set_connected(h->rpc, false, 10);
	assert_int_equal(h->n_ev, 3);
	assert_error_event(&h->ev[0], A, "Heartbeat", RPC_OFFLINE, "", "connection closed");
	assert_error_event(&h->ev[1], B, "Heartbeat", RPC_OFFLINE, "", "connection closed");
	assert_error_event(&h->ev[2], C, "Heartbeat", RPC_OFFLINE, "", "connection closed");
	assert_int_equal(rpc_pending(h->rpc), 0);
	assert_int_equal(rpc_tick(h->rpc, 100000), -1);

	rpc_set_connected(h->rpc, true, 20);
	assert_int_equal(h->n_sent, 1); /* nothing new */
}

static void
retry_on_offline(struct h *h, const struct event *e)
{
	if (e->type == EV_ERROR && e->kind == RPC_OFFLINE)
		assert_int_equal(heartbeat(h, e->tag, 0), 0);
}

static void
test_offline_retry_from_callback(void **state)
{
	struct h *h = *state;
	char first[64];

	h->hook = retry_on_offline;
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	rpc_set_connected(h->rpc, false, 10);
	assert_int_equal(h->n_ev, 2);
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(rpc_pending(h->rpc), 2); /* queued again for the next connection */
	h->hook = NULL;
	snprintf(first, sizeof(first), "%s", call_id(h, 0, "Heartbeat"));

	rpc_set_connected(h->rpc, true, 20);
	assert_int_equal(h->n_sent, 2);
	assert_string_not_equal(call_id(h, 1, "Heartbeat"), first);
	assert_int_equal(answer(h, hb_conf, call_id(h, 1, "Heartbeat"), 30), 0);
	assert_ptr_equal(h->ev[2].tag, A); /* FIFO kept */
	assert_int_equal(h->n_sent, 3);
}

/* Ids stay unique across reconnects and across two instances (a reboot). */
static void
test_ids_unique(void **state)
{
	char ids[2 * 3 * 10][64];
	size_t n = 0;

	(void)state;
	for (int boot = 0; boot < 2; boot++) {
		struct h *h = h_new(NULL);

		for (int conn = 0; conn < 3; conn++) {
			rpc_set_connected(h->rpc, true, 0);
			for (int i = 0; i < 10; i++) {
				const char *id;

				assert_int_equal(heartbeat(h, A, 0), 0);
				id = call_id(h, h->n_sent - 1, "Heartbeat");
				snprintf(ids[n++], sizeof(ids[0]), "%s", id);
				assert_int_equal(answer(h, hb_conf, id, 0), 0);
			}
			rpc_set_connected(h->rpc, false, 0);
		}
		h_free(h);
	}
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(ids[i]) <= RPC_ID_MAX);
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
}

static void
test_call_refused(void **state)
{
	struct rpc_config cfg = {.max_queue = 2};
	struct h *h = h_new(&cfg);

	(void)state;
	assert_int_equal(rpc_call(h->rpc, "Foo", json_object(), A, 1000, 0), -EINVAL);
	assert_int_equal(rpc_call(h->rpc, NULL, json_object(), A, 1000, 0), -EINVAL);
	assert_int_equal(rpc_call(h->rpc, "Reset", js("{'type':'Hard'}"), A, 1000, 0), -EINVAL);
	assert_int_equal(
	    rpc_call(h->rpc, "BootNotification", js("{'chargePointVendor':'x'}"), A, 1000, 0),
	    -EINVAL);
	assert_int_equal(rpc_call(h->rpc, "Heartbeat", json_object(), A, 0, 0), -EINVAL);
	assert_int_equal(rpc_call(h->rpc, "Heartbeat", NULL, A, 1000, 0), -ENOMEM);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(rpc_call(h->rpc, "DataTransfer", js("{'vendorId':'v'}"), A, 1000, 0), 0);
	assert_int_equal(heartbeat(h, A, 0), -ENOBUFS);
	assert_int_equal(rpc_pending(h->rpc), 2);
	assert_int_equal(h->n_sent, 0);
	assert_int_equal(h->n_ev, 0);
	h_free(h);
}

static void
test_send_failure(void **state)
{
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	h->send_ret = -EPIPE;
	assert_int_equal(heartbeat(h, A, 0), -EPIPE); /* went out at once: failed synchronously */
	assert_int_equal(h->n_ev, 0);
	assert_int_equal(rpc_pending(h->rpc), 0);

	h->send_ret = 0;
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(heartbeat(h, C, 0), 0);
	h->send_ret = -EPIPE; /* B and C fail in turn when A is answered */
	assert_int_equal(answer(h, hb_conf, call_id(h, 0, "Heartbeat"), 10), 0);
	assert_int_equal(h->n_ev, 3);
	assert_error_event(&h->ev[1], B, "Heartbeat", RPC_OFFLINE, "", "sending failed");
	assert_error_event(&h->ev[2], C, "Heartbeat", RPC_OFFLINE, "", "sending failed");
	assert_int_equal(rpc_pending(h->rpc), 0);
}

static void
test_cancel(void **state)
{
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, C, 0), 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(rpc_pending(h->rpc), 5);
	assert_int_equal(rpc_cancel(h->rpc, A), 2); /* the outstanding A stays */
	assert_int_equal(rpc_cancel(h->rpc, A), 0);
	assert_int_equal(rpc_pending(h->rpc), 3);
	assert_int_equal(h->n_ev, 0);
	assert_int_equal(heartbeat(h, A, 0), 0); /* the tail is still right */
	assert_int_equal(rpc_cancel(h->rpc, C), 1);

	assert_int_equal(answer(h, hb_conf, call_id(h, 0, "Heartbeat"), 1), 0);
	assert_int_equal(answer(h, hb_conf, call_id(h, 1, "Heartbeat"), 2), 0);
	assert_int_equal(answer(h, hb_conf, call_id(h, 2, "Heartbeat"), 3), 0);
	assert_int_equal(h->n_sent, 3);
	assert_ptr_equal(h->ev[0].tag, A);
	assert_ptr_equal(h->ev[1].tag, B);
	assert_ptr_equal(h->ev[2].tag, A);
	assert_int_equal(rpc_pending(h->rpc), 0);
}

static void
queue_on_result(struct h *h, const struct event *e)
{
	if (e->type == EV_RESULT && e->tag == A)
		assert_int_equal(heartbeat(h, C, 0), 0);
}

/* A CALL made from a result callback goes behind those already queued. */
static void
test_reentrant_fifo(void **state)
{
	struct h *h = *state;

	h->hook = queue_on_result;
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	assert_int_equal(heartbeat(h, B, 0), 0);
	assert_int_equal(answer(h, hb_conf, call_id(h, 0, "Heartbeat"), 1), 0);
	assert_int_equal(answer(h, hb_conf, call_id(h, 1, "Heartbeat"), 2), 0);
	assert_int_equal(answer(h, hb_conf, call_id(h, 2, "Heartbeat"), 3), 0);
	assert_int_equal(h->n_ev, 3);
	assert_ptr_equal(h->ev[1].tag, B);
	assert_ptr_equal(h->ev[2].tag, C);
}

/* ---- answers to our CALLs ---- */

static void
test_result_validated(void **state)
{
	static const struct {
		const char *frame;
		const char *code, *desc;
	} cases[] = {
	    {"[3,'%s',{'status':'Accepted','currentTime':'2024-05-01T12:00:00Z'}]",
	     "OccurenceConstraintViolation", "interval: required property missing"},
	    {"[3,'%s',{'status':'Maybe','currentTime':'2024-05-01T12:00:00Z','interval':1}]",
	     "FormationViolation", "status: must be one of Accepted, Pending, Rejected"},
	    {"[3,'%s',{'status':'Accepted','currentTime':'noon','interval':1}]",
	     "FormationViolation", "currentTime: must be an RFC 3339 date-time"},
	    {"[3,'%s',[]]", "TypeConstraintViolation", "payload: must be object"},
	    {"[3,'%s']", "FormationViolation", "a CALLRESULT must have 3 elements"},
	    {"[3,'%s',{},{}]", "FormationViolation", "a CALLRESULT must have 3 elements"},
	    {"[4,'%s','GenericError','x']", "FormationViolation",
	     "a CALLERROR must be [4, uniqueId, errorCode, errorDescription, errorDetails]"},
	    {"[4,'%s',7,'x',{}]", "FormationViolation",
	     "a CALLERROR must be [4, uniqueId, errorCode, errorDescription, errorDetails]"},
	    {"[4,'%s','GenericError',null,{}]", "FormationViolation",
	     "a CALLERROR must be [4, uniqueId, errorCode, errorDescription, errorDetails]"},
	    {"[4,'%s','GenericError','x',[]]", "FormationViolation",
	     "a CALLERROR must be [4, uniqueId, errorCode, errorDescription, errorDetails]"},
	    /* unparsable, but the head names our CALL: fail it now rather than at the timeout */
	    {"[3,'%s',{'status':", "FormationViolation", "frame ends before the JSON text does"},
	    {"[3,'%s',{'a':1,'a':1}]", "FormationViolation", "duplicate key in a JSON object"},
	};
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		h_clear(h);
		assert_int_equal(rpc_call(h->rpc, "BootNotification", js(boot_req), A, 1000, 0), 0);
		assert_int_equal(answer(h, cases[i].frame, call_id(h, 0, "BootNotification"), 0),
		                 -EBADMSG);
		assert_int_equal(h->n_ev, 1);
		assert_error_event(&h->ev[0], A, "BootNotification", RPC_BAD_RESPONSE,
		                   cases[i].code, cases[i].desc);
		assert_int_equal(h->n_sent, 1); /* never answered */
		assert_int_equal(rpc_pending(h->rpc), 0);
	}
}

static void
test_callerror_codes(void **state)
{
	static const struct {
		const char *received, *reported;
	} cases[] = {
	    {"OccurenceConstraintViolation", "OccurenceConstraintViolation"},
	    {"OccurrenceConstraintViolation", "OccurenceConstraintViolation"},
	    {"FormatViolation", "FormationViolation"},
	    {"NotSupported", "NotSupported"},
	    {"SecurityError", "SecurityError"},
	    {"RpcFrameworkError", "GenericError"}, /* 2.0.1 only: unknown, as ocpp-rpc reads it */
	    {"", "GenericError"},
	};
	struct h *h = *state;
	char frame[256];

	rpc_set_connected(h->rpc, true, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		h_clear(h);
		assert_int_equal(heartbeat(h, B, 0), 0);
		snprintf(frame, sizeof(frame), "[4,'%%s','%s','why',{'k':1}]", cases[i].received);
		assert_int_equal(answer(h, frame, call_id(h, 0, "Heartbeat"), 0), 0);
		assert_int_equal(h->n_ev, 1);
		assert_error_event(&h->ev[0], B, "Heartbeat", RPC_CALLERROR, cases[i].reported,
		                   "why");
		assert_int_equal(h->n_sent, 1);
	}
}

/* Answers to nothing of ours: dropped, never answered, the outstanding CALL unharmed. */
static void
test_unknown_id_dropped(void **state)
{
	static const char *const frames[] = {
	    "[3,'nope%s',{'currentTime':'2024-05-01T12:00:00Z'}]",
	    "[4,'%s ','GenericError','',{}]",
	    "[3,'%s-x',{}]",
	    "[4,'x%s','GenericError','',{}]",
	    "[3,'',{'x':'%s'}]",
	};
	struct h *h = *state;
	char id[64], frame[256];

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	snprintf(id, sizeof(id), "%s", call_id(h, 0, "Heartbeat"));
	for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
		fill(frame, sizeof(frame), frames[i], id);
		assert_int_equal(input(h, frame, 0), -ENOENT);
	}
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(h->n_ev, 0);
	assert_int_equal(rpc_pending(h->rpc), 1);
	assert_int_equal(answer(h, hb_conf, id, 0), 0);
	assert_int_equal(h->n_ev, 1);
}

/* ---- incoming CALLs ---- */

/* The CSMS's CALLs are delivered and answered while ours is outstanding. */
static void
test_incoming_concurrent(void **state)
{
	struct h *h = *state;
	char ours[64];

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0);
	snprintf(ours, sizeof(ours), "%s", call_id(h, 0, "Heartbeat"));

	assert_int_equal(input(h, "[2,'cs-1','Reset',{'type':'Soft'}]", 1), 0);
	assert_int_equal(input(h, "[2,'cs-2','GetConfiguration',{'key':['HeartbeatInterval']}]", 1),
	                 0);
	assert_int_equal(h->n_ev, 2);
	assert_int_equal(h->ev[0].type, EV_CALL);
	assert_string_equal(h->ev[0].id, "cs-1");
	assert_string_equal(h->ev[0].action, "Reset");
	assert_string_equal(h->ev[0].payload, "{\"type\":\"Soft\"}");
	assert_string_equal(h->ev[1].id, "cs-2");

	/* answered out of order, before ours is answered */
	assert_int_equal(rpc_reply(h->rpc, "cs-2",
	                           js("{'configurationKey':[{'key':"
	                              "'HeartbeatInterval','readonly':false,"
	                              "'value':'300'}]}")),
	                 0);
	assert_int_equal(rpc_reply(h->rpc, "cs-1", js("{'status':'Accepted'}")), 0);
	assert_int_equal(h->n_sent, 3);
	assert_sent(h, 1,
	            "[3,'cs-2',{'configurationKey':[{'key':'HeartbeatInterval','readonly':false,"
	            "'value':'300'}]}]");
	assert_sent(h, 2, "[3,'cs-1',{'status':'Accepted'}]");
	assert_int_equal(rpc_pending(h->rpc), 1);

	assert_int_equal(answer(h, hb_conf, ours, 2), 0);
	assert_int_equal(h->ev[2].type, EV_RESULT);
	assert_int_equal(h->n_sent, 3);
}

static void
reply_now(struct h *h, const struct event *e)
{
	if (e->type == EV_CALL)
		assert_int_equal(rpc_reply(h->rpc, e->id, js("{'status':'Unlocked'}")), 0);
}

static void
test_reply_in_callback(void **state)
{
	struct h *h = *state;

	h->hook = reply_now;
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h, "[2,'u1','UnlockConnector',{'connectorId':1}]", 0), 0);
	assert_int_equal(h->n_sent, 1);
	assert_sent(h, 0, "[3,'u1',{'status':'Unlocked'}]");
	/* the id is free again: a new CALL may reuse it */
	assert_int_equal(input(h, "[2,'u1','UnlockConnector',{'connectorId':2}]", 0), 0);
	assert_int_equal(h->n_sent, 2);
}

static void
test_reply_refused(void **state)
{
	struct h *h = *state;

	assert_int_equal(rpc_reply(h->rpc, "x", json_object()), -ENOTCONN);
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(rpc_reply(h->rpc, "x", json_object()), -ENOENT);
	assert_int_equal(rpc_reply(h->rpc, NULL, json_object()), -ENOENT);
	assert_int_equal(rpc_reply_error(h->rpc, "x", OCPP_ERROR_GENERIC_ERROR, "x"), -ENOENT);

	assert_int_equal(input(h, "[2,'r1','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(rpc_reply(h->rpc, "r1", NULL), -ENOMEM);
	assert_int_equal(rpc_reply_error(h->rpc, "r1", OCPP_ERROR_NONE, "x"), -EINVAL);
	assert_int_equal(rpc_reply_error(h->rpc, "r1", (enum ocpp_error_code)99, "x"), -EINVAL);
	assert_int_equal(rpc_reply_error(h->rpc, "r1", OCPP_ERROR_GENERIC_ERROR, "\xff"), -EINVAL);
	assert_int_equal(h->n_sent, 0); /* still unanswered after all of these */
	assert_int_equal(rpc_reply(h->rpc, "r1", js("{'status':'Accepted'}")), 0);
	assert_int_equal(rpc_reply(h->rpc, "r1", js("{'status':'Accepted'}")), -ENOENT);
	assert_int_equal(h->n_sent, 1);

	/* an id of the old connection is not answered on the new one */
	assert_int_equal(input(h, "[2,'r2','Reset',{'type':'Hard'}]", 0), 0);
	rpc_set_connected(h->rpc, false, 0);
	assert_int_equal(rpc_reply(h->rpc, "r2", json_object()), -ENOTCONN);
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(rpc_reply(h->rpc, "r2", js("{'status':'Accepted'}")), -ENOENT);
	assert_int_equal(h->n_sent, 1);
}

static void
test_reply_invalid(void **state)
{
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h, "[2,'r1','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(rpc_reply(h->rpc, "r1", js("{'status':'Unlocked'}")), -EINVAL);
	assert_sent(h, 0, "[4,'r1','InternalError','internal error',{}]");
	assert_int_equal(rpc_reply(h->rpc, "r1", js("{'status':'Accepted'}")), -ENOENT);
	assert_int_equal(h->n_sent, 1);
}

static void
test_reply_error(void **state)
{
	struct h *h = *state;

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h,
	                       "[2,'e1','ReserveNow',{'connectorId':1,'expiryDate':"
	                       "'2024-05-01T12:00:00Z','idTag':'T','reservationId':7}]",
	                       0),
	                 0);
	assert_int_equal(input(h, "[2,'e2','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(input(h, "[2,'e3','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(
	    rpc_reply_error(h->rpc, "e1", OCPP_ERROR_NOT_SUPPORTED, "no reservations here"), 0);
	assert_int_equal(
	    rpc_reply_error(h->rpc, "e2", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION, NULL), 0);
	assert_int_equal(rpc_reply_error(h->rpc, "e3", OCPP_ERROR_FORMATION_VIOLATION, "\"q\""), 0);
	assert_sent(h, 0, "[4,'e1','NotSupported','no reservations here',{}]");
	assert_sent(h, 1, "[4,'e2','OccurenceConstraintViolation','',{}]");
	assert_int_equal(strcmp(h->sent[2], "[4,\"e3\",\"FormationViolation\",\"\\\"q\\\"\",{}]"),
	                 0);
	assert_int_equal(rpc_reply_error(h->rpc, "e1", OCPP_ERROR_GENERIC_ERROR, ""), -ENOENT);
}

static void
test_incoming_limit(void **state)
{
	struct rpc_config cfg = {.max_incoming = 2};
	struct h *h = h_new(&cfg);

	(void)state;
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h, "[2,'i1','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(input(h, "[2,'i2','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(input(h, "[2,'i3','Reset',{'type':'Hard'}]", 0), -EBUSY);
	assert_sent(h, 0, "[4,'i3','GenericError','too many unanswered CALLs',{}]");
	assert_int_equal(h->n_ev, 2);
	assert_int_equal(rpc_reply(h->rpc, "i1", js("{'status':'Accepted'}")), 0);
	assert_int_equal(input(h, "[2,'i3','Reset',{'type':'Hard'}]", 0), 0);
	assert_int_equal(h->n_ev, 3);
	h_free(h);
}

static void
test_input_refused(void **state)
{
	struct h *h = *state;

	assert_int_equal(input(h, "[2,'a','Reset',{'type':'Hard'}]", 0), -ENOTCONN);
	assert_int_equal(h->n_sent, 0);
	assert_int_equal(h->n_ev, 0);
	/* trailing whitespace is fine JSON */
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h, " [2,'a','Reset',{'type':'Hard'}]\r\n", 0), 0);
	assert_int_equal(h->n_ev, 1);
}

/* A frame with max_frame bytes is still parsed. */
static void
test_frame_limit(void **state)
{
	struct rpc_config cfg = {.max_frame = 40};
	struct h *h = h_new(&cfg);
	char f[64];

	(void)state;
	snprintf(f, sizeof(f), "%-40s", "[2,'a','Reset',{'type':'Hard'}]");
	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(input(h, f, 0), 0);
	snprintf(f, sizeof(f), "%-41s", "[2,'b','Reset',{'type':'Hard'}]");
	assert_int_equal(input(h, f, 0), -EMSGSIZE);
	assert_sent(h, 0, "[4,'b','GenericError','frame of 41 bytes exceeds the limit of 40',{}]");
	h_free(h);
}

/* ---- malformed and invalid input ---- */

#define CE(id, code, desc) "[4,'" id "','" code "','" desc "',{}]"
#define FORMATION(desc)    CE("a", "FormationViolation", desc)
#define TYPE(desc)         CE("a", "TypeConstraintViolation", desc)
#define ID37               "0123456789012345678901234567890123456"
#define ID36               "012345678901234567890123456789012345"
#define E2X36              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"

struct bad_case {
	const char *name;
	const char *first; /* fed (and delivered) before, or NULL */
	const char *in;
	size_t len; /* 0: strlen(in) */
	int ret;
	const char *want; /* the only frame sent back, or NULL for none */
	char *(*gen)(size_t *len);
};

static char *
gen_frame(const char *head, size_t n, char fill, const char *tail, size_t *len)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);

	assert_non_null(s);
	memcpy(s, head, h);
	memset(s + h, fill, n);
	memcpy(s + h + n, tail, t + 1);
	*len = h + n + t;
	return s;
}

static char *
gen_huge_call(size_t *len)
{
	return gen_frame("[2,\"big\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":\"", 70000, 'x',
	                 "\"}]", len);
}

static char *
gen_huge_nothing(size_t *len)
{
	return gen_frame("", 70000, ' ', "[]", len);
}

static char *
gen_huge_result(size_t *len)
{
	return gen_frame("[3,\"a\",{\"data\":\"", 70000, 'x', "\"}]", len);
}

/* [2,"a","DataTransfer",{"vendorId":"v","data":[[[...]]]}] with n inner arrays */
static char *
gen_nested(size_t n, size_t *len)
{
	char head[128], *tail = malloc(n + 3), *s;

	assert_non_null(tail);
	memset(tail, ']', n);
	strcpy(tail + n, "}]");
	snprintf(head, sizeof(head), "[2,\"a\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":");
	s = gen_frame(head, n, '[', tail, len);
	free(tail);
	return s;
}

static char *
gen_deep_call(size_t *len)
{
	return gen_nested(RPC_MAX_DEPTH - 1, len); /* frame + payload + 15 = 17 */
}

static char *
gen_deepest_call(size_t *len)
{
	return gen_nested(RPC_MAX_DEPTH - 2, len); /* exactly at the limit: parsed */
}

static char *
gen_deep_nothing(size_t *len)
{
	return gen_frame("", 3000, '[', "", len); /* deeper than jansson's 2048 too */
}

/* brackets (and an escaped quote) inside a string do not nest: parsed, then validated */
static char *
gen_deep_in_string(size_t *len)
{
	return gen_frame("[2,\"a\",\"Reset\",{\"type\":\"\\\"", 1000, '[', "\"}]", len);
}

static const struct bad_case bad_cases[] = {
    /* no uniqueId to answer: dropped */
    {"empty frame", NULL, "", 0, -EBADMSG, NULL, NULL},
    {"whitespace only", NULL, " \r\n\t", 0, -EBADMSG, NULL, NULL},
    {"null", NULL, "null", 0, -EBADMSG, NULL, NULL},
    {"true", NULL, "true", 0, -EBADMSG, NULL, NULL},
    {"number", NULL, "42", 0, -EBADMSG, NULL, NULL},
    {"string", NULL, "'[2,\\'a\\']'", 0, -EBADMSG, NULL, NULL},
    {"object", NULL, "{'2':'a'}", 0, -EBADMSG, NULL, NULL},
    {"empty array", NULL, "[]", 0, -EBADMSG, NULL, NULL},
    {"type only", NULL, "[2]", 0, -EBADMSG, NULL, NULL},
    {"type as string", NULL, "['2','a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type 2.5", NULL, "[2.5,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type 0", NULL, "[0,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type 1", NULL, "[1,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type 5 (2.1 CALLRESULTERROR)", NULL, "[5,'a','GenericError','',{}]", 0, -EBADMSG, NULL, NULL},
    {"type 6 (2.1 SEND)", NULL, "[6,'a','NotifyPeriodicEventStream',{}]", 0, -EBADMSG, NULL, NULL},
    {"type -2", NULL, "[-2,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type true", NULL, "[true,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type null", NULL, "[null,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type array", NULL, "[[2],'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"type 2^32 + 2", NULL, "[4294967298,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"CALLERROR without uniqueId", NULL, "[4]", 0, -EBADMSG, NULL, NULL},
    {"uniqueId a number", NULL, "[2,7,'Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"uniqueId null", NULL, "[2,null,'Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"uniqueId an object", NULL, "[2,{},'Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"not JSON", NULL, "hello", 0, -EBADMSG, NULL, NULL},
    {"binary garbage", NULL, "\xff\xfe\xfd", 0, -EBADMSG, NULL, NULL},
    {"unparsable, uniqueId unquoted", NULL, "[2,a,'Reset',{}]", 0, -EBADMSG, NULL, NULL},
    {"unparsable, uniqueId with escape", NULL, "[2,'a\\u0041','Reset',{}", 0, -EBADMSG, NULL, NULL},
    {"unparsable, uniqueId too long", NULL, "[2,'" ID37 "','Reset',{}", 0, -EBADMSG, NULL, NULL},
    {"unparsable, uniqueId with a raw tab", NULL, "[2,'a\tb','Reset',{}]", 0, -EBADMSG, NULL, NULL},
    {"unparsable, uniqueId not ASCII", NULL, "[2,'\xc3\xa9','Reset'", 0, -EBADMSG, NULL, NULL},
    {"unparsable, type 23", NULL, "[23,'a',", 0, -EBADMSG, NULL, NULL},
    {"unparsable, type 02", NULL, "[02,'a','Reset',{'type':'Hard'}]", 0, -EBADMSG, NULL, NULL},
    {"unparsable, byte order mark", NULL, "\xef\xbb\xbf[2,'a','Reset',{'type':'Hard'}]", 0,
     -EBADMSG, NULL, NULL},
    {"unparsable CALLRESULT", NULL, "[3,'a',{]", 0, -EBADMSG, NULL, NULL},
    {"unparsable CALLERROR", NULL, "[4,'a','GenericError'", 0, -EBADMSG, NULL, NULL},
    {"CALLRESULT for an unknown id", NULL, "[3,'a',{}]", 0, -ENOENT, NULL, NULL},
    {"CALLERROR for an unknown id", NULL, "[4,'a','GenericError','',{}]", 0, -ENOENT, NULL, NULL},
    {"malformed CALLRESULT, unknown id", NULL, "[3,'a']", 0, -ENOENT, NULL, NULL},
    {"malformed CALLERROR, unknown id", NULL, "[4,'a',1]", 0, -ENOENT, NULL, NULL},
    {"CALLRESULT without uniqueId", NULL, "[3]", 0, -EBADMSG, NULL, NULL},
    {"CALLRESULT, uniqueId too long", NULL, "[3,'" ID37 "',{}]", 0, -ENOENT, NULL, NULL},
    {"huge, no uniqueId", NULL, NULL, 0, -EMSGSIZE, NULL, gen_huge_nothing},
    {"huge CALLRESULT", NULL, NULL, 0, -EMSGSIZE, NULL, gen_huge_result},
    {"deep, no uniqueId", NULL, NULL, 0, -EBADMSG, NULL, gen_deep_nothing},

    /* not JSON, but the head gives the CALL's uniqueId */
    {"truncated", NULL, "[2,'a','Reset',{'type':'Hard'}", 0, -EBADMSG,
     FORMATION("frame ends before the JSON text does"), NULL},
    {"truncated after the uniqueId", NULL, "[2,'a'", 0, -EBADMSG,
     FORMATION("frame ends before the JSON text does"), NULL},
    {"whitespace in the head", NULL, " \r\n[ 2 ,\t'a' ,'Reset',{'type':'Hard'}", 0, -EBADMSG,
     FORMATION("frame ends before the JSON text does"), NULL},
    {"trailing garbage", NULL, "[2,'a','Reset',{'type':'Hard'}] x", 0, -EBADMSG,
     FORMATION("garbage after the JSON text"), NULL},
    {"two frames in one", NULL, "[2,'a','Reset',{'type':'Hard'}][2,'b','Reset',{}]", 0, -EBADMSG,
     FORMATION("garbage after the JSON text"), NULL},
    {"NUL byte after the frame", NULL, "[2,'a','Reset',{'type':'Hard'}]\0", 32, -EBADMSG,
     FORMATION("garbage after the JSON text"), NULL},
    {"duplicate key", NULL, "[2,'a','Reset',{'type':'Hard','type':'Soft'}]", 0, -EBADMSG,
     FORMATION("duplicate key in a JSON object"), NULL},
    {"invalid UTF-8", NULL, "[2,'a','DataTransfer',{'vendorId':'\xff'}]", 0, -EBADMSG,
     FORMATION("frame is not valid UTF-8"), NULL},
    {"overlong UTF-8", NULL, "[2,'a','DataTransfer',{'vendorId':'\xc0\xaf'}]", 0, -EBADMSG,
     FORMATION("frame is not valid UTF-8"), NULL},
    {"UTF-16 surrogate in UTF-8", NULL, "[2,'a','DataTransfer',{'vendorId':'\xed\xa0\x80'}]", 0,
     -EBADMSG, FORMATION("frame is not valid UTF-8"), NULL},
    {"lone surrogate escape", NULL, "[2,'a','DataTransfer',{'vendorId':'\\ud800'}]", 0, -EBADMSG,
     FORMATION("frame is not valid JSON"), NULL},
    {"NUL escape", NULL, "[2,'a','DataTransfer',{'vendorId':'v','data':'\\u0000'}]", 0, -EBADMSG,
     FORMATION("frame is not valid JSON"), NULL},
    {"trailing comma in an object", NULL, "[2,'a','DataTransfer',{'vendorId':'v',}]", 0, -EBADMSG,
     FORMATION("frame is not valid JSON"), NULL},
    {"trailing comma in the frame", NULL, "[2,'a','Reset',{'type':'Hard'},]", 0, -EBADMSG,
     FORMATION("frame is not valid JSON"), NULL},
    {"action unquoted", NULL, "[2,'a',Reset,{}]", 0, -EBADMSG, FORMATION("frame is not valid JSON"),
     NULL},
    {"real out of range", NULL,
     "[2,'a','ChangeAvailability',{'connectorId':1e999,'type':'Operative'}]", 0, -EBADMSG,
     FORMATION("number out of range"), NULL},
    {"integer out of range", NULL,
     "[2,'a','ChangeAvailability',{'connectorId':99999999999999999999,'type':'Operative'}]", 0,
     -EBADMSG, FORMATION("number out of range"), NULL},
    {"huge CALL", NULL, NULL, 0, -EMSGSIZE,
     CE("big", "GenericError", "frame of 70051 bytes exceeds the limit of 65536"), gen_huge_call},
    {"nested too deeply", NULL, NULL, 0, -EBADMSG, FORMATION("JSON nested too deeply"),
     gen_deep_call},

    /* parsed, but not a CALL we can take */
    {"uniqueId of 37 characters", NULL, "[2,'" ID37 "','Foo',{}]", 0, -EBADMSG,
     CE(ID37, "FormationViolation", "uniqueId longer than 36 characters"), NULL},
    {"uniqueId of 37 non-ASCII characters", NULL,
     "[2,'" E2X36 E2X36 E2X36 E2X36 "\xc3\xa9','Foo',{}]", 0, -EBADMSG,
     CE(E2X36 E2X36 E2X36 E2X36 "\xc3\xa9", "FormationViolation",
        "uniqueId longer than 36 characters"),
     NULL},
    {"uniqueId of 36 non-ASCII characters", NULL, "[2,'" E2X36 E2X36 E2X36 E2X36 "','Foo',{}]", 0,
     -EOPNOTSUPP, CE(E2X36 E2X36 E2X36 E2X36, "NotImplemented", "unknown action"), NULL},
    {"uniqueId only", NULL, "[2,'a']", 0, -EBADMSG, FORMATION("a CALL must have 4 elements"), NULL},
    {"payload missing", NULL, "[2,'a','Reset']", 0, -EBADMSG,
     FORMATION("a CALL must have 4 elements"), NULL},
    {"element too many", NULL, "[2,'a','Reset',{'type':'Hard'},{}]", 0, -EBADMSG,
     FORMATION("a CALL must have 4 elements"), NULL},
    {"action a number", NULL, "[2,'a',7,{}]", 0, -EBADMSG, FORMATION("action must be a string"),
     NULL},
    {"action null", NULL, "[2,'a',null,{}]", 0, -EBADMSG, FORMATION("action must be a string"),
     NULL},
    {"action an object", NULL, "[2,'a',{},{}]", 0, -EBADMSG, FORMATION("action must be a string"),
     NULL},
    {"unknown action", NULL, "[2,'a','Foo',{}]", 0, -EOPNOTSUPP,
     CE("a", "NotImplemented", "unknown action"), NULL},
    {"empty action", NULL, "[2,'a','',{}]", 0, -EOPNOTSUPP,
     CE("a", "NotImplemented", "unknown action"), NULL},
    {"action in the wrong case", NULL, "[2,'a','reset',{'type':'Hard'}]", 0, -EOPNOTSUPP,
     CE("a", "NotImplemented", "unknown action"), NULL},
    {"action with .req", NULL, "[2,'a','Reset.req',{'type':'Hard'}]", 0, -EOPNOTSUPP,
     CE("a", "NotImplemented", "unknown action"), NULL},
    {"2.0.1 action", NULL, "[2,'a','RequestStartTransaction',{}]", 0, -EOPNOTSUPP,
     CE("a", "NotImplemented", "unknown action"), NULL},
    {"BootNotification from the CSMS", NULL,
     "[2,'a','BootNotification',{'chargePointVendor':'v','chargePointModel':'m'}]", 0, -EOPNOTSUPP,
     CE("a", "NotSupported", "action is sent by charge points only"), NULL},
    {"Heartbeat from the CSMS", NULL, "[2,'a','Heartbeat',{}]", 0, -EOPNOTSUPP,
     CE("a", "NotSupported", "action is sent by charge points only"), NULL},
    {"type 2.0 is a CALL", NULL, "[2.0,'a','Heartbeat',{}]", 0, -EOPNOTSUPP,
     CE("a", "NotSupported", "action is sent by charge points only"), NULL},
    {"empty uniqueId", NULL, "[2,'','Foo',{}]", 0, -EOPNOTSUPP,
     CE("", "NotImplemented", "unknown action"), NULL},
    {"escaped uniqueId answered decoded", NULL, "[2,'\\u0041b','Foo',{}]", 0, -EOPNOTSUPP,
     CE("Ab", "NotImplemented", "unknown action"), NULL},
    {"uniqueId of 36 characters", NULL, "[2,'" ID36 "','Foo',{}]", 0, -EOPNOTSUPP,
     CE(ID36, "NotImplemented", "unknown action"), NULL},
    {"uniqueId still unanswered", "[2,'a','Reset',{'type':'Hard'}]",
     "[2,'a','Reset',{'type':'Soft'}]", 0, -EBUSY,
     CE("a", "GenericError", "a CALL with this uniqueId is still unanswered"), NULL},

    /* the payload against the .req schema */
    {"payload an array", NULL, "[2,'a','Reset',[]]", 0, -EBADMSG, TYPE("payload: must be object"),
     NULL},
    {"payload a string", NULL, "[2,'a','Reset','Hard']", 0, -EBADMSG,
     TYPE("payload: must be object"), NULL},
    {"payload null", NULL, "[2,'a','Reset',null]", 0, -EBADMSG, TYPE("payload: must be object"),
     NULL},
    {"required property missing", NULL, "[2,'a','Reset',{}]", 0, -EBADMSG,
     CE("a", "OccurenceConstraintViolation", "type: required property missing"), NULL},
    {"unknown enum value", NULL, "[2,'a','Reset',{'type':'Warm'}]", 0, -EBADMSG,
     FORMATION("type: must be one of Hard, Soft"), NULL},
    {"additional property", NULL, "[2,'a','Reset',{'type':'Hard','x':1}]", 0, -EBADMSG,
     CE("a", "PropertyConstraintViolation", "x: property not allowed"), NULL},
    {"property of the wrong type", NULL, "[2,'a','Reset',{'type':1}]", 0, -EBADMSG,
     TYPE("type: must be string"), NULL},
    {"fractional integer", NULL,
     "[2,'a','ChangeAvailability',{'connectorId':1.5,'type':'Operative'}]", 0, -EBADMSG,
     TYPE("connectorId: must be integer"), NULL},
    {"string too long", NULL, "[2,'a','RemoteStartTransaction',{'idTag':'123456789012345678901'}]",
     0, -EBADMSG, FORMATION("idTag: must not have more than 20 characters"), NULL},
    {"malformed date-time", NULL,
     "[2,'a','ReserveNow',{'connectorId':1,'expiryDate':'tomorrow','idTag':'T',"
     "'reservationId':1}]",
     0, -EBADMSG, FORMATION("expiryDate: must be an RFC 3339 date-time"), NULL},
    {"array expected", NULL, "[2,'a','GetConfiguration',{'key':'HeartbeatInterval'}]", 0, -EBADMSG,
     TYPE("key: must be array"), NULL},
    {"DataTransfer data not a string", NULL,
     "[2,'a','DataTransfer',{'vendorId':'v','data':{'x':1}}]", 0, -EBADMSG,
     TYPE("data: must be string"), NULL},
    {"nested at the limit", NULL, NULL, 0, -EBADMSG, TYPE("data: must be string"),
     gen_deepest_call},
    {"brackets inside a string", NULL, NULL, 0, -EBADMSG,
     FORMATION("type: must be one of Hard, Soft"), gen_deep_in_string},
};

static void
run_bad_case(const struct bad_case *c)
{
	struct h *h = h_new(NULL);
	size_t len = c->len;
	char *in = NULL;
	int r;

	rpc_set_connected(h->rpc, true, 0);
	assert_int_equal(heartbeat(h, A, 0), 0); /* outstanding throughout */
	if (c->first)
		assert_int_equal(input(h, c->first, 0), 0);
	h_clear(h);
	if (c->gen)
		in = c->gen(&len);
	else
		in = q(c->in);
	if (!len)
		len = strlen(in);
	r = rpc_input(h->rpc, in, len, 0);
	if (r != c->ret)
		fail_msg("%s: rpc_input() = %d, want %d", c->name, r, c->ret);
	if (c->want) {
		char *w = q(c->want);

		if (h->n_sent != 1 || strcmp(h->sent[0], w) != 0)
			fail_msg("%s: sent %zu frames: %s\nwant %s", c->name, h->n_sent,
			         h->n_sent ? h->sent[0] : "", w);
		free(w);
	} else if (h->n_sent) {
		fail_msg("%s: sent %s, want nothing", c->name, h->sent[0]);
	}
	if (h->n_ev)
		fail_msg("%s: %zu callbacks, want none", c->name, h->n_ev);
	assert_int_equal(rpc_pending(h->rpc), 1);
	free(in);
	h_free(h);
}

static void
test_malformed_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(bad_cases[j].name, c->name) == 0)
				fail_msg("two cases named %s", c->name);
		}
		run_bad_case(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_call_frame, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_one_outstanding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queued_while_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offline_fails_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offline_retry_from_callback, setup, teardown),
	    cmocka_unit_test(test_ids_unique),
	    cmocka_unit_test(test_call_refused),
	    cmocka_unit_test_setup_teardown(test_send_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reentrant_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_result_validated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callerror_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_id_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incoming_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_in_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_error, setup, teardown),
	    cmocka_unit_test(test_incoming_limit),
	    cmocka_unit_test_setup_teardown(test_input_refused, setup, teardown),
	    cmocka_unit_test(test_frame_limit),
	    cmocka_unit_test(test_malformed_table),
	};

	sg_log_init("test_rpc", SG_LOG_DEBUG); /* runs the traffic log lines too */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
