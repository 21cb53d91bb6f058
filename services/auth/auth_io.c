/* sitegate-auth's bus side. Each handler gathers what a decision needs, asks
 * auth.c, stores the outcome durably and then says so on the bus. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/time.h"

#include "auth.h"
#include "auth_io.h"
#include "auth_ocpp.h"
#include "auth_store.h"

/* Authorize.req: the bridge gives up after 30 s, but a driver is waiting at the
 * charge point; past this the offline rules decide. */
#define AUTH_CSMS_TIMEOUT_MS    15000
#define AUTH_CONTROL_TIMEOUT_MS 10000
#define AUTH_CONTROL_RETRY_MS   10000
#define AUTH_CONTROL_ATTEMPTS   6
#define AUTH_MAX_PENDING        256 /* Authorize.req waiting, across charge points */
#define AUTH_EARLY_MAX          8   /* tx results ahead of their tx_event, per charge point */
#define AUTH_EARLY_TTL_MS       120000
#define AUTH_RESV_RECHECK_MS    60000 /* expiries follow the wall clock at least this often */
#define AUTH_TX_KEEP_MS         (30LL * 24 * 3600 * 1000)

static const char *const owned_actions[] = {
    "ClearCache", "SendLocalList", "GetLocalListVersion", "ReserveNow", "CancelReservation",
};

/* A transaction followed from its tx_event until its StopTransaction.conf. */
struct auth_tx {
	struct auth_tx *next;
	struct auth_cp *cp;
	struct auth_store_tx s;
	bool control_done;
	int attempts;
	uint64_t retry_timer;
};

/* The last accepted decision on a connector, until a transaction uses it. */
struct auth_last {
	char id[AUTH_ID_MAX + 1];
	char parent[AUTH_ID_MAX + 1];
	bool parent_known;
	int64_t resv_id;
};

/* An ocpp_tx_result that came before the tx_event of its transaction. */
struct auth_early {
	int64_t tx_ref;
	char action[33];
	json_t *payload;
	bool dropped;
	int64_t at; /* monotonic ms; 0: free slot */
};

struct auth_cp {
	struct auth_svc *a;
	int index;
	const struct sg_cp_conf *conf;
	struct auth_list list;
	struct auth_cache cache;
	struct auth_resvs resvs;
	enum auth_conn_status conns[SG_MAX_CONNECTORS + 1];
	double energy[SG_MAX_CONNECTORS + 1];
	bool energy_known[SG_MAX_CONNECTORS + 1];
	int state_online; /* from cp_state: -1 not seen yet, 0, 1 */
	struct auth_tx *txs;
	struct auth_last last_start[SG_MAX_CONNECTORS + 1];
	char last_stop[SG_MAX_CONNECTORS + 1][AUTH_ID_MAX + 1];
	struct auth_early early[AUTH_EARLY_MAX];
};

struct auth_svc {
	struct sg_service *svc;
	struct auth_store *store;
	struct sg_keys *keys;
	struct auth_cp *cps;
	int n_cps;
	int n_pending;
	uint64_t resv_timer;
};

/* An auth_request waiting for the Central System. Owned by the bus request
 * it waits on: freed in its callback, also when the bus is freed first. */
struct pending {
	struct auth_svc *a;
	int cpi;
	struct auth_flow flow;
	char asked[AUTH_ID_MAX + 1];
	char *response_topic;
	void *corr;
	int corr_len;
};

/* A conn_control request, owned like a pending one. */
struct control_req {
	struct auth_svc *a;
	int cpi;
	int64_t tx_ref;
};

/* ---- small helpers -------------------------------------------------------- */

static struct auth_cp *
find_cp(struct auth_svc *a, const char *id)
{
	for (int i = 0; i < a->n_cps; i++)
		if (strcmp(a->cps[i].conf->id, id) == 0)
			return &a->cps[i];
	return NULL;
}

static const char *
cp_id(const struct auth_cp *cp)
{
	return cp->conf->id;
}

static struct sg_bus *
bus_of(const struct auth_cp *cp)
{
	return cp->a->svc->bus;
}

static struct sg_topic_args
args_for(const struct auth_cp *cp, int conn, const char *name)
{
	struct sg_topic_args a = {.conn = conn};

	snprintf(a.cp, sizeof(a.cp), "%s", cp_id(cp));
	if (name)
		snprintf(a.name, sizeof(a.name), "%s", name);
	return a;
}

static struct auth_keys
keys_of(const struct auth_cp *cp)
{
	struct sg_keys *k = cp->a->keys;
	const char *id = cp_id(cp);

	return (struct auth_keys){
	    .list_enabled = sg_keys_get_bool(k, id, "LocalAuthListEnabled"),
	    .cache_enabled = sg_keys_get_bool(k, id, "AuthorizationCacheEnabled"),
	    .pre_authorize = sg_keys_get_bool(k, id, "LocalPreAuthorize"),
	    .authorize_offline = sg_keys_get_bool(k, id, "LocalAuthorizeOffline"),
	    .allow_unknown_offline = sg_keys_get_bool(k, id, "AllowOfflineTxForUnknownId"),
	    .authorize_remote = sg_keys_get_bool(k, id, "AuthorizeRemoteTxRequests"),
	    .stop_on_invalid = sg_keys_get_bool(k, id, "StopTransactionOnInvalidId"),
	    .zero_supported = sg_keys_get_bool(k, id, "ReserveConnectorZeroSupported"),
	    .max_energy_wh = sg_keys_get_int(k, id, "MaxEnergyOnInvalidId"),
	};
}

/* Without the bridge's cp_state the Central System is asked every time: the
 * bridge answers Offline at once when it is, and the offline rules decide. */
static bool
online(const struct auth_cp *cp)
{
	return cp->state_online != 0;
}

static struct auth_ctx
ctx_of(struct auth_cp *cp, const struct auth_keys *keys, int64_t now)
{
	return (struct auth_ctx){
	    .keys = keys,
	    .list = &cp->list,
	    .cache = &cp->cache,
	    .resvs = &cp->resvs,
	    .conns = cp->conns,
	    .n_conns = cp->conf->n_connectors,
	    .online = online(cp),
	    .now = now,
	};
}

static struct auth_site
site_of(const struct auth_cp *cp, const struct auth_keys *keys, int64_t now)
{
	return (struct auth_site){.conns = cp->conns,
	                          .n = cp->conf->n_connectors,
	                          .zero_supported = keys->zero_supported,
	                          .now = now};
}

static struct auth_tx *
find_tx(struct auth_cp *cp, int64_t tx_ref)
{
	for (struct auth_tx *t = cp->txs; t; t = t->next)
		if (t->s.tx_ref == tx_ref)
			return t;
	return NULL;
}

/* The transaction running on a connector, newest first. */
static struct auth_tx *
running_tx(struct auth_cp *cp, int conn)
{
	struct auth_tx *best = NULL;

	for (struct auth_tx *t = cp->txs; t; t = t->next)
		if (t->s.conn == conn && !t->s.stopped &&
		    (!best || t->s.started >= best->s.started))
			best = t;
	return best;
}

static void
save_tx(struct auth_tx *tx)
{
	auth_store_tx_put(tx->cp->a->store, cp_id(tx->cp), &tx->s);
}

static void
forget_tx(struct auth_cp *cp, struct auth_tx *tx)
{
	struct auth_tx **pp = &cp->txs;

	while (*pp && *pp != tx)
		pp = &(*pp)->next;
	if (*pp)
		*pp = tx->next;
	sg_loop_timer_del(cp->a->svc->loop, tx->retry_timer);
	auth_store_tx_del(cp->a->store, cp_id(cp), tx->s.tx_ref);
	free(tx);
}

/* Stores an IdTagInfo the Central System gave for id in the cache, unless
 * the cache is off or the local list holds id (OCPP 1.6, 3.5.3). */
static void
learn(struct auth_cp *cp, const char *id, const struct auth_info *info)
{
	struct auth_keys keys = keys_of(cp);
	char evicted[AUTH_ID_MAX + 1];
	int64_t now = sg_time_wall_ms();

	if (!keys.cache_enabled || !auth_id_valid(id) || auth_list_get(&cp->list, id))
		return;
	if (auth_cache_learn(&cp->cache, id, info, now, evicted) < 0) {
		sg_err("%s: out of memory caching idTag \"%s\"; it is asked again next time",
		       cp_id(cp), id);
		return;
	}
	if (evicted[0])
		sg_debug("%s: cache full, idTag \"%s\" evicted", cp_id(cp), evicted);
	auth_store_cache_put(cp->a->store, cp_id(cp), id, info, now, evicted);
}

/* ---- reservations ----------------------------------------------------------- */

static void
publish_resv(struct auth_cp *cp, int conn)
{
	const struct auth_resv *r = auth_resv_on(&cp->resvs, conn, sg_time_wall_ms());
	struct sg_msg_reservation m = {0};
	struct sg_topic_args args = args_for(cp, conn, NULL);

	if (r) {
		m.reservation_id = r->id;
		snprintf(m.id_tag, sizeof(m.id_tag), "%s", r->id_tag);
		snprintf(m.parent_id_tag, sizeof(m.parent_id_tag), "%s", r->parent);
		m.expiry = r->expiry;
	}
	if (sg_bus_publish(bus_of(cp), SG_MSG_reservation, &m, &args) < 0)
		sg_warn("%s/%d: cannot publish the reservation; it shows after the next change",
		        cp_id(cp), conn);
}

static int64_t
resv_delay(struct auth_svc *a)
{
	int64_t next = 0, now = sg_time_wall_ms();

	for (int i = 0; i < a->n_cps; i++) {
		int64_t e = auth_resv_next_expiry(&a->cps[i].resvs);

		if (e && (next == 0 || e < next))
			next = e;
	}
	if (next == 0)
		return -1;
	if (next - now > AUTH_RESV_RECHECK_MS)
		return AUTH_RESV_RECHECK_MS;
	return next > now ? next - now : 0;
}

static void
expire_resvs(struct auth_cp *cp, int64_t now)
{
	struct auth_resv r;

	while (auth_resv_pop_expired(&cp->resvs, now, &r)) {
		sg_info("%s/%d: reservation %" PRId64 " for \"%s\" expired", cp_id(cp), r.conn,
		        r.id, r.id_tag);
		auth_store_resv_del(cp->a->store, cp_id(cp), r.id);
		publish_resv(cp, r.conn);
	}
}

static int64_t
on_resv_timer(struct sg_loop *loop, void *ud)
{
	struct auth_svc *a = ud;
	int64_t now = sg_time_wall_ms(), delay;

	for (int i = 0; i < a->n_cps; i++)
		expire_resvs(&a->cps[i], now);
	delay = resv_delay(a);
	if (delay < 0)
		a->resv_timer = 0;
	return delay;
}

static void
arm_resv_timer(struct auth_svc *a)
{
	int64_t delay = resv_delay(a);

	sg_loop_timer_del(a->svc->loop, a->resv_timer);
	a->resv_timer = delay < 0 ? 0 : sg_loop_timer_add(a->svc->loop, delay, on_resv_timer, a);
}

static void
end_resv(struct auth_cp *cp, int64_t id, const char *why)
{
	struct auth_resv r;

	if (!auth_resv_remove(&cp->resvs, id, &r))
		return;
	sg_info("%s/%d: reservation %" PRId64 " for \"%s\" %s", cp_id(cp), r.conn, r.id, r.id_tag,
	        why);
	auth_store_resv_del(cp->a->store, cp_id(cp), id);
	publish_resv(cp, r.conn);
	arm_resv_timer(cp->a);
}

/* ---- auth_request ------------------------------------------------------------ */

static void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	free(p->response_topic);
	free(p->corr);
	free(p);
}

static void on_authorize_reply(struct sg_bus *bus, int status, const void *reply, void *ud);

/* Sends Authorize.req for id. Returns 0 (the answer comes later) or a negative errno. */
static int
ask(struct pending *p, const char *id)
{
	struct auth_svc *a = p->a;
	struct auth_cp *cp = &a->cps[p->cpi];
	struct sg_topic_args args = args_for(cp, 0, "Authorize");
	struct sg_msg_ocpp_send m = {.payload = json_pack("{s:s}", "idTag", id)};
	int rc;

	if (m.payload == NULL)
		return -ENOMEM;
	if (a->n_pending >= AUTH_MAX_PENDING) {
		sg_warn("%s: %d Authorize requests waiting already; \"%s\" is decided offline",
		        cp_id(cp), a->n_pending, id);
		rc = -EBUSY;
	} else {
		rc = sg_bus_request(a->svc->bus, SG_MSG_ocpp_send, &m, &args, AUTH_CSMS_TIMEOUT_MS,
		                    on_authorize_reply, p);
	}
	json_decref(m.payload);
	if (rc == 0) {
		a->n_pending++;
		snprintf(p->asked, sizeof(p->asked), "%s", id);
	}
	return rc;
}

/* The decision is made: say it, and remember what a transaction may need. */
static void
decided(struct auth_cp *cp, const struct auth_flow *f, const struct auth_flow_out *out,
        struct sg_msg_auth_result *res)
{
	static const char *const purposes[] = {"start", "remote", "stop"};
	const struct auth_tag *cached = auth_cache_peek(&cp->cache, f->id);

	memset(res, 0, sizeof(*res));
	snprintf(res->status, sizeof(res->status), "%s", auth_status_name(out->status));
	snprintf(res->parent_id_tag, sizeof(res->parent_id_tag), "%s", out->parent);
	snprintf(res->source, sizeof(res->source), "%s", auth_source_name(out->src));
	res->reservation_id = out->resv_id;
	res->offline = out->offline;
	if (out->resv_id)
		sg_info("%s/%d: %s \"%s\": %s (%s), reservation %" PRId64, cp_id(cp), f->conn,
		        purposes[f->purpose], f->id, res->status, res->source, out->resv_id);
	else
		sg_info("%s/%d: %s \"%s\": %s (%s%s)", cp_id(cp), f->conn, purposes[f->purpose],
		        f->id, res->status, res->source, out->offline ? ", offline" : "");

	if (out->status == AUTH_ACCEPTED && f->purpose == AUTH_STOP) {
		snprintf(cp->last_stop[f->conn], sizeof(cp->last_stop[0]), "%s", f->id);
	} else if (out->status == AUTH_ACCEPTED) {
		struct auth_last *l = &cp->last_start[f->conn];

		snprintf(l->id, sizeof(l->id), "%s", f->id);
		snprintf(l->parent, sizeof(l->parent), "%s", out->parent);
		l->parent_known = out->src == AUTH_SRC_LIST || out->src == AUTH_SRC_CACHE ||
		                  out->src == AUTH_SRC_CSMS;
		l->resv_id = out->resv_id;
	}
	/* The lookup marked a cache hit as used: keep the order across restarts
	 * (an answer of the Central System was stored with its time already). */
	if (cached && out->src != AUTH_SRC_CSMS &&
	    sg_keys_get_bool(cp->a->keys, cp_id(cp), "AuthorizationCacheEnabled"))
		auth_store_cache_touch(cp->a->store, cp_id(cp), cached->id, cached->used);
}

static void
reply_result(struct auth_svc *a, const char *response_topic, const void *corr, int corr_len,
             const struct sg_msg_auth_result *res)
{
	struct sg_bus_in in = {
	    .id = SG_MSG_auth_request,
	    .response_topic = response_topic,
	    .correlation = corr,
	    .correlation_len = corr_len,
	};

	if (response_topic)
		sg_bus_reply(a->svc->bus, &in, res);
}

/* Drives a pending request until it waits for an answer or is decided. */
static void
step(struct pending *p, struct auth_flow_out *out)
{
	struct auth_cp *cp = &p->a->cps[p->cpi];
	struct sg_msg_auth_result res;

	while (!out->done) {
		struct auth_keys keys;
		struct auth_ctx ctx;

		if (ask(p, out->ask) == 0)
			return;
		keys = keys_of(cp);
		ctx = ctx_of(cp, &keys, sg_time_wall_ms());
		auth_flow_answer(&p->flow, &ctx, NULL, out);
	}
	decided(cp, &p->flow, out, &res);
	reply_result(p->a, p->response_topic, p->corr, p->corr_len, &res);
	pending_free(p);
}

static void
on_authorize_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct pending *p = ud;
	struct auth_cp *cp;
	const struct sg_msg_ocpp_result *r = reply;
	struct auth_info info;
	struct auth_flow_out out;
	struct auth_keys keys;
	struct auth_ctx ctx;
	bool have = false;
	char why[128];

	if (status == -ECANCELED) { /* the bus is going away, and maybe the service */
		pending_free(p);
		return;
	}
	p->a->n_pending--;
	cp = &p->a->cps[p->cpi];
	if (status == 0 && r->error[0] == '\0') {
		if (auth_ocpp_idtaginfo(json_object_get(r->payload, "idTagInfo"), &info, why,
		                        sizeof(why)) == 0) {
			have = true;
			learn(cp, p->asked, &info);
		} else {
			sg_warn("%s: Authorize.conf for \"%s\" is unusable (%s); the offline rules "
			        "decide",
			        cp_id(cp), p->asked, why);
		}
	} else {
		sg_info("%s: Authorize for \"%s\" not answered (%s); the offline rules decide",
		        cp_id(cp), p->asked, status < 0 ? strerror(-status) : r->error);
	}
	keys = keys_of(cp);
	ctx = ctx_of(cp, &keys, sg_time_wall_ms());
	auth_flow_answer(&p->flow, &ctx, have ? &info : NULL, &out);
	step(p, &out);
}

static void
on_auth_request(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_svc *a = ud;
	const struct sg_msg_auth_request *req = in->msg;
	struct auth_cp *cp = find_cp(a, in->args->cp);
	int conn = in->args->conn;
	enum auth_purpose purpose;
	const char *tx_id = req->tx_id_tag, *tx_parent = NULL;
	struct auth_flow_out out;
	struct auth_keys keys;
	struct auth_ctx ctx;
	struct pending *p;

	if (cp == NULL || conn < 1 || conn > cp->conf->n_connectors ||
	    auth_purpose_parse(req->purpose, &purpose) < 0 || !auth_id_valid(req->id_tag)) {
		struct sg_msg_auth_result res = {.status = "Invalid"};

		sg_warn("%s/%d: auth_request (purpose \"%s\") refused: unknown charge point or "
		        "connector, unknown purpose, or not a valid idTag",
		        in->args->cp, conn, req->purpose);
		sg_bus_reply(bus, in, &res);
		return;
	}
	if (purpose == AUTH_STOP) {
		struct auth_tx *tx = running_tx(cp, conn);

		if (tx && tx_id[0] == '\0')
			tx_id = tx->s.id_tag;
		if (tx && tx->s.parent_known && auth_id_equal(tx->s.id_tag, tx_id))
			tx_parent = tx->s.parent;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL ||
	    (in->response_topic && !(p->response_topic = strdup(in->response_topic))) ||
	    (in->correlation_len > 0 && !(p->corr = malloc((size_t)in->correlation_len)))) {
		struct sg_msg_auth_result res = {.status = "Invalid"};

		sg_err("%s/%d: out of memory deciding for \"%s\"; refused", cp_id(cp), conn,
		       req->id_tag);
		pending_free(p);
		sg_bus_reply(bus, in, &res);
		return;
	}
	if (in->correlation_len > 0) {
		memcpy(p->corr, in->correlation, (size_t)in->correlation_len);
		p->corr_len = in->correlation_len;
	}
	p->a = a;
	p->cpi = cp->index;
	keys = keys_of(cp);
	ctx = ctx_of(cp, &keys, sg_time_wall_ms());
	auth_flow_begin(&p->flow, &ctx, purpose, conn, req->id_tag, tx_id, tx_parent, &out);
	step(p, &out);
}

/* ---- transactions --------------------------------------------------------- */

static void send_control(struct auth_cp *cp, struct auth_tx *tx);

static int64_t
on_control_retry(struct sg_loop *loop, void *ud)
{
	struct auth_tx *tx = ud;

	tx->retry_timer = 0;
	if (!tx->s.stopped && !tx->control_done)
		send_control(tx->cp, tx);
	return -1;
}

static void
on_control_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct control_req *c = ud;
	const struct sg_msg_conn_control_result *r = reply;
	struct auth_cp *cp;
	struct auth_tx *tx;

	if (status == -ECANCELED) {
		free(c);
		return;
	}
	cp = &c->a->cps[c->cpi];
	tx = find_tx(cp, c->tx_ref);
	free(c);
	if (tx == NULL || tx->s.stopped)
		return;
	if (status == 0 && r->ok) {
		tx->control_done = true;
		sg_info("%s/%d: transaction %" PRId64 " %s", cp_id(cp), tx->s.conn, tx->s.tx_ref,
		        tx->s.action == AUTH_TX_STOP ? "stopping (DeAuthorized)" : "suspended");
		return;
	}
	if (tx->attempts >= AUTH_CONTROL_ATTEMPTS) {
		sg_err("%s/%d: the connector did not %s transaction %" PRId64 " after %d attempts "
		       "(%s); giving up",
		       cp_id(cp), tx->s.conn, auth_tx_action_name(tx->s.action), tx->s.tx_ref,
		       tx->attempts, status < 0 ? strerror(-status) : r->error);
		return;
	}
	sg_warn("%s/%d: the connector did not %s transaction %" PRId64 " (%s); retrying in %d s",
	        cp_id(cp), tx->s.conn, auth_tx_action_name(tx->s.action), tx->s.tx_ref,
	        status < 0 ? strerror(-status) : r->error, AUTH_CONTROL_RETRY_MS / 1000);
	tx->retry_timer =
	    sg_loop_timer_add(cp->a->svc->loop, AUTH_CONTROL_RETRY_MS, on_control_retry, tx);
}

static void
send_control(struct auth_cp *cp, struct auth_tx *tx)
{
	struct sg_msg_conn_control m = {.tx_ref = tx->s.tx_ref};
	struct sg_topic_args args = args_for(cp, tx->s.conn, NULL);
	struct control_req *c = calloc(1, sizeof(*c));

	snprintf(m.action, sizeof(m.action), "%s",
	         tx->s.action == AUTH_TX_STOP ? "stop" : "suspend");
	if (tx->s.action == AUTH_TX_STOP)
		snprintf(m.reason, sizeof(m.reason), "DeAuthorized");
	tx->attempts++;
	if (c) {
		*c = (struct control_req){.a = cp->a, .cpi = cp->index, .tx_ref = tx->s.tx_ref};
		if (sg_bus_request(bus_of(cp), SG_MSG_conn_control, &m, &args,
		                   AUTH_CONTROL_TIMEOUT_MS, on_control_reply, c) == 0)
			return;
		free(c);
	}
	sg_warn("%s/%d: cannot ask the connector to %s transaction %" PRId64 "; retrying in %d s",
	        cp_id(cp), tx->s.conn, m.action, tx->s.tx_ref, AUTH_CONTROL_RETRY_MS / 1000);
	tx->retry_timer =
	    sg_loop_timer_add(cp->a->svc->loop, AUTH_CONTROL_RETRY_MS, on_control_retry, tx);
}

/* A transaction whose idTag the Central System refused: decide, and act once
 * MaxEnergyOnInvalidId has flowed. Called again on every meter reading. */
static void
check_invalid_tx(struct auth_cp *cp, struct auth_tx *tx)
{
	struct auth_keys keys = keys_of(cp);
	int c = tx->s.conn;
	bool known = tx->s.start_known && cp->energy_known[c];
	double used = known ? cp->energy[c] - tx->s.start_wh : 0;
	enum auth_tx_action act = auth_decide_invalid_tx(&keys, known, used);

	if (tx->s.stopped)
		return;
	if (act == AUTH_TX_WATCH) {
		if (tx->s.action != AUTH_TX_WATCH) {
			tx->s.action = AUTH_TX_WATCH;
			save_tx(tx);
			sg_notice("%s/%d: transaction %" PRId64 " may draw up to %" PRId64
			          " Wh (MaxEnergyOnInvalidId) before it %s%s",
			          cp_id(cp), c, tx->s.tx_ref, keys.max_energy_wh,
			          keys.stop_on_invalid ? "stops" : "is suspended",
			          known ? "" : "; waiting for meter readings");
		}
		return;
	}
	tx->s.action = act;
	save_tx(tx);
	sg_notice("%s/%d: transaction %" PRId64 " of \"%s\": %s (%.0f Wh delivered)", cp_id(cp), c,
	          tx->s.tx_ref, tx->s.id_tag,
	          act == AUTH_TX_STOP ? "stopping, StopTransactionOnInvalidId" : "suspending",
	          used);
	tx->attempts = 0;
	send_control(cp, tx);
}

static void
handle_tx_result(struct auth_cp *cp, struct auth_tx *tx, const char *action, const json_t *payload,
                 bool dropped)
{
	const json_t *iti = json_object_get(payload, "idTagInfo");
	struct auth_info info;
	char why[128];
	bool have = !dropped && iti && auth_ocpp_idtaginfo(iti, &info, why, sizeof(why)) == 0;

	if (strcmp(action, "StartTransaction") == 0) {
		enum auth_status st;

		if (!have)
			return;
		learn(cp, tx->s.id_tag, &info);
		tx->s.parent_known = true;
		snprintf(tx->s.parent, sizeof(tx->s.parent), "%s", info.parent);
		save_tx(tx);
		st = auth_info_effective(&info, sg_time_wall_ms());
		if (st == AUTH_ACCEPTED || tx->s.action != AUTH_TX_NONE)
			return;
		sg_notice("%s/%d: StartTransaction.conf says \"%s\" is %s for transaction %" PRId64,
		          cp_id(cp), tx->s.conn, tx->s.id_tag, auth_status_name(st), tx->s.tx_ref);
		check_invalid_tx(cp, tx);
	} else if (strcmp(action, "StopTransaction") == 0) {
		char *stop_tag = cp->last_stop[tx->s.conn];

		if (have)
			learn(cp, stop_tag[0] ? stop_tag : tx->s.id_tag, &info);
		stop_tag[0] = '\0';
		forget_tx(cp, tx);
	}
}

static void
early_clear(struct auth_early *e)
{
	json_decref(e->payload);
	memset(e, 0, sizeof(*e));
}

static void
on_tx_result(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_cp *cp = find_cp(ud, in->args->cp);
	const struct sg_msg_ocpp_tx_result *r = in->msg;
	struct auth_tx *tx;
	struct auth_early *slot = NULL;
	int64_t now = sg_time_mono_ms();

	if (cp == NULL || (strcmp(r->action, "StartTransaction") != 0 &&
	                   strcmp(r->action, "StopTransaction") != 0))
		return;
	tx = find_tx(cp, r->tx_ref);
	if (tx) {
		handle_tx_result(cp, tx, r->action, r->payload, r->dropped);
		return;
	}
	/* Before its tx_event (another publisher): keep it a little while. */
	for (int i = 0; i < AUTH_EARLY_MAX; i++) {
		struct auth_early *e = &cp->early[i];

		if (e->at && now - e->at > AUTH_EARLY_TTL_MS)
			early_clear(e);
		if (!slot && !e->at)
			slot = e;
	}
	if (slot == NULL) {
		sg_warn("%s: %s result of unknown transaction %" PRId64 " dropped", cp_id(cp),
		        r->action, r->tx_ref);
		return;
	}
	slot->tx_ref = r->tx_ref;
	snprintf(slot->action, sizeof(slot->action), "%s", r->action);
	slot->payload = r->payload ? json_incref(r->payload) : NULL;
	slot->dropped = r->dropped;
	slot->at = now;
}

static void
on_tx_event(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_cp *cp = find_cp(ud, in->args->cp);
	const struct sg_msg_tx_event *ev = in->msg;
	int conn = in->args->conn;
	struct auth_tx *tx;

	if (cp == NULL || conn < 1 || conn > cp->conf->n_connectors)
		return;
	tx = find_tx(cp, ev->tx_ref);
	if (strcmp(ev->event, "stopped") == 0) {
		if (tx && !tx->s.stopped) {
			tx->s.stopped = true;
			sg_loop_timer_del(cp->a->svc->loop, tx->retry_timer);
			tx->retry_timer = 0;
			save_tx(tx);
		}
		return;
	}
	if (strcmp(ev->event, "started") != 0 || tx != NULL)
		return; /* unknown event, or a duplicate */

	tx = calloc(1, sizeof(*tx));
	if (tx == NULL) {
		sg_err("%s/%d: out of memory following transaction %" PRId64, cp_id(cp), conn,
		       ev->tx_ref);
		return;
	}
	tx->cp = cp;
	tx->s.tx_ref = ev->tx_ref;
	tx->s.conn = conn;
	tx->s.started = ev->ts ? ev->ts : sg_time_wall_ms();
	snprintf(tx->s.id_tag, sizeof(tx->s.id_tag), "%s", ev->id_tag);
	/* meterStart; 0 counts as not given (the field is optional) */
	if (ev->meter_wh > 0) {
		tx->s.start_wh = ev->meter_wh;
		tx->s.start_known = true;
	} else if (cp->energy_known[conn]) {
		tx->s.start_wh = cp->energy[conn];
		tx->s.start_known = true;
	}

	struct auth_last *last = &cp->last_start[conn];
	int64_t rid = 0;

	if (auth_id_equal(last->id, ev->id_tag)) {
		tx->s.parent_known = last->parent_known;
		snprintf(tx->s.parent, sizeof(tx->s.parent), "%s", last->parent);
		rid = last->resv_id;
	}
	memset(last, 0, sizeof(*last));
	if (rid == 0) {
		struct auth_keys keys = keys_of(cp);
		struct auth_site site = site_of(cp, &keys, sg_time_wall_ms());

		if (auth_resv_start(&cp->resvs, &site, conn, ev->id_tag,
		                    tx->s.parent_known ? tx->s.parent : "",
		                    &rid) != AUTH_RESV_HOLDER)
			rid = 0;
	}
	tx->next = cp->txs;
	cp->txs = tx;
	save_tx(tx);
	if (rid && auth_resv_find(&cp->resvs, rid)) {
		char why[64];

		snprintf(why, sizeof(why), "used by transaction %" PRId64, tx->s.tx_ref);
		end_resv(cp, rid, why);
	}
	for (int i = 0; i < AUTH_EARLY_MAX; i++) {
		struct auth_early *e = &cp->early[i];

		if (e->at && e->tx_ref == tx->s.tx_ref) {
			struct auth_early copy = *e;

			memset(e, 0, sizeof(*e));
			tx = find_tx(cp, copy.tx_ref); /* a StopTransaction result frees it */
			if (tx)
				handle_tx_result(cp, tx, copy.action, copy.payload, copy.dropped);
			json_decref(copy.payload);
		}
	}
}

/* ---- state of the charge points, connectors and meters -------------------- */

static void
on_cp_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_cp *cp = find_cp(ud, in->args->cp);
	const struct sg_msg_cp_state *st = in->msg;
	int now_online;

	if (cp == NULL)
		return;
	now_online =
	    strcmp(st->connection, "connected") == 0 && strcmp(st->registration, "Accepted") == 0;
	if (now_online != cp->state_online)
		sg_info("%s: the Central System is %s", cp_id(cp),
		        now_online ? "reachable" : "not reachable: the offline rules apply");
	cp->state_online = now_online;
}

static void
on_conn_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_cp *cp = find_cp(ud, in->args->cp);
	const struct sg_msg_conn_state *st = in->msg;
	int conn = in->args->conn;

	if (cp == NULL || conn < 0 || conn > cp->conf->n_connectors)
		return;
	cp->conns[conn] = auth_conn_status_parse(st->status);
}

static void
on_meter_sample(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_cp *cp = find_cp(ud, in->args->cp);
	const struct sg_msg_meter_sample *s = in->msg;
	int conn = in->args->conn;

	if (cp == NULL || conn < 1 || conn > cp->conf->n_connectors)
		return;
	cp->energy[conn] = s->energy_wh;
	cp->energy_known[conn] = true;
	for (struct auth_tx *tx = cp->txs; tx; tx = tx->next) {
		if (tx->s.conn != conn || tx->s.stopped)
			continue;
		if (!tx->s.start_known) {
			tx->s.start_wh = s->energy_wh;
			tx->s.start_known = true;
			save_tx(tx);
		}
		if (tx->s.action == AUTH_TX_WATCH)
			check_invalid_tx(cp, tx);
	}
}

/* ---- Central System calls ----------------------------------------------------- */

static json_t *
status_json(const char *status)
{
	return json_pack("{s:s}", "status", status);
}

static json_t *
clear_cache(struct auth_cp *cp)
{
	struct auth_keys keys = keys_of(cp);

	if (!keys.cache_enabled) {
		sg_info("%s: ClearCache rejected: AuthorizationCacheEnabled is false", cp_id(cp));
		return status_json("Rejected");
	}
	if (auth_store_cache_clear(cp->a->store, cp_id(cp)) < 0)
		return status_json("Rejected");
	sg_info("%s: ClearCache: %zu entries removed", cp_id(cp), auth_cache_count(&cp->cache));
	auth_cache_clear(&cp->cache);
	return status_json("Accepted");
}

static json_t *
send_local_list(struct auth_cp *cp, const json_t *payload)
{
	struct sg_keys *k = cp->a->keys;
	struct auth_list_limits lim = {
	    .supported = true,
	    .max_entries = sg_keys_get_int(k, cp_id(cp), "LocalAuthListMaxLength"),
	    .max_send = sg_keys_get_int(k, cp_id(cp), "SendLocalListMaxLength"),
	};
	struct auth_list_update u;
	struct auth_list_prep prep;
	enum auth_update_status st = AUTH_UPDATE_FAILED;
	char why[160] = "";
	int rc = auth_ocpp_send_local_list(payload, (size_t)lim.max_send, &u, why, sizeof(why));

	if (rc == -E2BIG)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (SendLocalListMaxLength)");
	else if (rc == -ENOMEM)
		snprintf(why, sizeof(why), "out of memory");
	if (rc == 0)
		st = auth_list_check(&cp->list, &u, &lim, why, sizeof(why));
	if (st == AUTH_UPDATE_ACCEPTED) {
		if (auth_list_prepare(&cp->list, &u, &prep) < 0) {
			st = AUTH_UPDATE_FAILED;
			snprintf(why, sizeof(why), "out of memory");
		} else if (auth_store_list_update(cp->a->store, cp_id(cp), &u) < 0) {
			auth_list_prep_free(&prep);
			st = AUTH_UPDATE_FAILED;
			snprintf(why, sizeof(why), "not stored");
		} else {
			auth_list_commit(&cp->list, &u, &prep);
			/* Identifiers on the list are not cached (OCPP 1.6, 3.5.3). */
			for (size_t i = 0; i < u.n; i++)
				if (u.entries[i].has_info &&
				    auth_cache_forget(&cp->cache, u.entries[i].id))
					auth_store_cache_del(cp->a->store, cp_id(cp),
					                     u.entries[i].id);
		}
	}
	if (st == AUTH_UPDATE_ACCEPTED)
		sg_info("%s: SendLocalList %s to version %" PRId64
		        " (%zu entries sent): %zu entries",
		        cp_id(cp), u.full ? "Full" : "Differential", u.version, u.n,
		        auth_list_count(&cp->list));
	else
		sg_notice("%s: SendLocalList %s: %s", cp_id(cp), auth_update_status_name(st), why);
	auth_ocpp_update_free(&u);
	return status_json(auth_update_status_name(st));
}

static json_t *
reserve_now(struct auth_cp *cp, const json_t *payload)
{
	struct auth_keys keys = keys_of(cp);
	int64_t now = sg_time_wall_ms();
	struct auth_site site = site_of(cp, &keys, now);
	struct auth_resv r, old = {.conn = -1};
	const struct auth_resv *prev;
	enum auth_reserve_status st;
	char why[128];

	if (auth_ocpp_reserve_now(payload, &r, why, sizeof(why)) < 0) {
		sg_notice("%s: ReserveNow rejected: %s", cp_id(cp), why);
		return status_json("Rejected");
	}
	st = auth_resv_check(&cp->resvs, &r, &site);
	if (st == AUTH_RESERVE_ACCEPTED) {
		prev = auth_resv_find(&cp->resvs, r.id);
		if (prev)
			old = *prev;
		if (auth_store_resv_put(cp->a->store, cp_id(cp), &r) < 0) {
			st = AUTH_RESERVE_REJECTED;
		} else if (auth_resv_put(&cp->resvs, &r) < 0) {
			sg_err("%s: out of memory keeping reservation %" PRId64, cp_id(cp), r.id);
			auth_store_resv_del(cp->a->store, cp_id(cp), r.id);
			st = AUTH_RESERVE_REJECTED;
		}
	}
	sg_info("%s/%d: ReserveNow %" PRId64 " for \"%s\": %s", cp_id(cp), r.conn, r.id, r.id_tag,
	        auth_reserve_status_name(st));
	if (st == AUTH_RESERVE_ACCEPTED) {
		publish_resv(cp, r.conn);
		if (old.conn >= 0 && old.conn != r.conn)
			publish_resv(cp, old.conn);
		arm_resv_timer(cp->a);
	}
	return status_json(auth_reserve_status_name(st));
}

static json_t *
cancel_reservation(struct auth_cp *cp, const json_t *payload)
{
	int64_t id;
	char why[128];

	if (auth_ocpp_cancel_reservation(payload, &id, why, sizeof(why)) < 0 ||
	    !auth_resv_find(&cp->resvs, id)) {
		sg_info("%s: CancelReservation rejected: no such reservation", cp_id(cp));
		return status_json("Rejected");
	}
	end_resv(cp, id, "cancelled");
	return status_json("Accepted");
}

static void
on_call(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct auth_svc *a = ud;
	struct auth_cp *cp = find_cp(a, in->args->cp);
	const struct sg_msg_ocpp_call *call = in->msg;
	const char *action = in->args->name;
	struct sg_msg_ocpp_result res = {0};

	if (cp == NULL) {
		snprintf(res.error, sizeof(res.error), "GenericError");
		snprintf(res.description, sizeof(res.description), "no charge point \"%s\" here",
		         in->args->cp);
	} else if (strcmp(action, "ClearCache") == 0) {
		res.payload = clear_cache(cp);
	} else if (strcmp(action, "GetLocalListVersion") == 0) {
		res.payload =
		    json_pack("{s:I}", "listVersion", (json_int_t)auth_list_version(&cp->list));
	} else if (strcmp(action, "SendLocalList") == 0) {
		res.payload = send_local_list(cp, call->payload);
	} else if (strcmp(action, "ReserveNow") == 0) {
		res.payload = reserve_now(cp, call->payload);
	} else if (strcmp(action, "CancelReservation") == 0) {
		res.payload = cancel_reservation(cp, call->payload);
	} else {
		snprintf(res.error, sizeof(res.error), "NotSupported");
	}
	if (cp && !res.error[0] && res.payload == NULL) {
		snprintf(res.error, sizeof(res.error), "InternalError");
		snprintf(res.description, sizeof(res.description), "out of memory");
	}
	sg_bus_reply(bus, in, &res);
	json_decref(res.payload);
}

/* ---- life -------------------------------------------------------------------- */

static int
load_tx(const struct auth_store_tx *s, void *ud)
{
	struct auth_cp *cp = ud;
	struct auth_tx *tx = calloc(1, sizeof(*tx));

	if (tx == NULL)
		return -ENOMEM;
	tx->cp = cp;
	tx->s = *s;
	tx->next = cp->txs;
	cp->txs = tx;
	return 0;
}

static int
load_cp(struct auth_svc *a, struct auth_cp *cp)
{
	struct auth_store *st = a->store;
	int rc;

	rc = auth_store_load_list(st, cp_id(cp), &cp->list);
	if (rc == 0)
		rc = auth_store_load_cache(st, cp_id(cp), &cp->cache);
	if (rc == 0)
		rc = auth_store_load_resvs(st, cp_id(cp), &cp->resvs);
	if (rc == 0)
		rc = auth_store_load_txs(st, cp_id(cp), load_tx, cp);
	if (rc < 0)
		return rc;
	/* A transaction suspended or stopped before the restart: the connector
	 * has it; one still drawing its MaxEnergyOnInvalidId is followed on. */
	for (struct auth_tx *tx = cp->txs; tx; tx = tx->next)
		tx->control_done = tx->s.action == AUTH_TX_STOP || tx->s.action == AUTH_TX_SUSPEND;
	expire_resvs(cp, sg_time_wall_ms());
	for (int c = 0; c <= cp->conf->n_connectors; c++)
		publish_resv(cp, c);
	sg_info("%s: local list version %" PRId64 " with %zu entries, %zu cached idTags, %zu "
	        "reservations",
	        cp_id(cp), auth_list_version(&cp->list), auth_list_count(&cp->list),
	        auth_cache_count(&cp->cache), cp->resvs.n);
	return 0;
}

static int
subscribe_all(struct auth_svc *a)
{
	struct sg_bus *bus = a->svc->bus;
	int rc = 0;

	rc |= sg_bus_subscribe(bus, SG_MSG_auth_request, on_auth_request, a);
	rc |= sg_bus_subscribe(bus, SG_MSG_ocpp_tx_result, on_tx_result, a);
	rc |= sg_bus_subscribe(bus, SG_MSG_tx_event, on_tx_event, a);
	rc |= sg_bus_subscribe(bus, SG_MSG_conn_state, on_conn_state, a);
	/* cp_state and meter_sample: read where the broker's ACL lets auth read them
	 * (see docs/bus.md); without them Authorize.req tells online from offline
	 * and MaxEnergyOnInvalidId waits for readings. */
	rc |= sg_bus_subscribe(bus, SG_MSG_cp_state, on_cp_state, a);
	rc |= sg_bus_subscribe(bus, SG_MSG_meter_sample, on_meter_sample, a);
	for (size_t i = 0; i < sizeof(owned_actions) / sizeof(owned_actions[0]); i++) {
		struct sg_topic_args args = {0};
		struct sg_msg_ocpp_owner own = {.svc = "auth"};

		snprintf(args.name, sizeof(args.name), "%s", owned_actions[i]);
		rc |= sg_bus_subscribe_args(bus, SG_MSG_ocpp_call, &args, on_call, a);
		rc |= sg_bus_publish(bus, SG_MSG_ocpp_owner, &own, &args);
	}
	return rc < 0 ? -ENOMEM : 0;
}

int
auth_io_new(struct sg_service *svc, struct auth_svc **out)
{
	struct auth_svc *a = calloc(1, sizeof(*a));
	char path[512];
	int rc;

	*out = NULL;
	if (a == NULL)
		return -ENOMEM;
	a->svc = svc;
	rc = sg_service_state_path(svc, "auth.db", path, sizeof(path));
	if (rc < 0) {
		sg_err("state_dir \"%s\" is too long for the auth database", svc->conf.state_dir);
		goto fail;
	}
	rc = auth_store_open(path, &a->store);
	if (rc < 0)
		goto fail;
	auth_store_tx_prune(a->store, sg_time_wall_ms() - AUTH_TX_KEEP_MS);
	a->keys = sg_keys_new(svc, auth_store_db(a->store));
	if (a->keys == NULL) {
		rc = -EIO;
		goto fail;
	}
	a->cps = calloc((size_t)svc->conf.n_cps, sizeof(*a->cps));
	if (a->cps == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	a->n_cps = svc->conf.n_cps;
	for (int i = 0; i < a->n_cps; i++) {
		struct auth_cp *cp = &a->cps[i];

		cp->a = a;
		cp->index = i;
		cp->conf = &svc->conf.cps[i];
		cp->state_online = -1;
		auth_cache_init(&cp->cache, (size_t)svc->conf.auth.cache_max_entries);
	}
	for (int i = 0; i < a->n_cps; i++) {
		rc = load_cp(a, &a->cps[i]);
		if (rc < 0) {
			sg_err("%s: cannot load the authorization state: %s", a->cps[i].conf->id,
			       strerror(-rc));
			goto fail;
		}
	}
	rc = subscribe_all(a);
	if (rc < 0) {
		sg_err("cannot subscribe: %s", strerror(-rc));
		goto fail;
	}
	arm_resv_timer(a);
	*out = a;
	return 0;
fail:
	auth_io_free(a);
	return rc;
}

void
auth_io_free(struct auth_svc *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < a->n_cps; i++) {
		struct auth_cp *cp = &a->cps[i];

		while (cp->txs) {
			struct auth_tx *tx = cp->txs;

			cp->txs = tx->next;
			sg_loop_timer_del(a->svc->loop, tx->retry_timer);
			free(tx);
		}
		for (int e = 0; e < AUTH_EARLY_MAX; e++)
			early_clear(&cp->early[e]);
		auth_list_fini(&cp->list);
		auth_cache_fini(&cp->cache);
		auth_resvs_fini(&cp->resvs);
	}
	free(a->cps);
	sg_loop_timer_del(a->svc->loop, a->resv_timer);
	sg_keys_free(a->keys);
	auth_store_close(a->store);
	free(a);
}
