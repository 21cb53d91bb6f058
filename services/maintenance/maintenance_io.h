/* sitegate-maintenance, the world: the bus (OCPP calls, status notifications,
 * triggers, connector states, the retained fw_state / diag_state / fw_install),
 * the configuration keys, SQLite (<state_dir>/maintenance/maintenance.db),
 * libcurl (transfer.c), the diagnostics child (archive.c) and the install hook
 * (child.c), all driving the pure core of maintenance.c. */
#ifndef MAINTENANCE_IO_H
#define MAINTENANCE_IO_H

#include "sitegate/service.h"

struct mt_io;

/* After sg_service_use_poll_loop(). Opens the database and the keys, restores
 * persisted jobs, subscribes and publishes. NULL on failure (logged). */
struct mt_io *mt_io_new(struct sg_service *svc);
/* The orderly stop (SIGTERM): transfers and the collection are cancelled (they
 * start again after a restart), a running install hook is left to finish,
 * state is persisted. */
void mt_io_stop(struct mt_io *io);
/* After the loop has stopped, before the bus is freed. Accepts NULL. */
void mt_io_free(struct mt_io *io);

#endif
