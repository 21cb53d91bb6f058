/* The local authorization list and the rules of SendLocalList. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locallist.h"

static const char *const update_names[] = {
    [AUTH_UPDATE_ACCEPTED] = "Accepted",
    [AUTH_UPDATE_FAILED] = "Failed",
    [AUTH_UPDATE_NOT_SUPPORTED] = "NotSupported",
    [AUTH_UPDATE_VERSION_MISMATCH] = "VersionMismatch",
};

const char *
auth_update_status_name(enum auth_update_status s)
{
	if ((unsigned)s >= sizeof(update_names) / sizeof(update_names[0]))
		return "Failed";
	return update_names[s];
}

void
auth_list_fini(struct auth_list *l)
{
	if (l == NULL)
		return;
	auth_tagmap_fini(&l->map);
	l->version = 0;
}

int64_t
auth_list_version(const struct auth_list *l)
{
	return l->map.count == 0 ? 0 : l->version;
}

size_t
auth_list_count(const struct auth_list *l)
{
	return l->map.count;
}

const struct auth_tag *
auth_list_get(const struct auth_list *l, const char *id)
{
	return auth_tagmap_get(&l->map, id);
}

int
auth_list_load(struct auth_list *l, const char *id, const struct auth_info *info)
{
	struct auth_tag *t = auth_tagmap_get(&l->map, id);

	if (t) {
		t->info = *info;
		return 0;
	}
	t = auth_tag_new(id, info);
	if (t == NULL || auth_tagmap_insert(&l->map, t) < 0) {
		free(t);
		return -ENOMEM;
	}
	return 0;
}

/* Does an entry earlier in u name the same idTag? The request holds at most
 * SendLocalListMaxLength entries, checked before; a small map keeps this linear. */
static int
find_duplicate(const struct auth_list_update *u, size_t *dup)
{
	struct auth_tagmap seen = {0};
	int rc = auth_tagmap_reserve(&seen, u->n);

	for (size_t i = 0; rc == 0 && i < u->n; i++) {
		struct auth_tag *t;

		if (auth_tagmap_get(&seen, u->entries[i].id)) {
			*dup = i;
			rc = 1;
			break;
		}
		t = auth_tag_new(u->entries[i].id, NULL);
		if (t == NULL || auth_tagmap_insert(&seen, t) < 0) {
			free(t);
			rc = -ENOMEM;
		}
	}
	auth_tagmap_fini(&seen);
	return rc;
}

enum auth_update_status
auth_list_check(const struct auth_list *l, const struct auth_list_update *u,
                const struct auth_list_limits *lim, char *why, size_t why_len)
{
	size_t with_info = 0, dup = 0;
	int64_t after;
	int rc;

	snprintf(why, why_len, "%s", "");
	if (!lim->supported) {
		snprintf(why, why_len, "the LocalAuthListManagement profile is not supported");
		return AUTH_UPDATE_NOT_SUPPORTED;
	}
	if ((int64_t)u->n > lim->max_send) {
		snprintf(why, why_len, "%zu entries, more than SendLocalListMaxLength %" PRId64,
		         u->n, lim->max_send);
		return AUTH_UPDATE_FAILED;
	}
	for (size_t i = 0; i < u->n; i++) {
		if (!auth_id_valid(u->entries[i].id)) {
			snprintf(why, why_len, "entry %zu has no valid idTag", i);
			return AUTH_UPDATE_FAILED;
		}
		with_info += u->entries[i].has_info;
	}
	rc = find_duplicate(u, &dup);
	if (rc != 0) {
		if (rc < 0)
			snprintf(why, why_len, "out of memory");
		else
			snprintf(why, why_len, "idTag \"%s\" is listed twice", u->entries[dup].id);
		return AUTH_UPDATE_FAILED;
	}
	if (u->full) {
		if (with_info > 0 && u->version < 1) {
			snprintf(why, why_len, "listVersion %" PRId64 " for a non-empty list",
			         u->version);
			return AUTH_UPDATE_FAILED;
		}
		after = (int64_t)with_info;
	} else {
		if (u->version <= auth_list_version(l)) {
			snprintf(why, why_len,
			         "differential update to version %" PRId64
			         ", the list is at %" PRId64,
			         u->version, auth_list_version(l));
			return AUTH_UPDATE_VERSION_MISMATCH;
		}
		after = (int64_t)l->map.count;
		for (size_t i = 0; i < u->n; i++) {
			bool present = auth_tagmap_get(&l->map, u->entries[i].id) != NULL;

			if (u->entries[i].has_info && !present)
				after++;
			else if (!u->entries[i].has_info && present)
				after--;
		}
	}
	if (after > lim->max_entries) {
		snprintf(why, why_len,
		         "%" PRId64 " entries, more than LocalAuthListMaxLength %" PRId64, after,
		         lim->max_entries);
		return AUTH_UPDATE_FAILED;
	}
	return AUTH_UPDATE_ACCEPTED;
}

void
auth_list_prep_free(struct auth_list_prep *p)
{
	auth_tagmap_fini(&p->fresh);
	for (size_t i = 0; i < p->n_added; i++)
		free(p->added[i]);
	free(p->added);
	memset(p, 0, sizeof(*p));
}

int
auth_list_prepare(struct auth_list *l, const struct auth_list_update *u, struct auth_list_prep *p)
{
	memset(p, 0, sizeof(*p));
	if (u->full) {
		if (auth_tagmap_reserve(&p->fresh, u->n) < 0)
			goto fail;
		for (size_t i = 0; i < u->n; i++) {
			struct auth_tag *t;

			if (!u->entries[i].has_info)
				continue;
			t = auth_tag_new(u->entries[i].id, &u->entries[i].info);
			if (t == NULL)
				goto fail;
			auth_tagmap_insert(&p->fresh, t); /* room reserved */
		}
		return 0;
	}
	p->added = calloc(u->n ? u->n : 1, sizeof(*p->added));
	if (p->added == NULL)
		goto fail;
	for (size_t i = 0; i < u->n; i++) {
		struct auth_tag *t;

		if (!u->entries[i].has_info || auth_tagmap_get(&l->map, u->entries[i].id))
			continue;
		t = auth_tag_new(u->entries[i].id, &u->entries[i].info);
		if (t == NULL)
			goto fail;
		p->added[p->n_added++] = t;
	}
	/* Room for the new entries, so that inserting them never allocates. */
	if (auth_tagmap_reserve(&l->map, l->map.count + p->n_added) < 0)
		goto fail;
	return 0;
fail:
	auth_list_prep_free(p);
	return -ENOMEM;
}

void
auth_list_commit(struct auth_list *l, const struct auth_list_update *u, struct auth_list_prep *p)
{
	size_t next = 0;

	if (u->full) {
		auth_tagmap_swap(&l->map, &p->fresh);
	} else {
		for (size_t i = 0; i < u->n; i++) {
			const struct auth_list_entry *e = &u->entries[i];
			struct auth_tag *t = auth_tagmap_get(&l->map, e->id);

			if (!e->has_info) {
				if (t) {
					auth_tagmap_remove(&l->map, t);
					free(t);
				}
			} else if (t) {
				t->info = e->info;
			} else if (next < p->n_added) {
				auth_tagmap_insert(&l->map, p->added[next]);
				p->added[next++] = NULL;
			}
		}
	}
	l->version = u->version;
	auth_list_prep_free(p);
}
