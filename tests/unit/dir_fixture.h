/* Builds an in-memory struct directory for the AUP, names and id allocation tests, shaped as
 * store_directory_load returns it (freed with directory_free). */
#ifndef TEST_DIR_FIXTURE_H
#define TEST_DIR_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sync/store/directory.h"

static char *fx_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Returns the new user's index. */
static size_t fx_user(struct directory *d, const char *scim_id, const char *external_id, const char *upn, bool active)
{
	d->users = realloc(d->users, (d->n_users + 1) * sizeof(*d->users));
	struct dir_user *u = &d->users[d->n_users];
	memset(u, 0, sizeof(*u));
	u->scim_id = fx_dup(scim_id);
	u->external_id = fx_dup(external_id);
	u->user_name = fx_dup(upn);
	u->display_name = fx_dup(upn);
	u->active = active;
	return d->n_users++;
}

static size_t fx_group(struct directory *d, const char *scim_id, const char *external_id, const char *display)
{
	d->groups = realloc(d->groups, (d->n_groups + 1) * sizeof(*d->groups));
	struct dir_group *g = &d->groups[d->n_groups];
	memset(g, 0, sizeof(*g));
	g->scim_id = fx_dup(scim_id);
	g->external_id = fx_dup(external_id);
	g->display_name = fx_dup(display);
	return d->n_groups++;
}

static void fx_member(struct directory *d, size_t user, size_t group)
{
	struct dir_user *u = &d->users[user];
	struct dir_group *g = &d->groups[group];
	u->groups = realloc(u->groups, (u->n_groups + 1) * sizeof(*u->groups));
	u->groups[u->n_groups++] = group;
	g->members = realloc(g->members, (g->n_members + 1) * sizeof(*g->members));
	g->members[g->n_members++] = user;
}

#endif
