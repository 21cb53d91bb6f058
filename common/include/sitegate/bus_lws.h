/* Attaches a bus to a libwebsockets context that owns the event loop
 * (Debian 12's lws 4.1.6 has no external-poll support). The mosquitto socket is
 * adopted as a raw file descriptor; a lws_sul timer drives sg_bus_tick(). */
#ifndef SITEGATE_BUS_LWS_H
#define SITEGATE_BUS_LWS_H

#include <libwebsockets.h>

#include "bus.h"

struct sg_bus_lws;
/* The protocol whose callback handles the adopted socket: add it to the
 * context's protocol list (before the terminator). */
extern const struct lws_protocols sg_bus_lws_protocol;

/* vh: the vhost that adopts the broker socket (it must list sg_bus_lws_protocol). */
struct sg_bus_lws *sg_bus_lws_attach(struct sg_bus *bus, struct lws_context *ctx,
                                     struct lws_vhost *vh);
void sg_bus_lws_detach(struct sg_bus_lws *att);

#endif
