/* [entra] ca_file, checked once when the client is made, so that a wrong path or a file without
 * a certificate stops entra-authd at start (and fails doctor) instead of every sign-in. */
#include "httpc/httpc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_FILE_MAX (1024 * 1024)

int httpc_ca_file_check(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return snprintf(err, errlen, "cannot open [entra] ca_file %s: %s", path, strerror(errno)), -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > CA_FILE_MAX) {
		close(fd);
		return snprintf(err, errlen, "[entra] ca_file %s is not a PEM file of 1 to %d bytes", path,
		                CA_FILE_MAX),
		       -1;
	}
	FILE *f = fdopen(fd, "r");
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	else
		close(fd);
	ERR_clear_error();
	if (!cert)
		return snprintf(err, errlen, "[entra] ca_file %s holds no usable PEM certificate", path), -1;
	X509_free(cert);
	return 0;
}
