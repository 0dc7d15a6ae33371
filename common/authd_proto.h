/* The protocol between pam_entra and entra-authd, the sign-in broker: one JSON object per
 * message over an AF_UNIX SOCK_SEQPACKET socket, one connection per sign-in.
 *
 *   pam_entra                                   entra-authd
 *   {"op":"start","v":1,"user":..,"tenant_id":..,"client_id":..,"authority":..}
 *                                               {"result":"code","user_code":..,"verification_uri":..,
 *                                                "verification_uri_complete":..,"expires_in":..,"interval":..}
 *                                               | {"result":"busy"|"mismatch"|"unavailable","why":..}
 *   {"op":"poll"}                               {"result":"pending"|"slow_down"}
 *                                               | {"result":"signed_in","claims":{..}}
 *                                               | {"result":"refused"|"unavailable","why":..}
 *
 * The broker keeps the device code, verifies the id_token (signature, iss, aud, tid, exp, nbf,
 * iat) and answers with its claims; pam_entra re-checks tenant and audience and binds them to
 * the local account. */
#ifndef ENTRA_AUTHD_PROTO_H
#define ENTRA_AUTHD_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define ENTRA_AUTHD_VERSION     1
#define ENTRA_AUTHD_MAX_MESSAGE 16384
#define ENTRA_AUTHD_MAX_WHY     400 /* bytes of a "why" text either side keeps */

/* Sends MSG as one message. 0, or -1 with the reason in ERR (too long, peer gone, timeout). */
int entra_authd_send(int fd, const json_t *msg, long long deadline_ms, char *err, size_t errlen);

/* Receives one message by DEADLINE_MS (CLOCK_MONOTONIC ms): a JSON object, or NULL with the
 * reason in ERR ("closed" when the peer hung up, a truncated or non-object message, timeout). */
json_t *entra_authd_recv(int fd, long long deadline_ms, char *err, size_t errlen);

/* The "result" or "op" of MSG, "" when absent. */
const char *entra_authd_field(const json_t *msg, const char *name);

/* {"result":RESULT,"why":WHY} (WHY cut to ENTRA_AUTHD_MAX_WHY bytes), or NULL without memory. */
json_t *entra_authd_answer(const char *result, const char *why);

/* The uid of the process at the other end of a connected AF_UNIX socket, or -1. */
long long entra_authd_peer_uid(int fd);

#endif
