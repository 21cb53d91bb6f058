/* A chained hash map keyed by idTag without regard to ASCII case (FNV-1a over
 * the lower-cased bytes), doubling at a load factor of 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagmap.h"

#define MIN_BUCKETS 16

static size_t
hash_id(const char *id)
{
	uint64_t h = 1469598103934665603ull;

	for (; *id; id++) {
		unsigned char c = (unsigned char)*id;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 32));
}

struct auth_tag *
auth_tag_new(const char *id, const struct auth_info *info)
{
	struct auth_tag *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	snprintf(t->id, sizeof(t->id), "%s", id);
	if (info)
		t->info = *info;
	return t;
}

void
auth_tagmap_clear(struct auth_tagmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		while (m->buckets[i]) {
			struct auth_tag *t = m->buckets[i];

			m->buckets[i] = t->hnext;
			free(t);
		}
	}
	m->count = 0;
}

void
auth_tagmap_fini(struct auth_tagmap *m)
{
	if (m == NULL)
		return;
	auth_tagmap_clear(m);
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

static int
rehash(struct auth_tagmap *m, size_t n_buckets)
{
	struct auth_tag **b = calloc(n_buckets, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_buckets; i++) {
		while (m->buckets[i]) {
			struct auth_tag *t = m->buckets[i];
			size_t j = hash_id(t->id) & (n_buckets - 1);

			m->buckets[i] = t->hnext;
			t->hnext = b[j];
			b[j] = t;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n_buckets;
	return 0;
}

int
auth_tagmap_reserve(struct auth_tagmap *m, size_t count)
{
	size_t n = m->n_buckets ? m->n_buckets : MIN_BUCKETS;

	while (n < count)
		n *= 2;
	return n == m->n_buckets ? 0 : rehash(m, n);
}

struct auth_tag *
auth_tagmap_get(const struct auth_tagmap *m, const char *id)
{
	if (m->n_buckets == 0 || id == NULL)
		return NULL;
	for (struct auth_tag *t = m->buckets[hash_id(id) & (m->n_buckets - 1)]; t; t = t->hnext)
		if (auth_id_equal(t->id, id))
			return t;
	return NULL;
}

int
auth_tagmap_insert(struct auth_tagmap *m, struct auth_tag *t)
{
	/* Growing is best effort once there are buckets: chains just get longer. */
	if (m->count + 1 > m->n_buckets && auth_tagmap_reserve(m, m->count + 1) < 0 &&
	    m->n_buckets == 0)
		return -ENOMEM;
	size_t j = hash_id(t->id) & (m->n_buckets - 1);

	t->hnext = m->buckets[j];
	m->buckets[j] = t;
	m->count++;
	return 0;
}

void
auth_tagmap_remove(struct auth_tagmap *m, struct auth_tag *t)
{
	struct auth_tag **pp;

	if (m->n_buckets == 0)
		return;
	for (pp = &m->buckets[hash_id(t->id) & (m->n_buckets - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			t->hnext = NULL;
			m->count--;
			return;
		}
	}
}

void
auth_tagmap_swap(struct auth_tagmap *a, struct auth_tagmap *b)
{
	struct auth_tagmap tmp = *a;

	*a = *b;
	*b = tmp;
}

struct auth_tag *
auth_tagmap_first(const struct auth_tagmap *m, size_t *i)
{
	for (*i = 0; *i < m->n_buckets; (*i)++)
		if (m->buckets[*i])
			return m->buckets[*i];
	return NULL;
}

struct auth_tag *
auth_tagmap_next(const struct auth_tagmap *m, size_t *i, struct auth_tag *t)
{
	if (t->hnext)
		return t->hnext;
	for ((*i)++; *i < m->n_buckets; (*i)++)
		if (m->buckets[*i])
			return m->buckets[*i];
	return NULL;
}
