/* SPDX-License-Identifier: MIT */
/*
 * platform/net.h over lwIP's socket API (lwip_* calls, never the host's):
 * the same non-blocking contract as the BSD backend. Where lwIP differs,
 * this file makes up for it:
 *  - no SOCK_NONBLOCK and accepted sockets do not inherit O_NONBLOCK:
 *    lwip_fcntl after every socket and accept;
 *  - LWIP_RAND is weak (often unseeded, then sequential ports): a socket
 *    bound to port 0 gets a random port from kh_rand_bytes instead, which
 *    the DNS module's upstream pool depends on against cache poisoning;
 *  - no recvmmsg/sendmmsg: batches are loops of recvmsg/sendto;
 *  - no Unix-domain sockets: the local control channel is not available;
 *  - a fixed socket budget (CONFIG_LWIP_MAX_SOCKETS), as on an RTOS whose
 *    lwIP has a static socket table, enforced even where the host's lwIP
 *    would give more.
 * lwIP reports errors through errno (LWIP_ERRNO_STDINCLUDE on the host
 * port); values are the C library's.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <string.h>

#include "lwip/def.h"
#include "lwip/sockets.h"

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/lwip/board.h"
#include "platform/net.h"
#include "platform/sockaddr_conv.h"
#include "platform/rand.h"

static unsigned g_open; /* sockets open, against CONFIG_LWIP_MAX_SOCKETS */

static int neg_errno(void)
{
	int e = errno;

	if (e == EWOULDBLOCK || e == EAGAIN)
		return -EAGAIN;
	return e > 0 ? -e : -EIO;
}

static int sock_new(int family, int type, kh_sock *out)
{
	int fd, one = 1;

	if (g_open >= CONFIG_LWIP_MAX_SOCKETS)
		return -EMFILE;
	fd = lwip_socket(family == KH_AF_INET6 ? AF_INET6 : AF_INET, type, 0);
	if (fd < 0)
		return neg_errno();
	if (lwip_fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int err = neg_errno();
		lwip_close(fd);
		return err;
	}
	if (family == KH_AF_INET6)
		lwip_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	g_open++;
	*out = fd;
	return 0;
}

void kh_net_close(kh_sock s)
{
	if (s >= 0 && lwip_close(s) == 0 && g_open > 0)
		g_open--;
}

static int sock_bind(kh_sock fd, const struct kh_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(a, &ss);

	return lwip_bind(fd, (struct sockaddr *)&ss, sl) < 0 ? neg_errno() : 0;
}

/* Port 0: a random ephemeral port of ours, not the stack's guessable one. */
static int bind_random(kh_sock fd, const struct kh_addr *a)
{
	struct kh_addr b = *a;
	int err = -EADDRINUSE;

	for (int tries = 0; tries < 32 && err == -EADDRINUSE; tries++) {
		uint16_t r;
		if (kh_rand_bytes(&r, sizeof(r)) < 0)
			return -EIO;
		b.port = (uint16_t)(49152 + r % 16384);
		err = sock_bind(fd, &b);
	}
	return err;
}

int kh_net_udp_open(const struct kh_addr *bind_addr, kh_sock *out)
{
	int err = sock_new(bind_addr->family, SOCK_DGRAM, out);

	if (err)
		return err;
	err = bind_addr->port ? sock_bind(*out, bind_addr) : bind_random(*out, bind_addr);
	if (err) {
		kh_net_close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_sendto(kh_sock s, const void *buf, size_t len, const struct kh_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(to, &ss);
	ssize_t n = lwip_sendto(s, buf, len, 0, (struct sockaddr *)&ss, sl);

	return n < 0 ? neg_errno() : (int)n;
}

int kh_net_recvfrom(kh_sock s, void *buf, size_t len, struct kh_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = lwip_recvfrom(s, buf, len, 0, (struct sockaddr *)&ss, &sl);

	if (n < 0)
		return neg_errno();
	if (from)
		kh_from_sockaddr(&ss, from);
	return (int)n;
}

int kh_net_tcp_listen(const struct kh_addr *addr, int backlog, kh_sock *out)
{
	int one = 1, err = sock_new(addr->family, SOCK_STREAM, out);

	if (err)
		return err;
	lwip_setsockopt(*out, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	err = sock_bind(*out, addr);
	if (!err && lwip_listen(*out, backlog) < 0)
		err = neg_errno();
	if (err) {
		kh_net_close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_tcp_accept(kh_sock listener, kh_sock *out, struct kh_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1;

	fd = lwip_accept(listener, (struct sockaddr *)&ss, &sl);
	if (fd >= 0 && g_open >= CONFIG_LWIP_MAX_SOCKETS) {
		/* Over budget: refuse it now. Leaving it queued would keep the
		 * listener readable and spin the loop until a socket frees. */
		lwip_close(fd);
		return -EAGAIN;
	}
	if (fd < 0)
		return neg_errno();
	g_open++;
	if (lwip_fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int err = neg_errno();
		kh_net_close(fd);
		return err;
	}
	lwip_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		kh_from_sockaddr(&ss, peer);
	*out = fd;
	return 0;
}

int kh_net_tcp_connect(const struct kh_addr *to, kh_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = kh_to_sockaddr(to, &ss);
	int one = 1, err = sock_new(to->family, SOCK_STREAM, out);

	if (err)
		return err;
	/* TLS handshakes are many small writes: no Nagle delay. */
	lwip_setsockopt(*out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lwip_connect(*out, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		err = neg_errno();
		kh_net_close(*out);
		*out = -1;
	}
	return err;
}

int kh_net_tcp_connect_result(kh_sock s)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		return neg_errno();
	/* lwIP reports a refused connection as a reset (ERR_RST). */
	return e == ECONNRESET ? -ECONNREFUSED : -e;
}

int kh_net_send(kh_sock s, const void *buf, size_t len)
{
	ssize_t n = lwip_send(s, buf, len, 0);

	return n < 0 ? neg_errno() : (int)n;
}

int kh_net_recv(kh_sock s, void *buf, size_t len)
{
	ssize_t n = lwip_recv(s, buf, len, 0);

	return n < 0 ? neg_errno() : (int)n;
}

int kh_net_recv_batch(kh_sock s, struct kh_dgram *v, unsigned n)
{
	unsigned got = 0;

	for (; got < n; got++) {
		struct sockaddr_storage ss;
		struct iovec iov = {v[got].buf, v[got].cap};
		struct msghdr m;
		ssize_t r;

		memset(&m, 0, sizeof(m));
		m.msg_name = &ss;
		m.msg_namelen = sizeof(ss);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		r = lwip_recvmsg(s, &m, MSG_DONTWAIT);
		if (r < 0) {
			if (got)
				break;
			return neg_errno();
		}
		/* A datagram larger than the buffer is cut: report it as full. */
		v[got].len = (m.msg_flags & MSG_TRUNC) ? v[got].cap : (size_t)r;
		kh_from_sockaddr(&ss, &v[got].peer);
	}
	return (int)got;
}

int kh_net_send_batch(kh_sock s, const struct kh_dgram *v, unsigned n)
{
	unsigned sent = 0;

	for (; sent < n; sent++) {
		int r = kh_net_sendto(s, v[sent].buf, v[sent].len, &v[sent].peer);
		if (r < 0)
			return sent ? (int)sent : r;
	}
	return (int)sent;
}

/* No Unix-domain sockets in lwIP: an RTOS talks to its console instead. */
int kh_net_local_listen(const char *path, unsigned mode, const char *group, kh_sock *out)
{
	(void)path;
	(void)mode;
	(void)group;
	(void)out;
	return -ENOTSUP;
}

int kh_net_local_connect(const char *path, kh_sock *out)
{
	(void)path;
	(void)out;
	return -ENOTSUP;
}

int kh_net_peer_cred(kh_sock s, uint32_t *uid, uint32_t *gid)
{
	(void)s;
	(void)uid;
	(void)gid;
	return -ENOTSUP;
}

int kh_net_peer_in_group(kh_sock s, uint32_t gid)
{
	(void)s;
	(void)gid;
	return -ENOTSUP;
}

int kh_net_send_fd(kh_sock s, const void *buf, size_t len, int fd)
{
	(void)s;
	(void)buf;
	(void)len;
	(void)fd;
	return -ENOTSUP;
}

int kh_net_recv_fd(kh_sock s, void *buf, size_t len, int *fd)
{
	(void)s;
	(void)buf;
	(void)len;
	*fd = -1;
	return -ENOTSUP;
}

int kh_net_set_rcvbuf(kh_sock s, int bytes)
{
	int got = 0;
	socklen_t l = sizeof(got);

	lwip_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (lwip_getsockopt(s, SOL_SOCKET, SO_RCVBUF, &got, &l) < 0)
		return 0;
	return got;
}

int kh_net_local_addr(kh_sock s, struct kh_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (lwip_getsockname(s, (struct sockaddr *)&ss, &sl) < 0)
		return neg_errno();
	kh_from_sockaddr(&ss, out);
	return 0;
}
