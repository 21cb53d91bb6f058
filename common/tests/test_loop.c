/* Unit tests of the poll loop (loop.c). Timing checks are loose: they count
 * callbacks over spans driven by sg_loop_run_once() and never assert wall-clock
 * precision beyond what a loaded CI machine keeps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/loop.h"
#include "sitegate/time.h"

/* Runs the loop until the monotonic clock has advanced by span_ms. */
static void
run_for(struct sg_loop *loop, int64_t span_ms)
{
	int64_t end = sg_time_mono_ms() + span_ms;

	for (int64_t now = sg_time_mono_ms(); now < end; now = sg_time_mono_ms())
		assert_true(sg_loop_run_once(loop, end - now) >= 0);
}

/* ---- timers ---- */

struct order {
	int seen[16];
	int n;
};

struct tag {
	struct order *order;
	int value;
};

static int64_t
record_once(struct sg_loop *loop, void *ud)
{
	struct tag *t = ud;

	t->order->seen[t->order->n++] = t->value;
	return -1;
}

static void
timers_fire_in_order(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct order order = {0};
	struct tag tags[5];
	static const int64_t delays[5] = {40, 10, 30, 0, 20};

	assert_non_null(loop);
	for (int i = 0; i < 5; i++) {
		tags[i] = (struct tag){.order = &order, .value = (int)delays[i]};
		assert_true(sg_loop_timer_add(loop, delays[i], record_once, &tags[i]) > 0);
	}
	run_for(loop, 80);
	assert_int_equal(order.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(order.seen[i], i * 10);
	sg_loop_free(loop);
}

static void
timers_same_due_fifo(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct order order = {0};
	struct tag tags[4];

	/* Same delay, added in one go: they run in the order they were added. */
	for (int i = 0; i < 4; i++) {
		tags[i] = (struct tag){.order = &order, .value = i};
		assert_true(sg_loop_timer_add(loop, 0, record_once, &tags[i]) > 0);
	}
	assert_int_equal(sg_loop_run_once(loop, 0), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(order.seen[i], i);
	sg_loop_free(loop);
}

static int64_t
count_periodic(struct sg_loop *loop, void *ud)
{
	++*(int *)ud;
	return 10;
}

static void
timer_periodic_count(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	int count = 0;
	uint64_t id = sg_loop_timer_add(loop, 10, count_periodic, &count);

	assert_true(id > 0);
	/* 10 ms period over 300 ms: 30 runs if punctual. The schedule is computed
	 * from the due time, so being late does not accumulate drift; allow for a
	 * slow machine but not for a period computed from "now" plus overhead
	 * being lost in bulk, nor for catch-up bursts. */
	run_for(loop, 305);
	assert_in_range(count, 20, 31);
	sg_loop_timer_del(loop, id);
	count = 0;
	run_for(loop, 30);
	assert_int_equal(count, 0);
	sg_loop_free(loop);
}

static int64_t
zero_delay(struct sg_loop *loop, void *ud)
{
	++*(int *)ud;
	return 0;
}

static void
timer_zero_delay_no_starvation(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	int count = 0;

	/* A timer that always asks to run again at once runs once per iteration. */
	assert_true(sg_loop_timer_add(loop, 0, zero_delay, &count) > 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(count, 2);
	sg_loop_free(loop);
}

struct deleter {
	uint64_t self, other;
	int runs;
	int other_runs;
	uint64_t added;
};

static int64_t
other_cb(struct sg_loop *loop, void *ud)
{
	((struct deleter *)ud)->other_runs++;
	return 5;
}

static int64_t
delete_self(struct sg_loop *loop, void *ud)
{
	struct deleter *d = ud;

	d->runs++;
	sg_loop_timer_del(loop, d->self);
	return 1; /* ignored: the timer deleted itself */
}

static int64_t
delete_other_and_add(struct sg_loop *loop, void *ud)
{
	struct deleter *d = ud;

	d->runs++;
	sg_loop_timer_del(loop, d->other);
	d->added = sg_loop_timer_add(loop, 0, other_cb, d);
	return -1;
}

static void
timer_delete_inside_callback(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct deleter a = {0}, b = {0};

	/* A timer deleting itself while asking to be rescheduled. */
	a.self = sg_loop_timer_add(loop, 0, delete_self, &a);
	run_for(loop, 20);
	assert_int_equal(a.runs, 1);

	/* A timer deleting another timer that is due in the same pass, and adding
	 * a new one: the deleted one never runs, the new one runs next iteration. */
	b.self = sg_loop_timer_add(loop, 0, delete_other_and_add, &b);
	b.other = sg_loop_timer_add(loop, 0, other_cb, &b);
	assert_true(b.other > b.self);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(b.runs, 1);
	assert_int_equal(b.other_runs, 0);
	assert_true(b.added > b.other);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(b.other_runs, 1);
	sg_loop_timer_del(loop, b.added);
	run_for(loop, 15);
	assert_int_equal(b.other_runs, 1);
	sg_loop_free(loop);
}

static void
timer_delete_expired_is_noop(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct order order = {0};
	struct tag t1 = {.order = &order, .value = 1}, t2 = {.order = &order, .value = 2};
	uint64_t id1 = sg_loop_timer_add(loop, 0, record_once, &t1);
	uint64_t id2;

	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	/* id1 has stopped; deleting it (twice), or ids never given, changes nothing. */
	id2 = sg_loop_timer_add(loop, 0, record_once, &t2);
	assert_true(id2 > id1);
	sg_loop_timer_del(loop, id1);
	sg_loop_timer_del(loop, id1);
	sg_loop_timer_del(loop, 0);
	sg_loop_timer_del(loop, 12345);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(order.n, 2);
	assert_int_equal(order.seen[1], 2);
	sg_loop_free(loop);
}

static void
timer_many_random_deletes(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct order order = {0};
	struct tag t = {.order = &order};
	uint64_t ids[200];
	int live = 0;

	/* Heap consistency under deletes from the middle. */
	for (int i = 0; i < 200; i++)
		ids[i] = sg_loop_timer_add(loop, 100000 + (i * 7919) % 1000, record_once, &t);
	for (int i = 0; i < 200; i += 3)
		sg_loop_timer_del(loop, ids[i]);
	for (int i = 0; i < 200; i++) {
		if (i % 3 == 0)
			continue;
		sg_loop_timer_del(loop, ids[i]);
		live++;
	}
	assert_int_equal(live, 133);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	sg_loop_free(loop);
}

/* ---- fds ---- */

struct pipe_state {
	int fds[2];
	int reads;
	unsigned last_events;
	char got[16];
};

static void
on_readable(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct pipe_state *p = ud;
	ssize_t n;

	p->reads++;
	p->last_events = events;
	n = read(fd, p->got, sizeof(p->got) - 1);
	if (n >= 0)
		p->got[n] = '\0';
}

static void
fd_readiness(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct pipe_state p = {0};

	assert_int_equal(pipe2(p.fds, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(sg_loop_watch(loop, p.fds[0], SG_READ, on_readable, &p), 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(p.reads, 0);

	assert_int_equal(write(p.fds[1], "hi", 2), 2);
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(p.reads, 1);
	assert_int_equal(p.last_events, SG_READ);
	assert_string_equal(p.got, "hi");

	/* Parked: no events asked, nothing reported. */
	assert_int_equal(write(p.fds[1], "x", 1), 1);
	assert_int_equal(sg_loop_set_events(loop, p.fds[0], 0), 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(sg_loop_set_events(loop, p.fds[0], SG_READ), 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_string_equal(p.got, "x");

	/* Writability of the other end, through a second watch. */
	assert_int_equal(sg_loop_watch(loop, p.fds[1], SG_WRITE, on_readable, &p), 0);
	p.last_events = 0;
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(p.last_events, SG_WRITE);
	sg_loop_unwatch(loop, p.fds[1]);

	/* Hang-up: the reader sees SG_READ | SG_ERROR and reads EOF. */
	close(p.fds[1]);
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_true(p.last_events & SG_ERROR);
	assert_true(p.last_events & SG_READ);
	sg_loop_unwatch(loop, p.fds[0]);
	close(p.fds[0]);

	assert_int_equal(sg_loop_watch(loop, -1, SG_READ, on_readable, &p), -EBADF);
	assert_int_equal(sg_loop_watch(loop, 0, SG_READ, NULL, &p), -EINVAL);
	assert_int_equal(sg_loop_set_events(loop, 12345, SG_READ), -ENOENT);
	sg_loop_unwatch(loop, 12345);
	sg_loop_free(loop);
}

struct unwatch_state {
	int a[2], b[2];
	int calls_a, calls_b;
};

/* Whichever of the two pipes runs first unwatches both. */
static void
unwatch_both(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct unwatch_state *s = ud;

	if (fd == s->a[0])
		s->calls_a++;
	else
		s->calls_b++;
	sg_loop_unwatch(loop, s->a[0]);
	sg_loop_unwatch(loop, s->b[0]);
}

static void
fd_unwatch_inside_callback(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct unwatch_state s = {0};

	assert_int_equal(pipe2(s.a, O_NONBLOCK), 0);
	assert_int_equal(pipe2(s.b, O_NONBLOCK), 0);
	assert_int_equal(sg_loop_watch(loop, s.a[0], SG_READ, unwatch_both, &s), 0);
	assert_int_equal(sg_loop_watch(loop, s.b[0], SG_READ, unwatch_both, &s), 0);
	/* Both readable in the same poll round. */
	assert_int_equal(write(s.a[1], "a", 1), 1);
	assert_int_equal(write(s.b[1], "b", 1), 1);
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.calls_a + s.calls_b, 1);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(s.calls_a + s.calls_b, 1);
	for (int i = 0; i < 2; i++) {
		close(s.a[i]);
		close(s.b[i]);
	}
	sg_loop_free(loop);
}

struct rewatch_state {
	int p[2];
	int old_calls, new_calls;
};

static void
rewatch_new(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	((struct rewatch_state *)ud)->new_calls++;
}

/* Unwatches itself and registers the same fd number afresh. */
static void
rewatch_old(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct rewatch_state *s = ud;

	s->old_calls++;
	sg_loop_unwatch(loop, fd);
	assert_int_equal(sg_loop_watch(loop, fd, SG_READ, rewatch_new, s), 0);
}

static void
fd_rewatch_inside_callback(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct rewatch_state s = {0};

	assert_int_equal(pipe2(s.p, O_NONBLOCK), 0);
	assert_int_equal(sg_loop_watch(loop, s.p[0], SG_READ, rewatch_old, &s), 0);
	assert_int_equal(write(s.p[1], "a", 1), 1);
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.old_calls, 1);
	assert_int_equal(s.new_calls, 0);
	/* Still readable: the new registration gets it next round. */
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.new_calls, 1);
	close(s.p[0]);
	close(s.p[1]);
	sg_loop_free(loop);
}

static void
fd_closed_while_watched(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct pipe_state p = {0};

	/* A bug in the caller: the loop reports it once and drops the watch. */
	assert_int_equal(pipe2(p.fds, O_NONBLOCK), 0);
	assert_int_equal(sg_loop_watch(loop, p.fds[0], SG_READ, on_readable, &p), 0);
	close(p.fds[0]);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	assert_int_equal(p.last_events, SG_ERROR);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(sg_loop_set_events(loop, p.fds[0], SG_READ), -ENOENT);
	close(p.fds[1]);
	sg_loop_free(loop);
}

/* ---- signals, hooks, stop ---- */

struct sig_state {
	int usr1, usr2;
};

static void
on_signal(struct sg_loop *loop, int signo, void *ud)
{
	struct sig_state *s = ud;

	if (signo == SIGUSR1)
		s->usr1++;
	else if (signo == SIGUSR2)
		s->usr2++;
}

static void
signal_delivery(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct sig_state s = {0};
	sigset_t cur;

	assert_int_equal(sg_loop_on_signal(loop, SIGUSR1, on_signal, &s), 0);
	assert_int_equal(sg_loop_on_signal(loop, SIGUSR2, on_signal, &s), 0);
	assert_int_equal(sg_loop_on_signal(loop, SIGKILL, on_signal, &s), -EINVAL);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	/* One fd event; every pending siginfo is read from it. */
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.usr1, 1);
	assert_int_equal(s.usr2, 1);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(sg_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.usr1, 2);

	/* Freeing the loop unblocks what it blocked, after consuming what is
	 * pending (or SIGUSR1's default action would end the test). */
	assert_int_equal(raise(SIGUSR1), 0);
	sg_loop_free(loop);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_false(sigismember(&cur, SIGUSR1));
	assert_false(sigismember(&cur, SIGUSR2));
}

struct hook_state {
	int hooks;
	int timer_runs_seen_by_hook;
	int timer_runs;
};

static void
hook(struct sg_loop *loop, void *ud)
{
	struct hook_state *h = ud;

	h->hooks++;
	h->timer_runs_seen_by_hook = h->timer_runs;
}

static int64_t
hook_timer(struct sg_loop *loop, void *ud)
{
	((struct hook_state *)ud)->timer_runs++;
	return -1;
}

static void
before_sleep_hook(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct hook_state h = {0};

	assert_int_equal(sg_loop_before_sleep(loop, hook, &h), 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(h.hooks, 1);
	assert_true(sg_loop_timer_add(loop, 0, hook_timer, &h) > 0);
	assert_int_equal(sg_loop_run_once(loop, 0), 1);
	/* The hook ran before the poll and the timer. */
	assert_int_equal(h.hooks, 2);
	assert_int_equal(h.timer_runs_seen_by_hook, 0);
	assert_int_equal(h.timer_runs, 1);
	assert_int_equal(sg_loop_run_once(loop, 0), 0);
	assert_int_equal(h.timer_runs_seen_by_hook, 1);
	sg_loop_free(loop);
}

static int64_t
stop_after_three(struct sg_loop *loop, void *ud)
{
	if (++*(int *)ud == 3) {
		sg_loop_stop(loop);
		return -1;
	}
	return 1;
}

static void
hook_stop(struct sg_loop *loop, void *ud)
{
	sg_loop_stop(loop);
}

static void
stop(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	int count = 0;
	int64_t t0;

	assert_true(sg_loop_timer_add(loop, 1, stop_after_three, &count) > 0);
	assert_int_equal(sg_loop_run(loop), 0);
	assert_int_equal(count, 3);

	/* run() can run again after a stop; a stop from a before-sleep hook does
	 * not let the loop block in poll(). */
	assert_int_equal(sg_loop_before_sleep(loop, hook_stop, NULL), 0);
	t0 = sg_time_mono_ms();
	assert_int_equal(sg_loop_run(loop), 0);
	assert_true(sg_time_mono_ms() - t0 < 1000);
	sg_loop_free(loop);
	sg_loop_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(timers_fire_in_order),
	    cmocka_unit_test(timers_same_due_fifo),
	    cmocka_unit_test(timer_periodic_count),
	    cmocka_unit_test(timer_zero_delay_no_starvation),
	    cmocka_unit_test(timer_delete_inside_callback),
	    cmocka_unit_test(timer_delete_expired_is_noop),
	    cmocka_unit_test(timer_many_random_deletes),
	    cmocka_unit_test(fd_readiness),
	    cmocka_unit_test(fd_unwatch_inside_callback),
	    cmocka_unit_test(fd_rewatch_inside_callback),
	    cmocka_unit_test(fd_closed_while_watched),
	    cmocka_unit_test(signal_delivery),
	    cmocka_unit_test(before_sleep_hook),
	    cmocka_unit_test(stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
