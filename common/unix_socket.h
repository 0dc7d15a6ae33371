/* AF_UNIX socket files shared by entra-authd, pam_entra and entra-sync doctor. */
#ifndef ENTRA_UNIX_SOCKET_H
#define ENTRA_UNIX_SOCKET_H

#include <sys/socket.h>
#include <sys/un.h>

/* Fills SUN for the socket file PATH: 0, or -1 with errno ENAMETOOLONG when it does not fit. */
int entra_unix_address(const char *path, struct sockaddr_un *sun);

/* A CLOEXEC SOCK_SEQPACKET socket connected to PATH (FLAGS may add SOCK_NONBLOCK), or -1 with
 * errno. */
int entra_seqpacket_connect(const char *path, int flags);

#endif
