/* The hardware of one connector behind one small interface: outputs
 * (contactor, cable lock, pilot current, status light) and what the hardware
 * reports back (cable, EV state, feedbacks, faults, RFID taps). Two drivers:
 *   sim    a simulated wallbox and car, driven by sim_cmd (sitegatectl sim);
 *   gpiod  GPIO lines through libgpiod v1 (Debian 12: libgpiod 1.6).
 * A driver never calls back from inside a set_*() call: feedback arrives from
 * the event loop (a timer or a line event), so the caller's state is settled. */
#ifndef CONNECTOR_HW_H
#define CONNECTOR_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sitegate/config.h"
#include "sitegate/loop.h"

#include "connector.h"

enum hw_event_type {
	HW_EV_STATE,     /* cable / EV state / contactor / lock changed: see state */
	HW_EV_LOCK,      /* the lock feedback followed the command (ok) or did not in time */
	HW_EV_CONTACTOR, /* the same for the contactor */
	HW_EV_FAULTS,    /* the driver's fault bits (conn_faults) are now faults */
	HW_EV_RFID,      /* an idTag was presented */
};

struct hw_event {
	enum hw_event_type type;
	struct conn_hw_in state; /* always: the hardware now */
	bool ok;
	uint32_t faults;
	const char *id_tag; /* HW_EV_RFID, borrowed */
};

struct hw;
typedef void hw_event_fn(struct hw *hw, const struct hw_event *ev, void *ud);

struct hw_ops {
	void (*set_contactor)(struct hw *hw, bool closed);
	void (*set_lock)(struct hw *hw, bool locked);
	void (*set_offered)(struct hw *hw, double amps);
	void (*set_led)(struct hw *hw, enum conn_indicator led);
	/* Opens the contactor and leaves the lock as it is: before the process ends. */
	void (*safe_state)(struct hw *hw);
	/* sim_cmd: 0, or a negative errno with the reason in why. NULL: not a simulator. */
	int (*sim)(struct hw *hw, const char *action, const char *value, char *why, size_t why_len);
	void (*free)(struct hw *hw);
};

/* The part every driver starts with. */
struct hw {
	const struct hw_ops *ops;
	struct sg_loop *loop;
	hw_event_fn *cb;
	void *ud;
	struct conn_hw_in state;
	bool fixed_cable;
	bool has_lock;
	char name[80]; /* "CP1/1", for logs */
};

/* The simulator. Feedback follows after a short delay unless a failure was
 * injected (then the feedback timeout passes and the event says !ok). */
struct hw *hw_sim_new(struct sg_loop *loop, const char *name, bool fixed_cable,
                      int feedback_timeout_ms, hw_event_fn *cb, void *ud);
/* Puts the simulated cable and car back where they were (after a restart). */
void hw_sim_restore(struct hw *hw, bool cable, char ev_state);

/* GPIO lines of conf. Returns NULL with the reason in why (naming the setting)
 * when a line cannot be found or requested. */
struct hw *hw_gpiod_new(struct sg_loop *loop, const char *name,
                        const struct sg_connector_conf *conf, hw_event_fn *cb, void *ud, char *why,
                        size_t why_len);

static inline void
hw_free(struct hw *hw)
{
	if (hw)
		hw->ops->free(hw);
}

#endif
