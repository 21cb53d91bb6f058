/* The meter drivers: what turns a connector's meter (or the simulator) into
 * readings. A connector's driver is named by charge_points.[].connectors.[].meter.
 *
 * The interface is synchronous and cheap: read() returns the latest reading and
 * must not block. A driver for a real meter (Modbus, S0 pulses, ...) polls its
 * device on its own timers or file descriptors and returns the last values it
 * got from it; it would receive the loop through its conf when one is written.
 *
 * A driver whose register lives in software (the simulator) says so with
 * soft_register: the service then stores the register durably and hands it back
 * through restore() after a restart, so that energy never goes backwards. A real
 * meter keeps its own register and ignores restore(). */
#ifndef METER_DRIVER_H
#define METER_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "meter.h"

/* What the connector's hardware does (its retained conn_hw), for the simulator. */
struct meter_hw {
	bool known; /* a conn_hw was received */
	bool plugged;
	char ev_state; /* IEC 61851 'A'..'F' */
	bool contactor;
	double offered_a; /* per phase, through the pilot */
	int phases;       /* phases in use; 0: unknown */
};

struct meter_driver_conf {
	const char *cp; /* charge point id, for logs */
	int conn;       /* connector id */
	int phases;     /* wired, 1..3 */
	double max_current_a;
	double nominal_voltage; /* phase to neutral */
};

struct meter_driver;

struct meter_driver_ops {
	const char *name;
	bool soft_register;
	/* NULL on allocation failure. */
	struct meter_driver *(*create)(const struct meter_driver_conf *conf);
	void (*destroy)(struct meter_driver *d);
	/* The register as stored before a restart. */
	void (*restore)(struct meter_driver *d, double energy_wh, int64_t wall_ms);
	/* The hardware state changed at wall_ms. */
	void (*hw)(struct meter_driver *d, const struct meter_hw *hw, int64_t wall_ms);
	/* The reading at wall_ms. Returns 0 or a negative errno (no reading). */
	int (*read)(struct meter_driver *d, int64_t wall_ms, struct meter_reading *out);
};

/* Every driver starts with this. */
struct meter_driver {
	const struct meter_driver_ops *ops;
};

/* The driver of that name, or NULL. */
const struct meter_driver_ops *meter_driver_find(const char *name);

extern const struct meter_driver_ops meter_sim_ops;

#endif
