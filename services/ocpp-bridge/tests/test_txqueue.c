/* Unit tests for the transaction-message queue (txqueue.h) against real SQLite files in a
 * temporary directory, including a kill -9 of a pushing process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sitegate/log.h"
#include "txqueue.h"

#define T_LATE INT64_C(4102444800000) /* 2100-01-01: every retry wait has passed */

struct fixture {
	char dir[64];
	char db[128];
	struct txq *q;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sg-test-txq-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/state/txq.db", f->dir);
	*state = f;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	txq_close(f->q);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
reopen(struct fixture *f, uint64_t max_bytes)
{
	txq_close(f->q);
	f->q = NULL;
	assert_int_equal(txq_open(f->db, max_bytes, &f->q), 0);
}

static json_t *
start_payload(int connector)
{
	return json_pack("{s:i, s:s, s:i, s:s}", "connectorId", connector, "idTag", "TAG-1",
	                 "meterStart", 1000, "timestamp", "2024-05-01T10:00:00Z");
}

/* A MeterValues whose sampled value carries i, zero-padded so that all have the same size. */
static json_t *
mv_payload(int i, const char *context, bool with_txid)
{
	char value[16];
	json_t *p;

	snprintf(value, sizeof(value), "%06d", i);
	p = json_pack("{s:i, s:[{s:s, s:[{s:s, s:s}]}]}", "connectorId", 1, "meterValue",
	              "timestamp", "2024-05-01T10:15:00Z", "sampledValue", "value", value,
	              "context", context);
	if (with_txid)
		json_object_set_new(p, "transactionId", json_integer(0));
	return p;
}

static json_t *
stop_payload(int local_id)
{
	return json_pack("{s:i, s:i, s:s, s:s}", "transactionId", local_id, "meterStop", 4321,
	                 "timestamp", "2024-05-01T11:00:00Z", "reason", "EVDisconnected");
}

/* Pushes and takes ownership of payload; returns the seq. */
static int64_t
push(struct txq *q, const char *cp, const char *action, json_t *payload, int64_t tx_ref,
     bool periodic, int64_t now_ms)
{
	int64_t seq = -1;

	assert_non_null(payload);
	assert_int_equal(txq_push(q, cp, action, payload, tx_ref, periodic, now_ms, &seq), 0);
	assert_true(seq > 0);
	json_decref(payload);
	return seq;
}

static int64_t
push_start(struct txq *q, const char *cp, int64_t tx_ref, int64_t now_ms)
{
	return push(q, cp, "StartTransaction", start_payload(1), tx_ref, false, now_ms);
}

static int64_t
push_mv(struct txq *q, const char *cp, int64_t tx_ref, int i, bool periodic, int64_t now_ms)
{
	return push(q, cp, "MeterValues",
	            mv_payload(i, periodic ? "Sample.Periodic" : "Sample.Clock", true), tx_ref,
	            periodic, now_ms);
}

static int64_t
push_stop(struct txq *q, const char *cp, int64_t tx_ref, int64_t now_ms)
{
	return push(q, cp, "StopTransaction", stop_payload(0), tx_ref, false, now_ms);
}

static void
ack_start(struct txq *q, int64_t seq, int64_t transaction_id)
{
	json_t *r = json_pack("{s:I, s:{s:s}}", "transactionId", (json_int_t)transaction_id,
	                      "idTagInfo", "status", "Accepted");

	assert_int_equal(txq_ack(q, seq, r), 0);
	json_decref(r);
}

static void
ack_empty(struct txq *q, int64_t seq)
{
	json_t *r = json_object();

	assert_int_equal(txq_ack(q, seq, r), 0);
	json_decref(r);
}

static int64_t
txid_of(const struct txq_msg *m)
{
	json_t *id = json_object_get(m->payload, "transactionId");

	assert_true(json_is_integer(id));
	return json_integer_value(id);
}

static int
mv_index(const struct txq_msg *m)
{
	const char *v = NULL;
	json_t *sv = json_array_get(
	    json_object_get(json_array_get(json_object_get(m->payload, "meterValue"), 0),
	                    "sampledValue"),
	    0);

	assert_int_equal(json_unpack(sv, "{s:s}", "value", &v), 0);
	return atoi(v);
}

/* Takes the head of cp (due at now_ms), checks its action and seq (when > 0), and returns it. */
static struct txq_msg
head(struct txq *q, const char *cp, int64_t now_ms, const char *action, int64_t seq)
{
	struct txq_msg m;

	assert_int_equal(txq_head(q, cp, now_ms, &m), 1);
	assert_string_equal(m.action, action);
	if (seq > 0)
		assert_int_equal(m.seq, seq);
	assert_non_null(m.payload);
	return m;
}

static void
stats(struct txq *q, const char *cp, struct txq_stats *s)
{
	assert_int_equal(txq_stats(q, cp, T_LATE, s), 0);
}

/* Messages of several charge points, pushed interleaved, come out per charge point in push
 * order; seqs increase across the whole file. */
static void
test_order_interleaved(void **state)
{
	struct fixture *f = *state;
	static const char *const cps[] = {"CP-A", "CP-B", "CP-C"};
	int64_t seqs[3][12], last = 0;
	struct txq_msg m;

	reopen(f, 0);
	for (int c = 0; c < 3; c++) {
		seqs[c][0] = push_start(f->q, cps[c], 1, 1000);
		assert_true(seqs[c][0] > last);
		last = seqs[c][0];
	}
	for (int i = 0; i < 10; i++) {
		for (int c = 0; c < 3; c++) {
			seqs[c][1 + i] = push_mv(f->q, cps[c], 1, i, true, 2000 + i);
			assert_true(seqs[c][1 + i] > last);
			last = seqs[c][1 + i];
		}
	}
	for (int c = 0; c < 3; c++)
		seqs[c][11] = push_stop(f->q, cps[c], 1, 5000);

	/* Drain in another order than pushed. */
	for (int c = 2; c >= 0; c--) {
		m = head(f->q, cps[c], T_LATE, "StartTransaction", seqs[c][0]);
		assert_null(json_object_get(m.payload, "transactionId"));
		json_decref(m.payload);
		ack_start(f->q, seqs[c][0], 100 + c);
		for (int i = 0; i < 10; i++) {
			m = head(f->q, cps[c], T_LATE, "MeterValues", seqs[c][1 + i]);
			assert_int_equal(mv_index(&m), i);
			assert_int_equal(txid_of(&m), 100 + c);
			assert_true(m.periodic);
			assert_int_equal(m.tx_ref, 1);
			json_decref(m.payload);
			ack_empty(f->q, m.seq);
		}
		m = head(f->q, cps[c], T_LATE, "StopTransaction", seqs[c][11]);
		assert_int_equal(txid_of(&m), 100 + c);
		json_decref(m.payload);
		assert_int_equal(txq_ack(f->q, m.seq, NULL), 0);
		assert_int_equal(txq_head(f->q, cps[c], T_LATE, &m), 0);
	}
}

/* Retry n waits interval * n; only txq_fail counts attempts; the last failed attempt drops the
 * message and the queue moves on. */
static void
test_retry_timing(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	struct txq_stats s;
	int64_t start, mv;

	reopen(f, 0);
	start = push_start(f->q, "CP-1", 1, 0);
	mv = push_mv(f->q, "CP-1", 1, 0, true, 0);

	for (int i = 0; i < 5; i++) { /* looking at the head costs no attempt */
		m = head(f->q, "CP-1", 0, "StartTransaction", start);
		assert_int_equal(m.attempts, 0);
		json_decref(m.payload);
	}
	assert_int_equal(txq_fail(f->q, start, 1000, 3, 10), 0);
	assert_int_equal(txq_head(f->q, "CP-1", 1000, &m), -EAGAIN);
	assert_int_equal(m.seq, start);
	assert_int_equal(m.not_before_ms, 11000);
	assert_null(m.payload);
	assert_int_equal(txq_head(f->q, "CP-1", 10999, &m), -EAGAIN);
	m = head(f->q, "CP-1", 11000, "StartTransaction", start);
	assert_int_equal(m.attempts, 1);
	json_decref(m.payload);

	assert_int_equal(txq_fail(f->q, start, 12000, 3, 10), 0); /* retry 2 waits 2 * 10 s */
	assert_int_equal(txq_head(f->q, "CP-1", 31999, &m), -EAGAIN);
	assert_int_equal(m.not_before_ms, 32000);
	m = head(f->q, "CP-1", 32000, "StartTransaction", start);
	assert_int_equal(m.attempts, 2);
	json_decref(m.payload);

	assert_int_equal(txq_fail(f->q, start, 33000, 3, 10), 1); /* third attempt: dropped */
	m = head(f->q, "CP-1", 33000, "MeterValues", mv);
	assert_int_equal(m.attempts, 0);
	json_decref(m.payload);
	stats(f->q, "CP-1", &s);
	assert_int_equal(s.depth, 1);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.thinned, 0);

	/* Interval 0 retries at once; a clock stepped back behind the failure does not stall. */
	assert_int_equal(txq_fail(f->q, mv, 40000, 5, 0), 0);
	json_decref(head(f->q, "CP-1", 40000, "MeterValues", mv).payload);
	assert_int_equal(txq_fail(f->q, mv, 40000, 5, 60), 0);
	assert_int_equal(txq_head(f->q, "CP-1", 100000, &m), -EAGAIN);
	m = head(f->q, "CP-1", 39000, "MeterValues", mv);
	assert_int_equal(m.attempts, 2);
	json_decref(m.payload);

	assert_int_equal(txq_fail(f->q, mv, 0, 0, 10), -EINVAL);
	assert_int_equal(txq_fail(f->q, mv, 0, 3, -1), -EINVAL);
	assert_int_equal(txq_fail(f->q, 999999, 0, 3, 10), -ENOENT);
}

/* A dropped MeterValues makes room for the next message, which keeps its transactionId. */
static void
test_drop_moves_on(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	struct txq_stats s;
	int64_t start, mv1, mv2, stop;

	reopen(f, 0);
	start = push_start(f->q, "CP-1", 9, 0);
	mv1 = push_mv(f->q, "CP-1", 9, 1, true, 10);
	mv2 = push_mv(f->q, "CP-1", 9, 2, false, 20);
	stop = push_stop(f->q, "CP-1", 9, 30);
	json_decref(head(f->q, "CP-1", 100, "StartTransaction", start).payload);
	ack_start(f->q, start, 55);

	json_decref(head(f->q, "CP-1", 100, "MeterValues", mv1).payload);
	assert_int_equal(txq_fail(f->q, mv1, 100, 2, 5), 0);
	json_decref(head(f->q, "CP-1", 5100, "MeterValues", mv1).payload);
	assert_int_equal(txq_fail(f->q, mv1, 5100, 2, 5), 1);

	m = head(f->q, "CP-1", 5100, "MeterValues", mv2);
	assert_int_equal(mv_index(&m), 2);
	assert_int_equal(txid_of(&m), 55);
	json_decref(m.payload);
	stats(f->q, "CP-1", &s);
	assert_int_equal(s.depth, 2);
	assert_int_equal(s.dropped, 1);
	ack_empty(f->q, mv2);
	m = head(f->q, "CP-1", 5100, "StopTransaction", stop);
	assert_int_equal(txid_of(&m), 55);
	json_decref(m.payload);
}

/* A StartTransaction dropped after all attempts: its transaction's later messages carry -1. */
static void
test_dropped_start_minus_one(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	int64_t start, mv, stop, id = 0, ref = 0;

	reopen(f, 0);
	start = push_start(f->q, "CP-1", 3, 0);
	mv = push_mv(f->q, "CP-1", 3, 7, true, 10);
	stop = push_stop(f->q, "CP-1", 3, 20);
	assert_int_equal(txq_transaction_id(f->q, "CP-1", 3, &id), -EAGAIN);
	assert_int_equal(txq_fail(f->q, start, 100, 1, 30), 1);
	assert_int_equal(txq_transaction_id(f->q, "CP-1", 3, &id), 0);
	assert_int_equal(id, -1);
	assert_int_equal(txq_tx_ref(f->q, "CP-1", -1, &ref), -ENOENT);

	m = head(f->q, "CP-1", 100, "MeterValues", mv);
	assert_int_equal(txid_of(&m), -1);
	json_decref(m.payload);
	ack_empty(f->q, mv);
	m = head(f->q, "CP-1", 100, "StopTransaction", stop);
	assert_int_equal(txid_of(&m), -1);
	json_decref(m.payload);
	ack_empty(f->q, stop);
	assert_int_equal(txq_transaction_id(f->q, "CP-1", 3, &id), -ENOENT);
	assert_int_equal(txq_head(f->q, "CP-1", 100, &m), 0);
}

/* After StartTransaction.conf, StopTransaction and MeterValues carry the CSMS's transactionId,
 * whatever the sender put there; the entry goes when the StopTransaction is acked. */
static void
test_substitution(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	int64_t start, mv1, mv2, stop, start2, id = 0, ref = 0;
	json_t *p;

	reopen(f, 0);
	start = push_start(f->q, "CP-1", 41, 0);
	mv1 = push_mv(f->q, "CP-1", 41, 1, true, 10);
	p = mv_payload(2, "Sample.Clock", false); /* no transactionId at all */
	assert_int_equal(txq_push(f->q, "CP-1", "MeterValues", p, 41, false, 20, &mv2), 0);
	json_decref(p);
	stop = push(f->q, "CP-1", "StopTransaction", stop_payload(999), 41, false, 30);
	start2 = push_start(f->q, "CP-1", 42, 40); /* the next transaction, queued behind */

	m = head(f->q, "CP-1", 100, "StartTransaction", start);
	json_decref(m.payload);
	ack_start(f->q, start, 4711);
	assert_int_equal(txq_transaction_id(f->q, "CP-1", 41, &id), 0);
	assert_int_equal(id, 4711);
	assert_int_equal(txq_tx_ref(f->q, "CP-1", 4711, &ref), 0);
	assert_int_equal(ref, 41);
	assert_int_equal(txq_tx_ref(f->q, "CP-2", 4711, &ref), -ENOENT);

	m = head(f->q, "CP-1", 100, "MeterValues", mv1);
	assert_int_equal(txid_of(&m), 4711);
	json_decref(m.payload);
	ack_empty(f->q, mv1);
	m = head(f->q, "CP-1", 100, "MeterValues", mv2);
	assert_int_equal(txid_of(&m), 4711);
	assert_int_equal(mv_index(&m), 2);
	json_decref(m.payload);
	ack_empty(f->q, mv2);
	m = head(f->q, "CP-1", 100, "StopTransaction", stop);
	assert_int_equal(txid_of(&m), 4711);
	assert_int_equal(json_integer_value(json_object_get(m.payload, "meterStop")), 4321);
	assert_string_equal(json_string_value(json_object_get(m.payload, "reason")),
	                    "EVDisconnected");
	json_decref(m.payload);
	ack_empty(f->q, stop);
	assert_int_equal(txq_transaction_id(f->q, "CP-1", 41, &id), -ENOENT);
	assert_int_equal(txq_tx_ref(f->q, "CP-1", 4711, &ref), -ENOENT);

	p = mv_payload(3, "Sample.Periodic", true);
	assert_int_equal(txq_push(f->q, "CP-1", "MeterValues", p, 41, true, 50, NULL), -ENOENT);
	json_decref(p);
	json_decref(head(f->q, "CP-1", 100, "StartTransaction", start2).payload);
}

/* Arguments and sequences the queue refuses, leaving it unchanged. */
static void
test_rejects(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	struct txq_stats s;
	json_t *p = start_payload(1), *mv = mv_payload(1, "Sample.Periodic", true);
	json_t *arr = json_array(), *bad = json_pack("{s:s}", "transactionId", "x");
	int64_t start;

	reopen(f, 0);
	assert_int_equal(txq_push(f->q, "CP-1", "StartTransaction", p, 0, false, 0, NULL), -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", "StartTransaction", p, -3, false, 0, NULL),
	                 -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", "Heartbeat", p, 1, false, 0, NULL), -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", NULL, p, 1, false, 0, NULL), -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", "StartTransaction", p, 1, true, 0, NULL), -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", "StartTransaction", arr, 1, false, 0, NULL),
	                 -EINVAL);
	assert_int_equal(txq_push(f->q, "", "StartTransaction", p, 1, false, 0, NULL), -EINVAL);
	assert_int_equal(txq_push(f->q, "CP-1", "MeterValues", mv, 1, true, 0, NULL), -ENOENT);
	assert_int_equal(txq_push(f->q, "CP-1", "StopTransaction", p, 1, false, 0, NULL), -ENOENT);

	start = push_start(f->q, "CP-1", 1, 0);
	assert_int_equal(txq_push(f->q, "CP-1", "StartTransaction", p, 1, false, 0, NULL), -EEXIST);
	push_stop(f->q, "CP-1", 1, 0);
	assert_int_equal(txq_push(f->q, "CP-1", "MeterValues", mv, 1, true, 0, NULL), -ENOENT);
	assert_int_equal(txq_push(f->q, "CP-1", "StopTransaction", p, 1, false, 0, NULL), -ENOENT);

	/* A StartTransaction.conf without a usable transactionId leaves the message queued. */
	assert_int_equal(txq_ack(f->q, start, NULL), -EBADMSG);
	assert_int_equal(txq_ack(f->q, start, bad), -EBADMSG);
	assert_int_equal(txq_ack(f->q, 999999, NULL), -ENOENT);
	json_decref(head(f->q, "CP-1", 0, "StartTransaction", start).payload);
	assert_int_equal(txq_head(f->q, "", 0, &m), -EINVAL);
	stats(f->q, "CP-1", &s);
	assert_int_equal(s.depth, 2);
	assert_int_equal(s.dropped, 0);

	json_decref(p);
	json_decref(mv);
	json_decref(arr);
	json_decref(bad);
}

/* Close and reopen (a restart): the same messages, attempts, retry times, map and counters; seqs
 * keep increasing even after the queue was empty. */
static void
test_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	struct txq_stats a1, b1, all1, a2, b2, all2;
	int64_t sa, sb, mva, mvb, mva3, id = 0;

	reopen(f, 0);
	sa = push_start(f->q, "CP-A", 1, 0);
	sb = push_start(f->q, "CP-B", 5, 0);
	mva = push_mv(f->q, "CP-A", 1, 1, true, 500);
	mvb = push_mv(f->q, "CP-B", 5, 2, false, 500);
	mva3 = push_mv(f->q, "CP-A", 1, 3, true, 600);
	ack_start(f->q, sa, 7);
	assert_int_equal(txq_fail(f->q, mva, 900, 2, 3), 0);
	assert_int_equal(txq_fail(f->q, mva, 4000, 2, 3), 1); /* dropped: counted */
	assert_int_equal(txq_fail(f->q, sb, 1000, 5, 30), 0);
	stats(f->q, "CP-A", &a1);
	stats(f->q, "CP-B", &b1);
	stats(f->q, NULL, &all1);

	reopen(f, 0);
	stats(f->q, "CP-A", &a2);
	stats(f->q, "CP-B", &b2);
	stats(f->q, NULL, &all2);
	assert_memory_equal(&a1, &a2, sizeof(a1));
	assert_memory_equal(&b1, &b2, sizeof(b1));
	assert_memory_equal(&all1, &all2, sizeof(all1));
	assert_int_equal(a2.depth, 1);
	assert_int_equal(a2.dropped, 1);
	assert_int_equal(b2.depth, 2);
	assert_int_equal(all2.depth, 3);
	assert_int_equal(all2.dropped, 1);
	assert_int_equal(all2.bytes, a2.bytes + b2.bytes);
	assert_int_equal(txq_transaction_id(f->q, "CP-A", 1, &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(txq_transaction_id(f->q, "CP-B", 5, &id), -EAGAIN);

	m = head(f->q, "CP-A", 5000, "MeterValues", 0);
	assert_int_equal(mv_index(&m), 3);
	assert_int_equal(txid_of(&m), 7);
	ack_empty(f->q, m.seq);
	json_decref(m.payload);
	assert_int_equal(txq_head(f->q, "CP-B", 30999, &m), -EAGAIN);
	assert_int_equal(m.not_before_ms, 31000);
	m = head(f->q, "CP-B", 31000, "StartTransaction", sb);
	assert_int_equal(m.attempts, 1);
	json_decref(m.payload);
	ack_start(f->q, sb, 8);
	m = head(f->q, "CP-B", 31000, "MeterValues", mvb);
	assert_int_equal(txid_of(&m), 8);
	ack_empty(f->q, m.seq);
	json_decref(m.payload);
	stats(f->q, NULL, &all2);
	assert_int_equal(all2.depth, 0);
	assert_int_equal(all2.bytes, 0);

	reopen(f, 0);
	assert_true(push_mv(f->q, "CP-B", 5, 4, true, 40000) > mva3); /* not max(seq) + 1 */
}

/* Collects cp's queue by acking everything: actions, tx_refs, periodic flags and the
 * MeterValues' indices (-1 for other messages). Returns the count. */
static int
drain(struct txq *q, const char *cp, char kinds[], int64_t refs[], int idx[], int max)
{
	struct txq_msg m;
	int n = 0;

	while (txq_head(q, cp, T_LATE, &m) == 1) {
		assert_true(n < max);
		kinds[n] = m.action[0] == 'M'   ? (m.periodic ? 'P' : 'C')
		           : m.action[2] == 'a' ? 'S'
		                                : 'E';
		refs[n] = m.tx_ref;
		idx[n] = kinds[n] == 'P' || kinds[n] == 'C' ? mv_index(&m) : -1;
		if (kinds[n] == 'S')
			ack_start(q, m.seq, m.tx_ref * 10);
		else
			ack_empty(q, m.seq);
		json_decref(m.payload);
		n++;
	}
	return n;
}

/* Over the limit, whole transactions lose every second periodic MeterValues, the least halved
 * and oldest first; StartTransaction, StopTransaction and other MeterValues stay. */
static void
test_thinning(void **state)
{
	struct fixture *f = *state;
	struct txq_stats s;
	uint64_t t, m1, limit;
	char kinds[128];
	int64_t refs[128];
	int idx[128], n, pa = 0, pb = 0, ca = 0, starts = 0, stops = 0;

	reopen(f, 0);
	/* Transaction 1 (older): 16 periodic, 1 clock-aligned, stopped. Transaction 2: 16 periodic.
	 */
	push_start(f->q, "CP-T", 1, 0);
	for (int i = 0; i < 16; i++)
		push_mv(f->q, "CP-T", 1, i, true, 1 + i);
	push_mv(f->q, "CP-T", 1, 100, false, 20);
	push_stop(f->q, "CP-T", 1, 30);
	push_start(f->q, "CP-T", 2, 40);
	for (int i = 0; i < 16; i++)
		push_mv(f->q, "CP-T", 2, 200 + i, true, 41 + i);
	stats(f->q, NULL, &s);
	t = s.bytes;
	push_mv(f->q, "CP-T", 2, 216, true, 60);
	stats(f->q, NULL, &s);
	m1 = s.bytes - t; /* one periodic MeterValues */

	/* One more periodic than fits: transaction 1 is halved (8 of its 16 go). */
	limit = t + m1;
	reopen(f, limit);
	push_mv(f->q, "CP-T", 2, 217, true, 70);
	stats(f->q, "CP-T", &s);
	assert_int_equal(s.thinned, 8);
	assert_int_equal(s.dropped, 0);
	assert_int_equal(s.depth, 1 + 8 + 1 + 1 + 1 + 18);
	assert_true(s.bytes <= limit);

	/* Fill again: now transaction 2 (halved 0 times) goes before transaction 1 is halved twice.
	 */
	for (int i = 0; i < 8; i++)
		push_mv(f->q, "CP-T", 2, 218 + i, true, 80 + i);
	stats(f->q, "CP-T", &s);
	assert_int_equal(s.thinned, 8 + 13); /* transaction 2 had 26 periodic */
	assert_true(s.bytes <= limit);

	n = drain(f->q, "CP-T", kinds, refs, idx, 128);
	for (int i = 0; i < n; i++) {
		if (kinds[i] == 'S')
			starts++;
		else if (kinds[i] == 'E')
			stops++;
		else if (kinds[i] == 'C')
			ca++;
		else if (refs[i] == 1)
			assert_int_equal(idx[i],
			                 2 * pa++); /* every second one kept, the first too */
		else
			assert_int_equal(idx[i], 200 + 2 * pb++);
	}
	assert_int_equal(starts, 2);
	assert_int_equal(stops, 1);
	assert_int_equal(ca, 1);
	assert_int_equal(pa, 8);
	assert_int_equal(pb, 13);
	assert_int_equal(kinds[0], 'S');
	assert_int_equal(kinds[1 + 8 + 1], 'E');
}

/* When only what is never thinned is left, pushes still succeed (bounded by the disk), and each
 * transaction keeps one periodic sample. */
static void
test_thinning_floor(void **state)
{
	struct fixture *f = *state;
	struct txq_stats s;
	char kinds[64];
	int64_t refs[64];
	int idx[64], n, periodic = 0;

	reopen(f, 1);
	for (int64_t tx = 1; tx <= 3; tx++) {
		push_start(f->q, "CP-F", tx, 0);
		for (int i = 0; i < 5; i++)
			push_mv(f->q, "CP-F", tx, i, true, 1);
		push_mv(f->q, "CP-F", tx, 50, false, 1);
		push_stop(f->q, "CP-F", tx, 2);
	}
	stats(f->q, "CP-F", &s);
	assert_int_equal(s.thinned, 3 * 4);
	assert_int_equal(s.depth, 3 * 4);
	n = drain(f->q, "CP-F", kinds, refs, idx, 64);
	assert_int_equal(n, 12);
	for (int i = 0; i < n; i++) {
		assert_int_equal(kinds[i], "SPCE"[i % 4]);
		assert_int_equal(refs[i], 1 + i / 4);
		if (kinds[i] == 'P') {
			assert_int_equal(idx[i], 0);
			periodic++;
		}
	}
	assert_int_equal(periodic, 3);
}

/* Runs one SQL statement on the file behind the queue's back (to damage it on purpose). */
static void
poke(const char *db, const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* A StopTransaction or MeterValues at the head whose transaction has no transactionId, or an
 * unreadable payload, is never handed out with an invented id and does not block the queue. */
static void
test_guard_head(void **state)
{
	struct fixture *f = *state;
	struct txq_msg m;
	struct txq_stats s;
	int64_t start, mv, stop, id = 0;
	char sql[128];

	reopen(f, 0);
	start = push_start(f->q, "CP-G", 1, 0);
	push_mv(f->q, "CP-G", 1, 1, true, 1);
	push_mv(f->q, "CP-G", 1, 2, true, 2);
	stop = push_stop(f->q, "CP-G", 1, 3);
	ack_start(f->q, start, 12);

	poke(f->db, "UPDATE txq_tx SET transaction_id = NULL");
	snprintf(sql, sizeof(sql), "UPDATE txq_msg SET payload = '{' WHERE seq = %" PRId64, stop);
	poke(f->db, sql);
	/* The MeterValues have no transactionId now, the StopTransaction is unreadable: all
	 * dropped. */
	assert_int_equal(txq_head(f->q, "CP-G", T_LATE, &m), 0);
	assert_null(m.payload);
	stats(f->q, "CP-G", &s);
	assert_int_equal(s.depth, 0);
	assert_int_equal(s.dropped, 3);
	assert_int_equal(txq_transaction_id(f->q, "CP-G", 1, &id), -ENOENT);

	/* No map entry at all: the same. */
	start = push_start(f->q, "CP-G", 2, 10);
	mv = push_mv(f->q, "CP-G", 2, 3, false, 11);
	ack_start(f->q, start, 13);
	poke(f->db, "DELETE FROM txq_tx");
	push_start(f->q, "CP-G", 3, 12);
	m = head(f->q, "CP-G", T_LATE, "StartTransaction", 0);
	assert_int_equal(m.tx_ref, 3);
	assert_true(m.seq > mv);
	json_decref(m.payload);
	stats(f->q, "CP-G", &s);
	assert_int_equal(s.dropped, 4);
	assert_int_equal(s.depth, 1);
}

/* 500 charge points with a transaction each, and one charge point with 1,000 messages. */
static void
test_scale(void **state)
{
	struct fixture *f = *state;
	char cp[32];
	struct txq_msg m;
	struct txq_stats s;
	int64_t seq;

	reopen(f, 0);
	for (int c = 0; c < 500; c++) {
		snprintf(cp, sizeof(cp), "CP-%03d", c);
		push_start(f->q, cp, 1, c);
	}
	seq = push_start(f->q, "CP-DEEP", 1, 0);
	for (int i = 0; i < 998; i++)
		push_mv(f->q, "CP-DEEP", 1, i, i % 4 != 0, 1 + i);
	push_stop(f->q, "CP-DEEP", 1, 2000);
	stats(f->q, NULL, &s);
	assert_int_equal(s.depth, 1500);
	stats(f->q, "CP-DEEP", &s);
	assert_int_equal(s.depth, 1000);
	assert_int_equal(txq_stats(f->q, "CP-DEEP", 3000, &s), 0);
	assert_int_equal(s.oldest_age_ms, 3000);

	for (int c = 499; c >= 0; c--) {
		snprintf(cp, sizeof(cp), "CP-%03d", c);
		m = head(f->q, cp, T_LATE, "StartTransaction", 0);
		assert_int_equal(m.queued_ms, c);
		json_decref(m.payload);
	}
	m = head(f->q, "CP-DEEP", T_LATE, "StartTransaction", seq);
	json_decref(m.payload);
	ack_start(f->q, seq, 1);
	for (int i = 0; i < 998; i++) {
		m = head(f->q, "CP-DEEP", T_LATE, "MeterValues", 0);
		assert_true(m.seq > seq);
		assert_int_equal(mv_index(&m), i);
		seq = m.seq;
		ack_empty(f->q, seq);
		json_decref(m.payload);
	}
	json_decref(head(f->q, "CP-DEEP", T_LATE, "StopTransaction", 0).payload);
}

/* The child: pushes a StartTransaction and 999 MeterValues and reports each seq once txq_push
 * returned. Exits 2 on any failure; normally dies by SIGKILL first. */
static void
kill9_child(const char *db, int fd)
{
	struct txq *q = NULL;
	int64_t seq;
	json_t *p;

	if (txq_open(db, 0, &q) < 0)
		_exit(2);
	for (int i = 0; i < 1000; i++) {
		p = i == 0 ? start_payload(1) : mv_payload(i, "Sample.Periodic", true);
		if (txq_push(q, "CP-K", i == 0 ? "StartTransaction" : "MeterValues", p, 1, i > 0, i,
		             &seq) < 0)
			_exit(2);
		json_decref(p);
		if (write(fd, &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
			_exit(2);
	}
	_exit(0);
}

static void
integrity_ok(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* kill -9 at a random point: every seq whose push returned is there, in order, with its
 * content; at most the push in progress may have landed too; the file is intact. */
static void
test_kill9(void **state)
{
	struct fixture *f = *state;
	static int64_t reported[1000];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int fds[2], status, n = 0, k, got;
	struct txq_msg m;
	int64_t seq;
	ssize_t r;
	pid_t pid;

	srand(seed);
	k = 1 + rand() % 998;
	print_message("kill -9 after %d reported pushes (seed %u)\n", k, seed);
	txq_close(f->q); /* the child gets no inherited connection */
	f->q = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		kill9_child(f->db, fds[1]);
	}
	close(fds[1]);
	while ((r = read(fds[0], &seq, sizeof(seq))) == (ssize_t)sizeof(seq)) {
		assert_true(n < 1000);
		reported[n++] = seq;
		if (n == k)
			kill(pid, SIGKILL);
	}
	assert_int_equal(r, 0); /* EOF: the child is gone, nothing was torn */
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	            (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	assert_true(n >= k);

	integrity_ok(f->db);
	reopen(f, 0);
	got = 0;
	while (txq_head(f->q, "CP-K", T_LATE, &m) == 1) {
		if (got < n)
			assert_int_equal(m.seq, reported[got]);
		if (got == 0) {
			assert_string_equal(m.action, "StartTransaction");
			ack_start(f->q, m.seq, 77);
		} else {
			assert_int_equal(mv_index(&m), got);
			assert_int_equal(txid_of(&m), 77);
			ack_empty(f->q, m.seq);
		}
		json_decref(m.payload);
		got++;
	}
	assert_true(got == n || got == n + 1);
	print_message("%d pushes reported, %d found\n", n, got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_interleaved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_timing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_moves_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dropped_start_minus_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_substitution, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thinning, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thinning_floor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	};

	sg_log_init("test_txqueue", SG_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
