/* A small poll(2) event loop (see loop.h).
 *
 * One iteration (sg_loop_run_once):
 *   1. before-sleep hooks, in the order they were added;
 *   2. poll() on every watched fd, sleeping at most until the earliest timer
 *      (or not at all once sg_loop_stop() was called);
 *   3. fd callbacks for the fds that poll() reported (signals arrive here too,
 *      through one signalfd that holds every watched signal);
 *   4. timer callbacks for the timers that were due when the timer pass began.
 *
 * Fd watches live in a growable array and are looked up by fd; poll() works on
 * a separate pollfd array rebuilt each iteration. Each watch carries a serial,
 * so a callback may unwatch any fd (itself or another one reported in the same
 * round), or unwatch and re-watch an fd number: results of this round are only
 * delivered to the registration they were polled for. A watch with no events
 * is parked (poll() does not see it, not even for errors).
 *
 * POLLERR / POLLHUP / POLLNVAL are reported as SG_ERROR. POLLHUP also sets
 * SG_READ when the watch asked for it, so a reader sees EOF through read().
 * An fd that poll() calls invalid (closed while watched) and that its callback
 * does not unwatch is dropped, with an error logged, instead of spinning.
 *
 * Timers are a binary min-heap ordered by (due, seq), where seq increases with
 * every insertion. A timer pass fires only the timers inserted before it began,
 * so a callback that adds a zero-delay timer or returns 0 cannot starve the
 * loop: those run in the next iteration (poll() then does not sleep). The timer
 * being run is out of the heap while its callback runs; the callback may add or
 * delete any timer, itself included (deleting itself means its return value is
 * ignored). A timer whose callback returns delay >= 0 is due again at
 *     next = max(due + delay, now)
 * where due is when it was due and now is the start of the pass: periodic
 * timers keep their phase without drift, and a timer that fell more than one
 * period behind (process stopped, long callback) fires once at once and then
 * continues every delay from there, without a burst of catch-up runs.
 * Deleting by id is a linear search: services hold tens of timers, not
 * thousands.
 *
 * Not reentrant: callbacks must not call sg_loop_run() or sg_loop_run_once(). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sitegate/log.h"
#include "sitegate/loop.h"
#include "sitegate/time.h"

struct watch {
	int fd;
	unsigned events;
	uint64_t serial;
	sg_fd_fn *fn;
	void *ud;
};

struct timer {
	int64_t due;
	uint64_t seq;
	uint64_t id;
	sg_timer_fn *fn;
	void *ud;
};

struct sig {
	int signo;
	sg_signal_fn *fn;
	void *ud;
};

struct hook {
	sg_hook_fn *fn;
	void *ud;
};

struct sg_loop {
	struct watch *watches;
	size_t n_watches, cap_watches;
	uint64_t next_serial;

	/* The pollfd array of the current iteration, with the serial of each entry. */
	struct pollfd *pfds;
	uint64_t *pfd_serials;
	size_t cap_pfds;

	struct timer *heap;
	size_t n_timers, cap_timers;
	uint64_t next_id;
	uint64_t next_seq;
	uint64_t running_id;  /* the timer whose callback runs, or 0 */
	bool running_deleted; /* ... and it deleted itself */

	int sfd;             /* signalfd, or -1 */
	sigset_t sigmask;    /* the signals the signalfd holds */
	sigset_t sigblocked; /* the ones of those that this loop blocked */
	struct sig *sigs;
	size_t n_sigs, cap_sigs;

	struct hook *hooks;
	size_t n_hooks, cap_hooks;

	bool stop;
	bool dispatching;
};

/* Returns arr grown to hold at least need (>= 1) elements of size elem, updating
 * *cap, or NULL (arr untouched) when out of memory. */
static void *
grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return arr;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return NULL;
		n *= 2;
	}
	p = realloc(arr, n * elem);
	if (p)
		*cap = n;
	return p;
}

struct sg_loop *
sg_loop_new(void)
{
	struct sg_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->next_serial = 1;
	loop->next_id = 1;
	loop->next_seq = 1;
	loop->sfd = -1;
	sigemptyset(&loop->sigmask);
	sigemptyset(&loop->sigblocked);
	return loop;
}

static void signals_drain(struct sg_loop *loop, bool dispatch);

void
sg_loop_free(struct sg_loop *loop)
{
	if (!loop)
		return;
	assert(!loop->dispatching);
	if (loop->sfd >= 0) {
		/* Consume what is pending before unblocking, or its default action
		 * (often: terminate) would run now. */
		signals_drain(loop, false);
		close(loop->sfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigblocked, NULL);
	}
	free(loop->watches);
	free(loop->pfds);
	free(loop->pfd_serials);
	free(loop->heap);
	free(loop->sigs);
	free(loop->hooks);
	free(loop);
}

/* ---- fd watches ---- */

static struct watch *
watch_find(struct sg_loop *loop, int fd)
{
	for (size_t i = 0; i < loop->n_watches; i++)
		if (loop->watches[i].fd == fd)
			return &loop->watches[i];
	return NULL;
}

int
sg_loop_watch(struct sg_loop *loop, int fd, unsigned events, sg_fd_fn *fn, void *ud)
{
	struct watch *w;

	if (fd < 0)
		return -EBADF;
	if (!fn || (events & ~(unsigned)(SG_READ | SG_WRITE)))
		return -EINVAL;
	w = watch_find(loop, fd);
	if (!w) {
		w = grow(loop->watches, &loop->cap_watches, loop->n_watches + 1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		loop->watches = w;
		w = &loop->watches[loop->n_watches++];
		w->fd = fd;
		w->serial = loop->next_serial++;
	}
	w->events = events;
	w->fn = fn;
	w->ud = ud;
	return 0;
}

int
sg_loop_set_events(struct sg_loop *loop, int fd, unsigned events)
{
	struct watch *w = watch_find(loop, fd);

	if (!w)
		return -ENOENT;
	if (events & ~(unsigned)(SG_READ | SG_WRITE))
		return -EINVAL;
	w->events = events;
	return 0;
}

void
sg_loop_unwatch(struct sg_loop *loop, int fd)
{
	struct watch *w = watch_find(loop, fd);

	if (!w)
		return;
	*w = loop->watches[--loop->n_watches];
}

/* ---- timers ---- */

static bool
timer_before(const struct timer *a, const struct timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_up(struct sg_loop *loop, size_t i)
{
	struct timer t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(&t, &loop->heap[parent]))
			break;
		loop->heap[i] = loop->heap[parent];
		i = parent;
	}
	loop->heap[i] = t;
}

static void
heap_down(struct sg_loop *loop, size_t i)
{
	struct timer t = loop->heap[i];
	size_t n = loop->n_timers;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && timer_before(&loop->heap[c + 1], &loop->heap[c]))
			c++;
		if (!timer_before(&loop->heap[c], &t))
			break;
		loop->heap[i] = loop->heap[c];
		i = c;
	}
	loop->heap[i] = t;
}

static int
heap_push(struct sg_loop *loop, const struct timer *t)
{
	struct timer *h = grow(loop->heap, &loop->cap_timers, loop->n_timers + 1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	loop->heap = h;
	loop->heap[loop->n_timers] = *t;
	loop->heap[loop->n_timers].seq = loop->next_seq++;
	heap_up(loop, loop->n_timers++);
	return 0;
}

static void
heap_remove(struct sg_loop *loop, size_t i)
{
	assert(i < loop->n_timers);
	loop->n_timers--;
	if (i == loop->n_timers)
		return;
	loop->heap[i] = loop->heap[loop->n_timers];
	heap_up(loop, i);
	heap_down(loop, i);
}

static int64_t
add_sat(int64_t a, int64_t b)
{
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

uint64_t
sg_loop_timer_add(struct sg_loop *loop, int64_t delay_ms, sg_timer_fn *fn, void *ud)
{
	struct timer t = {.fn = fn, .ud = ud};

	if (!fn)
		return 0;
	if (delay_ms < 0)
		delay_ms = 0;
	t.due = add_sat(sg_time_mono_ms(), delay_ms);
	t.id = loop->next_id;
	if (heap_push(loop, &t) < 0)
		return 0;
	loop->next_id++;
	return t.id;
}

void
sg_loop_timer_del(struct sg_loop *loop, uint64_t id)
{
	if (id == 0)
		return;
	if (id == loop->running_id) {
		loop->running_deleted = true;
		return;
	}
	for (size_t i = 0; i < loop->n_timers; i++) {
		if (loop->heap[i].id == id) {
			heap_remove(loop, i);
			return;
		}
	}
}

/* Runs the timers that were due at now and inserted before this pass began. */
static int
timers_run(struct sg_loop *loop, int64_t now)
{
	uint64_t pass_seq = loop->next_seq;
	int n = 0;

	while (loop->n_timers > 0) {
		struct timer t = loop->heap[0];
		int64_t delay;

		if (t.due > now || t.seq >= pass_seq)
			break;
		heap_remove(loop, 0);
		loop->running_id = t.id;
		loop->running_deleted = false;
		delay = t.fn(loop, t.ud);
		n++;
		loop->running_id = 0;
		if (loop->running_deleted || delay < 0)
			continue;
		t.due = add_sat(t.due, delay);
		if (t.due < now)
			t.due = now;
		if (heap_push(loop, &t) < 0)
			sg_err("loop: no memory to reschedule timer %llu, dropping it",
			       (unsigned long long)t.id);
	}
	return n;
}

/* ---- signals ---- */

static void
signals_drain(struct sg_loop *loop, bool dispatch)
{
	struct signalfd_siginfo si[8];

	for (;;) {
		ssize_t r = read(loop->sfd, si, sizeof(si));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sg_err("loop: reading the signalfd failed: %s", strerror(errno));
			return;
		}
		if (r == 0)
			return;
		for (size_t i = 0; i < (size_t)r / sizeof(si[0]); i++) {
			int signo = (int)si[i].ssi_signo;

			/* Looked up per signal: a callback may register others. */
			for (size_t j = 0; dispatch && j < loop->n_sigs; j++) {
				if (loop->sigs[j].signo == signo) {
					loop->sigs[j].fn(loop, signo, loop->sigs[j].ud);
					break;
				}
			}
		}
		if ((size_t)r < sizeof(si))
			return;
	}
}

static void
signals_ready(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	signals_drain(loop, true);
}

int
sg_loop_on_signal(struct sg_loop *loop, int signo, sg_signal_fn *fn, void *ud)
{
	sigset_t one, old, mask;
	struct sig *sigs;
	int fd, r;

	if (!fn || signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		return -EINVAL;
	for (size_t i = 0; i < loop->n_sigs; i++) {
		if (loop->sigs[i].signo == signo) {
			loop->sigs[i].fn = fn;
			loop->sigs[i].ud = ud;
			return 0;
		}
	}
	sigs = grow(loop->sigs, &loop->cap_sigs, loop->n_sigs + 1, sizeof(*sigs));
	if (!sigs)
		return -ENOMEM;
	loop->sigs = sigs;

	sigemptyset(&one);
	if (sigaddset(&one, signo) < 0)
		return -EINVAL;
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -errno;
	mask = loop->sigmask;
	sigaddset(&mask, signo);
	fd = signalfd(loop->sfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	if (loop->sfd < 0) {
		r = sg_loop_watch(loop, fd, SG_READ, signals_ready, NULL);
		if (r < 0) {
			close(fd);
			goto fail;
		}
		loop->sfd = fd;
	}
	loop->sigmask = mask;
	if (!sigismember(&old, signo))
		sigaddset(&loop->sigblocked, signo);
	loop->sigs[loop->n_sigs++] = (struct sig){.signo = signo, .fn = fn, .ud = ud};
	return 0;

fail:
	if (!sigismember(&old, signo))
		sigprocmask(SIG_UNBLOCK, &one, NULL);
	return r;
}

/* ---- hooks and the loop ---- */

int
sg_loop_before_sleep(struct sg_loop *loop, sg_hook_fn *fn, void *ud)
{
	struct hook *hooks;

	if (!fn)
		return -EINVAL;
	hooks = grow(loop->hooks, &loop->cap_hooks, loop->n_hooks + 1, sizeof(*hooks));
	if (!hooks)
		return -ENOMEM;
	loop->hooks = hooks;
	loop->hooks[loop->n_hooks++] = (struct hook){.fn = fn, .ud = ud};
	return 0;
}

static unsigned
events_from_poll(short revents, unsigned wanted)
{
	unsigned ev = 0;

	if (revents & (POLLIN | POLLPRI))
		ev |= SG_READ;
	if (revents & POLLOUT)
		ev |= SG_WRITE;
	if (revents & POLLHUP)
		ev |= wanted & SG_READ;
	ev &= wanted;
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		ev |= SG_ERROR;
	return ev;
}

/* Builds the pollfd array of this iteration from the watches. */
static int
pollfds_build(struct sg_loop *loop, size_t *n)
{
	if (loop->n_watches > loop->cap_pfds) {
		size_t cap = loop->cap_pfds;
		struct pollfd *p = grow(loop->pfds, &cap, loop->n_watches, sizeof(*p));
		uint64_t *s;

		if (!p)
			return -ENOMEM;
		loop->pfds = p;
		s = realloc(loop->pfd_serials, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		loop->pfd_serials = s;
		loop->cap_pfds = cap;
	}
	for (size_t i = 0; i < loop->n_watches; i++) {
		const struct watch *w = &loop->watches[i];

		loop->pfds[i].fd = w->events ? w->fd : -1;
		loop->pfds[i].events = (short)(((w->events & SG_READ) ? POLLIN : 0) |
		                               ((w->events & SG_WRITE) ? POLLOUT : 0));
		loop->pfds[i].revents = 0;
		loop->pfd_serials[i] = w->serial;
	}
	*n = loop->n_watches;
	return 0;
}

static int
fds_dispatch(struct sg_loop *loop, size_t n_pfds)
{
	int n = 0;

	for (size_t i = 0; i < n_pfds; i++) {
		struct pollfd p = loop->pfds[i];
		struct watch *w;
		unsigned ev;

		if (!p.revents)
			continue;
		w = watch_find(loop, p.fd);
		if (!w || w->serial != loop->pfd_serials[i])
			continue; /* unwatched (or replaced) by an earlier callback */
		ev = events_from_poll(p.revents, w->events);
		if (!ev)
			continue; /* its events changed since poll() */
		w->fn(loop, p.fd, ev, w->ud);
		n++;
		if (p.revents & POLLNVAL) {
			w = watch_find(loop, p.fd);
			if (w && w->serial == loop->pfd_serials[i]) {
				sg_err("loop: fd %d was closed while watched, unwatching it", p.fd);
				sg_loop_unwatch(loop, p.fd);
			}
		}
	}
	return n;
}

/* Returns the number of callbacks run (fds, signals, timers), or a negative errno. */
int
sg_loop_run_once(struct sg_loop *loop, int64_t max_wait_ms)
{
	int64_t wait = max_wait_ms, now;
	size_t n_pfds;
	int r, n = 0;

	assert(!loop->dispatching);
	loop->dispatching = true;

	for (size_t i = 0; i < loop->n_hooks; i++) {
		struct hook h = loop->hooks[i];

		h.fn(loop, h.ud);
	}

	if (loop->stop)
		wait = 0;
	if (loop->n_timers > 0) {
		int64_t until = loop->heap[0].due - sg_time_mono_ms();

		if (until < 0)
			until = 0;
		if (wait < 0 || until < wait)
			wait = until;
	}
	if (wait > INT_MAX)
		wait = INT_MAX;

	r = pollfds_build(loop, &n_pfds);
	if (r < 0)
		goto out;
	r = poll(loop->pfds, n_pfds, wait < 0 ? -1 : (int)wait);
	if (r < 0) {
		if (errno != EINTR) {
			r = -errno;
			goto out;
		}
		r = 0;
	}
	if (r > 0)
		n += fds_dispatch(loop, n_pfds);

	now = sg_time_mono_ms();
	n += timers_run(loop, now);
	r = n;
out:
	loop->dispatching = false;
	return r;
}

int
sg_loop_run(struct sg_loop *loop)
{
	int r = 0;

	while (!loop->stop) {
		r = sg_loop_run_once(loop, -1);
		if (r < 0) {
			sg_err("loop: poll() failed: %s, stopping", strerror(-r));
			break;
		}
		r = 0;
	}
	loop->stop = false;
	return r;
}

void
sg_loop_stop(struct sg_loop *loop)
{
	loop->stop = true;
}
