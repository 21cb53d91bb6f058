/* A small single-threaded poll(2) event loop: fd watches, monotonic timers,
 * signals via signalfd, and a before-sleep hook. For every service except
 * ocpp-bridge, where libwebsockets owns the loop (see bus_lws.h). */
#ifndef SITEGATE_LOOP_H
#define SITEGATE_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct sg_loop;

enum {
	SG_READ = 1 << 0,
	SG_WRITE = 1 << 1,
	SG_ERROR = 1 << 2, /* reported only: POLLERR / POLLHUP / POLLNVAL */
};

typedef void sg_fd_fn(struct sg_loop *loop, int fd, unsigned events, void *ud);
/* Returns the delay in ms until the next run, or a negative value to stop the timer. */
typedef int64_t sg_timer_fn(struct sg_loop *loop, void *ud);
typedef void sg_signal_fn(struct sg_loop *loop, int signo, void *ud);
typedef void sg_hook_fn(struct sg_loop *loop, void *ud);

struct sg_loop *sg_loop_new(void);
void sg_loop_free(struct sg_loop *loop);

/* Watches fd for events (SG_READ | SG_WRITE). Re-watching an fd replaces its callback. */
int sg_loop_watch(struct sg_loop *loop, int fd, unsigned events, sg_fd_fn *fn, void *ud);
int sg_loop_set_events(struct sg_loop *loop, int fd, unsigned events);
void sg_loop_unwatch(struct sg_loop *loop, int fd);

/* Timer ids are > 0 and never reused while the loop lives; deleting an id that
 * already stopped is a no-op, so holders need not track expiry. Returns 0 when
 * out of memory. */
uint64_t sg_loop_timer_add(struct sg_loop *loop, int64_t delay_ms, sg_timer_fn *fn, void *ud);
void sg_loop_timer_del(struct sg_loop *loop, uint64_t id);

/* Blocks signo and delivers it through a signalfd. */
int sg_loop_on_signal(struct sg_loop *loop, int signo, sg_signal_fn *fn, void *ud);

/* Adds a hook run before every poll() (several may be added). */
int sg_loop_before_sleep(struct sg_loop *loop, sg_hook_fn *fn, void *ud);

/* Runs until sg_loop_stop(). Returns 0, or a negative errno if poll() fails. */
int sg_loop_run(struct sg_loop *loop);
/* Runs one iteration, waiting at most max_wait_ms (-1: until an event). For tests. */
int sg_loop_run_once(struct sg_loop *loop, int64_t max_wait_ms);
void sg_loop_stop(struct sg_loop *loop);

#endif
