/* The runtime of the OCPP configuration keys a service owns (see ocpp_keys.h).
 *
 * sg_keys_new() takes every key of the table whose owner is svc->name (opt-in
 * keys only once a site enables them) for every charge point of svc->conf:
 *   - the value is the stored one, else the default: the site's
 *     (sg_keys_override), else the charge point's (e.g. NumberOfConnectors from
 *     its connectors), else the table's; a stored value that no longer passes the
 *     key's check is logged and the default used instead;
 *   - publishes a retained cfg_key per key and charge point (never for secrets);
 *   - subscribes <prefix>/+/config/<Key>/set for each key, with the table's
 *     spelling of the name, and answers cfg_set with cfg_set_result:
 *       Accepted        valid, stored, in effect;
 *       RebootRequired  valid and stored, in effect after a restart;
 *       Rejected        read-only, invalid, out of range, vetoed by the owner,
 *                       or not stored (I/O error);
 *       NotSupported    a charge point that is not configured here.
 *     The order is: check, store durably, publish cfg_key, answer, then the
 *     owner's change callback. Publishing before answering lets a GetConfiguration
 *     right after the ChangeConfiguration.conf see the new value.
 *
 * Storage: by default the keys live in their own database
 * <state_dir>/<service>/keys.db, opened SG_STORE_DURABLE (a committed value
 * survives power loss) and made mode 0600 (it holds AuthorizationKey). A service
 * may pass its own database instead; it must then include sg_keys_schema_sql as
 * one of its migrations and open it SG_STORE_DURABLE.
 *
 * A secret key (AuthorizationKey) is stored, handed to its owner by
 * sg_keys_get() and the change callback, and never published or logged.
 *
 * The bus has no unsubscribe: create the keys once per bus and free them after
 * the loop has stopped, before the bus. */
#ifndef SITEGATE_KEYS_H
#define SITEGATE_KEYS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocpp_keys.h"
#include "service.h"

/* The answers of ChangeConfiguration. */
enum sg_key_status {
	SG_KEY_ACCEPTED,
	SG_KEY_REJECTED,
	SG_KEY_REBOOT_REQUIRED,
	SG_KEY_NOT_SUPPORTED,
};

struct sg_keys;

/* A key's value in effect changed (value: the new one, the secret included).
 * Not called for a RebootRequired change: that takes effect after the restart. */
typedef void sg_keys_change_fn(struct sg_keys *keys, const char *cp, const struct sg_key_def *def,
                               const char *value, void *ud);
/* The owner's own veto, after the table's check: return 0, or -EINVAL with the
 * reason (e.g. SecurityProfile 3 without a client certificate). */
typedef int sg_keys_check_fn(struct sg_keys *keys, const char *cp, const struct sg_key_def *def,
                             const char *value, char *why, size_t why_len, void *ud);

/* Migration SQL for a service that keeps the keys in its own database. */
extern const char sg_keys_schema_sql[];

/* Loads, publishes and subscribes as above. db: the service's database holding
 * the sg_keys_schema_sql table (borrowed), or NULL for keys.db. svc is borrowed
 * and must outlive the keys; svc->bus may be NULL (nothing published). Returns
 * NULL on failure, logged. */
struct sg_keys *sg_keys_new(struct sg_service *svc, sqlite3 *db);
/* Closes keys.db when it opened it. Accepts NULL. */
void sg_keys_free(struct sg_keys *keys);

/* Narrows a key for this site (see struct sg_key_limits; lookup is ignored) and
 * re-evaluates its values: a default that changes is published (and reported to
 * the change callback), a stored value outside the new limits falls back to the
 * default. Enables an opt-in key with limits.enable. Call it right after
 * sg_keys_new(), before the loop runs. Returns 0, -ENOENT for a key this service
 * does not own, or -EINVAL (logged with the reason). */
int sg_keys_override(struct sg_keys *keys, const char *name, struct sg_key_limits limits);

void sg_keys_on_change(struct sg_keys *keys, sg_keys_change_fn *fn, void *ud);
void sg_keys_on_check(struct sg_keys *keys, sg_keys_check_fn *fn, void *ud);

/* The value in effect ("" for an unset secret), or NULL for a key this service
 * does not serve or an unknown charge point. Valid until the key changes. */
const char *sg_keys_get(struct sg_keys *keys, const char *cp, const char *name);
/* Typed views of sg_keys_get(); 0 and false when missing. */
int64_t sg_keys_get_int(struct sg_keys *keys, const char *cp, const char *name);
bool sg_keys_get_bool(struct sg_keys *keys, const char *cp, const char *name);

/* An internal change by the owner (HeartbeatInterval from BootNotification.conf,
 * OEM_NetState): checked like a ChangeConfiguration but allowed on read-only
 * keys, stored (unless volatile), published, reported to the change callback.
 * Returns 0 (in effect), 1 (stored, in effect after a restart), -EINVAL
 * (rejected, logged), -ENOENT (not served here) or -EIO (not stored). */
int sg_keys_set(struct sg_keys *keys, const char *cp, const char *name, const char *value);

/* What the cfg_set handler does without the bus reply: a ChangeConfiguration of
 * name for cp. For tests, and for an owner that receives the request elsewhere. */
enum sg_key_status sg_keys_apply(struct sg_keys *keys, const char *cp, const char *name,
                                 const char *value);
/* "Accepted", "Rejected", "RebootRequired", "NotSupported". */
const char *sg_key_status_name(enum sg_key_status status);

#endif
