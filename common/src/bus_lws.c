/* The bus inside a libwebsockets event loop (the recipe in STYLE.md): lws 4.1.6
 * cannot be driven from an outside poll(), so lws owns the loop and the
 * mosquitto socket joins it as an adopted raw descriptor. We adopt a dup() of
 * the socket, because lws closes what it adopted and libmosquitto closes its
 * own fd on reconnect; each keeps its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/bus_lws.h"
#include "sitegate/log.h"
#include "sitegate/time.h"

struct sg_bus_lws {
	struct sg_bus *bus;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws *wsi; /* the adopted dup of the current socket, or NULL */
	lws_sorted_usec_list_t sul;
	int64_t sul_due; /* monotonic ms the tick is scheduled for */
};

static void
after_io(struct sg_bus_lws *att)
{
	if (att->wsi && sg_bus_want_write(att->bus))
		lws_callback_on_writable(att->wsi);
}

static int
bus_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	struct sg_bus_lws *att = lws_get_opaque_user_data(wsi);
	if (!att || att->wsi != wsi)
		return reason == LWS_CALLBACK_RAW_RX_FILE ? -1 : 0; /* a stale socket */
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		sg_bus_handle_read(att->bus);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		sg_bus_handle_write(att->bus);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		att->wsi = NULL;
		return 0;
	default:
		return 0;
	}
	/* The callback may have dropped the connection (att->wsi changed). */
	after_io(att);
	return 0;
}

const struct lws_protocols sg_bus_lws_protocol = {
    .name = "sitegate-bus",
    .callback = bus_lws_callback,
};

static void on_sul(lws_sorted_usec_list_t *sul);

/* Schedules the tick, only ever earlier than one already scheduled. */
static void
arm(struct sg_bus_lws *att, int64_t delay_ms)
{
	int64_t due = sg_time_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	if (att->sul_due && att->sul_due <= due)
		return;
	att->sul_due = due;
	lws_sul_schedule(att->ctx, 0, &att->sul, on_sul,
	                 (lws_usec_t)(due - sg_time_mono_ms()) * LWS_US_PER_MS);
}

static void
on_sul(lws_sorted_usec_list_t *sul)
{
	struct sg_bus_lws *att = lws_container_of(sul, struct sg_bus_lws, sul);
	att->sul_due = 0; /* fired: the tick (or wake()) schedules the next */
	int64_t next = sg_bus_tick(att->bus);
	after_io(att);
	arm(att, next);
}

static void
drop_wsi(struct sg_bus_lws *att)
{
	if (!att->wsi)
		return;
	lws_set_opaque_user_data(att->wsi, NULL);
	/* Asynchronous: we may be inside this wsi's own callback. */
	lws_set_timeout(att->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	att->wsi = NULL;
}

static void
fd_changed(struct sg_bus *bus, int old_fd, int new_fd, void *ctx)
{
	struct sg_bus_lws *att = ctx;
	drop_wsi(att);
	if (new_fd < 0)
		return;
	int fd = dup(new_fd);
	if (fd < 0) {
		sg_err("bus: dup of the broker socket failed: %s", strerror(errno));
		return;
	}
	lws_sock_file_fd_type desc = {.filefd = fd};
	att->wsi = lws_adopt_descriptor_vhost(att->vh, LWS_ADOPT_RAW_FILE_DESC, desc,
	                                      sg_bus_lws_protocol.name, NULL);
	if (!att->wsi) {
		sg_err("bus: libwebsockets refused to adopt the broker socket");
		close(fd);
		return;
	}
	lws_set_opaque_user_data(att->wsi, att);
	after_io(att);
}

static void
want_write(struct sg_bus *bus, void *ctx)
{
	struct sg_bus_lws *att = ctx;
	if (att->wsi)
		lws_callback_on_writable(att->wsi);
}

static void
wake(struct sg_bus *bus, int64_t delay_ms, void *ctx)
{
	arm(ctx, delay_ms);
}

struct sg_bus_lws *
sg_bus_lws_attach(struct sg_bus *bus, struct lws_context *ctx, struct lws_vhost *vh)
{
	struct sg_bus_lws *att = calloc(1, sizeof(*att));
	if (!att)
		return NULL;
	att->bus = bus;
	att->ctx = ctx;
	att->vh = vh;
	sg_bus_set_backend(
	    bus, &(struct sg_bus_backend){
	             .fd_changed = fd_changed, .want_write = want_write, .wake = wake, .ctx = att});
	arm(att, 0);
	return att;
}

void
sg_bus_lws_detach(struct sg_bus_lws *att)
{
	if (!att)
		return;
	sg_bus_set_backend(att->bus, &(struct sg_bus_backend){0});
	lws_sul_cancel(&att->sul);
	drop_wsi(att);
	free(att);
}

static void
lws_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	enum sg_log_level l = level & LLL_ERR      ? SG_LOG_ERR
	                      : level & LLL_WARN   ? SG_LOG_WARNING
	                      : level & LLL_NOTICE ? SG_LOG_INFO
	                                           : SG_LOG_DEBUG;
	sg_log(l, "lws: %.*s", (int)n, line);
}

void
sg_log_route_lws(void)
{
	int levels = LLL_ERR | LLL_WARN;
	if (sg_log_level() >= SG_LOG_DEBUG)
		levels |= LLL_NOTICE;
	lws_set_log_level(levels, lws_emit);
}
