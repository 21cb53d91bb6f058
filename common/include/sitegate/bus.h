/* The Sitegate bus: a thin layer over libmosquitto speaking MQTT v5.
 *
 * - connects (persistent session, Last Will = the service's retained "offline"
 *   status), reconnects with backoff and re-subscribes after every connect;
 * - typed publish/subscribe of the messages declared in msg.h, with topics from
 *   their templates; malformed payloads are logged and dropped here, so handlers
 *   only ever see decoded messages;
 * - request/response with MQTT v5 response topic + correlation data and a timeout;
 * - while the broker is away: STATE is kept and republished on reconnect, EVENT,
 *   REQUEST and REPLY are queued in memory (bounded, oldest dropped with a log
 *   line), SAMPLE is dropped and counted.
 *
 * The bus does no I/O waiting of its own. A back end attaches it to an event
 * loop: bus_loop.h (the poll loop) or bus_lws.h (libwebsockets owns the loop). */
#ifndef SITEGATE_BUS_H
#define SITEGATE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "topic.h"

struct sg_bus;

struct sg_bus_config {
	const char *host; /* host name, address, or a unix socket path (then port 0) */
	int port;
	const char *user;      /* NULL: anonymous */
	const char *password;  /* borrowed; never logged */
	const char *client_id; /* stable across restarts: the broker keeps the session */
	const char *prefix;    /* topic prefix, e.g. "sitegate" */
	const char *service;   /* publishes <prefix>/service/<service>/status; NULL: none */
	int keepalive_s;       /* 0: 30 */
	size_t queue_limit;    /* messages kept while the broker is away; 0: default 10000 */
};

/* An incoming message. Everything is borrowed for the duration of the handler. */
struct sg_bus_in {
	const char *topic;
	enum sg_msg_id id;                /* SG_MSG_NONE for raw subscriptions */
	const struct sg_topic_args *args; /* placeholders parsed from the topic */
	const void *msg;                  /* decoded struct sg_msg_<id>, or NULL when raw */
	const void *payload;              /* the raw bytes */
	size_t len;
	bool retained;
	/* request/response: set when the sender expects a reply */
	const char *response_topic;
	const void *correlation;
	int correlation_len;
};

typedef void sg_bus_handler(struct sg_bus *bus, const struct sg_bus_in *in, void *ud);
/* status: 0 with reply set, -ETIMEDOUT, or -ECANCELED when the bus is freed. */
typedef void sg_bus_reply_fn(struct sg_bus *bus, int status, const void *reply, void *ud);
typedef void sg_bus_connect_fn(struct sg_bus *bus, bool connected, void *ud);

/* The back end the bus asks for I/O. fd_changed: the socket to watch changed
 * (new_fd -1: none); want_write: the bus has data to flush; wake: call
 * sg_bus_tick() again within delay_ms at the latest. */
struct sg_bus_backend {
	void (*fd_changed)(struct sg_bus *bus, int old_fd, int new_fd, void *ctx);
	void (*want_write)(struct sg_bus *bus, void *ctx);
	void (*wake)(struct sg_bus *bus, int64_t delay_ms, void *ctx);
	void *ctx;
};

/* Copies what it needs from cfg. Returns NULL on allocation or library failure. */
struct sg_bus *sg_bus_new(const struct sg_bus_config *cfg);
/* Cancels pending requests (callbacks get -ECANCELED), publishes the offline
 * status when connected, disconnects. Accepts NULL. */
void sg_bus_free(struct sg_bus *bus);

void sg_bus_set_backend(struct sg_bus *bus, const struct sg_bus_backend *backend);
void sg_bus_on_connect(struct sg_bus *bus, sg_bus_connect_fn *fn, void *ud);
/* Starts connecting; failures are retried from sg_bus_tick(). */
void sg_bus_start(struct sg_bus *bus);

/* Called by back ends. */
void sg_bus_handle_read(struct sg_bus *bus);
void sg_bus_handle_write(struct sg_bus *bus);
bool sg_bus_want_write(const struct sg_bus *bus);
/* Keepalive, reconnect, request timeouts. Returns ms until it wants to run again. */
int64_t sg_bus_tick(struct sg_bus *bus);

bool sg_bus_connected(const struct sg_bus *bus);
const char *sg_bus_prefix(const struct sg_bus *bus);
/* Counters since start, for status and tests. */
struct sg_bus_stats {
	uint64_t connects, queued, dropped, malformed, timeouts;
};
struct sg_bus_stats sg_bus_stats(const struct sg_bus *bus);

/* Typed API. args may be NULL for templates without placeholders. */
int sg_bus_publish(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                   const struct sg_topic_args *args);
/* Subscribes to the template with every placeholder as '+'. */
int sg_bus_subscribe(struct sg_bus *bus, enum sg_msg_id id, sg_bus_handler *fn, void *ud);
/* Subscribes to the template with the given placeholders fixed (NULL/0 fields stay '+'). */
int sg_bus_subscribe_args(struct sg_bus *bus, enum sg_msg_id id, const struct sg_topic_args *args,
                          sg_bus_handler *fn, void *ud);
/* Sends a REQUEST; fn (may be NULL) runs exactly once with the decoded reply or an error. */
int sg_bus_request(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                   const struct sg_topic_args *args, int64_t timeout_ms, sg_bus_reply_fn *fn,
                   void *ud);
/* Answers the request in `in` with its declared reply message. */
int sg_bus_reply(struct sg_bus *bus, const struct sg_bus_in *in, const void *reply);

/* Raw API, for tools that handle any topic (sitegatectl monitor). */
int sg_bus_subscribe_raw(struct sg_bus *bus, const char *pattern, int qos, sg_bus_handler *fn,
                         void *ud);
int sg_bus_publish_raw(struct sg_bus *bus, const char *topic, const void *payload, size_t len,
                       enum sg_msg_class cls);

#endif
