/* Reservations of one charge point (OCPP 1.6, 3.11, 5.13 ReserveNow, 5.1
 * CancelReservation): a connector, or with connector 0 any connector, kept for
 * an idTag (or any idTag sharing its parentIdTag) until expiryDate. */
#ifndef AUTH_RESERVATION_H
#define AUTH_RESERVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "idtag.h"

/* A connector's OCPP status, from the connector service's retained conn_state. */
enum auth_conn_status {
	AUTH_CONN_UNKNOWN, /* no conn_state seen */
	AUTH_CONN_AVAILABLE,
	AUTH_CONN_PREPARING,
	AUTH_CONN_CHARGING,
	AUTH_CONN_SUSPENDED_EV,
	AUTH_CONN_SUSPENDED_EVSE,
	AUTH_CONN_FINISHING,
	AUTH_CONN_RESERVED,
	AUTH_CONN_UNAVAILABLE,
	AUTH_CONN_FAULTED,
};
/* ChargePointStatus as OCPP spells it; AUTH_CONN_UNKNOWN for anything else. */
enum auth_conn_status auth_conn_status_parse(const char *s);

struct auth_resv {
	int64_t id; /* reservationId */
	int conn;   /* 0: any connector of the charge point */
	char id_tag[AUTH_ID_MAX + 1];
	char parent[AUTH_ID_MAX + 1]; /* "": none */
	int64_t expiry;               /* Unix ms */
};

struct auth_resvs {
	struct auth_resv *v;
	size_t n, cap;
};

void auth_resvs_fini(struct auth_resvs *rs);
const struct auth_resv *auth_resv_find(const struct auth_resvs *rs, int64_t id);
/* The reservation a connector shows: its own for conn >= 1; for conn 0 the
 * connector-0 reservation that expires first. Expired ones are ignored. NULL: none. */
const struct auth_resv *auth_resv_on(const struct auth_resvs *rs, int conn, int64_t now);
/* Adds r, replacing the reservation with the same id. Returns 0 or -ENOMEM. */
int auth_resv_put(struct auth_resvs *rs, const struct auth_resv *r);
/* Removes reservation id, copying it to removed (may be NULL). false: unknown. */
bool auth_resv_remove(struct auth_resvs *rs, int64_t id, struct auth_resv *removed);
/* Removes one reservation whose expiryDate has come, copying it to out. */
bool auth_resv_pop_expired(struct auth_resvs *rs, int64_t now, struct auth_resv *out);
/* The earliest expiryDate, 0 when there are no reservations. */
int64_t auth_resv_next_expiry(const struct auth_resvs *rs);

/* The connectors as the rules see them: conns[0] is connector 0 (the charge
 * point), conns[1..n] the connectors. */
struct auth_site {
	const enum auth_conn_status *conns;
	int n;
	bool zero_supported; /* ReserveConnectorZeroSupported */
	int64_t now;
};

enum auth_reserve_status {
	AUTH_RESERVE_ACCEPTED,
	AUTH_RESERVE_FAULTED,
	AUTH_RESERVE_OCCUPIED,
	AUTH_RESERVE_REJECTED,
	AUTH_RESERVE_UNAVAILABLE,
};
const char *auth_reserve_status_name(enum auth_reserve_status s);

/* ReserveNow for req (replacing a reservation with the same id):
 *   expiryDate past, no such connector, connector 0 without
 *   ReserveConnectorZeroSupported                                 Rejected
 *   the charge point (connector 0) Faulted / Unavailable          Faulted / Unavailable
 *   connector >= 1: Faulted; Unavailable (or state unknown)       Faulted; Unavailable
 *   connector >= 1: in use, reserved by another reservation, or
 *   the last free one while connector-0 reservations need it      Occupied
 *   connector 0: no connector left free beyond the other
 *   connector-0 reservations                                      Occupied (Faulted /
 *                                                                 Unavailable when all are)
 *   otherwise                                                     Accepted
 * A connector is free when it is Available (or shows Reserved) and holds no
 * reservation of its own. */
enum auth_reserve_status auth_resv_check(const struct auth_resvs *rs, const struct auth_resv *req,
                                         const struct auth_site *site);

/* May idTag id start on connector conn? */
enum auth_resv_fit {
	AUTH_RESV_FREE,        /* no reservation stands in the way */
	AUTH_RESV_HOLDER,      /* it holds a reservation (*resv_id), which the start consumes */
	AUTH_RESV_NEED_PARENT, /* it depends on id's parentIdTag: ask again with it */
	AUTH_RESV_REFUSED,     /* reserved for someone else */
};
/* parent: id's parentIdTag ("" none), or NULL while unknown. The connector's
 * own reservation decides; else every connector-0 reservation must still find
 * a free connector after this one is taken, unless id holds one of them. */
enum auth_resv_fit auth_resv_start(const struct auth_resvs *rs, const struct auth_site *site,
                                   int conn, const char *id, const char *parent, int64_t *resv_id);

#endif
