/* sitegate-maintenance: firmware updates (UpdateFirmware) and diagnostics
 * uploads (GetDiagnostics) of the gateway's charge points. main.c wires;
 * maintenance.c decides; maintenance_io.c, transfer.c, archive.c and child.c
 * touch the world. */
#include "sitegate/service.h"

#include "maintenance_io.h"

static void
on_stop(struct sg_service *svc, void *ud)
{
	mt_io_stop(ud);
}

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct mt_io *io = NULL;
	int rc = sg_service_init(&svc, "maintenance", argc, argv);

	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && (io = mt_io_new(&svc)) == NULL)
		rc = SG_EXIT_FAILURE;
	if (rc == 0) {
		sg_service_hooks(&svc, NULL, on_stop, NULL, io);
		rc = sg_service_run(&svc);
	}
	mt_io_free(io); /* after the loop, before the bus */
	sg_service_fini(&svc);
	return rc;
}
