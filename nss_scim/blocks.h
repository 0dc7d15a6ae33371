/* Enumeration from passwd_blocks (common/cache_schema.h): getpwent and the private groups of
 * getgrent read accounts packed many to a row, one b-tree step per block, each entry checked as
 * strictly as nss_pw_row_at checks a passwd row before it is served. */
#ifndef NSS_SCIM_BLOCKS_H
#define NSS_SCIM_BLOCKS_H

#include "nss_scim/nss_scim.h"

enum { BLK_NAME, BLK_GECOS, BLK_DIR, BLK_SHELL, BLK_FIELDS };

/* One entry of a block: its four texts, each NUL-terminated, lie one after the other from TEXT
 * on (TEXT_LEN bytes, NULs included): exactly the bytes they take in the caller's buffer. */
struct nss_blk_entry {
	int64_t uid;
	const char *text;
	size_t text_len;
	size_t len[BLK_FIELDS]; /* strlen of each */
};

/* The next valid entry of C's scan (a CF_PASSWD_BLOCKS cursor), uids in (c->last, id_max] only,
 * invalid entries stepped over and logged: 1 (E, valid until the next call on C), 0 end, -1
 * error (*errnop set; a block that breaks the format is a damaged file, nss_corrupt). Called
 * again before nss_blk_served, it returns the same entry (an ERANGE retry). */
int nss_blk_next(struct nss_view *v, struct nss_cursor *c, struct nss_blk_entry *e, int *errnop);
/* E, the entry nss_blk_next returned, was handed out: the next call steps on. */
void nss_blk_served(struct nss_cursor *c, const struct nss_blk_entry *e);

#endif
