/* entra-authd's in-memory discovery/JWKS documents: hits within the TTL only, a clock set back
 * never extends a document's life, replacement, eviction of the oldest, forgetting, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "authd/doc_memo.h"

#include <pthread.h>
#include <stdio.h>

static json_t *doc_named(const char *name)
{
	return json_pack("{s:s}", "name", name);
}

static void assert_doc(json_t *doc, const char *name)
{
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), name);
	json_decref(doc);
}

static void hits_within_ttl_only(void **state)
{
	struct authd_doc_memo *memo = authd_doc_memo_new();
	json_t *doc = doc_named("a");
	time_t now = time(NULL);
	assert_null(authd_doc_memo_get(memo, "https://x/a", 60));
	authd_doc_memo_put(memo, "https://x/a", doc, now - 30);
	json_decref(doc); /* the memo holds its own reference */
	assert_doc(authd_doc_memo_get(memo, "https://x/a", 60), "a");
	assert_null(authd_doc_memo_get(memo, "https://x/a", 20));
	assert_null(authd_doc_memo_get(memo, "https://x/b", 60));
	doc = doc_named("future");
	authd_doc_memo_put(memo, "https://x/f", doc, now + 3600); /* the clock went back since */
	json_decref(doc);
	assert_null(authd_doc_memo_get(memo, "https://x/f", 60));
	authd_doc_memo_free(memo);
}

static void replaces_evicts_and_forgets(void **state)
{
	struct authd_doc_memo *memo = authd_doc_memo_new();
	time_t now = time(NULL);
	char url[64];
	for (int i = 0; i < AUTHD_DOC_MEMO_SLOTS + 1; i++) {
		snprintf(url, sizeof(url), "https://x/%d", i);
		json_t *doc = doc_named(url);
		authd_doc_memo_put(memo, url, doc, now - 100 + i);
		json_decref(doc);
	}
	assert_null(authd_doc_memo_get(memo, "https://x/0", 3600)); /* the oldest went */
	assert_doc(authd_doc_memo_get(memo, "https://x/1", 3600), "https://x/1");
	json_t *newer = doc_named("newer");
	authd_doc_memo_put(memo, "https://x/1", newer, now);
	json_decref(newer);
	assert_doc(authd_doc_memo_get(memo, "https://x/1", 3600), "newer");
	assert_doc(authd_doc_memo_get(memo, "https://x/8", 3600), "https://x/8");
	authd_doc_memo_forget(memo, "https://x/8");
	authd_doc_memo_forget(memo, "https://x/never");
	assert_null(authd_doc_memo_get(memo, "https://x/8", 3600));
	authd_doc_memo_free(memo);
	authd_doc_memo_free(NULL);
}

static void *reader(void *arg)
{
	for (int i = 0; i < 2000; i++) {
		json_t *doc = authd_doc_memo_get(arg, "https://x/jwks", 3600);
		if (doc && !json_object_get(doc, "name"))
			return (void *)1;
		json_decref(doc);
		if (i % 100 == 0) {
			json_t *fresh = doc_named("fresh");
			authd_doc_memo_put(arg, "https://x/jwks", fresh, time(NULL));
			json_decref(fresh);
		}
	}
	return NULL;
}

static void shared_between_threads(void **state)
{
	struct authd_doc_memo *memo = authd_doc_memo_new();
	pthread_t threads[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, reader, memo), 0);
	for (int i = 0; i < 8; i++) {
		void *failed;
		pthread_join(threads[i], &failed);
		assert_null(failed);
	}
	authd_doc_memo_free(memo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hits_within_ttl_only),
	    cmocka_unit_test(replaces_evicts_and_forgets),
	    cmocka_unit_test(shared_between_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
