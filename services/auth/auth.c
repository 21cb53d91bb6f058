/* The decisions of sitegate-auth: who may start or stop charging, and what a
 * refused StartTransaction means for the running transaction. Pure functions
 * of their inputs; auth_io.c feeds them and carries out the results. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

static const char *const purpose_names[] = {
    [AUTH_START] = "start",
    [AUTH_REMOTE] = "remote",
    [AUTH_STOP] = "stop",
};

static const char *const source_names[] = {
    [AUTH_SRC_NONE] = "",           [AUTH_SRC_LIST] = "list",
    [AUTH_SRC_CACHE] = "cache",     [AUTH_SRC_CSMS] = "csms",
    [AUTH_SRC_UNKNOWN] = "unknown", [AUTH_SRC_REMOTE] = "remote",
    [AUTH_SRC_TX_TAG] = "tx_tag",   [AUTH_SRC_RESERVATION] = "reservation",
};

static const char *const tx_action_names[] = {
    [AUTH_TX_NONE] = "none",
    [AUTH_TX_WATCH] = "watch",
    [AUTH_TX_STOP] = "stop",
    [AUTH_TX_SUSPEND] = "suspend",
};

int
auth_purpose_parse(const char *s, enum auth_purpose *out)
{
	for (size_t i = 0; s && i < sizeof(purpose_names) / sizeof(purpose_names[0]); i++) {
		if (strcmp(s, purpose_names[i]) == 0) {
			*out = (enum auth_purpose)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
auth_source_name(enum auth_source src)
{
	if ((unsigned)src >= sizeof(source_names) / sizeof(source_names[0]))
		return "";
	return source_names[src];
}

const char *
auth_tx_action_name(enum auth_tx_action a)
{
	if ((unsigned)a >= sizeof(tx_action_names) / sizeof(tx_action_names[0]))
		return "none";
	return tx_action_names[a];
}

/* ---- decision tables --------------------------------------------------- */

struct auth_local
auth_local_lookup(const struct auth_keys *keys, const struct auth_list *list,
                  struct auth_cache *cache, const char *id, int64_t now, bool touch)
{
	struct auth_local loc = {.src = AUTH_SRC_NONE, .status = AUTH_INVALID};
	const struct auth_tag *t = NULL;

	if (keys->list_enabled && list && (t = auth_list_get(list, id)) != NULL) {
		loc.src = AUTH_SRC_LIST;
	} else if (keys->cache_enabled && cache) {
		t = touch ? auth_cache_use(cache, id, now) : auth_cache_peek(cache, id);
		if (t)
			loc.src = AUTH_SRC_CACHE;
	}
	if (t) {
		loc.status = auth_info_effective(&t->info, now);
		snprintf(loc.parent, sizeof(loc.parent), "%s", t->info.parent);
	}
	return loc;
}

static struct auth_verdict
done(enum auth_status status, enum auth_source src, bool offline)
{
	return (struct auth_verdict){
	    .step = AUTH_DONE, .status = status, .src = src, .offline = offline};
}

struct auth_verdict
auth_decide_offline(const struct auth_keys *keys, const struct auth_local *local)
{
	bool known = local->src != AUTH_SRC_NONE;

	/* Known as not valid: never, whatever the other keys say. */
	if (known && local->status != AUTH_ACCEPTED)
		return done(local->status, local->src, true);
	if (known && keys->authorize_offline)
		return done(AUTH_ACCEPTED, local->src, true);
	/* Unknown here, or known but not to be used offline. */
	if (keys->allow_unknown_offline)
		return done(AUTH_ACCEPTED, AUTH_SRC_UNKNOWN, true);
	return done(AUTH_INVALID, AUTH_SRC_UNKNOWN, true);
}

struct auth_verdict
auth_decide_start(const struct auth_keys *keys, enum auth_purpose purpose, bool online,
                  const struct auth_local *local)
{
	if (purpose == AUTH_REMOTE && !keys->authorize_remote)
		return done(AUTH_ACCEPTED, AUTH_SRC_REMOTE, false);
	if (!online)
		return auth_decide_offline(keys, local);
	if (local->src != AUTH_SRC_NONE && local->status == AUTH_ACCEPTED && keys->pre_authorize)
		return done(AUTH_ACCEPTED, local->src, true);
	return (struct auth_verdict){
	    .step = AUTH_ASK, .status = AUTH_INVALID, .src = AUTH_SRC_CSMS};
}

struct auth_verdict
auth_decide_answer(const struct auth_info *info, int64_t now)
{
	return done(auth_info_effective(info, now), AUTH_SRC_CSMS, false);
}

bool
auth_stop_allowed(enum auth_status presented, const char *parent, const char *tx_parent)
{
	return (presented == AUTH_ACCEPTED || presented == AUTH_CONCURRENT_TX) &&
	       auth_id_equal(parent, tx_parent);
}

enum auth_tx_action
auth_decide_invalid_tx(const struct auth_keys *keys, bool energy_known, double used_wh)
{
	if (keys->max_energy_wh > 0 && (!energy_known || used_wh < (double)keys->max_energy_wh))
		return AUTH_TX_WATCH;
	return keys->stop_on_invalid ? AUTH_TX_STOP : AUTH_TX_SUSPEND;
}

/* ---- the flow of one request --------------------------------------------- */

static void
out_done(struct auth_flow_out *out, enum auth_status status, enum auth_source src, bool offline,
         const char *parent)
{
	memset(out, 0, sizeof(*out));
	out->done = true;
	out->status = status;
	out->src = src;
	out->offline = offline;
	snprintf(out->parent, sizeof(out->parent), "%s", parent ? parent : "");
}

static void
out_ask(struct auth_flow_out *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->ask, sizeof(out->ask), "%s", id);
}

static struct auth_site
site_of(const struct auth_ctx *ctx)
{
	return (struct auth_site){.conns = ctx->conns,
	                          .n = ctx->n_conns,
	                          .zero_supported = ctx->keys->zero_supported,
	                          .now = ctx->now};
}

static void
learn_parent_from_local(struct auth_flow *f)
{
	f->parent_known = f->local.src != AUTH_SRC_NONE;
	snprintf(f->parent, sizeof(f->parent), "%s", f->parent_known ? f->local.parent : "");
}

/* A start is decided: an Accepted one must still fit the reservations, now
 * that the idTag's parentIdTag is as known as it gets. */
static void
finish_start(struct auth_flow *f, struct auth_ctx *ctx, struct auth_flow_out *out)
{
	struct auth_site site = site_of(ctx);
	int64_t rid = 0;

	out_done(out, f->verdict.status, f->verdict.src, f->verdict.offline, f->parent);
	if (f->verdict.status != AUTH_ACCEPTED)
		return;
	switch (auth_resv_start(ctx->resvs, &site, f->conn, f->id, f->parent, &rid)) {
	case AUTH_RESV_HOLDER:
		out->resv_id = rid;
		break;
	case AUTH_RESV_FREE:
		break;
	default:
		out->status = AUTH_INVALID;
		out->src = AUTH_SRC_RESERVATION;
		break;
	}
}

/* A stop by another idTag: once the presented idTag is decided, the
 * transaction idTag's parentIdTag decides. */
static void
next_stop(struct auth_flow *f, struct auth_ctx *ctx, struct auth_flow_out *out)
{
	const struct auth_verdict *v = &f->verdict;

	if (v->status != AUTH_ACCEPTED && v->status != AUTH_CONCURRENT_TX) {
		out_done(out, v->status, v->src, v->offline, f->parent);
		return;
	}
	if (f->parent[0] == '\0') {
		out_done(out, AUTH_INVALID, v->src, v->offline, f->parent);
		return;
	}
	if (!f->tx_parent_known && ctx->online && !f->asking_tx) {
		f->asking_tx = true;
		out_ask(out, f->tx_id);
		return;
	}
	out_done(out,
	         auth_stop_allowed(v->status, f->parent, f->tx_parent) ? v->status : AUTH_INVALID,
	         v->src, v->offline && !f->asking_tx, f->parent);
	if (out->status == AUTH_CONCURRENT_TX)
		out->status = AUTH_ACCEPTED; /* may stop this one */
}

void
auth_flow_begin(struct auth_flow *f, struct auth_ctx *ctx, enum auth_purpose purpose, int conn,
                const char *id, const char *tx_id, const char *tx_parent, struct auth_flow_out *out)
{
	memset(f, 0, sizeof(*f));
	f->purpose = purpose;
	f->conn = conn;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->tx_id, sizeof(f->tx_id), "%s", tx_id ? tx_id : "");
	if (tx_parent) {
		f->tx_parent_known = true;
		snprintf(f->tx_parent, sizeof(f->tx_parent), "%s", tx_parent);
	}

	if (purpose == AUTH_STOP) {
		if (auth_id_equal(f->id, f->tx_id)) {
			out_done(out, AUTH_ACCEPTED, AUTH_SRC_TX_TAG, true, NULL);
			return;
		}
		if (f->tx_id[0] == '\0') {
			out_done(out, AUTH_INVALID, AUTH_SRC_NONE, true, NULL);
			return;
		}
		if (!f->tx_parent_known) {
			struct auth_local tl = auth_local_lookup(ctx->keys, ctx->list, ctx->cache,
			                                         f->tx_id, ctx->now, false);

			if (tl.src != AUTH_SRC_NONE) {
				f->tx_parent_known = true;
				snprintf(f->tx_parent, sizeof(f->tx_parent), "%s", tl.parent);
			}
		}
	}

	f->local = auth_local_lookup(ctx->keys, ctx->list, ctx->cache, f->id, ctx->now, true);
	if (purpose != AUTH_STOP) {
		struct auth_site site = site_of(ctx);
		int64_t rid;

		/* Someone else's reservation: refused without asking anybody. */
		if (auth_resv_start(ctx->resvs, &site, conn, f->id,
		                    f->local.src != AUTH_SRC_NONE ? f->local.parent : NULL,
		                    &rid) == AUTH_RESV_REFUSED) {
			out_done(out, AUTH_INVALID, AUTH_SRC_RESERVATION, true, NULL);
			return;
		}
	}
	f->verdict = auth_decide_start(ctx->keys, purpose == AUTH_STOP ? AUTH_START : purpose,
	                               ctx->online, &f->local);
	if (f->verdict.step == AUTH_ASK) {
		out_ask(out, f->id);
		return;
	}
	learn_parent_from_local(f);
	if (purpose == AUTH_STOP)
		next_stop(f, ctx, out);
	else
		finish_start(f, ctx, out);
}

void
auth_flow_answer(struct auth_flow *f, struct auth_ctx *ctx, const struct auth_info *info,
                 struct auth_flow_out *out)
{
	if (f->asking_tx) {
		f->tx_parent_known = true;
		snprintf(f->tx_parent, sizeof(f->tx_parent), "%s", info ? info->parent : "");
		next_stop(f, ctx, out);
		return;
	}
	if (info) {
		f->verdict = auth_decide_answer(info, ctx->now);
		f->parent_known = true;
		snprintf(f->parent, sizeof(f->parent), "%s", info->parent);
	} else {
		f->verdict = auth_decide_offline(ctx->keys, &f->local);
		learn_parent_from_local(f);
	}
	if (f->purpose == AUTH_STOP)
		next_stop(f, ctx, out);
	else
		finish_start(f, ctx, out);
}
