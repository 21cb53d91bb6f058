/* The local authorization list of one charge point (OCPP 1.6, 3.5.2 and 5.15):
 * entries only the Central System changes, with SendLocalList, and a version. */
#ifndef AUTH_LOCALLIST_H
#define AUTH_LOCALLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "tagmap.h"

struct auth_list {
	struct auth_tagmap map;
	int64_t version; /* of the last update; GetLocalListVersion says 0 while empty */
};

/* One AuthorizationData of a SendLocalList.req. */
struct auth_list_entry {
	char id[AUTH_ID_MAX + 1];
	bool has_info; /* without idTagInfo a differential update deletes the idTag */
	struct auth_info info;
};

/* A SendLocalList.req. */
struct auth_list_update {
	int64_t version;
	bool full; /* updateType Full, else Differential */
	struct auth_list_entry *entries;
	size_t n;
};

enum auth_update_status {
	AUTH_UPDATE_ACCEPTED,
	AUTH_UPDATE_FAILED,
	AUTH_UPDATE_NOT_SUPPORTED,
	AUTH_UPDATE_VERSION_MISMATCH,
};
const char *auth_update_status_name(enum auth_update_status s);

struct auth_list_limits {
	bool supported;      /* the LocalAuthListManagement profile */
	int64_t max_entries; /* LocalAuthListMaxLength */
	int64_t max_send;    /* SendLocalListMaxLength */
};

void auth_list_fini(struct auth_list *l);
/* GetLocalListVersion: 0 when the list is empty. */
int64_t auth_list_version(const struct auth_list *l);
size_t auth_list_count(const struct auth_list *l);
const struct auth_tag *auth_list_get(const struct auth_list *l, const char *id);
/* Loading from the store: adds or replaces one entry. Returns 0 or -ENOMEM. */
int auth_list_load(struct auth_list *l, const char *id, const struct auth_info *info);

/* The rules of SendLocalList, without changing anything:
 *   the profile is not supported                            NotSupported
 *   more entries than SendLocalListMaxLength, an idTag
 *   twice or invalid, a list longer than
 *   LocalAuthListMaxLength after the update, or a full
 *   non-empty list with a version below 1                   Failed
 *   a differential update whose version is not above the
 *   list's                                                  VersionMismatch
 *   otherwise                                               Accepted
 * A full update replaces the list with its entries that carry an idTagInfo; a
 * differential one adds or replaces those and deletes those without. why gets
 * the reason of a refusal. */
enum auth_update_status auth_list_check(const struct auth_list *l, const struct auth_list_update *u,
                                        const struct auth_list_limits *lim, char *why,
                                        size_t why_len);

/* The memory an update needs, taken before it is stored so that applying it
 * cannot fail halfway. */
struct auth_list_prep {
	struct auth_tagmap fresh; /* full: the new list */
	struct auth_tag **added;  /* differential: entries for new idTags */
	size_t n_added;
};
/* Allocates for an update that passed auth_list_check(). Returns 0 or -ENOMEM. */
int auth_list_prepare(struct auth_list *l, const struct auth_list_update *u,
                      struct auth_list_prep *p);
/* Applies the prepared update; cannot fail. Frees what p still holds. */
void auth_list_commit(struct auth_list *l, const struct auth_list_update *u,
                      struct auth_list_prep *p);
/* Releases a prepared update that is not applied. Accepts a zeroed p. */
void auth_list_prep_free(struct auth_list_prep *p);

#endif
