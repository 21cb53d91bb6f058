/* The ocpp-bridge's shared types. One process holds every charge point of the
 * gateway: one WebSocket, one RPC engine and one protocol state each, all on
 * the single libwebsockets event loop.
 *
 *   ws.c     the WebSocket transport (dial, TLS, Basic auth, ping, frames)
 *   cp.c     the charge point's protocol (boot, heartbeat, status, queue)
 *   route.c  the bus side (calls routed to owners, sends, keys, state)
 *   main.c   wiring */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "sitegate/keys.h"
#include "sitegate/service.h"

#include "rpc.h"
#include "txqueue.h"

#define BRIDGE_CALL_TIMEOUT_MS  30000 /* our CALLs to the CSMS */
#define BRIDGE_OWNER_TIMEOUT_MS 20000 /* a service answering a CSMS call */
#define BRIDGE_DIAL_SPACING_MS  50    /* at most 20 dials a second across the gateway */
#define BRIDGE_BACKOFF_MIN_MS   1000
#define BRIDGE_BACKOFF_MAX_MS   60000
#define BRIDGE_BOOT_RETRY_S     30 /* after a failed BootNotification, or interval 0 */

enum cp_link {
	LINK_IDLE,       /* waiting to dial at dial_at */
	LINK_CONNECTING, /* TCP/TLS/HTTP upgrade under way */
	LINK_OPEN,
};

enum cp_reg {
	REG_NONE, /* nothing sent on this connection yet */
	REG_BOOTING,
	REG_PENDING,
	REG_REJECTED,
	REG_ACCEPTED,
};

/* The latest status of a connector, from the connector service's retained
 * conn_state, and whether the CSMS has heard it. */
struct cp_conn {
	char status[17];
	char error_code[33];
	char info[51];
	char vendor_error_code[51];
	int64_t since;
	uint32_t version;      /* bumped on every change */
	uint32_t sent_version; /* the version the CSMS acknowledged */
	bool known;
	bool in_flight;
};

struct frame {
	struct frame *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
};

struct cp_key_entry; /* route.c: the configuration keys services publish */

struct cp {
	struct bridge *br;
	int index;
	const struct sg_cp_conf *conf;
	char id[64];   /* the identity used to connect (VendorChargePointName may change it) */
	char url[512]; /* the URL dialled last, without credentials (cp_state) */

	struct rpc *rpc;
	struct lws *wsi;
	enum cp_link link;
	enum cp_reg reg;
	uint32_t generation; /* connections so far: answers for an older one are stale */
	int64_t dial_at;
	int64_t backoff_ms;
	int64_t boot_at; /* next BootNotification while Pending/Rejected/failed */
	int64_t last_sent;
	bool heartbeat_in_flight;
	int64_t ping_at, pong_deadline;
	bool ping_due;
	int64_t tx_in_flight; /* queue seq of the transaction message sent, 0: none */
	int64_t tx_ref_in_flight;
	int64_t tx_id_in_flight; /* the transactionId it was sent with (0: StartTransaction) */
	const char *tx_action;   /* static string from txqueue */
	int64_t wake_at;
	lws_sorted_usec_list_t sul;

	struct frame *out_head, *out_tail;
	char *rx;
	size_t rx_len, rx_cap;

	struct cp_conn conns[SG_MAX_CONNECTORS + 1];
	struct cp_key_entry *keys;
	size_t n_keys, cap_keys;

	/* what cp_state last said, to publish only changes */
	struct sg_msg_cp_state published;
	int64_t since;
	uint64_t reconnects;
	bool clock_trusted;
	int64_t clock_offset_ms; /* CSMS time minus our wall clock */
	bool closing;            /* a close we asked for: redial without backoff growth */
	bool resetting;          /* a Reset is under way (remote.c) */
	bool close_after_flush;  /* close once the queued frames are out (new settings) */
};

struct owner;
struct seen_service;
struct vendor;

struct bridge {
	struct sg_service svc;
	struct lws_context *ctx;
	struct lws_vhost *vhost; /* plain ws:// and the raw descriptors */
	struct tls_vhost *tls_vhosts;
	struct txq *txq;
	sqlite3 *db;
	struct sg_keys *keys;
	struct cp *cps;
	int n_cps;
	int64_t next_dial;
	struct owner *owners;
	struct seen_service *services;
	struct vendor *vendors; /* DataTransfer routing (remote.c) */
	bool stopping;
};

/* main.c */
int64_t bridge_now(void); /* monotonic ms */
const struct lws_protocols *bridge_protocols(void);

/* ws.c */
extern const struct lws_protocols bridge_ws_protocol;
void ws_dial(struct cp *cp);
int ws_send(struct cp *cp, const char *text, size_t len);
void ws_close(struct cp *cp, const char *why);
void ws_schedule_dial(struct cp *cp, bool after_failure);
/* Whether the charge point can connect with security profile `profile` and
 * VendorWebsocketSettings `vendor` (NULL: the current ones): 0, or -EINVAL
 * with the reason in why. */
int ws_target_check(struct cp *cp, int profile, const char *vendor, char *why, size_t why_len);
void bridge_tls_vhosts_free(struct bridge *br);

/* cp.c */
int cp_init(struct bridge *br, struct cp *cp, int index, const struct sg_cp_conf *conf);
void cp_fini(struct cp *cp);
void cp_kick(struct cp *cp);
void cp_wake(struct cp *cp, int64_t at);
void cp_link_up(struct cp *cp);
void cp_link_down(struct cp *cp, const char *why);
void cp_pong(struct cp *cp);
bool cp_registered(const struct cp *cp);
void cp_connector_state(struct cp *cp, int conn, const struct sg_msg_conn_state *st);
void cp_publish_state(struct cp *cp);
/* TriggerMessage of BootNotification, Heartbeat or StatusNotification (conn -1: all). */
void cp_trigger(struct cp *cp, const char *message, int conn);
extern const struct rpc_ops cp_rpc_ops;
/* Our CALL for a service (ocpp_send): the request to answer when it ends. */
int cp_send_for_service(struct cp *cp, const char *action, json_t *payload,
                        const struct sg_bus_in *in);

/* remote.c: Reset, TriggerMessage, DataTransfer. remote_call() answers the
 * call and returns true when the action is one of those. */
bool remote_call(struct cp *cp, const char *unique_id, const char *action, json_t *payload);
int remote_init(struct bridge *br);
void remote_fini(struct bridge *br);

/* route.c */
int route_init(struct bridge *br);
void route_fini(struct bridge *br);
bool route_service_online(struct bridge *br, const char *svc);
struct cp *bridge_cp(struct bridge *br, const char *id);
/* A validated CSMS call: answered by the bridge or routed to its owner. */
void route_call(struct cp *cp, const char *unique_id, const char *action, json_t *payload);

#endif
