/* Deadlines and slots for the SCIM listener (internal to http_*.c).
 * libmicrohttpd's connection timeout is an idle timeout: a client trickling one byte at a time
 * never hits it, and its access handler is not called before the headers are complete. A
 * watchdog thread therefore tracks every connection and cuts the ones whose request (request
 * line, headers and body) is not complete within the deadline: a plain-HTTP client gets a 408
 * SCIM error first, then the socket is shut down so that libmicrohttpd closes it. A connection
 * that sends no request line within the deadline (idle keep-alive or trickled request line) is
 * closed silently, as an idle one would be.
 * Until a request on it carries a valid bearer token, a connection has the short pre-auth
 * deadline for each phase (waiting for the request line, receiving the head, being answered)
 * instead of request_timeout, and it is counted in the share of the slots unauthenticated
 * connections may hold (see http_deadline_internal.h), so that slow strangers cannot keep
 * Entra's requests out. */
#ifndef SYNC_HTTP_DEADLINE_H
#define SYNC_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>

/* The pre-auth deadline: min([sync] request_timeout, this). A client that has the token sends
 * its whole request head at once (Entra does); 5 s leaves room for a slow TLS handshake. */
#define HTTP_PREAUTH_TIMEOUT_MAX 5

struct http_deadline;
struct http_deadline_conn;

struct http_deadline_opts {
	int timeout_s;  /* [sync] request_timeout */
	int preauth_s;  /* per phase before a valid bearer token; at most timeout_s */
	unsigned limit; /* [sync] max_connections */
	unsigned share; /* most unauthenticated connections at once, 1..limit */
	bool tls;       /* the 408 cannot be written beside libmicrohttpd's TLS session, so late
	                   TLS requests are only closed */
};

/* Starts the watchdog. NULL (with ERR) when out of memory or no thread can be started. */
struct http_deadline *http_deadline_start(const struct http_deadline_opts *o, char *err, size_t errlen);
/* Call after MHD_stop_daemon (every connection is gone by then). */
void http_deadline_stop(struct http_deadline *d);

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the http_deadline): tracks connections. */
void http_deadline_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
/* The tracked state of CON, NULL when it could not be allocated (refuse the request then). */
struct http_deadline_conn *http_deadline_conn_of(struct MHD_Connection *con);
/* The request line arrived: the request's clock starts now. */
void http_deadline_request_begins(struct http_deadline_conn *c);
/* The request carried a valid bearer token: from now on the connection has request_timeout and
 * leaves the unauthenticated share. */
void http_deadline_authenticated(struct http_deadline_conn *c);
/* A response is about to be queued: the watchdog leaves the request alone from now on (before
 * authentication, only until the pre-auth deadline). False when the request was already cut (the
 * caller must then return MHD_NO). */
bool http_deadline_responding(struct http_deadline_conn *c);
/* The request ended; true when the watchdog cut it. The connection waits for its next request. */
bool http_deadline_request_ends(struct http_deadline_conn *c);

#endif
