/* sitegate-auth's data: the idTag map, the authorization cache (bounded,
 * invalid entries first, then least recently used), the local list with the
 * rules of SendLocalList, and reservations with the rules of ReserveNow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

#define NOW  1800000000000LL
#define HOUR 3600000LL

static struct auth_info
info(enum auth_status st, int64_t expiry, const char *parent)
{
	struct auth_info i = {.status = st, .expiry = expiry};

	snprintf(i.parent, sizeof(i.parent), "%s", parent ? parent : "");
	return i;
}

/* ---- idTags and the map ------------------------------------------------------ */

static void
test_idtag(void **state)
{
	enum auth_status st;

	assert_true(auth_id_equal("abcDEF", "ABCdef"));
	assert_false(auth_id_equal("", ""));
	assert_false(auth_id_equal(NULL, "A"));
	assert_false(auth_id_equal("A", "AB"));
	assert_true(auth_id_valid("A"));
	assert_true(auth_id_valid("12345678901234567890"));
	assert_false(auth_id_valid("123456789012345678901"));
	assert_false(auth_id_valid(""));
	assert_false(auth_id_valid("tab\there"));
	assert_int_equal(auth_status_parse("ConcurrentTx", &st), 0);
	assert_int_equal(st, AUTH_CONCURRENT_TX);
	assert_int_equal(auth_status_parse("accepted", &st), -EINVAL);
	assert_string_equal(auth_status_name(AUTH_EXPIRED), "Expired");
}

static void
test_tagmap(void **state)
{
	struct auth_tagmap m = {0};
	struct auth_info i = info(AUTH_ACCEPTED, 0, NULL);
	char id[AUTH_ID_MAX + 1];
	size_t n = 0, it;

	assert_null(auth_tagmap_get(&m, "X"));
	for (int k = 0; k < 10000; k++) {
		snprintf(id, sizeof(id), "tag%05d", k);
		assert_int_equal(auth_tagmap_insert(&m, auth_tag_new(id, &i)), 0);
	}
	assert_int_equal(m.count, 10000);
	assert_true(m.n_buckets >= 10000);
	assert_non_null(auth_tagmap_get(&m, "TAG04711"));
	assert_null(auth_tagmap_get(&m, "TAG10000"));
	for (struct auth_tag *t = auth_tagmap_first(&m, &it); t; t = auth_tagmap_next(&m, &it, t))
		n++;
	assert_int_equal(n, 10000);
	struct auth_tag *t = auth_tagmap_get(&m, "tag00042");
	auth_tagmap_remove(&m, t);
	free(t);
	assert_null(auth_tagmap_get(&m, "TAG00042"));
	assert_int_equal(m.count, 9999);
	auth_tagmap_clear(&m);
	assert_int_equal(m.count, 0);
	assert_null(auth_tagmap_get(&m, "tag00001"));
	auth_tagmap_fini(&m);
	auth_tagmap_fini(NULL);
}

/* ---- the cache ---------------------------------------------------------------- */

static void
learn(struct auth_cache *c, const char *id, enum auth_status st, int64_t at,
      const char *want_evicted)
{
	struct auth_info i = info(st, 0, NULL);
	char evicted[AUTH_ID_MAX + 1];

	assert_int_equal(auth_cache_learn(c, id, &i, at, evicted), 0);
	assert_string_equal(evicted, want_evicted);
}

static void
test_cache_lru(void **state)
{
	struct auth_cache c;

	auth_cache_init(&c, 3);
	learn(&c, "A", AUTH_ACCEPTED, NOW + 1, "");
	learn(&c, "B", AUTH_ACCEPTED, NOW + 2, "");
	learn(&c, "C", AUTH_ACCEPTED, NOW + 3, "");
	assert_int_equal(auth_cache_count(&c), 3);
	assert_string_equal(auth_cache_victim(&c)->id, "A");
	/* a use makes A the most recent: B is the least recently used now */
	assert_non_null(auth_cache_use(&c, "a", NOW + 4));
	assert_int_equal(auth_cache_peek(&c, "A")->used, NOW + 4);
	learn(&c, "D", AUTH_ACCEPTED, NOW + 5, "B");
	assert_null(auth_cache_peek(&c, "B"));
	/* learning again what is there replaces it and evicts nothing */
	learn(&c, "c", AUTH_BLOCKED, NOW + 6, "");
	assert_int_equal(auth_cache_peek(&c, "C")->info.status, AUTH_BLOCKED);
	assert_int_equal(auth_cache_count(&c), 3);
	/* entries that are not valid go first, however recent; the first spelling stays */
	assert_string_equal(auth_cache_victim(&c)->id, "C");
	learn(&c, "E", AUTH_ACCEPTED, NOW + 7, "C");
	learn(&c, "F", AUTH_ACCEPTED, NOW + 8, "A");
	learn(&c, "G", AUTH_ACCEPTED, NOW + 9, "D");
	assert_null(auth_cache_use(&c, "D", NOW + 10));
	assert_true(auth_cache_forget(&c, "E"));
	assert_false(auth_cache_forget(&c, "E"));
	assert_int_equal(auth_cache_count(&c), 2);
	auth_cache_clear(&c);
	assert_int_equal(auth_cache_count(&c), 0);
	assert_null(auth_cache_victim(&c));
	learn(&c, "H", AUTH_ACCEPTED, NOW, "");
	auth_cache_fini(&c);
}

static void
test_cache_expired_first(void **state)
{
	struct auth_cache c;
	struct auth_info old = info(AUTH_ACCEPTED, NOW - 1, NULL);
	char evicted[AUTH_ID_MAX + 1];

	auth_cache_init(&c, 2);
	learn(&c, "VALID", AUTH_ACCEPTED, NOW - 10, "");
	/* learned already past its expiryDate: not valid, evicted first */
	assert_int_equal(auth_cache_learn(&c, "STALE", &old, NOW, evicted), 0);
	learn(&c, "NEW", AUTH_ACCEPTED, NOW + 1, "STALE");
	learn(&c, "NEWER", AUTH_INVALID, NOW + 2, "VALID");
	learn(&c, "NEWEST", AUTH_ACCEPTED, NOW + 3, "NEWER");
	auth_cache_fini(&c);
}

/* ---- the local list --------------------------------------------------------- */

static struct auth_list_entry
entry(const char *id, bool has_info, enum auth_status st, const char *parent)
{
	struct auth_list_entry e = {.has_info = has_info, .info = info(st, 0, parent)};

	snprintf(e.id, sizeof(e.id), "%s", id);
	return e;
}

static const struct auth_list_limits LIM = {.supported = true, .max_entries = 5, .max_send = 4};

/* check, prepare, commit, as the service does */
static enum auth_update_status
update(struct auth_list *l, bool full, int64_t version, struct auth_list_entry *e, size_t n,
       const struct auth_list_limits *lim)
{
	struct auth_list_update u = {.version = version, .full = full, .entries = e, .n = n};
	struct auth_list_prep p;
	char why[160];
	enum auth_update_status st = auth_list_check(l, &u, lim ? lim : &LIM, why, sizeof(why));

	if (st != AUTH_UPDATE_ACCEPTED) {
		assert_true(why[0] != '\0');
		return st;
	}
	assert_int_equal(auth_list_prepare(l, &u, &p), 0);
	auth_list_commit(l, &u, &p);
	return st;
}

static void
test_list_full_and_differential(void **state)
{
	struct auth_list l = {0};
	struct auth_list_entry full[] = {
	    entry("A", true, AUTH_ACCEPTED, "P"), entry("B", true, AUTH_BLOCKED, NULL),
	    entry("C", false, AUTH_ACCEPTED, NULL), /* no idTagInfo in a full list: not added */
	};
	struct auth_list_entry diff[] = {
	    entry("b", true, AUTH_ACCEPTED, NULL),  /* replaces B */
	    entry("A", false, AUTH_ACCEPTED, NULL), /* deletes A */
	    entry("D", true, AUTH_EXPIRED, NULL),
	    entry("ZZ", false, AUTH_ACCEPTED, NULL), /* deleting the absent: no effect */
	};

	assert_int_equal(auth_list_version(&l), 0);
	assert_int_equal(update(&l, true, 3, full, 3, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_version(&l), 3);
	assert_int_equal(auth_list_count(&l), 2);
	assert_string_equal(auth_list_get(&l, "a")->info.parent, "P");
	assert_null(auth_list_get(&l, "C"));

	assert_int_equal(update(&l, false, 3, diff, 4, NULL), AUTH_UPDATE_VERSION_MISMATCH);
	assert_int_equal(update(&l, false, 2, diff, 4, NULL), AUTH_UPDATE_VERSION_MISMATCH);
	assert_int_equal(auth_list_count(&l), 2);
	assert_int_equal(update(&l, false, 4, diff, 4, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_version(&l), 4);
	assert_int_equal(auth_list_count(&l), 2);
	assert_null(auth_list_get(&l, "A"));
	assert_int_equal(auth_list_get(&l, "B")->info.status, AUTH_ACCEPTED);
	assert_int_equal(auth_list_get(&l, "D")->info.status, AUTH_EXPIRED);
	/* a differential update without entries: only the version moves */
	assert_int_equal(update(&l, false, 5, NULL, 0, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_version(&l), 5);
	assert_int_equal(auth_list_count(&l), 2);
	/* a full update may go back to any version */
	assert_int_equal(update(&l, true, 1, full, 1, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_version(&l), 1);
	assert_int_equal(auth_list_count(&l), 1);
	/* a full update without entries empties the list: version 0 */
	assert_int_equal(update(&l, true, 9, NULL, 0, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_count(&l), 0);
	assert_int_equal(auth_list_version(&l), 0);
	/* on an empty list a differential update needs a version above 0 */
	assert_int_equal(update(&l, false, 0, diff, 1, NULL), AUTH_UPDATE_VERSION_MISMATCH);
	assert_int_equal(update(&l, false, 1, diff, 1, NULL), AUTH_UPDATE_ACCEPTED);
	auth_list_fini(&l);
}

static void
test_list_limits(void **state)
{
	struct auth_list l = {0};
	struct auth_list_entry five[] = {
	    entry("1", true, AUTH_ACCEPTED, NULL), entry("2", true, AUTH_ACCEPTED, NULL),
	    entry("3", true, AUTH_ACCEPTED, NULL), entry("4", true, AUTH_ACCEPTED, NULL),
	    entry("5", true, AUTH_ACCEPTED, NULL),
	};
	struct auth_list_entry more[] = {
	    entry("6", true, AUTH_ACCEPTED, NULL),
	    entry("7", true, AUTH_ACCEPTED, NULL),
	};
	struct auth_list_entry swap[] = {
	    entry("1", false, AUTH_ACCEPTED, NULL),
	    entry("2", false, AUTH_ACCEPTED, NULL),
	    entry("6", true, AUTH_ACCEPTED, NULL),
	    entry("7", true, AUTH_ACCEPTED, NULL),
	};
	struct auth_list_entry dup[] = {
	    entry("X", true, AUTH_ACCEPTED, NULL),
	    entry("x", false, AUTH_ACCEPTED, NULL),
	};
	struct auth_list_entry bad[] = {entry("", true, AUTH_ACCEPTED, NULL)};
	const struct auth_list_limits off = {.supported = false, .max_entries = 5, .max_send = 4};
	const struct auth_list_limits wide = {.supported = true, .max_entries = 5, .max_send = 10};

	/* SendLocalListMaxLength */
	assert_int_equal(update(&l, true, 1, five, 5, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, 1, five, 4, NULL), AUTH_UPDATE_ACCEPTED);
	/* LocalAuthListMaxLength: 4 + 2 > 5, and nothing changes */
	assert_int_equal(update(&l, false, 2, more, 2, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(auth_list_count(&l), 4);
	assert_int_equal(auth_list_version(&l), 1);
	/* deletes in the same update make room */
	assert_int_equal(update(&l, false, 2, swap, 4, NULL), AUTH_UPDATE_ACCEPTED);
	assert_int_equal(auth_list_count(&l), 4);
	assert_non_null(auth_list_get(&l, "7"));
	assert_null(auth_list_get(&l, "1"));
	/* a full list over LocalAuthListMaxLength */
	struct auth_list_entry six[6];
	memcpy(six, five, sizeof(five));
	six[5] = more[0];
	assert_int_equal(update(&l, true, 3, six, 6, &wide), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, 3, six, 5, &wide), AUTH_UPDATE_ACCEPTED);
	/* duplicates (CiString), invalid idTags, version 0 for a non-empty full list */
	assert_int_equal(update(&l, false, 4, dup, 2, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, 4, bad, 1, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, 0, five, 1, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, -1, five, 1, NULL), AUTH_UPDATE_FAILED);
	assert_int_equal(update(&l, true, 4, five, 1, &off), AUTH_UPDATE_NOT_SUPPORTED);
	assert_int_equal(auth_list_version(&l), 3);
	assert_int_equal(auth_list_count(&l), 5);
	assert_string_equal(auth_update_status_name(AUTH_UPDATE_VERSION_MISMATCH),
	                    "VersionMismatch");
	auth_list_fini(&l);
}

/* A prepared update that is not applied (the store failed) changes nothing. */
static void
test_list_prepare_abandoned(void **state)
{
	struct auth_list l = {0};
	struct auth_list_entry e[] = {entry("A", true, AUTH_ACCEPTED, NULL)};
	struct auth_list_entry e2[] = {entry("B", true, AUTH_ACCEPTED, NULL)};
	struct auth_list_update u = {.version = 1, .full = true, .entries = e, .n = 1};
	struct auth_list_prep p;

	assert_int_equal(update(&l, true, 1, e, 1, NULL), AUTH_UPDATE_ACCEPTED);
	u.entries = e2;
	u.version = 2;
	assert_int_equal(auth_list_prepare(&l, &u, &p), 0);
	auth_list_prep_free(&p);
	u.full = false;
	assert_int_equal(auth_list_prepare(&l, &u, &p), 0);
	auth_list_prep_free(&p);
	assert_int_equal(auth_list_version(&l), 1);
	assert_non_null(auth_list_get(&l, "A"));
	assert_null(auth_list_get(&l, "B"));
	auth_list_fini(&l);
}

/* ---- reservations ------------------------------------------------------------ */

static struct auth_resv
resv(int64_t id, int conn, const char *tag, const char *parent)
{
	struct auth_resv r = {.id = id, .conn = conn, .expiry = NOW + HOUR};

	snprintf(r.id_tag, sizeof(r.id_tag), "%s", tag);
	snprintf(r.parent, sizeof(r.parent), "%s", parent ? parent : "");
	return r;
}

static void
test_resv_set(void **state)
{
	struct auth_resvs rs = {0};
	struct auth_resv r = resv(1, 1, "A", NULL), out;

	assert_int_equal(auth_resv_put(&rs, &r), 0);
	r = resv(2, 0, "B", NULL);
	r.expiry = NOW + 2 * HOUR;
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	r = resv(3, 0, "C", NULL);
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(auth_resv_on(&rs, 1, NOW)->id, 1);
	assert_int_equal(auth_resv_on(&rs, 0, NOW)->id, 3); /* expires first */
	assert_null(auth_resv_on(&rs, 2, NOW));
	assert_null(auth_resv_on(&rs, 1, NOW + HOUR)); /* expired */
	/* same id: replaced, moved */
	r = resv(1, 2, "A2", NULL);
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	assert_int_equal(rs.n, 3);
	assert_null(auth_resv_on(&rs, 1, NOW));
	assert_string_equal(auth_resv_on(&rs, 2, NOW)->id_tag, "A2");
	assert_int_equal(auth_resv_next_expiry(&rs), NOW + HOUR);
	assert_false(auth_resv_pop_expired(&rs, NOW, &out));
	assert_true(auth_resv_pop_expired(&rs, NOW + HOUR, &out));
	assert_true(auth_resv_pop_expired(&rs, NOW + HOUR, &out));
	assert_false(auth_resv_pop_expired(&rs, NOW + HOUR, &out));
	assert_int_equal(rs.n, 1);
	assert_false(auth_resv_remove(&rs, 1, &out));
	assert_true(auth_resv_remove(&rs, 2, &out));
	assert_string_equal(out.id_tag, "B");
	assert_int_equal(auth_resv_next_expiry(&rs), 0);
	auth_resvs_fini(&rs);
}

static enum auth_reserve_status
check(const struct auth_resvs *rs, enum auth_conn_status *conns, int n, bool zero,
      struct auth_resv r)
{
	struct auth_site site = {.conns = conns, .n = n, .zero_supported = zero, .now = NOW};

	return auth_resv_check(rs, &r, &site);
}

static void
test_reserve_now(void **state)
{
	struct auth_resvs rs = {0};
	enum auth_conn_status c[] = {AUTH_CONN_AVAILABLE, AUTH_CONN_AVAILABLE, AUTH_CONN_AVAILABLE};
	struct auth_resv r = resv(1, 1, "A", NULL);
	static const struct {
		enum auth_conn_status st;
		enum auth_reserve_status want;
	} by_status[] = {
	    {AUTH_CONN_AVAILABLE, AUTH_RESERVE_ACCEPTED},
	    {AUTH_CONN_RESERVED, AUTH_RESERVE_ACCEPTED},
	    {AUTH_CONN_PREPARING, AUTH_RESERVE_OCCUPIED},
	    {AUTH_CONN_CHARGING, AUTH_RESERVE_OCCUPIED},
	    {AUTH_CONN_SUSPENDED_EV, AUTH_RESERVE_OCCUPIED},
	    {AUTH_CONN_SUSPENDED_EVSE, AUTH_RESERVE_OCCUPIED},
	    {AUTH_CONN_FINISHING, AUTH_RESERVE_OCCUPIED},
	    {AUTH_CONN_FAULTED, AUTH_RESERVE_FAULTED},
	    {AUTH_CONN_UNAVAILABLE, AUTH_RESERVE_UNAVAILABLE},
	    {AUTH_CONN_UNKNOWN, AUTH_RESERVE_UNAVAILABLE},
	};

	for (size_t i = 0; i < sizeof(by_status) / sizeof(by_status[0]); i++) {
		c[1] = by_status[i].st;
		assert_int_equal(check(&rs, c, 2, true, r), by_status[i].want);
	}
	c[1] = AUTH_CONN_AVAILABLE;
	/* the charge point as a whole */
	c[0] = AUTH_CONN_FAULTED;
	assert_int_equal(check(&rs, c, 2, true, r), AUTH_RESERVE_FAULTED);
	c[0] = AUTH_CONN_UNAVAILABLE;
	assert_int_equal(check(&rs, c, 2, true, r), AUTH_RESERVE_UNAVAILABLE);
	c[0] = AUTH_CONN_AVAILABLE;
	/* no such connector, expiryDate past */
	r.conn = 3;
	assert_int_equal(check(&rs, c, 2, true, r), AUTH_RESERVE_REJECTED);
	r.conn = 1;
	r.expiry = NOW;
	assert_int_equal(check(&rs, c, 2, true, r), AUTH_RESERVE_REJECTED);
	r.expiry = NOW + HOUR;

	/* reserved already: by another reservation Occupied, the same one is replaced */
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	c[1] = AUTH_CONN_RESERVED;
	assert_int_equal(check(&rs, c, 2, true, resv(2, 1, "B", NULL)), AUTH_RESERVE_OCCUPIED);
	assert_int_equal(check(&rs, c, 2, true, resv(1, 1, "A", "NEWPARENT")),
	                 AUTH_RESERVE_ACCEPTED);
	assert_string_equal(auth_reserve_status_name(AUTH_RESERVE_OCCUPIED), "Occupied");
	assert_int_equal(auth_conn_status_parse("SuspendedEVSE"), AUTH_CONN_SUSPENDED_EVSE);
	assert_int_equal(auth_conn_status_parse("Parked"), AUTH_CONN_UNKNOWN);
	auth_resvs_fini(&rs);
}

static void
test_reserve_zero(void **state)
{
	struct auth_resvs rs = {0};
	enum auth_conn_status c[] = {AUTH_CONN_AVAILABLE, AUTH_CONN_AVAILABLE, AUTH_CONN_AVAILABLE};
	struct auth_resv z1 = resv(10, 0, "Z1", NULL), z2 = resv(11, 0, "Z2", NULL);

	assert_int_equal(check(&rs, c, 2, false, z1), AUTH_RESERVE_REJECTED);
	assert_int_equal(check(&rs, c, 2, true, z1), AUTH_RESERVE_ACCEPTED);
	assert_int_equal(auth_resv_put(&rs, &z1), 0);
	/* two free connectors: room for a second connector-0 reservation */
	assert_int_equal(check(&rs, c, 2, true, z2), AUTH_RESERVE_ACCEPTED);
	assert_int_equal(auth_resv_put(&rs, &z2), 0);
	assert_int_equal(check(&rs, c, 2, true, resv(12, 0, "Z3", NULL)), AUTH_RESERVE_OCCUPIED);
	/* a connector reservation would take a connector the two need */
	assert_int_equal(check(&rs, c, 2, true, resv(13, 1, "X", NULL)), AUTH_RESERVE_OCCUPIED);
	/* replacing one of them is fine */
	assert_int_equal(check(&rs, c, 2, true, resv(11, 0, "Z2b", NULL)), AUTH_RESERVE_ACCEPTED);
	assert_true(auth_resv_remove(&rs, 11, NULL));
	assert_int_equal(check(&rs, c, 2, true, resv(13, 1, "X", NULL)), AUTH_RESERVE_ACCEPTED);
	/* nothing free: Occupied, or Faulted / Unavailable when that is why */
	c[1] = AUTH_CONN_CHARGING;
	c[2] = AUTH_CONN_FAULTED;
	assert_int_equal(check(&rs, c, 2, true, resv(12, 0, "Z3", NULL)), AUTH_RESERVE_OCCUPIED);
	c[1] = AUTH_CONN_FAULTED;
	assert_int_equal(check(&rs, c, 2, true, resv(12, 0, "Z3", NULL)), AUTH_RESERVE_FAULTED);
	c[1] = AUTH_CONN_UNAVAILABLE;
	assert_int_equal(check(&rs, c, 2, true, resv(12, 0, "Z3", NULL)), AUTH_RESERVE_UNAVAILABLE);
	auth_resvs_fini(&rs);
}

static enum auth_resv_fit
fit(const struct auth_resvs *rs, enum auth_conn_status *conns, int n, int conn, const char *id,
    const char *parent, int64_t *rid)
{
	struct auth_site site = {.conns = conns, .n = n, .zero_supported = true, .now = NOW};

	return auth_resv_start(rs, &site, conn, id, parent, rid);
}

static void
test_resv_start(void **state)
{
	struct auth_resvs rs = {0};
	enum auth_conn_status c[] = {AUTH_CONN_AVAILABLE, AUTH_CONN_RESERVED, AUTH_CONN_AVAILABLE};
	struct auth_resv r = resv(5, 1, "OWNER", "GROUP");
	int64_t rid;

	assert_int_equal(fit(&rs, c, 2, 1, "ANY", NULL, &rid), AUTH_RESV_FREE);
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	assert_int_equal(fit(&rs, c, 2, 1, "owner", NULL, &rid), AUTH_RESV_HOLDER);
	assert_int_equal(rid, 5);
	assert_int_equal(fit(&rs, c, 2, 1, "MATE", NULL, &rid), AUTH_RESV_NEED_PARENT);
	assert_int_equal(fit(&rs, c, 2, 1, "MATE", "group", &rid), AUTH_RESV_HOLDER);
	assert_int_equal(fit(&rs, c, 2, 1, "MATE", "", &rid), AUTH_RESV_REFUSED);
	assert_int_equal(fit(&rs, c, 2, 2, "MATE", NULL, &rid), AUTH_RESV_FREE);
	assert_int_equal(rid, 0);
	/* expired reservations do not count */
	rs.v[0].expiry = NOW;
	assert_int_equal(fit(&rs, c, 2, 1, "MATE", NULL, &rid), AUTH_RESV_FREE);
	rs.v[0].expiry = NOW + HOUR;

	/* connector 0: one connector must stay free for its holder */
	assert_true(auth_resv_remove(&rs, 5, NULL));
	c[1] = AUTH_CONN_AVAILABLE;
	r = resv(6, 0, "ZERO", NULL);
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	assert_int_equal(fit(&rs, c, 2, 1, "ANY", NULL, &rid), AUTH_RESV_FREE);
	c[2] = AUTH_CONN_CHARGING;
	assert_int_equal(fit(&rs, c, 2, 1, "ANY", NULL, &rid), AUTH_RESV_REFUSED);
	assert_int_equal(fit(&rs, c, 2, 1, "zero", NULL, &rid), AUTH_RESV_HOLDER);
	assert_int_equal(rid, 6);
	/* a connector with its own reservation is not free for connector 0 */
	c[2] = AUTH_CONN_AVAILABLE;
	r = resv(7, 2, "TWO", NULL);
	assert_int_equal(auth_resv_put(&rs, &r), 0);
	assert_int_equal(fit(&rs, c, 2, 1, "ANY", NULL, &rid), AUTH_RESV_REFUSED);
	assert_int_equal(fit(&rs, c, 2, 2, "TWO", NULL, &rid), AUTH_RESV_HOLDER);
	assert_int_equal(rid, 7);
	auth_resvs_fini(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idtag),
	    cmocka_unit_test(test_tagmap),
	    cmocka_unit_test(test_cache_lru),
	    cmocka_unit_test(test_cache_expired_first),
	    cmocka_unit_test(test_list_full_and_differential),
	    cmocka_unit_test(test_list_limits),
	    cmocka_unit_test(test_list_prepare_abandoned),
	    cmocka_unit_test(test_resv_set),
	    cmocka_unit_test(test_reserve_now),
	    cmocka_unit_test(test_reserve_zero),
	    cmocka_unit_test(test_resv_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
