/* sitegate-meter-logger: an example third-party service. It joins the gateway
 * the way any extension does: it runs on the common service frame, subscribes
 * to a public topic (the meter samples of every connector) and logs them, and
 * it extends the OCPP interface: the Central System's DataTransfer calls for
 * vendorId "org.sitegate.example" come to it (messageIds "echo", which returns
 * the data it got, and "lastSample", which returns the latest meter sample of
 * the charge point as JSON text). See docs/bus.md, "Writing a service". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"
#include "sitegate/service.h"
#include "sitegate/time.h"

#define VENDOR_ID "org.sitegate.example"

struct logger {
	struct sg_service svc;
	json_t *last; /* charge point id -> its latest sample as JSON */
};

static void
on_sample(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct logger *lg = ud;
	const struct sg_msg_meter_sample *s = in->msg;
	char when[SG_TIME_RFC3339_LEN];
	if (sg_time_format(s->ts, when, sizeof(when)) < 0)
		snprintf(when, sizeof(when), "%" PRId64, s->ts);
	sg_info("%s/%d at %s: energy=%.1f Wh power=%.1f W offered=%.1f A", in->args->cp,
	        in->args->conn, when, s->energy_wh, s->power_w, s->offered_a);
	json_t *j = sg_msg_to_json(in->id, in->msg);
	if (j) {
		json_object_set_new(j, "connector", json_integer(in->args->conn));
		json_object_set_new(lg->last, in->args->cp, j);
	}
}

static void
on_datatransfer(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct logger *lg = ud;
	const struct sg_msg_ocpp_datatransfer *dt = in->msg;
	const char *id = json_string_value(json_object_get(dt->payload, "messageId"));
	json_t *data = json_object_get(dt->payload, "data");
	struct sg_msg_ocpp_result r = {0};

	if (id && strcmp(id, "echo") == 0) {
		r.payload = json_pack("{s:s}", "status", "Accepted");
		if (data)
			json_object_set(r.payload, "data", data);
	} else if (id && strcmp(id, "lastSample") == 0) {
		json_t *last = json_object_get(lg->last, in->args->cp);
		char *text = last ? json_dumps(last, JSON_COMPACT) : NULL;
		r.payload = text ? json_pack("{s:s,s:s}", "status", "Accepted", "data", text)
		                 : json_pack("{s:s}", "status", "Rejected");
		free(text);
	} else {
		r.payload = json_pack("{s:s}", "status", "UnknownMessageId");
	}
	sg_info("%s: DataTransfer %s: %s", in->args->cp, id ? id : "(no messageId)",
	        json_string_value(json_object_get(r.payload, "status")));
	sg_bus_reply(bus, in, &r);
	json_decref(r.payload);
}

static void
on_ready(struct sg_service *svc, void *ud)
{
	struct sg_msg_ocpp_vendor v = {.svc = "meter-logger", .message_ids = "echo,lastSample"};
	struct sg_topic_args a = {.name = VENDOR_ID};
	sg_bus_publish(svc->bus, SG_MSG_ocpp_vendor, &v, &a);
}

int
main(int argc, char **argv)
{
	static struct logger lg;
	int rc = sg_service_init(&lg.svc, "meter-logger", argc, argv);
	lg.last = json_object();
	struct sg_topic_args vendor = {.name = VENDOR_ID};
	if (rc == 0 && sg_service_use_poll_loop(&lg.svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && (sg_bus_subscribe(lg.svc.bus, SG_MSG_meter_sample, on_sample, &lg) < 0 ||
	                sg_bus_subscribe_args(lg.svc.bus, SG_MSG_ocpp_datatransfer, &vendor,
	                                      on_datatransfer, &lg) < 0))
		rc = SG_EXIT_FAILURE;
	sg_service_hooks(&lg.svc, on_ready, NULL, NULL, &lg);
	if (rc == 0)
		rc = sg_service_run(&lg.svc);
	sg_service_fini(&lg.svc);
	json_decref(lg.last);
	return rc;
}
