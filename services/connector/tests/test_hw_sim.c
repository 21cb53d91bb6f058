/* Unit tests of the simulator driver (hw_sim.c) on the real poll loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "hw.h"

#define MAXEV 64

static struct {
	struct sg_loop *loop;
	struct hw_event ev[MAXEV];
	char tags[MAXEV][21];
	int n;
} T;

static void
on_event(struct hw *hw, const struct hw_event *ev, void *ud)
{
	assert_true(T.n < MAXEV);
	T.ev[T.n] = *ev;
	snprintf(T.tags[T.n], sizeof(T.tags[0]), "%s", ev->id_tag ? ev->id_tag : "");
	T.ev[T.n].id_tag = T.tags[T.n];
	T.n++;
}

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

static int
sim(struct hw *hw, const char *action, const char *value)
{
	char why[100] = "";
	int rc = hw->ops->sim(hw, action, value ? value : "", why, sizeof(why));
	if (rc < 0)
		assert_true(why[0] != '\0');
	return rc;
}

static int
setup(void **state)
{
	memset(&T, 0, sizeof(T));
	T.loop = sg_loop_new();
	return T.loop ? 0 : -1;
}

static int
teardown(void **state)
{
	sg_loop_free(T.loop);
	return 0;
}

static void
test_car(void **state)
{
	struct hw *hw = hw_sim_new(T.loop, "CP1/1", false, 50, on_event, NULL);
	int i;

	assert_true(hw->has_lock);
	assert_int_equal(sim(hw, "plug", NULL), 0);
	assert_int_equal(T.n, 1);
	assert_int_equal(T.ev[0].type, HW_EV_STATE);
	assert_true(T.ev[0].state.cable);
	assert_int_equal(T.ev[0].state.ev_state, 'B');
	assert_int_equal(sim(hw, "ev", "C"), 0);
	assert_int_equal(T.ev[1].state.ev_state, 'C');
	assert_int_equal(sim(hw, "ev", "G"), -EINVAL);
	assert_int_equal(sim(hw, "ev", ""), -EINVAL);
	/* locked: the cable stays in the socket until the lock opens */
	hw->ops->set_lock(hw, true);
	i = wait_event(HW_EV_LOCK, 0, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.locked);
	assert_int_equal(sim(hw, "unplug", NULL), 0);
	i = T.n - 1;
	assert_int_equal(T.ev[i].state.ev_state, 'A');
	assert_true(T.ev[i].state.cable);
	hw->ops->set_lock(hw, false);
	i = wait_event(HW_EV_LOCK, i + 1, 1000);
	assert_true(i >= 0 && T.ev[i].ok && !T.ev[i].state.locked);
	i = wait_event(HW_EV_STATE, i + 1, 1000);
	assert_true(i >= 0);
	assert_false(T.ev[i].state.cable);
	/* the car only: ev A leaves the cable in */
	sim(hw, "plug", NULL);
	sim(hw, "ev", "A");
	assert_true(hw->state.cable);
	assert_int_equal(sim(hw, "remove", NULL), 0);
	assert_false(hw->state.cable);
	assert_int_equal(sim(hw, "rfid", "TAG42"), 0);
	assert_int_equal(T.ev[T.n - 1].type, HW_EV_RFID);
	assert_string_equal(T.ev[T.n - 1].id_tag, "TAG42");
	assert_int_equal(sim(hw, "rfid", "123456789012345678901"), -EINVAL);
	assert_int_equal(sim(hw, "fly", NULL), -EINVAL);
	hw_free(hw);
}

static void
test_failures(void **state)
{
	struct hw *hw = hw_sim_new(T.loop, "CP1/1", false, 50, on_event, NULL);
	int64_t t0;
	int i;

	assert_int_equal(sim(hw, "contactor-fail", NULL), 0);
	t0 = sg_time_mono_ms();
	hw->ops->set_contactor(hw, true);
	assert_int_equal(T.n, 0);
	i = wait_event(HW_EV_CONTACTOR, 0, 1000);
	assert_true(i >= 0);
	assert_false(T.ev[i].ok);
	assert_false(T.ev[i].state.contactor);
	assert_true(sg_time_mono_ms() - t0 >= 45);
	assert_int_equal(sim(hw, "contactor-ok", NULL), 0);
	i = wait_event(HW_EV_CONTACTOR, i + 1, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.contactor);

	assert_int_equal(sim(hw, "lock-fail", NULL), 0);
	hw->ops->set_lock(hw, true);
	i = wait_event(HW_EV_LOCK, 0, 1000);
	assert_true(i >= 0 && !T.ev[i].ok && !T.ev[i].state.locked);
	assert_int_equal(sim(hw, "lock-ok", NULL), 0);
	i = wait_event(HW_EV_LOCK, i + 1, 1000);
	assert_true(i >= 0 && T.ev[i].ok && T.ev[i].state.locked);

	assert_int_equal(sim(hw, "fault", "GroundFailure"), 0);
	assert_int_equal(T.ev[T.n - 1].type, HW_EV_FAULTS);
	assert_int_equal(T.ev[T.n - 1].faults, 1u << 16);
	assert_int_equal(sim(hw, "fault", "PowerSwitchFailure"), 0);
	assert_int_equal(T.ev[T.n - 1].faults, 0x18000);
	assert_int_equal(sim(hw, "fault", "Gremlins"), -EINVAL);
	assert_int_equal(sim(hw, "clear", "GroundFailure"), 0);
	assert_int_equal(T.ev[T.n - 1].faults, 0x8000);
	/* clear: everything, injected feedback failures too */
	sim(hw, "lock-fail", NULL);
	assert_int_equal(sim(hw, "clear", NULL), 0);
	assert_int_equal(T.ev[T.n - 1].faults, 0);
	hw->ops->set_lock(hw, false);
	i = wait_event(HW_EV_LOCK, T.n, 1000);
	assert_true(i >= 0 && T.ev[i].ok);
	hw_free(hw);
}

static void
test_fixed_cable(void **state)
{
	struct hw *hw = hw_sim_new(T.loop, "CP1/2", true, 50, on_event, NULL);

	assert_false(hw->has_lock);
	assert_true(hw->state.cable);
	assert_int_equal(sim(hw, "lock-fail", NULL), -EINVAL);
	assert_int_equal(sim(hw, "remove", NULL), -EINVAL);
	sim(hw, "plug", NULL);
	sim(hw, "unplug", NULL);
	assert_true(hw->state.cable);
	assert_int_equal(hw->state.ev_state, 'A');
	hw_sim_restore(hw, false, 'C');
	assert_int_equal(hw->state.ev_state, 'C');
	assert_true(hw->state.cable);
	hw_free(hw);

	hw = hw_sim_new(T.loop, "CP1/1", false, 50, on_event, NULL);
	hw_sim_restore(hw, true, 'A');
	assert_true(hw->state.cable);
	assert_int_equal(hw->state.ev_state, 'A');
	hw_sim_restore(hw, false, 'x');
	assert_false(hw->state.cable);
	assert_int_equal(hw->state.ev_state, 'A');
	hw_free(hw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_car, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixed_cable, setup, teardown),
	};

	sg_log_init("test_hw_sim", SG_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
