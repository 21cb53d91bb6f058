/* One charge point's OCPP life: BootNotification on every connect and the
 * registration status it yields, Heartbeat after HeartbeatInterval of
 * silence, StatusNotification of each connector's latest state, the
 * persistent transaction-message queue in order, WebSocket pings with a pong
 * deadline, and the clock the Central System tells us.
 *
 * Every charge point has one timer; whatever changes calls cp_kick(), and
 * cp_tick() decides what to send and when to run again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "bridge.h"

#define PONG_TIMEOUT_MS 10000

/* Tags of our own CALLs; StatusNotification uses the connector's cp_conn. */
static char tag_boot, tag_trigger_boot, tag_heartbeat, tag_tx;

/* An ocpp_send request waiting for the Central System's answer. */
struct pending_send {
	char *response_topic;
	void *correlation;
	int correlation_len;
};

static struct bridge *
bridge_of(const struct cp *cp)
{
	return cp->br;
}

static int64_t
key_int(struct cp *cp, const char *name)
{
	return sg_keys_get_int(bridge_of(cp)->keys, cp->conf->id, name);
}

bool
cp_registered(const struct cp *cp)
{
	return cp->link == LINK_OPEN && cp->reg == REG_ACCEPTED;
}

/* ---- timers -------------------------------------------------------------- */

static int64_t cp_tick(struct cp *cp, int64_t now);

static void
on_sul(lws_sorted_usec_list_t *sul)
{
	struct cp *cp = lws_container_of(sul, struct cp, sul);
	cp->wake_at = 0;
	int64_t next = cp_tick(cp, bridge_now());
	if (next >= 0)
		cp_wake(cp, next);
}

void
cp_wake(struct cp *cp, int64_t at)
{
	if (bridge_of(cp)->stopping || (cp->wake_at && cp->wake_at <= at))
		return;
	int64_t now = bridge_now();
	cp->wake_at = at > now ? at : now;
	lws_sul_schedule(bridge_of(cp)->ctx, 0, &cp->sul, on_sul,
	                 (lws_usec_t)(cp->wake_at - now) * LWS_US_PER_MS);
}

void
cp_kick(struct cp *cp)
{
	cp_wake(cp, bridge_now());
}

/* ---- clock --------------------------------------------------------------- */

static bool
system_clock_synced(void)
{
	struct timex tx = {0};
	int state = adjtimex(&tx);
	return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

static void
learn_time(struct cp *cp, const json_t *payload)
{
	int64_t t;
	const char *s = json_string_value(json_object_get(payload, "currentTime"));
	if (!s || sg_time_parse(s, &t) < 0)
		return;
	cp->clock_offset_ms = t - sg_time_wall_ms();
	if (!cp->clock_trusted)
		sg_info("%s: clock set from the Central System (offset %lld ms)", cp->conf->id,
		        (long long)cp->clock_offset_ms);
	cp->clock_trusted = true;
}

/* Events are stamped with the gateway's wall clock. Until NTP vouches for it,
 * the Central System's time is the truth: shift every timestamp we send by the
 * offset it told us, so that no 1970 date from an unset clock goes out. */
static void
shift_stamp(json_t *obj, const char *key, int64_t offset)
{
	int64_t t;
	const char *s = json_string_value(json_object_get(obj, key));
	char buf[SG_TIME_RFC3339_LEN];
	if (s && sg_time_parse(s, &t) == 0 && sg_time_format(t + offset, buf, sizeof(buf)) > 0)
		json_object_set_new(obj, key, json_string(buf));
}

static void
correct_timestamps(struct cp *cp, json_t *payload)
{
	int64_t off = cp->clock_offset_ms;
	if (!cp->clock_trusted || (off > -2000 && off < 2000) || system_clock_synced())
		return;
	shift_stamp(payload, "timestamp", off);
	const char *lists[] = {"meterValue", "transactionData"};
	for (size_t l = 0; l < 2; l++) {
		json_t *list = json_object_get(payload, lists[l]);
		for (size_t i = 0; i < json_array_size(list); i++)
			shift_stamp(json_array_get(list, i), "timestamp", off);
	}
}

/* ---- state on the bus ---------------------------------------------------- */

static const char *const link_names[] = {"disconnected", "connecting", "connected"};
static const char *const reg_names[] = {"", "", "Pending", "Rejected", "Accepted"};

void
cp_publish_state(struct cp *cp)
{
	struct bridge *br = bridge_of(cp);
	struct txq_stats qs = {0};
	txq_stats(br->txq, cp->conf->id, sg_time_wall_ms(), &qs);
	struct sg_msg_cp_state st = {
	    .since = cp->since,
	    .queue_depth = (int64_t)qs.depth,
	    .queue_oldest_age = qs.oldest_age_ms / 1000 * 1000, /* no churn every ms */
	    .queue_drops = (int64_t)(qs.dropped + qs.thinned),
	    .reconnects = (int64_t)cp->reconnects,
	    .clock_trusted = cp->clock_trusted || system_clock_synced(),
	};
	snprintf(st.connection, sizeof(st.connection), "%s", link_names[cp->link]);
	snprintf(st.registration, sizeof(st.registration), "%s",
	         cp->link == LINK_OPEN ? reg_names[cp->reg] : "");
	snprintf(st.url, sizeof(st.url), "%s", cp->url);
	const struct sg_msg_cp_state *o = &cp->published;
	if (o->since && !strcmp(o->connection, st.connection) &&
	    !strcmp(o->registration, st.registration) && !strcmp(o->url, st.url) &&
	    o->queue_depth == st.queue_depth && o->queue_oldest_age == st.queue_oldest_age &&
	    o->queue_drops == st.queue_drops && o->reconnects == st.reconnects &&
	    o->clock_trusted == st.clock_trusted)
		return;
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	if (sg_bus_publish(br->svc.bus, SG_MSG_cp_state, &st, &a) == 0)
		cp->published = st;
}

static void
publish_tx_result(struct cp *cp, int64_t tx_ref, const char *action, const json_t *payload,
                  bool dropped)
{
	struct bridge *br = bridge_of(cp);
	struct sg_msg_ocpp_tx_result r = {.tx_ref = tx_ref, .dropped = dropped};
	snprintf(r.action, sizeof(r.action), "%s", action);
	/* An acked or dropped StopTransaction has closed its transaction in the
	 * queue: then the transactionId is the one it was sent with. */
	if (txq_transaction_id(br->txq, cp->conf->id, tx_ref, &r.transaction_id) < 0)
		r.transaction_id = cp->tx_id_in_flight;
	json_t *tid = json_object_get(payload, "transactionId");
	if (json_is_integer(tid))
		r.transaction_id = json_integer_value(tid);
	r.payload = (json_t *)payload;
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	sg_bus_publish(br->svc.bus, SG_MSG_ocpp_tx_result, &r, &a);
}

/* One failed attempt of the queued message seq: 1 when it was the last and the
 * message is dropped. TransactionMessageAttempts 0 means no retries: one
 * attempt (txq_fail refuses less than one, which would retry at once forever). */
static int
fail_tx(struct cp *cp, int64_t seq)
{
	int64_t attempts = key_int(cp, "TransactionMessageAttempts");
	return txq_fail(bridge_of(cp)->txq, seq, sg_time_wall_ms(),
	                attempts < 1 ? 1 : (int)attempts,
	                (int)key_int(cp, "TransactionMessageRetryInterval"));
}

/* ---- what we send --------------------------------------------------------- */

static void
set_opt(json_t *obj, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(obj, key, json_string(value));
}

static json_t *
boot_payload(const struct sg_cp_conf *c)
{
	json_t *p =
	    json_pack("{s:s,s:s}", "chargePointVendor", c->vendor, "chargePointModel", c->model);
	set_opt(p, "chargePointSerialNumber", c->serial_number);
	set_opt(p, "chargeBoxSerialNumber", c->charge_box_serial_number);
	set_opt(p, "firmwareVersion", c->firmware_version);
	set_opt(p, "iccid", c->iccid);
	set_opt(p, "imsi", c->imsi);
	set_opt(p, "meterType", c->meter_type);
	set_opt(p, "meterSerialNumber", c->meter_serial_number);
	return p;
}

static void
send_boot(struct cp *cp, int64_t now)
{
	json_t *p = boot_payload(cp->conf);
	if (rpc_call(cp->rpc, "BootNotification", p, &tag_boot, BRIDGE_CALL_TIMEOUT_MS, now) == 0)
		cp->reg = REG_BOOTING;
	else
		cp->boot_at = now + BRIDGE_BOOT_RETRY_S * 1000;
}

static void
send_statuses(struct cp *cp, int64_t now)
{
	for (int i = 0; i <= cp->conf->n_connectors; i++) {
		struct cp_conn *c = &cp->conns[i];
		if (!c->known || c->in_flight || c->sent_version == c->version)
			continue;
		json_t *p =
		    json_pack("{s:i,s:s,s:s}", "connectorId", i, "errorCode",
		              c->error_code[0] ? c->error_code : "NoError", "status", c->status);
		char ts[SG_TIME_RFC3339_LEN];
		if (c->since > 0 && sg_time_format(c->since, ts, sizeof(ts)) > 0)
			json_object_set_new(p, "timestamp", json_string(ts));
		set_opt(p, "info", c->info);
		if (c->vendor_error_code[0]) {
			set_opt(p, "vendorId", cp->conf->vendor);
			set_opt(p, "vendorErrorCode", c->vendor_error_code);
		}
		correct_timestamps(cp, p);
		c->in_flight = true;
		c->sent_version = c->version; /* optimistic; a later change bumps version */
		int rc = rpc_call(cp->rpc, "StatusNotification", p, c, BRIDGE_CALL_TIMEOUT_MS, now);
		if (rc == -EINVAL) {
			c->in_flight = false;
			sg_warn("%s: StatusNotification of connector %d refused locally",
			        cp->conf->id, i);
		} else if (rc < 0) {
			/* no room for another CALL now: again when one ends (it kicks us) */
			c->in_flight = false;
			c->sent_version = c->version - 1;
		}
	}
}

static void
deliver_queue(struct cp *cp, int64_t now, int64_t *next)
{
	struct bridge *br = bridge_of(cp);
	if (cp->tx_in_flight)
		return;
	struct txq_msg m;
	int64_t wall = sg_time_wall_ms();
	int rc = txq_head(br->txq, cp->conf->id, wall, &m);
	if (rc == -EAGAIN) {
		int64_t at = now + (m.not_before_ms - wall);
		if (at < *next)
			*next = at;
		return;
	}
	if (rc <= 0)
		return;
	correct_timestamps(cp, m.payload);
	cp->tx_in_flight = m.seq;
	cp->tx_ref_in_flight = m.tx_ref;
	cp->tx_action = m.action;
	cp->tx_id_in_flight = json_integer_value(json_object_get(m.payload, "transactionId"));
	rc = rpc_call(cp->rpc, m.action, m.payload, &tag_tx, BRIDGE_CALL_TIMEOUT_MS, now);
	if (rc < 0)
		cp->tx_in_flight = 0;
	if (rc == -EINVAL) {
		/* Our own message breaks the schema: retrying cannot help, so let the
		 * attempts run out like any refused message. */
		sg_err("%s: queued %s #%lld cannot be sent: %s", cp->conf->id, m.action,
		       (long long)m.seq, strerror(-rc));
		if (fail_tx(cp, m.seq) == 1)
			publish_tx_result(cp, m.tx_ref, m.action, NULL, true);
	} else if (rc < 0) {
		/* No room for another CALL now (services' messages fill the RPC queue):
		 * not the message's fault, so no attempt is spent; it goes out when a
		 * CALL ends (every answer kicks the timer). */
		sg_debug("%s: queued %s #%lld waits: %s", cp->conf->id, m.action, (long long)m.seq,
		         strerror(-rc));
	}
}

static int64_t
cp_tick(struct cp *cp, int64_t now)
{
	int64_t next = INT64_MAX;
#define SOONER(t)                                                                                  \
	do {                                                                                       \
		if ((t) < next)                                                                    \
			next = (t);                                                                \
	} while (0)

	if (bridge_of(cp)->stopping)
		return -1;
	if (cp->link == LINK_IDLE) {
		if (now >= cp->dial_at)
			ws_dial(cp);
		else
			SOONER(cp->dial_at);
	}
	if (cp->link == LINK_OPEN) {
		rpc_tick(cp->rpc, now); /* an overdue answer fails its CALL first */

		bool may_boot =
		    cp->reg == REG_NONE || cp->reg == REG_PENDING || cp->reg == REG_REJECTED;
		if (may_boot && now >= cp->boot_at)
			send_boot(cp, now);
		else if (may_boot)
			SOONER(cp->boot_at);

		if (cp->reg == REG_ACCEPTED) {
			send_statuses(cp, now);
			deliver_queue(cp, now, &next);
			int64_t hb = key_int(cp, "HeartbeatInterval") * 1000;
			if (hb > 0 && !cp->heartbeat_in_flight) {
				if (now - cp->last_sent >= hb) {
					if (rpc_call(cp->rpc, "Heartbeat", json_object(),
					             &tag_heartbeat, BRIDGE_CALL_TIMEOUT_MS,
					             now) == 0)
						cp->heartbeat_in_flight = true;
				} else {
					SOONER(cp->last_sent + hb);
				}
			}
		}
		/* The deadline of the CALL outstanding now, which may have gone out
		 * just above: without it a lost answer waits for the next wake-up. */
		int64_t t = rpc_tick(cp->rpc, now);
		if (t >= 0)
			SOONER(now + t);

		/* A dead link shows as a missing pong: close it, and the redial follows. */
		int64_t ping = key_int(cp, "WebSocketPingInterval") * 1000;
		if (ping > 0) {
			if (cp->pong_deadline && now >= cp->pong_deadline) {
				cp->pong_deadline = 0;
				ws_close(cp, "no pong from the Central System");
			} else if (!cp->pong_deadline && now >= cp->ping_at) {
				cp->ping_due = true;
				cp->pong_deadline =
				    now + (ping < PONG_TIMEOUT_MS ? ping : PONG_TIMEOUT_MS);
				cp->ping_at = now + ping;
				if (cp->wsi)
					lws_callback_on_writable(cp->wsi);
			}
			SOONER(cp->pong_deadline ? cp->pong_deadline : cp->ping_at);
		}
	}
	cp_publish_state(cp);
	return next == INT64_MAX ? -1 : next;
#undef SOONER
}

/* ---- link ---------------------------------------------------------------- */

void
cp_link_up(struct cp *cp)
{
	int64_t now = bridge_now();
	cp->link = LINK_OPEN;
	cp->reg = REG_NONE;
	cp->generation++;
	cp->backoff_ms = BRIDGE_BACKOFF_MIN_MS;
	cp->boot_at = 0;
	cp->last_sent = now;
	cp->since = sg_time_wall_ms();
	cp->ping_at = now + key_int(cp, "WebSocketPingInterval") * 1000;
	cp->pong_deadline = 0;
	sg_info("%s: connected", cp->conf->id);
	rpc_set_connected(cp->rpc, true, now);
	cp_kick(cp);
}

void
cp_link_down(struct cp *cp, const char *why)
{
	if (cp->link == LINK_IDLE)
		return;
	bool was_open = cp->link == LINK_OPEN;
	cp->link = LINK_IDLE; /* first: callbacks below must see the link down */
	cp->reg = REG_NONE;
	cp->since = sg_time_wall_ms();
	if (was_open) {
		cp->reconnects++;
		sg_warn("%s: connection lost (%s), reconnecting", cp->conf->id, why);
	} else {
		sg_warn("%s: cannot connect (%s)", cp->conf->id, why);
	}
	rpc_set_connected(cp->rpc, false, bridge_now());
	cp->heartbeat_in_flight = false;
	cp->ping_due = false;
	for (int i = 0; i <= cp->conf->n_connectors; i++)
		cp->conns[i].in_flight = false;
	if (!bridge_of(cp)->stopping)
		ws_schedule_dial(cp, !cp->closing);
	cp->closing = false;
	cp_publish_state(cp);
}

void
cp_trigger(struct cp *cp, const char *message, int conn)
{
	int64_t now = bridge_now();
	if (!strcmp(message, "BootNotification")) {
		rpc_call(cp->rpc, "BootNotification", boot_payload(cp->conf), &tag_trigger_boot,
		         BRIDGE_CALL_TIMEOUT_MS, now);
	} else if (!strcmp(message, "Heartbeat")) {
		if (!cp->heartbeat_in_flight &&
		    rpc_call(cp->rpc, "Heartbeat", json_object(), &tag_heartbeat,
		             BRIDGE_CALL_TIMEOUT_MS, now) == 0)
			cp->heartbeat_in_flight = true;
	} else if (!strcmp(message, "StatusNotification")) {
		for (int i = 0; i <= cp->conf->n_connectors; i++)
			if ((conn < 0 || conn == i) && cp->conns[i].known)
				cp->conns[i].sent_version = cp->conns[i].version - 1;
		cp_kick(cp);
	}
}

void
cp_pong(struct cp *cp)
{
	cp->pong_deadline = 0;
}

void
cp_connector_state(struct cp *cp, int conn, const struct sg_msg_conn_state *st)
{
	if (conn < 0 || conn > cp->conf->n_connectors)
		return;
	struct cp_conn *c = &cp->conns[conn];
	if (c->known && !strcmp(c->status, st->status) && !strcmp(c->error_code, st->error_code) &&
	    !strcmp(c->info, st->info) && !strcmp(c->vendor_error_code, st->vendor_error_code))
		return;
	snprintf(c->status, sizeof(c->status), "%s", st->status);
	snprintf(c->error_code, sizeof(c->error_code), "%s", st->error_code);
	snprintf(c->info, sizeof(c->info), "%s", st->info);
	snprintf(c->vendor_error_code, sizeof(c->vendor_error_code), "%s", st->vendor_error_code);
	c->since = st->since;
	c->known = true;
	c->version++;
	cp_kick(cp);
}

/* ---- answers to our CALLs --------------------------------------------------- */

static void
finish_send(struct cp *cp, struct pending_send *ps, const json_t *payload, const char *error,
            const char *description)
{
	struct sg_msg_ocpp_result r = {.payload = (json_t *)payload};
	snprintf(r.error, sizeof(r.error), "%s", error ? error : "");
	snprintf(r.description, sizeof(r.description), "%s", description ? description : "");
	struct sg_bus_in in = {
	    .id = SG_MSG_ocpp_send,
	    .response_topic = ps->response_topic,
	    .correlation = ps->correlation,
	    .correlation_len = ps->correlation_len,
	};
	sg_bus_reply(bridge_of(cp)->svc.bus, &in, &r);
	free(ps->response_topic);
	free(ps->correlation);
	free(ps);
}

static bool
is_conn_tag(const struct cp *cp, const void *tag)
{
	const char *t = tag;
	return t >= (const char *)cp->conns &&
	       t < (const char *)(cp->conns + SG_MAX_CONNECTORS + 1);
}

static void
on_result(void *ud, void *tag, const char *action, json_t *payload)
{
	struct cp *cp = ud;
	int64_t now = bridge_now();
	if (tag == &tag_boot) {
		const char *status = json_string_value(json_object_get(payload, "status"));
		json_int_t interval = json_integer_value(json_object_get(payload, "interval"));
		learn_time(cp, payload);
		if (status && !strcmp(status, "Accepted")) {
			cp->reg = REG_ACCEPTED;
			if (interval > 0 && interval != key_int(cp, "HeartbeatInterval")) {
				char v[24];
				snprintf(v, sizeof(v), "%lld", (long long)interval);
				sg_keys_set(bridge_of(cp)->keys, cp->conf->id, "HeartbeatInterval",
				            v);
			}
			/* Tell the Central System every connector's state, as it is now. */
			for (int i = 0; i <= cp->conf->n_connectors; i++)
				cp->conns[i].sent_version = cp->conns[i].version - 1;
			sg_info("%s: registration accepted, heartbeat every %lld s", cp->conf->id,
			        (long long)key_int(cp, "HeartbeatInterval"));
		} else {
			cp->reg = status && !strcmp(status, "Pending") ? REG_PENDING : REG_REJECTED;
			cp->boot_at = now + (interval > 0 ? interval : BRIDGE_BOOT_RETRY_S) * 1000;
			sg_notice("%s: registration %s, BootNotification again in %lld s",
			          cp->conf->id, status ? status : "?",
			          (long long)(interval > 0 ? interval : BRIDGE_BOOT_RETRY_S));
		}
	} else if (tag == &tag_trigger_boot) {
		/* asked for by the Central System (to read iccid/imsi, say): the
		 * registration stays as it is */
		learn_time(cp, payload);
	} else if (tag == &tag_heartbeat) {
		cp->heartbeat_in_flight = false;
		learn_time(cp, payload);
	} else if (tag == &tag_tx) {
		struct bridge *br = bridge_of(cp);
		int64_t seq = cp->tx_in_flight;
		cp->tx_in_flight = 0;
		if (txq_ack(br->txq, seq, payload) < 0) {
			/* e.g. a StartTransaction.conf without a usable transactionId */
			if (fail_tx(cp, seq) == 1)
				publish_tx_result(cp, cp->tx_ref_in_flight, cp->tx_action, NULL,
				                  true);
		} else {
			publish_tx_result(cp, cp->tx_ref_in_flight, cp->tx_action, payload, false);
		}
	} else if (is_conn_tag(cp, tag)) {
		((struct cp_conn *)tag)->in_flight = false;
	} else {
		finish_send(cp, tag, payload, NULL, NULL);
	}
	cp_kick(cp);
}

static void
on_error(void *ud, void *tag, const char *action, enum rpc_failure kind, const char *code,
         const char *description)
{
	struct cp *cp = ud;
	int64_t now = bridge_now();
	const char *why = kind == RPC_TIMEOUT ? "Timeout" : kind == RPC_OFFLINE ? "Offline" : code;
	if (kind != RPC_OFFLINE)
		sg_warn("%s: %s failed: %s%s%s", cp->conf->id, action, why,
		        description && *description ? ": " : "", description ? description : "");

	if (tag == &tag_trigger_boot) {
		/* nothing to undo */
	} else if (tag == &tag_boot) {
		if (cp->reg == REG_BOOTING)
			cp->reg = REG_NONE;
		cp->boot_at = now + BRIDGE_BOOT_RETRY_S * 1000;
	} else if (tag == &tag_heartbeat) {
		cp->heartbeat_in_flight = false;
	} else if (tag == &tag_tx) {
		int64_t seq = cp->tx_in_flight;
		cp->tx_in_flight = 0;
		/* Time offline consumes no attempt: only a refusal or a timeout does. */
		if (kind != RPC_OFFLINE && fail_tx(cp, seq) == 1)
			publish_tx_result(cp, cp->tx_ref_in_flight, cp->tx_action, NULL, true);
	} else if (is_conn_tag(cp, tag)) {
		struct cp_conn *c = tag;
		c->in_flight = false;
		/* Not retried, but a status that never arrived is sent after reconnect. */
		if (kind == RPC_OFFLINE)
			c->sent_version = c->version - 1;
	} else {
		finish_send(cp, tag, NULL, why, description);
	}
	cp_kick(cp);
}

static int
on_send(void *ud, const char *text, size_t len)
{
	return ws_send(ud, text, len);
}

static void
on_call(void *ud, const char *unique_id, const char *action, json_t *payload)
{
	route_call(ud, unique_id, action, payload);
}

const struct rpc_ops cp_rpc_ops = {
    .send = on_send,
    .call = on_call,
    .result = on_result,
    .error = on_error,
};

int
cp_send_for_service(struct cp *cp, const char *action, json_t *payload, const struct sg_bus_in *in)
{
	struct pending_send *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		json_decref(payload);
		return -ENOMEM;
	}
	ps->response_topic = in->response_topic ? strdup(in->response_topic) : NULL;
	if (in->correlation_len > 0 && (ps->correlation = malloc((size_t)in->correlation_len))) {
		memcpy(ps->correlation, in->correlation, (size_t)in->correlation_len);
		ps->correlation_len = in->correlation_len;
	}
	if (!cp_registered(cp)) {
		json_decref(payload);
		finish_send(cp, ps, NULL, cp->link == LINK_OPEN ? "NotRegistered" : "Offline",
		            "the charge point is not accepted by the Central System");
		return 0;
	}
	correct_timestamps(cp, payload);
	int rc = rpc_call(cp->rpc, action, payload, ps, BRIDGE_CALL_TIMEOUT_MS, bridge_now());
	if (rc < 0)
		finish_send(cp, ps, NULL, rc == -EINVAL ? "FormationViolation" : "InternalError",
		            rc == -EINVAL ? "the payload breaks the OCPP 1.6 schema"
		                          : strerror(-rc));
	else
		cp_kick(cp); /* its timeout joins the timer */
	return 0;
}

/* ---- life ------------------------------------------------------------------ */

int
cp_init(struct bridge *br, struct cp *cp, int index, const struct sg_cp_conf *conf)
{
	cp->br = br;
	cp->index = index;
	cp->conf = conf;
	const char *name = sg_keys_get(br->keys, conf->id, "VendorChargePointName");
	snprintf(cp->id, sizeof(cp->id), "%s", name && *name ? name : conf->id);
	cp->backoff_ms = BRIDGE_BACKOFF_MIN_MS;
	cp->since = sg_time_wall_ms();
	cp->rpc = rpc_new(cp->conf->id, NULL, &cp_rpc_ops, cp);
	if (!cp->rpc)
		return -errno;
	cp_publish_state(cp);
	ws_schedule_dial(cp, false);
	return 0;
}

void
cp_fini(struct cp *cp)
{
	rpc_free(cp->rpc);
	cp->rpc = NULL;
	while (cp->out_head) {
		struct frame *f = cp->out_head;
		cp->out_head = f->next;
		free(f);
	}
	free(cp->rx);
}
