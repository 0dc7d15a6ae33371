/* Parsed discovery and JWKS documents kept in memory by a long-lived process (entra-authd), in
 * front of the file cache: a hit costs no file read, no hashing and no JSON parse. Thread-safe.
 * Documents are shared read-only between threads (jansson's reference counts are atomic). */
#ifndef AUTHD_DOC_MEMO_H
#define AUTHD_DOC_MEMO_H

#include <jansson.h>
#include <time.h>

#define AUTHD_DOC_MEMO_SLOTS 8 /* discovery + JWKS of one authority need two */

struct authd_doc_memo;

struct authd_doc_memo *authd_doc_memo_new(void);
void authd_doc_memo_free(struct authd_doc_memo *memo);

/* URL's document (a new reference) when one fetched less than TTL seconds ago is kept, else NULL. */
json_t *authd_doc_memo_get(struct authd_doc_memo *memo, const char *url, long ttl);

/* Keeps DOC (a reference of its own) for URL as fetched at FETCHED_AT, replacing URL's older
 * document or else the oldest one. */
void authd_doc_memo_put(struct authd_doc_memo *memo, const char *url, json_t *doc, time_t fetched_at);

/* Drops URL's document, so the next get misses. */
void authd_doc_memo_forget(struct authd_doc_memo *memo, const char *url);

#endif
