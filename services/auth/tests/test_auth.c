/* The decision tables of sitegate-auth and the flow of one auth_request,
 * without a broker: every row of OCPP 1.6 3.5 (local list, cache, unknown
 * idTags, LocalPreAuthorize, LocalAuthorizeOffline, AllowOfflineTxForUnknownId,
 * expiry), stopping with a parentIdTag, reservations on a start, and what a
 * refused StartTransaction does to the transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

#define NOW   1800000000000LL /* 2027-01-15 */
#define HOUR  3600000LL
#define START AUTH_START

enum kind { NONE, LIST, CACHE };

/* One charge point's data for a test: a list, a cache, reservations, connectors. */
struct world {
	struct auth_keys keys;
	struct auth_list list;
	struct auth_cache cache;
	struct auth_resvs resvs;
	enum auth_conn_status conns[4];
	bool online;
};

static void
world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->keys = (struct auth_keys){.list_enabled = true,
	                             .cache_enabled = true,
	                             .stop_on_invalid = true,
	                             .zero_supported = true};
	auth_cache_init(&w->cache, 100);
	for (int i = 0; i < 4; i++)
		w->conns[i] = AUTH_CONN_AVAILABLE;
	w->online = true;
}

static void
world_fini(struct world *w)
{
	auth_list_fini(&w->list);
	auth_cache_fini(&w->cache);
	auth_resvs_fini(&w->resvs);
}

static struct auth_info
info(enum auth_status st, int64_t expiry, const char *parent)
{
	struct auth_info i = {.status = st, .expiry = expiry};

	snprintf(i.parent, sizeof(i.parent), "%s", parent ? parent : "");
	return i;
}

static void
put(struct world *w, enum kind k, const char *id, struct auth_info i)
{
	char evicted[AUTH_ID_MAX + 1];

	if (k == LIST)
		assert_int_equal(auth_list_load(&w->list, id, &i), 0);
	else if (k == CACHE)
		assert_int_equal(auth_cache_learn(&w->cache, id, &i, NOW - HOUR, evicted), 0);
	w->list.version = 1;
}

static struct auth_ctx
ctx_of(struct world *w)
{
	return (struct auth_ctx){.keys = &w->keys,
	                         .list = &w->list,
	                         .cache = &w->cache,
	                         .resvs = &w->resvs,
	                         .conns = w->conns,
	                         .n_conns = 3,
	                         .online = w->online,
	                         .now = NOW};
}

/* ---- lookups ------------------------------------------------------------- */

static void
test_lookup_priority(void **state)
{
	struct world w;
	struct auth_local l;

	world_init(&w);
	put(&w, LIST, "TAG1", info(AUTH_BLOCKED, 0, "P1"));
	put(&w, CACHE, "tag1", info(AUTH_ACCEPTED, 0, "P2")); /* CiString: the same idTag */
	put(&w, CACHE, "TAG2", info(AUTH_ACCEPTED, NOW - 1, NULL));

	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "Tag1", NOW, true);
	assert_int_equal(l.src, AUTH_SRC_LIST);
	assert_int_equal(l.status, AUTH_BLOCKED);
	assert_string_equal(l.parent, "P1");

	w.keys.list_enabled = false; /* a disabled list is not consulted */
	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG1", NOW, true);
	assert_int_equal(l.src, AUTH_SRC_CACHE);
	assert_int_equal(l.status, AUTH_ACCEPTED);
	assert_string_equal(l.parent, "P2");

	/* an Accepted entry past its expiryDate is Expired */
	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG2", NOW, false);
	assert_int_equal(l.status, AUTH_EXPIRED);
	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG2", NOW - 2, false);
	assert_int_equal(l.status, AUTH_ACCEPTED);

	w.keys.cache_enabled = false;
	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG1", NOW, true);
	assert_int_equal(l.src, AUTH_SRC_NONE);
	world_fini(&w);
}

/* ---- the start table ------------------------------------------------------ */

struct row {
	bool online;
	enum kind kind;
	enum auth_status status;
	bool expired;              /* the entry's expiryDate has passed */
	bool lpa, lao, unknown_ok; /* LocalPreAuthorize, LocalAuthorizeOffline,
	                              AllowOfflineTxForUnknownId */
	enum auth_step step;
	enum auth_status want;
	enum auth_source src;
};

#define A   AUTH_ACCEPTED
#define B   AUTH_BLOCKED
#define E   AUTH_EXPIRED
#define I   AUTH_INVALID
#define C   AUTH_CONCURRENT_TX
#define ASK AUTH_ASK
#define DON AUTH_DONE
#define SL  AUTH_SRC_LIST
#define SC  AUTH_SRC_CACHE
#define SU  AUTH_SRC_UNKNOWN
#define SX  AUTH_SRC_CSMS

static const struct row start_rows[] = {
    /* online: the Central System decides, unless LocalPreAuthorize may start at once */
    {true, NONE, A, false, true, true, true, ASK, I, SX},
    {true, LIST, A, false, true, false, false, DON, A, SL},
    {true, CACHE, A, false, true, false, false, DON, A, SC},
    {true, LIST, A, false, false, true, true, ASK, I, SX},
    {true, CACHE, A, false, false, true, true, ASK, I, SX},
    {true, CACHE, B, false, true, true, true, ASK, I, SX},
    {true, LIST, I, false, true, true, true, ASK, I, SX},
    {true, CACHE, A, true, true, true, true, ASK, I, SX}, /* expired: ask again */
    {true, LIST, C, false, true, true, true, ASK, I, SX},
    /* offline: unknown idTags */
    {false, NONE, A, false, true, true, false, DON, I, SU},
    {false, NONE, A, false, false, false, true, DON, A, SU},
    {false, NONE, A, false, true, true, true, DON, A, SU},
    /* offline: known Accepted */
    {false, LIST, A, false, false, true, false, DON, A, SL},
    {false, CACHE, A, false, false, true, false, DON, A, SC},
    {false, CACHE, A, false, true, false, false, DON, I, SU},
    {false, LIST, A, false, false, false, true, DON, A, SU}, /* not usable: as unknown */
    {false, CACHE, A, false, true, false, true, DON, A, SU},
    /* offline: known, not valid: never, whatever the keys */
    {false, LIST, B, false, true, true, true, DON, B, SL},
    {false, CACHE, B, false, true, true, true, DON, B, SC},
    {false, CACHE, E, false, true, true, true, DON, E, SC},
    {false, LIST, I, false, true, true, true, DON, I, SL},
    {false, CACHE, I, false, false, false, true, DON, I, SC},
    {false, LIST, C, false, true, true, true, DON, C, SL},
    {false, CACHE, A, true, true, true, true, DON, E, SC}, /* Accepted, but past expiryDate */
    {false, LIST, A, true, false, false, true, DON, E, SL},
};

static void
test_start_table(void **state)
{
	for (size_t i = 0; i < sizeof(start_rows) / sizeof(start_rows[0]); i++) {
		const struct row *r = &start_rows[i];
		struct world w;
		struct auth_local l;
		struct auth_verdict v;

		world_init(&w);
		w.keys.pre_authorize = r->lpa;
		w.keys.authorize_offline = r->lao;
		w.keys.allow_unknown_offline = r->unknown_ok;
		put(&w, r->kind, "TAG", info(r->status, r->expired ? NOW - 1000 : NOW + HOUR, "P"));
		l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG", NOW, true);
		v = auth_decide_start(&w.keys, START, r->online, &l);
		if (v.step != r->step ||
		    (v.step == AUTH_DONE && (v.status != r->want || v.src != r->src))) {
			fail_msg("row %zu: got step %d status %s source %s", i, v.step,
			         auth_status_name(v.status), auth_source_name(v.src));
		}
		assert_true(v.step == AUTH_ASK || v.offline || v.src == AUTH_SRC_CSMS);
		world_fini(&w);
	}
}

/* Every combination, against rules that must always hold. */
static void
test_start_invariants(void **state)
{
	int n = 0;

	for (int m = 0; m < 2 * 3 * 5 * 2 * 8; m++) {
		bool online = m & 1, expired = (m >> 1) & 1;
		enum kind kind = (enum kind)((m >> 2) % 3);
		enum auth_status st = (enum auth_status)((m / 12) % 5);
		int keys = (m / 60) % 8;
		struct world w;
		struct auth_local l;
		struct auth_verdict v;

		world_init(&w);
		w.keys.pre_authorize = keys & 1;
		w.keys.authorize_offline = keys & 2;
		w.keys.allow_unknown_offline = keys & 4;
		put(&w, kind, "TAG", info(st, expired ? NOW - 1 : 0, NULL));
		l = auth_local_lookup(&w.keys, &w.list, &w.cache, "TAG", NOW, false);
		v = auth_decide_start(&w.keys, START, online, &l);
		if (online) {
			/* online, nothing is refused without the Central System */
			assert_true(v.step == AUTH_ASK || v.status == AUTH_ACCEPTED);
			if (!w.keys.pre_authorize)
				assert_int_equal(v.step, AUTH_ASK);
		} else {
			assert_int_equal(v.step, AUTH_DONE);
			if (kind != NONE &&
			    auth_info_effective(
			        &(struct auth_info){.status = st, .expiry = expired ? NOW - 1 : 0},
			        NOW) != AUTH_ACCEPTED)
				assert_int_not_equal(v.status, AUTH_ACCEPTED);
			if (!w.keys.authorize_offline && !w.keys.allow_unknown_offline)
				assert_int_not_equal(v.status, AUTH_ACCEPTED);
			if (v.status == AUTH_ACCEPTED && v.src != AUTH_SRC_UNKNOWN)
				assert_true(w.keys.authorize_offline);
			assert_true(v.offline);
		}
		world_fini(&w);
		n++;
	}
	assert_int_equal(n, 480);
}

static void
test_remote(void **state)
{
	struct world w;
	struct auth_local l;
	struct auth_verdict v;

	world_init(&w);
	l = auth_local_lookup(&w.keys, &w.list, &w.cache, "STRANGER", NOW, false);
	/* AuthorizeRemoteTxRequests false: accepted without asking, online or not */
	v = auth_decide_start(&w.keys, AUTH_REMOTE, true, &l);
	assert_int_equal(v.step, AUTH_DONE);
	assert_int_equal(v.status, AUTH_ACCEPTED);
	assert_int_equal(v.src, AUTH_SRC_REMOTE);
	v = auth_decide_start(&w.keys, AUTH_REMOTE, false, &l);
	assert_int_equal(v.status, AUTH_ACCEPTED);
	/* true: like a local start */
	w.keys.authorize_remote = true;
	v = auth_decide_start(&w.keys, AUTH_REMOTE, true, &l);
	assert_int_equal(v.step, AUTH_ASK);
	v = auth_decide_start(&w.keys, AUTH_REMOTE, false, &l);
	assert_int_equal(v.status, AUTH_INVALID);
	world_fini(&w);
}

static void
test_answer(void **state)
{
	struct auth_info i = info(AUTH_ACCEPTED, NOW + HOUR, "P");
	struct auth_verdict v = auth_decide_answer(&i, NOW);

	assert_int_equal(v.status, AUTH_ACCEPTED);
	assert_int_equal(v.src, AUTH_SRC_CSMS);
	assert_false(v.offline);
	i.expiry = NOW - 1;
	assert_int_equal(auth_decide_answer(&i, NOW).status, AUTH_EXPIRED);
	i = info(AUTH_BLOCKED, 0, NULL);
	assert_int_equal(auth_decide_answer(&i, NOW).status, AUTH_BLOCKED);
}

static void
test_stop_allowed(void **state)
{
	assert_true(auth_stop_allowed(AUTH_ACCEPTED, "GROUP", "group"));
	assert_true(auth_stop_allowed(AUTH_CONCURRENT_TX, "GROUP", "GROUP"));
	assert_false(auth_stop_allowed(AUTH_BLOCKED, "GROUP", "GROUP"));
	assert_false(auth_stop_allowed(AUTH_EXPIRED, "GROUP", "GROUP"));
	assert_false(auth_stop_allowed(AUTH_ACCEPTED, "GROUP", "OTHER"));
	assert_false(auth_stop_allowed(AUTH_ACCEPTED, "", ""));
	assert_false(auth_stop_allowed(AUTH_ACCEPTED, "GROUP", ""));
}

static void
test_invalid_tx(void **state)
{
	struct auth_keys k = {.stop_on_invalid = true};

	assert_int_equal(auth_decide_invalid_tx(&k, true, 0), AUTH_TX_STOP);
	assert_int_equal(auth_decide_invalid_tx(&k, false, 0), AUTH_TX_STOP);
	k.stop_on_invalid = false;
	assert_int_equal(auth_decide_invalid_tx(&k, true, 5000), AUTH_TX_SUSPEND);
	k.max_energy_wh = 1000;
	assert_int_equal(auth_decide_invalid_tx(&k, false, 0), AUTH_TX_WATCH);
	assert_int_equal(auth_decide_invalid_tx(&k, true, 999.9), AUTH_TX_WATCH);
	assert_int_equal(auth_decide_invalid_tx(&k, true, 1000), AUTH_TX_SUSPEND);
	k.stop_on_invalid = true;
	assert_int_equal(auth_decide_invalid_tx(&k, true, 1500), AUTH_TX_STOP);
	assert_string_equal(auth_tx_action_name(AUTH_TX_SUSPEND), "suspend");
}

/* ---- the flow ------------------------------------------------------------ */

static void
begin(struct world *w, struct auth_flow *f, enum auth_purpose p, int conn, const char *id,
      const char *tx_id, const char *tx_parent, struct auth_flow_out *out)
{
	struct auth_ctx ctx = ctx_of(w);

	auth_flow_begin(f, &ctx, p, conn, id, tx_id, tx_parent, out);
}

static void
answer(struct world *w, struct auth_flow *f, const struct auth_info *i, struct auth_flow_out *out)
{
	struct auth_ctx ctx = ctx_of(w);

	auth_flow_answer(f, &ctx, i, out);
}

static void
test_flow_start(void **state)
{
	struct world w;
	struct auth_flow f;
	struct auth_flow_out out;
	struct auth_info i = info(AUTH_ACCEPTED, 0, "FLEET");

	world_init(&w);
	begin(&w, &f, START, 1, "TAG", NULL, NULL, &out);
	assert_false(out.done);
	assert_string_equal(out.ask, "TAG");
	answer(&w, &f, &i, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.src, AUTH_SRC_CSMS);
	assert_string_equal(out.parent, "FLEET");
	assert_false(out.offline);
	assert_int_equal(out.resv_id, 0);

	/* the Central System could not be asked: the offline rules, with what is known */
	put(&w, CACHE, "KNOWN", info(AUTH_ACCEPTED, 0, "FLEET"));
	w.keys.authorize_offline = true;
	begin(&w, &f, START, 1, "KNOWN", NULL, NULL, &out);
	assert_false(out.done);
	answer(&w, &f, NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.src, AUTH_SRC_CACHE);
	assert_true(out.offline);
	assert_string_equal(out.parent, "FLEET");

	begin(&w, &f, START, 1, "STRANGER", NULL, NULL, &out);
	answer(&w, &f, NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	assert_int_equal(out.src, AUTH_SRC_UNKNOWN);

	/* offline already known: no question */
	w.online = false;
	begin(&w, &f, START, 1, "KNOWN", NULL, NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	world_fini(&w);
}

static void
test_flow_stop(void **state)
{
	struct world w;
	struct auth_flow f;
	struct auth_flow_out out;
	struct auth_info i;

	world_init(&w);
	w.keys.pre_authorize = true;

	/* the idTag that started it: always, without asking */
	w.online = false;
	begin(&w, &f, AUTH_STOP, 1, "owner", "OWNER", NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.src, AUTH_SRC_TX_TAG);
	w.online = true;

	/* both on the list with the same parent: decided locally */
	put(&w, LIST, "A", info(AUTH_ACCEPTED, 0, "FAMILY"));
	put(&w, LIST, "B", info(AUTH_ACCEPTED, 0, "family"));
	put(&w, LIST, "C", info(AUTH_ACCEPTED, 0, "OTHER"));
	put(&w, LIST, "D", info(AUTH_ACCEPTED, 0, NULL));
	put(&w, LIST, "E", info(AUTH_BLOCKED, 0, "FAMILY"));
	begin(&w, &f, AUTH_STOP, 1, "B", "A", NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.src, AUTH_SRC_LIST);
	assert_string_equal(out.parent, "family");
	begin(&w, &f, AUTH_STOP, 1, "C", "A", NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	begin(&w, &f, AUTH_STOP, 1, "D", "A", NULL, &out); /* no parent at all */
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_INVALID);
	/* blocked on the list: online the Central System has the last word ... */
	begin(&w, &f, AUTH_STOP, 1, "E", "A", NULL, &out);
	assert_false(out.done);
	assert_string_equal(out.ask, "E");
	i = info(AUTH_BLOCKED, 0, "FAMILY");
	answer(&w, &f, &i, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_BLOCKED); /* ... and blocked, even in the family */

	/* the presented idTag is unknown: Authorize.req tells its parent */
	begin(&w, &f, AUTH_STOP, 1, "NEW", "A", NULL, &out);
	assert_false(out.done);
	assert_string_equal(out.ask, "NEW");
	i = info(AUTH_ACCEPTED, 0, "FAMILY");
	answer(&w, &f, &i, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.src, AUTH_SRC_CSMS);

	/* the transaction's idTag is unknown too: asked second */
	begin(&w, &f, AUTH_STOP, 1, "NEW", "OLD", NULL, &out);
	assert_string_equal(out.ask, "NEW");
	answer(&w, &f, &i, &out);
	assert_false(out.done);
	assert_string_equal(out.ask, "OLD");
	i = info(AUTH_ACCEPTED, 0, "Family");
	answer(&w, &f, &i, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_false(out.offline);

	/* ... unless the caller knows it (from StartTransaction.conf) */
	begin(&w, &f, AUTH_STOP, 1, "B", "OLD", "STRANGERS", &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_INVALID);

	/* offline: the list only when LocalAuthorizeOffline */
	w.online = false;
	begin(&w, &f, AUTH_STOP, 1, "B", "A", NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	w.keys.authorize_offline = true;
	begin(&w, &f, AUTH_STOP, 1, "B", "A", NULL, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_true(out.offline);
	/* an unknown idTag, even allowed to start offline, cannot stop another's */
	w.keys.allow_unknown_offline = true;
	begin(&w, &f, AUTH_STOP, 1, "NEW", "A", NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	/* no transaction idTag known: refused */
	begin(&w, &f, AUTH_STOP, 1, "B", "", NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	world_fini(&w);
}

static void
reserve(struct world *w, int64_t id, int conn, const char *tag, const char *parent)
{
	struct auth_resv r = {.id = id, .conn = conn, .expiry = NOW + HOUR};

	snprintf(r.id_tag, sizeof(r.id_tag), "%s", tag);
	snprintf(r.parent, sizeof(r.parent), "%s", parent ? parent : "");
	assert_int_equal(auth_resv_put(&w->resvs, &r), 0);
}

static void
test_flow_reservation(void **state)
{
	struct world w;
	struct auth_flow f;
	struct auth_flow_out out;
	struct auth_info i = info(AUTH_ACCEPTED, 0, NULL);

	world_init(&w);
	reserve(&w, 7, 1, "HOLDER", NULL);
	/* a stranger on the reserved connector: refused at once */
	begin(&w, &f, START, 1, "STRANGER", NULL, NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_INVALID);
	assert_int_equal(out.src, AUTH_SRC_RESERVATION);
	/* also by remote start without authorization */
	begin(&w, &f, AUTH_REMOTE, 1, "STRANGER", NULL, NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	/* the holder: authorized as usual, and the start consumes reservation 7 */
	begin(&w, &f, START, 1, "holder", NULL, NULL, &out);
	assert_false(out.done);
	answer(&w, &f, &i, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 7);
	/* the holder refused by the Central System: refused, nothing consumed */
	begin(&w, &f, START, 1, "HOLDER", NULL, NULL, &out);
	i.status = AUTH_BLOCKED;
	answer(&w, &f, &i, &out);
	assert_int_equal(out.status, AUTH_BLOCKED);
	assert_int_equal(out.resv_id, 0);
	/* other connectors are free */
	begin(&w, &f, AUTH_REMOTE, 2, "STRANGER", NULL, NULL, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 0);

	/* a reservation with a parentIdTag: the Central System tells the parent */
	reserve(&w, 8, 2, "LEADER", "TEAM");
	begin(&w, &f, START, 2, "MEMBER", NULL, NULL, &out);
	assert_false(out.done);
	i = info(AUTH_ACCEPTED, 0, "team");
	answer(&w, &f, &i, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 8);
	begin(&w, &f, START, 2, "OUTSIDER", NULL, NULL, &out);
	i = info(AUTH_ACCEPTED, 0, "ELSE");
	answer(&w, &f, &i, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	assert_int_equal(out.src, AUTH_SRC_RESERVATION);
	/* the parent known from the list: no question needed to refuse */
	put(&w, LIST, "LISTED", info(AUTH_ACCEPTED, 0, "ELSE"));
	begin(&w, &f, START, 2, "LISTED", NULL, NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.src, AUTH_SRC_RESERVATION);
	world_fini(&w);
}

static void
test_flow_reservation_zero(void **state)
{
	struct world w;
	struct auth_flow f;
	struct auth_flow_out out;
	struct auth_info i = info(AUTH_ACCEPTED, 0, NULL);

	world_init(&w);
	w.keys.pre_authorize = true;
	put(&w, LIST, "HOLDER", info(AUTH_ACCEPTED, 0, NULL));
	put(&w, LIST, "OTHER", info(AUTH_ACCEPTED, 0, NULL));
	w.conns[3] = AUTH_CONN_UNAVAILABLE; /* two usable connectors: 1 and 2 */
	reserve(&w, 9, 0, "HOLDER", NULL);
	/* one connector stays free for the holder: the first start is fine */
	begin(&w, &f, START, 1, "OTHER", NULL, NULL, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 0);
	w.conns[1] = AUTH_CONN_CHARGING;
	/* the last free one is kept */
	begin(&w, &f, START, 2, "OTHER", NULL, NULL, &out);
	assert_int_equal(out.status, AUTH_INVALID);
	assert_int_equal(out.src, AUTH_SRC_RESERVATION);
	/* the holder takes it and consumes the reservation */
	begin(&w, &f, START, 2, "HOLDER", NULL, NULL, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 9);
	/* unknown idTag: no parentIdTag could make it the holder, so no question */
	begin(&w, &f, START, 2, "NEWBIE", NULL, NULL, &out);
	assert_true(out.done);
	assert_int_equal(out.status, AUTH_INVALID);
	/* with a parent on the reservation, the Central System is asked for it */
	assert_true(auth_resv_remove(&w.resvs, 9, NULL));
	reserve(&w, 10, 0, "HOLDER", "CLUB");
	begin(&w, &f, START, 2, "NEWBIE", NULL, NULL, &out);
	assert_false(out.done);
	i = info(AUTH_ACCEPTED, 0, "CLUB");
	answer(&w, &f, &i, &out);
	assert_int_equal(out.status, AUTH_ACCEPTED);
	assert_int_equal(out.resv_id, 10);
	world_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup_priority),
	    cmocka_unit_test(test_start_table),
	    cmocka_unit_test(test_start_invariants),
	    cmocka_unit_test(test_remote),
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_stop_allowed),
	    cmocka_unit_test(test_invalid_tx),
	    cmocka_unit_test(test_flow_start),
	    cmocka_unit_test(test_flow_stop),
	    cmocka_unit_test(test_flow_reservation),
	    cmocka_unit_test(test_flow_reservation_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
