/* Reservations and their rules. A charge point holds few reservations (one per
 * connector plus those of connector 0), so a small array does. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reservation.h"

#define NO_SKIP INT64_MIN /* every reservation counts */

static const char *const conn_names[] = {
    [AUTH_CONN_AVAILABLE] = "Available",
    [AUTH_CONN_PREPARING] = "Preparing",
    [AUTH_CONN_CHARGING] = "Charging",
    [AUTH_CONN_SUSPENDED_EV] = "SuspendedEV",
    [AUTH_CONN_SUSPENDED_EVSE] = "SuspendedEVSE",
    [AUTH_CONN_FINISHING] = "Finishing",
    [AUTH_CONN_RESERVED] = "Reserved",
    [AUTH_CONN_UNAVAILABLE] = "Unavailable",
    [AUTH_CONN_FAULTED] = "Faulted",
};

static const char *const reserve_names[] = {
    [AUTH_RESERVE_ACCEPTED] = "Accepted",       [AUTH_RESERVE_FAULTED] = "Faulted",
    [AUTH_RESERVE_OCCUPIED] = "Occupied",       [AUTH_RESERVE_REJECTED] = "Rejected",
    [AUTH_RESERVE_UNAVAILABLE] = "Unavailable",
};

enum auth_conn_status
auth_conn_status_parse(const char *s)
{
	for (size_t i = 1; s && i < sizeof(conn_names) / sizeof(conn_names[0]); i++)
		if (strcmp(s, conn_names[i]) == 0)
			return (enum auth_conn_status)i;
	return AUTH_CONN_UNKNOWN;
}

const char *
auth_reserve_status_name(enum auth_reserve_status s)
{
	if ((unsigned)s >= sizeof(reserve_names) / sizeof(reserve_names[0]))
		return "Rejected";
	return reserve_names[s];
}

void
auth_resvs_fini(struct auth_resvs *rs)
{
	if (rs == NULL)
		return;
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

const struct auth_resv *
auth_resv_find(const struct auth_resvs *rs, int64_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].id == id)
			return &rs->v[i];
	return NULL;
}

static bool
active(const struct auth_resv *r, int64_t now)
{
	return r->expiry > now;
}

const struct auth_resv *
auth_resv_on(const struct auth_resvs *rs, int conn, int64_t now)
{
	const struct auth_resv *best = NULL;

	for (size_t i = 0; i < rs->n; i++) {
		const struct auth_resv *r = &rs->v[i];

		if (r->conn != conn || !active(r, now))
			continue;
		if (best == NULL || r->expiry < best->expiry)
			best = r;
	}
	return best;
}

int
auth_resv_put(struct auth_resvs *rs, const struct auth_resv *r)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->v[i].id == r->id) {
			rs->v[i] = *r;
			return 0;
		}
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 4;
		struct auth_resv *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

static void
remove_at(struct auth_resvs *rs, size_t i, struct auth_resv *removed)
{
	if (removed)
		*removed = rs->v[i];
	rs->v[i] = rs->v[--rs->n];
}

bool
auth_resv_remove(struct auth_resvs *rs, int64_t id, struct auth_resv *removed)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->v[i].id == id) {
			remove_at(rs, i, removed);
			return true;
		}
	}
	return false;
}

bool
auth_resv_pop_expired(struct auth_resvs *rs, int64_t now, struct auth_resv *out)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (!active(&rs->v[i], now)) {
			remove_at(rs, i, out);
			return true;
		}
	}
	return false;
}

int64_t
auth_resv_next_expiry(const struct auth_resvs *rs)
{
	int64_t next = 0;

	for (size_t i = 0; i < rs->n; i++)
		if (next == 0 || rs->v[i].expiry < next)
			next = rs->v[i].expiry;
	return next;
}

/* ---- rules ------------------------------------------------------------- */

/* An active reservation of connector conn (>= 1) other than reservation skip. */
static const struct auth_resv *
own_reservation(const struct auth_resvs *rs, int conn, int64_t skip, int64_t now)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct auth_resv *r = &rs->v[i];

		if (r->conn == conn && r->id != skip && active(r, now))
			return r;
	}
	return NULL;
}

/* Free connectors other than `except`, not counting reservation skip. */
static int
count_free(const struct auth_resvs *rs, const struct auth_site *site, int except, int64_t skip)
{
	int n = 0;

	for (int k = 1; k <= site->n; k++) {
		enum auth_conn_status s = site->conns[k];

		if (k == except || (s != AUTH_CONN_AVAILABLE && s != AUTH_CONN_RESERVED))
			continue;
		if (own_reservation(rs, k, skip, site->now) == NULL)
			n++;
	}
	return n;
}

/* Active connector-0 reservations other than skip. */
static int
count_zero(const struct auth_resvs *rs, int64_t skip, int64_t now)
{
	int n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->v[i].conn == 0 && rs->v[i].id != skip && active(&rs->v[i], now);
	return n;
}

enum auth_reserve_status
auth_resv_check(const struct auth_resvs *rs, const struct auth_resv *req,
                const struct auth_site *site)
{
	enum auth_conn_status cp = site->conns[0];

	if (req->expiry <= site->now || req->conn < 0 || req->conn > site->n)
		return AUTH_RESERVE_REJECTED;
	if (req->conn == 0 && !site->zero_supported)
		return AUTH_RESERVE_REJECTED;
	if (cp == AUTH_CONN_FAULTED)
		return AUTH_RESERVE_FAULTED;
	if (cp == AUTH_CONN_UNAVAILABLE)
		return AUTH_RESERVE_UNAVAILABLE;

	if (req->conn == 0) {
		int faulted = 0, down = 0;

		if (count_free(rs, site, 0, req->id) > count_zero(rs, req->id, site->now))
			return AUTH_RESERVE_ACCEPTED;
		for (int k = 1; k <= site->n; k++) {
			faulted += site->conns[k] == AUTH_CONN_FAULTED;
			down += site->conns[k] == AUTH_CONN_FAULTED ||
			        site->conns[k] == AUTH_CONN_UNAVAILABLE ||
			        site->conns[k] == AUTH_CONN_UNKNOWN;
		}
		if (faulted == site->n)
			return AUTH_RESERVE_FAULTED;
		if (down == site->n)
			return AUTH_RESERVE_UNAVAILABLE;
		return AUTH_RESERVE_OCCUPIED;
	}

	switch (site->conns[req->conn]) {
	case AUTH_CONN_FAULTED:
		return AUTH_RESERVE_FAULTED;
	case AUTH_CONN_UNAVAILABLE:
	case AUTH_CONN_UNKNOWN:
		return AUTH_RESERVE_UNAVAILABLE;
	case AUTH_CONN_AVAILABLE:
	case AUTH_CONN_RESERVED:
		break;
	default:
		return AUTH_RESERVE_OCCUPIED;
	}
	if (own_reservation(rs, req->conn, req->id, site->now))
		return AUTH_RESERVE_OCCUPIED;
	if (count_free(rs, site, req->conn, req->id) < count_zero(rs, req->id, site->now))
		return AUTH_RESERVE_OCCUPIED;
	return AUTH_RESERVE_ACCEPTED;
}

static bool
holds(const struct auth_resv *r, const char *id, const char *parent)
{
	return auth_id_equal(r->id_tag, id) || (parent && auth_id_equal(r->parent, parent));
}

enum auth_resv_fit
auth_resv_start(const struct auth_resvs *rs, const struct auth_site *site, int conn, const char *id,
                const char *parent, int64_t *resv_id)
{
	const struct auth_resv *own = own_reservation(rs, conn, NO_SKIP, site->now);
	bool need_parent = false;
	int zero = 0;

	*resv_id = 0;
	if (own) {
		if (holds(own, id, parent)) {
			*resv_id = own->id;
			return AUTH_RESV_HOLDER;
		}
		return own->parent[0] && parent == NULL ? AUTH_RESV_NEED_PARENT : AUTH_RESV_REFUSED;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct auth_resv *r = &rs->v[i];

		if (r->conn != 0 || !active(r, site->now))
			continue;
		if (holds(r, id, parent)) {
			*resv_id = r->id;
			return AUTH_RESV_HOLDER;
		}
		need_parent = need_parent || (r->parent[0] && parent == NULL);
		zero++;
	}
	if (need_parent)
		return AUTH_RESV_NEED_PARENT;
	return count_free(rs, site, conn, NO_SKIP) >= zero ? AUTH_RESV_FREE : AUTH_RESV_REFUSED;
}
