/* cache.db read by libnss_scim without SQLite: the file's header and schema checked against
 * exactly what entra-syncd writes (common/cache_schema.h), then its b-trees (nss_scim/btree.h)
 * found by their root pages. */
#ifndef NSS_SCIM_CACHEFILE_H
#define NSS_SCIM_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nss_scim/btree.h"

/* The objects of sqlite_schema, one b-tree each. */
enum cf_tree {
	CF_META,
	CF_PASSWD,
	CF_PASSWD_NAME_UNIQUE, /* the UNIQUE constraint's index: checked, never read (passwd_by_name serves) */
	CF_PASSWD_BY_NAME,
	CF_GROUPS,
	CF_GROUPS_BY_NAME,
	CF_MEMBERS,
	CF_MEMBERS_BY_UID,
	CF_LOCAL_MEMBERS,
	CF_SSH_KEYS,
	CF_PASSWD_BLOCKS,
	CF_TREES
};

/* One row of sqlite_schema as SQLite writes it for ENTRA_CACHE_SCHEMA_SQL (sql NULL for the
 * UNIQUE auto-indexes). tests/unit/test_nss_btree.c checks the table against a real file. */
struct cf_object {
	const char *type, *name, *tbl_name, *sql;
	enum bt_kind kind;
};
extern const struct cf_object cf_objects[CF_TREES];

struct cachefile {
	struct bt_file bt;
	uint32_t root[CF_TREES];
};

/* Checks the file behind FD (already checked by entra_cache_file_open; ST its fstat) and keeps
 * FD in CF. 0, or -1 with WHY the reason, or CF_NOMEM when memory ran out before the file could
 * be judged (CF then closed, FD too). */
#define CF_NOMEM (-2)
int cf_open(struct cachefile *cf, int fd, const struct stat *st, char *why, size_t whylen);
void cf_close(struct cachefile *cf);
/* The descriptor is no longer the file's (the process closed or reused its number): cf_close
 * will not close it. */
void cf_disown(struct cachefile *cf);

#endif
