/* Charging profiles: decoding, installation rules and the per charge point set. See
 * profiles.h. The Central System's payloads reach us validated against the OCPP 1.6 schema
 * by the bridge, but profiles also come back from the database and from tx_event, so the
 * decoder checks everything again and trusts nothing. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/time.h"

#include "profiles.h"

/* No schedule offset, duration or period start beyond ten years makes sense. */
#define MAX_SECONDS (10LL * 366 * 86400)

static const char *const purpose_names[] = {
    [SC_PURPOSE_CP_MAX] = "ChargePointMaxProfile",
    [SC_PURPOSE_TX_DEFAULT] = "TxDefaultProfile",
    [SC_PURPOSE_TX] = "TxProfile",
};

const char *
sc_purpose_name(enum sc_purpose p)
{
	return (unsigned)p < sizeof(purpose_names) / sizeof(purpose_names[0]) ? purpose_names[p]
	                                                                      : "?";
}

const char *
sc_unit_name(enum sc_unit u)
{
	return u == SC_UNIT_W ? "W" : "A";
}

int
sc_purpose_parse(const char *s, enum sc_purpose *out)
{
	for (size_t i = 0; s && i < sizeof(purpose_names) / sizeof(purpose_names[0]); i++) {
		if (strcmp(s, purpose_names[i]) == 0) {
			*out = (enum sc_purpose)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t len, const char *fmt, ...)
{
	if (why && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* An integer member: absent (returns 1, *out untouched), an integer within [lo, hi]
 * (returns 0) or anything else (-EINVAL). */
static int
get_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, char *why,
        size_t len)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 1;
	if (!json_is_integer(v))
		return fail(why, len, "%s is not an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < lo || i > hi)
		return fail(why, len, "%s %lld is out of range", key, (long long)i);
	*out = i;
	return 0;
}

/* A number member >= 0 (an integer is fine). */
static int
get_number(const json_t *obj, const char *key, double *out, char *why, size_t len)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 1;
	if (!json_is_number(v))
		return fail(why, len, "%s is not a number", key);
	double d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e9)
		return fail(why, len, "%s %g is out of range", key, d);
	*out = d;
	return 0;
}

static int
get_time(const json_t *obj, const char *key, int64_t *out, char *why, size_t len)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 1;
	if (!json_is_string(v) || sg_time_parse(json_string_value(v), out) < 0)
		return fail(why, len, "%s is not an RFC 3339 timestamp", key);
	return 0;
}

static int
get_enum(const json_t *obj, const char *key, const char *const *names, size_t n, int *out,
         char *why, size_t len)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 1;
	const char *s = json_string_value(v);
	for (size_t i = 0; s && i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return fail(why, len, "%s is not one of its values", key);
}

static int
parse_periods(const json_t *arr, struct sc_profile *p, char *why, size_t len)
{
	if (!json_is_array(arr))
		return fail(why, len, "chargingSchedulePeriod is not an array");
	size_t n = json_array_size(arr);
	if (n == 0)
		return fail(why, len, "chargingSchedulePeriod is empty");
	if (n > SC_PERIODS_HARD_MAX)
		return fail(why, len, "%zu schedule periods, more than %d", n, SC_PERIODS_HARD_MAX);
	p->periods = calloc(n, sizeof(*p->periods));
	if (!p->periods)
		return -ENOMEM;
	p->n_periods = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		struct sc_period *sp = &p->periods[i];
		int64_t phases = 0;
		if (!json_is_object(e))
			return fail(why, len, "schedule period %zu is not an object", i);
		if (get_int(e, "startPeriod", 0, MAX_SECONDS, &sp->start_s, why, len) != 0)
			return fail(why, len, "schedule period %zu: bad or missing startPeriod", i);
		if (get_number(e, "limit", &sp->limit, why, len) != 0)
			return fail(why, len, "schedule period %zu: bad or missing limit", i);
		if (get_int(e, "numberPhases", 1, 3, &phases, why, len) < 0)
			return fail(why, len, "schedule period %zu: numberPhases must be 1..3", i);
		sp->phases = (int)phases;
		if (i > 0 && sp->start_s <= p->periods[i - 1].start_s)
			return fail(why, len,
			            "schedule period %zu does not start after the one before", i);
	}
	return 0;
}

int
sc_profile_parse(json_t *obj, int connector, struct sc_profile *out, char *why, size_t why_len)
{
	static const char *const kinds[] = {"Absolute", "Recurring", "Relative"};
	static const char *const recurrencies[] = {"", "Daily", "Weekly"};
	static const char *const units[] = {"A", "W"};
	struct sc_profile p = {
	    .valid_from = SC_TIME_MIN,
	    .valid_to = SC_TIME_MAX,
	    .duration_s = -1,
	    .min_rate = -1,
	};
	int v = 0, rc;
	const json_t *sched;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return fail(why, why_len, "the charging profile is not an object");
	if (connector < 0)
		return fail(why, why_len, "connectorId %d is negative", connector);
	p.connector = connector;
	if (get_int(obj, "chargingProfileId", INT32_MIN, INT32_MAX, &p.id, why, why_len) != 0)
		return fail(why, why_len, "bad or missing chargingProfileId");
	if (get_int(obj, "stackLevel", 0, INT32_MAX, &p.stack_level, why, why_len) != 0)
		return fail(why, why_len, "bad or missing stackLevel (an integer >= 0)");
	if (get_enum(obj, "chargingProfilePurpose", purpose_names, 3, &v, why, why_len) != 0)
		return fail(why, why_len, "bad or missing chargingProfilePurpose");
	p.purpose = (enum sc_purpose)v;
	if (get_enum(obj, "chargingProfileKind", kinds, 3, &v, why, why_len) != 0)
		return fail(why, why_len, "bad or missing chargingProfileKind");
	p.kind = (enum sc_kind)v;
	rc = get_enum(obj, "recurrencyKind", recurrencies, 3, &v, why, why_len);
	if (rc < 0)
		return rc;
	if (p.kind == SC_KIND_RECURRING) {
		if (rc != 0 || v == SC_RECUR_NONE)
			return fail(why, why_len, "a Recurring profile needs a recurrencyKind");
		p.recurrency = (enum sc_recurrency)v;
	}
	if (get_int(obj, "transactionId", INT32_MIN, INT32_MAX, &p.transaction_id, why, why_len) <
	    0)
		return -EINVAL;
	if (get_time(obj, "validFrom", &p.valid_from, why, why_len) < 0 ||
	    get_time(obj, "validTo", &p.valid_to, why, why_len) < 0)
		return -EINVAL;
	if (p.valid_to <= p.valid_from)
		return fail(why, why_len, "validTo is not after validFrom");

	sched = json_object_get(obj, "chargingSchedule");
	if (!json_is_object(sched))
		return fail(why, why_len, "bad or missing chargingSchedule");
	/* duration 0 schedules nothing; Central Systems that send it mean "no duration". */
	rc = get_int(sched, "duration", 0, MAX_SECONDS, &p.duration_s, why, why_len);
	if (rc < 0)
		return rc;
	if (p.duration_s == 0)
		p.duration_s = -1;
	rc = get_time(sched, "startSchedule", &p.start_schedule, why, why_len);
	if (rc < 0)
		return rc;
	/* A Relative schedule starts where the charge point says: a startSchedule means nothing. */
	p.has_start = rc == 0 && p.kind != SC_KIND_RELATIVE;
	if (p.kind == SC_KIND_RECURRING && !p.has_start)
		return fail(why, why_len, "a Recurring profile needs a startSchedule");
	if (get_enum(sched, "chargingRateUnit", units, 2, &v, why, why_len) != 0)
		return fail(why, why_len, "bad or missing chargingRateUnit");
	p.unit = (enum sc_unit)v;
	if (get_number(sched, "minChargingRate", &p.min_rate, why, why_len) < 0)
		return -EINVAL;
	rc = parse_periods(json_object_get(sched, "chargingSchedulePeriod"), &p, why, why_len);
	if (rc < 0) {
		free(p.periods);
		return rc;
	}
	p.json = json_incref(obj);
	*out = p;
	return 0;
}

void
sc_profile_clear(struct sc_profile *p)
{
	if (!p)
		return;
	free(p->periods);
	json_decref(p->json);
	memset(p, 0, sizeof(*p));
}

int
sc_profile_copy(const struct sc_profile *src, struct sc_profile *dst)
{
	*dst = *src;
	dst->periods = calloc(src->n_periods ? src->n_periods : 1, sizeof(*dst->periods));
	if (!dst->periods) {
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	memcpy(dst->periods, src->periods, src->n_periods * sizeof(*dst->periods));
	dst->json = json_incref(src->json);
	return 0;
}

int
sc_profile_check(const struct sc_profile *p, const struct sc_rules *rules,
                 const struct sc_tx_view *tx, int64_t now, char *why, size_t why_len)
{
	if (p->connector > rules->n_connectors)
		return fail(why, why_len, "no connector %d", p->connector);
	if (p->stack_level > rules->max_stack_level)
		return fail(why, why_len,
		            "stackLevel %lld is above ChargeProfileMaxStackLevel %lld",
		            (long long)p->stack_level, (long long)rules->max_stack_level);
	if ((int64_t)p->n_periods > rules->max_periods)
		return fail(why, why_len, "%zu periods, more than ChargingScheduleMaxPeriods %lld",
		            p->n_periods, (long long)rules->max_periods);
	if ((p->unit == SC_UNIT_A && !rules->allow_a) || (p->unit == SC_UNIT_W && !rules->allow_w))
		return fail(why, why_len,
		            "chargingRateUnit %s is not in ChargingScheduleAllowedChargingRateUnit",
		            sc_unit_name(p->unit));
	if (p->valid_to <= now)
		return fail(why, why_len, "validTo is in the past");
	switch (p->purpose) {
	case SC_PURPOSE_CP_MAX:
		if (p->connector != 0)
			return fail(why, why_len, "a ChargePointMaxProfile belongs on connector 0");
		break;
	case SC_PURPOSE_TX_DEFAULT:
		break;
	case SC_PURPOSE_TX:
		if (p->connector == 0)
			return fail(why, why_len, "a TxProfile needs a connector, not 0");
		if (!tx || !tx->active)
			return fail(why, why_len, "no transaction on connector %d", p->connector);
		if (p->transaction_id != 0 && p->transaction_id != tx->transaction_id)
			return fail(why, why_len,
			            "transactionId %lld is not the running transaction (%lld)",
			            (long long)p->transaction_id, (long long)tx->transaction_id);
		break;
	}
	return 0;
}

/* ---- the set ----------------------------------------------------------------------- */

static bool
replaces(const struct sc_profile *new, const struct sc_profile *old)
{
	return new->id == old->id || (new->stack_level == old->stack_level &&new->purpose ==
	                              old->purpose &&new->connector == old->connector);
}

static void
remove_at(struct sc_profile_set *s, size_t i)
{
	sc_profile_clear(&s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
}

int
sc_set_install(struct sc_profile_set *s, struct sc_profile *p, int64_t max_profiles,
               size_t *replaced)
{
	size_t n_replaced = 0;
	for (size_t i = 0; i < s->n; i++)
		n_replaced += replaces(p, &s->v[i]);
	if ((int64_t)(s->n - n_replaced + 1) > max_profiles)
		return -ENOSPC;
	if (s->n - n_replaced + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct sc_profile *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	for (size_t i = s->n; i-- > 0;)
		if (replaces(p, &s->v[i]))
			remove_at(s, i);
	s->v[s->n++] = *p;
	memset(p, 0, sizeof(*p));
	if (replaced)
		*replaced = n_replaced;
	return 0;
}

static bool
matches(const struct sc_profile *p, const struct sc_clear_filter *f)
{
	if (f->has_id)
		return p->id == f->id;
	return (!f->has_connector || p->connector == f->connector) &&
	       (!f->has_purpose || p->purpose == f->purpose) &&
	       (!f->has_stack || p->stack_level == f->stack_level);
}

size_t
sc_set_clear(struct sc_profile_set *s, const struct sc_clear_filter *f)
{
	size_t n = 0;
	for (size_t i = s->n; i-- > 0;) {
		if (matches(&s->v[i], f)) {
			remove_at(s, i);
			n++;
		}
	}
	return n;
}

size_t
sc_set_drop_tx(struct sc_profile_set *s, int connector)
{
	struct sc_clear_filter f = {.has_connector = true,
	                            .connector = connector,
	                            .has_purpose = true,
	                            .purpose = SC_PURPOSE_TX};
	return sc_set_clear(s, &f);
}

const struct sc_profile *
sc_set_find(const struct sc_profile_set *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return &s->v[i];
	return NULL;
}

void
sc_set_free(struct sc_profile_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		sc_profile_clear(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
