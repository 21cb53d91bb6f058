/* sitegate-auth's SQLite file, <state_dir>/auth/auth.db, opened SG_STORE_DURABLE:
 * local lists with their versions, authorization caches, reservations, the
 * transactions the service follows, and its OCPP configuration keys. Rows are
 * per charge point, side by side. Every write is committed before the caller
 * acts on it; failures are logged here, once, and returned as -EIO. */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <sqlite3.h>

#include "auth.h"

struct auth_store;

/* A transaction the service follows (from tx_event). */
struct auth_store_tx {
	int64_t tx_ref;
	int conn;
	char id_tag[AUTH_ID_MAX + 1];
	char parent[AUTH_ID_MAX + 1];
	bool parent_known;
	double start_wh;
	bool start_known;
	int64_t started; /* Unix ms */
	bool stopped;
	int action; /* enum auth_tx_action */
};

int auth_store_open(const char *path, struct auth_store **out);
void auth_store_close(struct auth_store *s);
/* The database, for sg_keys_new(). */
sqlite3 *auth_store_db(struct auth_store *s);

int auth_store_load_list(struct auth_store *s, const char *cp, struct auth_list *l);
/* Loads the cache oldest first; entries beyond the cache's size (a smaller
 * auth.cache_max_entries than before) are evicted and deleted. */
int auth_store_load_cache(struct auth_store *s, const char *cp, struct auth_cache *c);
int auth_store_load_resvs(struct auth_store *s, const char *cp, struct auth_resvs *rs);
typedef int auth_store_tx_fn(const struct auth_store_tx *tx, void *ud);
int auth_store_load_txs(struct auth_store *s, const char *cp, auth_store_tx_fn *fn, void *ud);

/* A SendLocalList that passed the rules, in one transaction with the version;
 * on failure nothing changed. */
int auth_store_list_update(struct auth_store *s, const char *cp, const struct auth_list_update *u);

/* Stores an IdTagInfo learned for id, deleting the evicted idTag ("" none). */
int auth_store_cache_put(struct auth_store *s, const char *cp, const char *id,
                         const struct auth_info *info, int64_t used, const char *evicted);
int auth_store_cache_touch(struct auth_store *s, const char *cp, const char *id, int64_t used);
int auth_store_cache_del(struct auth_store *s, const char *cp, const char *id);
int auth_store_cache_clear(struct auth_store *s, const char *cp);

int auth_store_resv_put(struct auth_store *s, const char *cp, const struct auth_resv *r);
int auth_store_resv_del(struct auth_store *s, const char *cp, int64_t id);

int auth_store_tx_put(struct auth_store *s, const char *cp, const struct auth_store_tx *tx);
int auth_store_tx_del(struct auth_store *s, const char *cp, int64_t tx_ref);
/* Forgets transactions that started before `before` (Unix ms): their outcome
 * will not come any more. */
int auth_store_tx_prune(struct auth_store *s, int64_t before);

#endif
