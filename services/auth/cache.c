/* The authorization cache: a tag map plus two recency lists, one for entries
 * that are not valid (evicted first) and one for valid ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

static void
unlink_lru(struct auth_cache *c, struct auth_tag *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		c->head[t->lru] = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		c->tail[t->lru] = t->prev;
	t->prev = t->next = NULL;
}

static void
push_front(struct auth_cache *c, struct auth_tag *t, int lru)
{
	t->lru = lru;
	t->prev = NULL;
	t->next = c->head[lru];
	if (c->head[lru])
		c->head[lru]->prev = t;
	else
		c->tail[lru] = t;
	c->head[lru] = t;
}

static int
lru_of(const struct auth_info *info, int64_t now)
{
	return auth_info_effective(info, now) == AUTH_ACCEPTED ? AUTH_LRU_VALID : AUTH_LRU_INVALID;
}

void
auth_cache_init(struct auth_cache *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max ? max : 1;
}

void
auth_cache_fini(struct auth_cache *c)
{
	if (c == NULL)
		return;
	auth_tagmap_fini(&c->map);
	memset(c->head, 0, sizeof(c->head));
	memset(c->tail, 0, sizeof(c->tail));
}

size_t
auth_cache_count(const struct auth_cache *c)
{
	return c->map.count;
}

const struct auth_tag *
auth_cache_peek(const struct auth_cache *c, const char *id)
{
	return auth_tagmap_get(&c->map, id);
}

const struct auth_tag *
auth_cache_use(struct auth_cache *c, const char *id, int64_t now)
{
	struct auth_tag *t = auth_tagmap_get(&c->map, id);

	if (t == NULL)
		return NULL;
	unlink_lru(c, t);
	push_front(c, t, t->lru);
	t->used = now;
	return t;
}

const struct auth_tag *
auth_cache_victim(const struct auth_cache *c)
{
	return c->tail[AUTH_LRU_INVALID] ? c->tail[AUTH_LRU_INVALID] : c->tail[AUTH_LRU_VALID];
}

static void
drop(struct auth_cache *c, struct auth_tag *t)
{
	unlink_lru(c, t);
	auth_tagmap_remove(&c->map, t);
	free(t);
}

int
auth_cache_learn(struct auth_cache *c, const char *id, const struct auth_info *info, int64_t now,
                 char evicted[AUTH_ID_MAX + 1])
{
	struct auth_tag *t = auth_tagmap_get(&c->map, id);

	evicted[0] = '\0';
	if (t) {
		unlink_lru(c, t);
		t->info = *info;
	} else {
		t = auth_tag_new(id, info);
		if (t == NULL)
			return -ENOMEM;
		if (auth_tagmap_insert(&c->map, t) < 0) {
			free(t);
			return -ENOMEM;
		}
		while (c->map.count > c->max) {
			struct auth_tag *v = (struct auth_tag *)auth_cache_victim(c);

			if (v == NULL)
				break;
			snprintf(evicted, AUTH_ID_MAX + 1, "%s", v->id);
			drop(c, v);
		}
	}
	t->used = now;
	push_front(c, t, lru_of(info, now));
	return 0;
}

bool
auth_cache_forget(struct auth_cache *c, const char *id)
{
	struct auth_tag *t = auth_tagmap_get(&c->map, id);

	if (t == NULL)
		return false;
	drop(c, t);
	return true;
}

void
auth_cache_clear(struct auth_cache *c)
{
	auth_tagmap_clear(&c->map);
	memset(c->head, 0, sizeof(c->head));
	memset(c->tail, 0, sizeof(c->tail));
}
