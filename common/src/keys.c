/* The runtime of the OCPP configuration keys a service owns: values per charge
 * point, loaded from SQLite or defaulted, published as cfg_key, changed through
 * cfg_set or by the owner. See keys.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"

#define KEYS_DB_FILE "keys.db"
#define KEYS_DB_MODE 0600 /* it holds AuthorizationKey */
#define REDACTED     "********"
#define WHY_MAX      192

const char sg_keys_schema_sql[] = "CREATE TABLE ocpp_keys (\n"
                                  "  cp TEXT NOT NULL,\n"
                                  "  name TEXT NOT NULL, -- the table's spelling\n"
                                  "  value TEXT NOT NULL,\n"
                                  "  PRIMARY KEY (cp, name)\n"
                                  ") WITHOUT ROWID;";

static const struct sg_store_migration keys_migrations[] = {
    {1, sg_keys_schema_sql},
};

struct key {
	const struct sg_key_def *def;
	struct sg_key_limits site; /* def and members point to the copies below */
	char *site_def, *site_members;
	bool served;
};

struct val {
	char *value;      /* in effect */
	char *configured; /* what GetConfiguration shows; differs while a reboot is pending */
};

struct cp {
	const struct sg_cp_conf *conf;
	struct val *vals; /* one per key */
};

struct sg_keys {
	struct sg_service *svc;
	sqlite3 *db;
	bool own_db;
	struct key *keys;
	size_t n_keys;
	struct cp *cps;
	size_t n_cps;
	sg_keys_change_fn *on_change;
	void *change_ud;
	sg_keys_check_fn *on_check;
	void *check_ud;
};

/* What a change did, for the callback after the reply. */
struct outcome {
	enum sg_key_status status;
	int err;
	bool effective_changed;
	size_t cpi, ki;
};

static const char *const status_names[] = {
    [SG_KEY_ACCEPTED] = "Accepted",
    [SG_KEY_REJECTED] = "Rejected",
    [SG_KEY_REBOOT_REQUIRED] = "RebootRequired",
    [SG_KEY_NOT_SUPPORTED] = "NotSupported",
};

const char *
sg_key_status_name(enum sg_key_status status)
{
	if ((int)status < 0 || (size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
		return "Rejected";
	return status_names[status];
}

/* ---- small helpers ---------------------------------------------------- */

static int
set_str(char **dst, const char *src)
{
	char *copy = strdup(src);

	if (copy == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
key_index(const struct sg_keys *keys, const char *name)
{
	for (size_t i = 0; i < keys->n_keys; i++)
		if (keys->keys[i].served && strcasecmp(keys->keys[i].def->name, name) == 0)
			return (int)i;
	return -1;
}

static int
cp_index(const struct sg_keys *keys, const char *id)
{
	for (size_t i = 0; keys && id && i < keys->n_cps; i++)
		if (strcmp(keys->cps[i].conf->id, id) == 0)
			return (int)i;
	return -1;
}

/* The shown form of a value: the password field of VendorWebsocketSettings
 * (canonical form, the 7th field) masked. */
static void
shown_value(const struct sg_key_def *def, const char *value, char *buf, size_t len)
{
	const char *p = value;

	snprintf(buf, len, "%s", value);
	if (!(def->flags & SG_KEYF_REDACT))
		return;
	for (int commas = 0; *p && commas < 6; p++)
		commas += *p == ',';
	if (*p == '\0' || *p == ',')
		return; /* no password */
	snprintf(buf, len, "%.*s" REDACTED ",", (int)(p - value), value);
}

/* ---- defaults --------------------------------------------------------- */

/* "ws[s]://host[:port][/path]" as "WS,host,port,path,proto,,," */
static int
ws_settings_from_url(const char *url, char *buf, size_t len)
{
	const char *p, *host, *path;
	size_t host_len;
	long port;
	bool tls;

	if (strncasecmp(url, "wss://", 6) == 0) {
		tls = true;
		p = url + 6;
	} else if (strncasecmp(url, "ws://", 5) == 0) {
		tls = false;
		p = url + 5;
	} else {
		return -EINVAL;
	}
	host = p;
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (close == NULL)
			return -EINVAL;
		p = close + 1;
	} else {
		p += strcspn(p, ":/");
	}
	host_len = (size_t)(p - host);
	port = tls ? 443 : 80;
	if (*p == ':') {
		char *end;

		port = strtol(p + 1, &end, 10);
		if (end == p + 1)
			return -EINVAL;
		p = end;
	}
	path = *p == '/' ? p : "/";
	int n = snprintf(buf, len, "WS,%.*s,%ld,%s,%s,,,", (int)host_len, host, port, path,
	                 tls ? "socpp1.6" : "ocpp1.6");
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* The charge point's own default of a key, before the table's. */
static const char *
derived_default(const struct sg_keys *keys, const struct cp *cp, const struct sg_key_def *def,
                char *buf, size_t len)
{
	const struct sg_cp_conf *c = cp->conf;
	const char *url;

	switch (def->def_from) {
	case SG_KEY_DEF_TABLE:
		return def->def;
	case SG_KEY_DEF_CP_ID:
		return c->id;
	case SG_KEY_DEF_CONNECTORS:
		snprintf(buf, len, "%d", c->n_connectors);
		return buf;
	case SG_KEY_DEF_SECURITY_PROFILE:
		snprintf(buf, len, "%d", c->security_profile);
		return buf;
	case SG_KEY_DEF_AUTHORIZATION_KEY:
		return c->authorization_key[0] ? c->authorization_key : NULL;
	case SG_KEY_DEF_CSMS_URL:
		url = c->csms_url[0] ? c->csms_url : keys->svc->conf.csms.url;
		return ws_settings_from_url(url, buf, len) == 0 ? buf : def->def;
	}
	return def->def;
}

struct lookup_ctx {
	const struct sg_keys *keys;
	size_t cpi;
	char buf[SG_KEY_VALUE_MAX + 1];
};

/* For the checks: the value of a key of the same charge point; the charge
 * point's default for keys another service owns (NumberOfConnectors). */
static const char *
lookup(const char *name, void *ud)
{
	struct lookup_ctx *ctx = ud;
	const struct cp *cp = &ctx->keys->cps[ctx->cpi];
	int ki = key_index(ctx->keys, name);
	const struct sg_key_def *def;

	if (ki >= 0 && cp->vals[ki].value != NULL)
		return cp->vals[ki].value;
	def = sg_key_find(name);
	return def ? derived_default(ctx->keys, cp, def, ctx->buf, sizeof(ctx->buf)) : NULL;
}

static struct sg_key_limits
limits_for(const struct sg_keys *keys, size_t ki, struct lookup_ctx *ctx)
{
	struct sg_key_limits l = keys->keys[ki].site;

	l.lookup = lookup;
	l.lookup_ud = ctx;
	return l;
}

/* The default in canonical form into out; false when the key has none (an unset
 * secret: out is ""). */
static bool
resolve_default(const struct sg_keys *keys, size_t cpi, size_t ki, char *out, size_t len)
{
	const struct key *k = &keys->keys[ki];
	const struct sg_key_def *def = k->def;
	struct lookup_ctx ctx = {.keys = keys, .cpi = cpi};
	struct sg_key_limits l = limits_for(keys, ki, &ctx);
	char buf[SG_KEY_VALUE_MAX + 1], why[WHY_MAX];
	const char *d = k->site.def;

	out[0] = '\0';
	if (d == NULL)
		d = derived_default(keys, &keys->cps[cpi], def, buf, sizeof(buf));
	if (d == NULL)
		return false;
	if (sg_key_check(def, &l, d, out, len, why, sizeof(why)) == 0)
		return true;
	if (def->flags & SG_KEYF_SECRET)
		sg_warn("cp \"%s\": the configured %s is not valid: %s; it stays unset",
		        keys->cps[cpi].conf->id, def->name, why);
	else
		sg_warn("cp \"%s\": default \"%s\" of %s is not valid here: %s; using \"%s\"",
		        keys->cps[cpi].conf->id, d, def->name, why, def->def ? def->def : "");
	if (def->def == NULL || sg_key_check(def, &l, def->def, out, len, why, sizeof(why)) < 0) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* ---- storage ---------------------------------------------------------- */

static int
db_fail(const struct sg_keys *keys, const char *what, const char *cp, const char *name)
{
	sg_err("keys: cannot %s %s of cp \"%s\": %s", what, name, cp, sqlite3_errmsg(keys->db));
	return -EIO;
}

/* 1 with the stored value in buf, 0 when none is stored, -EIO. */
static int
db_read(const struct sg_keys *keys, const char *cp, const char *name, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    keys->db, "SELECT value FROM ocpp_keys WHERE cp = ?1 AND name = ?2", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(buf, len, "%s", t ? (const char *)t : "");
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(keys, "read", cp, name);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Stores value, or forgets the stored one when value is NULL. One statement in
 * autocommit: durable once it returns on a SG_STORE_DURABLE database. */
static int
db_write(const struct sg_keys *keys, const char *cp, const char *name, const char *value)
{
	sqlite3_stmt *st = NULL;
	const char *sql = value ? "INSERT OR REPLACE INTO ocpp_keys (cp, name, value) "
	                          "VALUES (?1, ?2, ?3)"
	                        : "DELETE FROM ocpp_keys WHERE cp = ?1 AND name = ?2";
	int rc = sqlite3_prepare_v2(keys->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, cp, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && value)
		rc = sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(keys, value ? "store" : "forget", cp, name);
	sqlite3_finalize(st);
	return rc;
}

static int
open_own_db(struct sg_keys *keys)
{
	char path[512], side[520];
	int rc = sg_service_state_path(keys->svc, KEYS_DB_FILE, path, sizeof(path));

	if (rc < 0) {
		sg_err("keys: state path of %s is too long", KEYS_DB_FILE);
		return rc;
	}
	rc = sg_store_open(path, SG_STORE_DURABLE, keys_migrations,
	                   sizeof(keys_migrations) / sizeof(keys_migrations[0]), &keys->db);
	if (rc < 0)
		return rc;
	keys->own_db = true;
	/* SQLite gives the -wal and -shm files the database's mode when it creates
	 * them; tighten all three in case they already exist. */
	if (chmod(path, KEYS_DB_MODE) < 0)
		sg_warn("keys: cannot make \"%s\" mode 0600: %s", path, strerror(errno));
	snprintf(side, sizeof(side), "%s-wal", path);
	chmod(side, KEYS_DB_MODE);
	snprintf(side, sizeof(side), "%s-shm", path);
	chmod(side, KEYS_DB_MODE);
	return 0;
}

static int
check_given_db(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ocpp_keys'", -1, &st,
	    NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	sg_err("keys: the service's database has no ocpp_keys table; add sg_keys_schema_sql to "
	       "its migrations");
	return -ENOENT;
}

/* ---- values ----------------------------------------------------------- */

static void
publish(struct sg_keys *keys, size_t cpi, size_t ki)
{
	const struct sg_key_def *def = keys->keys[ki].def;
	const struct cp *cp = &keys->cps[cpi];
	struct sg_msg_cfg_key m = {
	    .readonly = (def->flags & SG_KEYF_RO) != 0,
	    .vendor = (def->flags & SG_KEYF_VENDOR) != 0,
	};
	struct sg_topic_args a = {0};
	int rc;

	if (keys->svc->bus == NULL || (def->flags & SG_KEYF_SECRET) ||
	    cp->vals[ki].configured == NULL)
		return;
	shown_value(def, cp->vals[ki].configured, m.value, sizeof(m.value));
	snprintf(m.svc, sizeof(m.svc), "%s", def->owner);
	snprintf(a.cp, sizeof(a.cp), "%s", cp->conf->id);
	snprintf(a.name, sizeof(a.name), "%s", def->name);
	rc = sg_bus_publish(keys->svc->bus, SG_MSG_cfg_key, &m, &a);
	if (rc < 0)
		sg_warn("cp \"%s\": cannot publish %s: %s; it shows again after the next change",
		        cp->conf->id, def->name, strerror(-rc));
}

/* (Re)computes a value: the stored one if it still passes, else the default.
 * initial: at start (a pending reboot change becomes effective); later the value
 * in effect of a reboot key stays. Sets *configured_changed / *effective_changed. */
static int
load_one(struct sg_keys *keys, size_t cpi, size_t ki, bool initial, bool *configured_changed,
         bool *effective_changed)
{
	const struct key *k = &keys->keys[ki];
	const struct sg_key_def *def = k->def;
	struct cp *cp = &keys->cps[cpi];
	struct val *v = &cp->vals[ki];
	struct lookup_ctx ctx = {.keys = keys, .cpi = cpi};
	struct sg_key_limits l = limits_for(keys, ki, &ctx);
	char stored[SG_KEY_VALUE_MAX + 1], value[SG_KEY_VALUE_MAX + 1], why[WHY_MAX];
	int found = 0, rc;

	if (def->flags & SG_KEYF_VOLATILE) {
		/* Live state: keep what the owner set while it passes. */
		if (v->value != NULL) {
			snprintf(stored, sizeof(stored), "%s", v->value);
			found = 1;
		}
	} else {
		found = db_read(keys, cp->conf->id, def->name, stored, sizeof(stored));
		if (found < 0)
			return found;
		/* "" of such a key means the default, which is not stored */
		if (found && stored[0] == '\0' && (def->flags & SG_KEYF_EMPTY_DEFAULT))
			found = 0;
	}
	if (found && sg_key_check(def, &l, stored, value, sizeof(value), why, sizeof(why)) < 0) {
		if (def->flags & SG_KEYF_SECRET)
			sg_warn("cp \"%s\": stored %s is not valid any more (%s); using the "
			        "default",
			        cp->conf->id, def->name, why);
		else
			sg_warn("cp \"%s\": stored %s \"%s\" is not valid any more (%s); using "
			        "the default",
			        cp->conf->id, def->name, stored, why);
		found = 0;
	}
	if (!found)
		resolve_default(keys, cpi, ki, value, sizeof(value));

	*configured_changed = !same(v->configured, value);
	*effective_changed = false;
	if (*configured_changed && (rc = set_str(&v->configured, value)) < 0)
		return rc;
	if (initial || !(def->flags & SG_KEYF_REBOOT) || v->value == NULL) {
		*effective_changed = !same(v->value, value);
		if (*effective_changed && (rc = set_str(&v->value, value)) < 0)
			return rc;
	}
	return 0;
}

static void
notify(struct sg_keys *keys, const struct outcome *o)
{
	const struct cp *cp;

	if (!o->effective_changed || keys->on_change == NULL)
		return;
	cp = &keys->cps[o->cpi];
	keys->on_change(keys, cp->conf->id, keys->keys[o->ki].def, cp->vals[o->ki].value,
	                keys->change_ud);
}

/* Logs a refused change once, with the key and reason; never a secret's or a
 * password field's text. */
static enum sg_key_status
refuse(struct outcome *o, int err, const char *cp, const struct sg_key_def *def, bool external,
       const char *value, const char *why)
{
	const char *what = external ? "ChangeConfiguration of" : "setting";

	o->status = SG_KEY_REJECTED;
	o->err = err;
	if ((def->flags & (SG_KEYF_SECRET | SG_KEYF_REDACT)) || value == NULL)
		sg_notice("cp \"%s\": %s %s rejected: %s", cp, what, def->name, why);
	else
		sg_notice("cp \"%s\": %s %s to \"%s\" rejected: %s", cp, what, def->name, value,
		          why);
	return o->status;
}

static enum sg_key_status
apply(struct sg_keys *keys, const char *cp_id, const char *name, const char *value, bool external,
      struct outcome *o)
{
	char canon[SG_KEY_VALUE_MAX + 1], why[WHY_MAX];
	int ki = key_index(keys, name ? name : ""), cpi = cp_index(keys, cp_id);
	const struct sg_key_def *def;
	struct val *v;
	bool restore;

	memset(o, 0, sizeof(*o));
	o->status = SG_KEY_NOT_SUPPORTED;
	o->err = -ENOENT;
	if (ki < 0) {
		sg_notice("cp \"%s\": %s is not a key %s serves", cp_id ? cp_id : "",
		          name ? name : "", keys->svc->name);
		return o->status;
	}
	def = keys->keys[ki].def;
	if (cpi < 0) {
		sg_warn("cp \"%s\": not a charge point of this gateway; %s of it not changed",
		        cp_id ? cp_id : "", def->name);
		return o->status;
	}
	o->ki = (size_t)ki;
	o->cpi = (size_t)cpi;
	v = &keys->cps[cpi].vals[ki];

	if (external && (def->flags & SG_KEYF_RO))
		return refuse(o, -EROFS, cp_id, def, external, value, "read-only");
	if (value == NULL)
		return refuse(o, -EINVAL, cp_id, def, external, value, "no value");

	restore = value[0] == '\0' && (def->flags & SG_KEYF_EMPTY_DEFAULT);
	if (restore) {
		resolve_default(keys, (size_t)cpi, (size_t)ki, canon, sizeof(canon));
	} else {
		struct lookup_ctx ctx = {.keys = keys, .cpi = (size_t)cpi};
		struct sg_key_limits l = limits_for(keys, (size_t)ki, &ctx);

		if (sg_key_check(def, &l, value, canon, sizeof(canon), why, sizeof(why)) < 0)
			return refuse(o, -EINVAL, cp_id, def, external, value, why);
	}
	if (external && (def->flags & SG_KEYF_RAISE_ONLY)) {
		int64_t now, next;

		if (sg_key_parse_int(v->configured, &now) == 0 &&
		    sg_key_parse_int(canon, &next) == 0 && next < now) {
			snprintf(why, sizeof(why), "may only be raised (now %" PRId64 ")", now);
			return refuse(o, -EINVAL, cp_id, def, external, value, why);
		}
	}
	if (keys->on_check != NULL) {
		why[0] = '\0';
		if (keys->on_check(keys, cp_id, def, canon, why, sizeof(why), keys->check_ud) < 0)
			return refuse(o, -EINVAL, cp_id, def, external, value,
			              why[0] ? why : "refused by the owner");
	}

	/* Durable before anyone hears of it. */
	if (!(def->flags & SG_KEYF_VOLATILE) &&
	    db_write(keys, cp_id, def->name, restore ? NULL : canon) < 0)
		return refuse(o, -EIO, cp_id, def, external, NULL, "not stored");

	bool configured_changed = !same(v->configured, canon);
	if (configured_changed && set_str(&v->configured, canon) < 0)
		return refuse(o, -ENOMEM, cp_id, def, external, NULL, "out of memory");
	if ((def->flags & SG_KEYF_REBOOT) && !same(v->value, canon)) {
		o->status = SG_KEY_REBOOT_REQUIRED;
		o->err = 1;
	} else {
		o->effective_changed = !same(v->value, canon);
		if (o->effective_changed && set_str(&v->value, canon) < 0)
			return refuse(o, -ENOMEM, cp_id, def, external, NULL, "out of memory");
		o->status = SG_KEY_ACCEPTED;
		o->err = 0;
	}
	if (configured_changed) {
		const char *later =
		    o->status == SG_KEY_REBOOT_REQUIRED ? ", in effect after a restart" : "";

		if (def->flags & SG_KEYF_SECRET) {
			sg_info("cp \"%s\": %s changed%s", cp_id, def->name, later);
		} else if (!(def->flags & SG_KEYF_VOLATILE)) {
			char shown[SG_KEY_VALUE_MAX + 1];

			shown_value(def, canon, shown, sizeof(shown));
			sg_info("cp \"%s\": %s = \"%s\"%s", cp_id, def->name, shown, later);
		}
		publish(keys, (size_t)cpi, (size_t)ki);
	}
	return o->status;
}

static void
on_set(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct sg_keys *keys = ud;
	const struct sg_msg_cfg_set *req = in->msg;
	struct sg_msg_cfg_set_result res = {0};
	struct outcome o;
	int rc;

	apply(keys, in->args->cp, in->args->name, req ? req->value : NULL, true, &o);
	snprintf(res.status, sizeof(res.status), "%s", sg_key_status_name(o.status));
	if (in->response_topic == NULL) {
		sg_warn("cp \"%s\": cfg_set of %s without a response topic: handled, not answered",
		        in->args->cp, in->args->name);
	} else if ((rc = sg_bus_reply(bus, in, &res)) < 0) {
		sg_warn("cp \"%s\": cannot answer cfg_set of %s (%s): %s", in->args->cp,
		        in->args->name, res.status, strerror(-rc));
	}
	notify(keys, &o);
}

static int
serve(struct sg_keys *keys, size_t ki)
{
	const struct sg_key_def *def = keys->keys[ki].def;
	struct sg_topic_args a = {0};
	bool c, e;
	int rc;

	keys->keys[ki].served = true;
	for (size_t i = 0; i < keys->n_cps; i++) {
		rc = load_one(keys, i, ki, true, &c, &e);
		if (rc < 0)
			return rc;
		publish(keys, i, ki);
	}
	if (keys->svc->bus == NULL)
		return 0;
	snprintf(a.name, sizeof(a.name), "%s", def->name);
	rc = sg_bus_subscribe_args(keys->svc->bus, SG_MSG_cfg_set, &a, on_set, keys);
	if (rc < 0)
		sg_err("keys: cannot subscribe to changes of %s: %s", def->name, strerror(-rc));
	return rc;
}

/* ---- API -------------------------------------------------------------- */

struct sg_keys *
sg_keys_new(struct sg_service *svc, sqlite3 *db)
{
	struct sg_keys *keys = calloc(1, sizeof(*keys));
	size_t n = 0;

	if (keys == NULL)
		goto nomem;
	keys->svc = svc;
	if (db != NULL) {
		if (check_given_db(db) < 0)
			goto fail;
		keys->db = db;
	} else if (open_own_db(keys) < 0) {
		goto fail;
	}

	for (size_t i = 0; i < sg_key_n_defs; i++)
		n += strcmp(sg_key_defs[i].owner, svc->name) == 0;
	keys->keys = calloc(n ? n : 1, sizeof(*keys->keys));
	keys->n_cps = svc->conf.n_cps > 0 ? (size_t)svc->conf.n_cps : 0;
	keys->cps = calloc(keys->n_cps ? keys->n_cps : 1, sizeof(*keys->cps));
	if (keys->keys == NULL || keys->cps == NULL)
		goto nomem;
	/* Lists after the keys that bound them: a load in this order sees the
	 * *MaxLength values it checks against. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sg_key_n_defs; i++) {
			const struct sg_key_def *def = &sg_key_defs[i];

			if (strcmp(def->owner, svc->name) != 0 || (def->type == SG_KEY_CSL) != pass)
				continue;
			keys->keys[keys->n_keys++].def = def;
		}
	for (size_t i = 0; i < keys->n_cps; i++) {
		keys->cps[i].conf = &svc->conf.cps[i];
		keys->cps[i].vals = calloc(keys->n_keys ? keys->n_keys : 1, sizeof(struct val));
		if (keys->cps[i].vals == NULL)
			goto nomem;
	}
	for (size_t k = 0; k < keys->n_keys; k++)
		if (!(keys->keys[k].def->flags & SG_KEYF_OPTIN) && serve(keys, k) < 0)
			goto fail;
	/* The site's narrowing from sitegate.conf (ocpp_keys), for our own keys;
	 * the config loader has checked every entry against the key table. */
	for (int i = 0; i < svc->conf.n_key_overrides; i++) {
		const struct sg_key_override_conf *o = &svc->conf.key_overrides[i];
		const struct sg_key_def *d = sg_key_find(o->key);
		if (d && strcmp(d->owner, svc->name) == 0 &&
		    sg_keys_override(keys, o->key, sg_key_override_limits(o, d)) < 0)
			goto fail;
	}
	sg_debug("keys: %zu keys of %zu charge points loaded", keys->n_keys, keys->n_cps);
	return keys;
nomem:
	sg_err("keys: out of memory");
fail:
	sg_keys_free(keys);
	return NULL;
}

void
sg_keys_free(struct sg_keys *keys)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; keys->cps && i < keys->n_cps; i++) {
		for (size_t k = 0; keys->cps[i].vals && k < keys->n_keys; k++) {
			struct val *v = &keys->cps[i].vals[k];

			/* Secrets do not linger in freed memory. */
			if (keys->keys[k].def->flags & SG_KEYF_SECRET) {
				if (v->value)
					explicit_bzero(v->value, strlen(v->value));
				if (v->configured)
					explicit_bzero(v->configured, strlen(v->configured));
			}
			free(v->value);
			free(v->configured);
		}
		free(keys->cps[i].vals);
	}
	for (size_t k = 0; keys->keys && k < keys->n_keys; k++) {
		free(keys->keys[k].site_def);
		free(keys->keys[k].site_members);
	}
	free(keys->cps);
	free(keys->keys);
	if (keys->own_db)
		sg_store_close(keys->db);
	free(keys);
}

int
sg_keys_override(struct sg_keys *keys, const char *name, struct sg_key_limits limits)
{
	const struct sg_key_def *def = sg_key_find(name);
	char why[WHY_MAX], *d = NULL, *m = NULL;
	struct key *k = NULL;
	int rc;

	for (size_t i = 0; def && i < keys->n_keys; i++)
		if (keys->keys[i].def == def)
			k = &keys->keys[i];
	if (k == NULL) {
		sg_err("keys: %s is not a key of %s; its limits are ignored", name ? name : "",
		       keys->svc->name);
		return -ENOENT;
	}
	limits.lookup = NULL;
	limits.lookup_ud = NULL;
	if (sg_key_limits_check(def, &limits, why, sizeof(why)) < 0) {
		sg_err("keys: limits of %s: %s", def->name, why);
		return -EINVAL;
	}
	if ((limits.def && (d = strdup(limits.def)) == NULL) ||
	    (limits.members && (m = strdup(limits.members)) == NULL)) {
		free(d);
		free(m);
		return -ENOMEM;
	}
	free(k->site_def);
	free(k->site_members);
	k->site_def = d;
	k->site_members = m;
	k->site = limits;
	k->site.def = d;
	k->site.members = m;

	if ((def->flags & SG_KEYF_OPTIN) && limits.enable && !k->served)
		return serve(keys, (size_t)(k - keys->keys));

	/* Everything again: the key may bound a list or be bounded. */
	for (size_t i = 0; i < keys->n_cps; i++) {
		for (size_t ki = 0; ki < keys->n_keys; ki++) {
			struct outcome o = {.cpi = i, .ki = ki};
			bool configured_changed;

			if (!keys->keys[ki].served)
				continue;
			rc =
			    load_one(keys, i, ki, false, &configured_changed, &o.effective_changed);
			if (rc < 0)
				return rc;
			if (configured_changed)
				publish(keys, i, ki);
			notify(keys, &o);
		}
	}
	return 0;
}

void
sg_keys_on_change(struct sg_keys *keys, sg_keys_change_fn *fn, void *ud)
{
	keys->on_change = fn;
	keys->change_ud = ud;
}

void
sg_keys_on_check(struct sg_keys *keys, sg_keys_check_fn *fn, void *ud)
{
	keys->on_check = fn;
	keys->check_ud = ud;
}

const char *
sg_keys_get(struct sg_keys *keys, const char *cp, const char *name)
{
	int cpi = cp_index(keys, cp), ki = keys && name ? key_index(keys, name) : -1;

	if (cpi < 0 || ki < 0)
		return NULL;
	return keys->cps[cpi].vals[ki].value;
}

int64_t
sg_keys_get_int(struct sg_keys *keys, const char *cp, const char *name)
{
	const char *v = sg_keys_get(keys, cp, name);
	int64_t n;

	return v != NULL && sg_key_parse_int(v, &n) == 0 ? n : 0;
}

bool
sg_keys_get_bool(struct sg_keys *keys, const char *cp, const char *name)
{
	const char *v = sg_keys_get(keys, cp, name);
	bool b;

	return v != NULL && sg_key_parse_bool(v, &b) == 0 && b;
}

int
sg_keys_set(struct sg_keys *keys, const char *cp, const char *name, const char *value)
{
	struct outcome o;

	apply(keys, cp, name, value, false, &o);
	notify(keys, &o);
	return o.err;
}

enum sg_key_status
sg_keys_apply(struct sg_keys *keys, const char *cp, const char *name, const char *value)
{
	struct outcome o;

	apply(keys, cp, name, value, true, &o);
	notify(keys, &o);
	return o.status;
}
