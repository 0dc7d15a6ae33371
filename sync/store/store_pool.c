/* The read-only connection pool of entra-syncd's SCIM service. */
#include "sync/store/store_pool.h"
#include "common/errmsg.h"

#include <stdio.h>
#include <string.h>

int store_pool_open(struct store_pool *pool, const char *path, size_t n, char *err, size_t errlen)
{
	memset(pool, 0, sizeof(*pool));
	if (n == 0 || n > STORE_POOL_MAX) {
		return entra_errf(err, errlen, "a reader pool holds 1 to %d connections, not %zu", STORE_POOL_MAX, n);
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	for (pool->n = 0; pool->n < n; pool->n++) {
		if (!(pool->conn[pool->n] = store_open_reader(path, err, errlen))) {
			store_pool_close(pool);
			return -1;
		}
	}
	return 0;
}

struct store *store_pool_take(struct store_pool *pool)
{
	struct store *st = NULL;
	pthread_mutex_lock(&pool->lock);
	while (!st) {
		for (size_t i = 0; i < pool->n && !st; i++) {
			if (!pool->busy[i]) {
				pool->busy[i] = true;
				st = pool->conn[i];
			}
		}
		if (!st)
			pthread_cond_wait(&pool->freed, &pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return st;
}

void store_pool_give(struct store_pool *pool, struct store *st)
{
	store_rollback(st); /* a handler that failed midway never keeps a snapshot open */
	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->n; i++)
		if (pool->conn[i] == st)
			pool->busy[i] = false;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

void store_pool_close(struct store_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		store_close(pool->conn[i]);
	pool->n = 0;
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
}
