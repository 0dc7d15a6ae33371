/* Enumeration scans: one b-tree cursor per enumeration, stepped once per get*ent call and kept
 * positioned in between (under the module lock), instead of a fresh descent per entry. */
#include "nss_scim/nss_scim.h"

/* Positions C's scan on the first key after the last one served, in the file open now. */
static int scan_position(struct nss_view *v, struct nss_cursor *c)
{
	c->epoch = v->db->epoch;
	c->seen = c->last;
	c->pending = false;
	return bt_seek_rowid(v->bt, &c->bt, v->db->file.root[c->tree], c->last + 1);
}

/* Past this key a scan of TREE finds nothing to serve: uids end at uid_max, SCIM groups' gids at
 * the higher of the two ranges' ends. */
static int64_t scan_key_max(const struct nss_view *v, enum cf_tree tree)
{
	if (tree == CF_GROUPS && v->gid_min > 0 && v->gid_max > v->id_max)
		return v->gid_max;
	return v->id_max;
}

int nss_scan_row(struct nss_view *v, struct nss_cursor *c, int *errnop)
{
	int rc;
	int64_t key = 0;
	if (c->done)
		return 0;
	if (c->epoch != v->db->epoch)
		rc = scan_position(v, c);
	else if (c->pending)
		return 1; /* refused for a short buffer last time: the same row again */
	else
		rc = bt_next(v->bt, &c->bt);
	if (rc > 0 && bt_rowid(v->bt, &c->bt, &key) < 0)
		rc = -1;
	if (rc < 0) {
		c->epoch = 0; /* reposition after the last key served once the file is usable again */
		return nss_failed(v, errnop);
	}
	if (rc == 0 || key > scan_key_max(v, c->tree)) {
		c->done = true;
		return 0;
	}
	if (key <= c->seen) /* a damaged b-tree answering out of order must not loop forever */
		return nss_corrupt(v, errnop);
	c->seen = key;
	c->pending = true;
	return 1;
}

void nss_scan_served(struct nss_cursor *c, int64_t key)
{
	c->last = key;
	c->pending = false;
}

void nss_scan_skipped(struct nss_cursor *c)
{
	c->pending = false;
}
