/* The common life of a service: arguments, logging, configuration, bus
 * credentials, signals, readiness, watchdog, and answering pings. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/bus_loop.h"
#include "sitegate/log.h"
#include "sitegate/notify.h"
#include "sitegate/service.h"

static void
usage(FILE *out, const char *name)
{
	fprintf(out,
	        "Usage: sitegate-%s [-c FILE] [-v]\n"
	        "  -c, --config FILE  configuration file (default %s)\n"
	        "  -v, --verbose      log debug messages\n"
	        "  -V, --version      print the version and exit\n"
	        "  -h, --help         show this help\n",
	        name, SG_CONFIG_DEFAULT_PATH);
}

/* Reads the service's bus password from <password_dir>/<name>: the whole file
 * without the trailing newline. */
int
sg_service_read_password(const char *dir, const char *name, char **out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		sg_err("cannot read the bus password \"%s\": %s", path, strerror(e));
		return -e;
	}
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		sg_err("bus password file \"%s\" is empty or unreadable", path);
		return -EINVAL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}

static void
on_ping(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sg_service *svc = ud;
	const struct sg_msg_svc_ping *ping = in->msg;
	struct sg_msg_svc_pong pong = {.seq = ping->seq, .sent = ping->sent};
	snprintf(pong.svc, sizeof(pong.svc), "%s", svc->name);
	sg_bus_reply(bus, in, &pong);
}

int
sg_service_init(struct sg_service *svc, const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = SG_CONFIG_DEFAULT_PATH;
	bool verbose = false;
	int c;

	memset(svc, 0, sizeof(*svc));
	svc->name = name;
	sg_log_init(name, SG_LOG_INFO);
	while ((c = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("sitegate-%s %s\n", name, SITEGATE_VERSION);
			exit(SG_EXIT_OK);
		case 'h':
			usage(stdout, name);
			exit(SG_EXIT_OK);
		default:
			usage(stderr, name);
			return SG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sitegate-%s: unexpected argument \"%s\"\n", name, argv[optind]);
		usage(stderr, name);
		return SG_EXIT_USAGE;
	}

	struct sg_conf_error err;
	if (sg_config_load(config_path, &svc->conf, &err) < 0) {
		char text[768];
		sg_conf_error_format(&err, text, sizeof(text));
		sg_err("configuration error: %s", text);
		return SG_EXIT_CONFIG;
	}
	enum sg_log_level level = SG_LOG_INFO;
	sg_log_level_parse(svc->conf.log_level, &level); /* validated by the config table */
	sg_log_set_level(verbose ? SG_LOG_DEBUG : level);

	if (svc->conf.broker.password_dir[0] &&
	    sg_service_read_password(svc->conf.broker.password_dir, name, &svc->bus_password) < 0)
		return SG_EXIT_CONFIG;

	char user[64];
	snprintf(user, sizeof(user), "sitegate-%s", name);
	struct sg_bus_config bc = {
	    .host = svc->conf.broker.host,
	    .port = svc->conf.broker.port,
	    .user = svc->bus_password ? user : NULL,
	    .password = svc->bus_password,
	    .client_id = user,
	    .prefix = svc->conf.broker.prefix,
	    .service = name,
	    .keepalive_s = svc->conf.broker.keepalive_s,
	};
	svc->bus = sg_bus_new(&bc);
	if (!svc->bus) {
		sg_err("cannot create the bus client");
		return SG_EXIT_FAILURE;
	}
	struct sg_topic_args me = {0};
	snprintf(me.svc, sizeof(me.svc), "%s", name);
	sg_bus_subscribe_args(svc->bus, SG_MSG_svc_ping, &me, on_ping, svc);
	sg_info("starting %s, configuration \"%s\", %d charge point(s)", SITEGATE_VERSION,
	        config_path, svc->conf.n_cps);
	return 0;
}

static void
on_signal(struct sg_loop *loop, int signo, void *ud)
{
	struct sg_service *svc = ud;
	if (signo == SIGHUP) {
		sg_info("SIGHUP: reloading");
		if (svc->on_reload)
			svc->on_reload(svc, svc->ud);
		return;
	}
	sg_info("%s: stopping", strsignal(signo));
	sg_service_stop(svc, SG_EXIT_OK);
}

static int64_t
on_watchdog(struct sg_loop *loop, void *ud)
{
	sg_notify_watchdog();
	return sg_notify_watchdog_period_ms();
}

int
sg_service_use_poll_loop(struct sg_service *svc)
{
	svc->loop = sg_loop_new();
	if (!svc->loop)
		return -ENOMEM;
	svc->bus_att = sg_bus_loop_attach(svc->bus, svc->loop);
	if (!svc->bus_att)
		return -ENOMEM;
	signal(SIGPIPE, SIG_IGN);
	int rc = sg_loop_on_signal(svc->loop, SIGTERM, on_signal, svc);
	if (rc == 0)
		rc = sg_loop_on_signal(svc->loop, SIGINT, on_signal, svc);
	if (rc == 0)
		rc = sg_loop_on_signal(svc->loop, SIGHUP, on_signal, svc);
	int64_t wd = sg_notify_watchdog_period_ms();
	if (rc == 0 && wd > 0)
		sg_loop_timer_add(svc->loop, wd, on_watchdog, svc);
	return rc;
}

void
sg_service_hooks(struct sg_service *svc, sg_service_fn *on_ready, sg_service_fn *on_stop,
                 sg_service_fn *on_reload, void *ud)
{
	svc->on_ready = on_ready;
	svc->on_stop = on_stop;
	svc->on_reload = on_reload;
	svc->ud = ud;
}

void
sg_service_bus_connected(struct sg_bus *bus, bool connected, void *ud)
{
	struct sg_service *svc = ud;
	if (!connected || svc->ready_sent)
		return;
	svc->ready_sent = true;
	if (svc->on_ready)
		svc->on_ready(svc, svc->ud);
	sg_notify_ready();
	sg_info("ready");
}

int
sg_service_run(struct sg_service *svc)
{
	sg_bus_on_connect(svc->bus, sg_service_bus_connected, svc);
	sg_bus_start(svc->bus);
	int rc = sg_loop_run(svc->loop);
	if (rc < 0) {
		sg_err("event loop failed: %s", strerror(-rc));
		return SG_EXIT_FAILURE;
	}
	return svc->exit_code;
}

void
sg_service_stop(struct sg_service *svc, int exit_code)
{
	svc->exit_code = exit_code;
	sg_notify_stopping();
	if (svc->on_stop)
		svc->on_stop(svc, svc->ud);
	if (svc->loop)
		sg_loop_stop(svc->loop);
}

void
sg_service_fini(struct sg_service *svc)
{
	sg_bus_loop_detach(svc->bus_att);
	svc->bus_att = NULL;
	sg_bus_free(svc->bus); /* sends the "offline" status */
	svc->bus = NULL;
	sg_loop_free(svc->loop);
	svc->loop = NULL;
	if (svc->bus_password) {
		explicit_bzero(svc->bus_password, strlen(svc->bus_password));
		free(svc->bus_password);
		svc->bus_password = NULL;
	}
	if (svc->conf.path[0])
		sg_config_free(&svc->conf);
}

int
sg_service_state_path(const struct sg_service *svc, const char *file, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", svc->conf.state_dir, svc->name, file);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}
