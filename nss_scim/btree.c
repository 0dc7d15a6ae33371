/* SQLite 3 b-tree pages, cells, varints, overflow chains, records and cursors, read-only and
 * bounds-checked (nss_scim/btree.h). Section numbers below are those of fileformat2.html. */
#include "nss_scim/btree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/byte_order.h"

#define PAGE_LEAF_TABLE     0x0D
#define PAGE_INTERIOR_TABLE 0x05
#define PAGE_LEAF_INDEX     0x0A
#define PAGE_INTERIOR_INDEX 0x02

/* 1.6 payload thresholds for a usable size U of BT_PAGE (no reserved bytes). */
#define USABLE          BT_PAGE
#define MIN_LOCAL       ((USABLE - 12) * 32 / 255 - 23)
#define MAX_LOCAL_TABLE (USABLE - 35)
#define MAX_LOCAL_INDEX ((USABLE - 12) * 64 / 255 - 23)
#define OVERFLOW_DATA   (USABLE - 4)
/* An index entry of the project's schema is under 2 KiB (the longest, passwd_by_name's: a name,
 * a gecos of at most 256 bytes, home, shell and role). The cap bounds the overflow chain one
 * entry costs (its pages are read outside the page cache, so the page searched stays). */
#define INDEX_PAYLOAD_MAX (4 * BT_PAGE)

/* A b-tree page's header (1.6). */
struct node {
	uint32_t pgno;
	const unsigned char *pg;
	unsigned hdr;   /* 100 on page 1, else 0 */
	unsigned n;     /* cells */
	unsigned ptrs;  /* offset of the cell pointer array */
	uint32_t right; /* interior: right-most child */
	bool leaf;
};

/* One cell, with the local part of its payload. */
struct cell {
	uint32_t child;             /* interior */
	int64_t rowid;              /* table */
	uint64_t size;              /* payload bytes in all */
	const unsigned char *local; /* the bytes on this page */
	uint32_t nlocal;
	uint32_t overflow; /* first overflow page, 0 when none */
};

static int fail(struct bt_file *f, enum bt_error e)
{
	if (f->err == BT_OK)
		f->err = e;
	return -1;
}

void bt_open(struct bt_file *f, int fd, uint32_t npages)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->has_fd = true;
	f->npages = npages;
	f->budget = BT_BUDGET;
}

void bt_close(struct bt_file *f)
{
	for (int i = 0; i < BT_CACHE_PAGES; i++)
		free(f->slot[i].data);
	free(f->payload.p);
	free(f->run.p);
	free(f->window.p);
	for (int i = 0; i < BT_ARENAS; i++)
		free(f->arena[i].p);
	if (f->has_fd)
		close(f->fd);
	memset(f, 0, sizeof(*f));
}

void bt_budget_reset(struct bt_file *f)
{
	f->budget = BT_BUDGET;
	f->err = BT_OK;
}

/* Buffers above this are given back after each look-up. */
#define BUF_KEEP 16384

static void buf_trim(struct bt_buf *b)
{
	if (b->cap > BUF_KEEP) {
		free(b->p);
		*b = (struct bt_buf){0};
	}
}

void bt_trim(struct bt_file *f)
{
	buf_trim(&f->payload);
	for (int i = 0; i < BT_ARENAS; i++)
		buf_trim(&f->arena[i]);
	if (!f->stream) {
		buf_trim(&f->window);
		f->window_first = f->window_count = 0;
	}
}

void bt_stream(struct bt_file *f, bool on)
{
	f->stream = on;
}

static unsigned char *buf_reserve(struct bt_file *f, struct bt_buf *b, size_t size)
{
	if (size <= b->cap)
		return b->p;
	size_t cap = size < 4096 ? 4096 : size;
	unsigned char *p = realloc(b->p, cap);
	if (!p) {
		fail(f, BT_ERR_NOMEM);
		return NULL;
	}
	b->p = p;
	b->cap = cap;
	return p;
}

/* COUNT pages from PGNO into OUT. */
static int pages_read(struct bt_file *f, uint32_t pgno, uint32_t count, unsigned char *out)
{
	off_t at = (off_t)(pgno - 1) * BT_PAGE;
	size_t size = (size_t)count * BT_PAGE;
	f->reads++;
	for (size_t got = 0; got < size;) {
		ssize_t n = pread(f->fd, out + got, size - got, at + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* an error, or a file truncated since it was checked */
			return fail(f, BT_ERR_IO);
		got += (size_t)n;
	}
	return 0;
}

/* Pages before the one missed that a new window also holds: SQLite puts a leaf after some of
 * the overflow pages of its rows, and a window starting at the leaf would miss them. */
#define WINDOW_BEHIND 4

/* Page PGNO (checked by the caller) from the window, which is read first when it does not
 * hold it: BT_WINDOW_PAGES pages from a few before PGNO. NULL on error. */
static const unsigned char *window_page(struct bt_file *f, uint32_t pgno)
{
	if (pgno - f->window_first >= f->window_count) {
		uint32_t first = pgno > WINDOW_BEHIND ? pgno - WINDOW_BEHIND : 1;
		uint32_t count = f->npages - first + 1 < BT_WINDOW_PAGES ? f->npages - first + 1 : BT_WINDOW_PAGES;
		f->window_count = 0;
		if ((f->budget -= (long)count * BT_READ_COST) < 0) /* as many pages read one by one */
			return fail(f, BT_ERR_BUDGET), NULL;
		if (!buf_reserve(f, &f->window, (size_t)BT_WINDOW_PAGES * BT_PAGE) ||
		    pages_read(f, first, count, f->window.p) < 0)
			return NULL;
		f->window_first = first;
		f->window_count = count;
	}
	return f->window.p + (size_t)(pgno - f->window_first) * BT_PAGE;
}

/* The slot to reuse: an empty one, else the least recently used leaf, else (interior pages
 * holding all but BT_LEAF_SLOTS slots) the least recently used interior page. Interior pages go
 * last: a look-up in a big file reads a leaf no cache of this size holds, and the interior
 * pages it would evict cost a second and third read. Leaves keep a few slots whatever earlier
 * look-ups left behind: initgroups walks a members_by_uid leaf while it descends passwd once
 * per group, and two leaves taking turns in one slot cost two reads per group. */
static unsigned slot_victim(const struct bt_file *f)
{
	unsigned leaf = BT_CACHE_PAGES, inner = BT_CACHE_PAGES, inner_count = 0;
	for (unsigned i = 0; i < BT_CACHE_PAGES; i++) {
		const struct bt_slot *s = &f->slot[i];
		if (s->pgno == 0)
			return i;
		unsigned *lru = s->inner ? &inner : &leaf;
		if (*lru == BT_CACHE_PAGES || s->used < f->slot[*lru].used)
			*lru = i;
		inner_count += s->inner;
	}
	return leaf < BT_CACHE_PAGES && inner_count < BT_CACHE_PAGES - BT_LEAF_SLOTS ? leaf : inner;
}

/* The slot holding PGNO, or the one to reuse (emptied). The slot of the last page asked for is
 * tried first: a cursor asks for the same leaf several times per entry. */
static struct bt_slot *slot_for(struct bt_file *f, uint32_t pgno)
{
	if (f->slot[f->last].pgno == pgno)
		return &f->slot[f->last];
	for (unsigned i = 0; i < BT_CACHE_PAGES; i++)
		if (f->slot[i].pgno == pgno)
			return &f->slot[f->last = i];
	unsigned victim = slot_victim(f);
	f->slot[victim].pgno = 0;
	f->slot[victim].inner = false;
	return &f->slot[f->last = victim];
}

const unsigned char *bt_page(struct bt_file *f, uint32_t pgno)
{
	if (f->err != BT_OK)
		return NULL;
	if (--f->budget < 0) {
		fail(f, BT_ERR_BUDGET);
		return NULL;
	}
	if (pgno == 0 || pgno > f->npages) {
		fail(f, BT_ERR_CORRUPT);
		return NULL;
	}
	struct bt_slot *s = slot_for(f, pgno);
	s->used = ++f->clock;
	if (s->pgno == pgno)
		return s->data;
	if (!s->data && !(s->data = malloc(BT_PAGE))) {
		fail(f, BT_ERR_NOMEM);
		return NULL;
	}
	if (f->stream) {
		const unsigned char *pg = window_page(f, pgno);
		if (!pg)
			return NULL;
		memcpy(s->data, pg, BT_PAGE);
	} else if ((f->budget -= BT_READ_COST - 1) < 0) {
		fail(f, BT_ERR_BUDGET);
		return NULL;
	} else if (pages_read(f, pgno, 1, s->data) < 0) {
		return NULL;
	}
	unsigned char type = s->data[pgno == 1 ? 100 : 0];
	s->inner = type == PAGE_INTERIOR_TABLE || type == PAGE_INTERIOR_INDEX;
	s->pgno = pgno;
	return s->data;
}

/* 1.6: the page's header; its type must belong to a b-tree of KIND. */
static int node_load(struct bt_file *f, uint32_t pgno, enum bt_kind kind, struct node *nd)
{
	const unsigned char *pg = bt_page(f, pgno);
	if (!pg)
		return -1;
	unsigned hdr = pgno == 1 ? 100 : 0;
	unsigned char type = pg[hdr];
	bool table = type == PAGE_LEAF_TABLE || type == PAGE_INTERIOR_TABLE;
	bool index = type == PAGE_LEAF_INDEX || type == PAGE_INTERIOR_INDEX;
	if (kind == BT_TABLE ? !table : !index)
		return fail(f, BT_ERR_CORRUPT);
	nd->pgno = pgno;
	nd->pg = pg;
	nd->hdr = hdr;
	nd->leaf = type == PAGE_LEAF_TABLE || type == PAGE_LEAF_INDEX;
	nd->n = entra_be16(pg + hdr + 3);
	nd->ptrs = hdr + (nd->leaf ? 8 : 12);
	nd->right = nd->leaf ? 0 : entra_be32(pg + hdr + 8);
	if (nd->ptrs + 2 * nd->n > BT_PAGE)
		return fail(f, BT_ERR_CORRUPT);
	return 0;
}

/* 1.6 varint at P, not past END: its length (1..9), 0 when it does not fit. */
static unsigned varint(const unsigned char *p, const unsigned char *end, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 9; i++) {
		if (p + i >= end)
			return 0;
		if (i == 8) {
			*out = v << 8 | p[i];
			return 9;
		}
		v = v << 7 | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

/* How much of a SIZE-byte payload stays on the page (1.6). */
static uint32_t local_size(uint64_t size, bool table)
{
	uint64_t max = table ? MAX_LOCAL_TABLE : MAX_LOCAL_INDEX;
	if (size <= max)
		return (uint32_t)size;
	uint64_t k = MIN_LOCAL + (size - MIN_LOCAL) % OVERFLOW_DATA;
	return (uint32_t)(k <= max ? k : MIN_LOCAL);
}

/* Cell I of ND, every offset inside the page. */
static int cell_parse(struct bt_file *f, const struct node *nd, enum bt_kind kind, unsigned i, struct cell *c)
{
	if (i >= nd->n)
		return fail(f, BT_ERR_CORRUPT);
	unsigned off = entra_be16(nd->pg + nd->ptrs + 2 * i);
	if (off < nd->ptrs + 2 * nd->n || off >= BT_PAGE)
		return fail(f, BT_ERR_CORRUPT);
	const unsigned char *p = nd->pg + off, *end = nd->pg + BT_PAGE;
	memset(c, 0, sizeof(*c));
	if (!nd->leaf) {
		if (p + 4 > end)
			return fail(f, BT_ERR_CORRUPT);
		c->child = entra_be32(p);
		p += 4;
		if (c->child < 2 || c->child > f->npages)
			return fail(f, BT_ERR_CORRUPT);
	}
	uint64_t v;
	unsigned len;
	if (kind == BT_TABLE && !nd->leaf) { /* child and key only */
		if (!(len = varint(p, end, &v)))
			return fail(f, BT_ERR_CORRUPT);
		c->rowid = (int64_t)v;
		return 0;
	}
	if (!(len = varint(p, end, &c->size)) || c->size > (kind == BT_TABLE ? BT_PAYLOAD_MAX : INDEX_PAYLOAD_MAX))
		return fail(f, BT_ERR_CORRUPT);
	p += len;
	if (kind == BT_TABLE) {
		if (!(len = varint(p, end, &v)))
			return fail(f, BT_ERR_CORRUPT);
		c->rowid = (int64_t)v;
		p += len;
	}
	c->nlocal = local_size(c->size, kind == BT_TABLE);
	bool spills = c->nlocal < c->size;
	if ((size_t)(end - p) < c->nlocal + (spills ? 4u : 0u))
		return fail(f, BT_ERR_CORRUPT);
	c->local = p;
	c->overflow = spills ? entra_be32(p + c->nlocal) : 0;
	return 0;
}

/* Overflow pages read in one pread() at most: a chain a fresh file holds page after page (a
 * 1,000-member group's names are four pages) costs one system call. */
#define OVERFLOW_RUN 4

/* The next overflow pages of a chain from PGNO on: as many as the REMAINING payload bytes need,
 * up to AHEAD and the end of the file, into f->run (not the page cache: a group's names must
 * not evict the b-tree pages look-ups keep using). Their count, or 0 on error. */
static uint32_t overflow_run_read(struct bt_file *f, uint32_t pgno, uint64_t remaining, uint32_t ahead)
{
	if (pgno < 2 || pgno > f->npages)
		return fail(f, BT_ERR_CORRUPT), 0;
	uint64_t need = (remaining + OVERFLOW_DATA - 1) / OVERFLOW_DATA;
	uint32_t count = need < ahead ? (uint32_t)need : ahead;
	if (count > f->npages - pgno + 1)
		count = f->npages - pgno + 1;
	if ((f->budget -= (long)count * BT_READ_COST) < 0)
		return fail(f, BT_ERR_BUDGET), 0;
	if (!buf_reserve(f, &f->run, (size_t)OVERFLOW_RUN * BT_PAGE) || pages_read(f, pgno, count, f->run.p) < 0)
		return 0;
	return count;
}

/* 1.7 the whole payload of C: its local bytes, or the chain put together in f->payload. A
 * chain has exactly the pages its size needs and the last one ends it (next = 0): a cycle,
 * which never ends, is refused by that alone. Pages read ahead of a chain that jumps elsewhere
 * are only charged to the budget. */
static const unsigned char *payload_get(struct bt_file *f, const struct cell *c)
{
	if (!c->overflow && c->size == c->nlocal)
		return c->local;
	if (c->size > (uint64_t)f->npages * OVERFLOW_DATA) {
		fail(f, BT_ERR_CORRUPT);
		return NULL;
	}
	unsigned char *out = buf_reserve(f, &f->payload, (size_t)c->size);
	if (!out)
		return NULL;
	memcpy(out, c->local, c->nlocal); /* before any page is read: the cell's page may go */
	size_t at = c->nlocal;
	uint32_t next = c->overflow, ahead = OVERFLOW_RUN;
	while (f->stream && at < c->size) { /* an enumeration: the chain is most likely in the window */
		/* A visit, as bt_page counts one: rows sharing a chain pay for it each time. */
		if (--f->budget < 0)
			return fail(f, BT_ERR_BUDGET), NULL;
		const unsigned char *pg = next < 2 || next > f->npages ? NULL : window_page(f, next);
		if (!pg)
			return fail(f, BT_ERR_CORRUPT), NULL;
		size_t take = c->size - at < OVERFLOW_DATA ? (size_t)(c->size - at) : OVERFLOW_DATA;
		memcpy(out + at, pg + 4, take);
		at += take;
		next = entra_be32(pg);
	}
	while (at < c->size) {
		uint32_t first = next, count = overflow_run_read(f, first, c->size - at, ahead);
		if (!count)
			return NULL;
		for (uint32_t i = 0; i < count && at < c->size; i++) {
			const unsigned char *pg = f->run.p + (size_t)i * BT_PAGE;
			size_t take = c->size - at < OVERFLOW_DATA ? (size_t)(c->size - at) : OVERFLOW_DATA;
			memcpy(out + at, pg + 4, take);
			at += take;
			next = entra_be32(pg);
			/* Read ahead only while the chain runs page after page (a file updated in place
			 * may have it scattered). */
			ahead = next == first + i + 1 ? OVERFLOW_RUN : 1;
			if (ahead == 1)
				break; /* the chain goes on elsewhere (or ends): read from there */
		}
	}
	if (next != 0) {
		fail(f, BT_ERR_CORRUPT);
		return NULL;
	}
	return out;
}

/* 2.1 serial type T: the value's size in bytes, or -1 for the reserved 10 and 11. */
static int64_t serial_size(uint64_t t)
{
	static const unsigned char fixed[] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0};
	if (t < 10)
		return fixed[t];
	if (t < 12)
		return -1;
	return (int64_t)((t - 12) / 2);
}

static int64_t be_int(const unsigned char *p, unsigned n)
{
	uint64_t v = p[0] & 0x80 ? ~(uint64_t)0 : 0; /* sign-extended */
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static void value_set(struct bt_value *v, uint64_t t, const unsigned char *p, size_t n)
{
	v->p = (const char *)p;
	v->n = n;
	v->i = 0;
	if (t == 0) {
		v->type = BT_NULL;
	} else if (t <= 6) {
		v->type = BT_INT;
		v->i = be_int(p, (unsigned)n);
	} else if (t == 7) {
		uint64_t bits = (uint64_t)be_int(p, 8);
		v->type = BT_REAL;
		memcpy(&v->r, &bits, sizeof(v->r));
	} else if (t <= 9) {
		v->type = BT_INT;
		v->i = t == 9;
	} else {
		v->type = t % 2 ? BT_TEXT : BT_BLOB;
	}
}

/* Copies text V into *ARENA, NUL-terminated (a text holding a NUL is BT_BAD_TEXT). */
static void text_copy(struct bt_value *v, unsigned char **arena)
{
	if (memchr(v->p, '\0', v->n)) {
		v->type = BT_BAD_TEXT;
		return;
	}
	memcpy(*arena, v->p, v->n);
	(*arena)[v->n] = '\0';
	v->p = (const char *)*arena;
	*arena += v->n + 1;
}

/* The arena bytes the texts COPY selects among the first N columns need (each with its NUL),
 * from the record header H..HEND: no more than those columns, however large the record (a
 * group row's member names are not copied). At a malformed varint it stops with what the
 * columns before it need: decoding copies those, then refuses the record at the same place. */
static size_t copy_need(const unsigned char *h, const unsigned char *hend, uint64_t size, size_t n, unsigned copy)
{
	size_t need = 0;
	uint64_t t;
	for (size_t i = 0; i < n && h < hend; i++) {
		unsigned len = varint(h, hend, &t);
		int64_t vsize = len ? serial_size(t) : -1;
		if (vsize < 0 || (uint64_t)vsize > size)
			return need; /* decoding stops at this column too, before copying it */
		h += len;
		if (t >= 13 && (t & 1) && (copy >> i & 1))
			need += (size_t)vsize + 1;
	}
	return need;
}

/* 2.1 the record in P[0..SIZE): its first N columns. */
static int record_decode(struct bt_file *f, const unsigned char *p, uint64_t size, struct bt_value *out, size_t n,
                         unsigned copy, int arena)
{
	uint64_t hsize, t;
	const unsigned char *end = p + size;
	unsigned len = varint(p, end, &hsize);
	if (!len || hsize < len || hsize > size)
		return fail(f, BT_ERR_CORRUPT);
	unsigned char *dst = NULL;
	if (copy && !(dst = buf_reserve(f, &f->arena[arena], copy_need(p + len, p + hsize, size, n, copy) + 1)))
		return -1;
	const unsigned char *h = p + len, *hend = p + hsize, *body = hend;
	for (size_t i = 0; i < n; i++) {
		if (h >= hend) {
			value_set(&out[i], 0, NULL, 0); /* fewer columns: NULL, as SQLite reads them */
			continue;
		}
		if (!(len = varint(h, hend, &t)))
			return fail(f, BT_ERR_CORRUPT);
		h += len;
		int64_t vsize = serial_size(t);
		if (vsize < 0 || (uint64_t)vsize > (uint64_t)(end - body))
			return fail(f, BT_ERR_CORRUPT);
		value_set(&out[i], t, body, (size_t)vsize);
		if (out[i].type == BT_TEXT && (copy >> i & 1))
			text_copy(&out[i], &dst);
		body += vsize;
	}
	return 0;
}

int bt_value_cmp(const struct bt_value *a, const struct bt_value *b)
{
	static const int rank[] = {
	    [BT_NULL] = 0, [BT_INT] = 1, [BT_REAL] = 1, [BT_TEXT] = 2, [BT_BLOB] = 3, [BT_BAD_TEXT] = 2};
	if (rank[a->type] != rank[b->type])
		return rank[a->type] < rank[b->type] ? -1 : 1;
	if (a->type == BT_INT && b->type == BT_INT)
		return (a->i > b->i) - (a->i < b->i);
	if (rank[a->type] == 1) {
		double x = a->type == BT_INT ? (double)a->i : a->r, y = b->type == BT_INT ? (double)b->i : b->r;
		return (x > y) - (x < y);
	}
	if (rank[a->type] == 0)
		return 0;
	int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
	return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* Whether the record header of C and its first N columns lie in the cell's local bytes: a
 * search comparing those columns then reads no overflow page (an entry of passwd_by_name spills
 * its last columns, as a long gecos would make it, while its name stays on the page). */
static bool prefix_is_local(const struct cell *c, size_t n)
{
	const unsigned char *p = c->local, *hend;
	uint64_t hsize, t, body;
	unsigned len = varint(p, p + c->nlocal, &hsize);
	if (!len || hsize < len || hsize > c->nlocal)
		return false;
	hend = p + hsize;
	body = hsize;
	for (const unsigned char *h = p + len; n > 0 && h < hend; n--, h += len) {
		int64_t vsize = (len = varint(h, hend, &t)) ? serial_size(t) : -1;
		if (vsize < 0)
			return false;
		body += (uint64_t)vsize;
	}
	return body <= c->nlocal;
}

/* Index cell C's record against the N values of KEY, as a prefix. *OUT: <0, 0, >0. */
#define KEY_MAX 4
static int key_cmp(struct bt_file *f, const struct cell *c, const struct bt_value *key, size_t n, int *out)
{
	struct bt_value rec[KEY_MAX];
	/* only a cell that spills is worth the look: payload_get gives any other its local bytes */
	bool local = c->nlocal < c->size && prefix_is_local(c, n);
	const unsigned char *p = local ? c->local : payload_get(f, c);
	if (n > KEY_MAX || !p || record_decode(f, p, local ? c->nlocal : c->size, rec, n, 0, 0) < 0)
		return fail(f, BT_ERR_CORRUPT);
	*out = 0;
	for (size_t i = 0; i < n && !*out; i++)
		*out = bt_value_cmp(&rec[i], &key[i]);
	return 0;
}

/* Child I of interior page ND (I = n: the right-most). */
static int child_at(struct bt_file *f, const struct node *nd, enum bt_kind kind, unsigned i, uint32_t *child)
{
	struct cell c;
	if (i == nd->n) {
		*child = nd->right;
		return *child >= 2 && *child <= f->npages ? 0 : fail(f, BT_ERR_CORRUPT);
	}
	if (cell_parse(f, nd, kind, i, &c) < 0)
		return -1;
	*child = c.child;
	return 0;
}

/* Enters PGNO below the cursor's top: refused past the depth cap or when PGNO is already on the
 * path (a child pointing at an ancestor would loop). */
static int push(struct bt_file *f, struct bt_cursor *c, uint32_t pgno)
{
	if (c->depth >= BT_DEPTH_MAX)
		return fail(f, BT_ERR_CORRUPT);
	for (unsigned d = 0; d < c->depth; d++)
		if (c->at[d].pgno == pgno)
			return fail(f, BT_ERR_CORRUPT);
	c->at[c->depth++] = (struct bt_level){.pgno = pgno, .idx = 0};
	return 0;
}

enum move { DESCEND, ASCEND };

/* From the top of the stack to the next entry in key order, iteratively (a hostile tree of
 * empty pages costs budget, never stack). DESCEND: the top's idx is the cell (leaf) or the
 * child to enter (interior). ASCEND: the top is finished. */
static int walk(struct bt_file *f, struct bt_cursor *c, enum move m)
{
	struct node nd;
	for (;;) {
		struct bt_level *top = &c->at[c->depth - 1];
		if (m == DESCEND) {
			uint32_t child;
			if (node_load(f, top->pgno, c->kind, &nd) < 0)
				return -1;
			if (nd.leaf && top->idx < nd.n)
				return 1;
			if (nd.leaf) {
				m = ASCEND;
				continue;
			}
			if (top->idx > nd.n || child_at(f, &nd, c->kind, top->idx, &child) < 0 || push(f, c, child) < 0)
				return top->idx > nd.n ? fail(f, BT_ERR_CORRUPT) : -1;
			continue;
		}
		if (c->depth == 1) {
			c->depth = 0;
			return 0;
		}
		top = &c->at[--c->depth - 1];
		if (node_load(f, top->pgno, c->kind, &nd) < 0)
			return -1;
		if (top->idx >= nd.n)
			continue; /* came out of the right-most child: this page is finished too */
		if (c->kind == BT_INDEX)
			return 1; /* the interior entry that follows that child */
		top->idx++;
		m = DESCEND;
	}
}

/* The first cell of ND not below the key (binary search): n when none. A key spilling onto
 * overflow pages may push ND's page out of the cache: it is then fetched again. */
static int lower_bound(struct bt_file *f, struct node *nd, enum bt_kind kind, int64_t rowid, const struct bt_value *key,
                       size_t n, unsigned *out)
{
	unsigned lo = 0, hi = nd->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct cell c;
		int cmp;
		if (cell_parse(f, nd, kind, mid, &c) < 0)
			return -1;
		if (kind == BT_TABLE)
			cmp = (c.rowid > rowid) - (c.rowid < rowid);
		else if (key_cmp(f, &c, key, n, &cmp) < 0 || (c.overflow && node_load(f, nd->pgno, kind, nd) < 0))
			return -1;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = lo;
	return 0;
}

static int seek(struct bt_file *f, struct bt_cursor *c, uint32_t root, enum bt_kind kind, int64_t rowid,
                const struct bt_value *key, size_t n)
{
	*c = (struct bt_cursor){.root = root, .kind = kind};
	if (push(f, c, root) < 0)
		return -1;
	for (;;) {
		struct bt_level *top = &c->at[c->depth - 1];
		struct node nd;
		unsigned i;
		uint32_t child;
		if (node_load(f, top->pgno, kind, &nd) < 0 || lower_bound(f, &nd, kind, rowid, key, n, &i) < 0)
			return -1;
		top->idx = (uint16_t)i;
		if (nd.leaf) {
			int rc = walk(f, c, DESCEND);
			if (rc <= 0)
				c->depth = 0;
			return rc;
		}
		if (child_at(f, &nd, kind, i, &child) < 0 || push(f, c, child) < 0)
			return -1;
	}
}

int bt_seek_rowid(struct bt_file *f, struct bt_cursor *c, uint32_t root, int64_t key)
{
	return seek(f, c, root, BT_TABLE, key, NULL, 0);
}

int bt_seek_key(struct bt_file *f, struct bt_cursor *c, uint32_t root, const struct bt_value *key, size_t n)
{
	return seek(f, c, root, BT_INDEX, 0, key, n);
}

int bt_next(struct bt_file *f, struct bt_cursor *c)
{
	if (c->depth == 0)
		return 0;
	c->at[c->depth - 1].idx++;
	int rc = walk(f, c, DESCEND);
	if (rc < 0)
		c->depth = 0;
	return rc;
}

int bt_record(struct bt_file *f, const struct bt_cursor *c, struct bt_value *out, size_t n, unsigned copy, int arena,
              int64_t *rowid)
{
	struct node nd;
	struct cell cell;
	if (c->depth == 0)
		return fail(f, BT_ERR_CORRUPT);
	const struct bt_level *top = &c->at[c->depth - 1];
	if (node_load(f, top->pgno, c->kind, &nd) < 0 || cell_parse(f, &nd, c->kind, top->idx, &cell) < 0)
		return -1;
	if (c->kind == BT_TABLE && !nd.leaf)
		return fail(f, BT_ERR_CORRUPT);
	if (rowid)
		*rowid = cell.rowid;
	const unsigned char *p = payload_get(f, &cell);
	if (!p)
		return -1;
	return record_decode(f, p, cell.size, out, n, copy, arena);
}

int bt_rowid(struct bt_file *f, const struct bt_cursor *c, int64_t *rowid)
{
	struct node nd;
	struct cell cell;
	if (c->depth == 0 || c->kind != BT_TABLE)
		return fail(f, BT_ERR_CORRUPT);
	const struct bt_level *top = &c->at[c->depth - 1];
	if (node_load(f, top->pgno, c->kind, &nd) < 0 || cell_parse(f, &nd, c->kind, top->idx, &cell) < 0)
		return -1;
	if (!nd.leaf)
		return fail(f, BT_ERR_CORRUPT);
	*rowid = cell.rowid;
	return 0;
}
