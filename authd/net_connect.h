/* TCP connections bounded by a CLOCK_MONOTONIC deadline: name resolution in a helper thread
 * that is abandoned when the deadline passes, non-blocking connect, CLOEXEC sockets. */
#ifndef PE_NET_CONNECT_H
#define PE_NET_CONNECT_H

#include <stdbool.h>
#include <stddef.h>

#include "clock.h"

/* A connected non-blocking TCP socket to HOST:PORT (tries every address), or -1 with the
 * reason in ERR (naming AUTHORITY, "host:port"). *TIMED_OUT tells a passed deadline from a refusal. */
int pe_net_connect(const char *host, unsigned port, bool numeric, const char *authority, long long deadline_ms,
                   bool *timed_out, char *err, size_t errlen);

#endif
