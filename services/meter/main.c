/* sitegate-meter: meters and MeterValues (sampled, clock-aligned, stop
 * transaction data). main.c wires: the service frame, the meter's own settings,
 * meter_io (the world) around meter.c (the decisions). */
#include <libconfig.h>
#include <stddef.h>

#include "sitegate/log.h"
#include "sitegate/service.h"

#include "meter_io.h"

#define SETTING(field, dflt, lo, hi, text)                                                         \
	{                                                                                          \
		.name = #field, .type = SG_CONF_INT, .offset = offsetof(struct meter_conf, field), \
		.size = sizeof(int), .def = dflt, .min = lo, .max = hi, .doc = text                \
	}

/* The "meter" group of the configuration file. Until the common configuration
 * accepts that group (it refuses unknown top-level settings) these defaults
 * apply. */
static const struct sg_conf_desc meter_table[] = {
    SETTING(stop_txn_max_values, "60", 4, 10000,
            "MeterValue objects kept per transaction for StopTransaction.transactionData "
            "(Transaction.Begin and .End included); more are thinned evenly"),
    SETTING(stop_txn_max_bytes, "32768", 1024, 1048576,
            "about this many bytes of JSON of them (the Central System's frame limit)"),
    SETTING(persist_interval_s, "10", 1, 3600,
            "a simulated meter's energy register is stored this often (and before any value "
            "leaves the service)"),
    SETTING(ack_timeout_s, "120", 5, 86400,
            "a transaction MeterValues the bridge did not acknowledge by then is sent again"),
    SETTING(outbox_limit, "1000", 10, 1000000,
            "transaction MeterValues waiting for the bridge; beyond, the oldest periodic one "
            "is dropped"),
};

static void
on_stop(struct sg_service *svc, void *ud)
{
	meter_io_stop(ud);
}

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct meter_conf conf;
	struct meter_svc *meter = NULL;
	struct sg_conf_error err;
	int rc = sg_service_init(&svc, "meter", argc, argv);

	if (rc == 0 && sg_conf_read_group(config_lookup(&svc.conf.lc, "meter"), "meter",
	                                  meter_table, sizeof(meter_table) / sizeof(*meter_table),
	                                  &conf, svc.conf.path, &err) < 0) {
		char text[768];

		sg_conf_error_format(&err, text, sizeof(text));
		sg_err("configuration error: %s", text);
		rc = SG_EXIT_CONFIG;
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
