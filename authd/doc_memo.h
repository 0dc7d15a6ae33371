/* Parsed discovery and JWKS documents kept in memory by a long-lived process (entra-authd), in
 * front of the file cache: a hit costs no file read, no hashing and no JSON parse. Thread-safe.
 * Documents are shared read-only between threads (jansson's reference counts are atomic). */
#ifndef PE_DOC_MEMO_H
#define PE_DOC_MEMO_H

#include <jansson.h>
#include <time.h>

#define PE_DOC_MEMO_SLOTS 8 /* discovery + JWKS of one authority need two */

struct pe_doc_memo;

struct pe_doc_memo *pe_doc_memo_new(void);
void pe_doc_memo_free(struct pe_doc_memo *memo);

/* URL's document (a new reference) when one fetched less than TTL seconds ago is kept, else NULL. */
json_t *pe_doc_memo_get(struct pe_doc_memo *memo, const char *url, long ttl);

/* Keeps DOC (a reference of its own) for URL as fetched at FETCHED_AT, replacing URL's older
 * document or else the oldest one. */
void pe_doc_memo_put(struct pe_doc_memo *memo, const char *url, json_t *doc, time_t fetched_at);

/* Drops URL's document, so the next get misses. */
void pe_doc_memo_forget(struct pe_doc_memo *memo, const char *url);

#endif
