/* sitegate-meter's pure logic (see meter.h): measurands, clock alignment,
 * readings, MeterValue objects and the bounded stop transaction data. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitegate/time.h"

#include "meter.h"

/* ---- measurands ---------------------------------------------------------- */

static const char *const measurand_names[METER__MEASURANDS] = {
    [METER_EAIR] = "Energy.Active.Import.Register",
    [METER_EAII] = "Energy.Active.Import.Interval",
    [METER_PAI] = "Power.Active.Import",
    [METER_PO] = "Power.Offered",
    [METER_CI] = "Current.Import",
    [METER_CO] = "Current.Offered",
    [METER_V] = "Voltage",
    [METER_F] = "Frequency",
    [METER_PF] = "Power.Factor",
    [METER_T] = "Temperature",
    [METER_SOC] = "SoC",
};

const char meter_supported_csl[] =
    "Energy.Active.Import.Register,Energy.Active.Import.Interval,Power.Active.Import,"
    "Power.Offered,Current.Import,Current.Offered,Voltage,Frequency,Power.Factor,Temperature,"
    "SoC";

/* OCPP 1.6 Measurand values this meter cannot measure. */
static const char *const unsupported_names[] = {
    "Current.Export",
    "Energy.Active.Export.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Power.Active.Export",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "RPM",
};

const char *
meter_measurand_name(enum meter_measurand m)
{
	return (int)m >= 0 && m < METER__MEASURANDS ? measurand_names[m] : NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
member_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

int
meter_measurands_parse(const char *csl, uint32_t *mask, char *why, size_t why_len)
{
	const char *p = csl ? csl : "";
	uint32_t m = 0;

	*mask = 0;
	while (is_blank(*p))
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		size_t len = strcspn(p, ","), n = len;
		const char *start = p;
		int found = -1;

		while (n > 0 && is_blank(*start)) {
			start++;
			n--;
		}
		while (n > 0 && is_blank(start[n - 1]))
			n--;
		if (n == 0) {
			snprintf(why, why_len, "empty member in the list");
			return -EINVAL;
		}
		for (int i = 0; i < METER__MEASURANDS; i++)
			if (member_is(start, n, measurand_names[i]))
				found = i;
		if (found < 0) {
			bool known = false;

			for (size_t i = 0;
			     i < sizeof(unsupported_names) / sizeof(*unsupported_names); i++)
				known |= member_is(start, n, unsupported_names[i]);
			snprintf(why, why_len, "%s measurand \"%.*s\"",
			         known ? "unsupported" : "unknown", (int)(n > 64 ? 64 : n), start);
			return -EINVAL;
		}
		m |= METER_MASK(found);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*mask = m;
	return 0;
}

/* ---- alignment ----------------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
meter_align_floor(int64_t wall_ms, int64_t interval_s)
{
	int64_t day = floor_div(wall_ms, METER_DAY_MS) * METER_DAY_MS;
	int64_t step = interval_s * 1000;

	return day + (wall_ms - day) / step * step;
}

int64_t
meter_align_next(int64_t wall_ms, int64_t interval_s)
{
	int64_t day = floor_div(wall_ms, METER_DAY_MS) * METER_DAY_MS;
	int64_t next = meter_align_floor(wall_ms, interval_s) + interval_s * 1000;

	/* the day's last interval ends at midnight, however short it is */
	return next < day + METER_DAY_MS ? next : day + METER_DAY_MS;
}

bool
meter_align_due(int64_t now_ms, int64_t interval_s, int64_t last_done, int64_t *boundary)
{
	int64_t b = meter_align_floor(now_ms, interval_s);

	if (b <= last_done)
		return false;
	*boundary = b;
	return true;
}

int64_t
meter_sample_next(int64_t start_ms, int64_t now_ms, int64_t interval_s)
{
	int64_t step = interval_s * 1000;

	if (now_ms < start_ms)
		return start_ms + step;
	return start_ms + (floor_div(now_ms - start_ms, step) + 1) * step;
}

/* ---- readings ------------------------------------------------------------ */

double
meter_energy_add(double energy_wh, double power_w, int64_t dt_ms)
{
	if (!(power_w > 0) || dt_ms <= 0)
		return energy_wh;
	return energy_wh + power_w * (double)dt_ms / 3600000.0;
}

void
meter_avg_add(struct meter_avg *avg, const struct meter_reading *r, int64_t dt_ms)
{
	double w = (double)dt_ms;

	if (dt_ms <= 0)
		return;
	avg->ms += dt_ms;
	avg->power_w += r->power_w * w;
	for (int i = 0; i < METER_PHASES; i++) {
		avg->current_a[i] += r->current_a[i] * w;
		avg->voltage_v[i] += r->voltage_v[i] * w;
	}
	avg->frequency_hz += r->frequency_hz * w;
	avg->power_factor += r->power_factor * w;
	avg->temperature_c += r->temperature_c * w;
	avg->offered_a += r->offered_a * w;
	avg->offered_w += r->offered_w * w;
}

void
meter_avg_apply(const struct meter_avg *avg, const struct meter_reading *now,
                struct meter_reading *out)
{
	double t = (double)avg->ms;

	if (out != now)
		*out = *now;
	if (avg->ms <= 0)
		return;
	out->power_w = avg->power_w / t;
	for (int i = 0; i < METER_PHASES; i++) {
		out->current_a[i] = avg->current_a[i] / t;
		out->voltage_v[i] = avg->voltage_v[i] / t;
	}
	out->frequency_hz = avg->frequency_hz / t;
	out->power_factor = avg->power_factor / t;
	out->temperature_c = avg->temperature_c / t;
	out->offered_a = avg->offered_a / t;
	out->offered_w = avg->offered_w / t;
}

void
meter_reading_sum(const struct meter_reading *parts, size_t n, struct meter_reading *out)
{
	double vsum[METER_PHASES] = {0}, vn[METER_PHASES] = {0};
	double pf_weighted = 0, pf_plain = 0;

	memset(out, 0, sizeof(*out));
	out->soc = -1;
	out->temperature_c = -273.15;
	for (size_t k = 0; k < n; k++) {
		const struct meter_reading *r = &parts[k];

		if (r->ts > out->ts)
			out->ts = r->ts;
		out->energy_wh += r->energy_wh;
		out->power_w += r->power_w;
		out->offered_a += r->offered_a;
		out->offered_w += r->offered_w;
		if (r->phases > out->phases)
			out->phases = r->phases;
		for (int i = 0; i < r->phases && i < METER_PHASES; i++) {
			out->current_a[i] += r->current_a[i];
			vsum[i] += r->voltage_v[i];
			vn[i] += 1;
		}
		out->frequency_hz += r->frequency_hz;
		pf_weighted += r->power_factor * r->power_w;
		pf_plain += r->power_factor;
		if (r->temperature_c > out->temperature_c)
			out->temperature_c = r->temperature_c;
	}
	if (n == 0) {
		out->temperature_c = 0;
		return;
	}
	for (int i = 0; i < METER_PHASES; i++)
		out->voltage_v[i] = vn[i] > 0 ? vsum[i] / vn[i] : 0;
	out->frequency_hz /= (double)n;
	out->power_factor = out->power_w > 0 ? pf_weighted / out->power_w : pf_plain / (double)n;
}

/* ---- MeterValue objects ------------------------------------------------- */

/* Decimal text of v with the given decimals; never "-0". */
static json_t *
number(double v, int decimals)
{
	char buf[48];

	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
		memmove(buf, buf + 1, strlen(buf));
	return json_string(buf);
}

static int
add_value(json_t *list, json_t *value, const char *context, const char *measurand,
          const char *phase, const char *location, const char *unit)
{
	json_t *sv = json_object();

	if (!sv || !value) {
		json_decref(sv);
		json_decref(value);
		return -ENOMEM;
	}
	json_object_set_new(sv, "value", value);
	if (context)
		json_object_set_new(sv, "context", json_string(context));
	json_object_set_new(sv, "format", json_string("Raw"));
	json_object_set_new(sv, "measurand", json_string(measurand));
	if (phase)
		json_object_set_new(sv, "phase", json_string(phase));
	json_object_set_new(sv, "location", json_string(location));
	if (unit)
		json_object_set_new(sv, "unit", json_string(unit));
	return json_array_append_new(list, sv) == 0 ? 0 : -ENOMEM;
}

static const char *const current_phases[METER_PHASES] = {"L1", "L2", "L3"};
static const char *const voltage_phases[METER_PHASES] = {"L1-N", "L2-N", "L3-N"};

json_t *
meter_value_json(const struct meter_reading *r, uint32_t mask, const struct meter_value_opts *o)
{
	const char *ctx = o->context, *at = o->inlet ? "Inlet" : "Outlet";
	int phases = r->phases < 1 ? 1 : r->phases > METER_PHASES ? METER_PHASES : r->phases;
	char ts[SG_TIME_RFC3339_LEN];
	json_t *list = json_array(), *mv = NULL;
	int rc = 0;

	if (!list || sg_time_format(r->ts, ts, sizeof(ts)) < 0)
		goto fail;
	/* The units follow OCPP 1.6 UnitOfMeasure: Frequency and Power.Factor have
	 * none; temperatures keep the schema's spelling "Celcius", which the OCPP-J
	 * 1.6 errata tell charge points to send (Central Systems accept both). */
	for (int m = 0; m < METER__MEASURANDS && rc == 0; m++) {
		const char *name = measurand_names[m];

		if (!(mask & METER_MASK(m)))
			continue;
		switch ((enum meter_measurand)m) {
		case METER_EAIR:
			rc = add_value(list, number(r->energy_wh, 1), ctx, name, NULL, at, "Wh");
			break;
		case METER_EAII:
			if (o->has_interval)
				rc = add_value(list,
				               number(o->interval_wh < 0 ? 0 : o->interval_wh, 1),
				               ctx, name, NULL, at, "Wh");
			break;
		case METER_PAI:
			rc = add_value(list, number(r->power_w, 1), ctx, name, NULL, at, "W");
			break;
		case METER_PO:
			rc = add_value(list, number(r->offered_w, 1), ctx, name, NULL, at, "W");
			break;
		case METER_CI:
			for (int i = 0; i < phases && rc == 0; i++)
				rc = add_value(list, number(r->current_a[i], 2), ctx, name,
				               current_phases[i], at, "A");
			break;
		case METER_CO:
			rc = add_value(list, number(r->offered_a, 1), ctx, name, NULL, at, "A");
			break;
		case METER_V:
			for (int i = 0; i < phases && rc == 0; i++)
				rc = add_value(list, number(r->voltage_v[i], 1), ctx, name,
				               voltage_phases[i], at, "V");
			break;
		case METER_F:
			rc = add_value(list, number(r->frequency_hz, 2), ctx, name, NULL, at, NULL);
			break;
		case METER_PF:
			rc = add_value(list, number(r->power_factor, 3), ctx, name, NULL, at, NULL);
			break;
		case METER_T:
			rc = add_value(list, number(r->temperature_c, 1), ctx, name, NULL, "Body",
			               "Celcius");
			break;
		case METER_SOC:
			if (r->soc >= 0 && !o->inlet)
				rc = add_value(list, number(r->soc, 0), ctx, name, NULL, "EV",
				               "Percent");
			break;
		case METER__MEASURANDS:
			break;
		}
	}
	if (rc < 0 || json_array_size(list) == 0)
		goto fail;
	mv = json_object();
	if (!mv)
		goto fail;
	json_object_set_new(mv, "timestamp", json_string(ts));
	json_object_set_new(mv, "sampledValue", list);
	return mv;
fail:
	json_decref(list);
	return NULL;
}

/* ---- stop transaction data ---------------------------------------------- */

size_t
meter_json_size(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;

	free(s);
	return n;
}

static int
sd_push(struct meter_stopdata *sd, int64_t seq, int64_t idx, enum meter_sd_kind kind, json_t *mv)
{
	if (sd->n == sd->cap) {
		size_t cap = sd->cap ? sd->cap * 2 : 16;
		struct meter_sd_entry *e = realloc(sd->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		sd->e = e;
		sd->cap = cap;
	}
	sd->e[sd->n] = (struct meter_sd_entry){.seq = seq,
	                                       .idx = idx,
	                                       .kind = kind,
	                                       .mv = json_incref(mv),
	                                       .bytes = meter_json_size(mv)};
	sd->bytes += sd->e[sd->n].bytes;
	sd->n++;
	if (seq >= sd->next_seq)
		sd->next_seq = seq + 1;
	if (kind != METER_SD_BEGIN && idx >= sd->next_idx[kind])
		sd->next_idx[kind] = idx + 1;
	return 0;
}

static void
sd_remove(struct meter_stopdata *sd, size_t i, meter_sd_gone_fn *gone, void *ud)
{
	struct meter_sd_entry e = sd->e[i];

	sd->bytes -= e.bytes;
	json_decref(e.mv);
	memmove(&sd->e[i], &sd->e[i + 1], (sd->n - i - 1) * sizeof(*sd->e));
	sd->n--;
	if (gone)
		gone(e.seq, ud);
}

/* The index of the newest entry of kind, or -1. */
static ptrdiff_t
sd_last_of(const struct meter_stopdata *sd, enum meter_sd_kind kind)
{
	for (size_t i = sd->n; i-- > 0;)
		if (sd->e[i].kind == kind)
			return (ptrdiff_t)i;
	return -1;
}

/* Removes the periodic entries off stride, except the newest of each kind. */
static size_t
sd_thin(struct meter_stopdata *sd, int64_t stride, meter_sd_gone_fn *gone, void *ud)
{
	ptrdiff_t last_s = sd_last_of(sd, METER_SD_SAMPLED),
	          last_a = sd_last_of(sd, METER_SD_ALIGNED);
	size_t removed = 0;

	for (size_t i = sd->n; i-- > 0;) {
		const struct meter_sd_entry *e = &sd->e[i];

		if (e->kind == METER_SD_BEGIN || (ptrdiff_t)i == last_s || (ptrdiff_t)i == last_a ||
		    e->idx % stride == 0)
			continue;
		sd_remove(sd, i, gone, ud);
		removed++;
	}
	return removed;
}

static bool
over(const struct meter_stopdata *sd, const struct meter_sd_limits *l)
{
	/* One place stays free for Transaction.End, about as big as the newest. */
	size_t newest = sd->n ? sd->e[sd->n - 1].bytes : 0;

	return sd->n + 1 > l->max_values || (l->max_bytes && sd->bytes + newest > l->max_bytes);
}

int
meter_sd_add(struct meter_stopdata *sd, enum meter_sd_kind kind, json_t *mv,
             const struct meter_sd_limits *limits, meter_sd_gone_fn *gone, void *ud)
{
	int64_t idx = kind == METER_SD_BEGIN ? 0 : sd->next_idx[kind];
	size_t removed = 0;
	int rc;

	if (sd->stride < 1)
		sd->stride = 1;
	rc = sd_push(sd, sd->next_seq, idx, kind, mv);
	if (rc < 0)
		return rc;
	/* The newest value of a kind stays only until the next one comes, unless it
	 * lies on the stride. */
	if (kind != METER_SD_BEGIN) {
		ptrdiff_t last;

		sd->n--; /* look past the new one */
		last = sd_last_of(sd, kind);
		sd->n++;
		if (last >= 0 && sd->e[last].idx % sd->stride != 0) {
			sd_remove(sd, (size_t)last, gone, ud);
			removed++;
		}
	}
	while (over(sd, limits)) {
		int64_t max_idx = sd->next_idx[METER_SD_SAMPLED] > sd->next_idx[METER_SD_ALIGNED]
		                      ? sd->next_idx[METER_SD_SAMPLED]
		                      : sd->next_idx[METER_SD_ALIGNED];
		size_t r;

		if (sd->stride >= max_idx)
			break; /* only the first and the newest of each kind are left */
		sd->stride *= 2;
		sd->halvings++;
		r = sd_thin(sd, sd->stride, gone, ud);
		removed += r;
	}
	return (int)removed;
}

int
meter_sd_restore(struct meter_stopdata *sd, int64_t seq, int64_t idx, enum meter_sd_kind kind,
                 json_t *mv)
{
	return sd_push(sd, seq, kind == METER_SD_BEGIN ? 0 : idx, kind, mv);
}

json_t *
meter_sd_build(const struct meter_stopdata *sd, json_t *end)
{
	json_t *a;

	if (sd->n == 0 && !end)
		return NULL;
	a = json_array();
	for (size_t i = 0; a && i < sd->n; i++)
		if (json_array_append(a, sd->e[i].mv) < 0) {
			json_decref(a);
			return NULL;
		}
	if (a && end && json_array_append(a, end) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

void
meter_sd_clear(struct meter_stopdata *sd)
{
	for (size_t i = 0; i < sd->n; i++)
		json_decref(sd->e[i].mv);
	free(sd->e);
	memset(sd, 0, sizeof(*sd));
}
