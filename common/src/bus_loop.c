/* The bus on the poll loop: watch the mosquitto socket, ask for writability
 * only while libmosquitto has something to send, and run sg_bus_tick() from a
 * timer whose delay the bus chooses. */
#include <stdlib.h>

#include "sitegate/bus_loop.h"
#include "sitegate/time.h"

struct sg_bus_loop {
	struct sg_bus *bus;
	struct sg_loop *loop;
	int fd;
	uint64_t timer;
	int64_t timer_due; /* monotonic ms the tick timer is armed for */
};

static unsigned
wanted_events(const struct sg_bus_loop *att)
{
	return SG_READ | (sg_bus_want_write(att->bus) ? SG_WRITE : 0);
}

static void
on_fd(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct sg_bus_loop *att = ud;
	if (events & (SG_READ | SG_ERROR))
		sg_bus_handle_read(att->bus);
	if ((events & SG_WRITE) && att->fd == fd)
		sg_bus_handle_write(att->bus);
	if (att->fd == fd)
		sg_loop_set_events(loop, fd, wanted_events(att));
}

static void arm(struct sg_bus_loop *att, int64_t delay_ms);

static int64_t
on_timer(struct sg_loop *loop, void *ud)
{
	struct sg_bus_loop *att = ud;
	att->timer = 0; /* this one ends here; the tick (or wake()) arms the next */
	arm(att, sg_bus_tick(att->bus));
	return -1;
}

/* Arms the tick timer, only ever earlier: a later wish must not push back a
 * tick that is due sooner (reconnects, request timeouts, keepalive). */
static void
arm(struct sg_bus_loop *att, int64_t delay_ms)
{
	int64_t due = sg_time_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	if (att->timer && att->timer_due <= due)
		return;
	sg_loop_timer_del(att->loop, att->timer);
	att->timer = sg_loop_timer_add(att->loop, due - sg_time_mono_ms(), on_timer, att);
	att->timer_due = due;
}

static void
fd_changed(struct sg_bus *bus, int old_fd, int new_fd, void *ctx)
{
	struct sg_bus_loop *att = ctx;
	if (old_fd >= 0)
		sg_loop_unwatch(att->loop, old_fd);
	att->fd = new_fd;
	if (new_fd >= 0)
		sg_loop_watch(att->loop, new_fd, wanted_events(att), on_fd, att);
}

static void
want_write(struct sg_bus *bus, void *ctx)
{
	struct sg_bus_loop *att = ctx;
	if (att->fd >= 0)
		sg_loop_set_events(att->loop, att->fd, SG_READ | SG_WRITE);
}

static void
wake(struct sg_bus *bus, int64_t delay_ms, void *ctx)
{
	arm(ctx, delay_ms);
}

struct sg_bus_loop *
sg_bus_loop_attach(struct sg_bus *bus, struct sg_loop *loop)
{
	struct sg_bus_loop *att = calloc(1, sizeof(*att));
	if (!att)
		return NULL;
	att->bus = bus;
	att->loop = loop;
	att->fd = -1;
	arm(att, 0);
	sg_bus_set_backend(
	    bus, &(struct sg_bus_backend){
	             .fd_changed = fd_changed, .want_write = want_write, .wake = wake, .ctx = att});
	return att;
}

void
sg_bus_loop_detach(struct sg_bus_loop *att)
{
	if (!att)
		return;
	sg_bus_set_backend(att->bus, &(struct sg_bus_backend){0});
	if (att->fd >= 0)
		sg_loop_unwatch(att->loop, att->fd);
	sg_loop_timer_del(att->loop, att->timer);
	free(att);
}
