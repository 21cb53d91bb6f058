/* Composite schedules: see schedule.h for the rules. The composite over a window is a
 * sweep: evaluate every instant where something may change (a period boundary, the start
 * or end of a schedule, a recurrence, validFrom, validTo) and nothing in between, so
 * periods that begin after the requested start, gaps between profiles and profiles that
 * become valid inside the window all show. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/time.h"

#include "schedule.h"

/* A sweep never evaluates more instants than this (a year of a weekly schedule of 1024
 * periods is 53k); beyond it the composite is cut short. */
#define MAX_STEPS 200000

static void
lower(int64_t *next, int64_t t)
{
	if (t < *next)
		*next = t;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void
period_value(const struct sc_profile *p, const struct sc_period *pp, int phases_cap, double voltage,
             struct sc_value *v)
{
	int n = pp->phases ? pp->phases : 3;
	if (n > phases_cap)
		n = phases_cap;
	if (n < 1)
		n = 1;
	v->phases = n;
	v->limit_a = p->unit == SC_UNIT_A ? pp->limit : pp->limit / (voltage * n);
	v->profile = p;
}

/* Whether p covers t (on connector c, NULL for the charge point), with its value; lowers
 * *next to the next instant > t at which that may change. */
static bool
profile_at(const struct sc_profile *p, const struct sc_conn_ctx *c, int phases_cap, double voltage,
           int64_t t, int64_t anchor, struct sc_value *v, int64_t *next)
{
	int64_t start, len;

	if (t >= p->valid_to)
		return false;
	if (t < p->valid_from) {
		lower(next, p->valid_from);
		return false;
	}
	if (p->valid_to != SC_TIME_MAX)
		lower(next, p->valid_to);
	if (p->purpose == SC_PURPOSE_TX) {
		if (!c || !c->tx)
			return false;
		if (p->transaction_id && c->transaction_id &&
		    p->transaction_id != c->transaction_id)
			return false;
	}

	if (p->kind == SC_KIND_RECURRING) {
		int64_t every = p->recurrency == SC_RECUR_WEEKLY ? SC_WEEK_MS : SC_DAY_MS;
		start = p->start_schedule + floor_div(t - p->start_schedule, every) * every;
		len = p->duration_s >= 0 && p->duration_s * 1000 < every ? p->duration_s * 1000
		                                                         : every;
		lower(next, start + every);
	} else {
		start = p->has_start ? p->start_schedule : c && c->tx ? c->tx_start : anchor;
		len = p->duration_s >= 0 ? p->duration_s * 1000 : -1;
	}
	if (t < start) {
		lower(next, start);
		return false;
	}
	if (len >= 0) {
		if (t >= start + len)
			return false;
		lower(next, start + len);
	}

	int64_t off = t - start;
	size_t k = p->n_periods;
	while (k > 0 && p->periods[k - 1].start_s * 1000 > off)
		k--;
	if (k == 0) { /* before the first period: not covered yet */
		lower(next, start + p->periods[0].start_s * 1000);
		return false;
	}
	k--;
	if (k + 1 < p->n_periods)
		lower(next, start + p->periods[k + 1].start_s * 1000);
	period_value(p, &p->periods[k], phases_cap, voltage, v);
	return true;
}

/* The winning profile of a purpose for connector conn (0 with c NULL: the charge point). */
static bool
best_of(const struct sc_cp_ctx *cp, enum sc_purpose purpose, int conn, const struct sc_conn_ctx *c,
        int phases_cap, int64_t t, int64_t anchor, struct sc_value *out, int64_t *next)
{
	bool found = false;
	const struct sc_profile *win = NULL;
	for (size_t i = 0; i < cp->profiles->n; i++) {
		const struct sc_profile *p = &cp->profiles->v[i];
		struct sc_value v;
		if (p->purpose != purpose)
			continue;
		if (p->connector != conn &&
		    !(purpose == SC_PURPOSE_TX_DEFAULT && p->connector == 0))
			continue;
		if (!profile_at(p, c, phases_cap, cp->voltage, t, anchor, &v, next))
			continue;
		if (!found || p->stack_level > win->stack_level ||
		    (p->stack_level == win->stack_level && p->connector > win->connector)) {
			*out = v;
			win = p;
			found = true;
		}
	}
	return found;
}

/* A connector's limit without the ChargePointMaxProfile: Tx, else TxDefault, bounded by
 * the rated current. */
static void
conn_limit(const struct sc_cp_ctx *cp, int conn, int64_t t, int64_t anchor, struct sc_value *out,
           int64_t *next)
{
	const struct sc_conn_ctx *c = &cp->conns[conn - 1];
	struct sc_value v = {.limit_a = c->rated_a, .phases = c->phases, .profile = NULL};
	struct sc_value p;
	if (best_of(cp, SC_PURPOSE_TX, conn, c, c->phases, t, anchor, &p, next) ||
	    best_of(cp, SC_PURPOSE_TX_DEFAULT, conn, c, c->phases, t, anchor, &p, next)) {
		if (p.limit_a <= v.limit_a)
			v = p;
	}
	*out = v;
}

bool
sc_cp_max_at(const struct sc_cp_ctx *cp, int64_t t, int64_t anchor, struct sc_value *out,
             int64_t *next)
{
	*next = SC_NEVER;
	return best_of(cp, SC_PURPOSE_CP_MAX, 0, NULL, cp->phases, t, anchor, out, next);
}

int
sc_limit_at(const struct sc_cp_ctx *cp, int conn, int64_t t, int64_t anchor, struct sc_value *out,
            int64_t *next)
{
	struct sc_value v, max;
	*next = SC_NEVER;
	if (conn < 0 || conn > cp->n_conns)
		return -EINVAL;
	if (conn == 0) {
		v = (struct sc_value){.limit_a = 0, .phases = cp->phases, .profile = NULL};
		for (int i = 1; i <= cp->n_conns; i++) {
			struct sc_value cv;
			conn_limit(cp, i, t, anchor, &cv, next);
			v.limit_a += cv.limit_a;
		}
	} else {
		conn_limit(cp, conn, t, anchor, &v, next);
	}
	if (best_of(cp, SC_PURPOSE_CP_MAX, 0, NULL, cp->phases, t, anchor, &max, next) &&
	    max.limit_a < v.limit_a)
		v = max;
	*out = v;
	return 0;
}

static bool
same_value(const struct sc_value *a, const struct sc_value *b)
{
	return fabs(a->limit_a - b->limit_a) < 1e-9 && a->phases == b->phases;
}

int
sc_composite(const struct sc_cp_ctx *cp, int conn, int64_t from, int64_t to, struct sc_slot *out,
             size_t max, int64_t *end)
{
	size_t n = 0;
	int64_t t = from;
	if (conn < 0 || conn > cp->n_conns || max == 0 || to <= from)
		return -EINVAL;
	for (int steps = 0; t < to && steps < MAX_STEPS; steps++) {
		struct sc_value v;
		int64_t next;
		sc_limit_at(cp, conn, t, from, &v, &next);
		if (n == 0 || !same_value(&out[n - 1].v, &v)) {
			if (n == max)
				break;
			out[n++] = (struct sc_slot){.start = t, .v = v};
		}
		t = next > t ? next : t + 1;
	}
	*end = t < to ? t : to;
	return (int)n;
}

double
sc_value_in(const struct sc_value *v, enum sc_unit unit, double voltage)
{
	double x = unit == SC_UNIT_A ? v->limit_a : v->limit_a * voltage * v->phases;
	return round(x * 10) / 10;
}

struct out_period {
	int64_t start_s;
	double limit;
	int phases;
};

json_t *
sc_schedule_json(const struct sc_slot *slots, size_t n, int64_t from, int64_t to, enum sc_unit unit,
                 double voltage)
{
	char when[SG_TIME_RFC3339_LEN];
	json_t *periods = json_array(), *sched = NULL;
	struct out_period *v = calloc(n ? n : 1, sizeof(*v));
	size_t m = 0;

	if (!periods || !v)
		goto fail;
	/* Whole seconds from `from`; periods rounded onto the same second: the later wins;
	 * neighbours that became equal: one period. */
	for (size_t i = 0; i < n; i++) {
		struct out_period cur = {
		    .start_s = llround((double)(slots[i].start - from) / 1000.0),
		    .limit = sc_value_in(&slots[i].v, unit, voltage),
		    .phases = slots[i].v.phases,
		};
		if (m > 0 && cur.start_s == v[m - 1].start_s)
			m--;
		if (m > 0 && cur.limit == v[m - 1].limit && cur.phases == v[m - 1].phases)
			continue;
		v[m++] = cur;
	}
	for (size_t i = 0; i < m; i++)
		if (json_array_append_new(
		        periods, json_pack("{s:I,s:f,s:i}", "startPeriod", (json_int_t)v[i].start_s,
		                           "limit", v[i].limit, "numberPhases", v[i].phases)) < 0)
			goto fail;
	if (sg_time_format(from, when, sizeof(when)) < 0)
		goto fail;
	sched = json_pack("{s:I,s:s,s:s,s:O}", "duration", (json_int_t)((to - from) / 1000),
	                  "startSchedule", when, "chargingRateUnit", sc_unit_name(unit),
	                  "chargingSchedulePeriod", periods);
fail:
	free(v);
	json_decref(periods);
	return sched;
}

void
sc_value_source(const struct sc_value *v, char *buf, size_t len)
{
	if (v->profile)
		snprintf(buf, len, "%s #%lld", sc_purpose_name(v->profile->purpose),
		         (long long)v->profile->id);
	else
		snprintf(buf, len, "connector rating");
}
