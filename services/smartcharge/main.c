/* sitegate-smartcharge: charging profiles, composite schedules, limits and site load sharing.
 * main.c wires the service; the decisions live in smartcharge.c once they arrive. */
#include "sitegate/service.h"

int
main(int argc, char **argv)
{
	struct sg_service svc;
	int rc = sg_service_init(&svc, "smartcharge", argc, argv);
	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = sg_service_run(&svc);
	sg_service_fini(&svc);
	return rc;
}
