/* idTags (CiString20) and IdTagInfo. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "idtag.h"

static const char *const status_names[] = {
    [AUTH_ACCEPTED] = "Accepted",
    [AUTH_BLOCKED] = "Blocked",
    [AUTH_EXPIRED] = "Expired",
    [AUTH_INVALID] = "Invalid",
    [AUTH_CONCURRENT_TX] = "ConcurrentTx",
};

const char *
auth_status_name(enum auth_status status)
{
	if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
		return "Invalid";
	return status_names[status];
}

int
auth_status_parse(const char *s, enum auth_status *out)
{
	for (size_t i = 0; s && i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum auth_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool
auth_id_equal(const char *a, const char *b)
{
	return a && b && *a && strcasecmp(a, b) == 0;
}

bool
auth_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n]; n++)
		if (id[n] < 0x20 || id[n] > 0x7e)
			return false;
	return n >= 1 && n <= AUTH_ID_MAX;
}

enum auth_status
auth_info_effective(const struct auth_info *info, int64_t now)
{
	if ((info->status == AUTH_ACCEPTED || info->status == AUTH_CONCURRENT_TX) &&
	    info->expiry > 0 && info->expiry <= now)
		return AUTH_EXPIRED;
	return info->status;
}
