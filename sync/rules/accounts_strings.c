/* The strings an account snapshot owns (sync/rules/accounts.h), bump-allocated in chunks and
 * freed with it by accounts_free: a publish of 100k accounts makes some 300k of them, and one
 * malloc and free each was a tenth of its time. Apart from accounts.c so that ssh_keys.c, which
 * accounts.c calls, can keep its key lines there without calling back into accounts.c. */
#include <stdlib.h>
#include <string.h>

#include "sync/rules/accounts.h"

#define CHUNK_SIZE 65536

/* A new chunk of at least NEED bytes (a longer string gets a chunk of its own). */
static int chunk_add(struct accounts *a, size_t need)
{
	size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;
	if (a->n_strings == a->cap_strings) {
		size_t ncap = a->cap_strings ? a->cap_strings * 2 : 64;
		char **grown = realloc(a->strings, ncap * sizeof(*grown));
		if (!grown)
			return -1;
		a->strings = grown, a->cap_strings = ncap;
	}
	if (!(a->strings[a->n_strings] = malloc(size)))
		return -1;
	a->n_strings++;
	a->chunk_used = 0, a->chunk_size = size;
	return 0;
}

char *accounts_alloc(struct accounts *a, size_t len)
{
	if ((!a->n_strings || a->chunk_size - a->chunk_used < len) && chunk_add(a, len))
		return NULL;
	char *s = a->strings[a->n_strings - 1] + a->chunk_used;
	a->chunk_used += len;
	return s;
}

char *accounts_strdup(struct accounts *a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = accounts_alloc(a, len);
	return d ? memcpy(d, s, len) : NULL;
}
