/* The simulated meter ("sim"): the EV behind the connector draws the current
 * the pilot offers while the contactor is closed and the EV is in state C (or D),
 * at the site's voltage on the connector's phases. Energy integrates the power
 * and never goes backwards; voltage, currents, frequency, power factor and the
 * temperature of the body wander a little, deterministically (functions of the
 * time and the connector, so tests can reason about them); the EV's state of
 * charge starts at a plausible value when it is plugged in, rises with the
 * energy charged and makes the EV taper off above 80 %.
 *
 * Pure: time comes in as wall ms from the caller. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter_driver.h"

#define MIN_CURRENT_A     6.0     /* IEC 61851: below this the EV may not charge */
#define BATTERY_WH        60000.0 /* the simulated EV's battery */
#define CHARGE_EFFICIENCY 0.92
#define TAPER_FROM_SOC    80.0
#define TEMP_AMBIENT_C    24.0
#define TEMP_RISE_C       14.0 /* at 32 A */
#define TEMP_TAU_S        300.0
#define NOMINAL_FREQUENCY 50.0
#define TWO_PI            6.283185307179586

struct sim {
	struct meter_driver base;
	struct meter_driver_conf conf;
	struct meter_hw hw;
	double energy_wh;
	int64_t last_ms; /* the state below holds since then; 0: not yet */
	double soc;      /* < 0: no EV */
	double temp_c;
	/* computed at last_ms */
	double draw_a, power_w;
};

static double
wave(double t_s, double period_s, double phase)
{
	return sin(TWO_PI * (t_s / period_s + phase));
}

static int
phases_of(const struct sim *s)
{
	int p = s->conf.phases;

	if (s->hw.known && s->hw.phases > 0 && s->hw.phases < p)
		p = s->hw.phases;
	return p < 1 ? 1 : p > METER_PHASES ? METER_PHASES : p;
}

static bool
charging(const struct sim *s)
{
	const struct meter_hw *h = &s->hw;

	return h->known && h->contactor && (h->ev_state == 'C' || h->ev_state == 'D') &&
	       h->offered_a >= MIN_CURRENT_A - 1e-9;
}

static double
voltage(const struct sim *s, double t, int i, double draw_a)
{
	double v = s->conf.nominal_voltage;
	double c = (double)s->conf.conn;

	return v * (1.0 + 0.008 * wave(t, 173.0, c * 0.13 + i / 3.0) +
	            0.002 * wave(t, 11.3, c * 0.07 + i * 0.29) - 0.004 * draw_a / 32.0);
}

/* Per-phase current the EV draws now. */
static double
draw(const struct sim *s, double t)
{
	double a, taper = 1.0;

	if (!charging(s))
		return 0;
	if (s->soc >= TAPER_FROM_SOC)
		taper = (100.0 - s->soc) / (100.0 - TAPER_FROM_SOC);
	if (taper <= 0)
		return 0;
	a = s->hw.offered_a * (0.988 + 0.008 * wave(t, 61.0, s->conf.conn * 0.21)) * taper;
	return a > 0 ? a : 0;
}

static double
power_factor(const struct sim *s, double t, double draw_a)
{
	return draw_a > 0 ? 0.986 + 0.008 * wave(t, 89.0, s->conf.conn * 0.17) : 1.0;
}

/* Recomputes the state that holds from now on. */
static void
settle(struct sim *s, int64_t now_ms)
{
	double t = (double)now_ms / 1000.0;
	int phases = phases_of(s);
	double pf, p = 0;

	s->draw_a = draw(s, t);
	pf = power_factor(s, t, s->draw_a);
	for (int i = 0; i < phases; i++)
		p += voltage(s, t, i, s->draw_a) * s->draw_a *
		     (1.0 + 0.004 * wave(t, 7.7, i * 0.35));
	s->power_w = p * pf;
	s->last_ms = now_ms;
}

/* Integrates from last_ms to now with the state in effect, then settles. */
static void
advance(struct sim *s, int64_t now_ms)
{
	int64_t dt = now_ms - s->last_ms;

	if (s->last_ms == 0 || dt <= 0) {
		/* first call, or the wall clock went back: nothing to add */
		settle(s, now_ms);
		return;
	}
	double before = s->energy_wh;

	s->energy_wh = meter_energy_add(s->energy_wh, s->power_w, dt);
	if (s->soc >= 0) {
		s->soc += (s->energy_wh - before) * CHARGE_EFFICIENCY / BATTERY_WH * 100.0;
		if (s->soc > 100.0)
			s->soc = 100.0;
	}
	double target = TEMP_AMBIENT_C + 0.3 * s->conf.conn +
	                TEMP_RISE_C * (s->draw_a / 32.0) * (s->draw_a / 32.0);
	double k = 1.0 - exp(-(double)dt / 1000.0 / TEMP_TAU_S);
	s->temp_c += (target - s->temp_c) * k;
	settle(s, now_ms);
}

static struct meter_driver *
sim_create(const struct meter_driver_conf *conf)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &meter_sim_ops;
	s->conf = *conf;
	s->soc = -1;
	s->temp_c = TEMP_AMBIENT_C + 0.3 * conf->conn;
	return &s->base;
}

static void
sim_destroy(struct meter_driver *d)
{
	free(d);
}

static void
sim_restore(struct meter_driver *d, double energy_wh, int64_t wall_ms)
{
	struct sim *s = (struct sim *)d;

	if (energy_wh > s->energy_wh)
		s->energy_wh = energy_wh;
	settle(s, wall_ms);
}

static void
sim_hw(struct meter_driver *d, const struct meter_hw *hw, int64_t wall_ms)
{
	struct sim *s = (struct sim *)d;
	bool was_plugged = s->hw.known && s->hw.plugged;

	advance(s, wall_ms); /* what happened so far, with the old state */
	s->hw = *hw;
	if (hw->known && hw->plugged && !was_plugged) {
		/* A new EV: 15..64 %, from the connector and the minute it came. */
		int64_t minute = wall_ms / 60000;
		s->soc = 15.0 + (double)((s->conf.conn * 37 + minute) % 50);
	} else if (!hw->known || !hw->plugged) {
		s->soc = -1;
	}
	settle(s, wall_ms);
}

static int
sim_read(struct meter_driver *d, int64_t wall_ms, struct meter_reading *out)
{
	struct sim *s = (struct sim *)d;
	double t = (double)wall_ms / 1000.0;
	int phases;

	advance(s, wall_ms);
	phases = phases_of(s);
	memset(out, 0, sizeof(*out));
	out->ts = wall_ms;
	out->energy_wh = s->energy_wh;
	out->power_w = s->power_w;
	out->phases = phases;
	for (int i = 0; i < phases; i++) {
		out->voltage_v[i] = voltage(s, t, i, s->draw_a);
		out->current_a[i] = s->draw_a * (1.0 + 0.004 * wave(t, 7.7, i * 0.35));
		out->offered_w += (s->hw.known ? s->hw.offered_a : 0) * out->voltage_v[i];
	}
	out->frequency_hz = NOMINAL_FREQUENCY + 0.02 * wave(t, 37.0, 0) + 0.01 * wave(t, 5.3, 0.5);
	out->power_factor = power_factor(s, t, s->draw_a);
	out->temperature_c = s->temp_c;
	out->soc = s->soc;
	out->offered_a = s->hw.known ? s->hw.offered_a : 0;
	return 0;
}

const struct meter_driver_ops meter_sim_ops = {
    .name = "sim",
    .soft_register = true,
    .create = sim_create,
    .destroy = sim_destroy,
    .restore = sim_restore,
    .hw = sim_hw,
    .read = sim_read,
};
