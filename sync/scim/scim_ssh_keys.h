/* The sshPublicKey attribute of the entra-login extension (common/ssh_key.h) at ingest. */
#ifndef SCIM_SSH_KEYS_H
#define SCIM_SSH_KEYS_H

#include <jansson.h>

#include "sync/scim/scim_error.h"

/* Checks *V, a string (keys one per line) or an array of such strings, against the bounds of
 * common/ssh_key.h: no NUL, at most ENTRA_SSH_KEYS_TEXT_MAX bytes in all, lines of at most
 * ENTRA_SSH_KEY_LINE_MAX bytes, at most ENTRA_SSH_KEYS_MAX lines that are not blank. The value
 * is kept as sent (Entra compares what it reads back); each line is judged again at publish,
 * where a line that is not a plain public key (options such as command=) is refused and
 * logged, so one bad line never blocks provisioning the user (a disable included). An empty
 * array or string drops the attribute. 0, or -1 with ERR (400 invalidValue at WHERE). */
int scim_ssh_keys_normalize(json_t **v, const char *where, struct scim_error *err);

#endif
