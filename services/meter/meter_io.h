/* sitegate-meter's world: the bus, the SQLite file, the timers, the drivers.
 * main.c creates it between sg_service_init() and sg_service_run(). */
#ifndef METER_IO_H
#define METER_IO_H

#include "sitegate/service.h"

/* The service's own settings (a "meter" group of the configuration file). */
struct meter_conf {
	int stop_txn_max_values; /* MeterValue objects in StopTransaction.transactionData */
	int stop_txn_max_bytes;  /* about that much JSON of them */
	int persist_interval_s;  /* energy registers of simulated meters are stored this often */
	int ack_timeout_s;       /* an ocpp_tx not acknowledged by then is sent again */
	int outbox_limit;        /* MeterValues waiting for the bridge's acknowledgement */
};

struct meter_svc;

/* Opens <state_dir>/meter/meter.db, serves the meter's configuration keys,
 * creates the drivers, restores registers and running transactions, subscribes
 * and starts the timers. svc and conf are borrowed and must outlive the meter.
 * Returns 0 or a negative errno (logged). */
int meter_io_new(struct sg_service *svc, const struct meter_conf *conf, struct meter_svc **out);
/* The service stops: takes a last reading and stores every register. */
void meter_io_stop(struct meter_svc *m);
/* Frees the configuration keys: after the loop has stopped, before the bus. */
void meter_io_release_keys(struct meter_svc *m);
/* Frees the rest: after sg_service_fini() (requests still pending on the bus are
 * cancelled there and call back into the meter). Accepts NULL. */
void meter_io_free(struct meter_svc *m);

#endif
