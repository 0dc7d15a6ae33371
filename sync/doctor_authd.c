/* doctor: entra-authd, the sign-in broker pam_entra uses when root serves [pam] authd_socket. */
#include "doctor.h"
#include "unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK "authd"

/* The peer of a SEQPACKET connection to PATH; -1 with errno when none answers. */
static int authd_peer(const char *path, struct ucred *peer)
{
	socklen_t len = sizeof(*peer);
	int fd = entra_seqpacket_connect(path, 0);
	if (fd < 0)
		return -1;
	int rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &len);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static void socket_check(struct doctor *d, const char *path)
{
	struct stat st;
	struct ucred peer;
	if (lstat(path, &st))
		doctor_report(
		    d, CHECK, DOCTOR_WARN, "systemctl enable --now entra-authd",
		    "entra-authd is not running (no %s: %s): pam_entra signs in in-process, about 7 ms of CPU "
		    "per sign-in instead of 3",
		    path, strerror(errno));
	else if (!S_ISSOCK(st.st_mode))
		doctor_report(d, CHECK, DOCTOR_FAIL, "remove it, then systemctl restart entra-authd",
		              "%s is not a socket", path);
	else if (authd_peer(path, &peer))
		doctor_report(d, CHECK, DOCTOR_WARN, "systemctl restart entra-authd",
		              "nothing answers on %s (%s): pam_entra signs in in-process", path, strerror(errno));
	else if (peer.uid != 0)
		doctor_report(
		    d, CHECK, DOCTOR_FAIL, "stop the process listening there; run entra-authd from its systemd unit",
		    "the process behind %s (pid %d) runs as uid %u, not root: pam_entra ignores it and signs in "
		    "in-process",
		    path, (int)peer.pid, (unsigned)peer.uid);
	else
		doctor_report(d, CHECK, DOCTOR_OK, NULL, "entra-authd answers on %s (pid %d)", path, (int)peer.pid);
}

void doctor_check_authd(struct doctor *d)
{
	if (strcmp(d->cfg->authd_socket, "none"))
		socket_check(d, d->cfg->authd_socket);
	else
		doctor_report(
		    d, CHECK, DOCTOR_OK, NULL,
		    "[pam] authd_socket = none: pam_entra signs in in-process (OpenSSL start-up, about 7 ms of "
		    "CPU per sign-in)");
}
