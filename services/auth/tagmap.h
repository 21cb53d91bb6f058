/* A hash map of idTags, the store behind the local list and the cache. Keys are
 * CiString20: "abc" and "ABC" are the same idTag. Lookups are O(1), so 10,000
 * list entries answer as fast as ten. Entries are allocated one by one and can
 * be prepared ahead (auth_tag_new + auth_tagmap_reserve), so that a change that
 * must not fail halfway (SendLocalList) never allocates while it applies. */
#ifndef AUTH_TAGMAP_H
#define AUTH_TAGMAP_H

#include <stddef.h>

#include "idtag.h"

struct auth_tag {
	struct auth_tag *hnext;       /* bucket chain */
	struct auth_tag *prev, *next; /* the cache's recency list (newest first) */
	int64_t used;                 /* cache: last use, Unix ms */
	int lru;                      /* cache: which recency list holds it */
	char id[AUTH_ID_MAX + 1];     /* spelled as the Central System sent it */
	struct auth_info info;
};

struct auth_tagmap {
	struct auth_tag **buckets;
	size_t n_buckets; /* a power of two, or 0 before the first insert */
	size_t count;
};

/* A new entry, not in any map; NULL when out of memory. id is cut to 20. */
struct auth_tag *auth_tag_new(const char *id, const struct auth_info *info);

/* An empty map needs no set-up: zero it. Frees every entry. Accepts NULL. */
void auth_tagmap_fini(struct auth_tagmap *m);
/* Frees every entry; the map stays usable. */
void auth_tagmap_clear(struct auth_tagmap *m);
/* Grows the bucket array for count entries. Returns 0 or -ENOMEM. */
int auth_tagmap_reserve(struct auth_tagmap *m, size_t count);
struct auth_tag *auth_tagmap_get(const struct auth_tagmap *m, const char *id);
/* Adds t (whose idTag is not in m yet; ownership passes to m). Grows the
 * buckets when it can; never fails once auth_tagmap_reserve() made room. */
int auth_tagmap_insert(struct auth_tagmap *m, struct auth_tag *t);
/* Takes t out of m; the caller frees it. */
void auth_tagmap_remove(struct auth_tagmap *m, struct auth_tag *t);
void auth_tagmap_swap(struct auth_tagmap *a, struct auth_tagmap *b);

/* Iteration: for (t = auth_tagmap_first(m, &i); t; t = auth_tagmap_next(m, &i, t)).
 * Removing other entries while iterating is not allowed. */
struct auth_tag *auth_tagmap_first(const struct auth_tagmap *m, size_t *i);
struct auth_tag *auth_tagmap_next(const struct auth_tagmap *m, size_t *i, struct auth_tag *t);

#endif
