/* sitegate-meter-logger: an example third-party service. It joins the gateway
 * the way any extension does: it runs on the common service frame, subscribes
 * to a public topic (the meter samples of every connector) and acts on it.
 * Here it only logs one line per sample; see docs/bus.md, "Writing a service". */
#include <inttypes.h>

#include "sitegate/log.h"
#include "sitegate/service.h"
#include "sitegate/time.h"

static void
on_sample(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_meter_sample *s = in->msg;
	char when[SG_TIME_RFC3339_LEN];
	if (sg_time_format(s->ts, when, sizeof(when)) < 0)
		snprintf(when, sizeof(when), "%" PRId64, s->ts);
	sg_info("%s/%d at %s: energy=%.1f Wh power=%.1f W offered=%.1f A", in->args->cp,
	        in->args->conn, when, s->energy_wh, s->power_w, s->offered_a);
}

int
main(int argc, char **argv)
{
	struct sg_service svc;
	int rc = sg_service_init(&svc, "meter-logger", argc, argv);
	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && sg_bus_subscribe(svc.bus, SG_MSG_meter_sample, on_sample, NULL) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = sg_service_run(&svc);
	sg_service_fini(&svc);
	return rc;
}
