/* The OCPP 1.6 payloads sitegate-auth reads: IdTagInfo (Authorize.conf,
 * StartTransaction.conf, StopTransaction.conf), SendLocalList.req,
 * ReserveNow.req and CancelReservation.req. The bridge has validated them
 * against the schema already; these decoders still check every field they use,
 * reject what is missing or out of bounds, and ignore what they do not know. */
#ifndef AUTH_OCPP_H
#define AUTH_OCPP_H

#include <jansson.h>
#include <stddef.h>

#include "auth.h"

/* An IdTagInfo object. Returns 0 or -EINVAL with the reason in why. */
int auth_ocpp_idtaginfo(const json_t *j, struct auth_info *out, char *why, size_t why_len);
/* A SendLocalList.req. At most max entries are decoded: more is -E2BIG (the
 * answer is Failed). Returns 0 (free u with auth_ocpp_update_free), -EINVAL
 * with the reason, -E2BIG or -ENOMEM. */
int auth_ocpp_send_local_list(const json_t *j, size_t max, struct auth_list_update *u, char *why,
                              size_t why_len);
void auth_ocpp_update_free(struct auth_list_update *u);
/* A ReserveNow.req. Returns 0 or -EINVAL with the reason. */
int auth_ocpp_reserve_now(const json_t *j, struct auth_resv *out, char *why, size_t why_len);
/* A CancelReservation.req. Returns 0 or -EINVAL with the reason. */
int auth_ocpp_cancel_reservation(const json_t *j, int64_t *id, char *why, size_t why_len);

#endif
