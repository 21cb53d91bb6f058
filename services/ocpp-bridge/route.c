/* The bridge's bus side: Central System calls go to the service that owns the
 * action (or are answered here: GetConfiguration, ChangeConfiguration), and
 * services' messages go to the Central System, transaction messages through
 * the persistent queue. The configuration keys every service publishes are
 * gathered here to answer GetConfiguration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitegate/log.h"
#include "sitegate/ocpp_keys.h"
#include "sitegate/time.h"

#include "bridge.h"

struct owner {
	struct owner *next;
	char action[64];
	char svc[32];
};

/* Services seen on the bus and whether they run. */
struct seen_service {
	struct seen_service *next;
	char name[32];
	bool online;
};

struct cp_key_entry {
	char name[64]; /* as the topic names it: at most 50 for a valid key */
	char *value;
	bool readonly, vendor;
	char svc[32];
};

/* A Central System call waiting for a service (or a cfg_set) to answer. */
struct pending_call {
	struct bridge *br;
	int cp;
	uint32_t generation;
	char unique_id[RPC_ID_MAX + 1];
	char action[40];
};

struct cp *
bridge_cp(struct bridge *br, const char *id)
{
	/* conf is NULL until cp_init(): keys are seeded before (main.c) */
	for (int i = 0; i < br->n_cps; i++)
		if (br->cps[i].conf && strcmp(br->cps[i].conf->id, id) == 0)
			return &br->cps[i];
	return NULL;
}

static struct seen_service *
find_service(struct bridge *br, const char *name)
{
	for (struct seen_service *s = br->services; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

bool
route_service_online(struct bridge *br, const char *name)
{
	const struct seen_service *s = find_service(br, name);
	return s && s->online;
}

static struct owner *
find_owner(struct bridge *br, const char *action)
{
	for (struct owner *o = br->owners; o; o = o->next)
		if (strcmp(o->action, action) == 0)
			return o;
	return NULL;
}

/* The pending call's charge point, if the connection that asked is still up. */
static struct cp *
pending_cp(const struct pending_call *pc)
{
	struct cp *cp = &pc->br->cps[pc->cp];
	return cp->generation == pc->generation && cp->link == LINK_OPEN ? cp : NULL;
}

static struct pending_call *
new_pending(struct cp *cp, const char *unique_id, const char *action)
{
	struct pending_call *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->br = cp->br;
	pc->cp = cp->index;
	pc->generation = cp->generation;
	snprintf(pc->unique_id, sizeof(pc->unique_id), "%s", unique_id);
	snprintf(pc->action, sizeof(pc->action), "%s", action);
	return pc;
}

static void
reply_status(struct cp *cp, const char *unique_id, const char *status)
{
	rpc_reply(cp->rpc, unique_id, json_pack("{s:s}", "status", status));
}

/* ---- GetConfiguration / ChangeConfiguration ---------------------------------- */

static struct cp_key_entry *
find_key(struct cp *cp, const char *name)
{
	for (size_t i = 0; i < cp->n_keys; i++)
		if (strcasecmp(cp->keys[i].name, name) == 0)
			return &cp->keys[i];
	return NULL;
}

static json_t *
key_json(const char *name, bool readonly, const char *value)
{
	json_t *k = json_pack("{s:s,s:b}", "key", name, "readonly", readonly);
	if (value)
		json_object_set_new(k, "value", json_string(value));
	return k;
}

static bool
own_key(const struct sg_key_def *d)
{
	return d && strcmp(d->owner, "ocpp-bridge") == 0;
}

/* One of the bridge's own keys as GetConfiguration shows it, or NULL when it
 * is not served here. They come from the key store, not from the bus: the echo
 * of our cfg_key may not be back yet (at start, right after a change, or while
 * the broker is away). Shown as keys.c publishes them: a secret without its
 * value, the password of VendorWebsocketSettings masked, a key whose change
 * waits for a restart with the value it will have (from the echo, once back). */
static json_t *
own_key_json(struct cp *cp, const struct sg_key_def *d)
{
	const char *v = sg_keys_get(cp->br->keys, cp->conf->id, d->name);
	if (!v)
		return NULL;
	if (d->flags & SG_KEYF_SECRET)
		return key_json(d->name, false, NULL);
	const struct cp_key_entry *e = find_key(cp, d->name);
	if ((d->flags & SG_KEYF_REBOOT) && e && !strcmp(e->svc, "ocpp-bridge"))
		v = e->value;
	char masked[SG_KEY_VALUE_MAX + 16];
	if (d->flags & SG_KEYF_REDACT) {
		/* "WS,host,port,path,proto,user,pass[,]": the 7th field */
		const char *p = v;
		for (int commas = 0; *p && commas < 6; p++)
			commas += *p == ',';
		if (*p && *p != ',') {
			snprintf(masked, sizeof(masked), "%.*s********,", (int)(p - v), v);
			v = masked;
		}
	}
	return key_json(d->name, (d->flags & SG_KEYF_RO) != 0, v);
}

static void
get_configuration(struct cp *cp, const char *unique_id, json_t *payload)
{
	json_t *wanted = json_object_get(payload, "key");
	int64_t max = sg_keys_get_int(cp->br->keys, cp->conf->id, "GetConfigurationMaxKeys");
	if (max > 0 && json_array_size(wanted) > (size_t)max) {
		char why[96];
		snprintf(why, sizeof(why),
		         "at most %lld keys per request (GetConfigurationMaxKeys)", (long long)max);
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION,
		                why);
		return;
	}
	json_t *known = json_array(), *unknown = json_array();
	if (json_array_size(wanted) > 0) {
		for (size_t i = 0; i < json_array_size(wanted); i++) {
			const char *name = json_string_value(json_array_get(wanted, i));
			const struct sg_key_def *d = sg_key_find(name);
			const struct cp_key_entry *e = own_key(d) ? NULL : find_key(cp, name);
			json_t *k = own_key(d) ? own_key_json(cp, d)
			            : e        ? key_json(e->name, e->readonly, e->value)
			                       : NULL;
			if (k)
				json_array_append_new(known, k);
			else
				json_array_append_new(unknown, json_string(name));
		}
	} else {
		/* Everything but vendor keys, which are listed only when named, and
		 * the write-only AuthorizationKey. */
		for (size_t i = 0; i < sg_key_n_defs; i++) {
			const struct sg_key_def *d = &sg_key_defs[i];
			json_t *k = own_key(d) && !(d->flags & (SG_KEYF_VENDOR | SG_KEYF_SECRET))
			                ? own_key_json(cp, d)
			                : NULL;
			if (k)
				json_array_append_new(known, k);
		}
		for (size_t i = 0; i < cp->n_keys; i++)
			if (!cp->keys[i].vendor && strcmp(cp->keys[i].svc, "ocpp-bridge") != 0 &&
			    !own_key(sg_key_find(cp->keys[i].name)))
				json_array_append_new(known, key_json(cp->keys[i].name,
				                                      cp->keys[i].readonly,
				                                      cp->keys[i].value));
	}
	json_t *reply = json_object();
	if (json_array_size(known))
		json_object_set(reply, "configurationKey", known);
	if (json_array_size(unknown))
		json_object_set(reply, "unknownKey", unknown);
	json_decref(known);
	json_decref(unknown);
	rpc_reply(cp->rpc, unique_id, reply);
}

static void
on_cfg_set_result(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct pending_call *pc = ud;
	struct cp *cp = pending_cp(pc);
	if (cp) {
		const struct sg_msg_cfg_set_result *r = reply;
		/* No answer from the owner: it did not take the value. */
		reply_status(cp, pc->unique_id, status == 0 ? r->status : "Rejected");
	}
	free(pc);
}

static void
change_configuration(struct cp *cp, const char *unique_id, json_t *payload)
{
	struct bridge *br = cp->br;
	const char *name = json_string_value(json_object_get(payload, "key"));
	const char *value = json_string_value(json_object_get(payload, "value"));
	const struct sg_key_def *d = sg_key_find(name);
	if (!d) {
		reply_status(cp, unique_id, "NotSupported");
		return;
	}
	if (strcmp(d->owner, "ocpp-bridge") == 0) {
		enum sg_key_status st = sg_keys_apply(br->keys, cp->conf->id, d->name, value);
		reply_status(cp, unique_id, sg_key_status_name(st));
		return;
	}
	/* Another service's key: it validates and stores it. A key whose service
	 * does not run here is not supported: never published, or its owner is
	 * known to have stopped (its retained cfg_key outlives it). */
	const struct cp_key_entry *e = find_key(cp, d->name);
	const struct seen_service *owner = e ? find_service(br, e->svc) : NULL;
	if (!e || (owner && !owner->online)) {
		reply_status(cp, unique_id, "NotSupported");
		return;
	}
	struct sg_msg_cfg_set set = {0};
	snprintf(set.value, sizeof(set.value), "%s", value);
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "%s", d->name);
	struct pending_call *pc = new_pending(cp, unique_id, "ChangeConfiguration");
	if (!pc || sg_bus_request(br->svc.bus, SG_MSG_cfg_set, &set, &a, BRIDGE_OWNER_TIMEOUT_MS,
	                          on_cfg_set_result, pc) < 0) {
		free(pc);
		reply_status(cp, unique_id, "Rejected");
	}
}

/* ---- calls routed to their owners ------------------------------------------- */

static void
on_owner_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct pending_call *pc = ud;
	struct cp *cp = pending_cp(pc);
	if (!cp) {
		free(pc);
		return;
	}
	const struct sg_msg_ocpp_result *r = reply;
	if (status < 0) {
		sg_warn("%s: no answer to %s from its owner: %s", cp->conf->id, pc->action,
		        strerror(-status));
		rpc_reply_error(cp->rpc, pc->unique_id, OCPP_ERROR_INTERNAL_ERROR,
		                "the service owning this action did not answer");
	} else if (r->error[0]) {
		enum ocpp_error_code code;
		if (ocpp_error_code_parse(r->error, &code) < 0)
			code = OCPP_ERROR_GENERIC_ERROR;
		rpc_reply_error(cp->rpc, pc->unique_id, code, r->description);
	} else if (rpc_reply(cp->rpc, pc->unique_id,
	                     r->payload ? json_incref(r->payload) : json_object()) == -EINVAL) {
		sg_err("%s: the answer to %s breaks the OCPP schema; sent InternalError",
		       cp->conf->id, pc->action);
	}
	free(pc);
}

void
route_call(struct cp *cp, const char *unique_id, const char *action, json_t *payload)
{
	struct bridge *br = cp->br;
	if (strcmp(action, "GetConfiguration") == 0) {
		get_configuration(cp, unique_id, payload);
		return;
	}
	if (strcmp(action, "ChangeConfiguration") == 0) {
		change_configuration(cp, unique_id, payload);
		return;
	}
	if (remote_call(cp, unique_id, action, payload))
		return;
	struct owner *o = find_owner(br, action);
	if (!o) {
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_NOT_SUPPORTED, NULL);
		return;
	}
	if (!route_service_online(br, o->svc)) {
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_INTERNAL_ERROR,
		                "the service owning this action is not running");
		return;
	}
	struct sg_msg_ocpp_call call = {.payload = payload};
	snprintf(call.unique_id, sizeof(call.unique_id), "%s", unique_id);
	struct sg_topic_args a = {0};
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "%s", action);
	struct pending_call *pc = new_pending(cp, unique_id, action);
	if (!pc || sg_bus_request(br->svc.bus, SG_MSG_ocpp_call, &call, &a, BRIDGE_OWNER_TIMEOUT_MS,
	                          on_owner_reply, pc) < 0) {
		free(pc);
		rpc_reply_error(cp->rpc, unique_id, OCPP_ERROR_INTERNAL_ERROR, NULL);
	}
}

/* ---- bus handlers --------------------------------------------------------------- */

static void
on_owner(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct bridge *br = ud;
	const struct sg_msg_ocpp_owner *m = in->msg;
	struct owner *o = find_owner(br, in->args->name);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return;
		snprintf(o->action, sizeof(o->action), "%s", in->args->name);
		o->next = br->owners;
		br->owners = o;
	}
	snprintf(o->svc, sizeof(o->svc), "%s", m->svc);
	sg_info("OCPP %s is answered by %s", o->action, o->svc);
}

static void
on_service(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct bridge *br = ud;
	const struct sg_msg_svc_status *st = in->msg;
	struct seen_service *s = find_service(br, in->args->svc);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		snprintf(s->name, sizeof(s->name), "%s", in->args->svc);
		s->next = br->services;
		br->services = s;
	}
	s->online = strcmp(st->state, "online") == 0;
}

static void
on_conn_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct cp *cp = bridge_cp(ud, in->args->cp);
	if (cp)
		cp_connector_state(cp, in->args->conn, in->msg);
}

static void
on_cfg_key(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct cp *cp = bridge_cp(ud, in->args->cp);
	const struct sg_msg_cfg_key *k = in->msg;
	if (!cp)
		return;
	struct cp_key_entry *e = find_key(cp, in->args->name);
	if (!e) {
		if (cp->n_keys == cp->cap_keys) {
			size_t cap = cp->cap_keys ? cp->cap_keys * 2 : 64;
			struct cp_key_entry *n = realloc(cp->keys, cap * sizeof(*n));
			if (!n)
				return;
			cp->keys = n;
			cp->cap_keys = cap;
		}
		e = &cp->keys[cp->n_keys++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", in->args->name);
	}
	char *v = strdup(k->value);
	if (!v)
		return;
	free(e->value);
	e->value = v;
	e->readonly = k->readonly;
	e->vendor = k->vendor;
	snprintf(e->svc, sizeof(e->svc), "%s", k->svc);
}

static void
on_send(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct cp *cp = bridge_cp(ud, in->args->cp);
	const struct sg_msg_ocpp_send *m = in->msg;
	if (!cp) {
		struct sg_msg_ocpp_result r = {.error = "Unknown"};
		snprintf(r.description, sizeof(r.description), "no charge point \"%s\"",
		         in->args->cp);
		sg_bus_reply(bus, in, &r);
		return;
	}
	cp_send_for_service(cp, in->args->name, json_incref(m->payload), in);
}

static void
on_tx(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct bridge *br = ud;
	struct cp *cp = bridge_cp(br, in->args->cp);
	const struct sg_msg_ocpp_tx *m = in->msg;
	struct sg_msg_ocpp_tx_ack ack = {.seq = -ENOENT};
	if (cp) {
		int rc = txq_push(br->txq, cp->conf->id, in->args->name, m->payload, m->tx_ref,
		                  m->periodic, sg_time_wall_ms(), &ack.seq);
		if (rc < 0) {
			sg_err("%s: %s for transaction %lld not queued: %s", cp->conf->id,
			       in->args->name, (long long)m->tx_ref, strerror(-rc));
			ack.seq = rc;
		}
		cp_kick(cp);
	}
	/* Stored (or refused, seq < 0) before we say so. */
	sg_bus_reply(bus, in, &ack);
}

int
route_init(struct bridge *br)
{
	struct sg_bus *bus = br->svc.bus;
	int rc = 0;
	rc |= sg_bus_subscribe(bus, SG_MSG_ocpp_owner, on_owner, br);
	rc |= sg_bus_subscribe(bus, SG_MSG_svc_status, on_service, br);
	rc |= sg_bus_subscribe(bus, SG_MSG_conn_state, on_conn_state, br);
	rc |= sg_bus_subscribe(bus, SG_MSG_cfg_key, on_cfg_key, br);
	rc |= sg_bus_subscribe(bus, SG_MSG_ocpp_send, on_send, br);
	rc |= sg_bus_subscribe(bus, SG_MSG_ocpp_tx, on_tx, br);
	return rc < 0 ? -ENOMEM : 0;
}

void
route_fini(struct bridge *br)
{
	while (br->owners) {
		struct owner *o = br->owners;
		br->owners = o->next;
		free(o);
	}
	while (br->services) {
		struct seen_service *s = br->services;
		br->services = s->next;
		free(s);
	}
	for (int i = 0; i < br->n_cps; i++) {
		struct cp *cp = &br->cps[i];
		for (size_t k = 0; k < cp->n_keys; k++)
			free(cp->keys[k].value);
		free(cp->keys);
		cp->keys = NULL;
		cp->n_keys = 0;
	}
}
