/* Attaches a bus to the poll loop of loop.h. */
#ifndef SITEGATE_BUS_LOOP_H
#define SITEGATE_BUS_LOOP_H

#include "bus.h"
#include "loop.h"

/* The attachment lives until sg_bus_loop_detach() or the bus is freed first. */
struct sg_bus_loop;
struct sg_bus_loop *sg_bus_loop_attach(struct sg_bus *bus, struct sg_loop *loop);
void sg_bus_loop_detach(struct sg_bus_loop *att);

#endif
