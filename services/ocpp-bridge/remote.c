/* Central System calls about the charge point as a whole, answered by the
 * bridge: Reset, TriggerMessage, and DataTransfer routed by vendorId to the
 * service that registered it.
 *
 * A gateway hosts several charge points, so a Reset restarts only the one
 * addressed: its transactions are stopped (the connector service queues their
 * StopTransactions with reason SoftReset or HardReset), then its connection is
 * closed and it boots again. A soft reset first lets the Central System answer
 * what was sent and empties the queue (for at most RESET_DRAIN_MS): closing
 * with a CALL unanswered would lose the answer and send the message twice. A
 * hard reset closes at once; what is still queued follows the new
 * BootNotification. The other charge points never notice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "bridge.h"

#define RESET_SOFT_TIMEOUT_MS 30000
#define RESET_HARD_TIMEOUT_MS 5000
#define RESET_DRAIN_MS        10000 /* a soft reset waits this long at most for answers */
#define RESET_DRAIN_POLL_MS   20

struct vendor {
	struct vendor *next;
	char id[64]; /* a topic level, as in struct sg_topic_args */
	char svc[32];
	char message_ids[256];
};

struct reset_ctx {
	struct reset_ctx *next; /* in `draining` */
	struct bridge *br;
	int cp;
	bool hard;
	int attempt;
	uint32_t generation; /* the connection the Reset came on */
	int64_t drain_until; /* bridge_now() */
	lws_sorted_usec_list_t sul;
};

/* Soft resets waiting for the queue to empty (there is one bridge per process). */
static struct reset_ctx *draining;

/* ---- Reset ------------------------------------------------------------------ */

static void request_reset(struct bridge *br, struct reset_ctx *rc);
static void drain(struct reset_ctx *rc);

static void
draining_remove(struct reset_ctx *rc)
{
	for (struct reset_ctx **pp = &draining; *pp; pp = &(*pp)->next) {
		if (*pp == rc) {
			*pp = rc->next;
			rc->next = NULL;
			return;
		}
	}
}

/* Closes the connection for the reset (a soft one after the frames queued to go
 * out); the charge point redials and boots. Frees rc. */
static void
close_for_reset(struct reset_ctx *rc)
{
	struct cp *cp = &rc->br->cps[rc->cp];
	cp->resetting = false;
	if (cp->generation != rc->generation || cp->link != LINK_OPEN) {
		/* lost meanwhile: the next connection boots anyway */
		sg_notice("%s: %s reset: the connection is gone already, BootNotification follows",
		          cp->conf->id, rc->hard ? "hard" : "soft");
	} else {
		sg_notice("%s: %s reset: reconnecting, BootNotification follows", cp->conf->id,
		          rc->hard ? "hard" : "soft");
		if (rc->hard) {
			ws_close(cp, "hard reset");
		} else if (cp->wsi) {
			cp->close_after_flush = true;
			lws_callback_on_writable(cp->wsi);
		}
	}
	free(rc);
}

/* Whether a soft reset may close now: every CALL answered and the queue empty,
 * or nothing more to wait for. */
static bool
drained(struct reset_ctx *rc, int64_t now)
{
	struct cp *cp = &rc->br->cps[rc->cp];
	struct txq_stats qs = {0};
	if (!cp_registered(cp) || cp->generation != rc->generation)
		return true;
	if (rpc_pending(cp->rpc) == 0 &&
	    (txq_stats(rc->br->txq, cp->conf->id, sg_time_wall_ms(), &qs) < 0 || qs.depth == 0))
		return true;
	if (now < rc->drain_until)
		return false;
	sg_warn("%s: soft reset: %zu CALL(s) unanswered, %llu queued after %d s; closing, "
	        "they follow the new BootNotification",
	        cp->conf->id, rpc_pending(cp->rpc), (unsigned long long)qs.depth,
	        RESET_DRAIN_MS / 1000);
	return true;
}

static void
on_drain_timer(lws_sorted_usec_list_t *sul)
{
	drain(lws_container_of(sul, struct reset_ctx, sul));
}

/* The transactions are stopped (or could not be confirmed): close, a soft reset
 * once drained. Takes rc. */
static void
drain(struct reset_ctx *rc)
{
	draining_remove(rc);
	if (rc->br->stopping) {
		free(rc);
		return;
	}
	if (!rc->hard && !drained(rc, bridge_now())) {
		rc->next = draining;
		draining = rc;
		lws_sul_schedule(rc->br->ctx, 0, &rc->sul, on_drain_timer,
		                 (lws_usec_t)RESET_DRAIN_POLL_MS * LWS_US_PER_MS);
		return;
	}
	close_for_reset(rc);
}

static void
on_reset_done(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct reset_ctx *rc = ud;
	struct cp *cp = &rc->br->cps[rc->cp];
	if (status == -ECANCELED) {
		free(rc);
		return;
	}
	if (status == 0) {
		const struct sg_msg_cp_reset_done *d = reply;
		sg_info("%s: %lld transaction(s) stopped for the reset", cp->conf->id,
		        (long long)d->stopped);
	} else if (!rc->hard &&
	           rc->attempt <= sg_keys_get_int(rc->br->keys, cp->conf->id, "ResetRetries")) {
		/* ResetRetries: the connector service did not confirm; ask again. */
		sg_warn("%s: no confirmation of the reset's transaction stops (%s), retrying",
		        cp->conf->id, strerror(-status));
		request_reset(rc->br, rc);
		return;
	} else {
		sg_warn("%s: resetting without a confirmation of the transaction stops",
		        cp->conf->id);
	}
	rc->drain_until = bridge_now() + RESET_DRAIN_MS;
	drain(rc);
}

static void
request_reset(struct bridge *br, struct reset_ctx *rc)
{
	struct cp *cp = &br->cps[rc->cp];
	struct sg_msg_cp_reset req = {0};
	snprintf(req.type, sizeof(req.type), "%s", rc->hard ? "Hard" : "Soft");
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	rc->attempt++;
	if (sg_bus_request(br->svc.bus, SG_MSG_cp_reset, &req, &a,
	                   rc->hard ? RESET_HARD_TIMEOUT_MS : RESET_SOFT_TIMEOUT_MS, on_reset_done,
	                   rc) < 0) {
		rc->drain_until = bridge_now() + RESET_DRAIN_MS;
		drain(rc);
	}
}

static void
reset(struct cp *cp, const char *unique_id, json_t *payload)
{
	struct bridge *br = cp->br;
	const char *type = json_string_value(json_object_get(payload, "type"));
	/* Under way until the connection is gone: a Reset that came after the first
	 * had finished but before it closed the connection would reboot twice. */
	if (cp->resetting || cp->close_after_flush || cp->closing) {
		rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", "Rejected"));
		return;
	}
	struct reset_ctx *rc = calloc(1, sizeof(*rc));
	if (!rc) {
		rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", "Rejected"));
		return;
	}
	rc->br = br;
	rc->cp = cp->index;
	rc->hard = type && strcmp(type, "Hard") == 0;
	rc->generation = cp->generation;
	cp->resetting = true;
	rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", "Accepted"));
	sg_notice("%s: %s reset requested by the Central System", cp->conf->id,
	          rc->hard ? "hard" : "soft");
	if (!route_service_online(br, "connector")) {
		rc->drain_until = bridge_now() + RESET_DRAIN_MS;
		drain(rc);
		return;
	}
	request_reset(br, rc);
}

/* ---- TriggerMessage ------------------------------------------------------------ */

static void
publish_trigger(struct cp *cp, const char *message, int64_t connector_id)
{
	struct sg_msg_ocpp_trigger t = {.connector_id = connector_id};
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "%s", message);
	sg_bus_publish(cp->br->svc.bus, SG_MSG_ocpp_trigger, &t, &a);
}

static void
trigger(struct cp *cp, const char *unique_id, json_t *payload)
{
	const char *msg = json_string_value(json_object_get(payload, "requestedMessage"));
	json_t *cid = json_object_get(payload, "connectorId");
	/* -1: none given. The schema allows any integer: one below 0 names no connector. */
	int64_t conn = json_is_integer(cid) ? json_integer_value(cid) : -1;
	bool conn_ok = cid ? conn >= 0 && conn <= cp->conf->n_connectors : true;
	const char *owner = NULL;
	if (!strcmp(msg, "MeterValues"))
		owner = "meter";
	else if (!strcmp(msg, "DiagnosticsStatusNotification") ||
	         !strcmp(msg, "FirmwareStatusNotification"))
		owner = "maintenance";

	bool ok = conn_ok && (!owner || route_service_online(cp->br, owner));
	/* Accepted goes out before the triggered message. */
	rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", ok ? "Accepted" : "Rejected"));
	if (!ok)
		return;
	if (owner)
		publish_trigger(cp, msg, conn);
	else
		cp_trigger(cp, msg, (int)conn);
}

/* ---- DataTransfer ------------------------------------------------------------------ */

/* vendorId and messageId are CiStrings: OCPP compares them without regard to case. */
static struct vendor *
find_vendor(struct bridge *br, const char *id)
{
	for (struct vendor *v = br->vendors; v; v = v->next)
		if (strcasecmp(v->id, id) == 0)
			return v;
	return NULL;
}

static bool
lists(const char *csl, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = csl; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncasecmp(p, item, n) == 0)
			return true;
		p += l;
		p += *p == ',';
	}
	return false;
}

struct transfer_ctx {
	struct bridge *br;
	int cp;
	uint32_t generation;
	char unique_id[RPC_ID_MAX + 1];
};

static void
on_transfer_done(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct transfer_ctx *tc = ud;
	struct cp *cp = &tc->br->cps[tc->cp];
	const struct sg_msg_ocpp_result *r = reply;
	if (status == -ECANCELED || cp->generation != tc->generation || cp->link != LINK_OPEN) {
		free(tc);
		return;
	}
	if (status < 0 || r->error[0] || !r->payload)
		rpc_reply_error(cp->rpc, tc->unique_id, OCPP_ERROR_INTERNAL_ERROR,
		                "the vendor's service did not answer");
	else
		rpc_reply(cp->rpc, tc->unique_id, json_incref(r->payload));
	free(tc);
}

static void
data_transfer(struct cp *cp, const char *unique_id, json_t *payload)
{
	struct bridge *br = cp->br;
	const char *vendor = json_string_value(json_object_get(payload, "vendorId"));
	const char *message = json_string_value(json_object_get(payload, "messageId"));
	struct vendor *v = find_vendor(br, vendor);
	if (!v) {
		rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", "UnknownVendorId"));
		return;
	}
	if (v->message_ids[0] && (!message || !lists(v->message_ids, message))) {
		rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", "UnknownMessageId"));
		return;
	}
	if (!route_service_online(br, v->svc)) {
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_INTERNAL_ERROR,
		                "the vendor's service is not running");
		return;
	}
	struct transfer_ctx *tc = calloc(1, sizeof(*tc));
	struct sg_msg_ocpp_datatransfer dt = {.payload = payload};
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "%s", v->id); /* the topic the service reads */
	if (tc) {
		tc->br = br;
		tc->cp = cp->index;
		tc->generation = cp->generation;
		snprintf(tc->unique_id, sizeof(tc->unique_id), "%s", unique_id);
	}
	if (!tc || sg_bus_request(br->svc.bus, SG_MSG_ocpp_datatransfer, &dt, &a,
	                          BRIDGE_OWNER_TIMEOUT_MS, on_transfer_done, tc) < 0) {
		free(tc);
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_INTERNAL_ERROR, NULL);
	}
}

static void
on_vendor(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct bridge *br = ud;
	const struct sg_msg_ocpp_vendor *m = in->msg;
	struct vendor *v = find_vendor(br, in->args->name);
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return;
		snprintf(v->id, sizeof(v->id), "%s", in->args->name);
		v->next = br->vendors;
		br->vendors = v;
	}
	snprintf(v->svc, sizeof(v->svc), "%s", m->svc);
	snprintf(v->message_ids, sizeof(v->message_ids), "%s", m->message_ids);
	sg_info("DataTransfer for vendor \"%s\" is answered by %s", v->id, v->svc);
}

/* ---- entry points --------------------------------------------------------------------- */

bool
remote_call(struct cp *cp, const char *unique_id, const char *action, json_t *payload)
{
	if (!strcmp(action, "Reset"))
		reset(cp, unique_id, payload);
	else if (!strcmp(action, "TriggerMessage"))
		trigger(cp, unique_id, payload);
	else if (!strcmp(action, "DataTransfer"))
		data_transfer(cp, unique_id, payload);
	else
		return false;
	return true;
}

int
remote_init(struct bridge *br)
{
	return sg_bus_subscribe(br->svc.bus, SG_MSG_ocpp_vendor, on_vendor, br);
}

void
remote_fini(struct bridge *br)
{
	/* after lws_context_destroy(): their timers are gone with the context */
	while (draining) {
		struct reset_ctx *rc = draining;
		draining = rc->next;
		free(rc);
	}
	while (br->vendors) {
		struct vendor *v = br->vendors;
		br->vendors = v->next;
		free(v);
	}
}
