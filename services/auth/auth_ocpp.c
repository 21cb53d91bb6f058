/* Decoders of the OCPP 1.6 payloads sitegate-auth reads. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/time.h"

#include "auth_ocpp.h"

static int __attribute__((format(printf, 3, 4))) bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An optional (required when req) idTag-like string of 1..20 printable characters. */
static int
get_id(const json_t *obj, const char *key, bool req, char out[AUTH_ID_MAX + 1], char *why,
       size_t len)
{
	const json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL)
		return req ? bad(why, len, "%s is missing", key) : 0;
	if (!json_is_string(v) || !auth_id_valid(json_string_value(v)))
		return bad(why, len, "%s is not 1..20 printable characters", key);
	snprintf(out, AUTH_ID_MAX + 1, "%s", json_string_value(v));
	return 0;
}

static int
get_time(const json_t *obj, const char *key, bool req, int64_t *out, char *why, size_t len)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL)
		return req ? bad(why, len, "%s is missing", key) : 0;
	if (!json_is_string(v) || sg_time_parse(json_string_value(v), out) < 0)
		return bad(why, len, "%s is not a date-time", key);
	return 0;
}

static int
get_int(const json_t *obj, const char *key, int64_t *out, char *why, size_t len)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return bad(why, len, "%s is missing", key);
	if (!json_is_integer(v))
		return bad(why, len, "%s is not an integer", key);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

int
auth_ocpp_idtaginfo(const json_t *j, struct auth_info *out, char *why, size_t why_len)
{
	const json_t *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return bad(why, why_len, "%s is not an object", "idTagInfo");
	st = json_object_get(j, "status");
	if (!json_is_string(st) || auth_status_parse(json_string_value(st), &out->status) < 0)
		return bad(why, why_len, "%s is not an AuthorizationStatus", "idTagInfo.status");
	rc = get_time(j, "expiryDate", false, &out->expiry, why, why_len);
	if (rc == 0)
		rc = get_id(j, "parentIdTag", false, out->parent, why, why_len);
	return rc;
}

void
auth_ocpp_update_free(struct auth_list_update *u)
{
	if (u == NULL)
		return;
	free(u->entries);
	memset(u, 0, sizeof(*u));
}

int
auth_ocpp_send_local_list(const json_t *j, size_t max, struct auth_list_update *u, char *why,
                          size_t why_len)
{
	const json_t *type, *list;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!json_is_object(j))
		return bad(why, why_len, "%s is not an object", "SendLocalList.req");
	rc = get_int(j, "listVersion", &u->version, why, why_len);
	if (rc < 0)
		return rc;
	type = json_object_get(j, "updateType");
	if (json_is_string(type) && strcmp(json_string_value(type), "Full") == 0)
		u->full = true;
	else if (!json_is_string(type) || strcmp(json_string_value(type), "Differential") != 0)
		return bad(why, why_len, "%s is not Full or Differential", "updateType");
	list = json_object_get(j, "localAuthorizationList");
	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return bad(why, why_len, "%s is not an array", "localAuthorizationList");
	if (json_array_size(list) > max) {
		snprintf(why, why_len, "%zu entries, more than %zu", json_array_size(list), max);
		return -E2BIG;
	}
	if (json_array_size(list) == 0)
		return 0;
	u->entries = calloc(json_array_size(list), sizeof(*u->entries));
	if (u->entries == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *e = json_array_get(list, i);
		struct auth_list_entry *d = &u->entries[i];
		const json_t *info;

		if (!json_is_object(e)) {
			rc = bad(why, why_len, "%s is not an object", "an AuthorizationData");
			break;
		}
		rc = get_id(e, "idTag", true, d->id, why, why_len);
		if (rc < 0)
			break;
		info = json_object_get(e, "idTagInfo");
		if (info) {
			rc = auth_ocpp_idtaginfo(info, &d->info, why, why_len);
			if (rc < 0)
				break;
			d->has_info = true;
		}
		u->n++;
	}
	if (rc < 0)
		auth_ocpp_update_free(u);
	return rc;
}

int
auth_ocpp_reserve_now(const json_t *j, struct auth_resv *out, char *why, size_t why_len)
{
	int64_t conn = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return bad(why, why_len, "%s is not an object", "ReserveNow.req");
	rc = get_int(j, "connectorId", &conn, why, why_len);
	if (rc == 0 && (conn < 0 || conn > 1000000))
		rc = bad(why, why_len, "%s is out of range", "connectorId");
	if (rc == 0)
		rc = get_time(j, "expiryDate", true, &out->expiry, why, why_len);
	if (rc == 0)
		rc = get_id(j, "idTag", true, out->id_tag, why, why_len);
	if (rc == 0)
		rc = get_id(j, "parentIdTag", false, out->parent, why, why_len);
	if (rc == 0)
		rc = get_int(j, "reservationId", &out->id, why, why_len);
	out->conn = (int)conn;
	return rc;
}

int
auth_ocpp_cancel_reservation(const json_t *j, int64_t *id, char *why, size_t why_len)
{
	if (!json_is_object(j))
		return bad(why, why_len, "%s is not an object", "CancelReservation.req");
	return get_int(j, "reservationId", id, why, why_len);
}
