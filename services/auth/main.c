/* sitegate-auth: Authorize, local authorization list, authorization cache,
 * offline rules and reservations, for every charge point of the gateway.
 * main.c wires; auth.c decides; auth_io.c and auth_store.c touch the world. */
#include "sitegate/service.h"

#include "auth_io.h"

int
main(int argc, char **argv)
{
	struct sg_service svc;
	struct auth_svc *auth = NULL;
	int rc = sg_service_init(&svc, "auth", argc, argv);

	if (rc == 0 && sg_service_use_poll_loop(&svc) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0 && auth_io_new(&svc, &auth) < 0)
		rc = SG_EXIT_FAILURE;
	if (rc == 0)
		rc = sg_service_run(&svc);
	/* Before the bus: the keys and the state go first (see keys.h). */
	auth_io_free(auth);
	sg_service_fini(&svc);
	return rc;
}
