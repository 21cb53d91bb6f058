/* idTags and IdTagInfo: the types every module of sitegate-auth shares. */
#ifndef AUTH_IDTAG_H
#define AUTH_IDTAG_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_ID_MAX 20 /* IdToken: CiString20 */

/* OCPP 1.6 AuthorizationStatus. */
enum auth_status {
	AUTH_ACCEPTED,
	AUTH_BLOCKED,
	AUTH_EXPIRED,
	AUTH_INVALID,
	AUTH_CONCURRENT_TX,
};

/* IdTagInfo. */
struct auth_info {
	enum auth_status status;
	int64_t expiry;               /* expiryDate, Unix ms; 0: none */
	char parent[AUTH_ID_MAX + 1]; /* parentIdTag; "": none */
};

const char *auth_status_name(enum auth_status status);
/* "Accepted", "Blocked", ... exactly as OCPP spells them. Returns 0 or -EINVAL. */
int auth_status_parse(const char *s, enum auth_status *out);
/* idTags are CiString20: equal without regard to ASCII case. NULL or "" never equal. */
bool auth_id_equal(const char *a, const char *b);
/* A valid idTag: 1..20 printable ASCII characters. */
bool auth_id_valid(const char *id);
/* The status in effect at now: an Accepted (or ConcurrentTx) entry whose
 * expiryDate has passed is Expired. */
enum auth_status auth_info_effective(const struct auth_info *info, int64_t now);

#endif
