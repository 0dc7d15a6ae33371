/* Names the base system and common packages own: never given to, or served for, an Entra
 * account or group. Shared by the publisher (refuses them) and the modules (never serve them). */
#ifndef ENTRA_RESERVED_NAMES_H
#define ENTRA_RESERVED_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* True for names a distribution or the base system uses (root, daemon, sudo, systemd-*, ...). */
bool entra_name_reserved(const char *name);
/* The same for NAME of LEN bytes (strlen(NAME) == LEN), when the caller knows it. */
bool entra_name_reserved_len(const char *name, size_t len);

#endif
