/* Unit tests of the gpiod driver (hw_gpiod.c) through its seam: fake_gpiod.c
 * stands in for libgpiod, the real poll loop watches the fake's event pipes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "fake_gpiod.h"
#include "hw.h"

#define MAXEV 64

static struct {
	struct sg_loop *loop;
	struct hw_event ev[MAXEV];
	int n;
} T;

static void
on_event(struct hw *hw, const struct hw_event *ev, void *ud)
{
	assert_true(T.n < MAXEV);
	T.ev[T.n] = *ev;
	T.ev[T.n].id_tag = NULL;
	T.n++;
}

/* Runs the loop until an event of type has arrived (after index from) or
 * timeout_ms passed; returns its index or -1. */
static int
wait_event(enum hw_event_type type, int from, int64_t timeout_ms)
{
	int64_t end = sg_time_mono_ms() + timeout_ms;

	for (;;) {
		for (int i = from; i < T.n; i++)
			if (T.ev[i].type == type)
				return i;
		int64_t left = end - sg_time_mono_ms();
		if (left <= 0)
			return -1;
		sg_loop_run_once(T.loop, left);
	}
}

static void
lines(void)
{
	static const char *const names[] = {"CONT",   "CONT_FB", "LOCK",  "LOCK_FB", "PLUG",
	                                    "CHARGE", "PERR",    "CABLE", "LED"};
	fake_gpiod_reset();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fake_gpiod_add(names[i]);
}

static struct sg_connector_conf
conf_full(void)
{
	struct sg_connector_conf c = {.id = 1, .max_current_a = 16, .phases = 3};
	strcpy(c.driver, "gpiod");
	strcpy(c.cable, "socket");
	strcpy(c.gpio.chip, "gpiochip0");
	strcpy(c.gpio.contactor, "CONT");
	strcpy(c.gpio.contactor_feedback, "CONT_FB");
	strcpy(c.gpio.lock, "LOCK");
	strcpy(c.gpio.lock_feedback, "LOCK_FB");
	strcpy(c.gpio.plug, "PLUG");
	strcpy(c.gpio.ev_charge, "CHARGE");
	strcpy(c.gpio.pilot_error, "PERR");
	strcpy(c.gpio.cable, "CABLE");
	strcpy(c.gpio.led, "LED");
	c.gpio.feedback_timeout_ms = 50;
	return c;
}

static struct hw *
open_hw(const struct sg_connector_conf *c)
{
	char why[256] = "";
	struct hw *hw = hw_gpiod_new(T.loop, "CP1/1", c, on_event, NULL, why, sizeof(why));
	if (!hw)
		fail_msg("hw_gpiod_new: %s", why);
	return hw;
}

static int
setup(void **state)
{
	memset(&T, 0, sizeof(T));
	T.loop = sg_loop_new();
	lines();
	return T.loop ? 0 : -1;
}

static int
teardown(void **state)
{
	sg_loop_free(T.loop);
	fake_gpiod_reset();
	return 0;
}

static void
test_config_errors(void **state)
{
	struct sg_connector_conf c = conf_full();
	char why[256];

	c.gpio.contactor[0] = '\0';
	assert_null(hw_gpiod_new(T.loop, "CP1/1", &c, on_event, NULL, why, sizeof(why)));
	assert_string_equal(why, "gpio.contactor: required with driver \"gpiod\"");
	c = conf_full();
	c.gpio.plug[0] = '\0';
	assert_null(hw_gpiod_new(T.loop, "CP1/1", &c, on_event, NULL, why, sizeof(why)));
	assert_string_equal(why, "gpio.plug: required with driver \"gpiod\"");
	c = conf_full();
	strcpy(c.gpio.lock_feedback, "NOPE");
	assert_null(hw_gpiod_new(T.loop, "CP1/1", &c, on_event, NULL, why, sizeof(why)));
	assert_string_equal(why, "gpio.lock_feedback: no line \"NOPE\" on chip \"gpiochip0\"");
	/* what was requested before the failure is released again */
	assert_false(fake_gpiod_requested("CONT"));
	assert_int_equal(fake_gpiod_open_chips(), 0);
	c = conf_full();
	strcpy(c.gpio.chip, "gpiochip7");
	assert_null(hw_gpiod_new(T.loop, "CP1/1", &c, on_event, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "gpio.chip: cannot open \"gpiochip7\""));
	/* a line used twice */
	c = conf_full();
	strcpy(c.gpio.led, "CONT");
	assert_null(hw_gpiod_new(T.loop, "CP1/1", &c, on_event, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "gpio.led: line \"CONT\" cannot be requested"));
}

static void
test_inputs(void **state)
{
	struct sg_connector_conf c = conf_full();
	struct hw *hw = open_hw(&c);
	int i;

	assert_true(fake_gpiod_is_output("CONT"));
	assert_true(fake_gpiod_is_output("LED"));
	assert_false(fake_gpiod_is_output("PLUG"));
	assert_int_equal(hw->state.ev_state, 'A');
	assert_false(hw->state.cable);
	assert_true(hw->has_lock);

	fake_gpiod_set("CABLE", 1);
	i = wait_event(HW_EV_STATE, 0, 1000);
	assert_true(i >= 0);
	assert_true(T.ev[i].state.cable);
	assert_int_equal(T.ev[i].state.ev_state, 'A');
	fake_gpiod_set("PLUG", 1);
	i = wait_event(HW_EV_STATE, i + 1, 1000);
	assert_true(i >= 0);
	assert_int_equal(T.ev[i].state.ev_state, 'B');
	fake_gpiod_set("CHARGE", 1);
	i = wait_event(HW_EV_STATE, i + 1, 1000);
	assert_int_equal(T.ev[i].state.ev_state, 'C');
	fake_gpiod_set("PERR", 1);
	i = wait_event(HW_EV_STATE, i + 1, 1000);
	assert_int_equal(T.ev[i].state.ev_state, 'E');
	fake_gpiod_set("PERR", 0);
	fake_gpiod_set("CHARGE", 0);
	fake_gpiod_set("PLUG", 0);
	for (int k = 0; k < 10; k++)
		sg_loop_run_once(T.loop, 20);
	assert_int_equal(hw->state.ev_state, 'A');
	assert_true(hw->state.cable);
	hw_free(hw);
	assert_false(fake_gpiod_requested("PLUG"));
	assert_false(fake_gpiod_requested("CONT"));
	assert_int_equal(fake_gpiod_open_chips(), 0);
}

static void
test_contactor_feedback(void **state)
{
	struct sg_connector_conf c = conf_full();
	struct hw *hw = open_hw(&c);
	int64_t t0;
	int i;

	/* the auxiliary contact follows */
	fake_gpiod_link("CONT", "CONT_FB");
	hw->ops->set_contactor(hw, true);
	assert_int_equal(fake_gpiod_level("CONT"), 1);
	assert_int_equal(T.n, 0); /* never from inside the call */
	i = wait_event(HW_EV_CONTACTOR, 0, 1000);
	assert_true(i >= 0);
	assert_true(T.ev[i].ok);
	assert_true(T.ev[i].state.contactor);

	/* it does not follow: failure after feedback_timeout_ms */
	fake_gpiod_link("CONT", NULL);
	t0 = sg_time_mono_ms();
	hw->ops->set_contactor(hw, false);
	assert_int_equal(fake_gpiod_level("CONT"), 0);
	i = wait_event(HW_EV_CONTACTOR, i + 1, 1000);
	assert_true(i >= 0);
	assert_false(T.ev[i].ok);
	assert_true(sg_time_mono_ms() - t0 >= 45);
	assert_true(T.ev[i].state.contactor); /* still closed: welded */

	/* it catches up later */
	fake_gpiod_set("CONT_FB", 0);
	i = wait_event(HW_EV_CONTACTOR, i + 1, 1000);
	assert_true(i >= 0);
	assert_true(T.ev[i].ok);
	assert_false(T.ev[i].state.contactor);

	/* it changes on its own */
	fake_gpiod_set("CONT_FB", 1);
	i = wait_event(HW_EV_CONTACTOR, i + 1, 1000);
	assert_true(i >= 0);
	assert_false(T.ev[i].ok);

	/* the safe state opens the contactor */
	hw->ops->safe_state(hw);
	assert_int_equal(fake_gpiod_level("CONT"), 0);
	hw_free(hw);
}

static void
test_lock_feedback(void **state)
{
	struct sg_connector_conf c = conf_full();
	struct hw *hw = open_hw(&c);
	int i;

	fake_gpiod_link("LOCK", "LOCK_FB");
	hw->ops->set_lock(hw, true);
	i = wait_event(HW_EV_LOCK, 0, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.locked);
	fake_gpiod_link("LOCK", NULL);
	hw->ops->set_lock(hw, false);
	i = wait_event(HW_EV_LOCK, i + 1, 1000);
	assert_true(i >= 0);
	assert_false(T.ev[i].ok);
	assert_true(T.ev[i].state.locked);
	hw_free(hw);

	/* without a feedback line the output counts as done */
	c.gpio.lock_feedback[0] = '\0';
	c.gpio.contactor_feedback[0] = '\0';
	lines();
	T.n = 0;
	hw = open_hw(&c);
	hw->ops->set_lock(hw, true);
	hw->ops->set_contactor(hw, true);
	i = wait_event(HW_EV_LOCK, 0, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.locked);
	i = wait_event(HW_EV_CONTACTOR, 0, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.contactor);
	hw_free(hw);

	/* a fixed cable has no lock */
	lines();
	c = conf_full();
	strcpy(c.cable, "fixed");
	c.gpio.lock[0] = c.gpio.lock_feedback[0] = '\0';
	hw = open_hw(&c);
	assert_false(hw->has_lock);
	assert_true(hw->state.cable);
	hw->ops->set_lock(hw, true);
	assert_int_equal(fake_gpiod_level("LOCK"), 0);
	hw_free(hw);
}

static void
test_active_low(void **state)
{
	struct sg_connector_conf c = conf_full();
	struct hw *hw;
	int i;

	c.gpio.active_low = true;
	/* inputs at rest are high */
	fake_gpiod_set("PLUG", 1);
	fake_gpiod_set("CABLE", 1);
	fake_gpiod_set("CHARGE", 1);
	fake_gpiod_set("PERR", 1);
	fake_gpiod_set("CONT_FB", 1);
	fake_gpiod_set("LOCK_FB", 1);
	hw = open_hw(&c);
	assert_int_equal(hw->state.ev_state, 'A');
	assert_false(hw->state.contactor);
	assert_int_equal(fake_gpiod_level("CONT"), 1); /* off = high */
	fake_gpiod_link("CONT", "CONT_FB");
	hw->ops->set_contactor(hw, true);
	assert_int_equal(fake_gpiod_level("CONT"), 0);
	i = wait_event(HW_EV_CONTACTOR, 0, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.contactor);
	int mark = T.n;
	fake_gpiod_set("PLUG", 0);
	i = wait_event(HW_EV_STATE, mark, 1000);
	assert_true(i >= 0);
	assert_int_equal(T.ev[i].state.ev_state, 'B');
	hw_free(hw);
}

static void
test_led(void **state)
{
	struct sg_connector_conf c = conf_full();
	struct hw *hw = open_hw(&c);
	int changes = 0, last;

	hw->ops->set_led(hw, CONN_LED_ON);
	assert_int_equal(fake_gpiod_level("LED"), 1);
	hw->ops->set_led(hw, CONN_LED_OFF);
	assert_int_equal(fake_gpiod_level("LED"), 0);
	hw->ops->set_led(hw, CONN_LED_BLINK);
	last = fake_gpiod_level("LED");
	for (int64_t end = sg_time_mono_ms() + 1600; sg_time_mono_ms() < end;) {
		sg_loop_run_once(T.loop, 50);
		if (fake_gpiod_level("LED") != last) {
			changes++;
			last = fake_gpiod_level("LED");
		}
	}
	assert_true(changes >= 2 && changes <= 4);
	hw->ops->set_led(hw, CONN_LED_OFF);
	assert_int_equal(fake_gpiod_level("LED"), 0);
	hw->ops->set_offered(hw, 10); /* recorded only */
	assert_null(hw->ops->sim);
	hw_free(hw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inputs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contactor_feedback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_feedback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_active_low, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_led, setup, teardown),
	};

	sg_log_init("test_hw_gpiod", SG_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
