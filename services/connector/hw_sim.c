/* The simulated wallbox and car of one connector (driver "sim").
 *
 * The car: `plug` connects it (cable in the socket, pilot state B), `ev X`
 * sets the pilot state (C: the car wants energy; A: unplugged at the car,
 * the cable stays in the socket), `unplug` pulls the cable at the car and
 * then out of the socket as soon as the socket's lock lets it (a user
 * waiting at a locked socket), `remove` only the latter.
 * The wallbox: the contactor and the lock follow their commands after
 * SIM_FEEDBACK_MS, unless `contactor-fail` / `lock-fail` was injected: then
 * the feedback timeout passes and the failure is reported. `fault CODE`
 * raises a ChargePointErrorCode, `clear [CODE]` clears one or everything
 * (injected failures included). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitegate/log.h"

#include "hw.h"

#define SIM_FEEDBACK_MS 20

struct sim {
	struct hw hw;
	int timeout_ms;
	bool cmd_contactor, cmd_lock;
	bool contactor_fail, lock_fail;
	bool remove_pending; /* the user pulls as soon as the lock opens */
	uint32_t faults;
	double offered;
	enum conn_indicator led;
	uint64_t contactor_timer, lock_timer;
};

static void
emit(struct sim *s, enum hw_event_type type, bool ok, const char *id_tag)
{
	struct hw_event ev = {
	    .type = type,
	    .state = s->hw.state,
	    .ok = ok,
	    .faults = s->faults,
	    .id_tag = id_tag,
	};
	s->hw.cb(&s->hw, &ev, s->hw.ud);
}

/* The cable comes out of the socket if the user wants it and the lock allows. */
static bool
maybe_remove(struct sim *s)
{
	if (!s->remove_pending || s->hw.fixed_cable || s->hw.state.locked)
		return false;
	s->remove_pending = false;
	s->hw.state.cable = false;
	s->hw.state.ev_state = 'A';
	return true;
}

static int64_t
on_contactor(struct sg_loop *loop, void *ud)
{
	struct sim *s = ud;

	s->contactor_timer = 0;
	if (s->contactor_fail) {
		emit(s, HW_EV_CONTACTOR, false, NULL);
		return -1;
	}
	s->hw.state.contactor = s->cmd_contactor;
	emit(s, HW_EV_CONTACTOR, true, NULL);
	return -1;
}

static int64_t
on_lock(struct sg_loop *loop, void *ud)
{
	struct sim *s = ud;

	s->lock_timer = 0;
	if (s->lock_fail) {
		emit(s, HW_EV_LOCK, false, NULL);
		return -1;
	}
	s->hw.state.locked = s->cmd_lock;
	emit(s, HW_EV_LOCK, true, NULL);
	if (maybe_remove(s))
		emit(s, HW_EV_STATE, true, NULL);
	return -1;
}

static void
drive_contactor(struct sim *s)
{
	sg_loop_timer_del(s->hw.loop, s->contactor_timer);
	s->contactor_timer = sg_loop_timer_add(
	    s->hw.loop, s->contactor_fail ? s->timeout_ms : SIM_FEEDBACK_MS, on_contactor, s);
}

static void
drive_lock(struct sim *s)
{
	sg_loop_timer_del(s->hw.loop, s->lock_timer);
	s->lock_timer = sg_loop_timer_add(
	    s->hw.loop, s->lock_fail ? s->timeout_ms : SIM_FEEDBACK_MS, on_lock, s);
}

static void
sim_set_contactor(struct hw *hw, bool closed)
{
	struct sim *s = (struct sim *)hw;

	s->cmd_contactor = closed;
	drive_contactor(s);
}

static void
sim_set_lock(struct hw *hw, bool locked)
{
	struct sim *s = (struct sim *)hw;

	if (!hw->has_lock)
		return;
	s->cmd_lock = locked;
	drive_lock(s);
}

static void
sim_set_offered(struct hw *hw, double amps)
{
	((struct sim *)hw)->offered = amps;
}

static void
sim_set_led(struct hw *hw, enum conn_indicator led)
{
	((struct sim *)hw)->led = led;
}

static void
sim_safe_state(struct hw *hw)
{
	struct sim *s = (struct sim *)hw;

	s->cmd_contactor = false;
	s->hw.state.contactor = false;
}

static int
sim_cmd(struct hw *hw, const char *action, const char *value, char *why, size_t why_len)
{
	struct sim *s = (struct sim *)hw;
	struct conn_hw_in *st = &s->hw.state;

	if (strcmp(action, "plug") == 0) {
		st->cable = true;
		st->ev_state = 'B';
		s->remove_pending = false;
		emit(s, HW_EV_STATE, true, NULL);
	} else if (strcmp(action, "unplug") == 0) {
		st->ev_state = 'A';
		s->remove_pending = !hw->fixed_cable;
		maybe_remove(s);
		emit(s, HW_EV_STATE, true, NULL);
	} else if (strcmp(action, "remove") == 0) {
		if (hw->fixed_cable) {
			snprintf(why, why_len, "a fixed cable cannot be removed");
			return -EINVAL;
		}
		st->ev_state = 'A';
		s->remove_pending = true;
		maybe_remove(s);
		emit(s, HW_EV_STATE, true, NULL);
	} else if (strcmp(action, "ev") == 0) {
		if (!value || strlen(value) != 1 || value[0] < 'A' || value[0] > 'F') {
			snprintf(why, why_len, "ev needs a state A..F");
			return -EINVAL;
		}
		st->ev_state = value[0];
		if (value[0] != 'A') {
			st->cable = true;
			s->remove_pending = false;
		}
		emit(s, HW_EV_STATE, true, NULL);
	} else if (strcmp(action, "rfid") == 0) {
		if (!value || !value[0] || strlen(value) > 20) {
			snprintf(why, why_len, "rfid needs an idTag of 1..20 characters");
			return -EINVAL;
		}
		emit(s, HW_EV_RFID, true, value);
	} else if (strcmp(action, "fault") == 0) {
		uint32_t bit = conn_fault_bit(value);
		if (!bit) {
			snprintf(why, why_len, "unknown ChargePointErrorCode \"%s\"",
			         value ? value : "");
			return -EINVAL;
		}
		s->faults |= bit;
		emit(s, HW_EV_FAULTS, true, NULL);
	} else if (strcmp(action, "clear") == 0) {
		if (value && value[0]) {
			uint32_t bit = conn_fault_bit(value);
			if (!bit) {
				snprintf(why, why_len, "unknown ChargePointErrorCode \"%s\"",
				         value);
				return -EINVAL;
			}
			s->faults &= ~bit;
		} else {
			s->faults = 0;
			s->contactor_fail = s->lock_fail = false;
			drive_contactor(s);
			if (hw->has_lock)
				drive_lock(s);
		}
		emit(s, HW_EV_FAULTS, true, NULL);
	} else if (strcmp(action, "lock-fail") == 0 || strcmp(action, "lock-ok") == 0) {
		if (!hw->has_lock) {
			snprintf(why, why_len, "this connector has no lock (fixed cable)");
			return -EINVAL;
		}
		s->lock_fail = action[5] == 'f';
		if (!s->lock_fail)
			drive_lock(s);
	} else if (strcmp(action, "contactor-fail") == 0 || strcmp(action, "contactor-ok") == 0) {
		s->contactor_fail = action[10] == 'f';
		if (!s->contactor_fail)
			drive_contactor(s);
	} else {
		snprintf(why, why_len, "unknown action \"%s\"", action);
		return -EINVAL;
	}
	sg_info("%s: simulator: %s%s%s", hw->name, action, value && value[0] ? " " : "",
	        value ? value : "");
	return 0;
}

static void
sim_free(struct hw *hw)
{
	struct sim *s = (struct sim *)hw;

	sg_loop_timer_del(hw->loop, s->contactor_timer);
	sg_loop_timer_del(hw->loop, s->lock_timer);
	free(s);
}

static const struct hw_ops sim_ops = {
    .set_contactor = sim_set_contactor,
    .set_lock = sim_set_lock,
    .set_offered = sim_set_offered,
    .set_led = sim_set_led,
    .safe_state = sim_safe_state,
    .sim = sim_cmd,
    .free = sim_free,
};

struct hw *
hw_sim_new(struct sg_loop *loop, const char *name, bool fixed_cable, int feedback_timeout_ms,
           hw_event_fn *cb, void *ud)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->hw.ops = &sim_ops;
	s->hw.loop = loop;
	s->hw.cb = cb;
	s->hw.ud = ud;
	s->hw.fixed_cable = fixed_cable;
	s->hw.has_lock = !fixed_cable;
	s->hw.state.cable = fixed_cable;
	s->hw.state.ev_state = 'A';
	snprintf(s->hw.name, sizeof(s->hw.name), "%s", name);
	s->timeout_ms = feedback_timeout_ms > 0 ? feedback_timeout_ms : 200;
	return &s->hw;
}

void
hw_sim_restore(struct hw *hw, bool cable, char ev_state)
{
	hw->state.cable = hw->fixed_cable || cable;
	hw->state.ev_state = ev_state >= 'A' && ev_state <= 'F' ? ev_state : 'A';
	if (hw->state.ev_state != 'A')
		hw->state.cable = true;
}
