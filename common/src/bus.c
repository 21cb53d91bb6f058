/* The bus over libmosquitto (MQTT v5), without a thread and without a loop of
 * its own: a back end (bus_loop.c, bus_lws.c) watches the socket and calls
 * sg_bus_handle_read/write and sg_bus_tick. See bus.h for the contract. */
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/bus.h"
#include "sitegate/log.h"
#include "sitegate/time.h"

#define RECONNECT_MIN_MS      250
#define RECONNECT_MAX_MS      5000
#define MISC_PERIOD_MS        1000
#define SESSION_EXPIRY_S      (7 * 24 * 3600) /* the broker keeps our queue a week */
#define TOOL_SESSION_EXPIRY_S 300
#define DEFAULT_QUEUE         10000
#define STATE_BUCKETS         1024 /* retained topics: ~20 per charge point, 500+ of them */

struct sub {
	char pattern[SG_TOPIC_MAX];
	int qos;
	enum sg_msg_id id; /* SG_MSG_NONE: raw */
	sg_bus_handler *fn;
	void *ud;
};

/* A publish waiting for the broker, or a retained state to republish. */
struct pending_pub {
	struct pending_pub *next;
	char *topic;
	void *payload;
	size_t len;
	int qos;
	bool retain;
	char *response_topic;
	uint64_t correlation; /* 0: none */
	void *reply_corr;     /* a reply's correlation data, copied from the request */
	int reply_corr_len;
};

struct request {
	struct request *next;
	uint64_t correlation;
	enum sg_msg_id reply;
	int64_t deadline;
	sg_bus_reply_fn *fn;
	void *ud;
};

struct sg_bus {
	struct mosquitto *mosq;
	char *host, *user, *password, *client_id, *prefix, *service;
	int port, keepalive;
	char reply_topic[SG_TOPIC_MAX];
	char status_topic[SG_TOPIC_MAX];

	struct sg_bus_backend backend;
	sg_bus_connect_fn *on_connect_fn;
	void *on_connect_ud;

	int fd;         /* the socket the back end watches, or -1 */
	bool connected; /* CONNACK received */
	bool started;
	bool closing;         /* sg_bus_free() runs: a disconnect is expected */
	int64_t reconnect_at; /* monotonic ms; 0: not scheduled */
	int64_t backoff_ms;

	struct sub *subs;
	size_t n_subs, cap_subs;

	struct pending_pub *queue_head, *queue_tail; /* in order, while away */
	size_t queue_len, queue_limit;
	struct pending_pub *states[STATE_BUCKETS]; /* latest retained payload per topic */

	struct request *requests;
	uint64_t next_correlation;

	struct sg_bus_stats stats;
	uint64_t dropped_samples_logged;
};

static void bus_lost(struct sg_bus *bus, const char *why);

/* ---- small helpers ------------------------------------------------------ */

static void
pub_free(struct pending_pub *p)
{
	if (!p)
		return;
	free(p->topic);
	free(p->payload);
	free(p->response_topic);
	free(p->reply_corr);
	free(p);
}

static struct pending_pub *
pub_new(const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct pending_pub *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->topic = strdup(topic);
	p->payload = malloc(len ? len : 1);
	if (!p->topic || !p->payload) {
		pub_free(p);
		return NULL;
	}
	memcpy(p->payload, payload, len);
	p->len = len;
	p->qos = qos;
	p->retain = retain;
	return p;
}

static void
backend_fd(struct sg_bus *bus, int new_fd)
{
	int old = bus->fd;
	if (old == new_fd)
		return;
	bus->fd = new_fd;
	if (bus->backend.fd_changed)
		bus->backend.fd_changed(bus, old, new_fd, bus->backend.ctx);
}

static void
backend_flush(struct sg_bus *bus)
{
	if (bus->fd >= 0 && bus->backend.want_write && mosquitto_want_write(bus->mosq))
		bus->backend.want_write(bus, bus->backend.ctx);
}

static void
backend_wake(struct sg_bus *bus, int64_t delay_ms)
{
	if (bus->backend.wake)
		bus->backend.wake(bus, delay_ms, bus->backend.ctx);
}

static int
qos_of(enum sg_msg_class cls)
{
	return cls == SG_CLASS_SAMPLE ? 0 : 1;
}

/* ---- sending ------------------------------------------------------------- */

static int
send_now(struct sg_bus *bus, const struct pending_pub *p)
{
	mosquitto_property *props = NULL;
	int rc = MOSQ_ERR_SUCCESS;
	if (p->response_topic) {
		rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC,
		                                   p->response_topic);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
			                                   &p->correlation, sizeof(p->correlation));
	} else if (p->reply_corr) {
		rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
		                                   p->reply_corr, (uint16_t)p->reply_corr_len);
	}
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_publish_v5(bus->mosq, NULL, p->topic, (int)p->len, p->payload,
		                          p->qos, p->retain, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		sg_warn("bus: publish to %s failed: %s", p->topic, mosquitto_strerror(rc));
		return -EIO;
	}
	backend_flush(bus);
	return 0;
}

/* Takes ownership of p: sends it, or queues it while the broker is away. */
static int
publish_or_queue(struct sg_bus *bus, struct pending_pub *p, enum sg_msg_class cls)
{
	if (bus->connected && send_now(bus, p) == 0) {
		pub_free(p);
		return 0;
	}
	if (cls == SG_CLASS_SAMPLE) {
		bus->stats.dropped++;
		/* Live data is worthless later; say so once per outage, not per sample. */
		if (bus->dropped_samples_logged != bus->stats.connects + 1) {
			bus->dropped_samples_logged = bus->stats.connects + 1;
			sg_info("bus: broker away, dropping live samples (first: %s)", p->topic);
		}
		pub_free(p);
		return 0;
	}
	if (bus->queue_len >= bus->queue_limit) {
		struct pending_pub *old = bus->queue_head;
		bus->queue_head = old->next;
		if (!bus->queue_head)
			bus->queue_tail = NULL;
		bus->queue_len--;
		bus->stats.dropped++;
		sg_warn("bus: broker away and %zu messages queued, dropping the oldest (%s)",
		        bus->queue_limit, old->topic);
		pub_free(old);
	}
	if (bus->queue_tail)
		bus->queue_tail->next = p;
	else
		bus->queue_head = p;
	bus->queue_tail = p;
	bus->queue_len++;
	bus->stats.queued++;
	return 0;
}

static void
flush_queue(struct sg_bus *bus)
{
	while (bus->queue_head && bus->connected) {
		struct pending_pub *p = bus->queue_head;
		if (send_now(bus, p) < 0)
			break;
		bus->queue_head = p->next;
		if (!bus->queue_head)
			bus->queue_tail = NULL;
		bus->queue_len--;
		pub_free(p);
	}
}

static struct pending_pub **
state_bucket(struct sg_bus *bus, const char *topic)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &bus->states[h % STATE_BUCKETS];
}

/* Remembers the latest payload of a retained topic, to republish after a reconnect. */
static int
remember_state(struct sg_bus *bus, const char *topic, const void *payload, size_t len)
{
	struct pending_pub **bucket = state_bucket(bus, topic);
	for (struct pending_pub *s = *bucket; s; s = s->next) {
		if (strcmp(s->topic, topic) != 0)
			continue;
		void *copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, payload, len);
		free(s->payload);
		s->payload = copy;
		s->len = len;
		return 0;
	}
	struct pending_pub *s = pub_new(topic, payload, len, 1, true);
	if (!s)
		return -ENOMEM;
	s->next = *bucket;
	*bucket = s;
	return 0;
}

/* ---- connection ---------------------------------------------------------- */

static void
schedule_reconnect(struct sg_bus *bus)
{
	/* Exponential backoff with jitter, so that restarted services do not all
	 * hit a restarting broker at the same instant. */
	int64_t delay = bus->backoff_ms + (int64_t)(random() % (bus->backoff_ms / 2 + 1));
	bus->reconnect_at = sg_time_mono_ms() + delay;
	bus->backoff_ms *= 2;
	if (bus->backoff_ms > RECONNECT_MAX_MS)
		bus->backoff_ms = RECONNECT_MAX_MS;
	backend_wake(bus, delay);
}

static void
try_connect(struct sg_bus *bus)
{
	mosquitto_property *props = NULL;
	/* A tool's client id is new every run: its session need only outlive a
	 * broker restart, not the tool. */
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
	                             bus->service ? SESSION_EXPIRY_S : TOOL_SESSION_EXPIRY_S);
	bus->reconnect_at = 0;
	/* A loopback connect: blocking is bounded and short. CONNACK comes later. */
	/* Always the full connect: mosquitto_reconnect() would drop the session
	 * expiry property, and with it the queue the broker keeps for us. */
	int rc =
	    mosquitto_connect_bind_v5(bus->mosq, bus->host, bus->port, bus->keepalive, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
		if (bus->backoff_ms >= RECONNECT_MAX_MS)
			sg_debug("bus: connect to %s:%d failed: %s", bus->host, bus->port, why);
		else
			sg_warn("bus: connect to %s:%d failed: %s, retrying", bus->host, bus->port,
			        why);
		backend_fd(bus, -1);
		schedule_reconnect(bus);
		return;
	}
	backend_fd(bus, mosquitto_socket(bus->mosq));
	backend_flush(bus);
}

static void
bus_lost(struct sg_bus *bus, const char *why)
{
	bool was = bus->connected;
	bus->connected = false;
	backend_fd(bus, -1);
	if (bus->closing)
		return;
	if (bus->reconnect_at == 0 && bus->started)
		schedule_reconnect(bus);
	if (was) {
		sg_warn("bus: lost the broker (%s), reconnecting", why);
		if (bus->on_connect_fn)
			bus->on_connect_fn(bus, false, bus->on_connect_ud);
	}
}

static void
on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
	struct sg_bus *bus = obj;
	if (rc != 0) {
		sg_err("bus: broker refused the connection: %s", mosquitto_reason_string(rc));
		mosquitto_disconnect(mosq);
		bus_lost(bus, "refused");
		return;
	}
	bus->connected = true;
	bus->backoff_ms = RECONNECT_MIN_MS;
	bus->stats.connects++;
	sg_info("bus: connected to %s:%d as %s%s", bus->host, bus->port, bus->client_id,
	        (flags & 1) ? " (session resumed)" : "");

	/* Subscriptions first, so that nothing published in reply is missed. */
	mosquitto_subscribe_v5(mosq, NULL, bus->reply_topic, 1, 0, NULL);
	for (size_t i = 0; i < bus->n_subs; i++)
		mosquitto_subscribe_v5(mosq, NULL, bus->subs[i].pattern, bus->subs[i].qos, 0, NULL);
	/* Resync: our retained state may have been lost with a broker that had no
	 * persistence; republishing the latest value is idempotent. */
	for (size_t b = 0; b < STATE_BUCKETS; b++)
		for (struct pending_pub *s = bus->states[b]; s; s = s->next)
			send_now(bus, s);
	flush_queue(bus);
	if (bus->on_connect_fn)
		bus->on_connect_fn(bus, true, bus->on_connect_ud);
	backend_flush(bus);
}

static void
on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct sg_bus *bus = obj;
	bus_lost(bus, rc == 0 ? "disconnected" : mosquitto_strerror(rc));
}

/* ---- receiving ----------------------------------------------------------- */

static void
dispatch_reply(struct sg_bus *bus, const struct mosquitto_message *m,
               const mosquitto_property *props)
{
	void *corr = NULL;
	uint16_t corr_len = 0;
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
	uint64_t id = 0;
	if (corr && corr_len == sizeof(id))
		memcpy(&id, corr, sizeof(id));
	free(corr);

	struct request **pp = &bus->requests;
	while (*pp && (*pp)->correlation != id)
		pp = &(*pp)->next;
	struct request *r = *pp;
	if (!r) {
		sg_debug("bus: reply on %s matches no pending request, dropped", m->topic);
		return;
	}
	*pp = r->next;

	if (!r->fn) {
		free(r);
		return;
	}
	const struct sg_msg_desc *d = &sg_msgs[r->reply];
	void *msg = calloc(1, d->size);
	char why[128];
	if (!msg) {
		r->fn(bus, -ENOMEM, NULL, r->ud);
	} else if (sg_msg_decode(r->reply, m->payload, (size_t)m->payloadlen, msg, why,
	                         sizeof(why)) < 0) {
		bus->stats.malformed++;
		sg_warn("bus: malformed %s reply on %s: %s, dropped", d->name, m->topic, why);
		r->fn(bus, -EBADMSG, NULL, r->ud);
	} else {
		r->fn(bus, 0, msg, r->ud);
		sg_msg_clear(r->reply, msg);
	}
	free(msg);
	free(r);
}

static void
dispatch_one(struct sg_bus *bus, size_t i, const struct mosquitto_message *m,
             const struct sg_bus_in *raw)
{
	struct sub s = bus->subs[i]; /* a copy: the handler may add subscriptions */
	struct sg_topic_args args = {0};
	struct sg_bus_in in = *raw;
	in.id = s.id;
	in.args = &args;
	if (s.id == SG_MSG_NONE) {
		s.fn(bus, &in, s.ud);
		return;
	}
	const struct sg_msg_desc *d = &sg_msgs[s.id];
	if (sg_topic_parse(bus->prefix, d->topic, m->topic, &args) < 0)
		return; /* the pattern matched, but a value does not fit */
	void *msg = calloc(1, d->size);
	if (!msg) {
		sg_err("bus: out of memory decoding %s, dropped", m->topic);
		return;
	}
	char why[128];
	if (sg_msg_decode(s.id, m->payload, (size_t)m->payloadlen, msg, why, sizeof(why)) < 0) {
		bus->stats.malformed++;
		sg_warn("bus: malformed %s on %s: %s, dropped", d->name, m->topic, why);
		free(msg);
		return;
	}
	in.msg = msg;
	s.fn(bus, &in, s.ud);
	sg_msg_clear(s.id, msg);
	free(msg);
}

static void
on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
           const mosquitto_property *props)
{
	struct sg_bus *bus = obj;
	if (strcmp(m->topic, bus->reply_topic) == 0) {
		dispatch_reply(bus, m, props);
		return;
	}
	char *response_topic = NULL;
	void *corr = NULL;
	uint16_t corr_len = 0;
	mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response_topic, false);
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);

	struct sg_bus_in in = {
	    .topic = m->topic,
	    .payload = m->payload,
	    .len = (size_t)m->payloadlen,
	    .retained = m->retain,
	    .response_topic = response_topic,
	    .correlation = corr,
	    .correlation_len = corr_len,
	};
	for (size_t i = 0; i < bus->n_subs; i++) {
		bool match = false;
		if (mosquitto_topic_matches_sub(bus->subs[i].pattern, m->topic, &match) ==
		        MOSQ_ERR_SUCCESS &&
		    match)
			dispatch_one(bus, i, m, &in);
	}
	free(response_topic);
	free(corr);
}

static void
on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	if (level & (MOSQ_LOG_ERR))
		sg_err("mosquitto: %s", str);
	else if (level & MOSQ_LOG_WARNING)
		sg_warn("mosquitto: %s", str);
	else
		sg_debug("mosquitto: %s", str);
}

/* ---- public API ---------------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct sg_bus *
sg_bus_new(const struct sg_bus_config *cfg)
{
	static bool lib_ready;
	if (!lib_ready) {
		mosquitto_lib_init();
		lib_ready = true;
	}
	struct sg_bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->fd = -1;
	bus->port = cfg->port;
	bus->keepalive = cfg->keepalive_s > 0 ? cfg->keepalive_s : 30;
	bus->backoff_ms = RECONNECT_MIN_MS;
	bus->queue_limit = cfg->queue_limit ? cfg->queue_limit : DEFAULT_QUEUE;
	bus->host = strdup(cfg->host);
	bus->client_id = strdup(cfg->client_id);
	bus->prefix = strdup(cfg->prefix);
	bus->user = dup_or_null(cfg->user);
	bus->password = dup_or_null(cfg->password);
	bus->service = dup_or_null(cfg->service);
	/* Correlation ids unique across restarts of the same client id. */
	bus->next_correlation = ((uint64_t)sg_time_wall_ms() << 16) | 1;
	if (!bus->host || !bus->client_id || !bus->prefix)
		goto fail;
	snprintf(bus->reply_topic, sizeof(bus->reply_topic), "%s/reply/%s", bus->prefix,
	         bus->client_id);

	/* Sessions persist, so that what is sent to a client while it or the
	 * broker restarts waits for it: commands for a service, replies for a tool. */
	bus->mosq = mosquitto_new(bus->client_id, false, bus);
	if (!bus->mosq)
		goto fail;
	mosquitto_int_option(bus->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	/* Small request/reply packets: Nagle plus delayed ACKs would add ~40 ms each way. */
	mosquitto_int_option(bus->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (bus->user)
		mosquitto_username_pw_set(bus->mosq, bus->user, bus->password);
	mosquitto_connect_v5_callback_set(bus->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(bus->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(bus->mosq, on_message);
	mosquitto_log_callback_set(bus->mosq, on_log);

	if (bus->service) {
		struct sg_topic_args a = {0};
		snprintf(a.svc, sizeof(a.svc), "%s", bus->service);
		if (sg_topic_format(bus->prefix, sg_msgs[SG_MSG_svc_status].topic, &a,
		                    bus->status_topic, sizeof(bus->status_topic)) < 0)
			goto fail;
		struct sg_msg_svc_status st = {.pid = getpid(), .started = sg_time_wall_ms()};
		snprintf(st.state, sizeof(st.state), "offline");
		snprintf(st.version, sizeof(st.version), "%s", SITEGATE_VERSION);
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		int rc = sg_encode_svc_status(&st, &sb);
		if (rc == 0 && mosquitto_will_set_v5(bus->mosq, bus->status_topic, (int)sb.size,
		                                     sb.data, 1, true, NULL) != MOSQ_ERR_SUCCESS)
			rc = -EINVAL;
		msgpack_sbuffer_destroy(&sb);
		if (rc < 0)
			goto fail;
	}
	return bus;
fail:
	sg_bus_free(bus);
	return NULL;
}

void
sg_bus_set_backend(struct sg_bus *bus, const struct sg_bus_backend *backend)
{
	bus->backend = *backend;
	if (bus->fd >= 0 && backend->fd_changed)
		backend->fd_changed(bus, -1, bus->fd, backend->ctx);
}

void
sg_bus_on_connect(struct sg_bus *bus, sg_bus_connect_fn *fn, void *ud)
{
	bus->on_connect_fn = fn;
	bus->on_connect_ud = ud;
}

/* Publishes a STATE message to an already formatted topic. */
static int
publish_state_to(struct sg_bus *bus, enum sg_msg_id id, const void *msg, const char *topic)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	int rc = sg_msg_encode(id, msg, &sb);
	if (rc == 0)
		rc = sg_bus_publish_raw(bus, topic, sb.data, sb.size, SG_CLASS_STATE);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

void
sg_bus_start(struct sg_bus *bus)
{
	if (bus->started)
		return;
	bus->started = true;
	if (bus->service) {
		struct sg_msg_svc_status st = {.pid = getpid(), .started = sg_time_wall_ms()};
		snprintf(st.state, sizeof(st.state), "online");
		snprintf(st.version, sizeof(st.version), "%s", SITEGATE_VERSION);
		publish_state_to(bus, SG_MSG_svc_status, &st, bus->status_topic);
	}
	try_connect(bus);
}

static void
flush_before_close(struct sg_bus *bus)
{
	/* Shutdown only: give queued packets (the offline status, last events) up
	 * to half a second to leave. */
	int64_t end = sg_time_mono_ms() + 500;
	while (bus->connected && mosquitto_want_write(bus->mosq)) {
		int64_t left = end - sg_time_mono_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = mosquitto_socket(bus->mosq), .events = POLLOUT};
		if (poll(&p, 1, (int)left) <= 0)
			break;
		if (mosquitto_loop_write(bus->mosq, 1) != MOSQ_ERR_SUCCESS)
			break;
	}
}

void
sg_bus_free(struct sg_bus *bus)
{
	if (!bus)
		return;
	while (bus->requests) {
		struct request *r = bus->requests;
		bus->requests = r->next;
		if (r->fn)
			r->fn(bus, -ECANCELED, NULL, r->ud);
		free(r);
	}
	bus->closing = true;
	if (bus->mosq) {
		if (bus->connected) {
			flush_before_close(bus);
			/* Reason 0x04 asks the broker to publish our Will: the retained
			 * "offline" status, exactly as after a crash. */
			mosquitto_disconnect_v5(
			    bus->mosq, bus->service ? MQTT_RC_DISCONNECT_WITH_WILL_MSG : 0, NULL);
			flush_before_close(bus);
		}
		bus->connected = false;
		backend_fd(bus, -1);
		mosquitto_destroy(bus->mosq);
	}
	while (bus->queue_head) {
		struct pending_pub *p = bus->queue_head;
		bus->queue_head = p->next;
		pub_free(p);
	}
	for (size_t b = 0; b < STATE_BUCKETS; b++)
		while (bus->states[b]) {
			struct pending_pub *p = bus->states[b];
			bus->states[b] = p->next;
			pub_free(p);
		}
	free(bus->subs);
	free(bus->host);
	free(bus->user);
	if (bus->password)
		explicit_bzero(bus->password, strlen(bus->password));
	free(bus->password);
	free(bus->client_id);
	free(bus->prefix);
	free(bus->service);
	free(bus);
}

void
sg_bus_handle_read(struct sg_bus *bus)
{
	if (bus->fd < 0)
		return;
	int rc = mosquitto_loop_read(bus->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS && bus->fd >= 0)
		bus_lost(bus, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	backend_flush(bus);
}

void
sg_bus_handle_write(struct sg_bus *bus)
{
	if (bus->fd < 0)
		return;
	int rc = mosquitto_loop_write(bus->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS && bus->fd >= 0)
		bus_lost(bus, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

bool
sg_bus_want_write(const struct sg_bus *bus)
{
	return bus->fd >= 0 && mosquitto_want_write(bus->mosq);
}

int64_t
sg_bus_tick(struct sg_bus *bus)
{
	int64_t now = sg_time_mono_ms();
	int64_t next = MISC_PERIOD_MS;

	if (bus->fd >= 0) {
		int rc = mosquitto_loop_misc(bus->mosq);
		if (rc != MOSQ_ERR_SUCCESS && bus->fd >= 0)
			bus_lost(bus, mosquitto_strerror(rc));
		backend_flush(bus);
	}
	if (bus->started && bus->fd < 0) {
		if (bus->reconnect_at == 0)
			schedule_reconnect(bus);
		if (now >= bus->reconnect_at)
			try_connect(bus);
		if (bus->reconnect_at && bus->reconnect_at - now < next)
			next = bus->reconnect_at > now ? bus->reconnect_at - now : 0;
	}

	/* Requests past their deadline, oldest first. */
	struct request **pp = &bus->requests;
	while (*pp) {
		struct request *r = *pp;
		if (r->deadline > now) {
			if (r->deadline - now < next)
				next = r->deadline - now;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		bus->stats.timeouts++;
		if (r->fn)
			r->fn(bus, -ETIMEDOUT, NULL, r->ud);
		free(r);
		pp = &bus->requests; /* the callback may have changed the list */
	}
	return next;
}

bool
sg_bus_connected(const struct sg_bus *bus)
{
	return bus->connected;
}

const char *
sg_bus_prefix(const struct sg_bus *bus)
{
	return bus->prefix;
}

struct sg_bus_stats
sg_bus_stats(const struct sg_bus *bus)
{
	return bus->stats;
}

int
sg_bus_publish_raw(struct sg_bus *bus, const char *topic, const void *payload, size_t len,
                   enum sg_msg_class cls)
{
	bool retain = cls == SG_CLASS_STATE;
	if (retain && remember_state(bus, topic, payload, len) < 0)
		return -ENOMEM;
	struct pending_pub *p = pub_new(topic, payload, len, qos_of(cls), retain);
	if (!p)
		return -ENOMEM;
	if (retain && !bus->connected) {
		pub_free(p); /* the state cache republishes it on connect */
		return 0;
	}
	return publish_or_queue(bus, p, cls);
}

static int
encode_and_topic(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                 const struct sg_topic_args *args, msgpack_sbuffer *sb, char *topic, size_t tlen)
{
	static const struct sg_topic_args none;
	int rc = sg_topic_format(bus->prefix, sg_msgs[id].topic, args ? args : &none, topic, tlen);
	if (rc < 0) {
		sg_err("bus: cannot form the topic of %s: %s", sg_msgs[id].name, strerror(-rc));
		return rc;
	}
	msgpack_sbuffer_init(sb);
	rc = sg_msg_encode(id, msg, sb);
	if (rc < 0)
		msgpack_sbuffer_destroy(sb);
	return rc;
}

int
sg_bus_publish(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
               const struct sg_topic_args *args)
{
	char topic[SG_TOPIC_MAX];
	msgpack_sbuffer sb;
	int rc = encode_and_topic(bus, id, msg, args, &sb, topic, sizeof(topic));
	if (rc < 0)
		return rc;
	rc = sg_bus_publish_raw(bus, topic, sb.data, sb.size, sg_msgs[id].cls);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int
add_sub(struct sg_bus *bus, const char *pattern, int qos, enum sg_msg_id id, sg_bus_handler *fn,
        void *ud)
{
	if (strlen(pattern) >= SG_TOPIC_MAX)
		return -ENAMETOOLONG;
	if (bus->n_subs == bus->cap_subs) {
		size_t cap = bus->cap_subs ? bus->cap_subs * 2 : 8;
		struct sub *s = realloc(bus->subs, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		bus->subs = s;
		bus->cap_subs = cap;
	}
	struct sub *s = &bus->subs[bus->n_subs++];
	snprintf(s->pattern, sizeof(s->pattern), "%s", pattern);
	s->qos = qos;
	s->id = id;
	s->fn = fn;
	s->ud = ud;
	if (bus->connected) {
		mosquitto_subscribe_v5(bus->mosq, NULL, s->pattern, qos, 0, NULL);
		backend_flush(bus);
	}
	return 0;
}

int
sg_bus_subscribe_args(struct sg_bus *bus, enum sg_msg_id id, const struct sg_topic_args *args,
                      sg_bus_handler *fn, void *ud)
{
	const char *tmpl = sg_msgs[id].topic;
	char pattern[SG_TOPIC_MAX];
	int rc = sg_topic_pattern(bus->prefix, tmpl, pattern, sizeof(pattern));
	if (rc < 0)
		return rc;
	if (args) {
		/* Fix the placeholders that were given; the others stay '+'. */
		char fixed[SG_TOPIC_MAX];
		size_t o = 0;
		const char *p = tmpl;
		o += (size_t)snprintf(fixed, sizeof(fixed), "%s/", bus->prefix);
		while (*p && o < sizeof(fixed)) {
			char conn[16];
			const char *val = NULL;
			if (strncmp(p, "{svc}", 5) == 0) {
				val = args->svc[0] ? args->svc : "+";
				p += 5;
			} else if (strncmp(p, "{cp}", 4) == 0) {
				val = args->cp[0] ? args->cp : "+";
				p += 4;
			} else if (strncmp(p, "{conn}", 6) == 0) {
				snprintf(conn, sizeof(conn), "%d", args->conn);
				val = args->conn > 0 ? conn : "+";
				p += 6;
			} else if (strncmp(p, "{name}", 6) == 0) {
				val = args->name[0] ? args->name : "+";
				p += 6;
			}
			if (val)
				o += (size_t)snprintf(fixed + o, sizeof(fixed) - o, "%s", val);
			else
				fixed[o++] = *p++;
		}
		if (o >= sizeof(fixed))
			return -ENAMETOOLONG;
		fixed[o] = '\0';
		snprintf(pattern, sizeof(pattern), "%s", fixed);
	}
	return add_sub(bus, pattern, qos_of(sg_msgs[id].cls), id, fn, ud);
}

int
sg_bus_subscribe(struct sg_bus *bus, enum sg_msg_id id, sg_bus_handler *fn, void *ud)
{
	return sg_bus_subscribe_args(bus, id, NULL, fn, ud);
}

int
sg_bus_subscribe_raw(struct sg_bus *bus, const char *pattern, int qos, sg_bus_handler *fn, void *ud)
{
	return add_sub(bus, pattern, qos, SG_MSG_NONE, fn, ud);
}

int
sg_bus_request(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
               const struct sg_topic_args *args, int64_t timeout_ms, sg_bus_reply_fn *fn, void *ud)
{
	if (sg_msgs[id].cls != SG_CLASS_REQUEST || sg_msgs[id].reply < 0)
		return -EINVAL;
	char topic[SG_TOPIC_MAX];
	msgpack_sbuffer sb;
	int rc = encode_and_topic(bus, id, msg, args, &sb, topic, sizeof(topic));
	if (rc < 0)
		return rc;
	struct request *r = calloc(1, sizeof(*r));
	struct pending_pub *p = pub_new(topic, sb.data, sb.size, 1, false);
	msgpack_sbuffer_destroy(&sb);
	if (p)
		p->response_topic = strdup(bus->reply_topic);
	if (!r || !p || !p->response_topic) {
		free(r);
		pub_free(p);
		return -ENOMEM;
	}
	r->correlation = p->correlation = bus->next_correlation++;
	r->reply = (enum sg_msg_id)sg_msgs[id].reply;
	r->deadline = sg_time_mono_ms() + timeout_ms;
	r->fn = fn;
	r->ud = ud;
	/* Append: timeouts then fire oldest first. */
	struct request **pp = &bus->requests;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	backend_wake(bus, timeout_ms);
	return publish_or_queue(bus, p, SG_CLASS_REQUEST);
}

int
sg_bus_reply(struct sg_bus *bus, const struct sg_bus_in *in, const void *reply)
{
	if (in->id < 0 || !in->response_topic)
		return -EINVAL;
	enum sg_msg_id rid = (enum sg_msg_id)sg_msgs[in->id].reply;
	if ((int)rid < 0)
		return -EINVAL;
	/* Only answer into our own prefix: a stray response topic is not ours to write. */
	size_t pl = strlen(bus->prefix);
	if (strncmp(in->response_topic, bus->prefix, pl) != 0 || in->response_topic[pl] != '/') {
		sg_warn("bus: response topic \"%s\" is outside \"%s/\", not answered",
		        in->response_topic, bus->prefix);
		return -EPERM;
	}
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	int rc = sg_msg_encode(rid, reply, &sb);
	struct pending_pub *p =
	    rc == 0 ? pub_new(in->response_topic, sb.data, sb.size, 1, false) : NULL;
	msgpack_sbuffer_destroy(&sb);
	if (!p)
		return rc < 0 ? rc : -ENOMEM;
	if (in->correlation_len > 0) {
		p->reply_corr = malloc((size_t)in->correlation_len);
		if (!p->reply_corr) {
			pub_free(p);
			return -ENOMEM;
		}
		memcpy(p->reply_corr, in->correlation, (size_t)in->correlation_len);
		p->reply_corr_len = in->correlation_len;
	}
	return publish_or_queue(bus, p, SG_CLASS_REPLY);
}
