/* The bus without a broker: what it does while the broker is away. The
 * connected paths are exercised end to end in tests/e2e/bus.test.js. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sitegate/bus.h"
#include "sitegate/bus_loop.h"
#include "sitegate/time.h"
#include "sitegate/log.h"

static struct sg_bus *
new_bus(size_t queue_limit, const char *service)
{
	struct sg_bus_config cfg = {
	    .host = "127.0.0.1",
	    .port = 1, /* nothing listens: the bus stays disconnected */
	    .client_id = "test-bus",
	    .prefix = "t/bus",
	    .service = service,
	    .queue_limit = queue_limit,
	};
	struct sg_bus *bus = sg_bus_new(&cfg);
	assert_non_null(bus);
	return bus;
}

static void
samples_are_dropped_events_queued(void **state)
{
	struct sg_bus *bus = new_bus(0, NULL);
	struct sg_msg_meter_sample s = {.ts = 1, .energy_wh = 2};
	struct sg_topic_args a = {.cp = "CP1", .conn = 1};
	assert_int_equal(sg_bus_publish(bus, SG_MSG_meter_sample, &s, &a), 0);
	assert_int_equal(sg_bus_stats(bus).dropped, 1);
	assert_int_equal(sg_bus_stats(bus).queued, 0);

	struct sg_msg_svc_ping p = {.seq = 1};
	struct sg_topic_args t = {.svc = "auth"};
	assert_int_equal(sg_bus_request(bus, SG_MSG_svc_ping, &p, &t, 1000, NULL, NULL), 0);
	assert_int_equal(sg_bus_stats(bus).queued, 1);
	sg_bus_free(bus); /* the pending request's callback is NULL: must not be called */
}

static int cancelled, timed_out;

static void
count_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	assert_null(reply);
	if (status == -ECANCELED)
		cancelled++;
	if (status == -ETIMEDOUT)
		timed_out++;
}

static void
requests_time_out_and_cancel(void **state)
{
	struct sg_bus *bus = new_bus(0, NULL);
	struct sg_msg_svc_ping p = {.seq = 1};
	struct sg_topic_args t = {.svc = "auth"};
	cancelled = timed_out = 0;
	assert_int_equal(sg_bus_request(bus, SG_MSG_svc_ping, &p, &t, 0, count_reply, NULL), 0);
	assert_int_equal(sg_bus_request(bus, SG_MSG_svc_ping, &p, &t, 60000, count_reply, NULL), 0);
	int64_t next = sg_bus_tick(bus);
	assert_int_equal(timed_out, 1);
	assert_true(next > 0 && next <= 60000);
	assert_int_equal(sg_bus_stats(bus).timeouts, 1);
	sg_bus_free(bus);
	assert_int_equal(cancelled, 1);
	assert_int_equal(timed_out, 1);
}

static void
only_requests_are_requested(void **state)
{
	struct sg_bus *bus = new_bus(0, NULL);
	struct sg_msg_svc_status s = {.state = "online"};
	struct sg_topic_args a = {.svc = "auth"};
	assert_int_equal(sg_bus_request(bus, SG_MSG_svc_status, &s, &a, 10, count_reply, NULL),
	                 -EINVAL);
	sg_bus_free(bus);
}

static void
queue_limit_drops_oldest(void **state)
{
	struct sg_bus *bus = new_bus(3, NULL);
	struct sg_msg_svc_ping p = {.seq = 1};
	struct sg_topic_args t = {.svc = "auth"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(sg_bus_request(bus, SG_MSG_svc_ping, &p, &t, 1000, NULL, NULL), 0);
	assert_int_equal(sg_bus_stats(bus).queued, 5);
	assert_int_equal(sg_bus_stats(bus).dropped, 2);
	sg_bus_free(bus);
}

static void
topic_values_are_checked(void **state)
{
	struct sg_bus *bus = new_bus(0, NULL);
	struct sg_msg_conn_state c = {.status = "Available"};
	struct sg_topic_args bad = {.cp = "CP/1", .conn = 1};
	assert_int_equal(sg_bus_publish(bus, SG_MSG_conn_state, &c, &bad), -EINVAL);
	struct sg_topic_args wild = {.cp = "CP#", .conn = 1};
	assert_int_equal(sg_bus_publish(bus, SG_MSG_conn_state, &c, &wild), -EINVAL);
	sg_bus_free(bus);
}

static void
replies_stay_inside_the_prefix(void **state)
{
	struct sg_bus *bus = new_bus(0, "auth");
	struct sg_msg_svc_pong pong = {.seq = 1, .svc = "auth"};
	struct sg_bus_in in = {.id = SG_MSG_svc_ping, .response_topic = "elsewhere/reply/x"};
	assert_int_equal(sg_bus_reply(bus, &in, &pong), -EPERM);
	in.response_topic = "t/bus/reply/x";
	assert_int_equal(sg_bus_reply(bus, &in, &pong), 0);
	in.response_topic = NULL;
	assert_int_equal(sg_bus_reply(bus, &in, &pong), -EINVAL);
	sg_bus_free(bus);
}

static int fd_now = -2;

static void
track_fd(struct sg_bus *bus, int old_fd, int new_fd, void *ctx)
{
	fd_now = new_fd;
}

static void
failed_connect_schedules_a_retry(void **state)
{
	struct sg_bus *bus = new_bus(0, "auth");
	sg_bus_set_backend(bus, &(struct sg_bus_backend){.fd_changed = track_fd});
	sg_bus_start(bus); /* connection refused on port 1 */
	assert_false(sg_bus_connected(bus));
	int64_t next = sg_bus_tick(bus);
	assert_true(next >= 0 && next <= 1000);
	sg_bus_free(bus);
}

static int64_t
send_long_request(struct sg_loop *loop, void *ud)
{
	struct sg_msg_svc_ping p = {.seq = 2};
	struct sg_topic_args t = {.svc = "auth"};
	sg_bus_request(ud, SG_MSG_svc_ping, &p, &t, 60000, count_reply, NULL);
	return 20;
}

/* A request with a long timeout must not push back the tick a shorter one
 * needs (nor reconnects): the back end only ever moves its timer earlier. */
static void
later_requests_do_not_delay_earlier_deadlines(void **state)
{
	struct sg_loop *loop = sg_loop_new();
	struct sg_bus *bus = new_bus(0, NULL);
	struct sg_bus_loop *att = sg_bus_loop_attach(bus, loop);
	struct sg_msg_svc_ping p = {.seq = 1};
	struct sg_topic_args t = {.svc = "auth"};
	cancelled = timed_out = 0;
	assert_int_equal(sg_bus_request(bus, SG_MSG_svc_ping, &p, &t, 100, count_reply, NULL), 0);
	sg_loop_timer_add(loop, 10, send_long_request, bus);
	int64_t end = sg_time_mono_ms() + 2000;
	while (timed_out == 0 && sg_time_mono_ms() < end)
		sg_loop_run_once(loop, 50);
	assert_int_equal(timed_out, 1);
	sg_bus_loop_detach(att);
	sg_bus_free(bus);
	sg_loop_free(loop);
}

int
main(void)
{
	sg_log_init("test_bus", SG_LOG_ERR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(samples_are_dropped_events_queued),
	    cmocka_unit_test(requests_time_out_and_cancel),
	    cmocka_unit_test(only_requests_are_requested),
	    cmocka_unit_test(queue_limit_drops_oldest),
	    cmocka_unit_test(topic_values_are_checked),
	    cmocka_unit_test(replies_stay_inside_the_prefix),
	    cmocka_unit_test(failed_connect_schedules_a_retry),
	    cmocka_unit_test(later_requests_do_not_delay_earlier_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
