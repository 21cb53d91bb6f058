/* Site load sharing: see share.h for the rules and the invariants. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "share.h"

/* Tolerance of the arithmetic, A. */
#define EPS 1e-6
/* Tolerance of the invariant checks: allocations are rounded down to 0.1 A, so sums stay
 * below their bound up to floating point noise. */
#define CHECK_EPS 1e-3

void
sc_share_params_default(struct sc_share_params *p, double capacity_a)
{
	*p = (struct sc_share_params){
	    .capacity_a = capacity_a > 0 ? capacity_a : 0,
	    .min_a = 6.0,
	    .rotate_ms = 5 * 60 * 1000,
	    .settle_ms = 4000,
	    .stale_ms = 15000,
	    .margin_a = 1.0,
	    .headroom_a = 2.0,
	};
}

const char *
sc_share_reason_name(enum sc_share_reason r)
{
	switch (r) {
	case SC_SHARE_IDLE:
		return "idle";
	case SC_SHARE_OCPP:
		return "ocpp";
	case SC_SHARE_FAIR:
		return "site share";
	case SC_SHARE_PAUSED:
		return "paused";
	case SC_SHARE_NO_ROOM:
		return "no room";
	case SC_SHARE_BELOW_MIN:
		return "below minimum";
	}
	return "?";
}

/* How many connectors at min_a fit into cap. */
static long
places(double cap, double min)
{
	if (isinf(cap))
		return LONG_MAX;
	if (!(cap > 0))
		return 0;
	return (long)floor(cap / min + EPS);
}

struct group_scratch {
	long places, running, live;
	double used;
};

struct run {
	struct sc_share *s;
	struct group_scratch *g;
	size_t *order;
	long site_places, running;
	double used;
	double *x; /* allocation while filling */
};

static int64_t
turn_of(const struct run *r, size_t i)
{
	return r->s->conns[i].turn_ts;
}

/* qsort has no context argument: the run being sorted. One thread, one run at a time. */
static const struct run *sorting;

static int
by_turn(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int64_t ti = turn_of(sorting, i), tj = turn_of(sorting, j);
	if (ti != tj)
		return ti < tj ? -1 : 1;
	return i < j ? -1 : i > j; /* stable: the lower index first */
}

/* The indices selected by pick, oldest turn first. Returns how many. */
static size_t
ordered(struct run *r, bool (*pick)(const struct sc_share_conn *, const struct run *))
{
	size_t n = 0;
	for (size_t i = 0; i < r->s->n; i++)
		if (pick(&r->s->conns[i], r))
			r->order[n++] = i;
	sorting = r;
	qsort(r->order, n, sizeof(r->order[0]), by_turn);
	sorting = NULL;
	return n;
}

static bool
eligible(const struct sc_share_conn *c, const struct run *r)
{
	return c->active && c->cap_a >= r->s->par.min_a - EPS;
}

static bool
is_running(const struct sc_share_conn *c, const struct run *r)
{
	return eligible(c, r) && c->running;
}

static bool
is_waiting(const struct sc_share_conn *c, const struct run *r)
{
	return eligible(c, r) && !c->running;
}

static void
set_running(struct run *r, size_t i, bool on, int64_t now)
{
	struct sc_share_conn *c = &r->s->conns[i];
	long d = on ? 1 : -1;
	c->running = on;
	c->turn_ts = now;
	if (on)
		c->want_a = c->cap_a; /* back from a pause: what it drew then says nothing now */
	r->running += d;
	r->g[c->group].running += d;
}

static bool
overfull(const struct run *r, size_t group)
{
	return r->running > r->site_places || r->g[group].running > r->g[group].places;
}

static bool
fits(const struct run *r, size_t group)
{
	return r->running < r->site_places && r->g[group].running < r->g[group].places;
}

/* Who runs: drop the longest running from overfull constraints, fill free places with the
 * longest waiting, then let those that waited a turn replace those that ran one. */
static void
choose_running(struct run *r, int64_t now)
{
	struct sc_share *s = r->s;
	size_t n = ordered(r, is_running);
	for (size_t k = 0; k < n; k++)
		if (overfull(r, s->conns[r->order[k]].group))
			set_running(r, r->order[k], false, now);

	n = ordered(r, is_waiting);
	for (size_t k = 0; k < n; k++)
		if (fits(r, s->conns[r->order[k]].group))
			set_running(r, r->order[k], true, now);

	n = ordered(r, is_waiting);
	size_t n_wait = n;
	size_t *waiting = malloc((n_wait ? n_wait : 1) * sizeof(*waiting));
	if (!waiting)
		return; /* no turns this time; the allocation stays valid */
	for (size_t k = 0; k < n_wait; k++)
		waiting[k] = r->order[k];
	size_t n_run = ordered(r, is_running);
	for (size_t k = 0; k < n_wait; k++) {
		struct sc_share_conn *p = &s->conns[waiting[k]];
		if (now - p->turn_ts < s->par.rotate_ms)
			break; /* the others waited less */
		for (size_t j = 0; j < n_run; j++) {
			size_t ri = r->order[j];
			struct sc_share_conn *q = &s->conns[ri];
			if (!q->running || now - q->turn_ts < s->par.rotate_ms)
				continue;
			if (q->group != p->group && r->g[p->group].running >= r->g[p->group].places)
				continue;
			set_running(r, ri, false, now);
			set_running(r, waiting[k], true, now);
			break;
		}
	}
	free(waiting);
}

/* What a running connector wants: see share.h. */
static void
estimate_demand(struct sc_share_conn *c, const struct sc_share_params *par, int64_t now)
{
	if (c->drawn_a < 0 || now - c->drawn_ts > par->stale_ms) {
		c->want_a = c->cap_a;
	} else if (c->drawn_ts < c->offered_ts + par->settle_ms) {
		/* the reading predates the car's answer to a higher offer: keep the estimate */
	} else if (c->drawn_a >= c->offered_a - par->margin_a) {
		c->want_a = c->cap_a;
	} else {
		double w = ceil((c->drawn_a + par->headroom_a) * 2) / 2;
		/* down only by a whole ampere or more: no chasing meter noise */
		if (w > c->want_a || w <= c->want_a - 1.0)
			c->want_a = w;
	}
	if (c->want_a > c->cap_a)
		c->want_a = c->cap_a;
	if (c->want_a < par->min_a)
		c->want_a = par->min_a;
}

/* Progressive filling of the running connectors from r->x towards target (want_a, or
 * cap_a when !want): everyone rises alike until their target, their group's cap or the
 * site's capacity stops them. */
static void
fill(struct run *r, bool want)
{
	struct sc_share *s = r->s;
	bool *live = calloc(s->n ? s->n : 1, sizeof(*live));
	if (!live)
		return; /* stays at the floors already given: valid, just not generous */
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_share_conn *c = &s->conns[i];
		live[i] = c->active && c->running && r->x[i] < (want ? c->want_a : c->cap_a) - EPS;
		if (live[i])
			s->conns[i].by_group = false;
	}
	for (;;) {
		long u = 0;
		double delta = INFINITY;
		for (size_t g = 0; g < s->n_groups; g++)
			r->g[g].live = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!live[i])
				continue;
			const struct sc_share_conn *c = &s->conns[i];
			double t = want ? c->want_a : c->cap_a;
			u++;
			r->g[c->group].live++;
			if (t - r->x[i] < delta)
				delta = t - r->x[i];
		}
		if (u == 0)
			break;
		for (size_t g = 0; g < s->n_groups; g++)
			if (r->g[g].live && !isinf(s->groups[g].cap_a))
				delta =
				    fmin(delta, (s->groups[g].cap_a - r->g[g].used) / r->g[g].live);
		delta = fmin(delta, (s->par.capacity_a - r->used) / u);
		if (delta < 0)
			delta = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!live[i])
				continue;
			r->x[i] += delta;
			r->g[s->conns[i].group].used += delta;
			r->used += delta;
		}
		bool site_full = r->used >= s->par.capacity_a - EPS;
		for (size_t i = 0; i < s->n; i++) {
			if (!live[i])
				continue;
			const struct sc_share_conn *c = &s->conns[i];
			double t = want ? c->want_a : c->cap_a;
			bool own = r->x[i] >= t - EPS;
			bool group = r->g[c->group].used >= s->groups[c->group].cap_a - EPS;
			if (site_full || own || group) {
				live[i] = false;
				s->conns[i].by_group = !own && group && !site_full;
			}
		}
	}
	free(live);
}

static double
floor_tenth(double x)
{
	return floor(x * 10 + EPS) / 10;
}

static void
give(struct sc_share_conn *c, double limit, enum sc_share_reason reason, int64_t now)
{
	if (limit > c->offered_a + 0.05)
		c->offered_ts = now; /* raised: readings before the car follows do not count */
	c->offered_a = limit;
	c->limit_a = limit;
	c->reason = reason;
}

static void
lower_due(int64_t *due, int64_t t, int64_t now)
{
	if (t > now && t < *due)
		*due = t;
}

int64_t
sc_share_run(struct sc_share *s, int64_t now)
{
	struct run r = {.s = s};
	const struct sc_share_params *par = &s->par;
	int64_t due = SC_SHARE_NEVER;
	bool anyone_waits = false;

	r.g = calloc(s->n_groups ? s->n_groups : 1, sizeof(*r.g));
	r.order = calloc(s->n ? s->n : 1, sizeof(*r.order));
	r.x = calloc(s->n ? s->n : 1, sizeof(*r.x));
	if (!r.g || !r.order || !r.x) {
		/* Out of memory: nobody charges, which keeps every invariant. */
		for (size_t i = 0; i < s->n; i++) {
			s->conns[i].running = false;
			give(&s->conns[i], 0,
			     s->conns[i].active ? SC_SHARE_PAUSED : SC_SHARE_NO_ROOM, now);
		}
		due = now + 1000;
		goto out;
	}
	r.site_places = places(par->capacity_a, par->min_a);
	for (size_t g = 0; g < s->n_groups; g++)
		r.g[g].places = places(s->groups[g].cap_a, par->min_a);

	/* Who is active, who came or left. */
	for (size_t i = 0; i < s->n; i++) {
		struct sc_share_conn *c = &s->conns[i];
		assert(c->group < s->n_groups);
		if (!c->active) {
			c->was_active = c->running = false;
			continue;
		}
		if (!c->was_active) { /* a newcomer waits from now on */
			c->was_active = true;
			c->running = false;
			c->turn_ts = now;
			c->want_a = c->cap_a;
			c->offered_a = 0;
			c->offered_ts = now;
		}
		if (!eligible(c, &r)) {
			/* not waiting for a turn either: that starts when it may charge again */
			c->running = false;
			c->turn_ts = now;
			continue;
		}
		if (c->running) {
			r.running++;
			r.g[c->group].running++;
		}
	}
	choose_running(&r, now);

	/* Everyone running starts at min_a: choose_running() made room for that. */
	for (size_t i = 0; i < s->n; i++) {
		struct sc_share_conn *c = &s->conns[i];
		if (!is_running(c, &r))
			continue;
		estimate_demand(c, par, now);
		r.x[i] = par->min_a;
		r.g[c->group].used += par->min_a;
		r.used += par->min_a;
	}
	fill(&r, true);
	fill(&r, false);

	/* Results: running and waiting first, then what the idle ones could start with. */
	double site_used = 0;
	for (size_t g = 0; g < s->n_groups; g++)
		r.g[g].used = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct sc_share_conn *c = &s->conns[i];
		if (!c->active)
			continue;
		if (!eligible(c, &r)) {
			give(c, 0, SC_SHARE_BELOW_MIN, now);
		} else if (!c->running) {
			give(c, 0, SC_SHARE_PAUSED, now);
			anyone_waits = true;
		} else {
			double x = floor_tenth(r.x[i]);
			if (x > c->cap_a)
				x = c->cap_a;
			give(c, x, x < c->cap_a - 0.05 ? SC_SHARE_FAIR : SC_SHARE_OCPP, now);
		}
		site_used += c->limit_a;
		r.g[c->group].used += c->limit_a;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct sc_share_conn *c = &s->conns[i];
		if (c->active)
			continue;
		double room = floor(fmin(par->capacity_a - site_used,
		                         s->groups[c->group].cap_a - r.g[c->group].used) +
		                    EPS);
		if (c->cap_a < par->min_a - EPS)
			give(c, 0, SC_SHARE_BELOW_MIN, now);
		else if (room < par->min_a)
			give(c, 0, SC_SHARE_NO_ROOM, now);
		else
			give(c, fmin(c->cap_a, room), SC_SHARE_IDLE, now);
	}

	/* When to look again: the next turn (the longest waiting has waited a turn and the
	 * longest running has run one), readings that settle or go stale. */
	int64_t first_wait = SC_SHARE_NEVER, first_run = SC_SHARE_NEVER;
	for (size_t i = 0; i < s->n; i++) {
		const struct sc_share_conn *c = &s->conns[i];
		if (!eligible(c, &r))
			continue;
		if (!c->running && c->turn_ts < first_wait)
			first_wait = c->turn_ts;
		if (c->running && c->turn_ts < first_run)
			first_run = c->turn_ts;
		if (c->running && c->drawn_a >= 0) {
			lower_due(&due, c->offered_ts + par->settle_ms, now);
			lower_due(&due, c->drawn_ts + par->stale_ms + 1, now);
		}
	}
	if (anyone_waits && first_wait != SC_SHARE_NEVER && first_run != SC_SHARE_NEVER)
		lower_due(&due, (first_wait > first_run ? first_wait : first_run) + par->rotate_ms,
		          now);
out:
	free(r.g);
	free(r.order);
	free(r.x);
#ifndef NDEBUG
	char why[160];
	int ok = sc_share_check(s, why, sizeof(why));
	if (ok < 0)
		fprintf(stderr, "sc_share_run: invariant broken: %s\n", why);
	assert(ok == 0);
#endif
	return due;
}

static int violation(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
violation(char *why, size_t len, const char *fmt, ...)
{
	if (why && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int
sc_share_check(const struct sc_share *s, char *why, size_t why_len)
{
	double site = 0;
	double *group = calloc(s->n_groups ? s->n_groups : 1, sizeof(*group));
	int rc = 0;
	if (!group)
		return -ENOMEM;
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		const struct sc_share_conn *c = &s->conns[i];
		if (!(c->limit_a >= 0) || c->limit_a > c->cap_a + CHECK_EPS)
			rc = violation(why, why_len,
			               "I1: connector %zu offers %.3f A, its OCPP limit is %.3f A",
			               i, c->limit_a, c->cap_a);
		else if (c->active && c->limit_a > 0 && c->limit_a < s->par.min_a - CHECK_EPS)
			rc =
			    violation(why, why_len, "I3: connector %zu offers %.3f A, below %.1f A",
			              i, c->limit_a, s->par.min_a);
		if (c->active) {
			site += c->limit_a;
			group[c->group] += c->limit_a;
		}
	}
	if (rc == 0 && site > s->par.capacity_a + CHECK_EPS)
		rc = violation(why, why_len, "I2: the site offers %.3f A, its capacity is %.3f A",
		               site, s->par.capacity_a);
	for (size_t g = 0; g < s->n_groups && rc == 0; g++)
		if (group[g] > s->groups[g].cap_a + CHECK_EPS)
			rc = violation(why, why_len,
			               "I2: charge point %zu offers %.3f A, its maximum is %.3f A",
			               g, group[g], s->groups[g].cap_a);
	free(group);
	return rc;
}
