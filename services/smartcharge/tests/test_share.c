/* Site load sharing: fair shares, the 6 A floor, turns when not everyone fits, caps of
 * connectors and charge points, capacity a car leaves unused, idle connectors, and the
 * invariants under thousands of random steps. */
#include "sc_test.h"

#include <math.h>

#include "share.h"

#define MAX_CONNS  64
#define MAX_GROUPS 16
#define ROTATE     (5 * 60 * 1000)

struct net {
	struct sc_share_conn c[MAX_CONNS];
	struct sc_share_group g[MAX_GROUPS];
	struct sc_share s;
	int64_t due;
};

static void
net_init(struct net *n, size_t conns, size_t groups, double capacity)
{
	memset(n, 0, sizeof(*n));
	sc_share_params_default(&n->s.par, capacity);
	n->s.conns = n->c;
	n->s.n = conns;
	n->s.groups = n->g;
	n->s.n_groups = groups;
	for (size_t g = 0; g < groups; g++)
		n->g[g].cap_a = INFINITY;
	for (size_t i = 0; i < conns; i++) {
		n->c[i].cap_a = 32;
		n->c[i].drawn_a = -1;
		n->c[i].group = i % groups;
	}
}

static void
run(struct net *n, int64_t now)
{
	char why[200];
	n->due = sc_share_run(&n->s, now);
	if (sc_share_check(&n->s, why, sizeof(why)) < 0)
		fail_msg("at %lld ms: %s", (long long)now, why);
}

static void
expect_limits(const struct net *n, const double *want, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fabs(n->c[i].limit_a - want[i]) > 1e-9)
			fail_msg("connector %zu: %.2f A, expected %.2f A (%s)", i, n->c[i].limit_a,
			         want[i], sc_share_reason_name(n->c[i].reason));
	}
}

#define LIMITS(n, ...)                                                                             \
	do {                                                                                       \
		const double l_[] = {__VA_ARGS__};                                                 \
		expect_limits(n, l_, sizeof(l_) / sizeof(l_[0]));                                  \
	} while (0)

static void
alone_a_connector_gets_its_cap_or_the_capacity(void **state)
{
	struct net n;
	net_init(&n, 1, 1, 32);
	n.c[0].active = true;
	run(&n, 0);
	LIMITS(&n, 32);
	assert_int_equal(n.c[0].reason, SC_SHARE_OCPP);
	n.c[0].cap_a = 16;
	run(&n, 1000);
	LIMITS(&n, 16);
	n.s.par.capacity_a = 10;
	n.c[0].cap_a = 32;
	run(&n, 2000);
	LIMITS(&n, 10);
	assert_int_equal(n.c[0].reason, SC_SHARE_FAIR);
	assert_int_equal(n.due, SC_SHARE_NEVER);
}

static void
idle_connectors_get_what_is_left(void **state)
{
	struct net n;
	net_init(&n, 3, 1, 32);
	n.c[0].active = true;
	run(&n, 0);
	/* the active one takes all: nothing left to start with */
	LIMITS(&n, 32, 0, 0);
	assert_int_equal(n.c[1].reason, SC_SHARE_NO_ROOM);
	n.c[0].cap_a = 20;
	n.c[2].cap_a = 4;
	run(&n, 1000);
	LIMITS(&n, 20, 12, 0);
	assert_int_equal(n.c[1].reason, SC_SHARE_IDLE);
	assert_int_equal(n.c[2].reason, SC_SHARE_BELOW_MIN);
	n.c[0].cap_a = 6;
	n.c[1].cap_a = 16;
	run(&n, 2000);
	LIMITS(&n, 6, 16, 0);
}

static void
shares_as_cars_come_and_go(void **state)
{
	struct net n;
	net_init(&n, 5, 3, 32);
	int64_t t = 0;
	n.c[0].active = true;
	run(&n, t += 1000);
	LIMITS(&n, 32);
	n.c[1].active = true;
	run(&n, t += 1000);
	LIMITS(&n, 16, 16);
	n.c[2].active = true;
	run(&n, t += 1000);
	LIMITS(&n, 10.6, 10.6, 10.6);
	n.c[3].active = true;
	run(&n, t += 1000);
	LIMITS(&n, 8, 8, 8, 8);
	n.c[4].active = true;
	run(&n, t += 1000);
	LIMITS(&n, 6.4, 6.4, 6.4, 6.4, 6.4);
	n.c[1].active = false;
	run(&n, t += 1000);
	LIMITS(&n, 8, 0, 8, 8, 8);
	assert_int_equal(n.c[1].reason, SC_SHARE_NO_ROOM);
}

static void
caps_hold_and_the_rest_is_shared(void **state)
{
	struct net n;
	net_init(&n, 4, 4, 40);
	for (int i = 0; i < 3; i++)
		n.c[i].active = true;
	n.c[0].cap_a = 10;
	run(&n, 0);
	LIMITS(&n, 10, 15, 15);
	assert_int_equal(n.c[0].reason, SC_SHARE_OCPP);
	assert_int_equal(n.c[1].reason, SC_SHARE_FAIR);
	/* an OCPP limit below 6 A: 0, and it takes no place */
	n.c[0].cap_a = 4;
	run(&n, 1000);
	LIMITS(&n, 0, 20, 20, 0);
	assert_int_equal(n.c[0].reason, SC_SHARE_BELOW_MIN);
}

static void
turns_when_not_all_fit(void **state)
{
	struct net n;
	int paused[6] = {0};
	net_init(&n, 6, 3, 32); /* 32 A: five places of 6 A */
	int64_t t = 0;
	for (int i = 0; i < 6; i++)
		n.c[i].active = true;
	run(&n, t);
	/* the first five in order run; the sixth waits */
	LIMITS(&n, 6.4, 6.4, 6.4, 6.4, 6.4, 0);
	assert_int_equal(n.c[5].reason, SC_SHARE_PAUSED);
	assert_int_equal(n.due, t + ROTATE);
	/* in between nothing changes */
	run(&n, t + ROTATE - 1);
	LIMITS(&n, 6.4, 6.4, 6.4, 6.4, 6.4, 0);
	/* every turn, the one that waited replaces the one that ran longest */
	for (int turn = 0; turn < 6; turn++) {
		t = n.due;
		run(&n, t);
		int n_paused = 0;
		for (int i = 0; i < 6; i++) {
			if (n.c[i].limit_a == 0) {
				paused[i]++;
				n_paused++;
			} else {
				assert_float_equal(n.c[i].limit_a, 6.4, 1e-9);
			}
		}
		assert_int_equal(n_paused, 1);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(paused[i], 1); /* everyone waited once in six turns */
}

static void
a_newcomer_waits_for_a_place(void **state)
{
	struct net n;
	net_init(&n, 3, 1, 12);
	n.c[0].active = n.c[1].active = true;
	run(&n, 0);
	LIMITS(&n, 6, 6, 0);
	n.c[2].active = true;
	run(&n, 1000);
	LIMITS(&n, 6, 6, 0);
	assert_int_equal(n.c[2].reason, SC_SHARE_PAUSED);
	assert_int_equal(n.due, 1000 + ROTATE); /* its turn */
	n.c[0].active = false;
	run(&n, 2000);
	LIMITS(&n, 0, 6, 6);
	assert_int_equal(n.c[0].reason, SC_SHARE_NO_ROOM);
}

static void
unused_capacity_goes_to_the_others(void **state)
{
	struct net n;
	net_init(&n, 2, 1, 32);
	n.c[0].active = n.c[1].active = true;
	run(&n, 0);
	LIMITS(&n, 16, 16);
	/* connector 0's car draws 3 A: after the offer settled, it gets 6 A, the other 26 A */
	n.c[0].drawn_a = 3;
	n.c[0].drawn_ts = 1000; /* too early: the offer was raised at 0, settle 4 s */
	run(&n, 1000);
	LIMITS(&n, 16, 16);
	assert_int_equal(n.due, 4000); /* when it will count */
	n.c[0].drawn_ts = 5000;
	run(&n, 5000);
	LIMITS(&n, 6, 26);
	assert_int_equal(n.c[0].reason, SC_SHARE_FAIR);
	/* it draws what it gets again: it may want more, back to equal shares */
	n.c[0].drawn_a = 5.5;
	n.c[0].drawn_ts = 7000;
	run(&n, 7000);
	LIMITS(&n, 16, 16);
	/* the reading goes stale: its demand is its cap again */
	n.c[0].drawn_a = 2;
	n.c[0].drawn_ts = 12000;
	run(&n, 12000);
	LIMITS(&n, 6, 26);
	run(&n, 12000 + 15001);
	LIMITS(&n, 16, 16);
}

static void
demand_follows_the_meter_without_chasing_noise(void **state)
{
	struct net n;
	net_init(&n, 2, 1, 24);
	n.c[0].active = n.c[1].active = true;
	int64_t t = 0;
	run(&n, t);
	const double draws[] = {8.0, 7.6, 7.4, 6.9, 9.5, 3.0};
	const double wants[] = {10.0, 10.0, 10.0, 9.0, 32.0, 6.0};
	for (size_t i = 0; i < sizeof(draws) / sizeof(draws[0]); i++) {
		t += 10000;
		n.c[0].drawn_a = draws[i];
		n.c[0].drawn_ts = t;
		run(&n, t);
		print_message("  draws %.1f A: wants %.1f A, offered %.1f A\n", draws[i],
		              n.c[0].want_a, n.c[0].limit_a);
		assert_float_equal(n.c[0].want_a, wants[i], 1e-9);
	}
}

static void
charge_point_maximum_is_a_group_limit(void **state)
{
	struct net n;
	net_init(&n, 3, 2, 63);
	n.c[0].group = n.c[1].group = 0;
	n.c[2].group = 1;
	n.g[0].cap_a = 20;
	for (int i = 0; i < 3; i++)
		n.c[i].active = true;
	run(&n, 0);
	LIMITS(&n, 10, 10, 32);
	assert_true(n.c[0].by_group);
	assert_false(n.c[2].by_group);
	/* 10 A: one place in the group; one waits there (of two that started together, the
	 * first), whatever room the site has */
	n.g[0].cap_a = 10;
	run(&n, 1000);
	LIMITS(&n, 0, 10, 32);
	assert_int_equal(n.c[0].reason, SC_SHARE_PAUSED);
	assert_int_equal(n.due, 1000 + ROTATE);
	run(&n, 1000 + ROTATE);
	LIMITS(&n, 10, 0, 32);
}

static void
no_capacity_no_charging(void **state)
{
	struct net n;
	net_init(&n, 2, 1, 0);
	n.c[0].active = true;
	run(&n, 0);
	LIMITS(&n, 0, 0);
	assert_int_equal(n.c[0].reason, SC_SHARE_PAUSED);
	assert_int_equal(n.c[1].reason, SC_SHARE_NO_ROOM);
}

/* ---- random ------------------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(next_rand() >> 11) / (double)(1ULL << 53);
}

static size_t
pick(size_t n)
{
	return (size_t)(next_rand() % n);
}

static int64_t longest_wait;

/* After every run, beyond the invariants: nobody waits while everyone would fit; a
 * running connector below its cap means the site or its group is full (up to the 0.1 A
 * rounding of each); nobody runnable waits much longer than everyone's turns. */
static void
properties(const struct net *n, int64_t now, int64_t max_wait)
{
	const struct sc_share *s = &n->s;
	double site = 0, group[MAX_GROUPS] = {0};
	long count = 0, gcount[MAX_GROUPS] = {0}, running = 0, grunning[MAX_GROUPS] = {0};
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_share_conn *c = &s->conns[i];
		if (!c->active)
			continue;
		site += c->limit_a;
		group[c->group] += c->limit_a;
		if (c->cap_a >= s->par.min_a) {
			count++;
			gcount[c->group]++;
		}
		if (c->limit_a > 0) {
			running++;
			grunning[c->group]++;
		}
	}
	bool all_fit = count * s->par.min_a <= s->par.capacity_a + 1e-9;
	for (size_t g = 0; g < s->n_groups; g++)
		all_fit = all_fit && gcount[g] * s->par.min_a <= s->groups[g].cap_a + 1e-9;
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_share_conn *c = &s->conns[i];
		if (!c->active || c->cap_a < s->par.min_a)
			continue;
		if (all_fit && c->limit_a == 0)
			fail_msg("at %lld: connector %zu waits though everyone fits",
			         (long long)now, i);
		if (c->limit_a > 0 && c->limit_a < c->cap_a - 0.15) {
			bool site_full = site >= s->par.capacity_a - 0.1 * (double)running - 1e-6;
			bool group_full = group[c->group] >= s->groups[c->group].cap_a -
			                                         0.1 * (double)grunning[c->group] -
			                                         1e-6;
			if (!site_full && !group_full)
				fail_msg(
				    "at %lld: connector %zu gets %.2f A of %.2f A while the site "
				    "(%.2f of %.2f A) and its group (%.2f of %.2f A) have room",
				    (long long)now, i, c->limit_a, c->cap_a, site,
				    s->par.capacity_a, group[c->group], s->groups[c->group].cap_a);
		}
		if (c->limit_a == 0 && now - c->turn_ts > longest_wait)
			longest_wait = now - c->turn_ts;
		if (c->limit_a == 0 && now - c->turn_ts > max_wait)
			fail_msg("at %lld: connector %zu waits since %lld", (long long)now, i,
			         (long long)c->turn_ts);
	}
}

static void
randomized_invariants(void **state)
{
	enum { CONNS = 48, GROUPS = 12, STEPS = 20000 };
	struct net n;
	int64_t t = 0, max_dt = 60000;
	long runs = 0, paused_seen = 0, fair_seen = 0;
	net_init(&n, CONNS, GROUPS, 120);
	for (size_t i = 0; i < CONNS; i++)
		n.c[i].cap_a = 32;
	/* Turns: with k places and m waiting, a connector waits about m/k turns. Here at
	 * least 12 places for 48 connectors, and a group of 4 has at least one: 3 turns, plus
	 * the churn of cars arriving, leaving and limits changing. */
	const int64_t max_wait = 6 * ROTATE + max_dt;
	for (int step = 0; step < STEPS; step++) {
		int64_t dt = (int64_t)uniform(100, (double)max_dt);
		/* the timer fires first when it is due earlier */
		while (n.due != SC_SHARE_NEVER && n.due < t + dt) {
			int64_t due = n.due;
			run(&n, due);
			runs++;
			properties(&n, due, max_wait);
		}
		t += dt;
		size_t i = pick(CONNS);
		switch (pick(8)) {
		case 0:
		case 1: /* a car arrives or leaves */
			n.c[i].active = !n.c[i].active;
			n.c[i].drawn_a = -1;
			break;
		case 2: /* a profile changes the OCPP limit, sometimes below 6 A */
			n.c[i].cap_a =
			    pick(5) == 0 ? uniform(0, 6) : floor(uniform(6, 32) * 10) / 10;
			break;
		case 3:
		case 4:
		case 5: /* the car draws something, often less than offered */
			n.c[i].drawn_a =
			    pick(3) == 0 ? n.c[i].limit_a : uniform(0, n.c[i].limit_a + 1);
			n.c[i].drawn_ts = t;
			break;
		case 6: /* a ChargePointMaxProfile comes or goes; at least one place */
			n.g[pick(GROUPS)].cap_a = pick(3) == 0 ? INFINITY : uniform(6, 64);
			break;
		case 7: /* the site's capacity (reserve changed); at least a place per group */
			n.s.par.capacity_a = uniform(6 * GROUPS, 250);
			break;
		}
		run(&n, t);
		runs++;
		properties(&n, t, max_wait);
		for (size_t k = 0; k < CONNS; k++) {
			paused_seen += n.c[k].reason == SC_SHARE_PAUSED;
			fair_seen += n.c[k].reason == SC_SHARE_FAIR;
		}
	}
	print_message("  %ld runs, %ld paused and %ld fair-share results seen, longest wait "
	              "%lld s\n",
	              runs, paused_seen, fair_seen, (long long)longest_wait / 1000);
	assert_true(paused_seen > 0); /* the test did reach the interesting cases */
	assert_true(fair_seen > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(alone_a_connector_gets_its_cap_or_the_capacity),
	    cmocka_unit_test(idle_connectors_get_what_is_left),
	    cmocka_unit_test(shares_as_cars_come_and_go),
	    cmocka_unit_test(caps_hold_and_the_rest_is_shared),
	    cmocka_unit_test(turns_when_not_all_fit),
	    cmocka_unit_test(a_newcomer_waits_for_a_place),
	    cmocka_unit_test(unused_capacity_goes_to_the_others),
	    cmocka_unit_test(demand_follows_the_meter_without_chasing_noise),
	    cmocka_unit_test(charge_point_maximum_is_a_group_limit),
	    cmocka_unit_test(no_capacity_no_charging),
	    cmocka_unit_test(randomized_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
