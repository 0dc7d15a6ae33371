/* passwd_blocks enumeration (nss_scim/blocks.h). A block is copied out of the file once, then
 * its entries are framed (four NULs found 16 bytes at a time), ordered and checked one per call:
 * no record decoding and no b-tree step per entry. */
#include "nss_scim/blocks.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/byte_order.h"

/* Zero bytes after a block's copy: the NUL search reads 16 bytes at a time. */
#define BLK_PAD 16

/* The file breaks the block format: a damaged or hostile file (the caller ends in nss_failed). */
static int damaged(struct nss_view *v)
{
	if (v->bt->err == BT_OK)
		v->bt->err = BT_ERR_CORRUPT;
	return -1;
}

/* Copies the block C's b-tree cursor is on: 1, or -1 (v->bt->err says why). */
static int block_load(struct nss_view *v, struct nss_cursor *c)
{
	struct nss_block *b = &c->blk;
	struct bt_value col[2]; /* last_uid (NULL: the rowid), entries */
	int64_t key;
	if (bt_record(v->bt, &c->bt, col, 2, 0, BT_ARENA_AUX, &key) < 0)
		return -1;
	if (col[0].type != BT_NULL || col[1].type != BT_BLOB || col[1].n == 0 || col[1].n > ENTRA_CACHE_BLOCK_MAX ||
	    key <= b->key || key > UINT32_MAX)
		return damaged(v);
	if (!b->buf && !(b->buf = malloc(ENTRA_CACHE_BLOCK_MAX + BLK_PAD))) {
		v->bt->err = BT_ERR_NOMEM;
		return -1;
	}
	memcpy(b->buf, col[1].p, col[1].n);
	memset(b->buf + col[1].n, 0, BLK_PAD);
	b->len = col[1].n;
	b->off = 0;
	b->key = key;
	return 1;
}

/* The offset of the first NUL in P[0..ROOM), or ROOM when there is none. P may be read up to
 * 15 bytes past ROOM (the block's padding). */
static size_t nul_find(const char *p, size_t room)
{
#ifdef __SSE2__
	for (size_t i = 0; i < room; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		unsigned nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128()));
		if (nul) {
			i += (size_t)__builtin_ctz(nul);
			return i < room ? i : room;
		}
	}
	return room;
#else
	const char *nul = memchr(p, '\0', room);
	return nul ? (size_t)(nul - p) : room;
#endif
}

/* The entry at B's offset, framed and ordered: 0, or -1 when it breaks the format (cut short, a
 * text without its NUL, a uid not above the previous one, or not the block's key at its end). */
static int entry_parse(const struct nss_block *b, struct nss_blk_entry *e)
{
	size_t room = b->len - b->off, at = 4;
	if (room < 4 + BLK_FIELDS)
		return -1;
	const char *p = (const char *)b->buf + b->off;
	for (int i = 0; i < BLK_FIELDS; i++) {
		size_t n = nul_find(p + at, room - at);
		if (n == room - at)
			return -1;
		e->len[i] = n;
		at += n + 1;
	}
	e->uid = entra_be32((const unsigned char *)p);
	e->text = p + 4;
	e->text_len = at - 4;
	bool last = at == room;
	return e->uid > b->prev && (last ? e->uid == b->key : e->uid < b->key) ? 0 : -1;
}

/* What nss_pw_row_at demands of a passwd row (gid = uid holds by construction). */
static bool entry_ok(const struct nss_view *v, const struct nss_blk_entry *e)
{
	const char *name = e->text, *gecos = name + e->len[BLK_NAME] + 1, *dir = gecos + e->len[BLK_GECOS] + 1,
	           *shell = dir + e->len[BLK_DIR] + 1;
	return nss_id_ok(v, e->uid) && nss_name_ok_n(name, e->len[BLK_NAME]) &&
	       nss_field_ok_n(gecos, e->len[BLK_GECOS]) && nss_path_ok_n(dir, e->len[BLK_DIR]) &&
	       nss_path_ok_n(shell, e->len[BLK_SHELL]);
}

static void step_over(struct nss_cursor *c, const struct nss_blk_entry *e)
{
	c->blk.prev = e->uid;
	c->blk.off += 4 + e->text_len;
}

/* Positions C's scan, in the file open now, on the block holding the first uid after the last
 * one served: the first block whose key (its last uid) is above it. 1, 0 none, -1 error. */
static int scan_position(struct nss_view *v, struct nss_cursor *c)
{
	c->epoch = v->db->epoch;
	c->blk.len = c->blk.off = 0;
	c->blk.key = c->blk.prev = -1;
	int rc = bt_seek_rowid(v->bt, &c->bt, v->db->file.root[CF_PASSWD_BLOCKS], c->last + 1);
	return rc > 0 ? block_load(v, c) : rc;
}

static int scan_step(struct nss_view *v, struct nss_cursor *c)
{
	int rc = bt_next(v->bt, &c->bt);
	return rc > 0 ? block_load(v, c) : rc;
}

int nss_blk_next(struct nss_view *v, struct nss_cursor *c, struct nss_blk_entry *e, int *errnop)
{
	int rc = 1;
	if (c->done)
		return 0;
	if (c->epoch != v->db->epoch)
		rc = scan_position(v, c);
	while (rc > 0) {
		if (c->blk.off == c->blk.len) {
			rc = scan_step(v, c);
			continue;
		}
		if (entry_parse(&c->blk, e) < 0) {
			rc = damaged(v);
			break;
		}
		if (e->uid > v->id_max) {
			rc = 0;
			break;
		}
		if (e->uid > c->last && entry_ok(v, e))
			return 1;
		if (e->uid > c->last) /* else before where the scan resumes */
			nss_log_skip(v, SKIP_PASSWD_ROW, (long long)e->uid);
		step_over(c, e);
	}
	if (rc == 0) {
		c->done = true;
		return 0;
	}
	c->epoch = 0; /* reposition after the last uid served once the file is usable again */
	return nss_failed(v, errnop);
}

void nss_blk_served(struct nss_cursor *c, const struct nss_blk_entry *e)
{
	c->last = e->uid;
	step_over(c, e);
}
