/* The connector service's world (see connector_io.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/time.h"

#include "connector.h"
#include "connector_io.h"
#include "hw.h"
#include "journal.h"

#define OUTBOX_TIMEOUT_MS   10000 /* ocpp_tx until the bridge acknowledges */
#define OUTBOX_RETRY_MIN_MS 1000
#define OUTBOX_RETRY_MAX_MS 30000

/* The Central System's calls this service answers. */
static const char *const owned_actions[] = {
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "UnlockConnector",
    "ChangeAvailability",
};
#define N_OWNED (sizeof(owned_actions) / sizeof(owned_actions[0]))

struct cpx;

/* One connector's hardware. */
struct connx {
	struct cpx *x;
	int id;
	struct hw *hw;
	bool sim;
	struct conn_hw_cmd cmd; /* as given to the driver */
	bool cmd_known;
};

struct cpx {
	struct conn_svc *s;
	const struct sg_cp_conf *conf;
	struct conn_cp cp;
	struct connx conns[SG_MAX_CONNECTORS + 1];
	uint32_t c0_faults; /* simulated faults of connector 0 */
};

/* An answer that waits: UnlockConnector (token) or cp_reset (cp, stopped). */
struct deferred {
	struct deferred *next;
	uint64_t token;
	struct cpx *reset;
	int64_t stopped;
	char *response_topic;
	void *correlation;
	int correlation_len;
};

struct conn_svc {
	struct sg_service *svc;
	struct journal *j;
	struct sg_keys *keys;
	struct cpx *cps;
	int n_cps;
	uint64_t timer;
	int64_t timer_at;
	struct deferred *deferred, *resets;
	uint64_t next_unlock;
	/* outbox: one message in flight */
	bool out_busy;
	int64_t out_id;
	int64_t out_backoff;
	uint64_t out_timer;
	bool stopping;
};

/* A request in flight. */
struct req {
	struct conn_svc *s;
	int cp;
	int conn;
	uint64_t token;
};

static int64_t
mono(void)
{
	return sg_time_mono_ms();
}

static int64_t
wall(void)
{
	return sg_time_wall_ms();
}

static struct cpx *
cpx_of(struct conn_svc *s, const char *id)
{
	for (int i = 0; i < s->n_cps; i++)
		if (strcmp(s->cps[i].conf->id, id) == 0)
			return &s->cps[i];
	return NULL;
}

static struct cpx *
cpx_of_conn(struct conn *c)
{
	return (struct cpx *)((char *)c->cp - offsetof(struct cpx, cp));
}

static struct conn *
conn_of(struct conn_svc *s, const struct sg_topic_args *a)
{
	struct cpx *x = cpx_of(s, a->cp);
	return x ? conn_get(&x->cp, a->conn) : NULL;
}

static struct sg_topic_args
args_of(const struct conn *c)
{
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", c->cp->id);
	a.conn = c->id;
	return a;
}

static struct conn_keys
keys_of(struct conn_svc *s, const char *cp)
{
	struct conn_keys k = {
	    .connection_timeout_s = sg_keys_get_int(s->keys, cp, "ConnectionTimeOut"),
	    .min_status_duration_s = sg_keys_get_int(s->keys, cp, "MinimumStatusDuration"),
	    .stop_on_ev_disconnect =
	        sg_keys_get_bool(s->keys, cp, "StopTransactionOnEVSideDisconnect"),
	    .unlock_on_ev_disconnect =
	        sg_keys_get_bool(s->keys, cp, "UnlockConnectorOnEVSideDisconnect"),
	};
	return k;
}

/* ---- the outbox: transaction messages to the bridge's queue -------------------- */

static void outbox_kick(struct conn_svc *s);

static int64_t
on_outbox_retry(struct sg_loop *loop, void *ud)
{
	struct conn_svc *s = ud;
	s->out_timer = 0;
	outbox_kick(s);
	return -1;
}

static void
outbox_retry_later(struct conn_svc *s)
{
	s->out_backoff = s->out_backoff ? s->out_backoff * 2 : OUTBOX_RETRY_MIN_MS;
	if (s->out_backoff > OUTBOX_RETRY_MAX_MS)
		s->out_backoff = OUTBOX_RETRY_MAX_MS;
	sg_loop_timer_del(s->svc->loop, s->out_timer);
	s->out_timer = sg_loop_timer_add(s->svc->loop, s->out_backoff, on_outbox_retry, s);
}

static void
on_tx_ack(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_ocpp_tx_ack *ack = reply;

	if (status == -ECANCELED)
		return;
	s->out_busy = false;
	if (status < 0) {
		sg_warn("transaction message #%" PRId64 " not acknowledged by the bridge (%s); "
		        "retrying",
		        s->out_id, strerror(-status));
		outbox_retry_later(s);
		return;
	}
	/* Stored, or stored by an earlier attempt whose answer was lost (-EEXIST,
	 * -ENOENT), or never storable (-EINVAL): either way it leaves the outbox. */
	if (ack->seq < 0 && ack->seq != -EEXIST && ack->seq != -ENOENT) {
		if (ack->seq != -EINVAL) {
			sg_warn("transaction message #%" PRId64 " refused by the bridge (%s); "
			        "retrying",
			        s->out_id, strerror((int)-ack->seq));
			outbox_retry_later(s);
			return;
		}
		sg_err("transaction message #%" PRId64 " is invalid for the bridge; dropped",
		       s->out_id);
	}
	journal_outbox_delete(s->j, s->out_id);
	s->out_backoff = 0;
	outbox_kick(s);
}

static void
outbox_kick(struct conn_svc *s)
{
	struct journal_msg m;
	struct sg_msg_ocpp_tx tx = {0};
	struct sg_topic_args a = {0};
	json_error_t err;
	int rc;

	if (s->out_busy || s->out_timer || s->stopping)
		return;
	for (;;) {
		rc = journal_outbox_next(s->j, 0, &m);
		if (rc <= 0)
			return;
		tx.payload = json_loads(m.payload, 0, &err);
		if (tx.payload)
			break;
		sg_err("outbox message #%" PRId64 " is not JSON (%s); dropped", m.id, err.text);
		journal_outbox_delete(s->j, m.id);
		free(m.payload);
	}
	tx.tx_ref = m.tx_ref;
	snprintf(a.cp, sizeof(a.cp), "%s", m.cp);
	snprintf(a.name, sizeof(a.name), "%s", m.action);
	s->out_id = m.id;
	rc = sg_bus_request(s->svc->bus, SG_MSG_ocpp_tx, &tx, &a, OUTBOX_TIMEOUT_MS, on_tx_ack, s);
	if (rc < 0) {
		sg_err("%s: %s #%" PRId64 " cannot be sent (%s); retrying", m.cp, m.action, m.id,
		       strerror(-rc));
		outbox_retry_later(s);
	} else {
		s->out_busy = true;
		sg_debug("%s: %s of transaction %" PRId64 " to the bridge's queue", m.cp, m.action,
		         m.tx_ref);
	}
	json_decref(tx.payload);
	free(m.payload);
}

/* ---- requests ------------------------------------------------------------------ */

static struct req *
req_new(struct conn_svc *s, struct conn *c, uint64_t token)
{
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->s = s;
	r->cp = (int)(cpx_of_conn(c) - s->cps);
	r->conn = c->id;
	r->token = token;
	return r;
}

static struct conn *
req_conn(const struct req *r)
{
	return &r->s->cps[r->cp].cp.conns[r->conn];
}

static void
on_auth_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct req *r = ud;

	if (status != -ECANCELED)
		conn_auth_result(req_conn(r), r->token, status, reply, mono(), wall());
	free(r);
}

static void
on_meter_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct req *r = ud;

	if (status != -ECANCELED)
		conn_meter_result(req_conn(r), r->token, status, reply, mono(), wall());
	free(r);
}

/* A request that could not be sent fails from the loop, never inside the call
 * that made it. */
static int64_t
on_auth_failed(struct sg_loop *loop, void *ud)
{
	on_auth_reply(NULL, -EIO, NULL, ud);
	return -1;
}

static int64_t
on_meter_failed(struct sg_loop *loop, void *ud)
{
	on_meter_reply(NULL, -EIO, NULL, ud);
	return -1;
}

/* ---- conn_ops ---------------------------------------------------------------------- */

static void
op_publish_state(void *ud, struct conn *c, const struct sg_msg_conn_state *m)
{
	struct conn_svc *s = ud;
	struct sg_topic_args a = args_of(c);
	sg_bus_publish(s->svc->bus, SG_MSG_conn_state, m, &a);
}

static void
op_publish_hw(void *ud, struct conn *c, const struct sg_msg_conn_hw *m)
{
	struct conn_svc *s = ud;
	struct sg_topic_args a = args_of(c);
	sg_bus_publish(s->svc->bus, SG_MSG_conn_hw, m, &a);
}

static void
op_tx_event(void *ud, struct conn *c, const struct sg_msg_tx_event *m)
{
	struct conn_svc *s = ud;
	struct sg_topic_args a = args_of(c);
	sg_bus_publish(s->svc->bus, SG_MSG_tx_event, m, &a);
}

static void
op_auth_request(void *ud, struct conn *c, uint64_t token, const struct sg_msg_auth_request *m)
{
	struct conn_svc *s = ud;
	struct sg_topic_args a = args_of(c);
	struct req *r = req_new(s, c, token);

	if (!r) {
		sg_err("%s/%d: out of memory: idTag \"%s\" not authorized", c->cp->id, c->id,
		       m->id_tag);
		return;
	}
	if (sg_bus_request(s->svc->bus, SG_MSG_auth_request, m, &a, CONN_AUTH_TIMEOUT_MS,
	                   on_auth_reply, r) < 0)
		sg_loop_timer_add(s->svc->loop, 0, on_auth_failed, r);
}

static void
op_meter_read(void *ud, struct conn *c, uint64_t token, const struct sg_msg_meter_read *m)
{
	struct conn_svc *s = ud;
	struct sg_topic_args a = args_of(c);
	struct req *r = req_new(s, c, token);

	if (!r) {
		sg_err("%s/%d: out of memory: no meter reading", c->cp->id, c->id);
		return;
	}
	if (sg_bus_request(s->svc->bus, SG_MSG_meter_read, m, &a, CONN_METER_TIMEOUT_MS,
	                   on_meter_reply, r) < 0)
		sg_loop_timer_add(s->svc->loop, 0, on_meter_failed, r);
}

static void
op_hw_command(void *ud, struct conn *c, const struct conn_hw_cmd *cmd)
{
	struct connx *k = &cpx_of_conn(c)->conns[c->id];
	const struct hw_ops *hw_ops;

	if (!k->hw)
		return;
	hw_ops = k->hw->ops;
	if (!k->cmd_known || cmd->contactor != k->cmd.contactor)
		hw_ops->set_contactor(k->hw, cmd->contactor);
	if (!k->cmd_known || cmd->lock != k->cmd.lock)
		hw_ops->set_lock(k->hw, cmd->lock);
	if (!k->cmd_known || cmd->offered_a != k->cmd.offered_a)
		hw_ops->set_offered(k->hw, cmd->offered_a);
	if (!k->cmd_known || cmd->led != k->cmd.led)
		hw_ops->set_led(k->hw, cmd->led);
	k->cmd = *cmd;
	k->cmd_known = true;
}

static int64_t
op_new_tx_ref(void *ud, struct conn *c)
{
	struct conn_svc *s = ud;
	return journal_next_tx_ref(s->j);
}

static int
op_tx_open(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *start)
{
	struct conn_svc *s = ud;
	char *text = json_dumps(start, JSON_COMPACT);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = journal_tx_open(s->j, c->cp->id, c->id, tx, text, wall());
	free(text);
	if (rc == 0)
		outbox_kick(s);
	return rc;
}

static void
op_tx_save(void *ud, struct conn *c, const struct conn_tx *tx)
{
	struct conn_svc *s = ud;
	if (journal_tx_save(s->j, c->cp->id, c->id, tx) == 0)
		sg_debug("%s/%d: transaction %" PRId64 " at %.0f Wh stored", c->cp->id, c->id,
		         tx->tx_ref, tx->energy_wh);
}

static int
op_tx_close(void *ud, struct conn *c, const struct conn_tx *tx, const json_t *stop)
{
	struct conn_svc *s = ud;
	char *text = json_dumps(stop, JSON_COMPACT);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = journal_tx_close(s->j, c->cp->id, c->id, tx->tx_ref, text, wall());
	free(text);
	if (rc == 0)
		outbox_kick(s);
	return rc;
}

static void
op_save_conn(void *ud, struct conn *c)
{
	struct conn_svc *s = ud;
	journal_conn_save(s->j, c->cp->id, c->id, c->operative, c->pending,
	                  c->pub_known ? conn_status_name(c->pub) : NULL);
}

static struct deferred *
defer(struct deferred **list, const struct sg_bus_in *in, uint64_t token)
{
	struct deferred *d = calloc(1, sizeof(*d));

	if (!d || !in->response_topic || !(d->response_topic = strdup(in->response_topic)))
		goto fail;
	if (in->correlation_len > 0) {
		d->correlation = malloc((size_t)in->correlation_len);
		if (!d->correlation)
			goto fail;
		memcpy(d->correlation, in->correlation, (size_t)in->correlation_len);
		d->correlation_len = in->correlation_len;
	}
	d->token = token;
	d->next = *list;
	*list = d;
	return d;
fail:
	if (d)
		free(d->response_topic);
	free(d);
	return NULL;
}

static void
deferred_free(struct deferred *d)
{
	free(d->response_topic);
	free(d->correlation);
	free(d);
}

static struct sg_bus_in
deferred_in(const struct deferred *d, enum sg_msg_id id)
{
	struct sg_bus_in in = {
	    .id = id,
	    .response_topic = d->response_topic,
	    .correlation = d->correlation,
	    .correlation_len = d->correlation_len,
	};
	return in;
}

static void
answer_status(struct conn_svc *s, const struct sg_bus_in *in, const char *status)
{
	struct sg_msg_ocpp_result r = {0};

	r.payload = json_pack("{s:s}", "status", status);
	sg_bus_reply(s->svc->bus, in, &r);
	json_decref(r.payload);
}

static void
op_unlock_result(void *ud, struct conn *c, uint64_t token, const char *status)
{
	struct conn_svc *s = ud;

	for (struct deferred **pp = &s->deferred; *pp; pp = &(*pp)->next) {
		struct deferred *d = *pp;
		if (d->token != token)
			continue;
		struct sg_bus_in in = deferred_in(d, SG_MSG_ocpp_call);
		sg_info("%s/%d: UnlockConnector: %s", c->cp->id, c->id, status);
		answer_status(s, &in, status);
		*pp = d->next;
		deferred_free(d);
		return;
	}
}

static const struct conn_ops ops = {
    .publish_state = op_publish_state,
    .publish_hw = op_publish_hw,
    .tx_event = op_tx_event,
    .auth_request = op_auth_request,
    .meter_read = op_meter_read,
    .hw_command = op_hw_command,
    .new_tx_ref = op_new_tx_ref,
    .tx_open = op_tx_open,
    .tx_save = op_tx_save,
    .tx_close = op_tx_close,
    .save_conn = op_save_conn,
    .unlock_result = op_unlock_result,
};

/* ---- the Central System's calls --------------------------------------------------- */

static void
on_call(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_ocpp_call *call = in->msg;
	const char *action = in->args->name;
	json_t *p = call->payload;
	struct cpx *x = cpx_of(s, in->args->cp);
	int conn_id = (int)json_integer_value(json_object_get(p, "connectorId"));
	const char *status;

	if (!x) {
		struct sg_msg_ocpp_result r = {.error = "GenericError"};
		snprintf(r.description, sizeof(r.description), "no charge point \"%s\" here",
		         in->args->cp);
		sg_bus_reply(bus, in, &r);
		return;
	}
	sg_info("%s: %s %s", x->conf->id, action, call->unique_id);
	if (!json_is_object(p) || (json_object_get(p, "connectorId") &&
	                           !json_is_integer(json_object_get(p, "connectorId")))) {
		/* the bridge validates calls against the schema: only a third party gets here */
		struct sg_msg_ocpp_result r = {.error = "FormationViolation"};
		sg_bus_reply(bus, in, &r);
		return;
	}
	if (strcmp(action, "RemoteStartTransaction") == 0) {
		const char *id_tag = json_string_value(json_object_get(p, "idTag"));
		const json_t *profile = json_object_get(p, "chargingProfile");
		if (!id_tag || !id_tag[0] || strlen(id_tag) > 20 ||
		    (profile && !json_is_object(profile))) {
			struct sg_msg_ocpp_result r = {.error = "FormationViolation"};
			sg_bus_reply(bus, in, &r);
			return;
		}
		status = conn_remote_start(&x->cp, conn_id, id_tag, profile, mono(), wall());
	} else if (strcmp(action, "RemoteStopTransaction") == 0) {
		status = conn_remote_stop(&x->cp,
		                          json_integer_value(json_object_get(p, "transactionId")),
		                          mono(), wall());
	} else if (strcmp(action, "UnlockConnector") == 0) {
		uint64_t token = ++s->next_unlock;
		status = conn_unlock(&x->cp, conn_id, token, mono(), wall());
		if (!status) {
			if (defer(&s->deferred, in, token))
				return;
			status = "UnlockFailed";
		}
	} else if (strcmp(action, "ChangeAvailability") == 0) {
		const char *type = json_string_value(json_object_get(p, "type"));
		if (!type || (strcmp(type, "Operative") != 0 && strcmp(type, "Inoperative") != 0))
			status = "Rejected";
		else
			status = conn_change_availability(
			    &x->cp, conn_id, strcmp(type, "Operative") == 0, mono(), wall());
	} else {
		struct sg_msg_ocpp_result r = {.error = "NotImplemented"};
		sg_bus_reply(bus, in, &r);
		return;
	}
	sg_info("%s: %s: %s", x->conf->id, action, status);
	answer_status(s, in, status);
}

/* ---- Reset and firmware installation (for the bridge and maintenance) ------------ */

static void
on_reset(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_cp_reset *m = in->msg;
	struct cpx *x = cpx_of(s, in->args->cp);
	struct sg_msg_cp_reset_done done = {0};
	struct deferred *d;

	if (!x) {
		sg_bus_reply(bus, in, &done);
		return;
	}
	done.stopped = conn_cp_reset(&x->cp, strcmp(m->type, "Hard") == 0, mono(), wall());
	/* answered once the StopTransactions are in the bridge's queue (before_sleep) */
	d = defer(&s->resets, in, 0);
	if (!d) {
		sg_bus_reply(bus, in, &done);
		return;
	}
	d->reset = x;
	d->stopped = done.stopped;
}

/* Answers the resets whose StopTransactions the bridge has acknowledged. */
static void
resets_answer(struct conn_svc *s)
{
	bool outbox_empty = !s->out_busy && journal_outbox_count(s->j) == 0;

	for (struct deferred **pp = &s->resets; *pp;) {
		struct deferred *d = *pp;
		if (!outbox_empty || conn_cp_stopping(&d->reset->cp)) {
			pp = &d->next;
			continue;
		}
		struct sg_bus_in in = deferred_in(d, SG_MSG_cp_reset);
		struct sg_msg_cp_reset_done done = {.stopped = d->stopped};
		sg_bus_reply(s->svc->bus, &in, &done);
		*pp = d->next;
		deferred_free(d);
	}
}

static void
on_install(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_fw_install *m = in->msg;
	struct cpx *x = cpx_of(ud, in->args->cp);

	if (x)
		conn_cp_installing(&x->cp, m->installing, mono(), wall());
}

/* ---- other bus input ------------------------------------------------------------- */

static void
on_tx_result(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_ocpp_tx_result *m = in->msg;
	struct cpx *x = cpx_of(s, in->args->cp);

	if (x)
		conn_tx_result(&x->cp, m->tx_ref, m->action, m->dropped ? -1 : m->transaction_id,
		               mono(), wall());
}

static void
on_reservation(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_reservation *m = in->msg;
	struct conn *c = conn_of(ud, in->args);

	if (c)
		conn_reservation(c, m->reservation_id, m->id_tag, m->parent_id_tag, mono(), wall());
}

static void
on_limit(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_conn_limit *m = in->msg;
	struct conn *c = conn_of(ud, in->args);

	if (c && c->id > 0)
		conn_limit(c, m->limit_a, mono(), wall());
}

static void
on_smartcharge(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_svc_status *m = in->msg;

	for (int i = 0; i < s->n_cps; i++)
		conn_smartcharge(&s->cps[i].cp, strcmp(m->state, "online") == 0, mono(), wall());
}

static void
on_sample(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_meter_sample *m = in->msg;
	struct conn *c = conn_of(ud, in->args);

	if (c && c->id > 0) {
		sg_debug("%s/%d: meter sample %.1f Wh", c->cp->id, c->id, m->energy_wh);
		conn_meter_sample(c, m->energy_wh, m->ts, mono(), wall());
	}
}

static void
on_control(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	const struct sg_msg_conn_control *m = in->msg;
	struct conn *c = conn_of(ud, in->args);
	struct sg_msg_conn_control_result r = {0};

	if (!c || c->id == 0) {
		snprintf(r.error, sizeof(r.error), "no connector %.40s/%d", in->args->cp,
		         in->args->conn);
	} else if (conn_control(c, m->action, m->reason, m->tx_ref, r.error, sizeof(r.error),
	                        mono(), wall()) == 0) {
		r.ok = true;
	}
	sg_bus_reply(bus, in, &r);
}

static void
on_sim(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct conn_svc *s = ud;
	const struct sg_msg_sim_cmd *m = in->msg;
	struct cpx *x = cpx_of(s, in->args->cp);
	struct sg_msg_sim_result r = {0};
	struct connx *k;

	if (!x || in->args->conn < 0 || in->args->conn > x->conf->n_connectors) {
		snprintf(r.error, sizeof(r.error), "no connector %.40s/%d", in->args->cp,
		         in->args->conn);
		goto out;
	}
	k = &x->conns[in->args->conn];
	if (in->args->conn == 0) {
		/* the charge point as a whole: faults only */
		uint32_t bit = conn_fault_bit(m->value);
		bool fault = strcmp(m->action, "fault") == 0,
		     clear = strcmp(m->action, "clear") == 0;
		if ((!fault && !clear) || (fault && !bit) || (clear && m->value[0] && !bit)) {
			snprintf(r.error, sizeof(r.error),
			         "connector 0 takes only fault CODE and clear [CODE]");
			goto out;
		}
		x->c0_faults = fault ? x->c0_faults | bit : m->value[0] ? x->c0_faults & ~bit : 0;
		conn_hw_faults(&x->cp.conns[0], x->c0_faults, mono(), wall());
		r.ok = true;
		goto out;
	}
	if (!k->hw || !k->hw->ops->sim) {
		snprintf(r.error, sizeof(r.error), "connector %.40s/%d is not simulated",
		         in->args->cp, in->args->conn);
		goto out;
	}
	r.ok = k->hw->ops->sim(k->hw, m->action, m->value, r.error, sizeof(r.error)) == 0;
out:
	sg_bus_reply(bus, in, &r);
}

/* ---- hardware events ---------------------------------------------------------------- */

static void
on_hw(struct hw *hw, const struct hw_event *ev, void *ud)
{
	struct connx *k = ud;
	struct conn *c = &k->x->cp.conns[k->id];
	int64_t now = mono(), w = wall();

	switch (ev->type) {
	case HW_EV_STATE:
		conn_hw_state(c, &ev->state, now, w);
		if (k->sim)
			journal_sim_save(k->x->s->j, k->x->conf->id, k->id, ev->state.cable,
			                 ev->state.ev_state);
		break;
	case HW_EV_LOCK:
		conn_hw_lock(c, ev->ok, ev->state.locked, now, w);
		break;
	case HW_EV_CONTACTOR:
		if (ev->state.contactor != c->hw.contactor)
			conn_hw_state(c, &ev->state, now, w);
		conn_hw_contactor(c, ev->ok, now, w);
		break;
	case HW_EV_FAULTS:
		conn_hw_faults(c, ev->faults, now, w);
		break;
	case HW_EV_RFID:
		conn_rfid(c, ev->id_tag, now, w);
		break;
	}
}

/* ---- timers and life ------------------------------------------------------------- */

static int64_t
on_timer(struct sg_loop *loop, void *ud)
{
	struct conn_svc *s = ud;

	s->timer = 0;
	s->timer_at = INT64_MAX;
	for (int i = 0; i < s->n_cps; i++)
		conn_cp_tick(&s->cps[i].cp, mono(), wall());
	return -1;
}

/* Before every poll(): the timer follows the logic's next deadline. */
static void
before_sleep(struct sg_loop *loop, void *ud)
{
	struct conn_svc *s = ud;
	int64_t next = INT64_MAX;

	if (s->resets)
		resets_answer(s);
	for (int i = 0; i < s->n_cps; i++) {
		int64_t t = conn_cp_next(&s->cps[i].cp);
		if (t < next)
			next = t;
	}
	if (next == s->timer_at && (s->timer || next == INT64_MAX))
		return;
	sg_loop_timer_del(loop, s->timer);
	s->timer = 0;
	s->timer_at = next;
	if (next != INT64_MAX) {
		int64_t delay = next - mono();
		s->timer = sg_loop_timer_add(loop, delay > 0 ? delay : 0, on_timer, s);
	}
}

static void
on_key_change(struct sg_keys *keys, const char *cp, const struct sg_key_def *def, const char *value,
              void *ud)
{
	struct conn_svc *s = ud;
	struct cpx *x = cpx_of(s, cp);
	struct conn_keys k;

	if (!x)
		return;
	k = keys_of(s, cp);
	conn_set_keys(&x->cp, &k, mono(), wall());
}

static void
on_ready(struct sg_service *svc, void *ud)
{
	struct conn_svc *s = ud;

	for (int i = 0; i < s->n_cps; i++)
		conn_cp_start(&s->cps[i].cp, mono(), wall());
	outbox_kick(s);
}

static void
on_stop(struct sg_service *svc, void *ud)
{
	struct conn_svc *s = ud;

	/* A stop is a restart to come: transactions stay open in the journal with
	 * their latest energy, and are stopped (PowerLoss) when the service starts. */
	s->stopping = true;
	for (int i = 0; i < s->n_cps; i++) {
		conn_cp_flush(&s->cps[i].cp, mono());
		for (int j = 1; j <= s->cps[i].conf->n_connectors; j++)
			if (s->cps[i].conns[j].hw)
				s->cps[i].conns[j].hw->ops->safe_state(s->cps[i].conns[j].hw);
	}
}

static void
restore_tx(const char *cp, int conn, const struct conn_tx *tx, void *ud)
{
	struct conn_svc *s = ud;
	struct cpx *x = cpx_of(s, cp);
	struct conn *c = x ? conn_get(&x->cp, conn) : NULL;

	if (!c || conn == 0) {
		sg_warn("journal: transaction %" PRId64 " of %s/%d, which is no longer configured, "
		        "is left as it is",
		        tx->tx_ref, cp, conn);
		return;
	}
	conn_restore_tx(c, tx);
}

static int
setup_cp(struct conn_svc *s, struct cpx *x, int index)
{
	const struct sg_cp_conf *conf = &s->svc->conf.cps[index];
	struct conn_keys k;

	x->s = s;
	x->conf = conf;
	k = keys_of(s, conf->id);
	conn_cp_init(&x->cp, conf, &ops, s, &k);
	for (int i = 0; i <= conf->n_connectors; i++) {
		bool operative;
		int pending;
		char status[17];
		if (journal_conn_load(s->j, conf->id, i, &operative, &pending, status,
		                      sizeof(status)) == 1)
			conn_restore(&x->cp.conns[i], operative, pending, status);
	}
	for (int i = 1; i <= conf->n_connectors; i++) {
		const struct sg_connector_conf *cc = &conf->connectors[i - 1];
		struct connx *k2 = &x->conns[i];
		char name[80];

		k2->x = x;
		k2->id = i;
		snprintf(name, sizeof(name), "%s/%d", conf->id, i);
		if (strcmp(cc->driver, "gpiod") == 0) {
			char why[256];
			k2->hw = hw_gpiod_new(s->svc->loop, name, cc, on_hw, k2, why, sizeof(why));
			if (!k2->hw) {
				sg_err("%s: charge_points.[%d].connectors.[%d].%s",
				       s->svc->conf.path, index, i - 1, why);
				return SG_EXIT_CONFIG;
			}
		} else {
			bool cable;
			char ev;
			k2->sim = true;
			k2->hw = hw_sim_new(s->svc->loop, name, strcmp(cc->cable, "fixed") == 0,
			                    cc->gpio.feedback_timeout_ms, on_hw, k2);
			if (!k2->hw)
				return SG_EXIT_FAILURE;
			if (journal_sim_load(s->j, conf->id, i, &cable, &ev) == 1)
				hw_sim_restore(k2->hw, cable, ev);
		}
		x->cp.conns[i].has_lock = k2->hw->has_lock;
		conn_hw_state(&x->cp.conns[i], &k2->hw->state, mono(), wall());
	}
	return 0;
}

int
conn_svc_new(struct sg_service *svc, struct conn_svc **out)
{
	struct conn_svc *s = calloc(1, sizeof(*s));
	char path[512];
	int rc = SG_EXIT_FAILURE;

	*out = NULL;
	if (!s)
		return SG_EXIT_FAILURE;
	s->svc = svc;
	s->timer_at = INT64_MAX;
	if (sg_service_state_path(svc, "connector.db", path, sizeof(path)) < 0 ||
	    journal_open(path, wall(), &s->j) < 0)
		goto fail;
	s->keys = sg_keys_new(svc, journal_db(s->j));
	if (!s->keys)
		goto fail;
	s->cps = calloc((size_t)svc->conf.n_cps, sizeof(*s->cps));
	if (!s->cps)
		goto fail;
	s->n_cps = svc->conf.n_cps;
	for (int i = 0; i < s->n_cps; i++) {
		rc = setup_cp(s, &s->cps[i], i);
		if (rc != 0)
			goto fail;
	}
	rc = journal_tx_each(s->j, restore_tx, s);
	if (rc < 0) {
		rc = SG_EXIT_FAILURE;
		goto fail;
	}
	sg_keys_on_change(s->keys, on_key_change, s);

	struct sg_bus *bus = svc->bus;
	rc = 0;
	for (size_t i = 0; i < N_OWNED; i++) {
		struct sg_topic_args a = {0};
		struct sg_msg_ocpp_owner owner = {.svc = "connector"};
		snprintf(a.name, sizeof(a.name), "%s", owned_actions[i]);
		rc |= sg_bus_publish(bus, SG_MSG_ocpp_owner, &owner, &a);
		rc |= sg_bus_subscribe_args(bus, SG_MSG_ocpp_call, &a, on_call, s);
	}
	struct sg_topic_args sc = {.svc = "smartcharge"};
	rc |= sg_bus_subscribe_args(bus, SG_MSG_svc_status, &sc, on_smartcharge, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_ocpp_tx_result, on_tx_result, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_reservation, on_reservation, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_conn_limit, on_limit, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_meter_sample, on_sample, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_conn_control, on_control, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_sim_cmd, on_sim, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_cp_reset, on_reset, s);
	rc |= sg_bus_subscribe(bus, SG_MSG_fw_install, on_install, s);
	if (rc < 0 || sg_loop_before_sleep(svc->loop, before_sleep, s) < 0) {
		sg_err("cannot subscribe: out of memory");
		rc = SG_EXIT_FAILURE;
		goto fail;
	}
	sg_service_hooks(svc, on_ready, on_stop, NULL, s);
	*out = s;
	return 0;
fail:
	conn_svc_free(s);
	return rc ? rc : SG_EXIT_FAILURE;
}

void
conn_svc_free(struct conn_svc *s)
{
	if (!s)
		return;
	sg_loop_timer_del(s->svc->loop, s->timer);
	sg_loop_timer_del(s->svc->loop, s->out_timer);
	for (int i = 0; i < s->n_cps; i++) {
		if (!s->cps[i].conf)
			continue; /* setup failed before it */
		for (int j = 1; j <= s->cps[i].conf->n_connectors; j++)
			hw_free(s->cps[i].conns[j].hw);
		conn_cp_fini(&s->cps[i].cp);
	}
	free(s->cps);
	while (s->deferred) {
		struct deferred *d = s->deferred;
		s->deferred = d->next;
		deferred_free(d);
	}
	while (s->resets) {
		struct deferred *d = s->resets;
		s->resets = d->next;
		deferred_free(d);
	}
	sg_keys_free(s->keys);
	journal_close(s->j);
	free(s);
}
