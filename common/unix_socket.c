#include "common/unix_socket.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int entra_unix_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return errno = ENAMETOOLONG, -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int entra_seqpacket_connect(const char *path, int flags)
{
	struct sockaddr_un sun;
	if (entra_unix_address(path, &sun))
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
