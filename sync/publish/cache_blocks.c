/* passwd_blocks: the accounts in uid order, each "uid(4, big-endian) name\0gecos\0dir\0shell\0",
 * a block ending where entra_cache_block_ends() or the fill bound says (common/cache_schema.h).
 * This runs at every publish (100k accounts: a few ms): each text's length is taken once and the
 * accounts are put in uid order by a radix sort, not a comparison sort chasing pointers. */
#include "sync/publish/cache_blocks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cache_schema.h"

/* One account on its way into a block. */
struct entry {
	uint32_t uid;
	uint32_t row;    /* index into the snapshot's accounts */
	uint32_t len[4]; /* name, gecos, dir, shell, NULs excluded */
};

static const char *text_of(const struct cache_account *a, int i)
{
	return i == 0 ? a->name : i == 1 ? a->gecos : i == 2 ? a->dir : a->shell;
}

static size_t entry_size(const struct entry *e)
{
	return 4 + e->len[0] + e->len[1] + e->len[2] + e->len[3] + 4;
}

/* E (of account A) at P: the uid big-endian, then the four texts with their NULs. */
static unsigned char *put_entry(unsigned char *p, const struct entry *e, const struct cache_account *a)
{
	p[0] = (unsigned char)(e->uid >> 24), p[1] = (unsigned char)(e->uid >> 16);
	p[2] = (unsigned char)(e->uid >> 8), p[3] = (unsigned char)e->uid;
	p += 4;
	for (int i = 0; i < 4; i++) {
		memcpy(p, text_of(a, i), e->len[i] + 1);
		p += e->len[i] + 1;
	}
	return p;
}

/* Sorts E[0..N) by uid (least significant byte first, four stable passes through TMP). */
static void sort_by_uid(struct entry *e, struct entry *tmp, size_t n)
{
	for (unsigned shift = 0; shift < 32; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < n; i++)
			count[(e[i].uid >> shift & 0xff) + 1]++;
		for (int d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (size_t i = 0; i < n; i++)
			tmp[count[e[i].uid >> shift & 0xff]++] = e[i];
		memcpy(e, tmp, n * sizeof(*e));
	}
}

/* Writes the N entries E (in uid order) of S's accounts into B (buffer and array sized). */
static void blocks_cut(const struct cache_snapshot *s, const struct entry *e, size_t n, struct cache_blocks *b)
{
	unsigned char *p = b->buf, *start = p;
	for (size_t i = 0; i < n; i++) {
		p = put_entry(p, &e[i], &s->accounts[e[i].row]);
		bool end =
		    i + 1 == n || entra_cache_block_ends(e[i].uid) || (size_t)(p - start) >= ENTRA_CACHE_BLOCK_FILL;
		if (end) {
			b->blocks[b->n++] = (struct cache_block){e[i].uid, start, (size_t)(p - start)};
			start = p;
		}
	}
}

/* S's accounts short enough for a block, into E: their count, and *TOTAL their bytes. */
static size_t entries_take(const struct cache_snapshot *s, struct entry *e, size_t *total)
{
	size_t n = 0;
	*total = 0;
	for (size_t i = 0; i < s->n_accounts; i++) {
		struct entry x = {.uid = s->accounts[i].uid, .row = (uint32_t)i};
		size_t size = 4 + 4;
		for (int t = 0; t < 4; t++)
			size += x.len[t] = (uint32_t)strlen(text_of(&s->accounts[i], t));
		if (size > ENTRA_CACHE_BLOCK_ENTRY_MAX) /* longer than the modules serve: left out */
			continue;
		e[n++] = x;
		*total += entry_size(&x);
	}
	return n;
}

int cache_blocks_build(const struct cache_snapshot *s, struct cache_blocks *b)
{
	size_t total = 0, n;
	memset(b, 0, sizeof(*b));
	struct entry *e = malloc((s->n_accounts + 1) * sizeof(*e)), *tmp = malloc((s->n_accounts + 1) * sizeof(*tmp));
	if (e && tmp) {
		n = entries_take(s, e, &total);
		sort_by_uid(e, tmp, n);
		b->buf = malloc(total + 1);
		b->blocks = malloc((n + 1) * sizeof(*b->blocks));
		if (b->buf && b->blocks)
			blocks_cut(s, e, n, b);
	}
	free(e);
	free(tmp);
	if (!b->buf || !b->blocks) {
		cache_blocks_free(b);
		return -1;
	}
	return 0;
}

/* --- splicing PREV's blocks --- */

/* The blocks being written: bytes appended at the end of the buffer, the open block from START. */
struct splice {
	struct cache_blocks *b;
	size_t cap;  /* room in b->blocks */
	size_t used; /* bytes in b->buf */
	size_t start;
	bool open;     /* bytes since the last cut */
	uint32_t last; /* uid of the last entry fed */
};

static int splice_close(struct splice *sp, uint32_t last_uid)
{
	if (sp->b->n == sp->cap) {
		struct cache_block *grown = realloc(sp->b->blocks, (sp->cap *= 2) * sizeof(*grown));
		if (!grown)
			return -1;
		sp->b->blocks = grown;
	}
	sp->b->blocks[sp->b->n++] = (struct cache_block){last_uid, sp->b->buf + sp->start, sp->used - sp->start};
	sp->start = sp->used;
	sp->open = false;
	return 0;
}

/* One entry (BYTES, LEN) of uid UID, cut as blocks_cut cuts (the end of input aside). */
static int splice_feed(struct splice *sp, uint32_t uid, const unsigned char *bytes, size_t len)
{
	memcpy(sp->b->buf + sp->used, bytes, len);
	sp->used += len;
	sp->open = true;
	sp->last = uid;
	if (entra_cache_block_ends(uid) || sp->used - sp->start >= ENTRA_CACHE_BLOCK_FILL)
		return splice_close(sp, uid);
	return 0;
}

/* The changed account UID as NEXT has it, fed (nothing when NEXT has none, or it is too long). */
static int splice_changed(struct splice *sp, const struct cache_snapshot *next, const struct keymap *accounts,
                          uint32_t uid)
{
	size_t row;
	unsigned char entry[ENTRA_CACHE_BLOCK_ENTRY_MAX];
	if (!keymap_get(accounts, uid, &row))
		return 0;
	struct entry e = {.uid = uid, .row = (uint32_t)row};
	size_t size = 8;
	for (int t = 0; t < 4; t++)
		size += e.len[t] = (uint32_t)strlen(text_of(&next->accounts[row], t));
	if (size > ENTRA_CACHE_BLOCK_ENTRY_MAX)
		return 0;
	put_entry(entry, &e, &next->accounts[row]);
	return splice_feed(sp, uid, entry, size);
}

/* The entry of a block the writer made at P: its uid, and its length. */
static size_t entry_at(const unsigned char *p, uint32_t *uid)
{
	*uid = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	size_t at = 4;
	for (int t = 0; t < 4; t++)
		at += strlen((const char *)p + at) + 1;
	return at;
}

/* PREV's block K cut again, merged with the changes from *J on that come before its end (all of
 * them when LAST): kept entries copied, changed ones taken from NEXT. */
static int splice_recut(struct splice *sp, const struct cache_block *k, bool last, const struct cache_snapshot *next,
                        const struct keymap *accounts, const uint32_t *changed, size_t n, size_t *j)
{
	int rc = 0;
	for (size_t at = 0; rc == 0 && at < k->len;) {
		uint32_t uid;
		size_t len = entry_at(k->bytes + at, &uid);
		for (; rc == 0 && *j < n && changed[*j] < uid; ++*j)
			rc = splice_changed(sp, next, accounts, changed[*j]);
		if (rc == 0 && *j < n && changed[*j] == uid)
			rc = splice_changed(sp, next, accounts, changed[(*j)++]);
		else if (rc == 0)
			rc = splice_feed(sp, uid, k->bytes + at, len);
		at += len;
	}
	for (; rc == 0 && last && *j < n; ++*j)
		rc = splice_changed(sp, next, accounts, changed[*j]);
	return rc;
}

/* Bytes NEXT's blocks take at most: PREV's, plus every changed account as NEXT has it. */
static size_t splice_room(const struct cache_blocks *prev, const struct cache_snapshot *next,
                          const struct keymap *accounts, const uint32_t *changed, size_t n)
{
	size_t room =
	    prev->n ? (size_t)(prev->blocks[prev->n - 1].bytes + prev->blocks[prev->n - 1].len - prev->buf) : 0;
	for (size_t j = 0, row; j < n; j++) {
		if (!keymap_get(accounts, changed[j], &row))
			continue;
		room += 8;
		for (int t = 0; t < 4; t++)
			room += strlen(text_of(&next->accounts[row], t));
	}
	return room;
}

static int splice_walk(struct splice *sp, const struct cache_blocks *prev, const struct cache_snapshot *next,
                       const struct keymap *accounts, const uint32_t *changed, size_t n)
{
	size_t j = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < prev->n; i++) {
		const struct cache_block *k = &prev->blocks[i];
		bool last = i + 1 == prev->n;
		/* In step with PREV's cuts and no change up to its end: this block is PREV's. */
		if (!sp->open && (j == n || (k->last_uid < changed[j] && !last))) {
			memcpy(sp->b->buf + sp->used, k->bytes, k->len);
			sp->used += k->len;
			rc = splice_close(sp, k->last_uid);
		} else {
			rc = splice_recut(sp, k, last, next, accounts, changed, n, &j);
		}
	}
	for (; rc == 0 && j < n; j++) /* PREV had no blocks */
		rc = splice_changed(sp, next, accounts, changed[j]);
	if (rc == 0 && sp->open) /* the last entry ends the last block */
		rc = splice_close(sp, sp->last);
	return rc;
}

int cache_blocks_update(const struct cache_blocks *prev_blocks, const struct cache_snapshot *next,
                        const struct keymap *accounts, const uint32_t *changed, size_t n, struct cache_blocks *b)
{
	struct splice sp = {.b = b, .cap = prev_blocks->n + 16};
	memset(b, 0, sizeof(*b));
	b->buf = malloc(splice_room(prev_blocks, next, accounts, changed, n) + 1);
	b->blocks = malloc(sp.cap * sizeof(*b->blocks));
	if (!b->buf || !b->blocks || splice_walk(&sp, prev_blocks, next, accounts, changed, n)) {
		cache_blocks_free(b);
		return -1;
	}
	return 0;
}

void cache_blocks_free(struct cache_blocks *b)
{
	free(b->blocks);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}
