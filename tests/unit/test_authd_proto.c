/* The pam_entra <-> entra-authd messages over a real SOCK_SEQPACKET socketpair: round trips,
 * the size bound on both sides, non-object and truncated input, a hung-up peer, a deadline,
 * the peer's uid, and the device code answer pam_entra accepts without a device_code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "common/authd_proto.h"
#include "common/clock.h"
#include "common/device_code.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int pair_setup(void **state)
{
	int *fds = malloc(2 * sizeof(int));
	assert_non_null(fds);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
	*state = fds;
	return 0;
}

static int pair_teardown(void **state)
{
	int *fds = *state;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

static long long soon(void)
{
	return entra_now_ms() + 2000;
}

static void round_trip(void **state)
{
	int *fds = *state;
	char err[256] = "";
	json_t *msg = json_pack("{s:s, s:i, s:s}", "op", "start", "v", ENTRA_AUTHD_VERSION, "user", "alice");
	assert_int_equal(entra_authd_send(fds[0], msg, soon(), err, sizeof(err)), 0);
	json_decref(msg);
	json_t *got = entra_authd_recv(fds[1], soon(), err, sizeof(err));
	assert_non_null(got);
	assert_string_equal(entra_authd_field(got, "op"), "start");
	assert_string_equal(entra_authd_field(got, "user"), "alice");
	assert_string_equal(entra_authd_field(got, "absent"), "");
	json_decref(got);
}

static void raw_send_refused(int *fds, const char *bytes, size_t len, const char *why)
{
	char err[256] = "";
	assert_int_equal(send(fds[0], bytes, len, 0), (ssize_t)len);
	assert_null(entra_authd_recv(fds[1], soon(), err, sizeof(err)));
	assert_non_null(strstr(err, why));
}

static void non_objects_and_garbage_refused(void **state)
{
	raw_send_refused(*state, "[1,2]", 5, "not a JSON object");
	raw_send_refused(*state, "\"start\"", 7, "not a JSON object");
	raw_send_refused(*state, "{\"op\":", 6, "not a JSON object");
	raw_send_refused(*state, "{\"op\":\"a\",\"op\":\"b\"}", 19, "not a JSON object"); /* duplicate keys */
}

static void oversized_message_refused_not_cut(void **state)
{
	size_t len = ENTRA_AUTHD_MAX_MESSAGE + 100;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, "{}", 2); /* a valid object if it were cut at the limit */
	raw_send_refused(*state, big, len, "longer than");
	free(big);
}

static void oversized_message_not_sent(void **state)
{
	int *fds = *state;
	char err[256] = "";
	char *text = malloc(ENTRA_AUTHD_MAX_MESSAGE + 1);
	assert_non_null(text);
	memset(text, 'a', ENTRA_AUTHD_MAX_MESSAGE);
	text[ENTRA_AUTHD_MAX_MESSAGE] = '\0';
	json_t *msg = json_pack("{s:s}", "why", text);
	assert_int_equal(entra_authd_send(fds[0], msg, soon(), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	json_decref(msg);
	free(text);
}

static void hang_up_and_deadline(void **state)
{
	int *fds = *state;
	char err[256] = "";
	assert_null(entra_authd_recv(fds[1], entra_now_ms() + 50, err, sizeof(err)));
	assert_string_equal(err, "timed out");
	close(fds[0]);
	fds[0] = -1;
	assert_null(entra_authd_recv(fds[1], soon(), err, sizeof(err)));
	assert_string_equal(err, "closed");
}

static void peer_uid_is_ours(void **state)
{
	int *fds = *state;
	assert_int_equal(entra_authd_peer_uid(fds[0]), (long long)geteuid());
	assert_int_equal(entra_authd_peer_uid(-1), -1);
}

static void answer_keeps_why_printable_and_short(void **state)
{
	char why[ENTRA_AUTHD_MAX_WHY * 2];
	memset(why, 'x', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	why[0] = '\n';
	why[1] = (char)0xc3; /* a UTF-8 lead byte a plain cut could split */
	json_t *msg = entra_authd_answer("refused", why);
	assert_non_null(msg);
	const char *kept = entra_authd_field(msg, "why");
	assert_int_equal(strlen(kept), ENTRA_AUTHD_MAX_WHY);
	assert_int_equal(kept[0], '?');
	assert_int_equal(kept[1], '?');
	json_decref(msg);
}

static void code_answer_without_device_code(void **state)
{
	char why[256] = "";
	struct entra_device_code dc;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:i, s:i}", "result", "code", "user_code", "ABC", "verification_uri",
	                        "https://microsoft.com/devicelogin", "expires_in", 900, "interval", 5);
	assert_int_equal(entra_device_code_from_json(doc, false, &dc, why, sizeof(why)), 0);
	assert_null(dc.device_code);
	assert_string_equal(dc.user_code, "ABC");
	assert_int_equal(dc.interval, 5);
	entra_device_code_free(&dc);
	doc = json_pack("{s:s, s:s}", "user_code", "ABC", "verification_uri", "https://microsoft.com/devicelogin");
	assert_int_equal(entra_device_code_from_json(doc, true, &dc, why, sizeof(why)), -1);
	assert_string_equal(why, "device_code");
	doc = json_pack("{s:s, s:i}", "verification_uri", "https://x", "user_code", 7);
	assert_int_equal(entra_device_code_from_json(doc, false, &dc, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "user_code"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(round_trip, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(non_objects_and_garbage_refused, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(oversized_message_refused_not_cut, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(oversized_message_not_sent, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(hang_up_and_deadline, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(peer_uid_is_ours, pair_setup, pair_teardown),
	    cmocka_unit_test(answer_keeps_why_printable_and_short),
	    cmocka_unit_test(code_answer_without_device_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
