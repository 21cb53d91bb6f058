/* The decisions of sitegate-smartcharge: see smartcharge.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "smartcharge.h"

/* The defaults of the smart charging keys (common/src/ocpp_keys.c). */
static const struct sc_rules default_rules = {
    .max_stack_level = 30,
    .max_periods = 48,
    .max_profiles = 30,
    .allow_a = true,
    .allow_w = true,
};

int
sc_core_init(struct sc_core *core, const struct sg_config *conf, const struct sc_share_params *par)
{
	size_t n_conns = 0;
	memset(core, 0, sizeof(*core));
	core->voltage = conf->site.nominal_voltage > 0 ? conf->site.nominal_voltage : 230;
	core->n_cps = conf->n_cps;
	core->cps = calloc(conf->n_cps ? (size_t)conf->n_cps : 1, sizeof(*core->cps));
	for (int i = 0; i < conf->n_cps; i++)
		n_conns += (size_t)conf->cps[i].n_connectors;
	core->share_conns = calloc(n_conns ? n_conns : 1, sizeof(*core->share_conns));
	core->groups = calloc(conf->n_cps ? (size_t)conf->n_cps : 1, sizeof(*core->groups));
	if (!core->cps || !core->share_conns || !core->groups) {
		sc_core_fini(core);
		return -ENOMEM;
	}
	core->share = (struct sc_share){
	    .par = *par,
	    .conns = core->share_conns,
	    .n = n_conns,
	    .groups = core->groups,
	    .n_groups = (size_t)conf->n_cps,
	};
	size_t k = 0;
	for (int i = 0; i < conf->n_cps; i++) {
		const struct sg_cp_conf *cc = &conf->cps[i];
		struct sc_cp *cp = &core->cps[i];
		cp->conf = cc;
		cp->id = cc->id;
		cp->group = (size_t)i;
		cp->rules = default_rules;
		cp->rules.n_connectors = cc->n_connectors;
		cp->stale = true;
		cp->phases = 1;
		core->groups[i].cap_a = INFINITY;
		/* Connectors are listed by id; ids run 1..n (the config checks it). */
		for (int j = 0; j < cc->n_connectors && j < SG_MAX_CONNECTORS; j++) {
			struct sc_conn *c = &cp->conns[j];
			c->id = j + 1;
			c->rated_a = cc->connectors[j].max_current_a;
			c->phases = cc->connectors[j].phases;
			c->drawn_a = -1;
			c->share_index = k;
			core->share_conns[k].group = (size_t)i;
			k++;
			if (c->phases > cp->phases)
				cp->phases = c->phases;
		}
		cp->n_conns = cc->n_connectors;
	}
	return 0;
}

void
sc_core_fini(struct sc_core *core)
{
	for (int i = 0; core->cps && i < core->n_cps; i++)
		sc_set_free(&core->cps[i].profiles);
	free(core->cps);
	free(core->share_conns);
	free(core->groups);
	memset(core, 0, sizeof(*core));
}

struct sc_cp *
sc_core_cp(struct sc_core *core, const char *id)
{
	for (int i = 0; i < core->n_cps; i++)
		if (strcmp(core->cps[i].id, id) == 0)
			return &core->cps[i];
	return NULL;
}

struct sc_conn *
sc_core_conn(struct sc_cp *cp, int n)
{
	return n >= 1 && n <= cp->n_conns ? &cp->conns[n - 1] : NULL;
}

bool
sc_conn_active(const struct sc_conn *c)
{
	/* Without a conn_hw yet, the transaction says enough. */
	return c->tx && (c->plugged || !c->hw_seen);
}

static void
changed(struct sc_cp *cp)
{
	cp->stale = true;
	cp->dirty = true;
}

/* ---- the Central System's calls ---------------------------------------------------------- */

static json_t *
status(const char *s)
{
	return json_pack("{s:s}", "status", s);
}

static json_t *
set_profile(struct sc_cp *cp, json_t *payload, int64_t now)
{
	const json_t *jc = json_object_get(payload, "connectorId");
	json_t *jp = json_object_get(payload, "csChargingProfiles");
	struct sc_profile p;
	char why[160];
	size_t replaced = 0;

	if (!json_is_integer(jc) || json_integer_value(jc) < 0 ||
	    json_integer_value(jc) > SG_MAX_CONNECTORS) {
		sg_notice("%s: SetChargingProfile rejected: bad connectorId", cp->id);
		return status("Rejected");
	}
	int conn = (int)json_integer_value(jc);
	if (sc_profile_parse(jp, conn, &p, why, sizeof(why)) < 0) {
		sg_notice("%s: SetChargingProfile on connector %d rejected: %s", cp->id, conn, why);
		return status("Rejected");
	}
	const struct sc_conn *c = sc_core_conn(cp, conn);
	struct sc_tx_view tx = {.active = c && c->tx, .transaction_id = c ? c->transaction_id : 0};
	int rc = sc_profile_check(&p, &cp->rules, c ? &tx : NULL, now, why, sizeof(why));
	if (rc == 0) {
		rc = sc_set_install(&cp->profiles, &p, cp->rules.max_profiles, &replaced);
		if (rc == -ENOSPC)
			snprintf(why, sizeof(why), "MaxChargingProfilesInstalled (%lld) reached",
			         (long long)cp->rules.max_profiles);
		else if (rc < 0)
			snprintf(why, sizeof(why), "%s", strerror(-rc));
	}
	if (rc < 0) {
		sg_notice("%s: SetChargingProfile #%lld on connector %d rejected: %s", cp->id,
		          (long long)p.id, conn, why);
		sc_profile_clear(&p);
		return status("Rejected");
	}
	const struct sc_profile *in = &cp->profiles.v[cp->profiles.n - 1];
	sg_info("%s: %s #%lld installed on connector %d, stack level %lld%s", cp->id,
	        sc_purpose_name(in->purpose), (long long)in->id, conn, (long long)in->stack_level,
	        replaced ? ", replacing one" : "");
	changed(cp);
	return status("Accepted");
}

static json_t *
clear_profile(struct sc_cp *cp, const json_t *payload)
{
	struct sc_clear_filter f = {0};
	const json_t *v;
	if ((v = json_object_get(payload, "id")) && json_is_integer(v)) {
		f.has_id = true;
		f.id = json_integer_value(v);
	}
	if ((v = json_object_get(payload, "connectorId")) && json_is_integer(v)) {
		f.has_connector = true;
		f.connector = (int)json_integer_value(v);
		if (json_integer_value(v) < 0 || json_integer_value(v) > SG_MAX_CONNECTORS)
			return status("Unknown");
	}
	if ((v = json_object_get(payload, "chargingProfilePurpose")) &&
	    sc_purpose_parse(json_string_value(v), &f.purpose) == 0)
		f.has_purpose = true;
	if ((v = json_object_get(payload, "stackLevel")) && json_is_integer(v)) {
		f.has_stack = true;
		f.stack_level = json_integer_value(v);
	}
	size_t n = sc_set_clear(&cp->profiles, &f);
	if (n == 0)
		return status("Unknown");
	sg_info("%s: ClearChargingProfile removed %zu profile(s)", cp->id, n);
	changed(cp);
	return status("Accepted");
}

/* The schedule's view of cp. */
static void
cp_ctx(const struct sc_core *core, const struct sc_cp *cp, struct sc_conn_ctx *conns,
       struct sc_cp_ctx *ctx)
{
	for (int i = 0; i < cp->n_conns; i++) {
		const struct sc_conn *c = &cp->conns[i];
		conns[i] = (struct sc_conn_ctx){
		    .rated_a = c->rated_a,
		    .phases = c->phases,
		    .tx = c->tx,
		    .tx_start = c->tx_start,
		    .transaction_id = c->transaction_id,
		};
	}
	*ctx = (struct sc_cp_ctx){
	    .voltage = core->voltage,
	    .phases = cp->phases,
	    .profiles = &cp->profiles,
	    .conns = conns,
	    .n_conns = cp->n_conns,
	};
}

static json_t *
composite(const struct sc_core *core, const struct sc_cp *cp, const json_t *payload, int64_t now)
{
	const json_t *jc = json_object_get(payload, "connectorId");
	const json_t *jd = json_object_get(payload, "duration");
	const char *unit_s = json_string_value(json_object_get(payload, "chargingRateUnit"));
	enum sc_unit unit = cp->rules.allow_a ? SC_UNIT_A : SC_UNIT_W;
	struct sc_conn_ctx conns[SG_MAX_CONNECTORS];
	struct sc_cp_ctx ctx;
	json_t *reply = NULL, *sched;
	struct sc_slot *slots;
	char when[SG_TIME_RFC3339_LEN];
	int64_t end;

	if (!json_is_integer(jc) || json_integer_value(jc) < 0 ||
	    json_integer_value(jc) > cp->n_conns || !json_is_integer(jd) ||
	    json_integer_value(jd) <= 0 || json_integer_value(jd) > 10LL * 366 * 86400) {
		sg_notice("%s: GetCompositeSchedule rejected: bad connectorId or duration", cp->id);
		return status("Rejected");
	}
	if (unit_s) {
		unit = strcmp(unit_s, "W") == 0 ? SC_UNIT_W : SC_UNIT_A;
		if ((unit == SC_UNIT_A && !cp->rules.allow_a) ||
		    (unit == SC_UNIT_W && !cp->rules.allow_w)) {
			sg_notice("%s: GetCompositeSchedule rejected: unit %s is not allowed",
			          cp->id, unit_s);
			return status("Rejected");
		}
	}
	int conn = (int)json_integer_value(jc);
	/* From the request on: periods start at whole seconds from it (rounded), so a boundary
	 * within half a second of it counts from the start. */
	int64_t from = now;
	int64_t to = from + json_integer_value(jd) * 1000;

	slots = calloc(SC_COMPOSITE_MAX_PERIODS, sizeof(*slots));
	if (!slots)
		return NULL;
	cp_ctx(core, cp, conns, &ctx);
	int n = sc_composite(&ctx, conn, from, to, slots, SC_COMPOSITE_MAX_PERIODS, &end);
	if (n <= 0)
		goto out;
	if (end < to)
		sg_notice("%s: composite schedule of connector %d cut to %lld s (%d periods)",
		          cp->id, conn, (long long)(end - from) / 1000, n);
	sched = sc_schedule_json(slots, (size_t)n, from, end, unit, core->voltage);
	if (!sched || sg_time_format(from, when, sizeof(when)) < 0) {
		json_decref(sched);
		goto out;
	}
	reply = json_pack("{s:s,s:i,s:s,s:o}", "status", "Accepted", "connectorId", conn,
	                  "scheduleStart", when, "chargingSchedule", sched);
out:
	free(slots);
	return reply;
}

json_t *
sc_core_call(struct sc_core *core, struct sc_cp *cp, const char *action, json_t *payload,
             int64_t now)
{
	if (strcmp(action, "SetChargingProfile") == 0)
		return set_profile(cp, payload, now);
	if (strcmp(action, "ClearChargingProfile") == 0)
		return clear_profile(cp, payload);
	if (strcmp(action, "GetCompositeSchedule") == 0)
		return composite(core, cp, payload, now);
	return NULL;
}

/* ---- transactions, hardware, meters -------------------------------------------------------- */

static void
end_tx(struct sc_cp *cp, struct sc_conn *c, const char *why)
{
	size_t n = sc_set_drop_tx(&cp->profiles, c->id);
	sg_info("%s/%d: transaction %lld (ref %lld) %s%s", cp->id, c->id,
	        (long long)c->transaction_id, (long long)c->tx_ref, why,
	        n ? ", its TxProfile removed" : "");
	c->tx = false;
	c->tx_restored = false;
	c->tx_ref = c->transaction_id = c->tx_start = 0;
	changed(cp);
}

void
sc_core_tx_started(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref,
                   int64_t transaction_id, int64_t ts, json_t *profile, int64_t now)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (!c)
		return;
	if (c->tx && c->tx_ref == tx_ref) { /* seen already (a restart) */
		c->tx_restored = false;
		if (transaction_id && !c->transaction_id)
			sc_core_tx_id(core, cp, tx_ref, transaction_id);
		return;
	}
	if (c->tx)
		end_tx(cp, c, "ended unseen (a new one started)");
	c->tx = true;
	c->tx_restored = false;
	c->tx_ref = tx_ref;
	c->transaction_id = transaction_id;
	c->tx_start = ts;
	changed(cp);
	sg_info("%s/%d: transaction (ref %lld) started", cp->id, conn, (long long)tx_ref);
	if (!profile || json_is_null(profile))
		return;

	struct sc_profile p;
	char why[160];
	struct sc_tx_view tx = {.active = true, .transaction_id = c->transaction_id};
	int rc = sc_profile_parse(profile, conn, &p, why, sizeof(why));
	if (rc == 0 && p.purpose != SC_PURPOSE_TX) {
		snprintf(why, sizeof(why), "a %s, not a TxProfile", sc_purpose_name(p.purpose));
		rc = -EINVAL;
	}
	if (rc == 0 && p.transaction_id && !c->transaction_id)
		p.transaction_id = 0; /* it cannot know the id yet: it means this transaction */
	if (rc == 0)
		rc = sc_profile_check(&p, &cp->rules, &tx, now, why, sizeof(why));
	if (rc == 0) {
		rc = sc_set_install(&cp->profiles, &p, cp->rules.max_profiles, NULL);
		if (rc < 0)
			snprintf(why, sizeof(why), "%s",
			         rc == -ENOSPC ? "MaxChargingProfilesInstalled reached"
			                       : strerror(-rc));
	}
	if (rc < 0) {
		sg_warn("%s/%d: RemoteStartTransaction's chargingProfile not used: %s", cp->id,
		        conn, why);
		sc_profile_clear(&p);
		return;
	}
	sg_info("%s/%d: RemoteStartTransaction's chargingProfile is the transaction's TxProfile",
	        cp->id, conn);
}

void
sc_core_tx_stopped(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (!c || !c->tx)
		return;
	if (c->tx_ref != tx_ref) {
		sg_warn("%s/%d: stop of transaction ref %lld, but ref %lld runs; ignored", cp->id,
		        conn, (long long)tx_ref, (long long)c->tx_ref);
		return;
	}
	end_tx(cp, c, "stopped");
}

void
sc_core_tx_id(struct sc_core *core, struct sc_cp *cp, int64_t tx_ref, int64_t transaction_id)
{
	for (int i = 0; i < cp->n_conns; i++) {
		struct sc_conn *c = &cp->conns[i];
		if (c->tx && c->tx_ref == tx_ref && transaction_id > 0 &&
		    c->transaction_id != transaction_id) {
			c->transaction_id = transaction_id;
			sg_debug("%s/%d: transaction ref %lld is transaction %lld", cp->id, c->id,
			         (long long)tx_ref, (long long)transaction_id);
			changed(cp);
		}
	}
}

void
sc_core_conn_state(struct sc_core *core, struct sc_cp *cp, int conn, const char *status,
                   int64_t transaction_id)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (!c || !c->tx)
		return;
	if (c->tx_restored && strcmp(status, "Available") == 0) {
		end_tx(cp, c, "ended while smartcharge was away");
		return;
	}
	if (transaction_id > 0 && c->transaction_id == 0)
		sc_core_tx_id(core, cp, c->tx_ref, transaction_id);
}

void
sc_core_hw(struct sc_core *core, struct sc_cp *cp, int conn, bool plugged)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (c) {
		c->hw_seen = true;
		c->plugged = plugged;
	}
}

void
sc_core_meter(struct sc_core *core, struct sc_cp *cp, int conn, double drawn_a, int64_t ts)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (c && isfinite(drawn_a)) {
		c->drawn_a = drawn_a;
		c->drawn_ts = ts;
	}
}

/* ---- restoring ----------------------------------------------------------------------------- */

int
sc_core_restore_profile(struct sc_core *core, struct sc_cp *cp, int connector, json_t *json)
{
	struct sc_profile p;
	char why[160];
	int rc = sc_profile_parse(json, connector, &p, why, sizeof(why));
	if (rc == 0 && connector > cp->n_conns) {
		snprintf(why, sizeof(why), "no connector %d any more", connector);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = sc_set_install(&cp->profiles, &p, INT64_MAX, NULL);
	if (rc < 0) {
		sg_warn("%s: a stored charging profile is dropped: %s", cp->id,
		        rc == -EINVAL ? why : strerror(-rc));
		sc_profile_clear(&p);
		cp->dirty = true;
		return -EINVAL;
	}
	cp->stale = true;
	return 0;
}

int
sc_core_restore_tx(struct sc_core *core, struct sc_cp *cp, int conn, int64_t tx_ref,
                   int64_t transaction_id, int64_t started)
{
	struct sc_conn *c = sc_core_conn(cp, conn);
	if (!c)
		return -EINVAL;
	c->tx = true;
	c->tx_restored = true;
	c->tx_ref = tx_ref;
	c->transaction_id = transaction_id;
	c->tx_start = started;
	cp->stale = true;
	return 0;
}

void
sc_core_restored(struct sc_core *core)
{
	for (int i = 0; i < core->n_cps; i++) {
		struct sc_cp *cp = &core->cps[i];
		for (int j = 0; j < cp->n_conns; j++) {
			if (!cp->conns[j].tx && sc_set_drop_tx(&cp->profiles, j + 1)) {
				sg_info(
				    "%s/%d: a stored TxProfile outlived its transaction: removed",
				    cp->id, j + 1);
				cp->dirty = true;
			}
		}
	}
}

/* ---- limits -------------------------------------------------------------------------------- */

/* Recomputes cp's OCPP limits at now. */
static void
ocpp_limits(struct sc_core *core, struct sc_cp *cp, int64_t now)
{
	struct sc_conn_ctx conns[SG_MAX_CONNECTORS];
	struct sc_cp_ctx ctx;
	int64_t until = SC_NEVER, next;
	cp_ctx(core, cp, conns, &ctx);
	for (int i = 0; i < cp->n_conns; i++) {
		struct sc_conn *c = &cp->conns[i];
		sc_limit_at(&ctx, c->id, now, now, &c->ocpp, &next);
		sc_value_source(&c->ocpp, c->ocpp_source, sizeof(c->ocpp_source));
		if (next < until)
			until = next;
	}
	cp->has_cp_max = sc_cp_max_at(&ctx, now, now, &cp->cp_max, &next);
	if (next < until)
		until = next;
	core->groups[cp->group].cap_a = cp->has_cp_max ? cp->cp_max.limit_a : INFINITY;
	cp->ocpp_at = now;
	cp->ocpp_until = until;
	cp->stale = false;
}

static void
describe(const struct sc_cp *cp, struct sc_conn *c, const struct sc_share_conn *s)
{
	char cpmax[SC_SOURCE_MAX + 1];
	c->limit_a = s->limit_a;
	switch (s->reason) {
	case SC_SHARE_OCPP:
		snprintf(c->source, sizeof(c->source), "%s", c->ocpp_source);
		break;
	case SC_SHARE_IDLE:
		if (s->limit_a >= c->ocpp.limit_a - 0.05)
			snprintf(c->source, sizeof(c->source), "%s", c->ocpp_source);
		else
			snprintf(c->source, sizeof(c->source), "site share");
		break;
	case SC_SHARE_FAIR:
		if (s->by_group && cp->has_cp_max) {
			sc_value_source(&cp->cp_max, cpmax, sizeof(cpmax));
			snprintf(c->source, sizeof(c->source), "%.48s, shared", cpmax);
		} else {
			snprintf(c->source, sizeof(c->source), "site share");
		}
		break;
	case SC_SHARE_PAUSED:
		snprintf(c->source, sizeof(c->source), "site share: paused, waiting for its turn");
		break;
	case SC_SHARE_NO_ROOM:
		snprintf(c->source, sizeof(c->source), "site share: no room");
		break;
	case SC_SHARE_BELOW_MIN:
		snprintf(c->source, sizeof(c->source), "%.40s: below %.0f A", c->ocpp_source, 6.0);
		break;
	}
}

int64_t
sc_core_update(struct sc_core *core, int64_t now)
{
	int64_t due = SC_NEVER;
	for (int i = 0; i < core->n_cps; i++) {
		struct sc_cp *cp = &core->cps[i];
		if (cp->stale || now >= cp->ocpp_until || now < cp->ocpp_at)
			ocpp_limits(core, cp, now);
		if (cp->ocpp_until < due)
			due = cp->ocpp_until;
		for (int j = 0; j < cp->n_conns; j++) {
			const struct sc_conn *c = &cp->conns[j];
			struct sc_share_conn *s = &core->share_conns[c->share_index];
			s->active = sc_conn_active(c);
			s->cap_a = c->ocpp.limit_a;
			s->drawn_a = c->drawn_a;
			s->drawn_ts = c->drawn_ts;
		}
	}
	int64_t share_due = sc_share_run(&core->share, now);
	if (share_due < due)
		due = share_due;
	for (int i = 0; i < core->n_cps; i++) {
		struct sc_cp *cp = &core->cps[i];
		for (int j = 0; j < cp->n_conns; j++)
			describe(cp, &cp->conns[j], &core->share_conns[cp->conns[j].share_index]);
	}
	return due;
}

int
sc_core_check(const struct sc_core *core, char *why, size_t why_len)
{
	for (int i = 0; i < core->n_cps; i++) {
		const struct sc_cp *cp = &core->cps[i];
		for (int j = 0; j < cp->n_conns; j++) {
			const struct sc_conn *c = &cp->conns[j];
			if (!(c->limit_a >= 0) || c->limit_a > c->ocpp.limit_a + 1e-3 ||
			    c->limit_a > c->rated_a + 1e-3) {
				snprintf(why, why_len,
				         "%s/%d offers %.3f A above its OCPP limit %.3f A (%s)",
				         cp->id, c->id, c->limit_a, c->ocpp.limit_a,
				         c->ocpp_source);
				return -EINVAL;
			}
		}
	}
	return sc_share_check(&core->share, why, why_len);
}
