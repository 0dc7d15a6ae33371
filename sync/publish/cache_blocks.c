/* passwd_blocks: the accounts in uid order, each "uid(4, big-endian) name\0gecos\0dir\0shell\0",
 * a block ending where entra_cache_block_ends() or the fill bound says (common/cache_schema.h). */
#include "sync/publish/cache_blocks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cache_schema.h"
#include "sync/publish/cache_writer_internal.h"

static size_t entry_size(const struct cache_account *a)
{
	return 4 + strlen(a->name) + strlen(a->gecos) + strlen(a->dir) + strlen(a->shell) + 4;
}

static unsigned char *put_text(unsigned char *p, const char *s)
{
	size_t n = strlen(s) + 1;
	return (unsigned char *)memcpy(p, s, n) + n;
}

static unsigned char *put_entry(unsigned char *p, const struct cache_account *a)
{
	p[0] = (unsigned char)(a->uid >> 24), p[1] = (unsigned char)(a->uid >> 16);
	p[2] = (unsigned char)(a->uid >> 8), p[3] = (unsigned char)a->uid;
	return put_text(put_text(put_text(put_text(p + 4, a->name), a->gecos), a->dir), a->shell);
}

/* Writes the N accounts ORDER holds into B (buffer and block array sized for them). */
static void blocks_cut(const struct cache_account *const *order, size_t n, struct cache_blocks *b)
{
	unsigned char *p = b->buf, *start = p;
	for (size_t i = 0; i < n; i++) {
		p = put_entry(p, order[i]);
		bool end = i + 1 == n || entra_cache_block_ends(order[i]->uid) ||
		           (size_t)(p - start) >= ENTRA_CACHE_BLOCK_FILL;
		if (end) {
			b->blocks[b->n++] = (struct cache_block){order[i]->uid, start, (size_t)(p - start)};
			start = p;
		}
	}
}

int cache_blocks_build(const struct cache_snapshot *s, struct cache_blocks *b)
{
	size_t total = 0, n = 0;
	memset(b, 0, sizeof(*b));
	const struct cache_account **order = malloc((s->n_accounts + 1) * sizeof(*order));
	if (!order)
		return -1;
	for (size_t i = 0; i < s->n_accounts; i++) {
		size_t size = entry_size(&s->accounts[i]);
		if (size > ENTRA_CACHE_BLOCK_ENTRY_MAX) /* longer than the modules serve: left out */
			continue;
		order[n++] = &s->accounts[i];
		total += size;
	}
	qsort(order, n, sizeof(*order), cache_account_uid_cmp);
	b->buf = malloc(total + 1);
	b->blocks = malloc((n + 1) * sizeof(*b->blocks));
	if (b->buf && b->blocks)
		blocks_cut(order, n, b);
	free(order);
	if (!b->buf || !b->blocks) {
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
