/* A fixed pool of read-only state.db connections (store_open_reader), shared by the threads
 * that serve SCIM reads: a read never waits for a write transaction and never sees data that
 * is not yet committed and synced. Thread-safe. */
#ifndef SYNC_STORE_POOL_H
#define SYNC_STORE_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/store.h"

#define STORE_POOL_MAX 16

struct store_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct store *conn[STORE_POOL_MAX];
	bool busy[STORE_POOL_MAX];
	size_t n;
};

/* Opens N (1..STORE_POOL_MAX) readers of PATH; -1 with a message in ERR. */
int store_pool_open(struct store_pool *pool, const char *path, size_t n, char *err, size_t errlen);
/* A free connection, waiting while all N are in use. */
struct store *store_pool_take(struct store_pool *pool);
/* Gives ST back; a transaction it left open is rolled back first. */
void store_pool_give(struct store_pool *pool, struct store *st);
void store_pool_close(struct store_pool *pool);

#endif
