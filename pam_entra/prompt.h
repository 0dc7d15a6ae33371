/* Talking to the person signing in through the PAM conversation. */
#ifndef PE_PROMPT_H
#define PE_PROMPT_H

#include <security/pam_modules.h>
#include <stddef.h>

/* One echo-off prompt carrying TEXT (OpenSSH shows text to keyboard-interactive clients only
 * together with a prompt). The answer is wiped and ignored. Returns a PAM code. */
int pe_prompt(pam_handle_t *pamh, const char *text);

#endif
