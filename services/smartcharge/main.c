/* sitegate-smartcharge: charging profiles, composite schedules, limits and site load
 * sharing. main.c wires the service; smartcharge.c (with profiles.c, schedule.c and
 * share.c) decides; smartcharge_io.c touches the bus and the database. */
#include "sitegate/service.h"

#include "smartcharge_io.h"

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct sc_io io = {0};
	int rc = sg_service_init(&svc, "smartcharge", argc, argv);
	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && sc_io_init(&io, &svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = sg_service_run(&svc);
	sc_io_fini(&io); /* after the loop, before the bus */
	sg_service_fini(&svc);
	return rc;
}
