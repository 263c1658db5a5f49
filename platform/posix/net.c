/* SPDX-License-Identifier: MIT */
/*
 * BSD-socket implementation of platform/net.h. Every socket is
 * non-blocking and close-on-exec; listening sockets set SO_REUSEADDR so a
 * restarted daemon can bind again at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/err.h"
#include "platform/net.h"
#include "platform/sockaddr_conv.h"

static int sock_new(int family, int type, kh_sock *out)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

static int sock_bind(kh_sock fd, const struct kh_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(a, &ss);
	int one = 1;

	if (a->family == KH_AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	return 0;
}

int kh_net_udp_open(const struct kh_addr *bind_addr, kh_sock *out)
{
	int err = sock_new(bind_addr->family == KH_AF_INET6 ? AF_INET6 : AF_INET, SOCK_DGRAM, out);

	if (err)
		return err;
	err = sock_bind(*out, bind_addr);
	if (err) {
		close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_sendto(kh_sock s, const void *buf, size_t len, const struct kh_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(to, &ss);
	ssize_t n = sendto(s, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

int kh_net_recvfrom(kh_sock s, void *buf, size_t len, struct kh_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(s, buf, len, 0, (struct sockaddr *)&ss, &sl);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (from)
		kh_from_sockaddr(&ss, from);
	return (int)n;
}

int kh_net_tcp_listen(const struct kh_addr *addr, int backlog, kh_sock *out)
{
	int one = 1, err;

	err = sock_new(addr->family == KH_AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM, out);
	if (err)
		return err;
	setsockopt(*out, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	err = sock_bind(*out, addr);
	if (!err && listen(*out, backlog) < 0)
		err = -errno;
	if (err) {
		close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_tcp_accept(kh_sock listener, kh_sock *out, struct kh_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(listener, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		kh_from_sockaddr(&ss, peer);
	*out = fd;
	return 0;
}

int kh_net_tcp_connect(const struct kh_addr *to, kh_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(to, &ss);
	int err = sock_new(to->family == KH_AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM, out);
	int one = 1;

	if (err)
		return err;
	/* TLS handshakes are many small writes: Nagle + delayed ACK would add 40 ms. */
	setsockopt(*out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(*out, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_tcp_connect_result(kh_sock s)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		return -errno;
	return -e;
}

int kh_net_send(kh_sock s, const void *buf, size_t len)
{
	ssize_t n = send(s, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

int kh_net_recv(kh_sock s, void *buf, size_t len)
{
	ssize_t n = recv(s, buf, len, 0);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

#define BATCH_MAX 64

struct mmsg_set {
	struct mmsghdr mm[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	struct sockaddr_storage ss[BATCH_MAX];
};

/* Point one message header per datagram at its buffer and address slot. */
static unsigned mmsg_prepare(struct mmsg_set *m, const struct kh_dgram *v, unsigned n, int send)
{
	if (n > BATCH_MAX)
		n = BATCH_MAX;
	memset(m->mm, 0, n * sizeof(m->mm[0]));
	for (unsigned i = 0; i < n; i++) {
		m->iov[i].iov_base = v[i].buf;
		m->iov[i].iov_len = send ? v[i].len : v[i].cap;
		m->mm[i].msg_hdr.msg_iov = &m->iov[i];
		m->mm[i].msg_hdr.msg_iovlen = 1;
		m->mm[i].msg_hdr.msg_name = &m->ss[i];
		m->mm[i].msg_hdr.msg_namelen =
			send ? kh_to_sockaddr(&v[i].peer, &m->ss[i]) : sizeof(m->ss[i]);
	}
	return n;
}

int kh_net_recv_batch(kh_sock s, struct kh_dgram *v, unsigned n)
{
	struct mmsg_set m;
	int got;

	n = mmsg_prepare(&m, v, n, 0);
	got = recvmmsg(s, m.mm, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (int i = 0; i < got; i++) {
		v[i].len = m.mm[i].msg_len;
		/* A datagram larger than the buffer is cut: report it as full. */
		if (m.mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			v[i].len = v[i].cap;
		kh_from_sockaddr(&m.ss[i], &v[i].peer);
	}
	return got;
}

int kh_net_send_batch(kh_sock s, const struct kh_dgram *v, unsigned n)
{
	struct mmsg_set m;
	int sent;

	n = mmsg_prepare(&m, v, n, 1);
	sent = sendmmsg(s, m.mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return sent;
}

static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int kh_net_local_listen(const char *path, unsigned mode, const char *group, kh_sock *out)
{
	struct sockaddr_un sun;
	int fd, err;

	if ((err = unix_addr(path, &sun)) < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a stale socket from a previous run is replaced; a live one is not ours */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0)
		goto fail;
	if (group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			err = -ENOENT;
			close(fd);
			unlink(path);
			return err;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0)
			goto fail;
	}
	if (chmod(path, mode) < 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	unlink(path);
	return err;
}

int kh_net_local_connect(const char *path, kh_sock *out)
{
	struct sockaddr_un sun;
	int fd, err;

	if ((err = unix_addr(path, &sun)) < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int kh_net_peer_cred(kh_sock s, uint32_t *uid, uint32_t *gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*uid = cr.uid;
	*gid = cr.gid;
	return 0;
}

int kh_net_peer_in_group(kh_sock s, uint32_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	struct ucred cr;
	socklen_t crlen = sizeof(cr);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
		return -errno;
	if (cr.gid == gid)
		return 1;
	/* the groups the peer had when it connected, not a lookup by name now */
	if (getsockopt(s, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return -errno;
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int kh_net_send_fd(kh_sock s, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	struct msghdr m = {0};
	ssize_t n;

	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
	}
	n = sendmsg(s, &m, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

int kh_net_recv_fd(kh_sock s, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = {buf, len};
	struct msghdr m = {0};
	ssize_t n;

	*fd = -1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.b;
	m.msg_controllen = sizeof(ctl.b);
	n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return (int)n;
}

int kh_net_set_rcvbuf(kh_sock s, int bytes)
{
	socklen_t len = sizeof(bytes);

	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, &bytes, &len) < 0)
		return -errno;
	return bytes;
}

int kh_net_local_addr(kh_sock s, struct kh_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(s, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	kh_from_sockaddr(&ss, out);
	return 0;
}

void kh_net_close(kh_sock s)
{
	if (s >= 0)
		close(s);
}
