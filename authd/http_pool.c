#include "http_pool.h"

#include "http.h"
#include "net_connect.h"
#include "tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idle_conn {
	struct pe_tls_conn *conn;
	long long since_ms; /* when it was given back */
};

struct pe_http_pool {
	struct pe_tls_client *tls; /* created in pe_http_pool_new, read-only afterwards */
	pthread_mutex_t lock;      /* guards everything below */
	size_t max_idle;
	long long max_idle_ms;
	size_t n_idle;
	struct idle_conn idle[PE_HTTP_POOL_MAX_IDLE]; /* oldest first */
};

struct pe_http_pool *pe_http_pool_new(const char *ca_file, char *err, size_t errlen)
{
	size_t ca_len = 0;
	char *ca_pem = NULL;
	if (ca_file && !(ca_pem = pe_http_ca_file_read(ca_file, &ca_len, err, errlen)))
		return NULL;
	struct pe_http_pool *pool = calloc(1, sizeof(*pool));
	if (!pool || pthread_mutex_init(&pool->lock, NULL)) {
		snprintf(err, errlen, "out of memory");
		free(pool);
		free(ca_pem);
		return NULL;
	}
	pool->max_idle = PE_HTTP_POOL_MAX_IDLE;
	pool->max_idle_ms = PE_HTTP_POOL_MAX_IDLE_MS;
	pool->tls = pe_tls_client_new(ca_pem, ca_len, ca_file, err, errlen);
	free(ca_pem); /* the certificates now live in the TLS context's store */
	if (!pool->tls) {
		pe_http_pool_free(pool);
		return NULL;
	}
	return pool;
}

/* Moves the first N idle connections (the oldest) to OUT. Called with the lock held. */
static void idle_shift(struct pe_http_pool *pool, size_t n, struct pe_tls_conn **out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = pool->idle[i].conn;
	pool->n_idle -= n;
	memmove(pool->idle, pool->idle + n, pool->n_idle * sizeof(pool->idle[0]));
}

/* Closes connections taken out of the pool, without holding its lock. */
static void conns_close(struct pe_http_pool *pool, struct pe_tls_conn **conns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pe_tls_close(pool->tls, conns[i]);
}

void pe_http_pool_free(struct pe_http_pool *pool)
{
	if (!pool)
		return;
	struct pe_tls_conn *drop[PE_HTTP_POOL_MAX_IDLE];
	size_t n = pool->n_idle;
	idle_shift(pool, n, drop);
	conns_close(pool, drop, n);
	pe_tls_client_free(pool->tls);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void pe_http_pool_set_limits(struct pe_http_pool *pool, size_t max_idle, long long max_idle_ms)
{
	struct pe_tls_conn *drop[PE_HTTP_POOL_MAX_IDLE];
	size_t n = 0;
	pthread_mutex_lock(&pool->lock);
	pool->max_idle = max_idle < PE_HTTP_POOL_MAX_IDLE ? max_idle : PE_HTTP_POOL_MAX_IDLE;
	pool->max_idle_ms = max_idle_ms;
	if (pool->n_idle > pool->max_idle)
		idle_shift(pool, n = pool->n_idle - pool->max_idle, drop);
	pthread_mutex_unlock(&pool->lock);
	conns_close(pool, drop, n);
}

struct pe_tls_client *pe_http_pool_tls(struct pe_http_pool *pool)
{
	return pool->tls;
}

/* Removes idle connection I (keeping the order of the others) and returns it. Lock held. */
static struct pe_tls_conn *idle_remove(struct pe_http_pool *pool, size_t i)
{
	struct pe_tls_conn *conn = pool->idle[i].conn;
	pool->n_idle--;
	memmove(pool->idle + i, pool->idle + i + 1, (pool->n_idle - i) * sizeof(pool->idle[0]));
	return conn;
}

struct pe_tls_conn *pe_http_pool_take(struct pe_http_pool *pool, const char *authority)
{
	struct pe_tls_conn *drop[PE_HTTP_POOL_MAX_IDLE], *conn = NULL;
	size_t stale = 0;
	pthread_mutex_lock(&pool->lock);
	long long now = entra_now_ms();
	while (stale < pool->n_idle && now - pool->idle[stale].since_ms > pool->max_idle_ms)
		stale++; /* oldest first: the stale ones are a prefix */
	idle_shift(pool, stale, drop);
	/* The newest: the least likely to have been closed by the server meanwhile. */
	for (size_t i = pool->n_idle; i-- > 0 && !conn;)
		if (!strcmp(pe_tls_authority(pool->idle[i].conn), authority))
			conn = idle_remove(pool, i);
	pthread_mutex_unlock(&pool->lock);
	conns_close(pool, drop, stale);
	return conn;
}

void pe_http_pool_put(struct pe_http_pool *pool, struct pe_tls_conn *conn)
{
	struct pe_tls_conn *drop = conn;
	pthread_mutex_lock(&pool->lock);
	if (pool->max_idle > 0) {
		drop = NULL;
		if (pool->n_idle == pool->max_idle)
			idle_shift(pool, 1, &drop);
		/* the time is read under the lock so that the array stays ordered by it */
		pool->idle[pool->n_idle++] = (struct idle_conn){.conn = conn, .since_ms = entra_now_ms()};
	}
	pthread_mutex_unlock(&pool->lock);
	if (drop)
		pe_tls_close(pool->tls, drop);
}
