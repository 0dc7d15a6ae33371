/* A read-only reader of SQLite 3's b-tree file format (https://www.sqlite.org/fileformat2.html),
 * libc only, for cache.db inside libnss_scim (nss_scim/cachefile.h puts the project's schema on
 * top). Every byte read is untrusted: page numbers, cell pointers, varints, payload sizes and
 * overflow chains are bounds-checked, the depth of a b-tree is capped, a page met twice on one
 * descent is refused, and every look-up has a budget of pages visited, so a hostile file ends
 * in an error (BT_ERR_*) quickly, never in a crash, a loop or a wrong row.
 *
 * Pages come through a small per-file cache (BT_CACHE_PAGES slots of one page, read with
 * pread). Pointers into a page or a decoded record stay valid only until the next read of the
 * same bt_file. Not thread-safe: the module calls it under its lock. */
#ifndef NSS_SCIM_BTREE_H
#define NSS_SCIM_BTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cache_schema.h"

#define BT_PAGE        ENTRA_CACHE_PAGE_SIZE
#define BT_DEPTH_MAX   20 /* SQLite's own cap (BTCURSOR_MAX_DEPTH) */
#define BT_CACHE_PAGES 64 /* 256 KiB: the interior pages of a 100k-user cache and some leaves */
#define BT_LEAF_SLOTS  8  /* of which leaves always keep this many (nss_scim/btree.c: slot_victim) */
/* A group's packed member names: 16 MiB is some 500k members of 30-byte names. */
#define BT_PAYLOAD_MAX (1u << 24)
/* Work per look-up, in pages visited: 1 for a page in the cache, BT_READ_COST for one read from
 * the file. The largest honest look-up, a group of 100k members outside the uid range (one
 * passwd descent per member, its interior pages cached), costs about 700k; a hostile file's
 * worst, a read per visit, is stopped after 128k reads (a fraction of a second). */
#define BT_BUDGET    (1L << 20)
#define BT_READ_COST 8
/* An enumeration reads the file this many pages at a time (bt_stream): a file written in key
 * order holds a table's leaves and the pages their rows spill onto next to each other, so one
 * read serves many rows, where reading page by page costs a system call each. */
#define BT_WINDOW_PAGES 32

enum bt_error { BT_OK, BT_ERR_CORRUPT, BT_ERR_IO, BT_ERR_BUDGET, BT_ERR_NOMEM };
enum bt_kind { BT_TABLE, BT_INDEX }; /* rowid tables (0x05/0x0D) or indexes and WITHOUT ROWID (0x02/0x0A) */
enum bt_type { BT_NULL, BT_INT, BT_REAL, BT_TEXT, BT_BLOB, BT_BAD_TEXT /* text holding a NUL */ };
enum { BT_ARENA_ROW, BT_ARENA_AUX, BT_ARENAS }; /* where decoded text is copied (bt_record) */

struct bt_value {
	enum bt_type type;
	int64_t i;     /* BT_INT */
	double r;      /* BT_REAL */
	const char *p; /* BT_TEXT, BT_BLOB: the bytes (text NUL-terminated when copied) */
	size_t n;      /* their length, NUL excluded */
};

struct bt_slot {
	uint32_t pgno; /* 0: empty */
	uint32_t used; /* clock value of the last use, for LRU */
	bool inner;    /* an interior b-tree page: kept while a leaf can go instead */
	unsigned char *data;
};

struct bt_buf {
	unsigned char *p;
	size_t cap;
};

struct bt_file {
	int fd;
	bool has_fd; /* false in a zeroed bt_file: nothing to close */
	uint32_t npages;
	long budget;       /* pages left for this look-up (bt_budget_reset) */
	enum bt_error err; /* the first error since bt_budget_reset */
	uint32_t clock;
	uint64_t reads; /* page reads from the file since bt_open (each one pread or a few) */
	unsigned last;  /* slot of the last page asked for */
	struct bt_slot slot[BT_CACHE_PAGES];
	struct bt_buf payload;          /* a payload spilling onto overflow pages, put together */
	struct bt_buf run;              /* overflow pages as read, a few at a time (payload_get) */
	struct bt_buf arena[BT_ARENAS]; /* decoded text, NUL-terminated */
	bool stream;                    /* an enumeration step: pages come through the window */
	struct bt_buf window;           /* BT_WINDOW_PAGES pages read in one go (bt_stream) */
	uint32_t window_first, window_count;
};

struct bt_level {
	uint32_t pgno;
	uint16_t idx; /* leaf: the cell; interior: the child entered (n = right-most), or the entry */
};

/* A position in one b-tree. */
struct bt_cursor {
	uint32_t root;
	enum bt_kind kind;
	unsigned depth; /* 0: not positioned (end) */
	struct bt_level at[BT_DEPTH_MAX];
};

/* FD (owned from now on) holds NPAGES pages of BT_PAGE bytes. */
void bt_open(struct bt_file *f, int fd, uint32_t npages);
void bt_close(struct bt_file *f);
void bt_budget_reset(struct bt_file *f);
/* Frees the buffers a big payload grew (called after each look-up so a process keeps little);
 * the window only when not streaming. */
void bt_trim(struct bt_file *f);
/* ON: the reads until the next bt_stream(f, false) are an enumeration's, served from a window
 * of BT_WINDOW_PAGES pages (kept between steps, freed by bt_trim once off). */
void bt_stream(struct bt_file *f, bool on);

/* Page PGNO (1..npages), or NULL with f->err set. */
const unsigned char *bt_page(struct bt_file *f, uint32_t pgno);

/* Position C on the first entry of the b-tree at ROOT whose rowid is >= KEY (BT_TABLE), or
 * whose record is >= the N values KEY compared as a prefix (BT_INDEX, SQLite's BINARY order).
 * 1 positioned, 0 no such entry, -1 error (f->err). */
int bt_seek_rowid(struct bt_file *f, struct bt_cursor *c, uint32_t root, int64_t key);
int bt_seek_key(struct bt_file *f, struct bt_cursor *c, uint32_t root, const struct bt_value *key, size_t n);
/* The next entry in key order: 1, 0 at the end, -1 error. */
int bt_next(struct bt_file *f, struct bt_cursor *c);
/* Decodes the first N columns of the entry C is on into OUT (missing columns are BT_NULL; a
 * text column whose bit is set in COPY is copied, NUL-terminated, into arena ARENA, the others
 * point into the page or payload buffer) and *ROWID for a table. 0, or -1 error. */
int bt_record(struct bt_file *f, const struct bt_cursor *c, struct bt_value *out, size_t n, unsigned copy, int arena,
              int64_t *rowid);
/* The rowid of the table entry C is on, without reading its payload: 0, or -1 error. */
int bt_rowid(struct bt_file *f, const struct bt_cursor *c, int64_t *rowid);
/* SQLite's order of two values (NULL < numbers < text < blob; text and blob by memcmp, then
 * length): <0, 0, >0. */
int bt_value_cmp(const struct bt_value *a, const struct bt_value *b);

#endif
