/* The meter drivers a connector can name (charge_points.[].connectors.[].meter). */
#include <string.h>

#include "meter_driver.h"

static const struct meter_driver_ops *const drivers[] = {&meter_sim_ops};

const struct meter_driver_ops *
meter_driver_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(drivers) / sizeof(*drivers); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}
