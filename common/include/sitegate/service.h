/* What every Sitegate service does the same way: command line (-c, -v, -h,
 * -V), logging, configuration, the bus with its credentials, signals, systemd
 * readiness and watchdog. main.c of a service wires its handlers between
 * sg_service_init() and sg_service_run(). */
#ifndef SITEGATE_SERVICE_H
#define SITEGATE_SERVICE_H

#include <stdbool.h>

#include "bus.h"
#include "config.h"
#include "loop.h"

/* Exit codes: the supervisor restarts on anything but SG_EXIT_CONFIG. */
enum {
	SG_EXIT_OK = 0,
	SG_EXIT_FAILURE = 1,
	SG_EXIT_USAGE = 64,
	SG_EXIT_RESTART = 75, /* asks the supervisor for a restart (e.g. OCPP Reset) */
	SG_EXIT_CONFIG = 78,
};

struct sg_service;
typedef void sg_service_fn(struct sg_service *svc, void *ud);

struct sg_service {
	const char *name; /* "connector": binary sitegate-connector, bus user sitegate-connector */
	struct sg_config conf;
	struct sg_loop *loop; /* the poll loop; NULL until sg_service_use_poll_loop() */
	struct sg_bus *bus;
	int exit_code;
	bool ready_sent;
	char *bus_password;
	sg_service_fn *on_stop, *on_reload, *on_ready;
	void *ud;
	struct sg_bus_loop *bus_att;
};

/* Parses argv, sets up logging, loads the config and creates the bus (not yet
 * connected). On a usage or config error it prints why and returns the exit
 * code to use (> 0); 0 on success. */
int sg_service_init(struct sg_service *svc, const char *name, int argc, char **argv);
/* Creates the poll loop, attaches the bus and handles SIGTERM/SIGINT (orderly
 * stop) and SIGHUP (on_reload). Every service but ocpp-bridge calls this. */
int sg_service_use_poll_loop(struct sg_service *svc);
/* Hooks: on_ready runs once after the first connect (subscriptions are sent),
 * on_stop before the loop ends (flush state there), on_reload on SIGHUP. */
void sg_service_hooks(struct sg_service *svc, sg_service_fn *on_ready, sg_service_fn *on_stop,
                      sg_service_fn *on_reload, void *ud);
/* Connects the bus and runs the poll loop until stopped. Returns the exit code. */
int sg_service_run(struct sg_service *svc);
/* Ends the run with exit_code after the on_stop hook. */
void sg_service_stop(struct sg_service *svc, int exit_code);
void sg_service_fini(struct sg_service *svc);

/* For services that own their loop (ocpp-bridge): the bus connection
 * callback that sends readiness, and the stop sequence. */
void sg_service_bus_connected(struct sg_bus *bus, bool connected, void *svc);

/* Reads <dir>/<name>, a bus password file, without its trailing newline.
 * Logs and returns a negative errno on failure. *out is the caller's to free. */
int sg_service_read_password(const char *dir, const char *name, char **out);

/* <state_dir>/<name>, for the service's SQLite files. */
int sg_service_state_path(const struct sg_service *svc, const char *file, char *buf, size_t len);

#endif
