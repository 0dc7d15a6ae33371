/* Checks of verified token claims that both the broker and pam_entra make. */
#ifndef ENTRA_TOKEN_CLAIMS_H
#define ENTRA_TOKEN_CLAIMS_H

#include <jansson.h>
#include <stdbool.h>

/* Whether AUD (a string, or an array of strings) names CLIENT_ID. */
bool entra_audience_matches(const json_t *aud, const char *client_id);

#endif
