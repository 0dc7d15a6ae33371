/* Whole-request deadline ([sync] request_timeout) for the SCIM listener (internal to http_*.c).
 * libmicrohttpd's connection timeout is an idle timeout: a client trickling one byte at a time
 * never hits it, and its access handler is not called before the headers are complete. A
 * watchdog thread therefore tracks every connection and cuts the ones whose request (request
 * line, headers and body) is not complete within the deadline: a plain-HTTP client gets a 408
 * SCIM error first, then the socket is shut down so that libmicrohttpd closes it. A connection
 * that sends no request line within the deadline (idle keep-alive or trickled request line) is
 * closed silently, as an idle one would be. */
#ifndef SYNC_HTTP_DEADLINE_H
#define SYNC_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>

struct http_deadline;
struct http_deadline_conn;

/* Starts the watchdog. TLS: the 408 cannot be written beside libmicrohttpd's TLS session, so
 * late TLS requests are only closed. NULL (with ERR) when no thread can be started. */
struct http_deadline *http_deadline_start(int timeout_s, bool tls, char *err, size_t errlen);
/* Call after MHD_stop_daemon (every connection is gone by then). */
void http_deadline_stop(struct http_deadline *d);

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the http_deadline): tracks connections. */
void http_deadline_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
/* The tracked state of CON, NULL when it could not be allocated (refuse the request then). */
struct http_deadline_conn *http_deadline_conn_of(struct MHD_Connection *con);
/* The request line arrived: the request's clock starts now. */
void http_deadline_request_begins(struct http_deadline_conn *c);
/* A response is about to be queued: the watchdog leaves the request alone from now on. False when
 * the request was already cut (the caller must then return MHD_NO). */
bool http_deadline_responding(struct http_deadline_conn *c);
/* The request ended; true when the watchdog cut it. The connection waits for its next request. */
bool http_deadline_request_ends(struct http_deadline_conn *c);

#endif
