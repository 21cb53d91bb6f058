/* sitegate-ocpp-bridge: the gateway's face to the Central System.
 *
 * libwebsockets 4.1.6 (Debian 12) cannot be driven from an outside poll(), so
 * here lws owns the event loop: the bus joins it through bus_lws.h and signals
 * arrive on a signalfd adopted as a raw descriptor. */
#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sitegate/bus_lws.h"
#include "sitegate/log.h"
#include "sitegate/notify.h"
#include "sitegate/service.h"

struct bridge_main {
	struct sg_service svc;
	struct lws_context *ctx;
	lws_sorted_usec_list_t watchdog;
	int sigfd;
	bool stopping;
};

static struct bridge_main bridge;

static int
signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	struct signalfd_siginfo si;
	while (read(bridge.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sg_info("SIGHUP: nothing to reload yet");
			continue;
		}
		sg_info("%s: stopping", strsignal((int)si.ssi_signo));
		sg_notify_stopping();
		bridge.stopping = true;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
    {.name = "sitegate-signals", .callback = signal_callback},
    {0}, /* sg_bus_lws_protocol, filled in main() */
    {0},
};

static void
on_watchdog(lws_sorted_usec_list_t *sul)
{
	sg_notify_watchdog();
	lws_sul_schedule(bridge.ctx, 0, &bridge.watchdog, on_watchdog,
	                 sg_notify_watchdog_period_ms() * LWS_US_PER_MS);
}

static int
adopt_signals(struct lws_vhost *vh)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	bridge.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (bridge.sigfd < 0)
		return -errno;
	lws_sock_file_fd_type fd = {.filefd = bridge.sigfd};
	if (!lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd, "sitegate-signals", NULL))
		return -EIO;
	return 0;
}

int
main(int argc, char **argv)
{
	struct lws_protocols protos[3];
	memcpy(protos, protocols, sizeof(protos));
	protos[1] = sg_bus_lws_protocol;

	int rc = sg_service_init(&bridge.svc, "ocpp-bridge", argc, argv);
	if (rc != 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	sg_log_route_lws();

	struct lws_context_creation_info info = {
	    .port = CONTEXT_PORT_NO_LISTEN,
	    .protocols = protos,
	    .options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
	};
	bridge.ctx = lws_create_context(&info);
	struct lws_vhost *vh = bridge.ctx ? lws_get_vhost_by_name(bridge.ctx, "default") : NULL;
	if (!vh) {
		sg_err("cannot create the libwebsockets context");
		rc = SG_EXIT_FAILURE;
		goto out;
	}
	if (adopt_signals(vh) < 0) {
		sg_err("cannot watch signals: %s", strerror(errno));
		rc = SG_EXIT_FAILURE;
		goto out;
	}
	struct sg_bus_lws *att = sg_bus_lws_attach(bridge.svc.bus, bridge.ctx, vh);
	if (!att) {
		rc = SG_EXIT_FAILURE;
		goto out;
	}
	if (sg_notify_watchdog_period_ms() > 0)
		on_watchdog(&bridge.watchdog);
	sg_bus_on_connect(bridge.svc.bus, sg_service_bus_connected, &bridge.svc);
	sg_bus_start(bridge.svc.bus);

	while (!bridge.stopping)
		if (lws_service(bridge.ctx, 0) < 0)
			break;
	rc = bridge.svc.exit_code;
	sg_bus_lws_detach(att);
out:
	sg_service_fini(&bridge.svc); /* publishes "offline" before the context goes */
	if (bridge.ctx)
		lws_context_destroy(bridge.ctx);
	return rc;
}
