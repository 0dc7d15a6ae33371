/* Talking to the person signing in through the PAM conversation. */
#ifndef PE_PROMPT_H
#define PE_PROMPT_H

#include <security/pam_modules.h>
#include <stddef.h>

/* One echo-off prompt carrying TEXT (OpenSSH shows text to keyboard-interactive clients only
 * together with a prompt). The answer is wiped and ignored. Returns a PAM code. */
int pe_prompt(pam_handle_t *pamh, const char *text);

/* Copies SRC into DST, replacing each byte that is not printable ASCII with '?': for log lines
 * and protocol reasons, where a '?' keeps the trace of what was there. Text the user sees at
 * sign-in goes through entra_text_safe (text_safe.h) instead. */
void pe_printable(char *dst, size_t dstlen, const char *src);

#endif
