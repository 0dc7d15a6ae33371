/* Enumeration scans: one statement per cursor, stepped once per get*ent call and kept open in
 * between (under the module lock), instead of a new "key > last LIMIT 1" search per entry. */
#include "nss_scim/nss_scim.h"

/* Binds C's scan to start after the last key served, on the connection open now. */
static sqlite3_stmt *scan_position(struct nss_view *v, struct nss_cursor *c, int *errnop)
{
	sqlite3_stmt *q = nss_stmt(v, c->scan, errnop);
	if (!q)
		return NULL;
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, c->last);
	sqlite3_bind_int64(q, 2, v->id_max);
	c->epoch = v->db->epoch;
	c->seen = c->last;
	c->pending = false;
	return q;
}

int nss_scan_row(struct nss_view *v, struct nss_cursor *c, sqlite3_stmt **q, int *errnop)
{
	if (c->done)
		return 0;
	if (c->epoch == v->db->epoch && (*q = v->db->st[c->scan]) != NULL) {
		if (c->pending)
			return 1; /* refused for a short buffer last time: the same row again */
	} else if (!(*q = scan_position(v, c, errnop))) {
		return -1;
	}
	int rc = nss_step(v, *q, errnop);
	if (rc == 0)
		c->done = true; /* a finished statement would restart from the top if stepped again */
	if (rc <= 0)
		return rc;
	/* A real-valued key (tampered cache) is refused by the row checks; the scan only moves
	 * forward, so it cannot make it loop. */
	sqlite3_value *key_value = sqlite3_column_value(*q, NSS_SCAN_KEY); /* see passwd.c's value_text */
	if (sqlite3_value_type(key_value) == SQLITE_INTEGER) {
		int64_t key = sqlite3_value_int64(key_value);
		if (key <= c->seen) /* a damaged b-tree answering out of order must not loop forever */
			return nss_corrupt(v, errnop);
		c->seen = key;
	}
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
