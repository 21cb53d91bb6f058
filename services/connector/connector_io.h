/* The connector service's side that touches the world: the bus (subscriptions,
 * requests, answers to the Central System's calls), the journal (SQLite), the
 * hardware drivers and the loop's timers. It feeds events to connector.c and
 * carries out its decisions (struct conn_ops). */
#ifndef CONNECTOR_IO_H
#define CONNECTOR_IO_H

#include "sitegate/service.h"

struct conn_svc;

/* Opens the journal and the keys, restores the connectors, creates the
 * drivers and subscribes; the connectors start once the bus is ready. Returns
 * 0, or the exit code (SG_EXIT_CONFIG for a bad gpio setting, else
 * SG_EXIT_FAILURE), logged. */
int conn_svc_new(struct sg_service *svc, struct conn_svc **out);
/* After the loop has stopped, before the bus is freed. Accepts NULL. */
void conn_svc_free(struct conn_svc *s);

#endif
