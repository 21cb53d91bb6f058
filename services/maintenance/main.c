/* sitegate-maintenance: firmware updates and diagnostics uploads. */
#include "sitegate/service.h"

int
main(int argc, char **argv)
{
	struct sg_service svc;
	int rc = sg_service_init(&svc, "maintenance", argc, argv);
	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = sg_service_run(&svc);
	sg_service_fini(&svc);
	return rc;
}
