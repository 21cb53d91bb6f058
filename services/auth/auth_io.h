/* sitegate-auth's world: the bus (auth_request, the Central System calls it
 * owns, Authorize.req through the bridge, transaction outcomes, connector and
 * meter state, conn_control) and its SQLite file. The decisions are auth.c's. */
#ifndef AUTH_IO_H
#define AUTH_IO_H

#include "sitegate/service.h"

struct auth_svc;

/* Opens <state_dir>/auth/auth.db, serves the service's OCPP keys, loads every
 * charge point's list, cache, reservations and followed transactions,
 * subscribes, and publishes the retained ocpp_owner and reservation messages.
 * svc (with its bus and poll loop) is borrowed and must outlive the result.
 * Returns 0, or a negative errno (logged). */
int auth_io_new(struct sg_service *svc, struct auth_svc **out);
/* Call after the loop has stopped and before the bus is freed. Accepts NULL. */
void auth_io_free(struct auth_svc *a);

#endif
