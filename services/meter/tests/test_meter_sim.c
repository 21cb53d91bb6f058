/* Unit tests of the simulated meter (meter_sim.c): power follows what the pilot
 * offers while the contactor is closed and the EV is in state C, energy
 * integrates and never goes backwards, the rest moves plausibly and
 * deterministically. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "meter_driver.h"

#define SEC 1000
#define T0  INT64_C(1795000000000) /* 2026-11-18 */

static struct meter_driver *
sim(int conn, int phases)
{
	struct meter_driver_conf c = {.cp = "CP1",
	                              .conn = conn,
	                              .phases = phases,
	                              .max_current_a = 32,
	                              .nominal_voltage = 230};
	struct meter_driver *d = meter_driver_find("sim")->create(&c);

	assert_non_null(d);
	assert_true(d->ops->soft_register);
	return d;
}

static struct meter_reading
read_at(struct meter_driver *d, int64_t t)
{
	struct meter_reading r;

	assert_int_equal(d->ops->read(d, t, &r), 0);
	assert_int_equal(r.ts, t);
	return r;
}

static void
set_hw(struct meter_driver *d, int64_t t, bool plugged, char ev, bool contactor, double amps,
       int phases)
{
	struct meter_hw hw = {.known = true,
	                      .plugged = plugged,
	                      .ev_state = ev,
	                      .contactor = contactor,
	                      .offered_a = amps,
	                      .phases = phases};

	d->ops->hw(d, &hw, t);
}

static void
test_registry(void **state)
{
	assert_ptr_equal(meter_driver_find("sim"), &meter_sim_ops);
	assert_null(meter_driver_find("modbus"));
	assert_null(meter_driver_find(NULL));
}

static void
test_idle(void **state)
{
	struct meter_driver *d = sim(1, 3);

	for (int i = 0; i < 100; i++) {
		struct meter_reading r = read_at(d, T0 + i * SEC);

		assert_true(r.energy_wh == 0);
		assert_true(r.power_w == 0);
		assert_int_equal(r.phases, 3);
		for (int p = 0; p < 3; p++) {
			assert_true(r.current_a[p] == 0);
			assert_true(fabs(r.voltage_v[p] - 230) < 230 * 0.02);
		}
		assert_true(fabs(r.frequency_hz - 50) < 0.05);
		assert_true(r.power_factor == 1.0);
		assert_true(r.soc < 0); /* no EV */
		assert_true(r.offered_a == 0);
		assert_true(r.temperature_c > 20 && r.temperature_c < 30);
	}
	d->ops->destroy(d);
}

/* 16 A on three phases at 230 V: about 11 kW, and 11 kWh an hour. */
static void
test_charging_follows_offer(void **state)
{
	struct meter_driver *d = sim(1, 3);
	int64_t t = T0;
	double prev_wh = 0, prev_soc, first_temp;
	struct meter_reading r;

	set_hw(d, t, true, 'B', false, 16, 0);
	r = read_at(d, t + SEC);
	assert_true(r.power_w == 0); /* plugged, not charging */
	assert_true(r.soc >= 15 && r.soc < 65);
	assert_true(r.offered_a == 16);
	assert_true(fabs(r.offered_w - 16 * (r.voltage_v[0] + r.voltage_v[1] + r.voltage_v[2])) <
	            1e-6);
	prev_soc = r.soc;
	first_temp = r.temperature_c;

	t += 2 * SEC;
	set_hw(d, t, true, 'C', true, 16, 3);
	for (int i = 1; i <= 3600; i++) {
		r = read_at(d, t + i * SEC);
		double expect = 16 * 230 * 3;
		assert_true(r.power_w > expect * 0.95 && r.power_w < expect * 1.03);
		for (int p = 0; p < 3; p++)
			assert_true(r.current_a[p] > 15.5 && r.current_a[p] <= 16.1);
		assert_true(r.power_factor > 0.97 && r.power_factor < 1.0);
		assert_true(r.energy_wh > prev_wh); /* rises, never back */
		prev_wh = r.energy_wh;
	}
	assert_true(r.energy_wh > 10500 && r.energy_wh < 11300);
	assert_true(r.soc > prev_soc + 15); /* ~11 kWh of 60 */
	assert_true(r.temperature_c > first_temp + 3);

	/* less offered: less drawn */
	t += 3600 * SEC;
	set_hw(d, t, true, 'C', true, 8, 3);
	r = read_at(d, t + SEC);
	assert_true(r.power_w > 8 * 230 * 3 * 0.95 && r.power_w < 8 * 230 * 3 * 1.03);
	/* contactor open, EV in B, too little offered: nothing */
	set_hw(d, t + 2 * SEC, true, 'C', false, 16, 3);
	assert_true(read_at(d, t + 3 * SEC).power_w == 0);
	set_hw(d, t + 4 * SEC, true, 'B', true, 16, 3);
	assert_true(read_at(d, t + 5 * SEC).power_w == 0);
	set_hw(d, t + 6 * SEC, true, 'C', true, 5, 3);
	assert_true(read_at(d, t + 7 * SEC).power_w == 0);
	/* state D charges too */
	set_hw(d, t + 8 * SEC, true, 'D', true, 10, 3);
	assert_true(read_at(d, t + 9 * SEC).power_w > 6000);
	/* unplugged: the EV and its SoC are gone */
	set_hw(d, t + 10 * SEC, false, 'A', false, 0, 3);
	r = read_at(d, t + 11 * SEC);
	assert_true(r.soc < 0);
	assert_true(r.power_w == 0);
	assert_true(r.energy_wh >= prev_wh);
	d->ops->destroy(d);
}

/* The energy of a state change counts up to the change, with the old power. */
static void
test_integration_at_changes(void **state)
{
	struct meter_driver *d = sim(2, 1);
	struct meter_reading r;

	set_hw(d, T0, true, 'C', true, 32, 1);
	r = read_at(d, T0);
	double p = r.power_w;
	assert_int_equal(r.phases, 1);
	assert_true(r.current_a[1] == 0 && r.voltage_v[1] == 0);
	/* stop after exactly 30 min: about half an hour of p */
	set_hw(d, T0 + 1800 * SEC, true, 'C', false, 32, 1);
	r = read_at(d, T0 + 3600 * SEC);
	assert_true(fabs(r.energy_wh - p / 2) < p / 2 * 0.03);
	assert_true(r.power_w == 0);
	d->ops->destroy(d);
}

/* A connector wired for three phases with an EV that uses one. */
static void
test_phases_in_use(void **state)
{
	struct meter_driver *d = sim(1, 3);
	struct meter_reading r;

	set_hw(d, T0, true, 'C', true, 16, 1);
	r = read_at(d, T0 + SEC);
	assert_int_equal(r.phases, 1);
	assert_true(r.power_w > 16 * 230 * 0.95 && r.power_w < 16 * 230 * 1.03);
	d->ops->destroy(d);
}

/* After a restart the register goes on from the stored value, never below. */
static void
test_restore_and_clock(void **state)
{
	struct meter_driver *d = sim(1, 3);
	struct meter_reading r;

	d->ops->restore(d, 123456.5, T0);
	r = read_at(d, T0 + SEC);
	assert_true(r.energy_wh == 123456.5);
	d->ops->restore(d, 1000, T0 + 2 * SEC); /* a lower one changes nothing */
	assert_true(read_at(d, T0 + 3 * SEC).energy_wh == 123456.5);

	set_hw(d, T0 + 4 * SEC, true, 'C', true, 16, 3);
	r = read_at(d, T0 + 60 * SEC);
	double wh = r.energy_wh;
	assert_true(wh > 123456.5);
	/* the wall clock steps back: nothing is added, nothing taken away */
	r = read_at(d, T0 + 30 * SEC);
	assert_true(r.energy_wh == wh);
	r = read_at(d, T0 + 31 * SEC);
	assert_true(r.energy_wh >= wh);
	d->ops->destroy(d);
}

/* Same inputs, same readings; another connector wanders differently. */
static void
test_deterministic(void **state)
{
	struct meter_driver *a = sim(1, 3), *b = sim(1, 3), *c = sim(2, 3);
	bool differs = false;

	set_hw(a, T0, true, 'C', true, 20, 3);
	set_hw(b, T0, true, 'C', true, 20, 3);
	set_hw(c, T0, true, 'C', true, 20, 3);
	for (int i = 1; i < 300; i++) {
		struct meter_reading ra = read_at(a, T0 + i * SEC), rb = read_at(b, T0 + i * SEC),
		                     rc = read_at(c, T0 + i * SEC);

		assert_memory_equal(&ra, &rb, sizeof(ra));
		differs |= ra.voltage_v[0] != rc.voltage_v[0];
	}
	assert_true(differs);
	a->ops->destroy(a);
	b->ops->destroy(b);
	c->ops->destroy(c);
}

/* A full EV tapers off and stops. */
static void
test_soc_taper(void **state)
{
	struct meter_driver *d = sim(1, 3);
	struct meter_reading r;
	int64_t t = T0;
	double last_soc = -1;

	set_hw(d, t, true, 'C', true, 32, 3);
	for (int i = 0; i < 6 * 3600; i += 10) {
		r = read_at(d, t + (int64_t)i * SEC);
		assert_true(r.soc >= last_soc);
		assert_true(r.soc <= 100);
		last_soc = r.soc;
		if (r.soc > 90)
			assert_true(r.current_a[0] < 32 * 0.55);
	}
	assert_true(r.soc > 99);
	assert_true(r.power_w < 500);
	d->ops->destroy(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_idle),
	    cmocka_unit_test(test_charging_follows_offer),
	    cmocka_unit_test(test_integration_at_changes),
	    cmocka_unit_test(test_phases_in_use),
	    cmocka_unit_test(test_restore_and_clock),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_soc_taper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
