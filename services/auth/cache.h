/* The authorization cache of one charge point (OCPP 1.6, 3.5.1): the latest
 * IdTagInfo the Central System gave for each idTag (valid or not), bounded in
 * size. When a new idTag arrives and the cache is full, an entry that is not
 * valid goes first, then the valid entry used least recently. */
#ifndef AUTH_CACHE_H
#define AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "tagmap.h"

enum {
	AUTH_LRU_INVALID, /* learned with a status other than Accepted, or already expired */
	AUTH_LRU_VALID,
	AUTH_LRU__N,
};

struct auth_cache {
	struct auth_tagmap map;
	struct auth_tag *head[AUTH_LRU__N]; /* most recently used */
	struct auth_tag *tail[AUTH_LRU__N]; /* least recently used */
	size_t max;
};

/* An empty cache of at most max (>= 1) entries. */
void auth_cache_init(struct auth_cache *c, size_t max);
void auth_cache_fini(struct auth_cache *c);

size_t auth_cache_count(const struct auth_cache *c);
const struct auth_tag *auth_cache_peek(const struct auth_cache *c, const char *id);
/* Looks id up and makes it the most recently used (at now). NULL: absent. */
const struct auth_tag *auth_cache_use(struct auth_cache *c, const char *id, int64_t now);
/* Stores info for id as used at now, replacing what was there. When a new id
 * finds the cache full, one entry is evicted first and its idTag copied to
 * evicted ("" when none). Returns 0, or -ENOMEM with nothing changed. */
int auth_cache_learn(struct auth_cache *c, const char *id, const struct auth_info *info,
                     int64_t now, char evicted[AUTH_ID_MAX + 1]);
/* Removes id; false when it was not there. */
bool auth_cache_forget(struct auth_cache *c, const char *id);
void auth_cache_clear(struct auth_cache *c);
/* The entry that would be evicted next, or NULL when empty. */
const struct auth_tag *auth_cache_victim(const struct auth_cache *c);

#endif
