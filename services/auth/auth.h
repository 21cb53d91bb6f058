/* sitegate-auth's decisions: pure logic, no bus, no SQLite, no clock of its
 * own (every function that needs the time takes `now`, Unix ms).
 *
 *   tagmap.c       a hash map of idTags (CiString20: compared without case)
 *   cache.c        the authorization cache: bounded, least recently used out
 *   locallist.c    the local authorization list and the SendLocalList rules
 *   reservation.c  reservations and the ReserveNow / start rules
 *   auth.c         the decision tables and the flow of one auth_request
 *   auth_ocpp.c    OCPP 1.6 payloads (IdTagInfo, SendLocalList, ReserveNow)
 *
 * auth_store.c (SQLite) and auth_io.c (the bus) touch the world; main.c wires. */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idtag.h"
#include "cache.h"
#include "locallist.h"
#include "reservation.h"

/* The OCPP configuration keys the decisions read, for one charge point. */
struct auth_keys {
	bool list_enabled;          /* LocalAuthListEnabled */
	bool cache_enabled;         /* AuthorizationCacheEnabled */
	bool pre_authorize;         /* LocalPreAuthorize */
	bool authorize_offline;     /* LocalAuthorizeOffline */
	bool allow_unknown_offline; /* AllowOfflineTxForUnknownId */
	bool authorize_remote;      /* AuthorizeRemoteTxRequests */
	bool stop_on_invalid;       /* StopTransactionOnInvalidId */
	bool zero_supported;        /* ReserveConnectorZeroSupported */
	int64_t max_energy_wh;      /* MaxEnergyOnInvalidId; 0: none */
};

enum auth_purpose {
	AUTH_START,  /* an idTag presented to start (RFID) */
	AUTH_REMOTE, /* RemoteStartTransaction */
	AUTH_STOP,   /* an idTag presented during a transaction */
};
/* "start", "remote", "stop". Returns 0 or -EINVAL. */
int auth_purpose_parse(const char *s, enum auth_purpose *out);

/* What decided (auth_result.source). */
enum auth_source {
	AUTH_SRC_NONE,
	AUTH_SRC_LIST,
	AUTH_SRC_CACHE,
	AUTH_SRC_CSMS,
	AUTH_SRC_UNKNOWN,
	AUTH_SRC_REMOTE,
	AUTH_SRC_TX_TAG,
	AUTH_SRC_RESERVATION,
};
const char *auth_source_name(enum auth_source src);

/* ---- decision tables --------------------------------------------------- */

/* What the charge point knows about an idTag without asking: the list entry
 * when the list is enabled and holds it (list entries take priority), else the
 * cache entry when the cache is enabled and holds it. */
struct auth_local {
	enum auth_source src;    /* AUTH_SRC_NONE, _LIST or _CACHE */
	enum auth_status status; /* in effect at the lookup (expiry applied) */
	char parent[AUTH_ID_MAX + 1];
};

/* Looks id up. touch: mark a cache hit as used (least-recently-used order). */
struct auth_local auth_local_lookup(const struct auth_keys *keys, const struct auth_list *list,
                                    struct auth_cache *cache, const char *id, int64_t now,
                                    bool touch);

enum auth_step {
	AUTH_DONE, /* decided: status, src */
	AUTH_ASK,  /* send Authorize.req and decide on its answer */
};

struct auth_verdict {
	enum auth_step step;
	enum auth_status status;
	enum auth_source src;
	bool offline; /* decided without the Central System */
};

/* Starting (purpose start or remote):
 *   remote and AuthorizeRemoteTxRequests false     Accepted (source remote)
 *   online, list/cache Accepted, LocalPreAuthorize  Accepted at once (list/cache)
 *   online otherwise                                 ask the Central System
 *   offline                                          auth_decide_offline() */
struct auth_verdict auth_decide_start(const struct auth_keys *keys, enum auth_purpose purpose,
                                      bool online, const struct auth_local *local);
/* Offline, or the Central System could not be asked:
 *   known, not Accepted (Blocked, Expired, Invalid,
 *   ConcurrentTx, or Accepted but past expiryDate)   refused with that status
 *   known Accepted and LocalAuthorizeOffline          Accepted (list/cache)
 *   AllowOfflineTxForUnknownId (unknown, or known
 *   Accepted while LocalAuthorizeOffline is false)    Accepted (unknown)
 *   otherwise                                         Invalid (unknown) */
struct auth_verdict auth_decide_offline(const struct auth_keys *keys,
                                        const struct auth_local *local);
/* The Central System's IdTagInfo: its status, Expired when already past its
 * expiryDate. */
struct auth_verdict auth_decide_answer(const struct auth_info *info, int64_t now);

/* Stopping with another idTag than the one that started the transaction: the
 * presented idTag must be Accepted (or ConcurrentTx: it may be charging
 * elsewhere) and have the transaction idTag's parentIdTag. */
bool auth_stop_allowed(enum auth_status presented, const char *parent, const char *tx_parent);

/* A transaction whose StartTransaction.conf said something else than Accepted. */
enum auth_tx_action {
	AUTH_TX_NONE,
	AUTH_TX_WATCH,   /* let MaxEnergyOnInvalidId flow first; decide again on each reading */
	AUTH_TX_STOP,    /* StopTransactionOnInvalidId: stop, reason DeAuthorized */
	AUTH_TX_SUSPEND, /* stop the energy, keep the transaction */
};
/* used_wh: energy delivered since the transaction started; energy_known false
 * while there is no reading. */
enum auth_tx_action auth_decide_invalid_tx(const struct auth_keys *keys, bool energy_known,
                                           double used_wh);
const char *auth_tx_action_name(enum auth_tx_action a);

/* ---- the flow of one auth_request --------------------------------------- */

/* One charge point as the flow sees it. */
struct auth_ctx {
	const struct auth_keys *keys;
	const struct auth_list *list;
	struct auth_cache *cache;
	const struct auth_resvs *resvs;
	const enum auth_conn_status *conns; /* [0..n_conns]: connector 0 and 1..n */
	int n_conns;
	bool online;
	int64_t now;
};

struct auth_flow {
	enum auth_purpose purpose;
	int conn;
	char id[AUTH_ID_MAX + 1];
	char tx_id[AUTH_ID_MAX + 1];     /* stop: the idTag that started the transaction */
	char tx_parent[AUTH_ID_MAX + 1]; /* stop: its parentIdTag when known */
	bool tx_parent_known;
	/* progress, for auth_flow_answer() */
	bool asking_tx;               /* the Authorize.req outstanding is for tx_id */
	struct auth_local local;      /* id, looked up at the start */
	struct auth_verdict verdict;  /* id, once decided */
	char parent[AUTH_ID_MAX + 1]; /* id's parentIdTag once known */
	bool parent_known;
	int64_t resv_id;       /* the reservation this start would consume */
	bool resv_need_parent; /* it may: if id's parentIdTag is the reservation's */
};

struct auth_flow_out {
	bool done;
	char ask[AUTH_ID_MAX + 1]; /* !done: send Authorize.req for this idTag */
	/* done: the answer */
	enum auth_status status;
	enum auth_source src;
	bool offline;
	char parent[AUTH_ID_MAX + 1];
	int64_t resv_id;
};

/* Sets up f for a request and takes the first step. tx_parent: the parentIdTag
 * of tx_id when the caller knows it (NULL: unknown). */
void auth_flow_begin(struct auth_flow *f, struct auth_ctx *ctx, enum auth_purpose purpose, int conn,
                     const char *id, const char *tx_id, const char *tx_parent,
                     struct auth_flow_out *out);
/* The answer to the Authorize.req asked for: info, or NULL when the Central
 * System could not be asked (offline, not registered, timeout, CALLERROR). The
 * caller has learned info into the cache already. */
void auth_flow_answer(struct auth_flow *f, struct auth_ctx *ctx, const struct auth_info *info,
                      struct auth_flow_out *out);

#endif
