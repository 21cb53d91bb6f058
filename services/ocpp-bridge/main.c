/* sitegate-ocpp-bridge: the gateway's face to the Central System.
 *
 * libwebsockets 4.1.6 (Debian 12) cannot be driven from an outside poll(), so
 * here lws owns the event loop: the bus joins it through bus_lws.h, signals
 * arrive on a signalfd adopted as a raw descriptor, and every charge point's
 * timer is an lws_sul. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sitegate/bus_lws.h"
#include "sitegate/log.h"
#include "sitegate/notify.h"
#include "sitegate/time.h"

#include "bridge.h"

#define QUEUE_MAX_BYTES (256u * 1024 * 1024) /* thinning starts here; see txqueue.h */

static struct bridge bridge;
static int sigfd = -1;
static lws_sorted_usec_list_t watchdog;

int64_t
bridge_now(void)
{
	return sg_time_mono_ms();
}

static int
signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sg_info("SIGHUP: nothing to reload");
			continue;
		}
		sg_info("%s: stopping", strsignal((int)si.ssi_signo));
		sg_notify_stopping();
		bridge.stopping = true;
	}
	return 0;
}

static struct lws_protocols protocols[4];

const struct lws_protocols *
bridge_protocols(void)
{
	return protocols;
}

static void
on_watchdog(lws_sorted_usec_list_t *sul)
{
	sg_notify_watchdog();
	lws_sul_schedule(bridge.ctx, 0, &watchdog, on_watchdog,
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
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		return -errno;
	lws_sock_file_fd_type fd = {.filefd = sigfd};
	if (!lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd, "sitegate-signals", NULL))
		return -EIO;
	return 0;
}

/* Lowering the security profile through OCPP is refused (Security Whitepaper);
 * a profile the connection cannot use is refused too, and so are connection
 * settings the profile in effect cannot use: either would leave the charge
 * point unable to connect. */
static int
check_key(struct sg_keys *keys, const char *cpid, const struct sg_key_def *def, const char *value,
          char *why, size_t why_len, void *ud)
{
	struct cp *cp = bridge_cp(ud, cpid);
	if (!cp)
		return 0;
	long have = (long)sg_keys_get_int(keys, cpid, "SecurityProfile");
	if (strcasecmp(def->name, "VendorWebsocketSettings") == 0)
		return ws_target_check(cp, (int)have, value, why, why_len);
	if (strcasecmp(def->name, "SecurityProfile") != 0)
		return 0;
	long want = strtol(value, NULL, 10);
	if (want < have) {
		snprintf(why, why_len, "lowering the security profile from %ld is not allowed",
		         have);
		return -EPERM;
	}
	if (ws_target_check(cp, (int)want, NULL, why, why_len) < 0)
		return -EINVAL;
	if (want == 3 && (!cp->conf->client_cert[0] || !cp->conf->client_key[0])) {
		snprintf(why, why_len, "profile 3 needs a client certificate");
		return -EINVAL;
	}
	return 0;
}

/* Keys that change how we connect take effect with a new connection. */
static void
key_changed(struct sg_keys *keys, const char *cpid, const struct sg_key_def *def, const char *value,
            void *ud)
{
	struct cp *cp = bridge_cp(ud, cpid);
	if (!cp)
		return;
	static const char *const reconnect[] = {"SecurityProfile", "AuthorizationKey",
	                                        "VendorWebsocketSettings", "UrlHasServerToken"};
	for (size_t i = 0; i < sizeof(reconnect) / sizeof(reconnect[0]); i++)
		if (strcasecmp(def->name, reconnect[i]) == 0 && cp->wsi) {
			cp->close_after_flush = true;
			lws_callback_on_writable(cp->wsi);
		}
	if (strcasecmp(def->name, "WebSocketPingInterval") == 0) {
		cp->ping_at = bridge_now() + sg_keys_get_int(keys, cpid, def->name) * 1000;
		cp->pong_deadline = 0;
	}
	cp_kick(cp);
}

/* The configuration's security settings are where a charge point starts;
 * the Central System may raise the profile later, never lower it. */
static void
seed_security(struct bridge *br, const struct sg_cp_conf *c)
{
	char v[48];
	if (sg_keys_get_int(br->keys, c->id, "SecurityProfile") < c->security_profile) {
		snprintf(v, sizeof(v), "%d", c->security_profile);
		sg_keys_set(br->keys, c->id, "SecurityProfile", v);
	}
	const char *k = sg_keys_get(br->keys, c->id, "AuthorizationKey");
	if ((!k || !*k) && c->authorization_key[0])
		sg_keys_set(br->keys, c->id, "AuthorizationKey", c->authorization_key);
}

/* Every charge point holds a socket (and lws a few spare descriptors): make
 * sure the open-file limit allows them all, raising the soft limit to the hard
 * one, rather than have the last charge points fail to connect forever. */
static int
check_fd_limit(int n_cps)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n_cps * 2 + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		sg_err("%d charge points need %llu open files, the limit is %llu: raise it "
		       "(LimitNOFILE= in the systemd unit, chpst -o with runit)",
		       n_cps, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

static int
setup(struct bridge *br)
{
	if (check_fd_limit(br->svc.conf.n_cps) < 0)
		return -EMFILE;
	char path[512];
	if (sg_service_state_path(&br->svc, "queue.db", path, sizeof(path)) < 0 ||
	    txq_open(path, QUEUE_MAX_BYTES, &br->txq) < 0) {
		sg_err("cannot open the transaction-message queue \"%s\"", path);
		return -EIO;
	}
	br->keys = sg_keys_new(&br->svc, NULL);
	if (!br->keys)
		return -EIO;
	sg_keys_on_check(br->keys, check_key, br);
	sg_keys_on_change(br->keys, key_changed, br);

	protocols[0] =
	    (struct lws_protocols){.name = "sitegate-signals", .callback = signal_callback};
	protocols[1] = sg_bus_lws_protocol;
	protocols[2] = bridge_ws_protocol;
	struct lws_context_creation_info info = {
	    .port = CONTEXT_PORT_NO_LISTEN,
	    .protocols = protocols,
	    .options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
	    .fd_limit_per_thread = 1 + 3 * (unsigned)br->svc.conf.n_cps + 64,
	};
	br->ctx = lws_create_context(&info);
	br->vhost = br->ctx ? lws_get_vhost_by_name(br->ctx, "default") : NULL;
	if (!br->vhost) {
		sg_err("cannot create the libwebsockets context");
		return -EIO;
	}
	if (adopt_signals(br->vhost) < 0) {
		sg_err("cannot watch signals: %s", strerror(errno));
		return -EIO;
	}
	if (route_init(br) < 0 || remote_init(br) < 0)
		return -ENOMEM;

	br->n_cps = br->svc.conf.n_cps;
	br->cps = calloc((size_t)br->n_cps, sizeof(*br->cps));
	if (!br->cps)
		return -ENOMEM;
	for (int i = 0; i < br->n_cps; i++) {
		seed_security(br, &br->svc.conf.cps[i]);
		if (cp_init(br, &br->cps[i], i, &br->svc.conf.cps[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sg_bus_lws *att = NULL;
	int rc = sg_service_init(&bridge.svc, "ocpp-bridge", argc, argv);
	if (rc != 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	sg_log_route_lws();
	srandom((unsigned)(sg_time_wall_ms() ^ getpid()));

	if (setup(&bridge) < 0) {
		rc = SG_EXIT_FAILURE;
		goto out;
	}
	att = sg_bus_lws_attach(bridge.svc.bus, bridge.ctx, bridge.vhost);
	if (!att) {
		rc = SG_EXIT_FAILURE;
		goto out;
	}
	if (sg_notify_watchdog_period_ms() > 0)
		on_watchdog(&watchdog);
	sg_bus_on_connect(bridge.svc.bus, sg_service_bus_connected, &bridge.svc);
	sg_bus_start(bridge.svc.bus);

	while (!bridge.stopping)
		if (lws_service(bridge.ctx, 0) < 0)
			break;
	rc = bridge.svc.exit_code;

out:
	/* Fail what is in flight (answers to services go out) while the loop's
	 * timers still exist, then cancel them, then close the connections. */
	bridge.stopping = true;
	for (int i = 0; i < bridge.n_cps; i++) {
		if (bridge.cps[i].rpc)
			rpc_set_connected(bridge.cps[i].rpc, false, bridge_now());
		if (bridge.ctx)
			lws_sul_cancel(&bridge.cps[i].sul);
	}
	if (bridge.ctx)
		lws_sul_cancel(&watchdog);
	sg_bus_lws_detach(att);
	if (bridge.ctx)
		lws_context_destroy(bridge.ctx); /* closes the WebSockets */
	bridge.ctx = NULL;
	for (int i = 0; i < bridge.n_cps; i++)
		cp_fini(&bridge.cps[i]);
	route_fini(&bridge);
	remote_fini(&bridge);
	free(bridge.cps);
	bridge_tls_vhosts_free(&bridge);
	sg_keys_free(bridge.keys);
	sg_service_fini(&bridge.svc); /* publishes "offline" */
	txq_close(bridge.txq);
	return rc;
}
