#include "pam_entra/prompt.h"

#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

int pe_prompt(pam_handle_t *pamh, const char *text)
{
	const struct pam_conv *conv = NULL;
	int rc = pam_get_item(pamh, PAM_CONV, (const void **)&conv);
	if (rc != PAM_SUCCESS || !conv || !conv->conv)
		return PAM_CONV_ERR;
	struct pam_message msg = {.msg_style = PAM_PROMPT_ECHO_OFF, .msg = text};
	const struct pam_message *msgs[] = {&msg};
	struct pam_response *resp = NULL;
	rc = conv->conv(1, msgs, &resp, conv->appdata_ptr);
	if (resp) {
		if (resp[0].resp) {
			explicit_bzero(resp[0].resp, strlen(resp[0].resp));
			free(resp[0].resp);
		}
		free(resp);
	}
	return rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_CONV_ERR;
}
