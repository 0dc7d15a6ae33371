/* The TLS pair in use and its replacement on SIGHUP. See http_tls.h. */
#include "sync/http/http_tls.h"
#include "common/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX_BYTES (256 * 1024)
#define CHAIN_MAX     16 /* certificates in tls_cert: the server's and its intermediates */

struct tls_pair {
	gnutls_datum_t chain[CHAIN_MAX]; /* DER, the server certificate first */
	unsigned n;
	gnutls_datum_t key; /* the PEM text of tls_key, wiped when freed */
	char desc[256];
};

/* Handshakes (libmicrohttpd's threads) read `current`; a reload (the main thread) swaps it. */
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct tls_pair *current;

static void wipe_free(void *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
	free(p);
}

static void pair_free(struct tls_pair *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		gnutls_free(p->chain[i].data);
	wipe_free(p->key.data, p->key.size);
	free(p);
}

static int read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	while (len < size) {
		ssize_t got = read(fd, buf + len, size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		len += (size_t)got;
	}
	return 0;
}

/* Reads a PEM file into OUT (NUL-terminated, size without the NUL). */
static int read_pem(const char *path, const char *what, gnutls_datum_t *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return entra_errf(err, errlen, "cannot open %s %s: %s%s", what, path, strerror(errno),
		                  errno == EACCES ? " (entra-syncd runs as entra-sync: make the file readable by "
		                                    "its group, e.g. root:entra-sync 0640)"
		                                  : "");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX_BYTES) {
		close(fd);
		return entra_errf(err, errlen, "%s %s is not a PEM file of at most %d bytes", what, path,
		                  PEM_MAX_BYTES);
	}
	char *buf = calloc(1, (size_t)st.st_size + 1);
	int rc = buf ? read_all(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (rc != 0) {
		wipe_free(buf, (size_t)st.st_size);
		return entra_errf(err, errlen, "cannot read %s %s", what, path);
	}
	if (!strstr(buf, "-----BEGIN ")) {
		wipe_free(buf, (size_t)st.st_size);
		return entra_errf(err, errlen, "%s %s is not PEM (expected a -----BEGIN ...----- block)", what, path);
	}
	out->data = (unsigned char *)buf;
	out->size = (unsigned)st.st_size;
	return 0;
}

/* GnuTLS's own loader: it parses both and refuses a key that does not match the certificate. */
static int check_match(const gnutls_datum_t *cert, const gnutls_datum_t *key, const char *cert_path,
                       const char *key_path, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return entra_errf(err, errlen, "out of memory loading %s", cert_path);
	int rc = gnutls_certificate_set_x509_key_mem2(cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (rc < 0)
		return entra_errf(err, errlen, "tls_cert %s and tls_key %s are not a usable pair: %s", cert_path,
		                  key_path, gnutls_strerror(rc));
	return 0;
}

static void describe(gnutls_x509_crt_t leaf, char *out, size_t outlen)
{
	gnutls_datum_t dn = {NULL, 0};
	char until[64] = "?";
	time_t t = gnutls_x509_crt_get_expiration_time(leaf);
	struct tm tm;
	if (t != (time_t)-1 && gmtime_r(&t, &tm))
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
	if (gnutls_x509_crt_get_dn3(leaf, &dn, 0) < 0)
		dn.data = NULL;
	snprintf(out, outlen, "%s, valid until %s", dn.data ? (const char *)dn.data : "(no subject)", until);
	gnutls_free(dn.data);
}

/* 0 when the server certificate is valid now, else -1 with why. */
static int check_validity(gnutls_x509_crt_t leaf, const char *path, char *err, size_t errlen)
{
	time_t now = time(NULL);
	if (gnutls_x509_crt_get_expiration_time(leaf) < now)
		return entra_errf(err, errlen, "tls_cert %s has expired", path);
	if (gnutls_x509_crt_get_activation_time(leaf) > now)
		return entra_errf(err, errlen, "tls_cert %s is not valid yet (check the clock)", path);
	return 0;
}

static void crts_free(gnutls_x509_crt_t *crts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
}

/* Splits the PEM chain into DER certificates; describes the first and puts in WARN why it is
 * not valid now, if it is not. */
static int load_chain(struct tls_pair *p, const gnutls_datum_t *pem, const char *path, char *warn, size_t warnlen,
                      char *err, size_t errlen)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int rc = gnutls_x509_crt_list_import2(&crts, &n, pem, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0)
		return entra_errf(err, errlen, "tls_cert %s: %s", path, gnutls_strerror(rc));
	const char *why = n == 0 ? "no certificate" : n > CHAIN_MAX ? "more than 16 certificates" : NULL;
	for (unsigned i = 0; !why && i < n; i++) {
		if ((rc = gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER, &p->chain[i])) < 0)
			why = gnutls_strerror(rc);
		else
			p->n++;
	}
	if (!why) {
		describe(crts[0], p->desc, sizeof(p->desc));
		check_validity(crts[0], path, warn, warnlen);
	}
	crts_free(crts, n);
	return why ? entra_errf(err, errlen, "tls_cert %s: %s", path, why) : 0;
}

/* The new pair from both files, or NULL with the reason. */
static struct tls_pair *pair_read(const char *cert_path, const char *key_path, bool at_start, char *err, size_t errlen,
                                  char *warn, size_t warnlen)
{
	gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
	struct tls_pair *p = calloc(1, sizeof(*p));
	int rc = p ? 0 : entra_errf(err, errlen, "out of memory loading %s", cert_path);
	if (rc == 0)
		rc = read_pem(cert_path, "tls_cert", &cert, err, errlen);
	if (rc == 0)
		rc = read_pem(key_path, "tls_key", &key, err, errlen);
	if (rc == 0)
		rc = check_match(&cert, &key, cert_path, key_path, err, errlen);
	if (rc == 0)
		rc = load_chain(p, &cert, cert_path, warn, warnlen, err, errlen);
	if (rc == 0 && warn[0] && !at_start)
		rc = entra_errf(err, errlen, "%s", warn);
	free(cert.data);
	if (rc != 0) {
		wipe_free(key.data, key.size);
		pair_free(p);
		return NULL;
	}
	p->key = key;
	return p;
}

int http_tls_load(const char *cert_path, const char *key_path, bool at_start, char *err, size_t errlen, char *warn,
                  size_t warnlen)
{
	warn[0] = '\0';
	struct tls_pair *p = pair_read(cert_path, key_path, at_start, err, errlen, warn, warnlen);
	if (!p)
		return -1;
	pthread_rwlock_wrlock(&lock);
	struct tls_pair *old = current;
	current = p;
	pthread_rwlock_unlock(&lock);
	pair_free(old); /* no handshake holds it: each took copies under the lock */
	return 0;
}

void http_tls_describe(char *out, size_t outlen)
{
	pthread_rwlock_rdlock(&lock);
	snprintf(out, outlen, "%s", current ? current->desc : "(none)");
	pthread_rwlock_unlock(&lock);
}

void http_tls_clear(void)
{
	pthread_rwlock_wrlock(&lock);
	struct tls_pair *old = current;
	current = NULL;
	pthread_rwlock_unlock(&lock);
	pair_free(old);
}

static void pcerts_free(gnutls_pcert_st *pcerts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_pcert_deinit(&pcerts[i]);
	gnutls_free(pcerts);
}

/* Copies of P's certificates and key, owned by the caller (GnuTLS, with DEINIT_ALL). */
static int pair_copy(const struct tls_pair *p, gnutls_pcert_st **certs, gnutls_privkey_t *key)
{
	gnutls_pcert_st *pcerts = gnutls_calloc(p->n, sizeof(*pcerts));
	unsigned done = 0;
	if (!pcerts)
		return -1;
	while (done < p->n && gnutls_pcert_import_x509_raw(&pcerts[done], &p->chain[done], GNUTLS_X509_FMT_DER, 0) >= 0)
		done++;
	if (done == p->n && gnutls_privkey_init(key) >= 0) {
		if (gnutls_privkey_import_x509_raw(*key, &p->key, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0) {
			*certs = pcerts;
			return 0;
		}
		gnutls_privkey_deinit(*key);
	}
	pcerts_free(pcerts, done);
	return -1;
}

int http_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info, gnutls_pcert_st **certs,
                      unsigned int *certs_length, gnutls_ocsp_data_st **ocsp, unsigned int *ocsp_length,
                      gnutls_privkey_t *privkey, unsigned int *flags)
{
	(void)session;
	(void)info;
	int rc = -1;
	pthread_rwlock_rdlock(&lock);
	if (current && pair_copy(current, certs, privkey) == 0) {
		*certs_length = current->n;
		rc = 0;
	}
	pthread_rwlock_unlock(&lock);
	*ocsp = NULL;
	*ocsp_length = 0;
	*flags = GNUTLS_CERT_RETR_DEINIT_ALL;
	return rc;
}
