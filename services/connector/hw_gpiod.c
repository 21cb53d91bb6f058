/* The GPIO driver of one connector (driver "gpiod"), on the libgpiod v1 API of
 * Debian 12 (libgpiod 1.6). Lines are found by name on one chip
 * (connectors.[].gpio in the configuration):
 *   outputs  contactor, lock, led
 *   inputs   plug (EV connected: B/C/D), ev_charge (C/D), pilot_error (E/F),
 *            cable (proximity), contactor_feedback, lock_feedback
 * Inputs are requested for both edges; their event fds are watched by the
 * service's poll loop, and every event re-reads the inputs. A feedback input
 * that does not show its output's value within feedback_timeout_ms is
 * reported as a failure (PowerSwitchFailure / ConnectorLockFailure upstream);
 * when it catches up later, that is reported too. Without a feedback line the
 * output is taken as done. The pilot PWM is the wallbox controller's: the
 * offered current is not a GPIO and is only recorded here.
 *
 * Only the handful of gpiod_* calls below are used: the unit test replaces
 * them with a fake (tests/fake_gpiod.c) at link time. */
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"

#include "hw.h"

#define GPIOD_CONSUMER "sitegate-connector"
#define BLINK_MS       500

enum line_id {
	L_CONTACTOR,
	L_LOCK,
	L_LED,
	L_CONTACTOR_FB,
	L_LOCK_FB,
	L_PLUG,
	L_EV_CHARGE,
	L_PILOT_ERROR,
	L_CABLE,
	L__COUNT
};
#define L__OUTPUTS L_CONTACTOR_FB /* lines before it are outputs */

static const char *const line_setting[L__COUNT] = {
    [L_CONTACTOR] = "contactor",
    [L_LOCK] = "lock",
    [L_LED] = "led",
    [L_CONTACTOR_FB] = "contactor_feedback",
    [L_LOCK_FB] = "lock_feedback",
    [L_PLUG] = "plug",
    [L_EV_CHARGE] = "ev_charge",
    [L_PILOT_ERROR] = "pilot_error",
    [L_CABLE] = "cable",
};

struct gp {
	struct hw hw;
	struct gpiod_chip *chip;
	struct gpiod_line *line[L__COUNT];
	int fd[L__COUNT];
	int timeout_ms;
	bool cmd_contactor, cmd_lock;
	uint64_t contactor_timer, lock_timer;
	bool contactor_checking, lock_checking; /* a feedback is awaited */
	bool contactor_failed, lock_failed;     /* the last check failed */
	enum conn_indicator led;
	bool led_on;
	uint64_t blink_timer;
	double offered;
};

static int
get(struct gp *g, enum line_id id, int dflt)
{
	int v;

	if (!g->line[id])
		return dflt;
	v = gpiod_line_get_value(g->line[id]);
	if (v < 0) {
		sg_warn("%s: reading GPIO line %s failed: %s", g->hw.name, line_setting[id],
		        strerror(errno));
		return dflt;
	}
	return v;
}

static void
set(struct gp *g, enum line_id id, bool on)
{
	if (g->line[id] && gpiod_line_set_value(g->line[id], on) < 0)
		sg_err("%s: setting GPIO line %s failed: %s", g->hw.name, line_setting[id],
		       strerror(errno));
}

/* The hardware as the inputs show it. */
static struct conn_hw_in
read_state(struct gp *g)
{
	struct conn_hw_in st = {0};
	bool plug = get(g, L_PLUG, 0);

	if (get(g, L_PILOT_ERROR, 0))
		st.ev_state = 'E';
	else if (!plug)
		st.ev_state = 'A';
	else
		st.ev_state = get(g, L_EV_CHARGE, 1) ? 'C' : 'B';
	st.cable = g->hw.fixed_cable || (g->line[L_CABLE] ? get(g, L_CABLE, 0) : plug);
	st.contactor = get(g, L_CONTACTOR_FB, g->cmd_contactor);
	st.locked = g->hw.has_lock && get(g, L_LOCK_FB, g->cmd_lock);
	return st;
}

static void
emit(struct gp *g, enum hw_event_type type, bool ok)
{
	struct hw_event ev = {.type = type, .state = g->hw.state, .ok = ok};
	g->hw.cb(&g->hw, &ev, g->hw.ud);
}

/* ---- feedbacks ------------------------------------------------------------- */

/* The contactor check is over: report it. */
static void
contactor_report(struct gp *g, bool ok)
{
	g->contactor_checking = false;
	sg_loop_timer_del(g->hw.loop, g->contactor_timer);
	g->contactor_timer = 0;
	g->contactor_failed = !ok;
	emit(g, HW_EV_CONTACTOR, ok);
}

static void
lock_report(struct gp *g, bool ok)
{
	g->lock_checking = false;
	sg_loop_timer_del(g->hw.loop, g->lock_timer);
	g->lock_timer = 0;
	g->lock_failed = !ok;
	emit(g, HW_EV_LOCK, ok);
}

static int64_t
on_contactor_deadline(struct sg_loop *loop, void *ud)
{
	struct gp *g = ud;

	g->contactor_timer = 0;
	g->hw.state = read_state(g);
	contactor_report(g, g->hw.state.contactor == g->cmd_contactor);
	return -1;
}

static int64_t
on_lock_deadline(struct sg_loop *loop, void *ud)
{
	struct gp *g = ud;

	g->lock_timer = 0;
	g->hw.state = read_state(g);
	lock_report(g, g->hw.state.locked == g->cmd_lock);
	return -1;
}

/* Waits for the feedback (none: the output counts as done, reported from the
 * loop). */
static void
contactor_check(struct gp *g)
{
	sg_loop_timer_del(g->hw.loop, g->contactor_timer);
	g->contactor_checking = true;
	g->contactor_timer = sg_loop_timer_add(
	    g->hw.loop, g->line[L_CONTACTOR_FB] ? g->timeout_ms : 0, on_contactor_deadline, g);
}

static void
lock_check(struct gp *g)
{
	sg_loop_timer_del(g->hw.loop, g->lock_timer);
	g->lock_checking = true;
	g->lock_timer = sg_loop_timer_add(g->hw.loop, g->line[L_LOCK_FB] ? g->timeout_ms : 0,
	                                  on_lock_deadline, g);
}

/* After an input changed: a feedback that now matches ends its check; one that
 * stopped matching on its own starts one. */
static void
feedbacks_changed(struct gp *g)
{
	if (g->line[L_CONTACTOR_FB]) {
		bool match = g->hw.state.contactor == g->cmd_contactor;
		if (match && (g->contactor_checking || g->contactor_failed))
			contactor_report(g, true);
		else if (!match && !g->contactor_checking && !g->contactor_failed)
			contactor_check(g);
	}
	if (g->line[L_LOCK_FB]) {
		bool match = g->hw.state.locked == g->cmd_lock;
		if (match && (g->lock_checking || g->lock_failed))
			lock_report(g, true);
		else if (!match && !g->lock_checking && !g->lock_failed)
			lock_check(g);
	}
}

static void
on_line(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct gp *g = ud;
	struct conn_hw_in before = g->hw.state;

	for (int i = L__OUTPUTS; i < L__COUNT; i++) {
		struct gpiod_line_event ev;
		if (g->fd[i] != fd)
			continue;
		if (gpiod_line_event_read(g->line[i], &ev) < 0)
			sg_warn("%s: reading an event of GPIO line %s failed: %s", g->hw.name,
			        line_setting[i], strerror(errno));
	}
	g->hw.state = read_state(g);
	if (memcmp(&before, &g->hw.state, sizeof(before)) != 0)
		emit(g, HW_EV_STATE, true);
	feedbacks_changed(g);
}

/* ---- outputs ------------------------------------------------------------------ */

static void
gp_set_contactor(struct hw *hw, bool closed)
{
	struct gp *g = (struct gp *)hw;

	g->cmd_contactor = closed;
	set(g, L_CONTACTOR, closed);
	contactor_check(g);
}

static void
gp_set_lock(struct hw *hw, bool locked)
{
	struct gp *g = (struct gp *)hw;

	if (!hw->has_lock)
		return;
	g->cmd_lock = locked;
	set(g, L_LOCK, locked);
	lock_check(g);
}

static void
gp_set_offered(struct hw *hw, double amps)
{
	((struct gp *)hw)->offered = amps;
}

static int64_t
on_blink(struct sg_loop *loop, void *ud)
{
	struct gp *g = ud;

	g->led_on = !g->led_on;
	set(g, L_LED, g->led_on);
	return BLINK_MS;
}

static void
gp_set_led(struct hw *hw, enum conn_indicator led)
{
	struct gp *g = (struct gp *)hw;

	if (!g->line[L_LED] || led == g->led)
		return;
	g->led = led;
	sg_loop_timer_del(hw->loop, g->blink_timer);
	g->blink_timer = 0;
	g->led_on = led != CONN_LED_OFF;
	set(g, L_LED, g->led_on);
	if (led == CONN_LED_BLINK)
		g->blink_timer = sg_loop_timer_add(hw->loop, BLINK_MS, on_blink, g);
}

static void
gp_safe_state(struct hw *hw)
{
	struct gp *g = (struct gp *)hw;

	g->cmd_contactor = false;
	set(g, L_CONTACTOR, false);
}

static void
gp_free(struct hw *hw)
{
	struct gp *g = (struct gp *)hw;

	sg_loop_timer_del(hw->loop, g->contactor_timer);
	sg_loop_timer_del(hw->loop, g->lock_timer);
	sg_loop_timer_del(hw->loop, g->blink_timer);
	for (int i = 0; i < L__COUNT; i++) {
		if (g->fd[i] >= 0)
			sg_loop_unwatch(hw->loop, g->fd[i]);
		if (g->line[i])
			gpiod_line_release(g->line[i]);
	}
	if (g->chip)
		gpiod_chip_close(g->chip);
	free(g);
}

static const struct hw_ops gpiod_ops = {
    .set_contactor = gp_set_contactor,
    .set_lock = gp_set_lock,
    .set_offered = gp_set_offered,
    .set_led = gp_set_led,
    .safe_state = gp_safe_state,
    .sim = NULL,
    .free = gp_free,
};

/* ---- setup -------------------------------------------------------------------- */

static const char *
line_name(const struct sg_gpio_conf *io, enum line_id id)
{
	switch (id) {
	case L_CONTACTOR:
		return io->contactor;
	case L_LOCK:
		return io->lock;
	case L_LED:
		return io->led;
	case L_CONTACTOR_FB:
		return io->contactor_feedback;
	case L_LOCK_FB:
		return io->lock_feedback;
	case L_PLUG:
		return io->plug;
	case L_EV_CHARGE:
		return io->ev_charge;
	case L_PILOT_ERROR:
		return io->pilot_error;
	case L_CABLE:
		return io->cable;
	default:
		return "";
	}
}

static int
open_line(struct gp *g, const struct sg_gpio_conf *io, enum line_id id, char *why, size_t why_len)
{
	const char *name = line_name(io, id);
	int flags = io->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
	struct gpiod_line *line;
	int rc;

	if (!name[0])
		return 0;
	line = gpiod_chip_find_line(g->chip, name);
	if (!line) {
		snprintf(why, why_len, "gpio.%s: no line \"%s\" on chip \"%s\"", line_setting[id],
		         name, io->chip);
		return -ENOENT;
	}
	if (id < L__OUTPUTS)
		rc = gpiod_line_request_output_flags(line, GPIOD_CONSUMER, flags, 0);
	else
		rc = gpiod_line_request_both_edges_events_flags(line, GPIOD_CONSUMER, flags);
	if (rc < 0) {
		rc = -errno;
		snprintf(why, why_len, "gpio.%s: line \"%s\" cannot be requested: %s",
		         line_setting[id], name, strerror(-rc));
		return rc;
	}
	g->line[id] = line;
	if (id >= L__OUTPUTS && id < L__COUNT) {
		g->fd[id] = gpiod_line_event_get_fd(line);
		if (g->fd[id] < 0 ||
		    sg_loop_watch(g->hw.loop, g->fd[id], SG_READ, on_line, g) < 0) {
			snprintf(why, why_len, "gpio.%s: no event descriptor for line \"%s\"",
			         line_setting[id], name);
			g->fd[id] = -1;
			return -EIO;
		}
	}
	return 0;
}

struct hw *
hw_gpiod_new(struct sg_loop *loop, const char *name, const struct sg_connector_conf *conf,
             hw_event_fn *cb, void *ud, char *why, size_t why_len)
{
	const struct sg_gpio_conf *io = &conf->gpio;
	struct gp *g;

	if (!io->contactor[0] || !io->plug[0]) {
		snprintf(why, why_len, "gpio.%s: required with driver \"gpiod\"",
		         !io->contactor[0] ? "contactor" : "plug");
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	g->hw.ops = &gpiod_ops;
	g->hw.loop = loop;
	g->hw.cb = cb;
	g->hw.ud = ud;
	g->hw.fixed_cable = strcmp(conf->cable, "fixed") == 0;
	g->hw.has_lock = !g->hw.fixed_cable && io->lock[0];
	snprintf(g->hw.name, sizeof(g->hw.name), "%s", name);
	g->timeout_ms = io->feedback_timeout_ms > 0 ? io->feedback_timeout_ms : 200;
	for (int i = 0; i < L__COUNT; i++)
		g->fd[i] = -1;
	g->chip = gpiod_chip_open_lookup(io->chip);
	if (!g->chip) {
		snprintf(why, why_len, "gpio.chip: cannot open \"%s\": %s", io->chip,
		         strerror(errno));
		goto fail;
	}
	for (int i = 0; i < L__COUNT; i++)
		if (open_line(g, io, (enum line_id)i, why, why_len) < 0)
			goto fail;
	g->hw.state = read_state(g);
	sg_info("%s: GPIO lines on \"%s\" ready", name, io->chip);
	return &g->hw;
fail:
	gp_free(&g->hw);
	return NULL;
}
