/* Unit tests for connection sources (IPv4 address, IPv6 /64), the per-source counts, and who
 * makes room when unauthenticated connections fill their share of the slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "sync/http/http_deadline_internal.h"
#include "sync/http/http_source.h"

static struct http_source source_of_text(const char *addr)
{
	struct sockaddr_storage ss;
	struct http_source out;
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
	}
	http_source_of((struct sockaddr *)&ss, &out);
	return out;
}

static bool same(const char *a, const char *b)
{
	struct http_source sa = source_of_text(a), sb = source_of_text(b);
	return http_source_equal(&sa, &sb);
}

static void ipv6_counts_per_64_ipv4_per_address(void **state)
{
	assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"));
	assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:8000::"));
	assert_false(same("2001:db8:1:2::1", "2001:db8:1:3::1"));
	assert_false(same("2001:db8:1:2::1", "2001:db9:1:2::1"));
	assert_false(same("fe80::1", "fe81::1"));
	assert_int_equal(source_of_text("2001:db8::7").len, 8);
	assert_false(same("192.0.2.1", "192.0.2.2"));
	assert_false(same("127.0.0.2", "127.0.0.3"));
	assert_true(same("192.0.2.1", "192.0.2.1"));
	assert_int_equal(source_of_text("192.0.2.1").len, 4);
	/* An IPv4 peer on a dual-stack socket is the same source as over IPv4. */
	assert_true(same("::ffff:192.0.2.1", "192.0.2.1"));
	assert_false(same("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
	/* An IPv6 /64 whose first four bytes spell an IPv4 address is not that address. */
	assert_false(same("c000:0201::", "192.0.2.1"));
}

static void unknown_families_share_one_source(void **state)
{
	struct sockaddr_un un;
	struct http_source a, b;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	http_source_of((struct sockaddr *)&un, &a);
	http_source_of(NULL, &b);
	assert_int_equal(a.len, 0);
	assert_true(http_source_equal(&a, &b));
	struct http_source v4 = source_of_text("0.0.0.0");
	assert_false(http_source_equal(&a, &v4));
}

static void counts_add_remove_and_max(void **state)
{
	struct http_source_counts *t = http_source_counts_new(3);
	struct http_source a = source_of_text("2001:db8:0:1::1"), a2 = source_of_text("2001:db8:0:1::2"),
	                   b = source_of_text("192.0.2.1"), c = source_of_text("192.0.2.3");
	assert_non_null(t);
	assert_int_equal(http_source_counts_max(t), 0);
	assert_int_equal(http_source_counts_add(t, &a), 1);
	assert_int_equal(http_source_counts_add(t, &a2), 2); /* same /64 */
	assert_int_equal(http_source_counts_add(t, &b), 1);
	assert_int_equal(http_source_counts_add(t, &c), 0); /* three counted: no fourth */
	assert_int_equal(http_source_counts_get(t, &c), 0);
	assert_int_equal(http_source_counts_max(t), 2);
	http_source_counts_remove(t, &b);
	assert_int_equal(http_source_counts_get(t, &b), 0);
	assert_int_equal(http_source_counts_add(t, &c), 1); /* b's one is free again */
	assert_int_equal(http_source_counts_add(t, &a), 0);
	http_source_counts_remove(t, &a);
	http_source_counts_remove(t, &a2);
	assert_int_equal(http_source_counts_get(t, &a), 0);
	assert_int_equal(http_source_counts_max(t), 1);
	http_source_counts_remove(t, &a); /* not counted: no effect */
	assert_int_equal(http_source_counts_get(t, &c), 1);
	http_source_counts_free(t);
}

/* Random adds and removes over many sources (several /64s per /48, so probe runs collide),
 * checked against plain arrays: the backward-shift deletion must keep every entry reachable and
 * the constant-time maximum must stay right. */
static void counts_match_a_naive_model(void **state)
{
	enum { SOURCES = 300, FIT = 200, STEPS = 200000 };
	static struct http_source src[SOURCES];
	static unsigned model[SOURCES];
	struct http_source_counts *t = http_source_counts_new(FIT);
	unsigned seed = 12345, total = 0, refused = 0;
	assert_non_null(t);
	for (int i = 0; i < SOURCES; i++) {
		char text[64];
		snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i / 7, i);
		src[i] = source_of_text(text);
	}
	for (int step = 0; step < STEPS; step++) {
		seed = seed * 1103515245u + 12345u;
		int i = (int)((seed >> 8) % SOURCES);
		if ((seed >> 20) % 2 == 0) {
			unsigned got = http_source_counts_add(t, &src[i]);
			if (total == FIT) {
				assert_int_equal(got, 0);
				refused++;
				continue;
			}
			total++;
			assert_int_equal(got, ++model[i]);
		} else {
			http_source_counts_remove(t, &src[i]);
			if (model[i] > 0) {
				model[i]--;
				total--;
			}
		}
		unsigned max = 0;
		for (int j = 0; j < SOURCES; j++)
			max = model[j] > max ? model[j] : max;
		assert_int_equal(http_source_counts_max(t), max);
		if (step % 997 == 0)
			for (int j = 0; j < SOURCES; j++)
				assert_int_equal(http_source_counts_get(t, &src[j]), model[j]);
	}
	assert_true(refused > 0); /* the model ran full, too */
	http_source_counts_free(t);
}

/* --- who makes room: http_admit.c on a hand-built tracker (no libmicrohttpd, no thread) ------ */

struct tracker {
	struct http_deadline d;
	struct http_deadline_conn conns[16];
	int n;
};

static void tracker_init(struct tracker *tr, unsigned limit, unsigned share)
{
	memset(tr, 0, sizeof(*tr));
	tr->d.limit = limit;
	tr->d.share = share;
	tr->d.sources = http_source_counts_new(share + 1);
	assert_non_null(tr->d.sources);
	assert_int_equal(log_limit_init(&tr->d.evicted, 1, LOG_LIMIT_FLOOD_WINDOW_S), 0);
}

static void tracker_free(struct tracker *tr)
{
	log_limit_destroy(&tr->d.evicted);
	http_source_counts_free(tr->d.sources);
}

/* A new connection from ADDR, as http_deadline.c tracks it (fd -1: shutdown() is a no-op). */
static struct http_deadline_conn *arrive(struct tracker *tr, const char *addr)
{
	struct http_deadline_conn *c = &tr->conns[tr->n++];
	c->owner = &tr->d;
	c->fd = -1;
	c->source = source_of_text(addr);
	snprintf(c->client, sizeof(c->client), "%s", addr);
	c->next = tr->d.head;
	if (tr->d.head)
		tr->d.head->prev = c;
	else
		tr->d.tail = c;
	tr->d.head = c;
	tr->d.open++;
	http_admit_enter(&tr->d, c);
	return c;
}

static void authenticate(struct tracker *tr, struct http_deadline_conn *c)
{
	c->authed = true;
	http_admit_leave(&tr->d, c);
}

static void full_share_evicts_the_oldest_of_the_biggest_source(void **state)
{
	struct tracker tr;
	tracker_init(&tr, 16, 4);
	struct http_deadline_conn *a1 = arrive(&tr, "2001:db8:0:1::1"), *a2 = arrive(&tr, "2001:db8:0:1::2"),
	                          *a3 = arrive(&tr, "2001:db8:0:1::3"), *b1 = arrive(&tr, "192.0.2.1");
	assert_int_equal(tr.d.unauth, 4);
	assert_false(a1->cut || a2->cut || a3->cut || b1->cut);
	/* A newcomer from elsewhere: the /64 holding three makes room, its oldest first. */
	struct http_deadline_conn *c1 = arrive(&tr, "192.0.2.9");
	assert_true(a1->cut);
	assert_false(a2->cut || a3->cut || b1->cut || c1->cut);
	assert_int_equal(tr.d.unauth, 4);
	assert_int_equal(tr.d.dying, 1);
	/* Another address of the same /64 only takes the place of its own oldest. */
	struct http_deadline_conn *a4 = arrive(&tr, "2001:db8:0:1::4");
	assert_true(a2->cut);
	assert_false(a3->cut || a4->cut || b1->cut || c1->cut);
	/* Every source holding one: the oldest connection goes. */
	authenticate(&tr, a4);
	struct http_deadline_conn *d1 = arrive(&tr, "198.51.100.1");
	assert_false(a3->cut || b1->cut || c1->cut || d1->cut);
	struct http_deadline_conn *d2 = arrive(&tr, "198.51.100.2");
	assert_true(a3->cut);
	assert_false(b1->cut || c1->cut || d1->cut || d2->cut || a4->cut);
	tracker_free(&tr);
}

static void authenticated_connections_leave_the_share_and_keep_a_free_slot(void **state)
{
	struct tracker tr;
	tracker_init(&tr, 6, 3);
	struct http_deadline_conn *e[3];
	for (int i = 0; i < 3; i++) {
		e[i] = arrive(&tr, "127.0.0.1");
		authenticate(&tr, e[i]);
	}
	assert_int_equal(tr.d.unauth, 0);
	struct http_deadline_conn *x1 = arrive(&tr, "127.0.0.2"), *x2 = arrive(&tr, "127.0.0.3");
	assert_false(x1->cut || x2->cut);
	/* Within the share (3), but it would take the last of the 6 slots and the next newcomer
	 * could not be accepted: the oldest unauthenticated one makes room, never Entra's. */
	struct http_deadline_conn *x3 = arrive(&tr, "127.0.0.4");
	assert_true(x1->cut);
	assert_false(x2->cut || x3->cut || e[0]->cut || e[1]->cut || e[2]->cut);
	assert_int_equal(tr.d.unauth, 2);
	tracker_free(&tr);
	/* One connection alone is never cut to make room for nobody. */
	tracker_init(&tr, 1, 1);
	struct http_deadline_conn *only = arrive(&tr, "192.0.2.1");
	assert_false(only->cut);
	tracker_free(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv6_counts_per_64_ipv4_per_address),
	    cmocka_unit_test(unknown_families_share_one_source),
	    cmocka_unit_test(counts_add_remove_and_max),
	    cmocka_unit_test(counts_match_a_naive_model),
	    cmocka_unit_test(full_share_evicts_the_oldest_of_the_biggest_source),
	    cmocka_unit_test(authenticated_connections_leave_the_share_and_keep_a_free_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
