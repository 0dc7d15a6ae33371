/* doctor: entra-authd, the sign-in broker through which pam_entra signs every Entra user in. */
#include "common/unix_socket.h"
#include "sync/doctor/doctor.h"

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
		doctor_report(d, CHECK, DOCTOR_FAIL, "systemctl enable --now entra-authd.socket",
		              "entra-authd is not listening (no %s: %s): Entra users cannot sign in", path,
		              strerror(errno));
	else if (!S_ISSOCK(st.st_mode))
		doctor_report(d, CHECK, DOCTOR_FAIL, "remove it, then systemctl restart entra-authd.socket",
		              "%s is not a socket", path);
	else if (authd_peer(path, &peer))
		doctor_report(d, CHECK, DOCTOR_FAIL, "systemctl restart entra-authd.socket",
		              "nothing answers on %s (%s): Entra users cannot sign in", path, strerror(errno));
	else if (peer.uid != 0)
		doctor_report(d, CHECK, DOCTOR_FAIL,
		              "stop the process listening there; run entra-authd from its systemd units",
		              "the process behind %s (pid %d) runs as uid %u, not root: pam_entra refuses to use it, "
		              "so Entra users cannot sign in",
		              path, (int)peer.pid, (unsigned)peer.uid);
	else
		doctor_report(d, CHECK, DOCTOR_OK, NULL, "entra-authd answers on %s (pid %d)", path, (int)peer.pid);
}

void doctor_check_authd(struct doctor *d)
{
	socket_check(d, d->cfg->authd_socket);
}
