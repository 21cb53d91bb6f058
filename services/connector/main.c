/* sitegate-connector: connector state machines, transactions, availability,
 * locks and relays. main.c wires: the decisions are in connector.c, the bus,
 * journal, drivers and timers in connector_io.c. */
#include "sitegate/service.h"

#include "connector_io.h"

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct conn_svc *cs = NULL;
	int rc = sg_service_init(&svc, "connector", argc, argv);

	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = conn_svc_new(&svc, &cs);
	if (rc == 0)
		rc = sg_service_run(&svc);
	conn_svc_free(cs); /* the loop has stopped; the bus is freed below */
	sg_service_fini(&svc);
	return rc;
}
