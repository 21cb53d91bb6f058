/* sitegate-meter: meters and MeterValues (sampled, clock-aligned, stop
 * transaction data). main.c wires: the service frame, the meter's own settings,
 * meter_io (the world) around meter.c (the decisions). */
#include "sitegate/log.h"
#include "sitegate/service.h"

#include "meter_io.h"

static void
on_stop(struct sg_service *svc, void *ud)
{
	meter_io_stop(ud);
}

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct meter_conf conf = {0};
	struct meter_svc *meter = NULL;
	int rc = sg_service_init(&svc, "meter", argc, argv);

	if (rc == 0) {
		/* the "meter" group of sitegate.conf, validated with the rest of the file */
		const struct sg_meter_conf *m = &svc.conf.meter;
		conf = (struct meter_conf){
		    .stop_txn_max_values = m->stop_txn_max_values,
		    .stop_txn_max_bytes = m->stop_txn_max_bytes,
		    .persist_interval_s = m->persist_interval_s,
		    .ack_timeout_s = m->ack_timeout_s,
		    .outbox_limit = m->outbox_limit,
		};
	}
	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && meter_io_new(&svc, &conf, &meter) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0) {
		sg_service_hooks(&svc, NULL, on_stop, NULL, meter);
		rc = sg_service_run(&svc);
	}
	meter_io_release_keys(meter);
	sg_service_fini(&svc);
	meter_io_free(meter);
	return rc;
}
