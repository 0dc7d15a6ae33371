#include "authd/doc_memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct memo_slot {
	char *url;
	json_t *doc;
	time_t fetched_at;
};

struct authd_doc_memo {
	pthread_mutex_t lock;
	struct memo_slot slots[AUTHD_DOC_MEMO_SLOTS];
};

struct authd_doc_memo *authd_doc_memo_new(void)
{
	struct authd_doc_memo *memo = calloc(1, sizeof(*memo));
	if (memo && pthread_mutex_init(&memo->lock, NULL)) {
		free(memo);
		return NULL;
	}
	return memo;
}

static void slot_clear(struct memo_slot *slot)
{
	free(slot->url);
	json_decref(slot->doc);
	memset(slot, 0, sizeof(*slot));
}

void authd_doc_memo_free(struct authd_doc_memo *memo)
{
	if (!memo)
		return;
	for (size_t i = 0; i < AUTHD_DOC_MEMO_SLOTS; i++)
		slot_clear(&memo->slots[i]);
	pthread_mutex_destroy(&memo->lock);
	free(memo);
}

static struct memo_slot *slot_find(struct authd_doc_memo *memo, const char *url)
{
	for (size_t i = 0; i < AUTHD_DOC_MEMO_SLOTS; i++)
		if (memo->slots[i].url && !strcmp(memo->slots[i].url, url))
			return &memo->slots[i];
	return NULL;
}

json_t *authd_doc_memo_get(struct authd_doc_memo *memo, const char *url, long ttl)
{
	json_t *doc = NULL;
	time_t now = time(NULL);
	pthread_mutex_lock(&memo->lock);
	struct memo_slot *slot = slot_find(memo, url);
	/* A clock set back makes the document look young: refetch rather than trust it longer. */
	if (slot && now >= slot->fetched_at && now - slot->fetched_at < ttl)
		doc = json_incref(slot->doc);
	pthread_mutex_unlock(&memo->lock);
	return doc;
}

static struct memo_slot *slot_for(struct authd_doc_memo *memo, const char *url)
{
	struct memo_slot *slot = slot_find(memo, url), *oldest = &memo->slots[0];
	if (slot)
		return slot;
	for (size_t i = 0; i < AUTHD_DOC_MEMO_SLOTS; i++) {
		if (!memo->slots[i].url)
			return &memo->slots[i];
		if (memo->slots[i].fetched_at < oldest->fetched_at)
			oldest = &memo->slots[i];
	}
	return oldest;
}

void authd_doc_memo_put(struct authd_doc_memo *memo, const char *url, json_t *doc, time_t fetched_at)
{
	char *copy = strdup(url);
	if (!copy)
		return; /* only a lost shortcut: the file cache still has it */
	pthread_mutex_lock(&memo->lock);
	struct memo_slot *slot = slot_for(memo, url);
	slot_clear(slot);
	*slot = (struct memo_slot){.url = copy, .doc = json_incref(doc), .fetched_at = fetched_at};
	pthread_mutex_unlock(&memo->lock);
}

void authd_doc_memo_forget(struct authd_doc_memo *memo, const char *url)
{
	pthread_mutex_lock(&memo->lock);
	struct memo_slot *slot = slot_find(memo, url);
	if (slot)
		slot_clear(slot);
	pthread_mutex_unlock(&memo->lock);
}
